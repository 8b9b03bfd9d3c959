//! The tracee's side of the story: events it reports (signals to pass on, job control, exits,
//! exec), how its end is told from an exec() or a leader that exited alone, and letting go of
//! it (at the end, or while pyflame is suspended by job control).

use std::time::{Duration, Instant};

use super::{ended, mailbox, wait_stop, Ended, State, Tracee, Waited, LEADER_CHECK, RELEASE_WAIT};
use crate::error::{Error, Result};
use crate::proc;
use crate::sys::ptrace::{self, Stop, WaitStatus};

/// How long, at most, the end of a process is waited for once its memory has vanished: the
/// kernel reports the leader's exit status only after every other thread's.
const END_WAIT: Duration = Duration::from_secs(2);
/// How long an exec() told by the program image may take to report PTRACE_EVENT_EXEC.
const EXEC_STOP_WAIT: Duration = Duration::from_millis(100);
/// How often `ended` looks at the process again while it waits.
const END_LOOK: Duration = Duration::from_millis(10);

impl Tracee {
    /// Handles every pending ptrace event without blocking: signals are passed on, job-control
    /// stops are honoured, late stops are resumed, exits are noted. Some if the process ended
    /// or called exec().
    pub fn poll(&mut self) -> Result<Option<Ended>> {
        let mut exits = false;
        loop {
            let (tid, status) = match mailbox::next(&|tid| self.owns(tid)) {
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
                return Ok(Some(Ended::Exec));
            }
            if self.ended.is_some() {
                return Ok(self.ended);
            }
        }
        Ok(None)
    }

    /// Every tracee is gone: the process ended, or an exec() by a thread pyflame did not trace
    /// replaced the leader. None: only the threads seized so far exited (the leader had
    /// already exited alone).
    fn vanished(&mut self) -> Option<Ended> {
        if self.replaced() {
            return Some(Ended::Exec);
        }
        match proc::live_task(self.pid) {
            Some(_) if !self.leader_traced => None,
            _ => Some(*self.ended.get_or_insert(Ended::Exited(None))),
        }
    }

    /// Whether the program pyflame seized was replaced by an exec() that was not reported as
    /// PTRACE_EVENT_EXEC (yet): one from a thread pyflame does not trace (the leader's id then
    /// belongs to that thread, untraced), from one seized while its exec() was past the point
    /// of reporting it, or one whose report is still to come (the image changes first).
    /// Either way the process lives on, with another program image (`proc::image`: its stack
    /// and arguments are elsewhere). Once seen, the exec is noted as `exec_seen` would; if
    /// pyflame traces the thread that called it, its PTRACE_EVENT_EXEC stop is taken if it
    /// comes, so that the thread is known stopped, not left in it.
    pub(super) fn replaced(&mut self) -> bool {
        if self.exec {
            return true;
        }
        let Ok(status) = proc::status(self.pid) else {
            return false;
        };
        if matches!(status.state, 'Z' | 'X') {
            return false;
        }
        let untraced = self.leader_traced && status.tracer_pid != self.me;
        let now = proc::image(self.pid);
        if self.image.is_none() {
            // Not known when seized (mid-exec): the first one seen is the program's.
            self.image = now;
        }
        if !untraced && now.is_none_or(|now| Some(now) == self.image) {
            return false;
        }
        self.threads.clear();
        self.exec = true;
        if status.tracer_pid == self.me {
            let state = match wait_stop(self.pid, Instant::now() + EXEC_STOP_WAIT) {
                Waited::Stop(stop) => State::of(stop),
                Waited::Late => State::Running,
                // The new program has already ended. For the -t command that is the news (its
                // exit status is pyflame's); for another process, that it called exec().
                Waited::Exit(status) => {
                    self.ended = Some(status.map_or(Ended::Exited(None), ended));
                    self.exec = !self.adopted;
                    return self.exec;
                }
            };
            self.threads.insert(self.pid, state);
        }
        true
    }

    /// Whether the process called exec() since it was seized (events handled first).
    pub fn execed(&mut self) -> bool {
        matches!(self.poll(), Ok(Some(Ended::Exec))) || self.replaced()
    }

    /// After a read failed: whether an exec() explains it (see `exec_since`).
    pub fn exec_completes(&mut self) -> bool {
        matches!(self.poll(), Ok(Some(Ended::Exec)))
            || self.replaced()
            || exec_since(self.pid, self.image)
    }

    /// Whether the leader was seized (it had not exited alone, pthread_exit, before).
    pub fn leader_traced(&self) -> bool {
        self.leader_traced
    }

    /// The program image seized (`proc::image`), if it was known.
    pub fn image(&self) -> Option<[u64; 3]> {
        self.image
    }

    /// How the process ended (an exec() included): waits (a bounded time) for the leader's
    /// exit status, or for an exec() under way to complete. An exec() from a thread pyflame
    /// does not trace first ends every other thread, the leader too (a zombie pyflame traces,
    /// not yet reaped), and then gives the leader's id to the thread that called it, untraced:
    /// reads fail meanwhile, and the process's end is told from an exec() only once that is
    /// done.
    pub fn ended(&mut self) -> Ended {
        let deadline = Instant::now() + END_WAIT;
        loop {
            if self.replaced() {
                return Ended::Exec;
            }
            if let Some(ended) = self.ended {
                return ended;
            }
            let now = Instant::now();
            if now >= deadline || !std::path::Path::new(&format!("/proc/{}", self.pid)).exists() {
                return Ended::Exited(None);
            }
            match mailbox::next_until(&|tid| self.owns(tid), (now + END_LOOK).min(deadline)) {
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
                Ok(_) => {}
                // No tracee left: look again for the exec() to complete, or the process to go.
                Err(_) => std::thread::sleep(END_LOOK),
            }
        }
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

    /// Whether an event of thread `tid` is this process's: a thread it traces, or the leader,
    /// whose exit counts even after it was dropped (a zombie it could not stop).
    pub(super) fn owns(&self, tid: i32) -> bool {
        tid == self.pid || self.threads.contains_key(&tid)
    }

    /// Handles the exits reaped while a PTRACE_SEIZE waited (see `ptrace::seize`).
    pub(super) fn reaped(&mut self) -> Result<()> {
        for (tid, status) in ptrace::take_reaped() {
            if self.owns(tid) {
                self.forget(tid, Some(status))?;
            } else {
                mailbox::keep(tid, status);
            }
        }
        Ok(())
    }

    /// A thread pyflame traced is no longer there to ask (a ptrace request failed): it
    /// exited, or, for the leader, an exec() from another thread replaced it.
    pub(super) fn lost(&mut self, tid: i32) -> Result<()> {
        if tid == self.pid && self.replaced() {
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
    pub fn release(&mut self) {
        self.detach_all(Instant::now() + RELEASE_WAIT * 10);
    }

    /// Seizes the process again after `release`. Err(TargetGone) if it ended or is another
    /// program (an exec() while pyflame was suspended: `ended` then says so).
    pub fn reattach(&mut self) -> Result<()> {
        match (self.image, proc::image(self.pid)) {
            (before, Some(now)) if before == Some(now) => self.seize_leader(),
            (_, Some(_)) => {
                self.exec = true;
                Err(Error::TargetGone)
            }
            _ => {
                self.ended = self.ended.or(Some(Ended::Exited(None)));
                Err(Error::TargetGone)
            }
        }
    }

    fn seize_leader(&mut self) -> Result<()> {
        if self.leader_traced {
            let seized = ptrace::seize(self.pid, self.options);
            // Still traced by pyflame: a thread whose exec() was not reported, not released.
            let ours = || proc::status(self.pid).is_ok_and(|s| s.tracer_pid == self.me);
            if seized.is_err() && !ours() {
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

/// After a read failed: whether process `pid` is another program than the image `seized`
/// (`proc::image`), because of an exec() since, perhaps still under way. An exec() from a
/// thread other than the leader first ends every other thread, the leader too (a zombie),
/// then sets up the new image field by field: waits (a bounded time) until the process is
/// settled, its leader alive with a whole image, or gone. A leader that called pthread_exit
/// never settles, and is waited for as long: on failures only.
pub fn exec_since(pid: i32, seized: Option<[u64; 3]>) -> bool {
    let deadline = Instant::now() + END_WAIT;
    loop {
        let alive = proc::status(pid).is_ok() && !proc::leader_exiting(pid);
        if let Some(now) = proc::image(pid).filter(|_| alive) {
            return seized.is_some_and(|seized| seized != now);
        }
        let gone = !std::path::Path::new(&format!("/proc/{pid}")).exists();
        if gone || Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(END_LOOK);
    }
}
