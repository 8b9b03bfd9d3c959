//! ptrace(2) and waitpid(2) as safe functions: seize, interrupt, continue, listen, detach, wait.
//!
//! Requests go through `syscall(SYS_ptrace, ...)` rather than the libc wrapper: glibc and musl
//! declare the request type differently, and the raw call has one documented contract (man 2
//! ptrace, "C library/kernel differences"). Only the seize family is used (Linux 3.4+): a seized
//! tracee is stopped with PTRACE_INTERRUPT, never with SIGSTOP, so no signal is ever invented.

use std::io;
use std::time::Duration;

// From <linux/ptrace.h>.
const PTRACE_TRACEME: libc::c_long = 0;
const PTRACE_CONT: libc::c_long = 7;
const PTRACE_DETACH: libc::c_long = 17;
const PTRACE_SEIZE: libc::c_long = 0x4206;
const PTRACE_INTERRUPT: libc::c_long = 0x4207;
const PTRACE_LISTEN: libc::c_long = 0x4208;

pub const PTRACE_O_TRACEEXEC: u64 = 0x10;
pub const PTRACE_EVENT_EXEC: i32 = 4;
pub const PTRACE_EVENT_STOP: i32 = 128;

fn ptrace(request: libc::c_long, tid: i32, addr: u64, data: u64) -> io::Result<libc::c_long> {
    // SAFETY: every request used here takes integer arguments only, never a pointer into our memory.
    let rc = unsafe { libc::syscall(libc::SYS_ptrace, request, tid as libc::c_long, addr, data) };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Attaches to thread `tid` without stopping it (PTRACE_SEIZE), with `options` (PTRACE_O_*).
pub fn seize(tid: i32, options: u64) -> io::Result<()> {
    ptrace(PTRACE_SEIZE, tid, 0, options).map(drop)
}

/// Asks a seized thread to stop; the stop is then reported by `wait`.
pub fn interrupt(tid: i32) -> io::Result<()> {
    ptrace(PTRACE_INTERRUPT, tid, 0, 0).map(drop)
}

/// Resumes a stopped thread, delivering `signal` (0 for none).
pub fn cont(tid: i32, signal: i32) -> io::Result<()> {
    ptrace(PTRACE_CONT, tid, 0, signal as u64).map(drop)
}

/// Lets a thread in group-stop stay stopped (job control) while it is still traced.
pub fn listen(tid: i32) -> io::Result<()> {
    ptrace(PTRACE_LISTEN, tid, 0, 0).map(drop)
}

/// Detaches from a stopped thread, delivering `signal` (0 for none).
pub fn detach(tid: i32, signal: i32) -> io::Result<()> {
    ptrace(PTRACE_DETACH, tid, 0, signal as u64).map(drop)
}

/// Makes the calling process a tracee of its parent (used by a child before exec).
pub fn traceme() -> io::Result<()> {
    ptrace(PTRACE_TRACEME, 0, 0, 0).map(drop)
}

/// What waitpid(2) reported about one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    Exited(i32),
    Signaled(i32),
    /// A ptrace-stop: `signal` is WSTOPSIG, `event` is `status >> 16` (PTRACE_EVENT_*; 0 for
    /// a signal-delivery-stop).
    Stopped {
        signal: i32,
        event: i32,
    },
    Continued,
}

fn decode(status: libc::c_int) -> WaitStatus {
    if libc::WIFEXITED(status) {
        WaitStatus::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        WaitStatus::Signaled(libc::WTERMSIG(status))
    } else if libc::WIFSTOPPED(status) {
        WaitStatus::Stopped {
            signal: libc::WSTOPSIG(status),
            event: (status >> 16) & 0xff,
        }
    } else {
        WaitStatus::Continued
    }
}

/// Waits for a state change of `pid` (-1: any child or tracee). `None` only with `nohang`.
pub fn wait(pid: i32, nohang: bool) -> io::Result<Option<(i32, WaitStatus)>> {
    let flags = libc::__WALL | if nohang { libc::WNOHANG } else { 0 };
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a live local the kernel writes one int into.
        let rc = unsafe { libc::waitpid(pid, &mut status, flags) };
        match rc {
            0 => return Ok(None),
            -1 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            _ => return Ok(Some((rc, decode(status)))),
        }
    }
}

/// Like `wait(pid, false)`, but gives up with `ErrorKind::TimedOut` after `timeout`: a thread
/// that never stops (uninterruptible sleep, an exited group leader) must not hang pyflame.
/// The periodic SIGALRM of `signal::start_watchdog` interrupts the blocking waitpid so the
/// deadline is checked without arming a timer for every wait.
pub fn wait_timeout(pid: i32, timeout: Duration) -> io::Result<(i32, WaitStatus)> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a live local the kernel writes one int into.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if rc > 0 {
            return Ok((rc, decode(status)));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
        if std::time::Instant::now() >= deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "waitpid timed out"));
        }
    }
}
