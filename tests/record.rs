//! Recording a profile (`pyflame -p PID`) end to end, on every interpreter: the
//! exact collapsed and flamechart text for targets with known stacks (spinner.py),
//! sample counts, idle, `-n`, `--threads`, `-o`, the bare-PID form, `--nonblocking`,
//! and the command-line errors that must fail before anything is attached.

use crate::util::cli::{bystander, one_line_error, version_line_ok};
use crate::util::collapsed::{frame_text, marked_stack, parse_collapsed, parse_flamechart};
use crate::util::collapsed::{ChartRecord, ChartStack, Collapsed};
use crate::util::live::{spawn_busy, wait_for_progress, Busy, TracerWatch};
use crate::util::process::temp_dir;
use crate::util::{assert_target_running, per_interpreter, pyflame, spawn_script};
use crate::util::{Interp, Output, Target};
use std::time::{SystemTime, UNIX_EPOCH};

/// spinner.py chain: <module> -> main -> chain_root -> descend x 51 -> hot.
fn chain_stack(t: &Busy) -> Vec<String> {
    crate::util::launch::chain_stack(&t.script, &t.marks)
}

/// Runs `pyflame ARGS -p PID`, which must succeed with an empty stderr and leave
/// the target running.
fn run_ok(py: &Interp, pid: u32, args: &[&str]) -> Output {
    let pid_text = pid.to_string();
    let mut all = args.to_vec();
    all.extend(["-p", &pid_text]);
    let out = pyflame(&all);
    out.assert_clean_success(&format!("pyflame {} on python {}", all.join(" "), py.name));
    assert_target_running(pid);
    out
}

fn collapsed(out: &Output, line_numbers: bool) -> Collapsed {
    parse_collapsed(&out.stdout, line_numbers)
        .unwrap_or_else(|e| panic!("bad collapsed output: {e}\n{}", out.describe()))
}

fn flamechart(out: &Output, line_numbers: bool) -> Vec<ChartRecord> {
    parse_flamechart(&out.stdout, line_numbers)
        .unwrap_or_else(|e| panic!("bad flamechart output: {e}\n{}", out.describe()))
}

/// The target survived untouched and still runs.
fn still_fine(t: &Busy) {
    assert_target_running(t.pid);
    wait_for_progress(t.pid, t.pid, 2);
}

per_interpreter!(collapsed_known_stack);

/// `-s 2 -r 0.01`: one line, the exact stack, 200 samples (±5%), nothing idle.
fn collapsed_known_stack(py: &Interp) {
    let t = spawn_busy(py, "spinner.py", &["chain"]);
    let out = run_ok(py, t.pid, &["-s", "2", "-r", "0.01"]);
    let p = collapsed(&out, true);
    let want = Collapsed {
        stacks: vec![(chain_stack(&t), p.total())],
        ..Collapsed::default()
    };
    assert_eq!(p, want, "expected only the known stack\n{}", out.describe());
    assert!(
        (190..=210).contains(&p.total()),
        "-s 2 -r 0.01: {} samples",
        p.total()
    );
    still_fine(&t);
}

per_interpreter!(single_sample_and_bare_pid);

/// `-s 0` takes exactly one sample; a bare PID works after a deprecation warning.
fn single_sample_and_bare_pid(py: &Interp) {
    let t = spawn_busy(py, "spinner.py", &["chain"]);
    let pid = t.pid.to_string();
    let want = format!("{} 1\n", chain_stack(&t).join(";"));
    let out = run_ok(py, t.pid, &["-s", "0"]);
    assert_eq!(out.stdout, want, "-s 0\n{}", out.describe());
    still_fine(&t);
    let out = pyflame(&["-s", "0", &pid]);
    let warning = "WARNING: Specifying a PID to trace without -p is deprecated; \
                   see Pyflame issue #99 for details.\n";
    assert!(
        out.status.success() && out.stderr == warning && out.stdout == want,
        "bare PID\n{}",
        out.describe()
    );
    still_fine(&t);
}

per_interpreter!(idle_target);

/// A target whose only thread sleeps in read(0): every sample is idle; -x drops them.
fn idle_target(py: &Interp) {
    let t: Target = spawn_script(py, "idle.py", &[]);
    let p = collapsed(&run_ok(py, t.pid, &["-s", "0.3"]), true);
    assert!(p.idle > 0 && p.failed == 0 && p.stacks.is_empty(), "{p:?}");
    let out = run_ok(py, t.pid, &["-s", "0.3", "-x"]);
    assert_eq!(out.stdout, "", "-x on an idle target");
    let out = run_ok(py, t.pid, &["-s", "0.3", "--flamechart"]);
    let records = flamechart(&out, true);
    assert!(!records.is_empty());
    assert!(
        records.iter().all(|r| r.stack == ChartStack::Idle),
        "{}",
        out.stdout
    );
    assert_non_decreasing(&records);
    let out = run_ok(py, t.pid, &["-s", "0.3", "--flamechart", "-x"]);
    assert_eq!(out.stdout, "", "--flamechart -x on an idle target");
    assert_target_running(t.pid);
}

per_interpreter!(no_line_numbers);

/// spinner.py wide loops over two lines: two stacks with line numbers, one with -n
/// (in collapsed and flamechart output).
fn no_line_numbers(py: &Interp) {
    let t = spawn_busy(py, "spinner.py", &["wide"]);
    let at = |leaf| {
        marked_stack(
            &t.script,
            &t.marks,
            &[
                ("<module>", "module"),
                ("main", "main_wide"),
                ("wide", leaf),
            ],
        )
    };
    let p = collapsed(&run_ok(py, t.pid, &["-s", "0.5"]), true);
    let mut got: Vec<Vec<String>> = p.stack_set().into_iter().collect();
    got.sort();
    assert_eq!(
        (p.idle, p.failed, got),
        (0, 0, vec![at("wide_a"), at("wide_b")]),
        "both loop lines, nothing else"
    );
    let bare: Vec<String> = [("<module>", None), ("main", None), ("wide", None)]
        .iter()
        .map(|(func, line)| frame_text(&t.script, func, *line))
        .collect();
    let out = run_ok(py, t.pid, &["-n", "-s", "0.5"]);
    assert_eq!(
        out.stdout,
        format!("{} {}\n", bare.join(";"), collapsed(&out, false).total())
    );
    let out = run_ok(py, t.pid, &["-n", "--flamechart", "-s", "0.2"]);
    let records = flamechart(&out, false);
    assert!(!records.is_empty());
    for r in &records {
        assert_eq!(r.stack, ChartStack::Frames(bare.clone()), "{}", out.stdout);
    }
    still_fine(&t);
}

per_interpreter!(threads_option);

/// spinner.py two: with --threads every sample has all three stacks (main in
/// read, both spinners); without, only the GIL holder's (never main's), or in a
/// free-threaded build, which has no GIL, both spinners' in every sample.
fn threads_option(py: &Interp) {
    let t = spawn_script(py, "spinner.py", &["two"]);
    let main = marked_stack(
        &t.script,
        &t.marks,
        &[
            ("<module>", "module"),
            ("main", "main_two"),
            ("wait_stdin", "wait_read"),
        ],
    );
    let a = marked_stack(&t.script, &t.marks, &[("spin_a", "spin_a")]);
    let b = marked_stack(&t.script, &t.marks, &[("spin_b", "spin_b")]);
    let out = run_ok(py, t.pid, &["--threads", "-s", "0.5"]);
    let p = collapsed(&out, true);
    let n = p.count_of(&main);
    assert!(
        n > 0 && p.count_of(&a) == n && p.count_of(&b) == n && p.total() == 3 * n,
        "--threads: expected main, spin_a and spin_b in every sample\n{}",
        out.describe()
    );
    // -s 0.5 -r 0.01: at most 50 samples.
    let out = run_ok(py, t.pid, &["-s", "0.5", "-r", "0.01"]);
    let p = collapsed(&out, true);
    assert!(
        p.failed == 0 && !p.stacks.is_empty() && p.stacks.iter().all(|(s, _)| *s == a || *s == b),
        "without --threads: only spin_a and spin_b (the GIL holders, or those on a CPU)\n{}",
        out.describe()
    );
    let (na, nb) = (p.count_of(&a), p.count_of(&b));
    if py.free_threaded {
        assert!(
            na > 0 && nb > 0 && na + nb > 50,
            "free-threaded: both spinners run at once, so samples hold both\n{}",
            out.describe()
        );
    } else {
        assert!(
            na + nb <= 50,
            "one GIL holder per sample\n{}",
            out.describe()
        );
    }
    let out = run_ok(py, t.pid, &["--threads", "--flamechart", "-s", "0.3"]);
    let records = flamechart(&out, true);
    let mut want = vec![
        ChartStack::Frames(main),
        ChartStack::Frames(a),
        ChartStack::Frames(b),
    ];
    want.sort_by_key(|s| format!("{s:?}"));
    let mut groups = records.chunk_by(|x, y| x.micros == y.micros).peekable();
    assert!(groups.peek().is_some(), "no records\n{}", out.describe());
    for group in groups {
        let mut got: Vec<ChartStack> = group.iter().map(|r| r.stack.clone()).collect();
        got.sort_by_key(|s| format!("{s:?}"));
        assert_eq!(got, want, "one sample (same timestamp)\n{}", out.describe());
    }
    assert_non_decreasing(&records);
    assert_target_running(t.pid);
}

fn assert_non_decreasing(records: &[ChartRecord]) {
    for pair in records.windows(2) {
        assert!(
            pair[0].micros <= pair[1].micros,
            "timestamps go back: {pair:?}"
        );
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

per_interpreter!(flamechart_known_stack);

/// Every record is the exact stack (every frame followed by ';'); the timestamps
/// are non-decreasing wall-clock microseconds taken during the run.
fn flamechart_known_stack(py: &Interp) {
    let t = spawn_busy(py, "spinner.py", &["chain"]);
    let before = now_micros();
    let out = run_ok(py, t.pid, &["--flamechart", "-s", "0.5"]);
    let after = now_micros();
    let want = format!("{};", chain_stack(&t).join(";"));
    let records = flamechart(&out, true);
    assert!(!records.is_empty(), "no records");
    for (i, line) in out.stdout.lines().enumerate().filter(|(i, _)| i % 2 == 1) {
        assert_eq!(line, want, "stack line {}", i + 1);
    }
    assert_non_decreasing(&records);
    let slack = 1_000_000; // one second
    for r in &records {
        assert!(
            r.micros + slack >= before && r.micros <= after + slack,
            "timestamp {} outside the run [{before}, {after}]",
            r.micros
        );
    }
    still_fine(&t);
}

per_interpreter!(output_file);

/// `-o FILE`: the profile goes there, stdout stays empty.
fn output_file(py: &Interp) {
    let t = spawn_busy(py, "spinner.py", &["chain"]);
    let dir = temp_dir("record_output_file");
    let file = dir.join("profile.txt");
    let path = file.to_str().expect("UTF-8 temp path");
    let out = run_ok(py, t.pid, &["-s", "0.3", "-o", path]);
    assert_eq!(out.stdout, "", "-o: stdout must be empty");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
    let p = parse_collapsed(&text, true).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        p.total() > 0 && p.count_of(&chain_stack(&t)) == p.total(),
        "{text}"
    );
    still_fine(&t);
    let _ = std::fs::remove_dir_all(dir);
}

per_interpreter!(nonblocking_same_stacks);

/// `--nonblocking` reports the same stacks as the default mode on a stable stack.
fn nonblocking_same_stacks(py: &Interp) {
    let t = spawn_busy(py, "spinner.py", &["chain"]);
    let blocking = collapsed(&run_ok(py, t.pid, &["-s", "0.5"]), true);
    let out = run_ok(py, t.pid, &["--nonblocking", "-s", "0.5"]);
    let nonblocking = collapsed(&out, true);
    assert_eq!(
        blocking.stack_set(),
        [chain_stack(&t)].into_iter().collect()
    );
    assert!(
        nonblocking.idle == 0
            && nonblocking.failed <= 5
            && nonblocking.stack_set() == blocking.stack_set(),
        "--nonblocking differs from the default mode\n{}",
        out.describe()
    );
    eprintln!(
        "--nonblocking on python {}: {} failed of {}",
        py.name,
        nonblocking.failed,
        nonblocking.total()
    );
    still_fine(&t);
}

per_interpreter!(output_unopenable);

/// `-o` into a missing directory fails before attaching: the target is never traced.
fn output_unopenable(py: &Interp) {
    let t = spawn_script(py, "idle.py", &[]);
    let pid = t.pid;
    let watch = TracerWatch::start(pid);
    let out = pyflame(&[
        "-s",
        "1",
        "-o",
        "/nonexistent-pyflame-dir/x",
        "-p",
        &pid.to_string(),
    ]);
    let max_tracer = watch.finish();
    let line = one_line_error(&out);
    assert!(
        line.starts_with("cannot open file \""),
        "{}",
        out.describe()
    );
    assert_eq!(max_tracer, 0, "pyflame attached before opening -o");
    assert_target_running(pid);
}

#[test]
fn bad_numbers() {
    let sleeper = bystander();
    let pid = sleeper.pid().to_string();
    for (option, value, name) in [("-r", "abc", "-r/--rate"), ("-s", "x", "-s/--seconds")] {
        let line = one_line_error(&pyflame(&[option, value, "-p", &pid]));
        let want = format!("failed to parse \"{value}\" as a number of seconds for {name}");
        assert!(line.contains(&want), "{line:?} does not contain {want:?}");
    }
    assert_target_running(sleeper.pid());
}

/// A bad command line gets two lines on stderr, nothing on stdout, exit 1: the original's
/// `Usage: ` line (its test suite looks for it) and the cause. The target is not touched.
#[test]
fn bad_command_lines() {
    let sleeper = bystander();
    let pid = sleeper.pid().to_string();
    let cases: [(&[&str], &str); 5] = [
        (&["-Z", "-p", &pid], "invalid option '-Z'"),
        (&["--bogus", "-p", &pid], "invalid option '--bogus'"),
        (&["-p", &pid, "-r"], "missing argument for option '-r'"),
        (&["-t"], "-t requires a command to run"),
        (&["foo", "bar"], "unexpected argument \"bar\""),
    ];
    for (args, cause) in cases {
        let out = pyflame(args);
        let want = format!(
            "Usage: pyflame [options] [-p] PID | pyflame [options] -t command arg1 arg2...\n\
             pyflame: {cause} (pyflame --help lists the options)\n"
        );
        assert!(
            out.status.code() == Some(1) && out.stdout.is_empty() && out.stderr == want,
            "pyflame {args:?}: expected exit 1 and\n{want}\n{}",
            out.describe()
        );
    }
    // No arguments at all: the whole usage, as the original.
    let out = pyflame::<&str>(&[]);
    assert!(
        out.status.code() == Some(1)
            && out.stderr.starts_with("Usage: pyflame")
            && out.stderr.contains("Common Options:"),
        "no arguments\n{}",
        out.describe()
    );
    assert_target_running(sleeper.pid());
}

#[test]
fn version_and_help() {
    let out = pyflame(&["-v"]);
    out.assert_clean_success("pyflame -v");
    // One line, the original's (its test suite matches the whole output against its regex);
    // `313+`: 3.13 and later, read from the target's own _Py_DebugOffsets.
    let line = out.stdout.trim();
    assert!(
        version_line_ok(line) && out.stdout.lines().count() == 1,
        "-v: {:?}",
        out.stdout
    );
    assert!(line.starts_with("pyflame 2.0.0 "), "{line:?}");
    assert!(
        line.ends_with("(ABI list: 26 27 34 35 36 37 38 39 310 311 312 313+)"),
        "{line:?}"
    );
    let help = pyflame(&["-h"]);
    help.assert_clean_success("pyflame -h");
    // As in the original, -h starts with the version string without the ABI list.
    let (bare, _) = line.split_once(" (ABI list: ").expect("ABI list");
    let want_start = format!("{bare}\n\nUsage: pyflame");
    assert!(
        help.stdout.starts_with(&want_start),
        "-h\n{}",
        help.describe()
    );
}
