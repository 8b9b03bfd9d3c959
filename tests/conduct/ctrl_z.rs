//! Ctrl-Z: SIGTSTP suspends pyflame (job control), and a suspended pyflame must not keep
//! any thread of its target in a tracing stop: the target runs on while pyflame is
//! stopped, and pyflame samples again once continued, then ends cleanly on SIGINT.

use crate::util::collapsed::parse_collapsed;
use crate::util::events::{doing, finish_by, kill, process_ticks, state, traced_stopped, Random};
use crate::util::launch::chain_stack;
use crate::util::live::{
    cpu_ticks, spawn_busy, stops, wait_for_samples, wait_for_tracer, wait_until, Background, Busy,
    WAIT,
};
use crate::util::procfs::{self, status_field};
use crate::util::{assert_target_running, per_interpreter, Interp};
use std::thread;
use std::time::{Duration, Instant};

/// How long the test watches the target while pyflame is suspended, at least.
const SUSPENDED: Duration = Duration::from_millis(500);
/// The CPU ticks (10 ms each) the target must use meanwhile: a spinning thread with a CPU
/// takes about 50 in 500 ms; on a loaded machine (three extra CPU-bound processes) it was
/// seen to get none, so the watch goes on (pyflame still suspended, every thread still
/// checked) until it has used them, for up to [`WAIT`].
const MIN_TICKS: u64 = 5;

/// SIGTSTP to pyflame, and the checks while it is suspended; then SIGCONT.
fn suspend_and_resume(t: &Busy, pyflame: &Background, what: &str) {
    kill(pyflame.pid, libc::SIGTSTP);
    wait_until(
        WAIT,
        || state(pyflame.pid, pyflame.pid) == Some('T'),
        || format!("{what}: pyflame never stopped: {}", doing(pyflame.pid)),
    );
    let ticks = process_ticks(t.pid);
    let watch_until = Instant::now() + SUSPENDED;
    let give_up = Instant::now() + WAIT;
    let mut used = 0;
    while Instant::now() < watch_until || used < MIN_TICKS {
        assert_eq!(
            state(pyflame.pid, pyflame.pid),
            Some('T'),
            "{what}: pyflame went on by itself: {}",
            doing(pyflame.pid)
        );
        let stuck = traced_stopped(t.pid);
        assert!(
            stuck.is_empty(),
            "{what}: pyflame is suspended ({}) and threads {stuck:?} of the target are in a \
             tracing stop\n{}",
            doing(pyflame.pid),
            t.describe()
        );
        used = process_ticks(t.pid) - ticks;
        assert!(
            Instant::now() < give_up,
            "{what}: the target used {used} clock ticks in {WAIT:?} while pyflame was \
             suspended (at least {MIN_TICKS})\n{}",
            t.describe()
        );
        thread::sleep(Duration::from_millis(5));
    }
    kill(pyflame.pid, libc::SIGCONT);
}

/// Returns as soon as a thread of the target is seen in a tracing stop (within 2 s at most).
fn in_a_sample(t: &Busy) {
    let give_up = Instant::now() + Duration::from_secs(2);
    while traced_stopped(t.pid).is_empty() && Instant::now() < give_up {}
}

/// pyflame traces the target again and burns CPU: it samples.
fn samples_again(t: &Busy, pyflame: &Background, what: &str) {
    let mine = || procfs::task_ids(pyflame.pid);
    let spent = |tids: Vec<u32>| -> u64 { tids.iter().map(|&k| cpu_ticks(pyflame.pid, k)).sum() };
    let before = spent(mine());
    wait_until(
        WAIT,
        || {
            status_field(t.pid, "TracerPid") == Some(u64::from(pyflame.pid))
                && spent(mine()) >= before + 3
        },
        || {
            format!(
                "{what}: pyflame does not sample after SIGCONT: {}\n{}",
                doing(pyflame.pid),
                t.describe()
            )
        },
    );
}

per_interpreter!(ctrl_z);

/// `-r 0.0001 -s 120` on spinner.py: 10 times (4 on other interpreters than 3.12 and 2.7)
/// SIGTSTP to pyflame, checks while it is suspended ([`suspend_and_resume`]), SIGCONT, and
/// pyflame must stop the target for samples again; then SIGINT: exit 0 and a profile of the
/// spinner's stack. Then once with `--threads -r 0.001` on cpu_threads.py. Every other
/// SIGTSTP is sent at a random moment, the others as soon as the test sees the target in a
/// tracing stop, in a sample (a pyflame that suspends without letting go of the target
/// leaves it stopped only if the SIGTSTP lands in a sample).
fn ctrl_z(py: &Interp) {
    let times = crate::util::events::repetitions(py, 10, 4);
    let mut random = Random::from_clock(&format!("ctrl_z on python {}", py.name));
    let t = spawn_busy(py, "spinner.py", &["chain"]);
    let pid = t.pid.to_string();
    let pyflame = Background::stopping(&["-r", "0.0001", "-s", "120", "-p", &pid]);
    wait_for_tracer(t.pid, pyflame.pid);
    for k in 1..=times {
        let what = format!("Ctrl-Z {k} of {times}, python {}", py.name);
        thread::sleep(random.between(Duration::from_millis(20), Duration::from_millis(400)));
        if k % 2 == 0 {
            in_a_sample(&t);
        }
        suspend_and_resume(&t, &pyflame, &what);
        samples_again(&t, &pyflame, &what);
        wait_for_samples(t.pid, t.pid, stops(t.pid, t.pid), 3);
    }
    let sent = Instant::now();
    kill(pyflame.pid, libc::SIGINT);
    let what = format!("SIGINT after Ctrl-Z, python {}", py.name);
    let (out, _) = finish_by(pyflame, sent + WAIT, &what, || t.describe());
    out.assert_clean_success(&what);
    let p = parse_collapsed(&out.stdout, true)
        .unwrap_or_else(|e| panic!("{what}: bad profile: {e}\n{}", out.describe()));
    assert!(
        p.count_of(&chain_stack(&t.script, &t.marks)) > 0,
        "{what}: the spinner was never sampled\n{}",
        out.describe()
    );
    assert_target_running(t.pid);
    drop(t);
    threads_ctrl_z(py);
}

/// `--threads -r 0.001` on three spinning threads: one Ctrl-Z, then SIGINT.
fn threads_ctrl_z(py: &Interp) {
    let what = format!("Ctrl-Z with --threads, python {}", py.name);
    let t = spawn_busy(py, "cpu_threads.py", &[]);
    let pid = t.pid.to_string();
    let pyflame = Background::start(&["--threads", "-r", "0.001", "-s", "120", "-p", &pid]);
    wait_for_tracer(t.pid, pyflame.pid);
    thread::sleep(Duration::from_millis(200));
    suspend_and_resume(&t, &pyflame, &what);
    samples_again(&t, &pyflame, &what);
    kill(pyflame.pid, libc::SIGINT);
    let (out, _) = finish_by(pyflame, Instant::now() + WAIT, &what, || t.describe());
    out.assert_clean_success(&what);
    let p = parse_collapsed(&out.stdout, true)
        .unwrap_or_else(|e| panic!("{what}: bad profile: {e}\n{}", out.describe()));
    assert!(
        p.has_function("spin_main") && p.has_function("spin_worker"),
        "{what}: expected the three threads' stacks\n{}",
        out.describe()
    );
    assert_target_running(t.pid);
}
