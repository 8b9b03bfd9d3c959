//! A Python target in its own mount and PID namespaces, made with `unshare` as a container
//! runtime would: its interpreter sits at a path that exists only in its mount namespace
//! (a tmpfs over an empty directory of ours, with the interpreter's prefix bound into it), and
//! its PIDs are its own. Also: running pyflame the way a debug container does (`nsenter` into
//! the target's PID namespace, with a mount namespace of its own).

use super::interp::Interp;
use super::launch::{launch, nspid, Launched, Ready};
use super::process::{pyflame_bin, run_with_watchdog, temp_dir, Output, PYFLAME_TIMEOUT};
use super::target::script_path;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shell that unshare runs as the namespace's init (PID 1): it hides the interpreter, sets
/// the PID the next process gets when asked to, and runs the script as its child (so that the
/// script's PID is the chosen one, not 1).
const INIT: &str = r#"
set -e
mount -t tmpfs pyflame-test "$HIDE"
mkdir "$HIDE/py"
mount --bind "$PREFIX" "$HIDE/py"
if [ -n "$NEXT_PID" ]; then echo $((NEXT_PID - 1)) > /proc/sys/kernel/ns_last_pid; fi
LD_LIBRARY_PATH="$HIDE/py/lib" "$HIDE/py/$EXE" -E -s -B "$@"
"#;

pub struct Contained {
    pub target: Launched,
    /// The script's PID inside its namespace (as it sees itself).
    pub ns_pid: u32,
    /// The namespace's init (the shell), as we number it: what `nsenter --target` takes.
    pub init: u32,
    /// Where the interpreter's prefix is in the target's mount namespace (an empty directory
    /// in ours).
    pub hidden: PathBuf,
}

/// Starts `tests/scripts/<script> args` under `py` in new mount and PID namespaces. With
/// `next_pid`, the script gets that PID inside its namespace (through ns_last_pid).
pub fn contained(
    py: &Interp,
    script: &str,
    args: &[&str],
    ready: Ready,
    next_pid: Option<u32>,
) -> Contained {
    let script = script_path(script);
    let exe = py.path.canonicalize().expect("interpreter path");
    let prefix = exe.parent().and_then(Path::parent).expect("prefix");
    let rel = exe.strip_prefix(prefix).expect("exe under prefix");
    let hide = temp_dir("ns-hide");
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "--",
        "sh",
        "-c",
        INIT,
        "sh",
    ])
    .arg(&script)
    .args(args)
    .env("HIDE", &hide)
    .env("PREFIX", prefix)
    .env("EXE", rel)
    .env(
        "NEXT_PID",
        next_pid.map(|p| p.to_string()).unwrap_or_default(),
    );
    let target = launch(
        &format!("python {} in new namespaces", py.name),
        &mut cmd,
        &script,
        ready,
    );
    let ids = nspid(target.pid, target.pid);
    assert!(
        ids.len() >= 2 && ids[0] == target.pid,
        "the target is not in a PID namespace of its own: NSpid {ids:?}\n{}",
        target.describe()
    );
    let ns_pid = *ids.last().unwrap();
    if let Some(want) = next_pid {
        assert_eq!(
            ns_pid,
            want,
            "ns_last_pid did not work\n{}",
            target.describe()
        );
    }
    let init = super::launch::children(target.guard.pid())
        .into_iter()
        .next()
        .expect("unshare's child");
    let hidden = hide.join("py");
    // The test means something only if the interpreter's files are out of our sight.
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", target.pid)).unwrap_or_default();
    assert!(
        maps.contains(&format!("{}/", hidden.display())) && !hidden.exists(),
        "the interpreter is not hidden at {}\n{}",
        hidden.display(),
        target.describe()
    );
    Contained {
        target,
        ns_pid,
        init,
        hidden,
    }
}

/// Runs pyflame with `args` as a debug container would (`kubectl debug --target`,
/// `docker run --pid=container:X`): in the PID namespace of `init`, with a mount namespace
/// (and /proc) of its own in which the target's files do not exist.
pub fn pyflame_in_pid_namespace(init: u32, args: &[&str]) -> Output {
    let mut cmd = Command::new("nsenter");
    cmd.args(["--target", &init.to_string(), "--pid", "--"])
        .args(["unshare", "--mount", "--mount-proc", "--"])
        .arg(pyflame_bin())
        .args(args);
    run_with_watchdog(
        &mut cmd,
        "pyflame (in the target's PID namespace)",
        PYFLAME_TIMEOUT,
    )
}
