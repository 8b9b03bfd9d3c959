//! The thread-group leader changes: a main thread that called pthread_exit() while its
//! other threads run on (tests/scripts/pthread_exit.py: the leader is a zombie, its
//! /proc/PID/maps empty, and it cannot be seized), and a command that re-executes itself
//! after start-up under `-t` (tests/scripts/reexec.py).

use crate::util::collapsed::parse_collapsed;
use crate::util::dump_format::parse_dump;
use crate::util::events::{finish_by, has_ctypes, state, traced_stopped, Proc};
use crate::util::live::Background;
use crate::util::process::run_pyflame;
use crate::util::procfs;
use crate::util::target::script_path;
use crate::util::{per_interpreter, Interp};
use std::time::{Duration, Instant};

const WITHIN: Duration = Duration::from_secs(30);

/// The workers of pthread_exit.py are running, not stopped or traced.
fn workers_running(t: &Proc, what: &str) {
    let workers: Vec<u32> = procfs::task_ids(t.pid)
        .into_iter()
        .filter(|&tid| tid != t.pid)
        .collect();
    let tracer = |tid: u32| {
        crate::util::live::task_status_field(t.pid, tid, "TracerPid").unwrap_or(u64::MAX)
    };
    assert!(
        workers.len() == 2
            && workers
                .iter()
                .all(|&tid| !matches!(state(t.pid, tid), Some('t' | 'T' | 'Z' | 'X') | None))
            && workers.iter().all(|&tid| tracer(tid) == 0)
            && traced_stopped(t.pid).is_empty(),
        "{what}: the two workers must be running, untraced\n{}",
        t.describe()
    );
}

per_interpreter!(main_thread_called_pthread_exit);

/// With the main thread gone (pthread_exit through ctypes), `-s 1 -p PID` must give a
/// profile with both workers' stacks, and `-d -p PID` must dump both; the workers run on.
fn main_thread_called_pthread_exit(py: &Interp) {
    if !has_ctypes(py) {
        eprintln!(
            "SKIPPED: main_thread_called_pthread_exit on python {}: no ctypes",
            py.name
        );
        return;
    }
    let t = Proc::start(py, "pthread_exit.py", &[]);
    assert_eq!(
        state(t.pid, t.pid),
        Some('Z'),
        "the leader must be a zombie\n{}",
        t.describe()
    );
    let pid = t.pid.to_string();
    let what = format!("-s 1 -p PID, main thread exited, python {}", py.name);
    let out = run_pyflame(&["-s", "1", "-p", &pid], WITHIN);
    out.assert_clean_success(&what);
    let p = parse_collapsed(&out.stdout, true)
        .unwrap_or_else(|e| panic!("{what}: bad profile: {e}\n{}", out.describe()));
    assert!(
        p.has_function("worker_a") && p.has_function("worker_b"),
        "{what}: expected both workers' stacks\n{}",
        out.describe()
    );
    workers_running(&t, &what);
    let what = format!("-d -p PID, main thread exited, python {}", py.name);
    let out = run_pyflame(&["-d", "-p", &pid], WITHIN);
    assert!(
        out.status.success(),
        "{what}: expected exit 0\n{}",
        out.describe()
    );
    let threads =
        parse_dump(&out.stdout).unwrap_or_else(|e| panic!("{what}: {e}\n{}", out.describe()));
    for worker in ["worker_a", "worker_b"] {
        assert!(
            threads.iter().any(|d| d.leaf() == worker),
            "{what}: no thread in {worker}()\n{}",
            out.describe()
        );
    }
    workers_running(&t, &what);
}

per_interpreter!(trace_command_that_reexecs);

/// `pyflame -t python reexec.py PYTHON`: the command execs itself after 0.3 s; pyflame
/// follows, ends within 30 s with the second image's status, 5, and nothing on stderr;
/// stdout is the command's two lines then a profile with samples of the second image.
fn trace_command_that_reexecs(py: &Interp) {
    let what = format!("-t reexec.py, python {}", py.name);
    let python = py.path.to_string_lossy().into_owned();
    let script = script_path("reexec.py").to_string_lossy().into_owned();
    let args = ["-t", &python, "-E", "-s", "-B", &script, &python];
    let start = Instant::now();
    let pyflame = Background::start(&args);
    let (out, _) = finish_by(pyflame, start + WITHIN, &what, String::new);
    assert!(
        out.status.code() == Some(5) && out.stderr.is_empty(),
        "{what}: expected exit 5 (the second image's) and nothing on stderr\n{}",
        out.describe()
    );
    let mut lines = out.stdout.splitn(3, '\n');
    let (first, second) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let pid = first.strip_prefix("FIRST ");
    assert!(
        pid.is_some() && Some(second) == pid.map(|p| format!("SECOND {p}")).as_deref(),
        "{what}: stdout must start with FIRST <pid> and SECOND <pid>\n{}",
        out.describe()
    );
    let p = parse_collapsed(lines.next().unwrap_or(""), true)
        .unwrap_or_else(|e| panic!("{what}: bad profile: {e}\n{}", out.describe()));
    eprintln!(
        "{what}: first image sampled: {}, second image sampled: {}",
        p.has_function("first_image"),
        p.has_function("second_image")
    );
    assert!(
        p.has_function("second_image"),
        "{what}: no sample of the second image\n{}",
        out.describe()
    );
}
