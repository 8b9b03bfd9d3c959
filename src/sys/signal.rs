//! Signals in pyflame itself: the periodic SIGALRM that interrupts a blocked system call (and,
//! during PTRACE_SEIZE, reaps exited tracees: see `ptrace::seize`), the set pyflame blocks and
//! takes synchronously with rt_sigtimedwait(2) (its stop and job-control signals, and SIGCHLD
//! for tracee events), suspending itself, and kill(2).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

extern "C" fn on_alarm(_: libc::c_int) {
    super::ptrace::on_alarm();
}

fn install(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) -> io::Result<()> {
    // SAFETY: an all-zero sigaction is valid: no flags, an empty mask, SIG_DFL.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as *const () as libc::sighandler_t;
    // No SA_RESTART: a blocking call returns EINTR so the caller can look at its deadline.
    action.sa_flags = 0;
    // SAFETY: `action` is fully initialised and the handler is async-signal-safe.
    let rc = unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Delivers SIGALRM to pyflame every `period` from now on: any blocking system call without
/// SA_RESTART then returns EINTR at least that often, and a PTRACE_SEIZE stuck behind an
/// exec() gets its tracees reaped.
pub fn start_watchdog(period: Duration) -> io::Result<()> {
    install(libc::SIGALRM, on_alarm)?;
    set_timer(period, period);
    Ok(())
}

/// Timed waits end on time, not up to 50 µs late (the default timer slack): the pause a
/// sample leaves the target before the next one is that short at high rates.
pub fn precise_timers() {
    // SAFETY: PR_SET_TIMERSLACK takes an integer (nanoseconds) and touches no memory.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0) };
}

/// Job control: pyflame is asked to suspend itself (Ctrl-Z, a background read or write).
pub const SUSPEND: [i32; 3] = [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU];
/// Every signal pyflame handles synchronously: its stop and job-control signals, and SIGCHLD
/// (a tracee has an event).
pub const WAITED: [i32; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGTSTP,
    libc::SIGTTIN,
    libc::SIGTTOU,
    libc::SIGCHLD,
];

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

/// Blocks `WAITED`, so that they stay pending until `take` or `wait_until` takes them: no
/// handler, no race between checking for events and going to sleep, and no stop of pyflame
/// (Ctrl-Z) while it holds a thread of the target stopped.
pub fn block_waited() {
    mask(libc::SIG_BLOCK, &WAITED);
}

/// Undoes `block_waited`: pending signals then take their default action (in a child before
/// exec, where the mask is inherited; at the end of a dump).
pub fn unblock_waited() {
    mask(libc::SIG_UNBLOCK, &WAITED);
}

/// rt_sigtimedwait(2) for one of `signals` (blocked), for at most `timeout`; called directly,
/// since musl's wrapper retries after EINTR with the whole timeout again.
fn timed_wait(signals: &[i32], timeout: Duration) -> Option<i32> {
    let set = sigset(signals);
    // The field types are inferred: musl's `time_t` alias is deprecated in the libc crate.
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().try_into().unwrap_or(i32::MAX.into()),
        tv_nsec: timeout.subsec_nanos().into(),
    };
    // The kernel's sigset is _NSIG / 8 bytes, the start of libc's larger one.
    const KERNEL_SIGSET: libc::c_long = 8;
    let (set, ts, info) = (
        &set as *const _,
        &ts as *const _,
        std::ptr::null_mut::<u8>(),
    );
    // SAFETY: `set` and `ts` point to initialised locals that outlive the call; no siginfo.
    let rc = unsafe { libc::syscall(libc::SYS_rt_sigtimedwait, set, info, ts, KERNEL_SIGSET) };
    if rc == libc::SIGCHLD.into() {
        CHILD.store(true, Ordering::Relaxed);
    }
    (rc > 0).then_some(rc as i32)
}

/// A SIGCHLD was taken since the last call to `child_seen`.
static CHILD: AtomicBool = AtomicBool::new(false);

/// Whether a SIGCHLD was taken (by any wait here) since the last call: a traced thread of
/// pyflame's changed state, and the kernel's wait queue may hold its event.
pub fn child_seen() -> bool {
    CHILD.swap(false, Ordering::Relaxed)
}

/// Takes one of `signals` if it is pending, without waiting.
pub fn take(signals: &[i32]) -> Option<i32> {
    timed_wait(signals, Duration::ZERO)
}

/// Sleeps until one of `signals` (blocked) is pending, and takes it, or until `deadline`. An
/// interruption (SIGALRM) only makes it look at the deadline again: it cannot push it back.
pub fn wait_until(signals: &[i32], deadline: Instant) -> Option<i32> {
    let mut now = Instant::now();
    if now >= deadline {
        return take(signals);
    }
    loop {
        if let Some(signal) = timed_wait(signals, deadline - now) {
            return Some(signal);
        }
        // Timed out (the usual case: no second call), or interrupted.
        now = Instant::now();
        if now >= deadline {
            return None;
        }
    }
}

/// Stops pyflame itself (SIGSTOP, as job control would) until it is continued (SIGCONT).
pub fn suspend_self() {
    // SAFETY: kill(2) with our own pid and a valid signal number touches no memory.
    unsafe { libc::kill(libc::getpid(), libc::SIGSTOP) };
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
