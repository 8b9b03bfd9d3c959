//! How a sample of a GIL build is read: with the GIL holders stopped (the default), with every
//! thread stopped (when the GIL moves too fast), or without stopping anything and checking
//! afterwards (`--nonblocking`, and a read that ran out of stopped time); and which kernel
//! thread a thread state is, as pyflame sees it.

use std::collections::HashMap;
use std::time::Instant;

use super::{Sampler, ATTEMPTS, GILS_TTL};
use crate::error::{Error, Result};
use crate::proc;
use crate::python::walk::{Thread, WalkError};

impl Sampler<'_> {
    /// The threads holding a GIL now.
    pub(super) fn holders(&mut self) -> Result<Vec<u64>> {
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

    /// Runs `read`, which may stop threads of the target (noting each in the list it is
    /// given); then resumes every one of them, whatever happened. A read that ran out of
    /// stopped time is done again without stopping anything (None: the stacks moved).
    pub(super) fn stopping(
        &mut self,
        read: impl FnOnce(&mut Self, &mut Vec<i32>) -> Result<Option<Vec<Thread>>>,
    ) -> Result<Option<Vec<Thread>>> {
        let mut stopped = Vec::new();
        let result = read(self, &mut stopped);
        for tid in stopped {
            self.tracee.resume(tid);
        }
        self.walker.budget().resumed();
        if self.walker.budget().take_overrun() {
            return self.read_unstopped();
        }
        result
    }

    /// The stacks to report, read with every thread stopped (again, if a read that ran out of
    /// stopped time found that they moved).
    pub(super) fn read_all_stopped(&mut self) -> Result<Vec<Thread>> {
        for _ in 0..ATTEMPTS {
            let read = self.stopping(|s, stopped| {
                let since = Instant::now();
                s.tracee.stop_all()?;
                stopped.extend(s.tracee.stopped_tids());
                s.walker.budget().stopped(since);
                s.batch(|s| {
                    let holders = s.holders()?;
                    match holders.is_empty() && !s.plan.all_threads {
                        true => Ok(Some(Vec::new())),
                        false => s.walk_threads(&holders).map(Some),
                    }
                })
            })?;
            if let Some(threads) = read {
                return Ok(threads);
            }
        }
        Err(Error::Sample(
            "the stacks kept changing during every attempt to read them".into(),
        ))
    }

    /// The stacks to report, read while nothing can change them. None: the GIL kept changing
    /// hands, try again.
    pub(super) fn read_stopped(&mut self) -> Result<Option<Vec<Thread>>> {
        let mut holders = self.holders()?;
        if holders.is_empty() {
            // Nobody holds the GIL: no Python stack can change until someone takes it.
            return match self.plan.all_threads {
                true => self.read_unstopped(),
                false => Ok(Some(Vec::new())),
            };
        }
        self.stopping(|s, stopped| {
            let mut stopped_states: Vec<u64> = Vec::new();
            // The GIL may pass to another thread between reading who holds it and stopping
            // that thread (2.7 switches every 100 bytecodes). Then stop the new holder too:
            // once the holder is stopped it cannot hand the GIL on, and nothing else can move.
            for _ in 0..ATTEMPTS {
                let new: Vec<u64> = holders
                    .iter()
                    .copied()
                    .filter(|h| !stopped_states.contains(h))
                    .collect();
                if !s.stop_holders(&new, stopped)? {
                    return Ok(None);
                }
                stopped_states.extend(new);
                // One batch, read now that the holders are stopped, serves both the check that
                // they still hold the GIL and the walk.
                let read = s.batch(|s| match s.holders()? {
                    now if !now.is_empty() && now.iter().all(|h| stopped_states.contains(h)) => {
                        s.walk_threads(&now).map(Ok)
                    }
                    now => Ok(Err(now)),
                })?;
                match read {
                    Ok(threads) => return Ok(Some(threads)),
                    Err(now) if now.is_empty() => return Ok(None),
                    Err(now) => holders = now,
                }
            }
            Ok(None)
        })
    }

    /// The stacks to report, read without stopping anything. None: a thread that could move
    /// did, during the read.
    pub(super) fn read_unstopped(&mut self) -> Result<Option<Vec<Thread>>> {
        if self.free_threaded {
            return self.read_running_unstopped();
        }
        let holders = self.holders()?;
        if holders.is_empty() && !self.plan.all_threads {
            return Ok(Some(Vec::new()));
        }
        let threads = self.batch(|s| s.walk_threads(&holders))?;
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

    /// Runs `read` with the previous sample's memory read in one batch (see `Prefetcher`).
    pub(super) fn batch<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let prefetch = self.prefetch;
        prefetch
            .batch(|| read(self))
            .map_err(|e| Error::from(WalkError::read("memory")(e)))?
    }

    /// The GIL holders, or every thread with `--threads`. A holder whose thread state cannot
    /// be read is left out; if none can be, the sample failed.
    pub(super) fn walk_threads(&mut self, holders: &[u64]) -> Result<Vec<Thread>> {
        if self.plan.all_threads {
            return Ok(self.walker.all_threads()?.0);
        }
        let mut threads = Vec::with_capacity(holders.len());
        let mut failure = None;
        for &h in holders {
            match self.walker.thread(h) {
                Ok(mut t) => {
                    t.holds_gil = true;
                    threads.push(t);
                }
                Err(e) if e.is_local() => failure = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        match (threads.is_empty(), failure) {
            (true, Some(e)) => Err(e.into()),
            _ => Ok(threads),
        }
    }

    /// Stops the threads running these thread states, noting each in `stopped`. False if one
    /// could not be stopped. When a kernel thread id cannot be known, stops every thread.
    fn stop_holders(&mut self, holders: &[u64], stopped: &mut Vec<i32>) -> Result<bool> {
        for &h in holders {
            let (thread_id, native_id) = self.walker.thread_ids(h)?;
            let since = Instant::now();
            let Some(tid) = self.tid_of(thread_id, native_id) else {
                self.tracee.stop_all()?;
                stopped.extend(self.tracee.stopped_tids());
                self.walker.budget().stopped(since);
                return Ok(true);
            };
            if !self.tracee.stop(tid)? {
                return Ok(false);
            }
            stopped.push(tid);
            self.walker.budget().stopped(since);
        }
        Ok(true)
    }

    /// The kernel thread id, as pyflame sees it, of a thread state: the one CPython 3.11+
    /// records, else glibc's (`struct pthread`); a uWSGI worker keeps its parent's
    /// `native_id`, so glibc's is tried too. Both are numbered in the target's PID namespace,
    /// which may not be pyflame's (a container seen from the host): only an id that NSpid in
    /// /proc/PID/task confirms as a thread of the target is used, translated to pyflame's.
    fn tid_of(&mut self, thread_id: u64, native_id: Option<u32>) -> Option<i32> {
        let glibc = self.walker.glibc_tid(thread_id);
        self.outer_tid(&[native_id, glibc])
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
