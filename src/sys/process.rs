//! Small process facts about pyflame itself: its effective uid, whether a descriptor is a
//! terminal.

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
