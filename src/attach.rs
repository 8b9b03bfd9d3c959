//! The attach guard: seizes a process's threads, stops and resumes them, handles their
//! ptrace events, and always detaches.
//!
//! The rules that keep the target unharmed (man 2 ptrace):
//! - threads are seized (PTRACE_SEIZE) and stopped with PTRACE_INTERRUPT: no SIGSTOP is sent;
//! - a thread that stops for a signal (signal-delivery-stop) gets that signal back when it is
//!   resumed or detached, so no signal is swallowed;
//! - a thread in group-stop (someone sent SIGSTOP/SIGTSTP) is resumed with PTRACE_LISTEN, so
//!   it stays stopped as job control wants;
//! - Drop stops any running thread and detaches every one; if pyflame dies instead, the kernel
//!   detaches them (and drops a pending PTRACE_INTERRUPT with the tracer).

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::permissions;
use crate::proc;
use crate::sys::ptrace::{self, WaitStatus, PTRACE_EVENT_EXEC, PTRACE_EVENT_STOP};

/// How long a thread may take to reach a ptrace-stop before pyflame gives up on it.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// How long to poll for a stop before sleeping until it comes.
const SPIN: Duration = Duration::from_micros(50);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Stopped {
        /// The signal it was about to receive (signal-delivery-stop), to pass on at resume.
        pending: i32,
        /// Stopped by job control (group-stop): resume with PTRACE_LISTEN.
        group_stop: bool,
    },
}

/// How a traced process ended, as far as pyflame is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status (None when only its disappearance was seen).
    Exited(Option<i32>),
    /// It was killed by this signal.
    Killed(i32),
    /// It called exec(): pyflame's view of its memory is stale.
    Exec,
}

pub struct Tracee {
    pid: i32,
    options: u64,
    threads: BTreeMap<i32, State>,
    /// Set once the leader's exit has been seen.
    ended: Option<Ended>,
    /// An exec() stop was seen (and the caller has not resumed the new program yet).
    exec: bool,
}

/// What happened to a thread asked to stop.
enum Stop {
    Stopped(State),
    /// It stopped at PTRACE_EVENT_EXEC: the process is now another program.
    Exec,
    /// It exited; its wait status, when waitpid gave one.
    Gone(Option<WaitStatus>),
    /// It did not stop in time; the interrupt stays pending.
    Late,
}

impl Tracee {
    /// Seizes the thread-group leader with `options` (PTRACE_O_*). Nothing is stopped yet.
    pub fn seize(pid: i32, options: u64) -> Result<Tracee> {
        if let Err(e) = ptrace::seize(pid, options) {
            return Err(Error::Fatal(permissions::seize_failure(pid, &e)));
        }
        let mut threads = BTreeMap::new();
        threads.insert(pid, State::Running);
        Ok(Tracee {
            pid,
            options,
            threads,
            ended: None,
            exec: false,
        })
    }

    /// Takes over a child that stopped after PTRACE_TRACEME + exec: detaches the old-style
    /// attachment and seizes it, so that PTRACE_INTERRUPT works (man 2 ptrace: it requires
    /// PTRACE_SEIZE).
    pub fn adopt(pid: i32, options: u64) -> Result<Tracee> {
        ptrace::detach(pid, 0)
            .map_err(|e| Error::Fatal(format!("Failed to detach PID {pid}: {e}")))?;
        Tracee::seize(pid, options)
    }

    /// How the process ended: once its memory has vanished, waits (a bounded time) for the
    /// leader's exit status, which the kernel reports only after every other thread's.
    pub fn ended(&mut self) -> Ended {
        let deadline = std::time::Instant::now() + STOP_TIMEOUT;
        while self.ended.is_none() && std::time::Instant::now() < deadline {
            match ptrace::wait_timeout(-1, STOP_TIMEOUT) {
                Ok((tid, status @ (WaitStatus::Exited(_) | WaitStatus::Signaled(_)))) => {
                    let _ = self.forget(tid, Some(status));
                }
                Ok((tid, WaitStatus::Stopped { signal, event }))
                    if self.threads.contains_key(&tid) =>
                {
                    self.threads.insert(tid, classify(signal, event));
                    self.resume(tid);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        self.ended.unwrap_or(Ended::Exited(None))
    }

    /// Seizes `tid` if it is not yet; false if it no longer exists or is not a thread of this
    /// process. A thread id read from a target in another PID namespace (a container seen
    /// from the host) names, in pyflame's namespace, some other process or none: never seize it.
    fn ensure(&mut self, tid: i32) -> bool {
        if self.threads.contains_key(&tid) {
            return true;
        }
        if !proc::is_task(self.pid, tid) {
            return false;
        }
        let ok = ptrace::seize(tid, self.options).is_ok();
        if ok {
            self.threads.insert(tid, State::Running);
        }
        ok
    }

    /// Stops one thread (seizing it first if needed). Ok(false): it exited or would not stop.
    pub fn stop(&mut self, tid: i32) -> Result<bool> {
        if !self.ensure(tid) {
            return Ok(false);
        }
        if self.threads[&tid] != State::Running {
            return Ok(true);
        }
        if ptrace::interrupt(tid).is_err() {
            self.forget(tid, None)?;
            return Ok(false);
        }
        match wait_stop(tid) {
            Stop::Stopped(state) => {
                self.threads.insert(tid, state);
                Ok(true)
            }
            Stop::Exec => {
                self.exec_seen();
                Ok(false)
            }
            Stop::Gone(status) => self.forget(tid, status).map(|()| false),
            Stop::Late => Ok(false),
        }
    }

    /// Seizes every thread of the process and stops them all. Threads created meanwhile are
    /// picked up by listing /proc/PID/task again, a bounded number of times.
    pub fn stop_all(&mut self) -> Result<()> {
        for _ in 0..4 {
            let tids = proc::tasks(self.pid).map_err(|_| Error::TargetGone)?;
            let new = tids.iter().any(|t| !self.threads.contains_key(t));
            // Interrupt them all first, then collect the stops: one round of latency.
            let mut asked = Vec::with_capacity(tids.len());
            for tid in tids {
                if self.ensure(tid) && self.threads[&tid] == State::Running {
                    match ptrace::interrupt(tid) {
                        Ok(()) => asked.push(tid),
                        Err(_) => self.forget(tid, None)?,
                    }
                }
            }
            for tid in asked {
                match wait_stop(tid) {
                    Stop::Stopped(state) => {
                        self.threads.insert(tid, state);
                    }
                    Stop::Exec => {
                        self.exec_seen();
                        return Ok(());
                    }
                    Stop::Gone(status) => self.forget(tid, status)?,
                    Stop::Late => {}
                }
            }
            if !new {
                break;
            }
        }
        Ok(())
    }

    /// Resumes a stopped thread, handing back any signal it was about to receive.
    pub fn resume(&mut self, tid: i32) {
        if tid == self.pid {
            self.exec = false;
        }
        let resumed = match self.threads.get(&tid) {
            None | Some(State::Running) => return,
            Some(State::Stopped {
                group_stop: true, ..
            }) => ptrace::listen(tid),
            Some(&State::Stopped { pending, .. }) => ptrace::cont(tid, pending),
        };
        match resumed {
            Ok(()) => self.threads.insert(tid, State::Running),
            Err(_) => self.threads.remove(&tid),
        };
    }

    /// The threads that are stopped now.
    pub fn stopped_tids(&self) -> Vec<i32> {
        let stopped = self.threads.iter().filter(|(_, s)| **s != State::Running);
        stopped.map(|(&tid, _)| tid).collect()
    }

    /// Handles every pending ptrace event without blocking: signals are passed on, job-control
    /// stops are honoured, exits are noted. Some if the process ended or called exec().
    pub fn poll(&mut self) -> Result<Option<Ended>> {
        loop {
            let (tid, status) = match ptrace::wait(-1, true) {
                Ok(Some(event)) => event,
                Ok(None) => return Ok(None),
                Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {
                    self.threads.clear();
                    return Ok(Some(*self.ended.get_or_insert(Ended::Exited(None))));
                }
                Err(e) => return Err(Error::Fatal(format!("Failed to waitpid(): {e}"))),
            };
            // The leader's exit counts even after it was dropped (a zombie it could not stop).
            if !self.threads.contains_key(&tid) && tid != self.pid {
                continue;
            }
            match status {
                WaitStatus::Stopped {
                    event: PTRACE_EVENT_EXEC,
                    ..
                } => {
                    self.exec_seen();
                    return Ok(Some(Ended::Exec));
                }
                WaitStatus::Stopped { signal, event } => {
                    // A stop nobody asked for: a signal arriving, job control, or the late
                    // echo of an interrupt. Let the thread go on as it would without pyflame.
                    self.threads.insert(tid, classify(signal, event));
                    self.resume(tid);
                }
                WaitStatus::Continued => {}
                status => {
                    if let Err(Error::TargetGone) = self.forget(tid, Some(status)) {
                        return Ok(Some(ended(status)));
                    }
                }
            }
        }
    }

    /// Notes an exec() stop: exec ended every other thread, and the one that called it now has
    /// the process's id and is stopped (man 2 ptrace, "execve(2) under ptrace").
    fn exec_seen(&mut self) {
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

    /// True once an exec() stop has been seen and not resumed.
    pub fn exec_pending(&self) -> bool {
        self.exec
    }

    /// Drops a thread that has exited. The leader exiting means the process is gone.
    fn forget(&mut self, tid: i32, status: Option<WaitStatus>) -> Result<()> {
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

    fn detach_all(&mut self) {
        let tids: Vec<i32> = self.threads.keys().copied().collect();
        for &tid in &tids {
            if self.threads.get(&tid) == Some(&State::Running) && ptrace::interrupt(tid).is_ok() {
                match wait_stop(tid) {
                    Stop::Stopped(state) => {
                        self.threads.insert(tid, state);
                    }
                    Stop::Exec => {
                        self.threads.insert(
                            tid,
                            State::Stopped {
                                pending: 0,
                                group_stop: false,
                            },
                        );
                    }
                    Stop::Gone(_) | Stop::Late => {}
                }
            }
        }
        for tid in tids {
            if let Some(State::Stopped { pending, .. }) = self.threads.remove(&tid) {
                let _ = ptrace::detach(tid, pending);
            }
            // A thread still running could not be stopped (it exited, or is stuck in the
            // kernel): the kernel detaches it when pyflame exits.
        }
    }
}

impl Drop for Tracee {
    fn drop(&mut self) {
        self.detach_all();
    }
}

fn ended(status: WaitStatus) -> Ended {
    match status {
        WaitStatus::Exited(code) => Ended::Exited(Some(code)),
        WaitStatus::Signaled(signal) => Ended::Killed(signal),
        _ => Ended::Exited(None),
    }
}

/// Waits for `tid` to report the stop asked for by PTRACE_INTERRUPT.
fn wait_stop(tid: i32) -> Stop {
    // A running thread reaches the stop within microseconds: poll for it briefly before
    // sleeping in waitpid, since being woken costs more than that (and the target stays stopped
    // meanwhile).
    let spin = std::time::Instant::now();
    let mut early = None;
    while early.is_none() && spin.elapsed() < SPIN {
        early = ptrace::wait(tid, true).ok().flatten();
    }
    loop {
        let waited = match early.take() {
            Some(got) => Ok(got),
            None => ptrace::wait_timeout(tid, STOP_TIMEOUT),
        };
        let status = match waited {
            Ok((_, status)) => status,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Stop::Late,
            Err(_) => return Stop::Gone(None),
        };
        match status {
            WaitStatus::Exited(_) | WaitStatus::Signaled(_) => return Stop::Gone(Some(status)),
            WaitStatus::Continued => continue,
            WaitStatus::Stopped {
                event: PTRACE_EVENT_EXEC,
                ..
            } => return Stop::Exec,
            WaitStatus::Stopped { signal, event } => return Stop::Stopped(classify(signal, event)),
        }
    }
}

/// Sorts a ptrace-stop into interrupt-stop, group-stop or signal-delivery-stop.
fn classify(signal: i32, event: i32) -> State {
    let job_control = matches!(
        signal,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
    );
    match event {
        PTRACE_EVENT_STOP => State::Stopped {
            pending: 0,
            group_stop: job_control,
        },
        0 => State::Stopped {
            pending: signal,
            group_stop: false,
        },
        // Other events (exec, exit) carry no signal to hand back.
        _ => State::Stopped {
            pending: 0,
            group_stop: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_stops() {
        let interrupt = State::Stopped {
            pending: 0,
            group_stop: false,
        };
        assert_eq!(classify(libc::SIGTRAP, PTRACE_EVENT_STOP), interrupt);
        assert_eq!(
            classify(libc::SIGTSTP, PTRACE_EVENT_STOP),
            State::Stopped {
                pending: 0,
                group_stop: true
            }
        );
        assert_eq!(
            classify(libc::SIGUSR1, 0),
            State::Stopped {
                pending: libc::SIGUSR1,
                group_stop: false
            }
        );
        assert_eq!(classify(libc::SIGTRAP, PTRACE_EVENT_EXEC), interrupt);
    }
}
