//! ptrace(2) and waitpid(2) as safe functions: seize, interrupt, continue, listen, detach, wait.
//!
//! Requests go through `syscall(SYS_ptrace, ...)` rather than the libc wrapper: glibc and musl
//! declare the request type differently, and the raw call has one documented contract (man 2
//! ptrace, "C library/kernel differences"). Only the seize family is used (Linux 3.4+): a seized
//! tracee is stopped with PTRACE_INTERRUPT, never with SIGSTOP, so no signal is ever invented.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

// From <linux/ptrace.h>.
const PTRACE_TRACEME: libc::c_long = 0;
const PTRACE_CONT: libc::c_long = 7;
const PTRACE_DETACH: libc::c_long = 17;
const PTRACE_SEIZE: libc::c_long = 0x4206;
const PTRACE_INTERRUPT: libc::c_long = 0x4207;
const PTRACE_LISTEN: libc::c_long = 0x4208;
const PTRACE_GETREGSET: libc::c_long = 0x4204;
/// <elf.h>: the general-purpose registers, as `struct user_regs_struct` (x86_64) or
/// `struct user_pt_regs` (aarch64) lays them out.
const NT_PRSTATUS: u64 = 1;

pub const PTRACE_O_TRACEEXEC: u64 = 0x10;
const PTRACE_EVENT_EXEC: i32 = 4;
const PTRACE_EVENT_STOP: i32 = 128;

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
///
/// PTRACE_SEIZE waits for the target's cred_guard_mutex, which an exec() from a thread other
/// than the leader holds until every other thread has been reaped, and the threads pyflame
/// traces are reaped by pyflame alone: a seize at that moment would wait forever (and restarts
/// after every signal, ERESTARTNOINTR). So while it waits, the periodic SIGALRM reaps the
/// tracees that have exited (`on_alarm`), and the exec goes on; `take_reaped` then hands their
/// wait statuses to the caller, which must look at them before it waits for anything.
pub fn seize(tid: i32, options: u64) -> io::Result<()> {
    SEIZING.store(true, Ordering::SeqCst);
    let seized = ptrace(PTRACE_SEIZE, tid, 0, options).map(drop);
    SEIZING.store(false, Ordering::SeqCst);
    seized
}

/// Set while pyflame is inside PTRACE_SEIZE.
static SEIZING: AtomicBool = AtomicBool::new(false);
/// Exits reaped by `on_alarm`: (tid << 32) | waitpid-style status.
const REAPED_MAX: usize = 1024;
static REAPED: [AtomicU64; REAPED_MAX] = [const { AtomicU64::new(0) }; REAPED_MAX];
static REAPED_LEN: AtomicUsize = AtomicUsize::new(0);

/// Called from the SIGALRM handler: while a PTRACE_SEIZE waits, reaps every tracee that has
/// exited (and only those: a stop is left for the caller), keeping its status. Only
/// async-signal-safe calls; errno is restored.
pub(super) fn on_alarm() {
    if !SEIZING.load(Ordering::SeqCst) {
        return;
    }
    let saved = errno();
    while REAPED_LEN.load(Ordering::SeqCst) < REAPED_MAX {
        let flags = libc::WEXITED | libc::WNOHANG | libc::__WALL;
        // The first waitable event, left in place (WNOWAIT): reap it only if it is an exit.
        let Some((tid, code, status)) = waitid(libc::P_ALL, 0, flags | libc::WNOWAIT) else {
            break;
        };
        if !matches!(code, libc::CLD_EXITED | libc::CLD_KILLED | libc::CLD_DUMPED) {
            break;
        }
        if waitid(libc::P_PID, tid as libc::id_t, flags).is_none() {
            break;
        }
        let word = match code {
            libc::CLD_EXITED => (status & 0xff) << 8,
            _ => status & 0x7f,
        };
        let n = REAPED_LEN.load(Ordering::SeqCst);
        REAPED[n].store(((tid as u64) << 32) | word as u32 as u64, Ordering::SeqCst);
        REAPED_LEN.store(n + 1, Ordering::SeqCst);
    }
    set_errno(saved);
}

/// waitid(2): (pid, si_code, si_status) of an event, None when there is none or on error.
fn waitid(idtype: libc::idtype_t, id: libc::id_t, flags: libc::c_int) -> Option<(i32, i32, i32)> {
    // SAFETY: an all-zero siginfo_t is valid; the kernel fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a live siginfo_t the kernel writes into.
    let rc = unsafe { libc::waitid(idtype, id, &mut info, flags) };
    // SAFETY: after a successful waitid the SIGCHLD fields of `info` are set (or zero).
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    (rc == 0 && pid > 0).then_some((pid, info.si_code, status))
}

fn errno() -> libc::c_int {
    // SAFETY: __errno_location returns this thread's errno, always valid.
    unsafe { *libc::__errno_location() }
}

fn set_errno(value: libc::c_int) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = value };
}

/// The exits `on_alarm` reaped during the last PTRACE_SEIZE (emptied).
pub fn take_reaped() -> Vec<(i32, WaitStatus)> {
    let n = REAPED_LEN.load(Ordering::SeqCst);
    let reaped = REAPED[..n].iter().map(|word| {
        let word = word.load(Ordering::SeqCst);
        ((word >> 32) as i32, decode(word as u32 as libc::c_int))
    });
    let reaped = reaped.collect();
    REAPED_LEN.store(0, Ordering::SeqCst);
    reaped
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

/// The general-purpose registers of a stopped tracee (PTRACE_GETREGSET, NT_PRSTATUS: the one
/// request both x86_64 and aarch64 have) into `words`, in the kernel's order; how many words
/// it wrote.
pub fn regset(tid: i32, words: &mut [u64]) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: words.as_mut_ptr().cast(),
        iov_len: std::mem::size_of_val(words),
    };
    let at = std::ptr::addr_of_mut!(iov) as u64;
    // SAFETY: `iov` describes `words`, live and writable for the call; the kernel writes at most iov_len bytes there and shortens iov_len to what it wrote.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_ptrace,
            PTRACE_GETREGSET,
            tid as libc::c_long,
            NT_PRSTATUS,
            at,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(iov.iov_len / 8)
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
    Stopped(Stop),
    Continued,
}

/// The kinds of ptrace-stop (man 2 ptrace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Signal-delivery-stop: the thread is about to receive this signal.
    Signal(i32),
    /// Group-stop: job control (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) stopped the process.
    Group(i32),
    /// PTRACE_EVENT_STOP without a job-control signal: the stop PTRACE_INTERRUPT asked for
    /// (or the first stop of a new thread).
    Interrupt,
    /// PTRACE_EVENT_EXEC: the thread called exec() and the process is another program.
    Exec,
    /// Another PTRACE_EVENT_*, which carries no signal.
    Event(i32),
}

fn decode(status: libc::c_int) -> WaitStatus {
    if libc::WIFEXITED(status) {
        WaitStatus::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        WaitStatus::Signaled(libc::WTERMSIG(status))
    } else if libc::WIFSTOPPED(status) {
        let signal = libc::WSTOPSIG(status);
        let job_control = matches!(
            signal,
            libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
        );
        WaitStatus::Stopped(match (status >> 16) & 0xff {
            0 => Stop::Signal(signal),
            PTRACE_EVENT_STOP if job_control => Stop::Group(signal),
            PTRACE_EVENT_STOP => Stop::Interrupt,
            PTRACE_EVENT_EXEC => Stop::Exec,
            event => Stop::Event(event),
        })
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

/// Waits for a state change of `pid` (-1: any tracee) until `deadline`. Between looks it
/// sleeps until SIGCHLD (blocked by pyflame: see `signal::block_waited`), which the kernel
/// sends at every tracee event, so it wakes as soon as the event happens. None: the
/// deadline passed first.
pub fn wait_until(pid: i32, deadline: Instant) -> io::Result<Option<(i32, WaitStatus)>> {
    loop {
        if let Some(event) = wait(pid, true)? {
            return Ok(Some(event));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        super::signal::wait_until(&[libc::SIGCHLD], deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_stops() {
        let stop = |signal: i32, event: i32| decode((event << 16) | (signal << 8) | 0x7f);
        assert_eq!(
            stop(libc::SIGTRAP, PTRACE_EVENT_STOP),
            WaitStatus::Stopped(Stop::Interrupt)
        );
        let tstp = WaitStatus::Stopped(Stop::Group(libc::SIGTSTP));
        assert_eq!(stop(libc::SIGTSTP, PTRACE_EVENT_STOP), tstp);
        let usr1 = WaitStatus::Stopped(Stop::Signal(libc::SIGUSR1));
        assert_eq!(stop(libc::SIGUSR1, 0), usr1);
        assert_eq!(
            stop(libc::SIGTRAP, PTRACE_EVENT_EXEC),
            WaitStatus::Stopped(Stop::Exec)
        );
        assert_eq!(decode(3 << 8), WaitStatus::Exited(3));
        assert_eq!(decode(libc::SIGKILL), WaitStatus::Signaled(libc::SIGKILL));
    }
}
