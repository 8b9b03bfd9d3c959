//! Signals in pyflame itself: a stop request flag for SIGINT/SIGTERM/SIGHUP, the SIGALRM
//! timer that bounds blocking waits, and kill(2).

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// The last termination signal received (0: none). Set by the handler, read by the sampler.
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop_signal(signal: libc::c_int) {
    STOP_SIGNAL.store(signal, Ordering::Relaxed);
}

extern "C" fn on_alarm(_: libc::c_int) {}

fn install(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) -> io::Result<()> {
    // SAFETY: an all-zero sigaction is valid: no flags, an empty mask, SIG_DFL.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as *const () as libc::sighandler_t;
    // No SA_RESTART: a blocking waitpid or sleep must return EINTR so the caller can look at
    // the flag or the deadline.
    action.sa_flags = 0;
    // SAFETY: `action` is fully initialised and the handlers only touch an atomic.
    let rc = unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Installs the SIGALRM handler used by `arm_alarm` (a no-op that only interrupts syscalls).
pub fn install_alarm() -> io::Result<()> {
    install(libc::SIGALRM, on_alarm)
}

/// From now on SIGINT, SIGTERM and SIGHUP set a flag (see `stop_requested`) instead of
/// killing pyflame, so that it can detach and write what it collected.
pub fn catch_stop_signals() -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        install(signal, on_stop_signal)?;
    }
    Ok(())
}

/// The termination signal received since `catch_stop_signals`, if any.
pub fn stop_requested() -> Option<i32> {
    match STOP_SIGNAL.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

fn set_timer(after: Duration) {
    let value = libc::timeval {
        tv_sec: after.as_secs() as libc::time_t,
        tv_usec: after.subsec_micros() as libc::suseconds_t,
    };
    let zero = libc::timeval { tv_sec: 0, tv_usec: 0 };
    let timer = libc::itimerval { it_interval: zero, it_value: value };
    // SAFETY: `timer` is a valid itimerval; the old value is not requested.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
}

/// Sends SIGALRM to pyflame after `after` (at least 1 µs), interrupting a blocking syscall.
pub fn arm_alarm(after: Duration) {
    set_timer(after.max(Duration::from_micros(1)));
}

pub fn disarm_alarm() {
    set_timer(Duration::ZERO);
}

/// kill(2).
pub fn kill(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes plain integers.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
