//! When pyflame may not attach or read, it says why and what to do, in one line that keeps the
//! original's opening words; when it may, it works. Run for real: as an unprivileged user
//! (setpriv), as root without CAP_SYS_PTRACE (capsh, setpriv --inh-caps), against a process that
//! another tracer holds, a zombie and a kernel thread, and under seccomp filters that refuse
//! process_vm_readv (pyflame falls back to /proc/PID/mem) or both ways of reading.

use crate::util::build;
use crate::util::cli::one_line_error;
use crate::util::collapsed::{parse_collapsed, Collapsed};
use crate::util::interp::{interpreters, Interp};
use crate::util::launch::{chain_stack, check_idle_dump, launch, Launched, Ready};
use crate::util::live::{spawn_busy, wait_for_tracer, Background, Busy};
use crate::util::prereq;
use crate::util::process::{pyflame_bin, run_with_watchdog, NobodyCopy, Output, PYFLAME_TIMEOUT};
use crate::util::target::script_path;
use crate::util::{assert_target_running, per_interpreter, pyflame, spawn_script};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const NOBODY: &str = "65534";

/// `setpriv` as user nobody, with no groups.
fn as_nobody() -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
    ]);
    cmd
}

/// An interpreter that user nobody can run (pyenv's live under root's home), if any.
fn nobody_python() -> Option<&'static Interp> {
    interpreters().iter().find(|py| {
        as_nobody()
            .arg(&py.path)
            .args(["-c", "pass"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// idle.py run by user nobody.
fn nobody_target(test: &str) -> Option<(Launched, &'static Interp)> {
    let py = nobody_python();
    if !prereq::check(test, py.is_some(), "a Python that user nobody can run") {
        return None;
    }
    let py = py.unwrap();
    let script = script_path("idle.py");
    let mut cmd = as_nobody();
    cmd.arg(&py.path).args(["-E", "-s", "-B"]).arg(&script);
    Some((
        launch("idle.py as nobody", &mut cmd, &script, Ready::StdinRead),
        py,
    ))
}

fn run(cmd: &mut Command, what: &str) -> Output {
    run_with_watchdog(cmd, what, PYFLAME_TIMEOUT)
}

fn ready(test: &str, programs: &[&str]) -> bool {
    prereq::check(test, prereq::is_root(), "root") && prereq::programs(test, programs)
}

#[test]
fn unprivileged_user_profiles_its_own_process() {
    let test = "unprivileged_user_profiles_its_own_process";
    if !ready(test, &["setpriv"]) {
        return;
    }
    let Some((t, py)) = nobody_target(test) else {
        return;
    };
    let copy = NobodyCopy::new();
    let out = run(
        as_nobody()
            .arg(&copy.binary)
            .args(["-d", "-p", &t.pid.to_string()]),
        "pyflame as nobody",
    );
    // kernel.yama.ptrace_scope decides: 0 (or no Yama) lets a user trace its own processes.
    let yama = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").ok();
    match yama.as_deref().map(str::trim) {
        None | Some("0") => {
            out.assert_clean_success("pyflame -d as nobody on nobody's python");
            check_idle_dump(&t, py.is_py2(), &out.stdout, t.pid);
        }
        Some(scope) => {
            let line = one_line_error(&out);
            let want = format!("kernel.yama.ptrace_scope is {scope}");
            assert!(line.contains(&want), "{line:?} lacks {want:?}");
        }
    }
    assert_target_running(t.pid);
}

#[test]
fn other_users_process_is_refused() {
    let test = "other_users_process_is_refused";
    if !ready(test, &["setpriv"]) {
        return;
    }
    let Some(py) = interpreters().first() else {
        return assert!(!prereq::ci(), "no python");
    };
    let target = spawn_script(py, "idle.py", &[]);
    let copy = NobodyCopy::new();
    let out = run(
        as_nobody()
            .arg(&copy.binary)
            .args(["-d", "-p", &target.pid.to_string()]),
        "pyflame as nobody",
    );
    assert_eq!(
        one_line_error(&out),
        format!(
            "Failed to seize PID {}: Operation not permitted (pyflame runs as uid 65534 and the target as uid 0: run pyflame as uid 0, or as root (with CAP_SYS_PTRACE))",
            target.pid
        )
    );
    assert_target_running(target.pid);
}

/// The one error line of root pyflame without CAP_SYS_PTRACE; checks the CapEff it names lacks
/// the capability, and returns the line with the CapEff value replaced by `X`.
fn without_cap_sys_ptrace(prefix: &[&str], pid: u32) -> String {
    let mut cmd = Command::new(prefix[0]);
    cmd.args(&prefix[1..])
        .arg(pyflame_bin())
        .args(["-d", "-p", &pid.to_string()]);
    let out = run(&mut cmd, "pyflame without CAP_SYS_PTRACE");
    let line = one_line_error(&out);
    let at = line.find("(CapEff ").expect("names CapEff") + 8;
    let caps = u64::from_str_radix(&line[at..at + 16], 16).expect("CapEff in hex");
    assert_eq!(
        caps & (1 << 19),
        0,
        "CapEff {caps:x} has CAP_SYS_PTRACE: {line}"
    );
    format!("{}X{}", &line[..at], &line[at + 16..])
}

#[test]
fn root_without_cap_sys_ptrace() {
    let test = "root_without_cap_sys_ptrace";
    if !ready(test, &["capsh", "setpriv"]) {
        return;
    }
    let Some(py) = interpreters().first() else {
        return assert!(!prereq::ci(), "no python");
    };
    let target = spawn_script(py, "idle.py", &[]);
    let capsh = [
        "capsh",
        "--drop=cap_sys_ptrace",
        "--",
        "-c",
        "exec \"$0\" \"$@\"",
    ];
    let setpriv = [
        "setpriv",
        "--inh-caps=-sys_ptrace",
        "--bounding-set=-sys_ptrace",
    ];
    let want = format!(
        "Failed to seize PID {}: Operation not permitted (pyflame runs as root but CAP_SYS_PTRACE is not in its effective capabilities (CapEff X), as in a container: add it (docker run --cap-add SYS_PTRACE; kubectl debug --profile=general))",
        target.pid
    );
    assert_eq!(without_cap_sys_ptrace(&capsh, target.pid), want, "capsh");
    assert_eq!(
        without_cap_sys_ptrace(&setpriv, target.pid),
        want,
        "setpriv"
    );
    assert_target_running(target.pid);
    // Another user's process: running as that user is a remedy too.
    if let Some((t, _)) = nobody_target(test) {
        let line = without_cap_sys_ptrace(&setpriv, t.pid);
        assert!(
            line.ends_with(
                "kubectl debug --profile=general), or run pyflame as the target's uid 65534)"
            ),
            "{line}"
        );
        assert_target_running(t.pid);
    }
}

#[test]
fn another_tracer_holds_the_target() {
    let Some(py) = interpreters().first() else {
        return assert!(!prereq::ci(), "no python");
    };
    let target = spawn_script(py, "idle.py", &[]);
    let pid = target.pid.to_string();
    let first = Background::start(&["-s", "120", "-p", &pid]);
    wait_for_tracer(target.pid, first.pid);
    let out = pyflame(&["-d", "-p", &pid]);
    assert_eq!(
        one_line_error(&out),
        format!(
            "Failed to seize PID {pid}: Operation not permitted (it is already traced by PID {} (pyflame) (its TracerPid) and a process can have only one tracer: detach that debugger or profiler first, or wait for it to finish)",
            first.pid
        )
    );
    first.signal("INT");
    first
        .finish(PYFLAME_TIMEOUT)
        .assert_clean_success("the first pyflame");
    let again = pyflame(&["-d", "-p", &pid]);
    again.assert_clean_success("-d once the other tracer has gone");
    assert_target_running(target.pid);
}

#[test]
fn zombie_and_kernel_thread() {
    let mut child = Command::new("true").spawn().expect("run true");
    let zombie = child.id();
    crate::util::live::wait_until(
        Duration::from_secs(30),
        || crate::util::procfs::task_stat(zombie, zombie).is_some_and(|s| s.state == 'Z'),
        || "true did not become a zombie".into(),
    );
    let line = one_line_error(&pyflame(&["-d", "-p", &zombie.to_string()]));
    assert!(
        line.starts_with(&format!(
            "Failed to seize PID {zombie}: Operation not permitted (it has exited (a zombie"
        )),
        "{line}"
    );
    child.wait().expect("reap");
    if std::fs::read_to_string("/proc/2/comm").is_ok_and(|c| c == "kthreadd\n") {
        let line = one_line_error(&pyflame(&["-d", "-p", "2"]));
        assert_eq!(line, "Failed to seize PID 2: Operation not permitted (it is a kernel thread, not a program: give the PID of the Python process)");
    }
}

/// `tests/c/seccomp_exec.c`, built once.
fn seccomp_exec(test: &str) -> Option<PathBuf> {
    (prereq::check(test, prereq::is_root(), "root") && prereq::programs(test, &["gcc"]))
        .then(|| build::compile("seccomp_exec.c", "seccomp_exec", &[], &[]))
}

fn under_seccomp(helper: &Path, mode: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(helper);
    cmd.arg(mode).arg(pyflame_bin()).args(args);
    run(&mut cmd, "pyflame under seccomp")
}

per_interpreter!(proc_mem_fallback);

/// process_vm_readv refused: the dump and the profile are exactly right all the same.
fn proc_mem_fallback(py: &Interp) {
    let Some(helper) = seccomp_exec("proc_mem_fallback") else {
        return;
    };
    let t: Busy = spawn_busy(py, "spinner.py", &["chain"]);
    let pid = t.pid.to_string();
    let dump = under_seccomp(&helper, "vm", &["-d", "-p", &pid]);
    dump.assert_clean_success("-d with process_vm_readv refused");
    let mut want = chain_stack(&t.script, &t.marks);
    want.reverse();
    let frames: Vec<&str> = dump.stdout.lines().skip(1).collect();
    assert_eq!(frames, want, "{}", dump.describe());
    let profile = under_seccomp(&helper, "vm", &["-s", "1", "-p", &pid]);
    profile.assert_clean_success("-s 1 with process_vm_readv refused");
    let p = parse_collapsed(&profile.stdout, true).expect("profile");
    let want = Collapsed {
        stacks: vec![(chain_stack(&t.script, &t.marks), p.total())],
        ..Collapsed::default()
    };
    assert!(p == want && p.total() > 0, "{}", profile.describe());
    assert_target_running(t.pid);
}

#[test]
fn memory_refused_both_ways() {
    let test = "memory_refused_both_ways";
    let Some(helper) = seccomp_exec(test) else {
        return;
    };
    // A PIE interpreter: all its memory is above 4 GiB, where the filter refuses reads.
    let Some(py) = interpreters()
        .iter()
        .find(|py| !py.name.starts_with("debian"))
    else {
        return assert!(!prereq::ci(), "no pyenv python");
    };
    let target = spawn_script(py, "idle.py", &[]);
    let pid = target.pid;
    let want = format!(
        "Failed to read the memory of PID {pid}: process_vm_readv was refused (Operation not permitted) and so was /proc/{pid}/mem (Operation not permitted); a seccomp filter or security module forbids reading another process's memory: run pyflame without it (docker run --cap-add SYS_PTRACE, which Docker's default seccomp profile requires for process_vm_readv, or --security-opt seccomp=unconfined)"
    );
    for args in [&["-d"][..], &["-s", "1"]] {
        let mut all = args.to_vec();
        let pid_text = pid.to_string();
        all.extend(["-p", &pid_text]);
        let out = under_seccomp(&helper, "vm+mem", &all);
        assert_eq!(one_line_error(&out), want, "pyflame {all:?}");
        assert_target_running(pid);
    }
    // -t: the command starts, and pyflame says so at once instead of waiting for a Python
    // it can never read.
    let traced = script_path("traced.py");
    let mut cmd = Command::new(&helper);
    cmd.arg("vm+mem")
        .arg(pyflame_bin())
        .args(["-t"])
        .arg(&py.path)
        .arg(&traced)
        .args(["exit", "0"]);
    let out = run(&mut cmd, "pyflame -t under seccomp");
    let stderr = out.stderr.trim_end();
    assert!(
        out.status.code() == Some(1)
            && stderr.lines().count() == 1
            && stderr.starts_with("Failed to read the memory of PID ")
            && stderr.contains("process_vm_readv was refused"),
        "{}",
        out.describe()
    );
}
