//! Signals in pyflame itself: the periodic SIGALRM that bounds blocking waits, the blocked set
//! the sampler waits on with sigtimedwait(2) (SIGINT, SIGTERM, SIGHUP, SIGCHLD), and kill(2).

use std::io;
use std::time::Duration;

extern "C" fn on_alarm(_: libc::c_int) {}

fn install(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) -> io::Result<()> {
    // SAFETY: an all-zero sigaction is valid: no flags, an empty mask, SIG_DFL.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as *const () as libc::sighandler_t;
    // No SA_RESTART: a blocking waitpid must return EINTR so the caller can look at its
    // deadline.
    action.sa_flags = 0;
    // SAFETY: `action` is fully initialised and the handler does nothing.
    let rc = unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Delivers SIGALRM to pyflame every `period` from now on, with a handler that does nothing:
/// any blocking system call without SA_RESTART then returns EINTR at least that often, so
/// waits can check their deadlines (see `ptrace::wait_timeout`).
pub fn start_watchdog(period: Duration) -> io::Result<()> {
    install(libc::SIGALRM, on_alarm)?;
    set_timer(period, period);
    Ok(())
}

/// The signals the sampler handles synchronously: a request to stop, and tracee events.
pub const WAITED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGCHLD];

fn sigset(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is a valid value for sigemptyset to initialise.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    for &s in signals {
        // SAFETY: `set` is initialised; an invalid number only makes sigaddset fail.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    set
}

fn mask(how: libc::c_int, signals: &[i32]) {
    let set = sigset(signals);
    // SAFETY: `set` is initialised; the old mask is not requested.
    unsafe { libc::sigprocmask(how, &set, std::ptr::null_mut()) };
}

/// Blocks `WAITED`, so that they stay pending until `wait_signal` takes them: no handler, no
/// race between checking for events and going to sleep.
pub fn block_waited() {
    mask(libc::SIG_BLOCK, &WAITED);
}

/// Undoes `block_waited` (in a child before exec: the mask is inherited).
pub fn unblock_waited() {
    mask(libc::SIG_UNBLOCK, &WAITED);
}

/// Sleeps until one of `WAITED` is pending (and takes it) or `timeout` passes.
pub fn wait_signal(timeout: Duration) -> Option<i32> {
    let set = sigset(&WAITED);
    // The field types are inferred: musl's `time_t` alias is deprecated in the libc crate.
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().try_into().unwrap_or(i32::MAX.into()),
        tv_nsec: timeout.subsec_nanos().into(),
    };
    // SAFETY: `set` and `ts` are initialised; no siginfo is requested.
    let rc = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &ts) };
    (rc > 0).then_some(rc)
}

fn set_timer(after: Duration, every: Duration) {
    let tv = |d: Duration| libc::timeval {
        tv_sec: d.as_secs().try_into().unwrap_or(i32::MAX.into()),
        tv_usec: d.subsec_micros().into(),
    };
    let timer = libc::itimerval {
        it_interval: tv(every),
        it_value: tv(after),
    };
    // SAFETY: `timer` is a valid itimerval; the old value is not requested.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
}
