//! Why attaching failed, in one line that names the cause and the remedy.
//!
//! The line keeps the original Pyflame's opening words (`Failed to seize PID N`), then the
//! errno text, then what pyflame found by looking (man 2 ptrace, "Ptrace access mode
//! checking"): another tracer (TracerPid), kernel.yama.ptrace_scope, a missing CAP_SYS_PTRACE
//! (CapEff), a different uid, a target that is not dumpable, a zombie, a kernel thread.

use std::io;

use crate::proc;
use crate::sys::process;

/// Bit of CAP_SYS_PTRACE in the capability sets (linux/capability.h).
const CAP_SYS_PTRACE: u32 = 19;

/// What pyflame found out about itself and the target after PTRACE_SEIZE said EPERM.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub target: Option<proc::Status>,
    /// The name of the process in the target's TracerPid, if any.
    pub tracer_name: Option<String>,
    pub euid: u32,
    /// pyflame's effective capabilities (CapEff).
    pub cap_eff: u64,
    /// kernel.yama.ptrace_scope, when the Yama LSM is present.
    pub yama: Option<u32>,
    /// The owner of /proc/PID (root when the target is not dumpable).
    pub proc_owner: Option<u32>,
    pub kernel_thread: bool,
    pub is_self: bool,
}

pub fn seize_failure(pid: i32, err: &io::Error) -> String {
    let errno = err.raw_os_error().unwrap_or(0);
    let head = format!("Failed to seize PID {pid}: {}", errno_text(err));
    if errno != libc::EPERM {
        return head;
    }
    let target = proc::status(pid).ok();
    let tracer_name = target
        .as_ref()
        .filter(|t| t.tracer_pid != 0)
        .and_then(|t| proc::status(t.tracer_pid).ok())
        .map(|s| s.name);
    let seen = Seen {
        target,
        tracer_name,
        euid: process::effective_uid(),
        cap_eff: proc::status(std::process::id() as i32).map_or(0, |s| s.cap_eff),
        yama: proc::yama_ptrace_scope(),
        proc_owner: proc::proc_owner(pid),
        kernel_thread: proc::is_kernel_thread(pid),
        is_self: pid == std::process::id() as i32,
    };
    format!("{head} ({})", eperm_cause(&seen))
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
pub fn eperm_cause(seen: &Seen) -> String {
    let has_cap = seen.cap_eff & (1 << CAP_SYS_PTRACE) != 0;
    let euid = seen.euid;
    if seen.is_self {
        return "that is pyflame itself: give the PID of the Python process".to_string();
    }
    if seen.kernel_thread {
        return "it is a kernel thread, not a program: give the PID of the Python process"
            .to_string();
    }
    let target = seen.target.as_ref();
    if let Some(t) = target {
        if t.state == 'Z' || t.state == 'X' {
            return "it has exited (a zombie its parent has not reaped): there is nothing left to profile".to_string();
        }
        if t.tracer_pid != 0 {
            let who = seen
                .tracer_name
                .as_deref()
                .map_or(String::new(), |n| format!(" ({n})"));
            return format!(
                "it is already traced by PID {}{who} (its TracerPid) and a process can have only one tracer: detach that debugger or profiler first, or wait for it to finish",
                t.tracer_pid
            );
        }
    }
    if seen.yama == Some(3) {
        return "kernel.yama.ptrace_scope is 3: ptrace is disabled on this host until reboot, even for root with CAP_SYS_PTRACE".to_string();
    }
    let target_uid = target.and_then(|t| t.uids.get(1).copied());
    if !has_cap {
        if euid == 0 {
            let or_user = match target_uid {
                Some(uid) if uid != 0 => format!(", or run pyflame as the target's uid {uid}"),
                _ => String::new(),
            };
            return format!(
                "pyflame runs as root but CAP_SYS_PTRACE is not in its effective capabilities (CapEff {:016x}), as in a container: add it (docker run --cap-add SYS_PTRACE; kubectl debug --profile=general){or_user}",
                seen.cap_eff
            );
        }
        if let Some(uid) = target_uid.filter(|&uid| uid != euid) {
            return format!(
                "pyflame runs as uid {euid} and the target as uid {uid}: run pyflame as uid {uid}, or as root (with CAP_SYS_PTRACE)"
            );
        }
        match seen.yama {
            Some(2) => return "kernel.yama.ptrace_scope is 2: only a process with CAP_SYS_PTRACE may attach; run pyflame as root".to_string(),
            Some(1) => return "kernel.yama.ptrace_scope is 1: only a parent may attach to its own child; run pyflame as root (CAP_SYS_PTRACE), start the program under pyflame -t, or set sysctl kernel.yama.ptrace_scope=0".to_string(),
            _ => {}
        }
        if seen.proc_owner.is_some() && seen.proc_owner != target_uid {
            return format!(
                "the target runs as uid {euid} like pyflame but is not dumpable (a set-user-ID or file-capability program, or prctl(PR_SET_DUMPABLE, 0)): run pyflame as root (with CAP_SYS_PTRACE)"
            );
        }
        return format!(
            "the target runs as uid {euid} like pyflame but with other group ids or capabilities pyflame lacks: run pyflame as root (with CAP_SYS_PTRACE)"
        );
    }
    "pyflame has CAP_SYS_PTRACE, so a security module or namespace refuses: check SELinux (setsebool -P deny_ptrace 0), AppArmor (the profile must allow ptrace), or whether pyflame runs in a user namespace (a rootless container) that does not own the target".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_CAPS: u64 = 0x1ff_ffff_ffff;
    const NO_PTRACE: u64 = ALL_CAPS & !(1 << CAP_SYS_PTRACE);

    fn seen(uid: u32, euid: u32, cap_eff: u64, yama: Option<u32>) -> Seen {
        Seen {
            target: Some(proc::Status {
                state: 'S',
                uids: vec![uid, uid, uid, uid],
                ..Default::default()
            }),
            euid,
            cap_eff,
            yama,
            proc_owner: Some(uid),
            ..Default::default()
        }
    }

    fn traced(tracer: i32, name: Option<&str>) -> Seen {
        let mut s = seen(0, 0, ALL_CAPS, Some(0));
        s.target.as_mut().unwrap().tracer_pid = tracer;
        s.tracer_name = name.map(String::from);
        s
    }

    #[test]
    fn names_the_most_specific_cause() {
        let cases: [(Seen, &[&str]); 13] = [
            (
                traced(4242, Some("gdb")),
                &["already traced by PID 4242 (gdb) (its TracerPid)", "detach"],
            ),
            (
                traced(77, None),
                &["already traced by PID 77 (its TracerPid)"],
            ),
            (
                seen(0, 65534, 0, Some(0)),
                &[
                    "uid 65534",
                    "uid 0",
                    "run pyflame as uid 0",
                    "CAP_SYS_PTRACE",
                ],
            ),
            (
                seen(1000, 1000, 0, Some(1)),
                &["ptrace_scope is 1", "parent", "ptrace_scope=0", "-t"],
            ),
            (
                seen(1000, 1000, 0, Some(2)),
                &["ptrace_scope is 2", "CAP_SYS_PTRACE"],
            ),
            (
                seen(0, 0, ALL_CAPS, Some(3)),
                &["ptrace_scope is 3", "until reboot"],
            ),
            (
                seen(0, 0, NO_PTRACE, None),
                &[
                    "root",
                    "CapEff 000001fffff7ffff",
                    "--cap-add SYS_PTRACE",
                    "kubectl debug",
                ],
            ),
            (
                seen(1000, 0, NO_PTRACE, Some(1)),
                &[
                    "--cap-add SYS_PTRACE",
                    "or run pyflame as the target's uid 1000",
                ],
            ),
            (
                seen(1000, 1000, 0, Some(0)),
                &["other group ids or capabilities pyflame lacks", "root"],
            ),
            (
                Seen {
                    proc_owner: Some(0),
                    ..seen(1000, 1000, 0, None)
                },
                &["not dumpable", "root"],
            ),
            (
                seen(0, 0, ALL_CAPS, Some(1)),
                &["SELinux", "AppArmor", "user namespace"],
            ),
            (
                Seen {
                    kernel_thread: true,
                    ..seen(0, 0, ALL_CAPS, None)
                },
                &["kernel thread"],
            ),
            (
                Seen {
                    target: Some(proc::Status {
                        state: 'Z',
                        ..Default::default()
                    }),
                    ..seen(0, 0, ALL_CAPS, None)
                },
                &["zombie"],
            ),
        ];
        for (seen, words) in cases {
            let cause = eperm_cause(&seen);
            for word in words {
                assert!(cause.contains(word), "{word:?} not in {cause:?}");
            }
            assert!(!cause.contains('\n'));
        }
        let me = Seen {
            is_self: true,
            ..Default::default()
        };
        assert!(eperm_cause(&me).contains("pyflame itself"));
        // Nothing known about the target: still a cause and a remedy.
        let unknown = eperm_cause(&Seen {
            cap_eff: ALL_CAPS,
            ..Default::default()
        });
        assert!(unknown.contains("SELinux"), "{unknown}");
    }

    #[test]
    fn errno_text_drops_the_rust_suffix() {
        let e = io::Error::from_raw_os_error(libc::ESRCH);
        assert_eq!(errno_text(&e), "No such process");
    }
}
