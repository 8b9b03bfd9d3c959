//! Why attaching failed, in one line that names the cause and the remedy.
//!
//! The line keeps the original Pyflame's opening words (`Failed to seize PID N`), then the
//! errno text, then what pyflame found by looking: another tracer (TracerPid), a different
//! uid, kernel.yama.ptrace_scope, or a missing CAP_SYS_PTRACE (CapEff).

use std::io;

use crate::proc;
use crate::sys::process;

/// Bit of CAP_SYS_PTRACE in the capability sets (linux/capability.h).
const CAP_SYS_PTRACE: u32 = 19;

pub fn seize_failure(pid: i32, err: &io::Error) -> String {
    let errno = err.raw_os_error().unwrap_or(0);
    let text = errno_text(err);
    let head = format!("Failed to seize PID {pid}: {text}");
    if errno != libc::EPERM {
        return head;
    }
    let target = proc::status(pid).ok();
    let me = proc::status(std::process::id() as i32).ok();
    let cause = eperm_cause(
        target.as_ref(),
        process::effective_uid(),
        me.map(|s| s.cap_eff).unwrap_or(0),
        proc::yama_ptrace_scope(),
    );
    format!("{head} ({cause})")
}

/// The errno's text without Rust's " (os error N)" suffix.
pub fn errno_text(err: &io::Error) -> String {
    let s = err.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Explains EPERM from PTRACE_SEIZE, most specific cause first.
pub fn eperm_cause(
    target: Option<&proc::Status>,
    euid: u32,
    cap_eff: u64,
    yama: Option<u32>,
) -> String {
    let has_cap = cap_eff & (1 << CAP_SYS_PTRACE) != 0;
    if let Some(t) = target {
        if t.tracer_pid != 0 {
            let who = proc::status(t.tracer_pid)
                .map(|s| s.name)
                .unwrap_or_default();
            return format!(
                "it is already traced by PID {} {who}(TracerPid); a process can have only one tracer: detach that debugger or profiler first",
                t.tracer_pid
            );
        }
        let target_uid = t.uids.get(1).copied().unwrap_or(0);
        if !has_cap && target_uid != euid {
            return format!(
                "pyflame runs as uid {euid} and the target as uid {target_uid}: run pyflame as root or with CAP_SYS_PTRACE, or as the target's user"
            );
        }
    }
    match yama {
        Some(3) => {
            return "kernel.yama.ptrace_scope is 3: ptrace is disabled on this host until reboot, even for root (CAP_SYS_PTRACE cannot help)"
                .to_string()
        }
        Some(2) if !has_cap => {
            return "kernel.yama.ptrace_scope is 2: only processes with CAP_SYS_PTRACE may attach; run pyflame as root".to_string()
        }
        Some(1) if !has_cap => {
            return "kernel.yama.ptrace_scope is 1: only a parent may attach to its child; run pyflame as root (CAP_SYS_PTRACE) or set sysctl kernel.yama.ptrace_scope=0".to_string()
        }
        _ => {}
    }
    if !has_cap && euid == 0 {
        return "pyflame runs as root but without CAP_SYS_PTRACE, as in a container: add the capability (docker run --cap-add SYS_PTRACE; Kubernetes: securityContext.capabilities.add [SYS_PTRACE])".to_string();
    }
    "pyflame needs root or CAP_SYS_PTRACE; check kernel.yama.ptrace_scope, security modules such as SELinux deny_ptrace, and in containers --cap-add SYS_PTRACE".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(tracer: i32, uid: u32) -> proc::Status {
        proc::Status {
            tracer_pid: tracer,
            uids: vec![uid, uid, uid, uid],
            ..Default::default()
        }
    }

    const ALL_CAPS: u64 = 0x1ff_ffff_ffff;

    #[test]
    fn names_the_most_specific_cause() {
        let traced = eperm_cause(Some(&status(4242, 0)), 0, ALL_CAPS, Some(0));
        assert!(traced.contains("already traced by PID 4242"), "{traced}");

        let other_user = eperm_cause(Some(&status(0, 0)), 65534, 0, Some(0));
        assert!(
            other_user.contains("uid 65534") && other_user.contains("CAP_SYS_PTRACE"),
            "{other_user}"
        );

        let yama1 = eperm_cause(Some(&status(0, 1000)), 1000, 0, Some(1));
        assert!(yama1.contains("ptrace_scope is 1"), "{yama1}");
        let yama3 = eperm_cause(Some(&status(0, 0)), 0, ALL_CAPS, Some(3));
        assert!(yama3.contains("ptrace_scope is 3"), "{yama3}");

        let container = eperm_cause(
            Some(&status(0, 0)),
            0,
            ALL_CAPS & !(1 << CAP_SYS_PTRACE),
            None,
        );
        assert!(container.contains("--cap-add SYS_PTRACE"), "{container}");

        let unknown = eperm_cause(None, 0, ALL_CAPS, None);
        assert!(unknown.contains("CAP_SYS_PTRACE"), "{unknown}");
    }

    #[test]
    fn errno_text_drops_the_rust_suffix() {
        let e = io::Error::from_raw_os_error(libc::ESRCH);
        assert_eq!(errno_text(&e), "No such process");
    }
}
