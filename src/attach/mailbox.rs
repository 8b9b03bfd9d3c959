//! The one queue of wait statuses that every traced process shares.
//!
//! The kernel keeps one queue of events for a tracer, whatever process each traced thread
//! belongs to: `waitpid(-1)` returns the next one of any of them. With several processes
//! traced at once (process trees, several `-p`), the `Tracee` that asks may receive the event
//! of another one's thread, which must not be lost: a signal-delivery-stop nobody resumes
//! leaves that thread stopped for good, and an exit nobody collects keeps the target's own
//! `waitpid()` of its child waiting. So every wait goes through here: an event for a thread
//! the asker does not own is kept, and handed to the first asker that owns it.
//!
//! pyflame traces from one thread (ptrace requests must come from the tracer thread), so the
//! queue is that thread's.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use crate::sys::ptrace::{self, WaitStatus};
use crate::sys::signal;

/// With no SIGCHLD since the kernel's queue was last found empty, `next` looks at it again
/// only this often: every event comes with a SIGCHLD (pending until a wait here takes it), so
/// this is only a safeguard, and a sample that stops nothing costs no wait4() call.
const RECHECK: Duration = Duration::from_millis(50);

/// Events kept for other tracees before the oldest is dropped. Each traced thread has at most
/// a stop or an exit pending at a time, so this is reached only by events of threads nobody
/// traces any more (a process let go of with an event on its way).
const MAX_KEPT: usize = 4096;

thread_local! {
    static KEPT: RefCell<VecDeque<(i32, WaitStatus)>> = const { RefCell::new(VecDeque::new()) };
    /// When the kernel's queue was last found empty, if no SIGCHLD came since.
    static EMPTY_SINCE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Keeps an event for whichever tracee owns `tid`.
pub fn keep(tid: i32, status: WaitStatus) {
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        if k.len() >= MAX_KEPT {
            k.pop_front();
        }
        k.push_back((tid, status));
    });
}

/// The oldest kept event of a thread `owns` says is its own.
fn take(owns: &dyn Fn(i32) -> bool) -> Option<(i32, WaitStatus)> {
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        let i = k.iter().position(|&(tid, _)| owns(tid))?;
        k.remove(i)
    })
}

/// Drops the kept events of threads that `owned` says belonged to a tracee let go of.
pub fn forget(owned: &dyn Fn(i32) -> bool) {
    KEPT.with(|k| k.borrow_mut().retain(|&(tid, _)| !owned(tid)));
}

/// The next event of a thread `owns` claims, without blocking: a kept one first, then from
/// the kernel; the events of other threads met on the way are kept. Err(ECHILD) when there
/// is nothing to wait for at all.
pub fn next(owns: &dyn Fn(i32) -> bool) -> io::Result<Option<(i32, WaitStatus)>> {
    if let Some(event) = take(owns) {
        return Ok(Some(event));
    }
    let quiet = EMPTY_SINCE.get().is_some_and(|t| t.elapsed() < RECHECK);
    // The flag is taken before the queue is read: a SIGCHLD after that stays pending, and the
    // next wait that takes it sets the flag again.
    if !signal::child_seen() && quiet {
        return Ok(None);
    }
    EMPTY_SINCE.set(None);
    loop {
        match ptrace::wait(-1, true)? {
            None => {
                EMPTY_SINCE.set(Some(Instant::now()));
                return Ok(None);
            }
            Some((tid, status)) if owns(tid) => return Ok(Some((tid, status))),
            Some((tid, status)) => keep(tid, status),
        }
    }
}

/// The next event of thread `tid`, waiting until `deadline` (None: none came).
pub fn wait_until(tid: i32, deadline: Instant) -> io::Result<Option<(i32, WaitStatus)>> {
    if let Some(event) = take(&|t| t == tid) {
        return Ok(Some(event));
    }
    ptrace::wait_until(tid, deadline)
}

/// The next event of thread `tid`, without blocking.
pub fn poll(tid: i32) -> io::Result<Option<(i32, WaitStatus)>> {
    if let Some(event) = take(&|t| t == tid) {
        return Ok(Some(event));
    }
    ptrace::wait(tid, true)
}

/// The next event of a thread `owns` claims, waiting until `deadline`.
pub fn next_until(
    owns: &dyn Fn(i32) -> bool,
    deadline: Instant,
) -> io::Result<Option<(i32, WaitStatus)>> {
    loop {
        if let Some(event) = next(owns)? {
            return Ok(Some(event));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        crate::sys::signal::wait_until(&[libc::SIGCHLD], deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_goes_to_its_owner_in_order() {
        keep(10, WaitStatus::Exited(1));
        keep(20, WaitStatus::Exited(2));
        keep(10, WaitStatus::Continued);
        assert_eq!(take(&|t| t == 20), Some((20, WaitStatus::Exited(2))));
        assert_eq!(take(&|t| t == 10), Some((10, WaitStatus::Exited(1))));
        forget(&|t| t == 10);
        assert_eq!(take(&|t| t == 10), None);
        for i in 0..MAX_KEPT + 5 {
            keep(i as i32 + 100, WaitStatus::Continued);
        }
        assert_eq!(take(&|t| t == 100), None);
        assert!(take(&|t| t == 104).is_none());
        assert!(take(&|t| t == 105).is_some());
        forget(&|_| true);
    }
}
