//! Two processes sampled at once (`-p A,B` at `-r 0`): the kernel reports every tracee's
//! events to one queue, so a wait by pyflame for one process's thread can return the other's
//! signal-delivery-stop. Each signal must still reach its own process's handler at once, and
//! neither process may be left stopped. tests/scripts/sig_counter.py answers each signal.

use super::behind::{acknowledged, terminate, ANSWERED, TARGET_GONE};
use crate::util::events::{finish_by, repetitions};
use crate::util::live::{spawn_busy, stops, wait_for_samples, wait_for_tracer, Background, Busy};
use crate::util::{assert_target_running, per_interpreter, Interp};
use std::thread;
use std::time::Instant;

/// Two targets answering signals (sig_counter.py), and `pyflame -r 0 -p A,B`, stopping the
/// threads it samples every time, once it has stopped each of them a few times.
fn sampled_pair(py: &Interp) -> (Busy, Busy, Background) {
    let a = spawn_busy(py, "sig_counter.py", &["1", "--ack"]);
    let b = spawn_busy(py, "sig_counter.py", &["1", "--ack"]);
    let pids = format!("{},{}", a.pid, b.pid);
    let before = (stops(a.pid, a.pid), stops(b.pid, b.pid));
    let pyflame = Background::stopping(&["-r", "0", "-s", "60", "-p", &pids]);
    for (t, before) in [(&a, before.0), (&b, before.1)] {
        wait_for_tracer(t.pid, pyflame.pid);
        wait_for_samples(t.pid, t.pid, before, 10);
    }
    (a, b, pyflame)
}

per_interpreter!(signals_reach_both_processes);

/// Both processes sampled back to back; 50 SIGUSR1s and 50 SIGUSR2s to each (to the process,
/// and to a thread pyflame does not sample), the two processes' signals interleaved from two
/// threads; every one handled within 1 s. Then both exit 0 on SIGTERM, and pyflame exits 0
/// with both processes' roots in the profile.
fn signals_reach_both_processes(py: &Interp) {
    if repetitions(py, 1, 0) == 0 {
        return;
    }
    let what = format!("-r 0 -p A,B, python {}", py.name);
    let (a, b, pyflame) = sampled_pair(py);
    let what_b = format!("{what}, process B");
    let other = thread::spawn(move || (acknowledged(&b, &what_b), b));
    let mine = acknowledged(&a, &format!("{what}, process A"));
    let (theirs, mut b) = other.join().expect("process B's signals");
    let longest = [mine, theirs];
    let (_, term_a) = terminate(&a);
    let (_, term_b) = terminate(&b);
    let mut a = a;
    let status = (a.wait_exit(), b.wait_exit());
    let gone = Instant::now();
    let (out, _) = finish_by(pyflame, gone + TARGET_GONE, &what, || {
        format!("{}\n{}", a.describe(), b.describe())
    });
    for (i, wait) in longest.iter().flatten().enumerate() {
        assert!(
            *wait <= ANSWERED,
            "{what}: process {}'s signals waited up to {wait:?} for their handler",
            ["A", "B"][i / 2]
        );
    }
    assert!(
        term_a <= ANSWERED && term_b <= ANSWERED,
        "{what}: SIGTERM took {term_a:?}, {term_b:?}"
    );
    assert_eq!(
        (status.0.code(), status.1.code()),
        (Some(0), Some(0)),
        "{what}: the targets' exits"
    );
    out.assert_clean_success(&what);
    for pid in [a.pid, b.pid] {
        let root = format!("process {pid} ");
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(&root) && l.contains(":spin:")),
            "{what}: no stack under {root}\n{}",
            out.describe()
        );
    }
}

per_interpreter!(both_let_go_when_pyflame_ends);

/// `-p A,B` at `-r 0`, stopped by SIGINT (it writes both processes' profile; on 3.12 and
/// 2.7) and, in another run, killed with SIGKILL (every interpreter): either way neither
/// process is left stopped or traced, and both still answer signals at once.
fn both_let_go_when_pyflame_ends(py: &Interp) {
    let ways: &[&str] = match repetitions(py, 2, 1) {
        2 => &["INT", "KILL"],
        _ => &["KILL"],
    };
    for &how in ways {
        let what = format!("-r 0 -p A,B, SIG{how} to pyflame, python {}", py.name);
        let (a, b, pyflame) = sampled_pair(py);
        pyflame.signal(how);
        let out = pyflame.finish(TARGET_GONE);
        if how == "INT" {
            out.assert_clean_success(&what);
            for pid in [a.pid, b.pid] {
                let root = format!("process {pid} ");
                assert!(
                    out.stdout.lines().any(|l| l.starts_with(&root)),
                    "{what}: no stack under {root}\n{}",
                    out.describe()
                );
            }
        }
        for t in [&a, &b] {
            assert_target_running(t.pid);
            let line = format!("{what}, PID {}", t.pid);
            // Signals answered as without pyflame: neither is stuck in a stop pyflame left.
            let longest = acknowledged(t, &line);
            assert!(
                longest.iter().all(|&w| w <= ANSWERED),
                "{line}: a signal waited {longest:?}"
            );
        }
    }
}
