//! Running pyflame while a thread watches it and its target about every millisecond:
//! pyflame's memory (VmHWM and VmRSS in /proc/PID/status) and how long any thread of
//! the target stays in a tracing stop (state `t` in /proc/PID/task/TID/stat), so that
//! a test can bound both without trusting pyflame's own account. A pyflame whose RSS
//! passes [`KILL_ABOVE_KIB`] is killed on the spot, so that a runaway cannot take the
//! machine (and the tests running beside it) down with it.

use super::live::{send_signal, task_status_field, Background};
use super::process::Output;
use super::procfs;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// RSS (KiB) at which the watcher kills pyflame: far above what any test allows.
pub const KILL_ABOVE_KIB: u64 = 512 * 1024;

/// What a watched pyflame run did.
#[derive(Debug)]
pub struct Watched {
    pub output: Output,
    /// From start to exit.
    pub wall: Duration,
    /// The largest VmHWM seen, in KiB. VmHWM is a high-water mark, so this misses only
    /// what pyflame allocated in its last millisecond (the kernel drops it at exit).
    pub peak_rss_kib: u64,
    /// VmRSS over time, in KiB, one entry per poll.
    pub rss: Vec<(Duration, u64)>,
    /// The longest time any target thread was seen in one tracing stop (state `t`):
    /// from the first poll that saw it there to the last (so up to two poll intervals
    /// short; polls are about 1 ms apart, more on a loaded machine).
    pub longest_stop: Duration,
    /// How many polls there were (to tell "never stopped" from "never looked").
    pub polls: u64,
    /// The watcher killed pyflame for passing [`KILL_ABOVE_KIB`].
    pub killed: bool,
}

impl Watched {
    /// The run, for assertion messages (output cut to its first 3000 characters).
    pub fn describe(&self) -> String {
        format!(
            "wall {:?}, peak RSS {} KiB{}, longest stop {:?} ({} polls)\n{}",
            self.wall,
            self.peak_rss_kib,
            match self.killed {
                true => " (killed by the watcher)",
                false => "",
            },
            self.longest_stop,
            self.polls,
            self.output.describe()
        )
    }

    /// VmRSS (KiB) at the last poll at or before `at`.
    pub fn rss_at(&self, at: Duration) -> Option<u64> {
        self.rss
            .iter()
            .rev()
            .find(|(t, _)| *t <= at)
            .map(|(_, r)| *r)
    }
}

/// Runs pyflame with `args` against `target`, watching both; fails the test ("pyflame
/// hung") if pyflame runs longer than `timeout`.
pub fn watch_pyflame(args: &[&str], target: u32, timeout: Duration) -> Watched {
    let start = Instant::now();
    let pyflame = Background::start(args);
    let watcher = Watcher::start(pyflame.pid, target, start);
    let output = pyflame.finish(timeout);
    let wall = start.elapsed();
    let seen = watcher.finish();
    Watched {
        output,
        wall,
        peak_rss_kib: seen.peak_rss_kib,
        rss: seen.rss,
        longest_stop: seen.longest_stop,
        polls: seen.polls,
        killed: seen.killed,
    }
}

#[derive(Debug, Default)]
struct Seen {
    peak_rss_kib: u64,
    rss: Vec<(Duration, u64)>,
    longest_stop: Duration,
    polls: u64,
    killed: bool,
}

/// The polling thread; stopped on Drop (also when the test panics).
struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Seen>>,
}

impl Watcher {
    fn start(pyflame: u32, target: u32, start: Instant) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || poll(pyflame, target, start, &flag));
        Watcher {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("finished once");
        thread.join().expect("the watcher panicked")
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn poll(pyflame: u32, target: u32, start: Instant, stop: &AtomicBool) -> Seen {
    let mut seen = Seen::default();
    let mut stops: HashMap<u32, Sighting> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        let now = start.elapsed();
        if let Some(hwm) = procfs::status_field(pyflame, "VmHWM") {
            seen.peak_rss_kib = seen.peak_rss_kib.max(hwm);
        }
        if let Some(rss) = procfs::status_field(pyflame, "VmRSS") {
            seen.rss.push((now, rss));
            if rss > KILL_ABOVE_KIB && !seen.killed {
                seen.killed = true;
                send_signal(pyflame, "KILL");
            }
        }
        for tid in procfs::task_ids(target) {
            let in_t = procfs::task_stat(target, tid).is_some_and(|s| s.state == 't');
            let sighting = in_t.then(|| Sighting {
                first: now,
                last: now,
                switches: switches(target, tid),
            });
            let ended = match (sighting, stops.get_mut(&tid)) {
                (Some(new), Some(run)) if new.switches == run.switches => {
                    run.last = now;
                    None
                }
                (Some(new), _) => stops.insert(tid, new),
                (None, _) => stops.remove(&tid),
            };
            if let Some(run) = ended {
                seen.longest_stop = seen.longest_stop.max(run.last - run.first);
            }
        }
        seen.polls += 1;
        thread::sleep(Duration::from_millis(1));
    }
    for run in stops.into_values() {
        seen.longest_stop = seen.longest_stop.max(run.last - run.first);
    }
    seen
}

/// A run of polls that saw one thread in the same tracing stop: from the first to the
/// last of them (not to the next poll, which a loaded machine may delay for long).
struct Sighting {
    first: Duration,
    last: Duration,
    /// Context switches of the thread when first seen: a thread that ran between two
    /// polls (and stopped again) has made at least one more, so it is another stop.
    switches: u64,
}

fn switches(pid: u32, tid: u32) -> u64 {
    ["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"]
        .iter()
        .map(|field| task_status_field(pid, tid, field).unwrap_or(0))
        .sum()
}
