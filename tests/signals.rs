//! pyflame never harms its target, whatever happens while it samples: signals to
//! the target behave as without pyflame, signals to pyflame end it cleanly with a
//! profile, SIGKILL to pyflame leaves the target running, and the target exiting,
//! being killed, calling exec() or starting and ending threads is handled. On every
//! interpreter, with signals.py (busy main thread) and churn.py.

use crate::util::collapsed::{marked_stack, parse_collapsed, Collapsed};
use crate::util::live::{
    all_stopped, send_signal, spawn_busy, stopped_pc, user_ticks, wait_for_progress,
    wait_for_tracer, wait_for_wakeups, wait_until, Background, Busy, WAIT,
};
use crate::util::procfs::{self, status_field};
use crate::util::{assert_target_running, per_interpreter, pyflame, spawn_script, Interp, Output};
use std::collections::HashSet;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::sync::mpsc::TryRecvError;
use std::thread;
use std::time::Duration;

/// How long pyflame may take to finish once its target is gone or it was told to stop.
const PROMPTLY: Duration = Duration::from_secs(20);

/// Starts `pyflame -p PID [args]` on a busy target and returns once it samples (in the
/// default mode, which reads its stable stack without stopping it).
fn sampled(t: &Busy, args: &[&str]) -> Background {
    let pid = t.pid.to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-p", &pid]);
    let pyflame = Background::start(&all);
    wait_for_wakeups(t.pid, pyflame.pid, 5);
    pyflame
}

/// signals.py's main thread spinning: <module> -> main -> work.
fn work_stack(t: &Busy) -> Vec<String> {
    let frames = [
        ("<module>", "module"),
        ("main", "main_work"),
        ("work", "work"),
    ];
    marked_stack(&t.script, &t.marks, &frames)
}

/// Exit 0, empty stderr, a profile in which the busy stack was sampled.
fn assert_profile(out: &Output, t: &Busy, what: &str) -> Collapsed {
    out.assert_clean_success(what);
    let p = parse_collapsed(&out.stdout, true)
        .unwrap_or_else(|e| panic!("{what}: bad profile: {e}\n{}", out.describe()));
    assert!(
        p.count_of(&work_stack(t)) > 0,
        "{what}: work() was never sampled\n{}",
        out.describe()
    );
    p
}

/// Unharmed and making progress.
fn still_fine(t: &Busy) {
    assert_target_running(t.pid);
    wait_for_progress(t.pid, t.pid, 2);
}

per_interpreter!(usr1_handler_runs_once_per_signal);

/// Each SIGUSR1 sent while pyflame samples at 1 kHz runs the Python handler once.
fn usr1_handler_runs_once_per_signal(py: &Interp) {
    let t = spawn_busy(py, "signals.py", &[]);
    let pyflame = sampled(&t, &["-s", "-1", "-r", "0.001"]);
    for k in 1..=5 {
        send_signal(t.pid, "USR1");
        assert_eq!(t.next_line(), format!("USR1 {k}"), "\n{}", t.describe());
    }
    let no_more = |when: &str| {
        thread::sleep(Duration::from_millis(200));
        let extra = t.lines.try_recv();
        assert_eq!(extra, Err(TryRecvError::Empty), "extra output {when}");
    };
    no_more("while sampling");
    pyflame.signal("INT");
    assert_profile(&pyflame.finish(PROMPTLY), &t, "SIGINT after SIGUSR1s");
    still_fine(&t);
    no_more("after pyflame ended");
    send_signal(t.pid, "USR1");
    assert_eq!(t.next_line(), "USR1 6");
}

per_interpreter!(sigterm_kills_target);

/// SIGTERM (default action) kills the profiled target; pyflame reports and exits 0.
fn sigterm_kills_target(py: &Interp) {
    let mut t = spawn_busy(py, "signals.py", &[]);
    let pyflame = sampled(&t, &["-s", "-1"]);
    send_signal(t.pid, "TERM");
    let status = t.wait_exit();
    assert_eq!(status.signal(), Some(15), "target: {status}");
    assert_profile(&pyflame.finish(PROMPTLY), &t, "target killed by SIGTERM");
}

per_interpreter!(sigstop_sigcont_pass_through);

/// SIGSTOP stops the profiled target (and it stays stopped); SIGCONT resumes it.
fn sigstop_sigcont_pass_through(py: &Interp) {
    let t = spawn_busy(py, "signals.py", &[]);
    let pyflame = sampled(&t, &["-s", "-1", "-r", "0.005"]);
    stop_and_check(&t);
    send_signal(t.pid, "CONT");
    wait_for_progress(t.pid, t.pid, 5);
    pyflame.signal("INT");
    assert_profile(
        &pyflame.finish(PROMPTLY),
        &t,
        "SIGINT after SIGSTOP/SIGCONT",
    );
    still_fine(&t);
}

/// Sends SIGSTOP; every thread must stop, and the busy main thread must run no more
/// Python code for a while.
fn stop_and_check(t: &Busy) {
    send_signal(t.pid, "STOP");
    let what = || format!("SIGSTOP did not stop it\n{}", t.describe());
    wait_until(WAIT, || all_stopped(t.pid), what);
    assert_frozen(t, || true);
    wait_until(WAIT, || all_stopped(t.pid), what);
}

/// For 300 ms, `also` holds and the main thread runs no user code: whenever it is
/// seen stopped it is at one and the same program counter, and its user CPU time
/// grows by 3 ticks at most (spinning, it would take about 30). pyflame may go on
/// sampling a stopped target: each sample wakes the thread briefly in the kernel,
/// so it may be seen running (R), and the tick accounting may charge it a tick.
fn assert_frozen(t: &Busy, also: impl Fn() -> bool) {
    let mut seen = HashSet::new();
    let user = user_ticks(t.pid, t.pid);
    for _ in 0..60 {
        seen.extend(stopped_pc(t.pid, t.pid));
        assert!(also(), "the target runs again\n{}", t.describe());
        thread::sleep(Duration::from_millis(5));
    }
    let ran = user_ticks(t.pid, t.pid) - user;
    assert!(
        seen.len() <= 1 && ran <= 3,
        "a stopped target ran Python code: stopped at {seen:?}, {ran} ticks in user mode\n{}",
        t.describe()
    );
}

per_interpreter!(stopped_target_stays_stopped);

/// pyflame ending while someone else stopped the target leaves it stopped (T),
/// untraced; SIGCONT then resumes it.
fn stopped_target_stays_stopped(py: &Interp) {
    let t = spawn_busy(py, "signals.py", &[]);
    let pyflame = sampled(&t, &["-s", "-1"]);
    stop_and_check(&t);
    pyflame.signal("INT");
    let out = pyflame.finish(PROMPTLY);
    out.assert_clean_success("SIGINT while the target is stopped");
    let job_stopped = || {
        procfs::task_ids(t.pid)
            .iter()
            .all(|&tid| procfs::task_stat(t.pid, tid).is_some_and(|s| s.state == 'T'))
    };
    wait_until(
        WAIT,
        || job_stopped() && status_field(t.pid, "TracerPid") == Some(0),
        || format!("expected stopped (T) and untraced\n{}", t.describe()),
    );
    assert_frozen(&t, job_stopped);
    send_signal(t.pid, "CONT");
    still_fine(&t);
}

per_interpreter!(stop_signals_to_pyflame);

/// SIGINT, SIGTERM or SIGHUP to `pyflame -s -1`: it writes its profile, detaches, exits 0.
fn stop_signals_to_pyflame(py: &Interp) {
    let t = spawn_busy(py, "signals.py", &[]);
    for signal in ["INT", "TERM", "HUP"] {
        let pyflame = sampled(&t, &["-s", "-1"]);
        pyflame.signal(signal);
        assert_profile(
            &pyflame.finish(PROMPTLY),
            &t,
            &format!("SIG{signal} to pyflame"),
        );
        still_fine(&t);
    }
}

per_interpreter!(sigkill_to_pyflame);

/// SIGKILL to pyflame at different moments of a 1 kHz run never leaves the target
/// stopped or traced.
fn sigkill_to_pyflame(py: &Interp) {
    let t = spawn_busy(py, "signals.py", &[]);
    let args = ["-s", "-1", "-r", "0.001", "-p", &t.pid.to_string()];
    for delay_ms in [None, Some(0), Some(3), Some(30), Some(150), Some(400)] {
        let pyflame = match delay_ms {
            None => Background::start(&args), // probably before it attached
            Some(ms) => {
                let pyflame = Background::start(&args);
                wait_for_tracer(t.pid, pyflame.pid);
                if ms > 0 {
                    wait_for_wakeups(t.pid, pyflame.pid, 1);
                    thread::sleep(Duration::from_millis(ms));
                }
                pyflame
            }
        };
        pyflame.signal("KILL");
        let out = pyflame.finish(PROMPTLY);
        assert_eq!(
            out.status.signal(),
            Some(9),
            "delay {delay_ms:?}: {}",
            out.describe()
        );
        wait_until(
            WAIT,
            || status_field(t.pid, "TracerPid") == Some(0) && !all_stopped(t.pid),
            || {
                format!(
                    "after SIGKILL to pyflame (delay {delay_ms:?})\n{}",
                    t.describe()
                )
            },
        );
        still_fine(&t);
    }
}

per_interpreter!(target_exits_during_sampling);

fn target_exits_during_sampling(py: &Interp) {
    let mut t = spawn_busy(py, "signals.py", &[]);
    let pyflame = sampled(&t, &["-s", "-1"]);
    drop(t.stdin.take()); // end of file: the target exits 0
    let status = t.wait_exit();
    assert_eq!(status.code(), Some(0), "target: {status}");
    assert_profile(&pyflame.finish(PROMPTLY), &t, "target exited");
}

per_interpreter!(target_killed_during_sampling);

fn target_killed_during_sampling(py: &Interp) {
    let mut t = spawn_busy(py, "signals.py", &[]);
    let pyflame = sampled(&t, &["-s", "-1"]);
    send_signal(t.pid, "KILL");
    let status = t.wait_exit();
    assert_eq!(status.signal(), Some(9), "target: {status}");
    assert_profile(&pyflame.finish(PROMPTLY), &t, "target killed by SIGKILL");
}

per_interpreter!(second_pyflame_refused);

/// A second pyflame cannot seize a traced PID and says who traces it; the first
/// one is unaffected.
fn second_pyflame_refused(py: &Interp) {
    let t = spawn_busy(py, "signals.py", &[]);
    let first = sampled(&t, &["-s", "-1"]);
    let second = pyflame(&["-s", "0", "-p", &t.pid.to_string()]);
    let line = second.stderr.trim_end();
    assert!(
        second.status.code() == Some(1)
            && second.stdout.is_empty()
            && second.stderr.matches('\n').count() == 1
            && line.starts_with(&format!(
                "Failed to seize PID {}: Operation not permitted",
                t.pid
            ))
            && line.contains("TracerPid")
            && line.contains(&first.pid.to_string()),
        "second pyflame (the first is {})\n{}",
        first.pid,
        second.describe()
    );
    assert_eq!(status_field(t.pid, "TracerPid"), Some(u64::from(first.pid)));
    first.signal("INT");
    assert_profile(&first.finish(PROMPTLY), &t, "the first pyflame");
    still_fine(&t);
}

per_interpreter!(exec_during_sampling);

/// The target calls exec(): pyflame says so on stderr, prints what it had, exits 0;
/// the new program runs on, untraced.
fn exec_during_sampling(py: &Interp) {
    let mut t = spawn_busy(py, "signals.py", &[]);
    let pyflame = sampled(&t, &["-s", "-1"]);
    let stdin = t.stdin.as_mut().expect("stdin");
    stdin
        .write_all(b"exec\n")
        .and_then(|()| stdin.flush())
        .expect("write to the target");
    let out = pyflame.finish(PROMPTLY);
    assert!(
        out.status.success()
            && out.stderr.matches('\n').count() == 1
            && out.stderr.ends_with('\n')
            && out.stderr.contains("exec"),
        "expected exit 0 and one stderr line about exec\n{}",
        out.describe()
    );
    let p =
        parse_collapsed(&out.stdout, true).unwrap_or_else(|e| panic!("{e}\n{}", out.describe()));
    assert!(p.count_of(&work_stack(&t)) > 0, "{}", out.describe());
    let comm = || std::fs::read_to_string(format!("/proc/{}/comm", t.pid)).unwrap_or_default();
    wait_until(
        WAIT,
        || comm() == "sleep\n",
        || format!("comm {:?}\n{}", comm(), t.describe()),
    );
    assert_target_running(t.pid);
}

per_interpreter!(threads_come_and_go);

/// Threads starting and ending while sampled (churn.py): their stacks are seen,
/// at most a few samples fail, in the default mode and with --threads.
fn threads_come_and_go(py: &Interp) {
    let t = spawn_script(py, "churn.py", &[]);
    let pid = t.pid.to_string();
    for extra in [&[][..], &["--threads"][..]] {
        let mut args = vec!["-s", "1", "-r", "0.005", "-p", &pid];
        args.extend_from_slice(extra);
        let out = pyflame(&args);
        let what = format!("pyflame {}", args.join(" "));
        out.assert_clean_success(&what);
        let p = parse_collapsed(&out.stdout, true)
            .unwrap_or_else(|e| panic!("{what}: {e}\n{}", out.describe()));
        assert!(
            p.has_function("short_lived") && p.failed <= 5,
            "{what}: expected short_lived() stacks and at most 5 failures\n{}",
            out.describe()
        );
        eprintln!(
            "{what} on python {}: {} failed of {}",
            py.name,
            p.failed,
            p.total()
        );
        assert_target_running(t.pid);
    }
}
