//! Every stack pyflame reports is one the target really had (issue 15), in the default mode
//! (which may read a running thread and check the read afterwards), with `--nonblocking`
//! (which never stops it) and with `-d`: updown.py recurses up and down through three kinds of
//! chain as fast as Python calls and returns, so that a read mixing two moments of its stack
//! gives a stack the program can never have.

use crate::util::collapsed::{parse_collapsed, Collapsed};
use crate::util::dump_format::{parse_dump, parse_frame, render_frames, Frame};
use crate::util::live::{spawn_busy, Busy};
use crate::util::marks::line_of;
use crate::util::process::{pyflame_bin, run_with_watchdog};
use crate::util::{assert_target_running, per_interpreter, Interp, Output};
use std::ops::RangeInclusive;
use std::process::Command;
use std::time::Duration;

/// The depths of updown.py's three phases (a chain, b chain, alternating a/b chain): all
/// different, so that a chain mixing two phases can also be too deep for its own.
const DEPTH_A: usize = 40;
const DEPTH_B: usize = 60;
const DEPTH_AB: usize = 50;
/// Samples each mode must give at 10 kHz (torn reads are rare: a check of the innermost frame
/// alone lets through 0 to a few tens in 10,000, none while pyflame and the target do not run
/// at the same time)...
const SAMPLES: u64 = 10_000;
/// ...in at most this many runs of one second (fewer samples a run on a loaded machine).
const MAX_RUNS: usize = 30;
/// Dumps of one target.
const DUMPS: usize = 100;
/// Wrong stacks shown in a failure message, at most.
const SHOWN: usize = 3;

/// One phase of updown.py: what main calls on `main_line`, and the calls its chain makes.
struct Phase {
    main_line: u32,
    /// The function main calls.
    first: &'static str,
    /// (caller, line, callee): the only lines at which a frame of the chain that is not the
    /// innermost can stand, and what it calls there.
    calls: Vec<(&'static str, u32, &'static str)>,
    /// Frames of the chain at most: the depth + 1 (`f(0)` is the innermost).
    most: usize,
}

/// The stacks updown.py can have, root first:
/// `<module>` at module_calls_main, then `main`, either innermost (at a line of its loop) or
/// at the call of one phase, then at most `most` frames of that phase's chain, beginning with
/// its `first` function, each frame but the innermost at one of its phase's call lines and
/// followed by the function called there, the innermost at any line of its function.
struct Program {
    file: String,
    module_line: u32,
    main_lines: RangeInclusive<u32>,
    phases: Vec<Phase>,
    /// The lines of each function of a chain, from its `def` (where a frame that has just
    /// started stands) to its last.
    bodies: Vec<(&'static str, RangeInclusive<u32>)>,
}

impl Program {
    fn of(t: &Busy) -> Program {
        let at = |name: &str| line_of(&t.marks, name);
        let phase = |call: &str, first, calls: &[(&'static str, &str, &'static str)], depth| {
            let calls = calls.iter().map(|&(f, mark, g)| (f, at(mark), g)).collect();
            Phase {
                main_line: at(call),
                first,
                calls,
                most: depth + 1,
            }
        };
        Program {
            file: t.script.display().to_string(),
            module_line: at("module_calls_main"),
            main_lines: at("main_loop")..=at("main_calls_ab"),
            phases: vec![
                phase("main_calls_a", "a", &[("a", "a_calls_a", "a")], DEPTH_A),
                phase("main_calls_b", "b", &[("b", "b_calls_b", "b")], DEPTH_B),
                phase(
                    "main_calls_ab",
                    "a",
                    &[("a", "a_calls_b", "b"), ("b", "b_calls_a", "a")],
                    DEPTH_AB,
                ),
            ],
            bodies: vec![
                ("a", at("a_def")..=at("a_end")),
                ("b", at("b_def")..=at("b_end")),
            ],
        }
    }

    /// Why the program can never have the stack `frames` (root first); None if it can.
    fn impossible(&self, frames: &[Frame]) -> Option<String> {
        if let Some(i) = frames.iter().position(|f| f.file != self.file) {
            return Some(format!("frame {i} is not in {}", self.file));
        }
        let n = frames.len();
        let Some(root) = frames.first() else {
            return Some("no frames".into());
        };
        if root.func != "<module>" || root.line != self.module_line {
            return Some(format!(
                "rooted at {}:{}, not <module>:{}",
                root.func, root.line, self.module_line
            ));
        }
        if n < 2 {
            return Some("<module> alone".into());
        }
        let main = &frames[1];
        if main.func != "main" {
            return Some("the second frame is not main".into());
        }
        if n == 2 {
            return (!self.main_lines.contains(&main.line))
                .then(|| format!("main, innermost, at line {}", main.line));
        }
        let Some(phase) = self.phases.iter().find(|p| p.main_line == main.line) else {
            return Some(format!("main at line {}, which calls nothing", main.line));
        };
        if n - 2 > phase.most {
            return Some(format!(
                "{} frames below main at line {}: at most {}",
                n - 2,
                main.line,
                phase.most
            ));
        }
        let mut expected = phase.first;
        for (i, f) in frames.iter().enumerate().skip(2) {
            if f.func != expected {
                return Some(format!("frame {i} is {}, not {expected}", f.func));
            }
            if i == n - 1 {
                let body = self.bodies.iter().find(|(func, _)| *func == f.func);
                return match body {
                    Some((_, lines)) if lines.contains(&f.line) => None,
                    _ => Some(format!("innermost frame {i} at line {}", f.line)),
                };
            }
            let call = phase
                .calls
                .iter()
                .find(|&&(func, line, _)| func == f.func && line == f.line);
            let Some(&(_, _, callee)) = call else {
                return Some(format!(
                    "frame {i} ({}) at line {}, which calls nothing in this phase",
                    f.func, f.line
                ));
            };
            expected = callee;
        }
        None
    }
}

/// The frames of one collapsed stack, root first.
fn frames_of(stack: &[String]) -> Vec<Frame> {
    stack
        .iter()
        .map(|f| parse_frame(f).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Starts updown.py with this test's depths.
fn spawn_updown(py: &Interp) -> Busy {
    let depths = [DEPTH_A, DEPTH_B, DEPTH_AB].map(|d| d.to_string());
    let args: Vec<&str> = depths.iter().map(String::as_str).collect();
    spawn_busy(py, "updown.py", &args)
}

/// `pyflame ARGS -p PID`.
fn pyflame_on(t: &Busy, args: &[&str]) -> Output {
    let mut cmd = Command::new(pyflame_bin());
    cmd.args(args).arg("-p").arg(t.pid.to_string());
    run_with_watchdog(&mut cmd, "pyflame", Duration::from_secs(60))
}

/// Fails, showing the first stacks and why, if a run's profile has a stack updown.py cannot have.
fn check_profile(program: &Program, p: &Collapsed, what: &str, t: &Busy, out: &Output) {
    let wrong: Vec<(Vec<Frame>, u64, String)> = p
        .stacks
        .iter()
        .filter_map(|(stack, n)| {
            let frames = frames_of(stack);
            let why = program.impossible(&frames)?;
            Some((frames, *n, why))
        })
        .collect();
    if wrong.is_empty() {
        return;
    }
    let samples: u64 = wrong.iter().map(|w| w.1).sum();
    let shown: Vec<String> = wrong
        .iter()
        .take(SHOWN)
        .map(|(frames, n, why)| {
            let frames = render_frames(frames);
            format!("{why} ({n} samples), root first:\n{frames}")
        })
        .collect();
    panic!(
        "{what}: {} stacks ({samples} of {} samples, {} failed) updown.py can never have; \
         the first:\n{}\n{}\n{}",
        wrong.len(),
        p.total(),
        p.failed,
        shown.join("\n"),
        out.describe(),
        t.describe()
    );
}

/// Runs `pyflame -s 1 -r 0.0001 [--nonblocking]` until `SAMPLES` samples, every stack checked.
fn sample_updown(py: &Interp, nonblocking: bool) {
    let t = spawn_updown(py);
    let program = Program::of(&t);
    let mut args = vec!["-s", "1", "-r", "0.0001"];
    if nonblocking {
        args.push("--nonblocking");
    }
    let mode = if nonblocking {
        "--nonblocking"
    } else {
        "default mode"
    };
    let (mut total, mut failed) = (0, 0);
    for run in 0..MAX_RUNS {
        let what = format!(
            "run {run} of pyflame ({mode}) on updown.py, python {}",
            py.name
        );
        let out = pyflame_on(&t, &args);
        out.assert_clean_success(&what);
        let p = parse_collapsed(&out.stdout, true)
            .unwrap_or_else(|e| panic!("{what}: bad collapsed output: {e}\n{}", out.describe()));
        if nonblocking {
            eprintln!(
                "{what}: {} samples, {} failed ({:.2}%)",
                p.total(),
                p.failed,
                p.failed as f64 * 100.0 / p.total().max(1) as f64
            );
        }
        check_profile(&program, &p, &what, &t, &out);
        // Its only thread always holds the GIL and is always in Python: never idle.
        assert!(
            p.idle == 0 && (nonblocking || p.failed == 0),
            "{what}: {} idle and {} failed samples of a thread that never leaves Python\n{}\n{}",
            p.idle,
            p.failed,
            out.describe(),
            t.describe()
        );
        total += p.total();
        failed += p.failed;
        if total >= SAMPLES {
            break;
        }
    }
    assert!(total >= SAMPLES, "only {total} samples in {MAX_RUNS} runs");
    eprintln!(
        "python {} {mode}: {total} samples, every stack one updown.py can have; {failed} failed ({:.2}%)",
        py.name,
        failed as f64 * 100.0 / total as f64
    );
    assert_target_running(t.pid);
}

per_interpreter!(default_mode_stacks_are_real);

/// The default mode: 10,000 samples, not one idle, failed, or a stack updown.py cannot have.
fn default_mode_stacks_are_real(py: &Interp) {
    sample_updown(py, false);
}

per_interpreter!(nonblocking_stacks_are_real);

/// `--nonblocking`: 10,000 samples, some failed perhaps, but not one idle nor a stack
/// updown.py cannot have.
fn nonblocking_stacks_are_real(py: &Interp) {
    sample_updown(py, true);
}

per_interpreter!(dumped_stacks_are_real);

/// `-d`, 100 times: one thread, whose stack (innermost first) is one updown.py can have.
fn dumped_stacks_are_real(py: &Interp) {
    let t = spawn_updown(py);
    let program = Program::of(&t);
    for i in 0..DUMPS {
        let what = format!("dump {i} of updown.py, python {}", py.name);
        let out = pyflame_on(&t, &["-d"]);
        out.assert_clean_success(&what);
        let threads = parse_dump(&out.stdout)
            .unwrap_or_else(|e| panic!("{what}: bad dump: {e}\n{}", out.describe()));
        assert!(
            threads.len() == 1,
            "{what}: {} threads\n{}",
            threads.len(),
            out.describe()
        );
        let frames: Vec<Frame> = threads[0].frames.iter().rev().cloned().collect();
        if let Some(why) = program.impossible(&frames) {
            panic!(
                "{what}: a stack updown.py can never have: {why}; root first:\n{}\n{}\n{}",
                render_frames(&frames),
                out.describe(),
                t.describe()
            );
        }
    }
    assert_target_running(t.pid);
}
