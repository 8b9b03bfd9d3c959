//! A thread that never leaves Python is never idle and never failed: a stop that lands while
//! its interpreter is between two states (a C-level frame record pushed before its current
//! frame is set, an entry frame not yet written) is read again, not reported as it reads
//! (issue 13); a dump likewise. And the walk that checks a newer release's `_Py_DebugOffsets` table tells
//! such a moment from a wrong table, every time.

use crate::util::collapsed::{frame_function, parse_collapsed, Collapsed};
use crate::util::dump_format::{parse_dump, Frame};
use crate::util::live::{spawn_busy, Busy};
use crate::util::process::{pyflame_bin, run_with_watchdog};
use crate::util::{assert_target_running, per_interpreter, Interp, Output};
use std::process::Command;
use std::time::Duration;

/// Samples each interpreter must give, all of them in a Python frame.
const SAMPLES: u64 = 20_000;
/// Runs of pyflame that may take to give them (fewer samples a run on a loaded machine).
const MAX_RUNS: usize = 40;
/// Dumps of one target.
const DUMPS: usize = 200;
/// Attaches, each with the walk that checks the table.
const CHECKS: usize = 200;

/// `pyflame ARGS -p PID`, with `PYFLAME_CHECK_WALK=1` when `check_walk`.
fn pyflame_on(t: &Busy, args: &[&str], check_walk: bool) -> Output {
    let mut cmd = Command::new(pyflame_bin());
    cmd.args(args).arg("-p").arg(t.pid.to_string());
    if check_walk {
        cmd.env("PYFLAME_CHECK_WALK", "1");
    }
    run_with_watchdog(&mut cmd, "pyflame", Duration::from_secs(60))
}

/// Every stack is a whole stack of calls.py: under its `<module>` and `main`, with no
/// placeholder frame. (Frames of the standard library, and 3.13's `__init__` shim, may
/// be inside.)
fn check_stacks(t: &Busy, p: &Collapsed, out: &Output) {
    assert!(
        p.idle == 0 && p.failed == 0,
        "{} idle and {} failed samples of a thread that never leaves Python\n{}",
        p.idle,
        p.failed,
        out.describe()
    );
    let file = format!("{}:", t.script.display());
    for (frames, n) in &p.stacks {
        let root = |i: usize, function: &str| {
            frames
                .get(i)
                .is_some_and(|f| f.starts_with(&file) && frame_function(f) == Some(function))
        };
        let placeholder = frames.iter().any(|f| f.starts_with('<'));
        assert!(
            root(0, "<module>") && root(1, "main") && !placeholder,
            "a broken stack ({n} samples): {frames:?}\n{}",
            out.describe()
        );
    }
}

per_interpreter!(never_idle_nor_failed);

/// calls.py enters and leaves Python frames in every way CPython has, as fast as it can, and
/// never releases the GIL: 20,000 samples at 10 kHz, not one idle, failed or broken.
fn never_idle_nor_failed(py: &Interp) {
    let t = spawn_busy(py, "calls.py", &[]);
    let mut total = 0;
    for _ in 0..MAX_RUNS {
        let out = pyflame_on(&t, &["-s", "1", "-r", "0.0001"], false);
        out.assert_clean_success(&format!("pyflame on calls.py, python {}", py.name));
        let p = parse_collapsed(&out.stdout, true)
            .unwrap_or_else(|e| panic!("bad collapsed output: {e}\n{}", out.describe()));
        check_stacks(&t, &p, &out);
        total += p.total();
        if total >= SAMPLES {
            break;
        }
    }
    assert!(total >= SAMPLES, "only {total} samples in {MAX_RUNS} runs");
    assert_target_running(t.pid);
}

per_interpreter!(dumps_are_whole);

/// `-d` of calls.py, 200 times: one thread, whose stack is whole every time (a dump that caught
/// it between two states lets it run on and reads it again).
fn dumps_are_whole(py: &Interp) {
    let t = spawn_busy(py, "calls.py", &[]);
    let file = t.script.display().to_string();
    for i in 0..DUMPS {
        let out = pyflame_on(&t, &["-d"], false);
        out.assert_clean_success(&format!("dump {i} of calls.py, python {}", py.name));
        let threads =
            parse_dump(&out.stdout).unwrap_or_else(|e| panic!("bad dump: {e}\n{}", out.describe()));
        let whole = |frames: &[Frame]| {
            let n = frames.len();
            n >= 2
                && frames[n - 1].func == "<module>"
                && frames[n - 2].func == "main"
                && frames[n - 1].file == file
                && frames.iter().all(|f| !f.file.starts_with('<'))
        };
        assert!(
            threads.len() == 1 && whole(&threads[0].frames),
            "dump {i}: a broken stack\n{}",
            out.describe()
        );
    }
    assert_target_running(t.pid);
}

per_interpreter!(table_check_never_fails, [
    py313 => "3.13",
    debian314 => "debian-3.14",
    debian315 => "debian-3.15",
    py313t => "3.13t",
    py314t => "3.14t",
]);

/// The walk that checks a newer release's table, forced on a known one, against a target
/// that never stops calling: 200 attaches, not one refused.
fn table_check_never_fails(py: &Interp) {
    let t = spawn_busy(py, "calls.py", &[]);
    check_attaches(&t);
}

/// `CHECKS` attaches with the table checked by a walk, each taking one sample.
pub fn check_attaches(t: &Busy) {
    for i in 0..CHECKS {
        let out = pyflame_on(t, &["-s", "0"], true);
        assert!(
            out.status.success() && out.stderr.is_empty() && !out.stdout.is_empty(),
            "attach {i} of {CHECKS} failed\n{}",
            out.describe()
        );
    }
    assert_target_running(t.pid);
}
