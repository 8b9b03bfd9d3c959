//! Trace mode (`pyflame -t CMD ARGS...`) end to end: pyflame runs the command,
//! passes its output through, profiles it to its end, then prints the profile and
//! exits with the command's status (128+N when a signal N killed it). On every
//! interpreter with traced.py; plus the failures that need no Python.

use crate::util::collapsed::{marked_stack, parse_collapsed, Collapsed};
use crate::util::marks::marks;
use crate::util::process::{pyflame_bin, temp_dir};
use crate::util::target::script_path;
use crate::util::{assert_target_running, per_interpreter, pyflame, ChildGuard, Interp, Output};
use std::process::Command;
use std::time::{Duration, Instant};

const HELLO: &str = "traced.py says hello\n";

/// `python -E -s -B .../traced.py ARGS` as arguments for -t.
fn command(py: &Interp, args: &[&str]) -> Vec<String> {
    let mut cmd = vec![
        py.path.to_string_lossy().into_owned(),
        "-E".into(),
        "-s".into(),
        "-B".into(),
        script_path("traced.py").to_string_lossy().into_owned(),
    ];
    cmd.extend(args.iter().map(|s| s.to_string()));
    cmd
}

/// A root-first stack of traced.py from (function, marker) pairs, ending in spin().
fn stack(frames: &[(&str, &str)]) -> Vec<String> {
    let path = script_path("traced.py");
    let all: Vec<(&str, &str)> = frames.iter().copied().chain([("spin", "spin")]).collect();
    marked_stack(&path, &marks(&path), &all)
}

fn work_stack() -> Vec<String> {
    stack(&[
        ("<module>", "module"),
        ("main", "main_work"),
        ("work", "work"),
    ])
}

/// Runs `pyflame [options] -t CMD...`; checks the exit status, an empty stderr, and
/// that stdout is HELLO followed by a well-formed profile, which it returns.
fn trace(options: &[&str], cmd: &[String], status: i32) -> (Output, Collapsed) {
    let mut args: Vec<String> = options.iter().map(|s| s.to_string()).collect();
    args.push("-t".into());
    args.extend_from_slice(cmd);
    let out = pyflame(&args);
    assert!(
        out.status.code() == Some(status) && out.stderr.is_empty(),
        "pyflame {}: expected exit {status} and an empty stderr\n{}",
        args.join(" "),
        out.describe()
    );
    let profile = out.stdout.strip_prefix(HELLO).unwrap_or_else(|| {
        panic!(
            "stdout does not start with the command's output\n{}",
            out.describe()
        )
    });
    let parsed = parse_collapsed(profile, true).unwrap_or_else(|e| {
        panic!(
            "bad profile after the command's output: {e}\n{}",
            out.describe()
        )
    });
    (out, parsed)
}

fn assert_has(p: &Collapsed, want: &[String], out: &Output) {
    assert!(
        p.count_of(want) > 0,
        "the profile lacks\n{}\n{}",
        want.join(";"),
        out.describe()
    );
}

per_interpreter!(trace_exit_zero);

fn trace_exit_zero(py: &Interp) {
    let (out, p) = trace(&["-r", "0.005"], &command(py, &["exit", "0"]), 0);
    assert_has(&p, &work_stack(), &out);
}

per_interpreter!(trace_exit_status_passed_on);

fn trace_exit_status_passed_on(py: &Interp) {
    let (out, p) = trace(&[], &command(py, &["exit", "3"]), 3);
    assert_has(&p, &work_stack(), &out);
}

per_interpreter!(trace_killed_by_signal);

/// The command kills itself with SIGKILL: pyflame exits 128 + 9 after the profile.
fn trace_killed_by_signal(py: &Interp) {
    let (out, p) = trace(&[], &command(py, &["kill"]), 137);
    assert_has(&p, &work_stack(), &out);
}

per_interpreter!(trace_through_exec_launcher);

/// `sh -c 'exec python ...'`: pyflame waits for the exec'd interpreter.
fn trace_through_exec_launcher(py: &Interp) {
    let quoted: Vec<String> = command(py, &["exit", "3"])
        .iter()
        .map(|w| format!("'{w}'"))
        .collect();
    let cmd = [
        "sh".to_string(),
        "-c".into(),
        format!("exec {}", quoted.join(" ")),
    ];
    let (out, p) = trace(&[], &cmd, 3);
    assert_has(&p, &work_stack(), &out);
}

per_interpreter!(trace_output_file);

/// With -o the profile goes to the file; stdout has only the command's output.
fn trace_output_file(py: &Interp) {
    let dir = temp_dir("trace_output_file");
    let file = dir.join("profile.txt");
    let path = file.to_str().expect("UTF-8 temp path");
    let mut args = vec!["-o".to_string(), path.to_string(), "-t".into()];
    args.extend(command(py, &["exit", "0"]));
    let out = pyflame(&args);
    out.assert_clean_success("pyflame -o FILE -t traced.py exit 0");
    assert_eq!(
        out.stdout, HELLO,
        "stdout must hold only the command's output"
    );
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
    let p = parse_collapsed(&text, true).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(p.count_of(&work_stack()) > 0, "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

per_interpreter!(trace_survives_sigchld);

/// The command forks children that exit while it runs (SIGCHLD): profiling goes on
/// to the end (after_children() is sampled), children are not followed, and the
/// exit status is the command's.
fn trace_survives_sigchld(py: &Interp) {
    let (out, p) = trace(&[], &command(py, &["fork"]), 5);
    let base = [("<module>", "module"), ("main", "main_fork")];
    let parent = stack(&[
        base[0],
        base[1],
        ("forking", "forking_parent"),
        ("parent_work", "parent_work"),
    ]);
    let after = stack(&[
        base[0],
        base[1],
        ("forking", "forking_after"),
        ("after_children", "after_children"),
    ]);
    assert_has(&p, &parent, &out);
    assert_has(&p, &after, &out);
    assert!(
        !p.has_function("child_work"),
        "a child was profiled\n{}",
        out.describe()
    );
}

/// Exit 1, empty stdout, one stderr line starting with `opening`.
fn assert_one_line_error(out: &Output, opening: &str) {
    assert!(
        out.status.code() == Some(1)
            && out.stdout.is_empty()
            && out.stderr.starts_with(opening)
            && out.stderr.ends_with('\n')
            && out.stderr.matches('\n').count() == 1,
        "expected exit 1 and one stderr line starting {opening:?}\n{}",
        out.describe()
    );
}

#[test]
fn trace_pyflame_refused() {
    let me = pyflame_bin().to_string_lossy().into_owned();
    let out = pyflame(&["-t", &me, "-v"]);
    assert_one_line_error(&out, "You tried to pyflame a pyflame, naughty!\n");
}

#[test]
fn trace_command_cannot_start() {
    let out = pyflame(&["-t", "/nonexistent-pyflame-dir/no-such-command", "x"]);
    assert_one_line_error(&out, "Child process exited with status: 1");
}

/// A command that never becomes Python: pyflame gives up when it exits (not
/// after its 10 s limit).
#[test]
fn trace_never_python() {
    let started = Instant::now();
    let out = pyflame(&["-t", "sleep", "0.5"]);
    assert_one_line_error(&out, "Failed to locate libpython");
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "pyflame took {:?}: it did not notice that the command exited",
        started.elapsed()
    );
}

#[test]
fn trace_option_errors() {
    let sleeper = ChildGuard::spawn(Command::new("sleep").arg("1000"));
    let out = pyflame(&["-p", &sleeper.pid().to_string(), "-t", "sleep", "1"]);
    assert!(
        out.status.code() == Some(1)
            && out.stdout.is_empty()
            && out.stderr.lines().next() == Some("Options -t and -p are not mutually compatible."),
        "-p then -t\n{}",
        out.describe()
    );
    assert_target_running(sleeper.pid());
    let out = pyflame(&["-t"]);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        out.status.code() == Some(1)
            && out.stdout.is_empty()
            && lines.len() == 2
            && lines[0].starts_with("Usage: pyflame")
            && lines[1]
                == "pyflame: -t requires a command to run (pyflame --help lists the options)",
        "-t alone\n{}",
        out.describe()
    );
}
