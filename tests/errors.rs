//! Bad input and runtime failures that need no particular interpreter: each must
//! exit 1 with exactly one line on stderr (no panic text) that starts with the
//! original Pyflame's opening words, and must leave any target running.

use crate::util::interp::{any_interp, required};
use crate::util::prereq::is_root;
use crate::util::process::{run_with_watchdog, NobodyCopy, PYFLAME_TIMEOUT};
use crate::util::{assert_target_running, pyflame, spawn_script, ChildGuard, Output, Target};
use std::process::Command;

/// Exit status 1, empty stdout, one stderr line without panic text; returns the line.
fn one_line_error(out: &Output, what: &str) -> String {
    let context = || format!("{what}\n{}", out.describe());
    assert_eq!(out.status.code(), Some(1), "exit status\n{}", context());
    for panic_text in ["panicked", "RUST_BACKTRACE"] {
        assert!(
            !out.stderr.contains(panic_text),
            "panic text in stderr\n{}",
            context()
        );
    }
    assert!(
        out.stderr.ends_with('\n') && out.stderr.matches('\n').count() == 1 && out.stderr.len() > 1,
        "stderr must be exactly one line\n{}",
        context()
    );
    assert!(out.stdout.is_empty(), "stdout must be empty\n{}", context());
    out.stderr.trim_end().to_string()
}

fn assert_starts_with(line: &str, opening: &str) {
    assert!(
        line.starts_with(opening),
        "stderr {line:?} does not start with {opening:?}"
    );
}

/// A small Python target (idle.py) under the first interpreter found, or None
/// (and a SKIPPED note) when there is none and none is required.
fn python_target(test: &str) -> Option<Target> {
    match any_interp() {
        Some(py) => Some(spawn_script(py, "idle.py", &[])),
        None if required().is_empty() => {
            eprintln!("SKIPPED: {test}: no python installed");
            None
        }
        None => panic!(
            "{test}: no python installed, but {:?} are required",
            required()
        ),
    }
}

#[test]
fn seize_vanished_pid() {
    let mut child = Command::new("true").spawn().expect("run true");
    let pid = child.id();
    child.wait().expect("reap true");
    let out = pyflame(&["-d", "-p", &pid.to_string()]);
    let line = one_line_error(&out, "-d -p <reaped pid>");
    assert_starts_with(
        &line,
        &format!("Failed to seize PID {pid}: No such process"),
    );
}

fn check_bad_pid(arg: &str) {
    let out = pyflame(&["-d", "-p", arg]);
    let line = one_line_error(&out, &format!("-d -p {arg}"));
    let want = format!("failed to parse \"{arg}\" as a PID");
    assert!(
        line.contains(&want),
        "stderr {line:?} does not contain {want:?}"
    );
}

#[test]
fn bad_pid_trailing_garbage() {
    check_bad_pid("12x");
}

#[test]
fn bad_pid_negative() {
    check_bad_pid("-1");
}

#[test]
fn bad_pid_zero() {
    check_bad_pid("0");
}

#[test]
fn not_a_python_process() {
    let sleeper = ChildGuard::spawn(Command::new("sleep").arg("1000"));
    let pid = sleeper.pid();
    let out = pyflame(&["-d", "-p", &pid.to_string()]);
    let line = one_line_error(&out, "-d -p <sleep>");
    assert_starts_with(&line, "Failed to locate libpython");
    assert_target_running(pid);
}

#[test]
fn trace_and_dump_are_incompatible() {
    let out = pyflame(&["-d", "-t", "python3", "-c", "pass"]);
    let line = one_line_error(&out, "-d -t python3 -c pass");
    assert_starts_with(&line, "Options -t and -d are not mutually compatible.");
}

#[test]
fn unknown_abi() {
    let Some(target) = python_target("unknown_abi") else {
        return;
    };
    let out = pyflame(&["--abi", "99", "-d", "-p", &target.pid.to_string()]);
    let line = one_line_error(&out, "--abi 99 -d -p <python>");
    assert_eq!(line, "Unknown or unsupported ABI version: 99");
    assert_target_running(target.pid);
}

#[test]
fn permission_denied() {
    let test = "permission_denied";
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("SKIPPED: {test}: needs root and setpriv");
        return;
    }
    let Some(target) = python_target(test) else {
        return;
    };
    let copy = NobodyCopy::new();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&copy.binary)
        .args(["-d", "-p", &target.pid.to_string()]);
    let out = run_with_watchdog(&mut cmd, "pyflame (as nobody)", PYFLAME_TIMEOUT);
    let line = one_line_error(&out, "setpriv (nobody) pyflame -d -p <root's python>");
    assert_starts_with(
        &line,
        &format!(
            "Failed to seize PID {}: Operation not permitted",
            target.pid
        ),
    );
    assert!(
        line.contains("CAP_SYS_PTRACE"),
        "stderr {line:?} should mention CAP_SYS_PTRACE"
    );
    assert_target_running(target.pid);
}
