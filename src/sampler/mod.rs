//! The sampling loop: an absolute schedule, which threads to stop for a sample and for how
//! long, consistent reads, signals to pyflame and events from the target, and the count of
//! idle and failed samples.
//!
//! Events first. Before every sample, whatever the schedule, the target's events are handled
//! (a signal it is about to receive is passed on, job control honoured, its end or exec()
//! noticed) and so are pyflame's own signals (SIGINT, SIGTERM, SIGHUP end the run; SIGTSTP,
//! SIGTTIN, SIGTTOU let go of the target and suspend pyflame): a pyflame behind its schedule
//! catches up (never two samples less than half an interval or 1 ms apart), never later events. Behind by more than `MAX_BACKLOG`,
//! it skips the samples missed (counted, and shown by `--verbose` and the status line).
//!
//! Stop policy. In a GIL build only the thread holding the GIL can change Python frames: every
//! other thread is blocked waiting for it, or in C code that cannot touch the frame stack
//! without it. So a sample stops only the GIL holder(s), never the idle threads, and its cost
//! does not grow with them. With nobody holding the GIL nothing is stopped at all; a reader
//! then checks afterwards that nobody took it meanwhile. `--nonblocking` stops nothing and
//! instead checks that the innermost frame of every thread that could move is the same before
//! and after the read; a read that fails that check is a failed sample, never a wrong stack.
//!
//! A free-threaded build (3.13t+) has no GIL: there the threads that can move are those on a
//! CPU (state `R` in /proc), so a sample takes, and stops, exactly those.
//!
//! Every sample draws on a budget (`budget::SAMPLE`): no thread is kept stopped longer than
//! its stopped time; a read that runs out of it resumes the target and reads again without
//! stopping it, checked as `--nonblocking` checks. This file is the schedule; how a sample is
//! read is in `read.rs` (GIL builds) and `running.rs` (free-threaded builds).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::attach::Ended;
use crate::error::{Error, Result};
use crate::profile::{Observation, Profile};
use crate::python::walk::{FrameKind, Thread};
use crate::sys::signal;

mod process;
pub use process::Process;
mod native;
mod read;
mod running;
mod settle;
mod unmoved;
mod unstopped;

/// Attempts at a consistent read before a sample counts as failed.
const ATTEMPTS: usize = 3;
/// How far behind the schedule pyflame may fall (a stall of pyflame itself, a loaded machine)
/// before it skips the missed samples instead of taking them back to back.
const MAX_BACKLOG: Duration = Duration::from_millis(250);
/// The most a sample behind the schedule waits after the previous one (see `run`).
const MAX_GAP: Duration = Duration::from_millis(1);
/// How long the list of GILs (which changes only when interpreters come and go) is trusted.
const GILS_TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub interval: Duration,
    /// None: until the target ends or pyflame is told to stop.
    pub duration: Option<Duration>,
    pub all_threads: bool,
    pub nonblocking: bool,
    /// Never read without stopping first (for tests; see `session`).
    pub always_stop: bool,
    /// `--native`: every sample stops every thread, for their registers.
    pub native: bool,
    /// `--async`: a running task's chain of awaiting tasks outermost.
    pub tasks: bool,
}

/// How far behind its schedule pyflame fell.
#[derive(Debug, Default, Clone, Copy)]
pub struct Behind {
    /// Samples skipped.
    pub skipped: u64,
    /// The most it was behind.
    pub most: Duration,
}

/// Why sampling stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The time given with `-s` is up.
    Done,
    /// pyflame received SIGINT, SIGTERM or SIGHUP.
    Stopped(i32),
    /// The target exited, was killed, or called exec().
    Ended(Ended),
}

/// The processes a run samples, and how they come and go (see `session::tree`).
pub trait Processes {
    /// Handles the events of every process (ends, exec()s, processes that appear) and drops
    /// those that ended. Some(how) once none is left to sample: for a lone process, how it
    /// ended.
    fn update(&mut self) -> Result<Option<Ended>>;
    /// The processes to sample now, in PID order.
    fn live(&mut self) -> &mut [Process];
    /// Lets go of every process: pyflame is about to be stopped by job control.
    fn release(&mut self);
    /// Seizes them again after `release`.
    fn reattach(&mut self);
}

/// The schedule: when samples are due, and how far behind it pyflame fell.
pub struct Sampler {
    plan: Plan,
    /// Samples skipped for being too far behind the schedule, and how far behind it was.
    pub behind: Behind,
}

/// Microseconds since the epoch, the original's flamechart timestamps.
fn epoch_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl Sampler {
    pub fn new(plan: Plan) -> Self {
        Sampler {
            plan,
            behind: Behind::default(),
        }
    }

    /// Samples every process of `set` on the schedule until the time is up, none is left, or
    /// pyflame is stopped. `progress` is called after each sample.
    pub fn run(
        &mut self,
        set: &mut dyn Processes,
        profile: &mut Profile,
        mut progress: impl FnMut(&Profile, &mut dyn Processes, &Self),
    ) -> Result<Finish> {
        let start = Instant::now();
        let interval = self.plan.interval.as_nanos().max(1);
        let mut k: u64 = 0;
        let mut last = start;
        loop {
            let offset =
                Duration::from_nanos(u64::try_from(interval * k as u128).unwrap_or(u64::MAX));
            // Sample k is due at k * interval: `-s 2 -r 0.01` takes samples 0 to 199, and
            // ends at 2 s.
            let done = self.plan.duration.filter(|&limit| k > 0 && offset >= limit);
            // Behind, samples are taken faster than the schedule to catch up, but never closer
            // than half an interval (or 1 ms): back to back, the cheap ones (idle) would crowd
            // into whatever moment the target was in, and the profile would over-count it.
            let gap = (self.plan.interval / 2).min(MAX_GAP);
            // `-r 0` (no schedule): the target runs between two samples at least as long as
            // the last one held it stopped, so pyflame never takes more than half of a
            // thread's time (it otherwise left the target microseconds between stops, and a
            // signal handler no time to run). A schedule has its own bound, the gap.
            let free = match self.plan.interval.is_zero() {
                true => set.live().iter().map(Process::free_until).max(),
                false => None,
            };
            let due = match done {
                Some(limit) => start + limit,
                None => (start + offset).max(last + gap).max(free.unwrap_or(start)),
            };
            match self.wait_until(set, due)? {
                None if done.is_some() => return Ok(Finish::Done),
                None => {}
                Some(finish) => return Ok(finish),
            }
            last = Instant::now();
            let micros = epoch_micros();
            let mut ticked = false;
            for p in set.live().iter_mut().filter(|p| p.ended.is_none()) {
                let seen = match p.sample() {
                    Ok(threads) => Ok(threads),
                    Err(Error::Sample(_)) => {
                        // The target may have ended or exec()'d during the read: then the read
                        // failed because the process was going, not a failed sample.
                        if let Some(ended) = p.tracee.poll()? {
                            p.ended = Some(ended);
                            continue;
                        }
                        // Perhaps an interpreter went away: look the GILs up again.
                        p.gils = None;
                        Err(())
                    }
                    Err(Error::TargetGone) => {
                        p.ended = Some(p.tracee.ended());
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let seen = match &seen {
                    Ok(threads) if threads.is_empty() => Observation::Idle,
                    Ok(threads) => Observation::Threads(threads),
                    Err(()) => Observation::Failed,
                };
                match &p.root {
                    None => profile.record(micros, seen),
                    Some(root) => {
                        profile.record_in(root, micros, seen);
                        ticked = true;
                    }
                }
            }
            if ticked {
                profile.tick();
            }
            progress(profile, set, self);
            k += 1;
            let elapsed = start.elapsed();
            let now = (elapsed.as_nanos() / interval) as u64;
            let behind = elapsed.saturating_sub(Duration::from_nanos(
                u64::try_from(interval * k as u128).unwrap_or(u64::MAX),
            ));
            self.behind.most = self.behind.most.max(behind);
            let allowed = (MAX_BACKLOG.as_nanos() / interval).max(10) as u64;
            if now > k + allowed {
                self.behind.skipped += now - k;
                k = now;
            }
        }
    }

    /// Handles the processes' events and pyflame's signals, then sleeps until `due` doing the
    /// same. Events are handled even when `due` has passed.
    fn wait_until(&mut self, set: &mut dyn Processes, due: Instant) -> Result<Option<Finish>> {
        loop {
            if let Some(ended) = set.update()? {
                return Ok(Some(Finish::Ended(ended)));
            }
            match signal::wait_until(&signal::WAITED, due) {
                None if Instant::now() >= due => return Ok(None),
                None | Some(libc::SIGCHLD) => {}
                Some(sig) if signal::SUSPEND.contains(&sig) => {
                    // Let go of the target first, so that none of its threads can be left in a
                    // ptrace-stop while pyflame is stopped; once continued, seize it again.
                    set.release();
                    signal::suspend_self();
                    set.reattach();
                }
                Some(sig) => return Ok(Some(Finish::Stopped(sig))),
            }
        }
    }
}

/// The threads that have a Python frame. A thread whose walk could not read one frame before
/// the budget ran out is left out; if every thread is, the sample failed.
fn with_frames(threads: Vec<Thread>) -> Result<Vec<Thread>> {
    let unread = |t: &Thread| matches!(&t.frames[..], [f] if f.code.kind == FrameKind::NotRead);
    let seen = threads.iter().filter(|t| !t.frames.is_empty()).count();
    let read: Vec<Thread> = threads
        .into_iter()
        .filter(|t| !t.frames.is_empty() && !unread(t))
        .collect();
    match (seen, read.is_empty()) {
        (1.., true) => Err(Error::Sample(
            "the budget of the sample ran out before a frame was read".into(),
        )),
        _ => Ok(read),
    }
}
