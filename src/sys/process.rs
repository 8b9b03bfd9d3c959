//! Small process facts about pyflame itself: its effective uid, whether a descriptor is a
//! terminal; and an anonymous file in its memory.

use std::os::fd::FromRawFd;

/// geteuid(2).
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

/// isatty(3).
pub fn is_terminal(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor number.
    unsafe { libc::isatty(fd) == 1 }
}

/// memfd_create(2): an anonymous file (closed on exec), holding `bytes`.
pub fn memory_file(name: &std::ffi::CStr, bytes: &[u8]) -> std::io::Result<std::fs::File> {
    // SAFETY: `name` is a valid C string; the call reads it and returns a new descriptor or -1.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created here and nothing else owns it.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    std::io::Write::write_all(&mut &file, bytes)?;
    Ok(file)
}

/// Starts `command` as a child that becomes a tracee of pyflame (PTRACE_TRACEME) before it
/// execs, so it stops at its first instruction after exec with SIGTRAP; the caller then
/// converts it to a seized tracee. Its signal mask is cleared of pyflame's blocked set.
pub fn spawn_traced(command: &mut std::process::Command) -> std::io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and only makes two async-signal-safe system calls (sigprocmask, ptrace), allocating nothing.
    unsafe { command.pre_exec(child_setup) };
    command.spawn()
}

fn child_setup() -> std::io::Result<()> {
    super::signal::unblock_waited();
    super::ptrace::traceme()
}
