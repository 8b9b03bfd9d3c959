//! Threads in uninterruptible sleep (state D): a thread waiting for its vfork child
//! (tests/c/dstate.c, loaded by tests/scripts/dsleep.py) cannot reach a ptrace stop until
//! the child exits, so waiting for it keeps every other stopped thread waiting too. A dump
//! must end within 2 s without keeping any thread stopped 300 ms (its budget is 200 ms), and
//! show the main thread and the threads in D; sampling with a GIL holder in D must end on
//! time, never stop a thread 100 ms, and read the holder's stack. Each run is watched
//! (util::watch), and each thread is checked in /proc to be in D, waiting for the same
//! child, before and after the run, so the whole run happened while it was in D.

use crate::util::build::compile;
use crate::util::collapsed::parse_collapsed;
use crate::util::dump_format::parse_dump;
use crate::util::events::{has_ctypes, in_vfork, InVfork, Proc};
use crate::util::live::{wait_until, WAIT};
use crate::util::process::temp_dir;
use crate::util::watch::{watch_pyflame, Watched};
use crate::util::{assert_target_running, per_interpreter, Interp};
use std::time::Duration;

/// How long each wait in D lasts (dsleep.py's MS): far longer than any run needs.
const IN_D_MS: &str = "6000";
const DUMP_WALL: Duration = Duration::from_secs(2);
const DUMP_STOP: Duration = Duration::from_millis(300);
const SAMPLE_WALL: Duration = Duration::from_secs(10);
const SAMPLE_STOP: Duration = Duration::from_millis(100);
/// The deadline of the watchdog: a run past it fails as hung.
const HUNG: Duration = Duration::from_secs(60);

/// How a thread of dsleep.py gets into D.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// vfork_sleep() through ctypes.PyDLL: the thread holds the GIL while in D.
    HoldingGil,
    /// vfork_sleep() through ctypes.CDLL, or (without ctypes, in a free-threaded build)
    /// os.posix_spawn of a child that blocks opening a FIFO: no GIL is held.
    Released,
}

/// dsleep.py with `n` threads in D (waiting for the same child) and the main thread
/// spinning; None (and SKIPPED) where `how` cannot be had.
fn start(py: &Interp, how: How, n: usize, test: &str) -> Option<(Proc, Vec<InVfork>)> {
    let ctypes = has_ctypes(py);
    let (mode, path) = match (how, ctypes) {
        (How::HoldingGil, _) if py.free_threaded => {
            eprintln!("SKIPPED: {test} on python {}: no GIL to hold", py.name);
            return None;
        }
        (How::HoldingGil, false) => {
            eprintln!("SKIPPED: {test} on python {}: no ctypes", py.name);
            return None;
        }
        (How::HoldingGil, true) => ("pydll", library()),
        (How::Released, true) => ("cdll", library()),
        // os.posix_spawn keeps the GIL of a build that has one: one thread in D at a time.
        (How::Released, false) if !py.free_threaded => {
            eprintln!(
                "SKIPPED: {test} on python {}: no ctypes, and a GIL",
                py.name
            );
            return None;
        }
        (How::Released, false) => ("spawn", temp_dir("dsleep").to_string_lossy().into_owned()),
    };
    let count = n.to_string();
    let t = Proc::start(py, "dsleep.py", &[mode, &count, IN_D_MS, &path]);
    let mut threads = Vec::new();
    wait_until(
        WAIT,
        || {
            threads = in_vfork(t.pid);
            threads.len() == n
        },
        || format!("{n} threads never were in D together\n{}", t.describe()),
    );
    Some((t, threads))
}

fn library() -> String {
    let flags = ["-shared".to_string(), "-fPIC".to_string()];
    compile("dstate.c", "libdstate.so", &flags, &[])
        .to_string_lossy()
        .into_owned()
}

/// `pyflame ARGS -p PID`, watched.
fn watched(t: &Proc, args: &[&str], what: &str) -> Watched {
    let pid = t.pid.to_string();
    let mut all = args.to_vec();
    all.extend(["-p", &pid]);
    let run = watch_pyflame(&all, t.pid, HUNG);
    eprintln!(
        "{what}: exit {}, {:?}, longest stop {:?}",
        run.output.status, run.wall, run.longest_stop
    );
    run
}

/// Every thread found in D before the run is still in D waiting for the same child: it was
/// in D during the whole run (checked after the run's own assertions, which a run that
/// waited for a thread to leave D fails first).
fn stayed_in_d(t: &Proc, threads: &[InVfork], run: &Watched, what: &str) {
    let after = in_vfork(t.pid);
    let left: Vec<&InVfork> = threads.iter().filter(|d| !after.contains(d)).collect();
    assert!(
        left.is_empty(),
        "{what}: the test could not keep {left:?} in D for the whole run (still in D: {after:?}); \
         the run took {:?}\n{}\n{}",
        run.wall,
        run.describe(),
        t.describe()
    );
}

/// The leaf-first functions of a dumped thread.
fn functions(frames: &[crate::util::dump_format::Frame]) -> Vec<&str> {
    frames.iter().map(|f| f.func.as_str()).collect()
}

/// `-d`: exit 0 within 2 s, no thread stopped 300 ms, at most a note on stderr; the main
/// thread spinning, and every thread in D at in_d(), are in the dump.
fn dump(t: &Proc, threads: &[InVfork], what: &str) {
    let run = watched(t, &["-d"], what);
    let out = &run.output;
    assert!(
        run.wall < DUMP_WALL && out.status.success(),
        "{what}: expected exit 0 within {DUMP_WALL:?}\n{}",
        run.describe()
    );
    let note = format!("pyflame: PID {}: ", t.pid);
    assert!(
        out.stderr.is_empty()
            || out.stderr.starts_with(&note) && out.stderr.matches('\n').count() == 1,
        "{what}: stderr must be empty or one line {note:?}...\n{}",
        run.describe()
    );
    assert!(
        run.longest_stop < DUMP_STOP,
        "{what}: a thread was kept in a tracing stop for {:?} (at most {DUMP_STOP:?})\n{}",
        run.longest_stop,
        run.describe()
    );
    let dumped = parse_dump(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: bad dump: {e}\n{}", run.describe()));
    let main = dumped.iter().find(|d| d.tid() == Some(t.pid));
    assert!(
        main.is_some_and(|m| functions(&m.frames)[..] == ["spin", "main", "<module>"]),
        "{what}: the main thread (tid={}) must be in the dump, in spin()\n{}",
        t.pid,
        run.describe()
    );
    for d in threads {
        let shown = dumped.iter().find(|x| x.tid() == Some(d.tid));
        assert!(
            shown.is_some_and(|x| functions(&x.frames).contains(&"in_d")),
            "{what}: thread {} (in D) must be in the dump, in in_d()\n{}",
            d.tid,
            run.describe()
        );
    }
    stayed_in_d(t, threads, &run, what);
    assert_target_running(t.pid);
}

per_interpreter!(dump_threads_in_d);

/// 1, then 4, threads in D (GIL released; ctypes.CDLL, or posix_spawn where there is no
/// ctypes) while the main thread spins: `-d` as [`dump`] says.
fn dump_threads_in_d(py: &Interp) {
    for n in [1, 4] {
        let what = format!("-d, {n} threads in D, python {}", py.name);
        let Some((t, threads)) = start(py, How::Released, n, "dump_threads_in_d") else {
            return;
        };
        dump(&t, &threads, &what);
    }
}

per_interpreter!(dump_gil_holder_in_d);

/// The GIL holder in D (ctypes.PyDLL), the main thread waiting for the GIL in spin(): `-d`
/// as [`dump`] says.
fn dump_gil_holder_in_d(py: &Interp) {
    let what = format!("-d, GIL holder in D, python {}", py.name);
    if let Some((t, threads)) = start(py, How::HoldingGil, 1, "dump_gil_holder_in_d") {
        dump(&t, &threads, &what);
    }
}

per_interpreter!(sample_gil_holder_in_d);

/// `-s 2 -r 0.001` with the GIL holder in D: exit 0 within 10 s, nothing on stderr, no
/// thread stopped 100 ms, and the profile has stacks (not only idle or failed samples),
/// among them the holder's, in in_d().
fn sample_gil_holder_in_d(py: &Interp) {
    let what = format!("-s 2 -r 0.001, GIL holder in D, python {}", py.name);
    let Some((t, threads)) = start(py, How::HoldingGil, 1, "sample_gil_holder_in_d") else {
        return;
    };
    let run = watched(&t, &["-s", "2", "-r", "0.001"], &what);
    let out = &run.output;
    assert!(
        run.wall < SAMPLE_WALL,
        "{what}: expected to end within {SAMPLE_WALL:?}\n{}",
        run.describe()
    );
    out.assert_clean_success(&what);
    assert!(
        run.longest_stop < SAMPLE_STOP,
        "{what}: a thread was kept in a tracing stop for {:?} (at most {SAMPLE_STOP:?})\n{}",
        run.longest_stop,
        run.describe()
    );
    let p = parse_collapsed(&out.stdout, true)
        .unwrap_or_else(|e| panic!("{what}: bad profile: {e}\n{}", run.describe()));
    eprintln!(
        "{what}: {} samples, {} idle, {} failed",
        p.total(),
        p.idle,
        p.failed
    );
    assert!(
        !p.stacks.is_empty() && p.has_function("in_d"),
        "{what}: expected stacks, the GIL holder's in in_d() among them\n{}",
        run.describe()
    );
    stayed_in_d(&t, &threads, &run, &what);
    assert_target_running(t.pid);
}
