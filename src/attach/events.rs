//! The tracee's side of the story: events it reports (signals to pass on, job control, exits,
//! exec), how its end is told from an exec() or a leader that exited alone, and letting go of
//! it (at the end, or while pyflame is suspended by job control).

use std::time::{Duration, Instant};

use super::{ended, Ended, State, Tracee, Waited, LEADER_CHECK, RELEASE_WAIT};
use crate::error::{Error, Result};
use crate::proc;
use crate::sys::ptrace::{self, Stop, WaitStatus};

/// How long, at most, the end of a process is waited for once its memory has vanished: the
/// kernel reports the leader's exit status only after every other thread's.
const END_WAIT: Duration = Duration::from_secs(2);

impl Tracee {
    /// Handles every pending ptrace event without blocking: signals are passed on, job-control
    /// stops are honoured, late stops are resumed, exits are noted. Some if the process ended
    /// or called exec().
    pub fn poll(&mut self) -> Result<Option<Ended>> {
        let mut exits = false;
        loop {
            let (tid, status) = match ptrace::wait(-1, true) {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {
                    // No tracee left: every thread seized has exited, or an exec() replaced
                    // the leader without telling (it was not the thread that called it).
                    self.threads.clear();
                    return Ok(self.vanished());
                }
                Err(e) => return Err(Error::Fatal(format!("Failed to waitpid(): {e}"))),
            };
            // The leader's exit counts even after it was dropped (a zombie it could not stop).
            if !self.threads.contains_key(&tid) && tid != self.pid {
                continue;
            }
            match status {
                WaitStatus::Stopped(Stop::Exec) => {
                    self.exec_seen();
                    return Ok(Some(Ended::Exec));
                }
                WaitStatus::Stopped(stop) => {
                    // A stop nobody is waiting for: a signal arriving, job control, or the
                    // late stop of an interrupt. Let the thread go on as without pyflame.
                    self.threads.insert(tid, State::of(stop));
                    self.resume(tid);
                }
                WaitStatus::Continued => {}
                status => {
                    exits = true;
                    if let Err(Error::TargetGone) = self.forget(tid, Some(status)) {
                        return Ok(Some(ended(status)));
                    }
                }
            }
        }
        if exits || self.leader_checked.elapsed() >= LEADER_CHECK {
            self.leader_checked = Instant::now();
            if self.replaced() {
                self.exec = true;
                self.threads.clear();
                return Ok(Some(Ended::Exec));
            }
        }
        Ok(None)
    }

    /// Every tracee is gone: the process ended, or an exec() by a thread pyflame did not trace
    /// replaced the leader. None: only the threads seized so far exited (the leader had
    /// already exited alone).
    fn vanished(&mut self) -> Option<Ended> {
        if self.leader_traced && self.replaced() {
            self.exec = true;
            return Some(Ended::Exec);
        }
        match proc::live_task(self.pid) {
            Some(_) if !self.leader_traced => None,
            _ => Some(*self.ended.get_or_insert(Ended::Exited(None))),
        }
    }

    /// Whether the leader pyflame seized was replaced by an exec() from another thread: the
    /// process lives on, and its leader is no longer traced by pyflame. (An exec() from the
    /// leader itself, or from a thread pyflame traces, is reported as PTRACE_EVENT_EXEC.)
    pub fn replaced(&self) -> bool {
        if !self.leader_traced || self.exec {
            return self.exec;
        }
        proc::status(self.pid).is_ok_and(|s| {
            !matches!(s.state, 'Z' | 'X') && s.tracer_pid != self.me && s.tracer_pid >= 0
        })
    }

    /// How the process ended (an exec() included): once its memory has vanished, waits (a
    /// bounded time) for the leader's exit status.
    pub fn ended(&mut self) -> Ended {
        if self.exec || self.replaced() {
            self.exec = true;
            return Ended::Exec;
        }
        let deadline = Instant::now() + END_WAIT;
        while self.ended.is_none() {
            match ptrace::wait_until(-1, deadline) {
                Ok(Some((tid, status @ (WaitStatus::Exited(_) | WaitStatus::Signaled(_))))) => {
                    let _ = self.forget(tid, Some(status));
                }
                Ok(Some((_, WaitStatus::Stopped(Stop::Exec)))) => {
                    self.exec_seen();
                    return Ended::Exec;
                }
                Ok(Some((tid, WaitStatus::Stopped(stop)))) if self.threads.contains_key(&tid) => {
                    self.threads.insert(tid, State::of(stop));
                    self.resume(tid);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        self.ended.unwrap_or(Ended::Exited(None))
    }

    /// Notes an exec() stop: exec ended every other thread, and the one that called it now has
    /// the process's id and is stopped (man 2 ptrace, "execve(2) under ptrace").
    pub(super) fn exec_seen(&mut self) {
        self.threads.clear();
        self.threads.insert(
            self.pid,
            State::Stopped {
                pending: 0,
                group_stop: false,
            },
        );
        self.exec = true;
    }

    /// Handles the exits reaped while a PTRACE_SEIZE waited (see `ptrace::seize`).
    pub(super) fn reaped(&mut self) -> Result<()> {
        for (tid, status) in ptrace::take_reaped() {
            if self.threads.contains_key(&tid) || tid == self.pid {
                self.forget(tid, Some(status))?;
            }
        }
        Ok(())
    }

    /// A thread pyflame traced is no longer there to ask (a ptrace request failed): it
    /// exited, or, for the leader, an exec() from another thread replaced it.
    pub(super) fn lost(&mut self, tid: i32) -> Result<()> {
        if tid == self.pid && self.replaced() {
            self.exec = true;
            self.threads.clear();
            return Err(Error::TargetGone);
        }
        self.forget(tid, None)
    }

    /// Drops a thread that has exited. The leader exiting means the process is gone.
    pub(super) fn forget(&mut self, tid: i32, status: Option<WaitStatus>) -> Result<()> {
        self.threads.remove(&tid);
        let leader_gone = tid == self.pid
            && (matches!(
                status,
                Some(WaitStatus::Exited(_) | WaitStatus::Signaled(_))
            ) || !std::path::Path::new(&format!("/proc/{}", self.pid)).exists());
        if leader_gone {
            self.threads.clear();
            // Keep a status already known over "gone, status unknown".
            match status {
                Some(s) => self.ended = Some(ended(s)),
                None => self.ended = self.ended.or(Some(Ended::Exited(None))),
            }
            return Err(Error::TargetGone);
        }
        Ok(())
    }

    /// Lets go of the target while pyflame is suspended by job control, so that no thread of
    /// it can be left in a ptrace-stop meanwhile (a signal arriving, a late interrupt).
    /// Returns what `reattach` needs to know it is still the same program.
    pub fn release(&mut self) -> Option<[u64; 3]> {
        let image = proc::image(self.pid);
        self.detach_all(Instant::now() + RELEASE_WAIT * 10);
        image
    }

    /// Seizes the process again after `release`. Err(TargetGone) if it ended or is another
    /// program (an exec() while pyflame was suspended: `ended` then says so).
    pub fn reattach(&mut self, image: Option<[u64; 3]>) -> Result<()> {
        match (image, proc::image(self.pid)) {
            (Some(before), Some(now)) if before == now => self.seize_leader(),
            (Some(_), Some(_)) => {
                self.exec = true;
                Err(Error::TargetGone)
            }
            _ => {
                self.ended = self.ended.or(Some(Ended::Exited(None)));
                Err(Error::TargetGone)
            }
        }
    }

    /// After an exec(): lets go of the old program and seizes the new one (`-t` follows the
    /// command through exec()).
    pub fn seize_again(&mut self) -> Result<()> {
        self.detach_all(Instant::now() + RELEASE_WAIT);
        self.exec = false;
        self.ended = None;
        self.leader_traced = true;
        self.seize_leader()
    }

    fn seize_leader(&mut self) -> Result<()> {
        if self.leader_traced {
            if ptrace::seize(self.pid, self.options).is_err() {
                self.reaped()?;
                self.ended = self.ended.or(Some(Ended::Exited(None)));
                return Err(Error::TargetGone);
            }
            self.threads.insert(self.pid, State::Running);
            self.reaped()?;
        }
        Ok(())
    }

    /// Detaches every thread: the stopped ones at once, then the running ones once their
    /// stop comes, until `deadline`. A thread that does not stop by then (uninterruptible
    /// sleep) stays traced until pyflame exits, when the kernel detaches it and drops the
    /// pending interrupt.
    pub(super) fn detach_all(&mut self, deadline: Instant) {
        let stopped = self.stopped_tids();
        for tid in stopped {
            self.detach(tid);
        }
        let running = self.tids(|s| s == State::Running);
        for &tid in &running {
            match ptrace::interrupt(tid) {
                Ok(()) => self.threads.insert(tid, State::Interrupted),
                Err(_) => self.threads.remove(&tid),
            };
        }
        for tid in self.tids(|s| s == State::Interrupted) {
            match super::wait_stop(tid, deadline) {
                Waited::Stop(stop) => {
                    self.threads.insert(tid, State::of(stop));
                    self.detach(tid);
                }
                Waited::Exit(_) | Waited::Late => {}
            }
        }
        self.threads.clear();
    }

    fn detach(&mut self, tid: i32) {
        if let Some(State::Stopped { pending, .. }) = self.threads.remove(&tid) {
            let _ = ptrace::detach(tid, pending);
        }
    }
}
