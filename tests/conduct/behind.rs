//! Signals while pyflame is behind its schedule (tests/scripts/sig_counter.py): at `-r 0`
//! or 10 kHz pyflame is always late, and the signals its target is about to receive wait
//! in a ptrace stop until pyflame passes them on. They must reach the target's Python
//! handlers as they do without pyflame: SIGUSR1s as often, SIGTERM at once (also with
//! 2,000 threads under `--threads`); SIGINT to pyflame ends it at once, with its profile.

use crate::util::collapsed::{marked_stack, parse_collapsed};
use crate::util::events::{finish_by, kill};
use crate::util::live::{
    spawn_busy, stops, wait_for_progress, wait_for_samples, wait_for_tracer, Background, Busy, WAIT,
};
use crate::util::process::Output;
use crate::util::{assert_target_running, per_interpreter, Interp};
use std::thread;
use std::time::{Duration, Instant};

/// SIGUSR1s sent in one burst, and the time between two of them.
const BURST: u64 = 500;
const PACE: Duration = Duration::from_millis(2);
/// The share of the SIGUSR1s handled without pyflame that must be handled with it.
const KEPT: f64 = 0.98;
/// From kill(SIGTERM) to the handler's line on stdout.
const TERM_HANDLED: Duration = Duration::from_secs(1);
/// From the target's exit, or SIGINT to pyflame, to pyflame's exit.
const TARGET_GONE: Duration = Duration::from_secs(5);
const SIGINT_EXIT: Duration = Duration::from_secs(2);

/// Starts `pyflame ARGS -p PID` and returns once it samples the spinning main thread.
fn sampled(t: &Busy, args: &[&str]) -> Background {
    let before = stops(t.pid, t.pid);
    let pid = t.pid.to_string();
    let mut all = args.to_vec();
    all.extend(["-p", &pid]);
    let pyflame = Background::start(&all);
    wait_for_tracer(t.pid, pyflame.pid);
    wait_for_samples(t.pid, t.pid, before, 5);
    pyflame
}

/// Sends [`BURST`] SIGUSR1s, one every [`PACE`] on an absolute schedule.
fn burst(pid: u32) {
    let start = Instant::now();
    for k in 0..BURST {
        let due = start + PACE * k as u32;
        thread::sleep(due.saturating_duration_since(Instant::now()));
        kill(pid, libc::SIGUSR1);
    }
}

/// The number in the target's next line, which must start with `word`.
fn counted(t: &Busy, word: &str) -> u64 {
    let line = t.next_line();
    line.strip_prefix(word)
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("expected {word} <n>, got {line:?}\n{}", t.describe()))
}

/// SIGUSR1s handled so far (after a pause, for the last handlers to run).
fn handled(t: &Busy) -> u64 {
    thread::sleep(Duration::from_millis(100));
    kill(t.pid, libc::SIGUSR2);
    counted(t, "COUNT")
}

/// Sends SIGTERM; the SIGUSR1s handled in all, and how long the SIGTERM handler took to say
/// so (from just before kill(2) to the line read).
fn terminate(t: &Busy) -> (u64, Duration) {
    let sent = Instant::now();
    kill(t.pid, libc::SIGTERM);
    let line = t
        .lines
        .recv_timeout(WAIT)
        .unwrap_or_else(|e| panic!("no line after SIGTERM ({e})\n{}", t.describe()));
    let took = sent.elapsed();
    let n = line
        .strip_prefix("TERM ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("expected TERM <n>, got {line:?}\n{}", t.describe()));
    (n, took)
}

/// Exit 0, nothing on stderr, a profile in which the main thread was seen spinning.
fn assert_profile(out: &Output, t: &Busy, what: &str) {
    let spin = marked_stack(
        &t.script,
        &t.marks,
        &[("<module>", "module"), ("main", "main"), ("spin", "spin")],
    );
    out.assert_clean_success(what);
    let p = parse_collapsed(&out.stdout, true)
        .unwrap_or_else(|e| panic!("{what}: bad profile: {e}\n{}", out.describe()));
    assert!(
        p.count_of(&spin) > 0,
        "{what}: spin() was never sampled\n{}",
        out.describe()
    );
}

per_interpreter!(signals_while_behind);

/// At `-r 0` and `-r 0.0001`: 500 SIGUSR1s 2 ms apart, first without pyflame, then to the
/// same target while pyflame samples it. With pyflame the handler must run at least 98% as
/// often as without; SIGTERM's handler must run within 1 s; the target exits 0 and pyflame
/// within 5 s after it, with exit 0 and a profile.
fn signals_while_behind(py: &Interp) {
    for rate in ["0", "0.0001"] {
        let what = format!("-r {rate} on python {}", py.name);
        let mut t = spawn_busy(py, "sig_counter.py", &[]);
        burst(t.pid);
        let alone = handled(&t);
        let pyflame = sampled(&t, &["-r", rate, "-s", "60"]);
        burst(t.pid);
        thread::sleep(Duration::from_millis(100));
        let (total, term) = terminate(&t);
        let status = t.wait_exit();
        let gone = Instant::now();
        let with = total - alone;
        eprintln!(
            "{what}: SIGUSR1 handled {alone} of {BURST} alone, {with} of {BURST} with pyflame; \
             SIGTERM handled in {term:?}"
        );
        let (out, _) = finish_by(pyflame, gone + TARGET_GONE, &what, || t.describe());
        assert!(
            with as f64 >= KEPT * alone as f64,
            "{what}: the SIGUSR1 handler ran {with} times for {BURST} signals with pyflame, \
             {alone} times without: under {:.0}%\n{}",
            KEPT * 100.0,
            out.describe()
        );
        assert!(
            term <= TERM_HANDLED,
            "{what}: the SIGTERM handler ran {term:?} after kill (at most {TERM_HANDLED:?})"
        );
        assert_eq!(status.code(), Some(0), "{what}: target {status}");
        assert_profile(&out, &t, &what);
    }
}

per_interpreter!(sigterm_with_2000_threads, only [
    py27 => "2.7",
    py312 => "3.12",
    py313t => "3.13t",
]);

/// `--threads -r 0.01` against a target of 2,000 threads, 1,999 of them asleep: its SIGTERM
/// handler runs within 1 s of kill; pyflame then ends with exit 0 and a profile.
fn sigterm_with_2000_threads(py: &Interp) {
    let what = format!("--threads, 2000 threads, python {}", py.name);
    let mut t = spawn_busy(py, "sig_counter.py", &["1999"]);
    let pyflame = sampled(&t, &["--threads", "-r", "0.01", "-s", "60"]);
    let (_, term) = terminate(&t);
    let status = t.wait_exit();
    eprintln!("{what}: SIGTERM handled in {term:?}");
    let gone = Instant::now();
    let (out, _) = finish_by(pyflame, gone + Duration::from_secs(20), &what, || {
        t.describe()
    });
    assert!(
        term <= TERM_HANDLED,
        "{what}: the SIGTERM handler ran {term:?} after kill (at most {TERM_HANDLED:?})"
    );
    assert_eq!(status.code(), Some(0), "{what}: target {status}");
    assert_profile(&out, &t, &what);
}

per_interpreter!(sigint_at_full_speed);

/// SIGINT to `pyflame -r 0`: it exits within 2 s, with exit 0 and a profile, and leaves the
/// target running.
fn sigint_at_full_speed(py: &Interp) {
    let what = format!("SIGINT at -r 0, python {}", py.name);
    let t = spawn_busy(py, "sig_counter.py", &[]);
    let pyflame = sampled(&t, &["-r", "0", "-s", "60"]);
    thread::sleep(Duration::from_millis(200));
    let sent = Instant::now();
    kill(pyflame.pid, libc::SIGINT);
    let (out, exited) = finish_by(pyflame, sent + SIGINT_EXIT, &what, || t.describe());
    eprintln!("{what}: pyflame exited {:?} after SIGINT", exited - sent);
    assert_profile(&out, &t, &what);
    assert_target_running(t.pid);
    wait_for_progress(t.pid, t.pid, 2);
}
