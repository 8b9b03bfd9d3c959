//! The sampling loop: an absolute schedule, which threads to stop for a sample and for how
//! long, consistent reads, signals to pyflame and events from the target, and the count of
//! idle and failed samples.
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

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::attach::{Ended, Tracee};
use crate::error::{Error, Result};
use crate::memory::RemoteMemory;
use crate::prefetch::Prefetcher;
use crate::proc;
use crate::profile::{Observation, Profile};
use crate::python::layout::GilHolder;
use crate::python::walk::{Gil, Thread, WalkError, Walker};
use crate::python::Runtime;
use crate::sys::signal;

mod running;

/// Attempts at a consistent read before a sample counts as failed.
const ATTEMPTS: usize = 3;
/// How far behind the schedule pyflame may fall (a stall of pyflame itself, a loaded machine)
/// before it skips the missed samples instead of taking them back to back.
const MAX_BACKLOG: Duration = Duration::from_millis(250);
/// How long the list of GILs (which changes only when interpreters come and go) is trusted.
const GILS_TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub interval: Duration,
    /// None: until the target ends or pyflame is told to stop.
    pub duration: Option<Duration>,
    pub all_threads: bool,
    pub nonblocking: bool,
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

pub struct Sampler<'a> {
    pid: i32,
    tracee: &'a mut Tracee,
    /// The memory the walker reads, batched per sample.
    prefetch: &'a Prefetcher<'a, RemoteMemory>,
    walker: Walker<'a, Prefetcher<'a, RemoteMemory>>,
    plan: Plan,
    /// The target's threads: id as the target sees it -> as pyflame sees it (refreshed from
    /// /proc/PID/task on a miss).
    outer: HashMap<i32, i32>,
    /// Where the GILs are, and since when that is known.
    gils: Option<(Instant, Vec<Gil>)>,
    /// A SIGCHLD arrived: the target has events to handle.
    events: bool,
    /// No GIL: sample the threads on a CPU.
    free_threaded: bool,
    /// /proc/PID/task/TID/stat of each thread seen, open (free-threaded builds).
    stats: HashMap<i32, Option<std::fs::File>>,
}

/// Microseconds since the epoch, the original's flamechart timestamps.
fn epoch_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl<'a> Sampler<'a> {
    pub fn new(
        pid: i32,
        tracee: &'a mut Tracee,
        prefetch: &'a Prefetcher<'a, RemoteMemory>,
        runtime: &Runtime,
        plan: Plan,
    ) -> Self {
        let walker = Walker::new(prefetch, runtime.layout, runtime.roots);
        Sampler {
            pid,
            tracee,
            prefetch,
            walker,
            plan,
            outer: HashMap::new(),
            gils: None,
            events: true,
            free_threaded: runtime.layout.gil == GilHolder::Disabled,
            stats: HashMap::new(),
        }
    }

    /// Samples on the schedule until the time is up, the target ends, or pyflame is stopped.
    /// `progress` is called after each sample.
    pub fn run(
        &mut self,
        profile: &mut Profile,
        mut progress: impl FnMut(&Profile),
    ) -> Result<Finish> {
        let start = Instant::now();
        let interval = self.plan.interval.as_nanos().max(1);
        let mut k: u64 = 0;
        loop {
            let offset =
                Duration::from_nanos(u64::try_from(interval * k as u128).unwrap_or(u64::MAX));
            if let Some(limit) = self.plan.duration {
                // Sample k is due at k * interval: `-s 2 -r 0.01` takes samples 0 to 199.
                if k > 0 && offset >= limit {
                    return Ok(Finish::Done);
                }
            }
            if let Some(finish) = self.wait_until(start + offset)? {
                return Ok(finish);
            }
            let micros = epoch_micros();
            match self.sample() {
                Ok(threads) if threads.is_empty() => profile.record(micros, Observation::Idle),
                Ok(threads) => profile.record(micros, Observation::Threads(&threads)),
                Err(Error::Sample(_)) => {
                    // Perhaps an interpreter went away: look the GILs up again.
                    self.gils = None;
                    profile.record(micros, Observation::Failed);
                }
                Err(Error::TargetGone) => return Ok(Finish::Ended(self.ended())),
                Err(e) => return Err(e),
            }
            progress(profile);
            k += 1;
            let now = (start.elapsed().as_nanos() / interval) as u64;
            let allowed = (MAX_BACKLOG.as_nanos() / interval).max(10) as u64;
            if now > k + allowed {
                k = now;
            }
        }
    }

    fn ended(&mut self) -> Ended {
        self.tracee.ended()
    }

    /// Sleeps until `due`, passing on the target's signals and watching for its end and for
    /// pyflame's own stop signals meanwhile.
    fn wait_until(&mut self, due: Instant) -> Result<Option<Finish>> {
        loop {
            if self.tracee.exec_pending() {
                return Ok(Some(Finish::Ended(Ended::Exec)));
            }
            if std::mem::take(&mut self.events) {
                if let Some(ended) = self.tracee.poll()? {
                    return Ok(Some(Finish::Ended(ended)));
                }
            }
            let now = Instant::now();
            if now >= due {
                return Ok(None);
            }
            match signal::wait_signal(due - now) {
                None => {}
                Some(libc::SIGCHLD) => self.events = true,
                Some(sig) => return Ok(Some(Finish::Stopped(sig))),
            }
        }
    }

    /// The threads holding a GIL now.
    fn holders(&mut self) -> Result<Vec<u64>> {
        let fresh = self
            .gils
            .as_ref()
            .is_some_and(|(since, _)| since.elapsed() < GILS_TTL);
        if !fresh {
            let gils = self.walker.gils()?;
            // No GIL at all means an interpreter still starting: look again next time.
            self.gils = (!gils.is_empty()).then(|| (Instant::now(), gils));
        }
        let gils = self.gils.as_ref().map_or(&[][..], |(_, g)| g.as_slice());
        Ok(self.walker.holders(gils)?)
    }

    /// One sample: the threads seen with a Python frame (none: idle).
    pub fn sample(&mut self) -> Result<Vec<Thread>> {
        if self.free_threaded {
            let all = self.plan.all_threads;
            return match (all, self.plan.nonblocking) {
                (true, false) => self.read_all_stopped(),
                _ => self.sample_running(),
            }
            .map(with_frames);
        }
        for _ in 0..ATTEMPTS {
            let read = if self.plan.nonblocking {
                self.read_unstopped()?
            } else {
                self.read_stopped()?
            };
            if let Some(threads) = read {
                return Ok(with_frames(threads));
            }
        }
        if self.plan.nonblocking {
            return Err(Error::Sample(
                "the stacks kept changing during every attempt to read them".into(),
            ));
        }
        // The GIL kept moving between threads faster than they could be stopped one by one:
        // stop them all for this one sample, which is always consistent.
        self.read_all_stopped().map(with_frames)
    }

    /// The stacks to report, read with every thread stopped.
    fn read_all_stopped(&mut self) -> Result<Vec<Thread>> {
        let read = self.tracee.stop_all().and_then(|()| {
            self.open_batch()?;
            let threads = self.holders().and_then(|holders| {
                match holders.is_empty() && !self.plan.all_threads {
                    true => Ok(Vec::new()),
                    false => self.walk_threads(&holders),
                }
            });
            self.prefetch.end();
            threads
        });
        self.tracee.resume_all();
        read
    }

    /// The stacks to report, read while nothing can change them. None: the GIL kept changing
    /// hands, try again.
    fn read_stopped(&mut self) -> Result<Option<Vec<Thread>>> {
        let mut holders = self.holders()?;
        let mut stopped = Vec::new();
        let mut stopped_states: Vec<u64> = Vec::new();
        let mut result = Ok(None);
        // The GIL may pass to another thread between reading who holds it and stopping that
        // thread (2.7 switches every 100 bytecodes). Then stop the new holder too: once the
        // holder is stopped it cannot hand the GIL on, and nothing else can move.
        for _ in 0..ATTEMPTS {
            if holders.is_empty() {
                // Nobody holds the GIL: no Python stack can change until someone takes it.
                result = if self.plan.all_threads {
                    self.walk(&[])
                        .and_then(|threads| Ok(self.holders()?.is_empty().then_some(threads)))
                } else {
                    Ok(Some(Vec::new()))
                };
                break;
            }
            let new: Vec<u64> = holders
                .iter()
                .copied()
                .filter(|h| !stopped_states.contains(h))
                .collect();
            match self.stop_holders(&new, &mut stopped) {
                Ok(true) => stopped_states.extend(new),
                Ok(false) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            // One batch, read now that the holders are stopped, serves both the check that they
            // still hold the GIL and the walk.
            if let Err(e) = self.open_batch() {
                result = Err(e);
                break;
            }
            let now = self.holders();
            let read = match now {
                Ok(now) if !now.is_empty() && now.iter().all(|h| stopped_states.contains(h)) => {
                    self.walk_threads(&now).map(Some)
                }
                Ok(now) => {
                    holders = now;
                    Ok(None)
                }
                Err(e) => Err(e),
            };
            self.prefetch.end();
            match read {
                Ok(None) => continue,
                other => {
                    result = other;
                    break;
                }
            }
        }
        for tid in stopped {
            self.tracee.resume(tid);
        }
        result
    }

    /// The stacks to report, read without stopping anything. None: a thread that could move
    /// did, during the read.
    fn read_unstopped(&mut self) -> Result<Option<Vec<Thread>>> {
        let holders = self.holders()?;
        if holders.is_empty() && !self.plan.all_threads {
            return Ok(Some(Vec::new()));
        }
        let threads = self.walk(&holders)?;
        // Only a GIL holder can have moved: check its innermost frame is still the one read.
        for t in threads.iter().filter(|t| holders.contains(&t.tstate)) {
            if !self.walker.unchanged(t.tstate, t.leaf)? {
                return Ok(None);
            }
        }
        if holders.is_empty() && !self.holders()?.is_empty() {
            return Ok(None);
        }
        Ok(Some(threads))
    }

    /// The GIL holders, or every thread with `--threads`, read mostly from one batch.
    fn walk(&mut self, holders: &[u64]) -> Result<Vec<Thread>> {
        self.open_batch()?;
        let threads = self.walk_threads(holders);
        self.prefetch.end();
        threads
    }

    /// Reads the previous sample's memory in one batch (see `Prefetcher`).
    fn open_batch(&self) -> Result<()> {
        self.prefetch
            .begin()
            .map_err(|e| Error::from(WalkError::read("memory")(e)))
    }

    fn walk_threads(&mut self, holders: &[u64]) -> Result<Vec<Thread>> {
        if self.plan.all_threads {
            return Ok(self.walker.all_threads()?);
        }
        let mut threads = Vec::with_capacity(holders.len());
        for &h in holders {
            let mut t = self.walker.thread(h)?;
            t.holds_gil = true;
            threads.push(t);
        }
        Ok(threads)
    }

    /// Stops the threads running these thread states, noting each in `stopped`. False if one
    /// could not be stopped. When a kernel thread id cannot be known, stops every thread.
    fn stop_holders(&mut self, holders: &[u64], stopped: &mut Vec<i32>) -> Result<bool> {
        for &h in holders {
            let (thread_id, native_id) = self.walker.thread_ids(h)?;
            let Some(tid) = self.tid_of(thread_id, native_id)? else {
                self.tracee.stop_all()?;
                stopped.extend(proc::tasks(self.pid).unwrap_or_default());
                return Ok(true);
            };
            if !self.tracee.stop(tid)? {
                return Ok(false);
            }
            stopped.push(tid);
        }
        Ok(true)
    }

    /// The kernel thread id, as pyflame sees it, of a thread state: the one CPython 3.11+
    /// records, else glibc's (`struct pthread`); a uWSGI worker keeps its parent's
    /// `native_id`, so glibc's is tried too. Both are numbered in the target's PID namespace,
    /// which may not be pyflame's (a container seen from the host): only an id that NSpid in
    /// /proc/PID/task confirms as a thread of the target is used, translated to pyflame's.
    fn tid_of(&mut self, thread_id: u64, native_id: Option<u32>) -> Result<Option<i32>> {
        let glibc = self.walker.glibc_tid(thread_id);
        Ok(self.outer_tid(&[native_id, glibc]))
    }

    /// The first of these thread ids (as the target sees them) that is a thread of the
    /// target, as pyflame sees it. The map is read again only when none is in it.
    pub(super) fn outer_tid(&mut self, inner: &[Option<u32>]) -> Option<i32> {
        let find = |outer: &HashMap<i32, i32>| {
            inner
                .iter()
                .flatten()
                .find_map(|&tid| outer.get(&(tid as i32)).copied())
        };
        if let Some(tid) = find(&self.outer) {
            return Some(tid);
        }
        self.outer = proc::task_ids(self.pid)
            .unwrap_or_default()
            .into_iter()
            .map(|k| (k.inner, k.outer))
            .collect();
        find(&self.outer)
    }
}

/// The threads that have a Python frame.
fn with_frames(threads: Vec<Thread>) -> Vec<Thread> {
    threads
        .into_iter()
        .filter(|t| !t.frames.is_empty())
        .collect()
}
