//! exec() from a thread that is not the main thread (tests/scripts/exec_thread.py): the
//! kernel makes such an exec wait until the tracer has reaped every other thread, while it
//! holds a lock PTRACE_SEIZE waits for, so a pyflame seizing a new thread at that moment
//! deadlocks with its target. pyflame must end within 20 s with the exec message and the
//! profile of the time before (`-p`), finish every dump (`-d`), follow the exec (`-t`), and
//! the new program must run to its end.

use crate::util::collapsed::parse_collapsed;
use crate::util::dump_format::parse_dump;
use crate::util::events::{finish_by, repetitions};
use crate::util::live::{spawn_busy, Background, Busy};
use crate::util::process::Output;
use crate::util::target::script_path;
use crate::util::{per_interpreter, Interp};
use std::time::{Duration, Instant};

/// How long any pyflame run of these tests may take.
const WITHIN: Duration = Duration::from_secs(20);

/// What pyflame must say on stderr when its target called exec().
fn exec_message(pid: u32) -> String {
    format!(
        "pyflame: PID {pid} called exec() and is no longer the program being profiled; \
         the profile covers the time before\n"
    )
}

fn python(py: &Interp) -> String {
    py.path.to_string_lossy().into_owned()
}

/// The tracer named by the target's "EXEC <tracer> <delay>" line.
fn exec_tracer(line: &str) -> Option<u32> {
    let rest = line.strip_prefix("EXEC ")?;
    rest.split(' ').next()?.parse().ok()
}

/// The target's next line, which must be "EXEC <tracer> <delay>": the pyflame that traced
/// it at the exec, and the line.
fn exec_line(t: &Busy) -> (u32, String) {
    let line = t.next_line();
    match exec_tracer(&line) {
        Some(tracer) => (tracer, line),
        None => panic!(
            "expected EXEC <tracer> <delay>, got {line:?}\n{}",
            t.describe()
        ),
    }
}

/// The new program ran: it printed its line, under the same PID, and exited 0.
fn new_program_completes(t: &mut Busy, what: &str) {
    let line = t.next_line();
    assert_eq!(
        line,
        format!("NEW PROGRAM {}", t.pid),
        "{what}: the new program did not start\n{}",
        t.describe()
    );
    let status = t.wait_exit();
    assert_eq!(status.code(), Some(0), "{what}: the new program: {status}");
}

per_interpreter!(exec_from_thread_while_sampling);

/// `-s 30 -p PID` at 1 kHz and 10 kHz while a thread calls exec() 0.05 to 0.5 s after
/// pyflame attached: exit 0 within 20 s, exactly the exec message on stderr, a collapsed
/// profile on stdout; the new program prints its line and exits 0. 20 runs per rate on
/// 3.12 and 2.7 (the deadlock came in about half of the runs), 3 elsewhere.
fn exec_from_thread_while_sampling(py: &Interp) {
    let runs = repetitions(py, 20, 3);
    for rate in ["0.001", "0.0001"] {
        let mut samples = Vec::new();
        for run in 1..=runs {
            let what = format!("-r {rate}, run {run} of {runs}, python {}", py.name);
            samples.push(sample_through_exec(py, rate, &what));
        }
        eprintln!(
            "exec while sampling at -r {rate} on python {}: {runs} runs, samples before the exec {samples:?}",
            py.name
        );
    }
}

/// One run; the number of samples in the profile.
fn sample_through_exec(py: &Interp, rate: &str, what: &str) -> u64 {
    let mut t = spawn_busy(py, "exec_thread.py", &[&python(py), "0"]);
    let pid = t.pid.to_string();
    let start = Instant::now();
    let pyflame = Background::start(&["-s", "30", "-r", rate, "-p", &pid]);
    let pyflame_pid = pyflame.pid;
    let (out, _) = finish_by(pyflame, start + WITHIN, what, || t.describe());
    assert!(
        out.status.success() && out.stderr == exec_message(t.pid),
        "{what}: expected exit 0 and the exec message\n{}",
        out.describe()
    );
    let p = parse_collapsed(&out.stdout, true)
        .unwrap_or_else(|e| panic!("{what}: bad profile: {e}\n{}", out.describe()));
    let (tracer, line) = exec_line(&t);
    assert_eq!(tracer, pyflame_pid, "{what}: {line}");
    new_program_completes(&mut t, what);
    p.total()
}

per_interpreter!(exec_from_thread_during_dumps);

/// `-d -p PID` over and over while a thread calls exec(), as soon as a dump has the target
/// seized (busy-polling TracerPid), 0.05 to 0.5 s after the first: every dump ends within
/// 20 s; those before the exec print a dump; the one that traced the target at the exec
/// prints a dump or fails with one line saying it called exec(); a dump started after the
/// exec (the test had not seen it yet) may print a dump or fail with one line. The new
/// program runs to its end. 5 loops on 3.12 and 2.7, 1 elsewhere.
fn exec_from_thread_during_dumps(py: &Interp) {
    let loops = repetitions(py, 5, 1);
    let mut said_exec = 0;
    for n in 1..=loops {
        let what = format!("loop {n} of {loops}, python {}", py.name);
        said_exec += usize::from(dumps_through_exec(py, &what));
    }
    eprintln!(
        "exec during dumps on python {}: {said_exec} of {loops} exec()s landed in a dump that said so",
        py.name
    );
}

/// One loop of dumps until the exec; whether the dump that traced the target at the exec
/// said it called exec().
fn dumps_through_exec(py: &Interp, what: &str) -> bool {
    let mut t = spawn_busy(py, "exec_thread.py", &[&python(py), "0", "--recheck"]);
    let pid = t.pid.to_string();
    let mut runs: Vec<(u32, Output)> = Vec::new();
    let give_up = Instant::now() + Duration::from_secs(60);
    let (tracer, line) = loop {
        if let Ok(line) = t.lines.try_recv() {
            match exec_tracer(&line) {
                Some(tracer) => break (tracer, line),
                None => panic!("{what}: unexpected line {line:?}\n{}", t.describe()),
            }
        }
        assert!(
            Instant::now() < give_up,
            "{what}: no exec after {} dumps\n{}",
            runs.len(),
            t.describe()
        );
        let start = Instant::now();
        let pyflame = Background::start(&["-d", "-p", &pid]);
        let pyflame_pid = pyflame.pid;
        let run = format!("{what}, dump {}", runs.len() + 1);
        let (out, _) = finish_by(pyflame, start + WITHIN, &run, || t.describe());
        runs.push((pyflame_pid, out));
    };
    let at = runs
        .iter()
        .position(|(p, _)| *p == tracer)
        .unwrap_or_else(|| {
            panic!(
                "{what}: {line:?} names no pyflame of this test\n{}",
                t.describe()
            )
        });
    let describe = |k: usize| format!("{what}: dump {} of {} ({line})", k + 1, runs.len());
    for (k, (_, out)) in runs.iter().enumerate() {
        let dumped = is_dump(out, t.pid);
        let said_exec = out.status.code() == Some(1)
            && out.stdout.is_empty()
            && one_line(&out.stderr)
            && out.stderr.contains("called exec()");
        let ok = match k.cmp(&at) {
            std::cmp::Ordering::Less => dumped,
            std::cmp::Ordering::Equal => dumped || said_exec,
            std::cmp::Ordering::Greater => {
                out.status.success() && parse_dump(&out.stdout).is_ok()
                    || out.status.code() == Some(1) && one_line(&out.stderr)
            }
        };
        assert!(
            ok,
            "{}: expected {}\n{}",
            describe(k),
            match k.cmp(&at) {
                std::cmp::Ordering::Less => "a dump (exit 0): the exec had not happened",
                std::cmp::Ordering::Equal =>
                    "a dump (exit 0), or exit 1 and one stderr line saying it called exec()",
                std::cmp::Ordering::Greater => "a dump (exit 0), or exit 1 and one stderr line",
            },
            out.describe()
        );
    }
    new_program_completes(&mut t, what);
    let (_, at_exec) = &runs[at];
    at_exec.status.code() == Some(1)
}

/// Exit 0, a well-formed dump in which the main thread spins, at most one note on stderr.
fn is_dump(out: &Output, pid: u32) -> bool {
    let note = out.stderr.is_empty()
        || one_line(&out.stderr) && out.stderr.starts_with(&format!("pyflame: PID {pid}: "));
    let spins = parse_dump(&out.stdout).is_ok_and(|threads| {
        threads
            .iter()
            .any(|t| t.tid() == Some(pid) && t.leaf() == "spin_main")
    });
    out.status.success() && note && spins
}

fn one_line(text: &str) -> bool {
    text.ends_with('\n') && text.matches('\n').count() == 1
}

per_interpreter!(trace_follows_exec_from_thread);

/// `pyflame -t python exec_thread.py PYTHON 7`: pyflame follows the exec (the new program
/// is Python too) and exits within 20 s with the command's final status, 7; stdout is the
/// command's lines then a profile with samples of both programs (spin_main or spin_other
/// before, the new program's `<string>` after); nothing on stderr. 3 runs on 3.12 and 2.7,
/// 1 elsewhere.
fn trace_follows_exec_from_thread(py: &Interp) {
    let runs = repetitions(py, 3, 1);
    for run in 1..=runs {
        let what = format!("-t, run {run} of {runs}, python {}", py.name);
        let script = script_path("exec_thread.py");
        let cmd = [
            python(py),
            "-E".into(),
            "-s".into(),
            "-B".into(),
            script.to_string_lossy().into_owned(),
            python(py),
            "7".into(),
        ];
        let mut args = vec!["-t".to_string()];
        args.extend(cmd);
        let start = Instant::now();
        let pyflame = Background::start(&args);
        let pyflame_pid = pyflame.pid;
        let (out, _) = finish_by(pyflame, start + WITHIN, &what, String::new);
        assert!(
            out.status.code() == Some(7) && out.stderr.is_empty(),
            "{what}: expected exit 7 (the new program's) and nothing on stderr\n{}",
            out.describe()
        );
        let mut lines = out.stdout.splitn(4, '\n');
        let (ready, exec, new) = (lines.next(), lines.next(), lines.next());
        let profile = lines.next().unwrap_or_default();
        let exec_ok = exec.and_then(exec_tracer) == Some(pyflame_pid);
        let new_ok = new.is_some_and(|l| l.starts_with("NEW PROGRAM "));
        assert!(
            ready == Some("READY") && exec_ok && new_ok,
            "{what}: stdout must start with the command's READY, EXEC and NEW PROGRAM lines\n{}",
            out.describe()
        );
        let p = parse_collapsed(profile, true)
            .unwrap_or_else(|e| panic!("{what}: bad profile: {e}\n{}", out.describe()));
        let before = p.has_function("spin_main") || p.has_function("spin_other");
        let after = p
            .stacks
            .iter()
            .any(|(frames, _)| frames.iter().any(|f| f.starts_with("<string>:<module>:")));
        assert!(
            before && after,
            "{what}: expected samples of the program before the exec (spin_main or \
             spin_other: {before}) and of the new one (<string>: {after})\n{}",
            out.describe()
        );
    }
}
