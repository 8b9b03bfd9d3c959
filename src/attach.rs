//! The attach guard: seizes a process's threads, stops and resumes them, and always detaches.
//!
//! The rules that keep the target unharmed (man 2 ptrace):
//! - threads are seized (PTRACE_SEIZE) and stopped with PTRACE_INTERRUPT: no SIGSTOP is sent;
//! - a thread that was stopping for a signal when we interrupted it (signal-delivery-stop)
//!   gets that signal back when resumed or detached, so no signal is swallowed;
//! - a thread in group-stop (the user sent SIGSTOP/SIGTSTP) is resumed with PTRACE_LISTEN,
//!   so it stays stopped as job control wants;
//! - Drop stops any running thread and detaches every one; if pyflame dies instead, the kernel
//!   detaches them (and a pending PTRACE_INTERRUPT is dropped with the tracer).

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::permissions;
use crate::proc;
use crate::sys::ptrace::{self, WaitStatus, PTRACE_EVENT_STOP};

/// How long a thread may take to reach a ptrace-stop before pyflame gives up on it.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

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

pub struct Tracee {
    pid: i32,
    threads: BTreeMap<i32, State>,
}

/// What happened to a thread asked to stop.
enum Stop {
    Stopped(State),
    Gone,
    /// It did not stop in time; the interrupt stays pending.
    Late,
}

impl Tracee {
    /// Seizes the thread-group leader. Nothing is stopped yet.
    pub fn seize(pid: i32) -> Result<Tracee> {
        if let Err(e) = ptrace::seize(pid, 0) {
            return Err(Error::Fatal(permissions::seize_failure(pid, &e)));
        }
        let mut threads = BTreeMap::new();
        threads.insert(pid, State::Running);
        Ok(Tracee { pid, threads })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Seizes every thread of the process and stops them all. Threads created meanwhile are
    /// picked up by listing /proc/PID/task again, a bounded number of times.
    pub fn stop_all(&mut self) -> Result<()> {
        for _ in 0..4 {
            let tids = proc::tasks(self.pid).map_err(|_| Error::TargetGone)?;
            let new: Vec<i32> = tids.into_iter().filter(|t| !self.threads.contains_key(t)).collect();
            for tid in new {
                // A thread may exit between the listing and the seize: skip it.
                if ptrace::seize(tid, 0).is_ok() {
                    self.threads.insert(tid, State::Running);
                }
            }
            let running: Vec<i32> =
                self.threads.iter().filter(|(_, s)| **s == State::Running).map(|(t, _)| *t).collect();
            if running.is_empty() {
                return Ok(());
            }
            for &tid in &running {
                if ptrace::interrupt(tid).is_err() {
                    self.forget(tid)?;
                }
            }
            for tid in running {
                if !self.threads.contains_key(&tid) {
                    continue;
                }
                match wait_stop(tid) {
                    Stop::Stopped(state) => {
                        self.threads.insert(tid, state);
                    }
                    Stop::Gone => self.forget(tid)?,
                    Stop::Late => {}
                }
            }
        }
        Ok(())
    }

    /// Resumes every stopped thread, handing back any signal it was about to receive.
    pub fn resume_all(&mut self) {
        let tids: Vec<i32> = self.threads.keys().copied().collect();
        for tid in tids {
            let state = self.threads[&tid];
            let resumed = match state {
                State::Running => continue,
                State::Stopped { group_stop: true, .. } => ptrace::listen(tid),
                State::Stopped { pending, .. } => ptrace::cont(tid, pending),
            };
            match resumed {
                Ok(()) => {
                    self.threads.insert(tid, State::Running);
                }
                Err(_) => {
                    self.threads.remove(&tid);
                }
            }
        }
    }

    /// Drops a thread that has exited. The leader exiting means the process is gone.
    fn forget(&mut self, tid: i32) -> Result<()> {
        self.threads.remove(&tid);
        if tid == self.pid && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists() {
            return Err(Error::TargetGone);
        }
        Ok(())
    }

    fn detach_all(&mut self) {
        let tids: Vec<i32> = self.threads.keys().copied().collect();
        for tid in &tids {
            if self.threads[tid] == State::Running && ptrace::interrupt(*tid).is_ok() {
                if let Stop::Stopped(state) = wait_stop(*tid) {
                    self.threads.insert(*tid, state);
                }
            }
        }
        for tid in tids {
            if let Some(State::Stopped { pending, .. }) = self.threads.remove(&tid) {
                let _ = ptrace::detach(tid, pending);
            }
            // A thread still running could not be stopped (it exited, or is stuck in the
            // kernel): it is detached by the kernel when pyflame exits.
        }
    }
}

impl Drop for Tracee {
    fn drop(&mut self) {
        self.detach_all();
    }
}

/// Waits for `tid` to report the stop asked for by PTRACE_INTERRUPT.
fn wait_stop(tid: i32) -> Stop {
    loop {
        let status = match ptrace::wait_timeout(tid, STOP_TIMEOUT) {
            Ok((_, status)) => status,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Stop::Late,
            Err(_) => return Stop::Gone,
        };
        match status {
            WaitStatus::Exited(_) | WaitStatus::Signaled(_) => return Stop::Gone,
            WaitStatus::Continued => continue,
            WaitStatus::Stopped { signal, event } => return Stop::Stopped(classify(signal, event)),
        }
    }
}

/// Sorts a ptrace-stop into interrupt-stop, group-stop or signal-delivery-stop.
fn classify(signal: i32, event: i32) -> State {
    let job_control = matches!(signal, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU);
    match event {
        PTRACE_EVENT_STOP => State::Stopped { pending: 0, group_stop: job_control },
        0 => State::Stopped { pending: signal, group_stop: false },
        // Other events (exec, exit) carry no signal to hand back.
        _ => State::Stopped { pending: 0, group_stop: false },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_stops() {
        let interrupt = State::Stopped { pending: 0, group_stop: false };
        assert_eq!(classify(libc::SIGTRAP, PTRACE_EVENT_STOP), interrupt);
        assert_eq!(classify(libc::SIGTSTP, PTRACE_EVENT_STOP), State::Stopped { pending: 0, group_stop: true });
        assert_eq!(classify(libc::SIGUSR1, 0), State::Stopped { pending: libc::SIGUSR1, group_stop: false });
        assert_eq!(classify(libc::SIGTRAP, 4), interrupt);
    }
}
