//! How a sample of a GIL build is read: with the GIL holders stopped (the default), with every
//! thread stopped (when the GIL moves too fast), or without stopping anything and checking
//! afterwards (`--nonblocking`, and a read that ran out of stopped time); and which kernel
//! thread a thread state is, as pyflame sees it.
//!
//! A read has two phases. While the threads that could move are stopped, only their frame
//! chains are walked (in one batch of reads, a snapshot); the threads are then resumed, and the
//! frames named from their code objects, which do not change, with the same snapshot. So the
//! target is stopped for the walk alone, however many names and line tables a cold cache has
//! to read.

use std::time::Instant;

use super::process::Process;
use super::{ATTEMPTS, GILS_TTL};
use crate::attach::Stopping;
use crate::error::{Error, Result};
use crate::memory::RemoteMemory;
use crate::prefetch::Open;
use crate::python::walk::{Issues, RawThread, Thread, WalkError};

/// Frame chains read while their threads were stopped, and the open batch they were read from.
pub(super) type Snapshot = (Vec<RawThread>, Open<RemoteMemory>);

impl Process {
    /// The threads holding a GIL now.
    pub(super) fn holders(&mut self) -> Result<Vec<u64>> {
        self.refresh_gils()?;
        let gils = self.gils.as_ref().map_or(&[][..], |(_, g)| g.as_slice());
        Ok(self.walker.holders(gils)?)
    }

    /// Looks up where the GILs are, unless that is known from less than `GILS_TTL` ago.
    pub(super) fn refresh_gils(&mut self) -> Result<()> {
        let fresh = self
            .gils
            .as_ref()
            .is_some_and(|(since, _)| since.elapsed() < GILS_TTL);
        if !fresh {
            let gils = self.walker.gils()?;
            // No GIL at all means an interpreter still starting: look again next time.
            self.gils = (!gils.is_empty()).then(|| (Instant::now(), gils));
        }
        Ok(())
    }

    /// Runs `read`, which may stop threads of the target (noting each in the list it is
    /// given) and read their frame chains; then resumes every one of them, whatever happened,
    /// and names the frames. A read that ran out of stopped time, or for which a thread did
    /// not stop in time (uninterruptible sleep, where it cannot change its Python frames), is
    /// done again without stopping anything (None: the stacks moved).
    pub(super) fn stopping(
        &mut self,
        read: impl FnOnce(&mut Self, &mut Vec<i32>) -> Result<Option<Snapshot>>,
    ) -> Result<Option<Vec<Thread>>> {
        let mut stopped = Vec::new();
        let start = Instant::now();
        let read = read(self, &mut stopped);
        let held = !stopped.is_empty();
        for tid in stopped {
            self.tracee.resume(tid);
            self.unmoved.resumed(self.pid, tid);
        }
        if held {
            // The target may be stopped again only once it has run as long (see `run`).
            let now = Instant::now();
            self.held = now - start;
            self.free_until = now + self.held;
        }
        self.walker.budget().resumed();
        let late = std::mem::take(&mut self.late);
        if self.walker.budget().take_overrun() || late {
            drop(read);
            self.walker.budget().discarded();
            return self.read_unstopped(true);
        }
        match read? {
            None => Ok(None),
            Some((raw, open)) => {
                self.note_outermost(&raw);
                let threads = self.name(raw);
                drop(open);
                threads.map(Some)
            }
        }
    }

    /// The stacks to report, read with every thread stopped (again, if a read that ran out of
    /// stopped time found that they moved).
    pub(super) fn read_all_stopped(&mut self) -> Result<Vec<Thread>> {
        for _ in 0..ATTEMPTS {
            let read = self.stopping(|s, stopped| {
                let open = s.stop_all_and_open(stopped)?;
                let holders = s.holders()?;
                match holders.is_empty() && !s.plan.all_threads {
                    true => Ok(Some((Vec::new(), open))),
                    false => Ok(Some((s.read_raw(&holders)?, open))),
                }
            })?;
            if let Some(threads) = read {
                return Ok(threads);
            }
        }
        Err(Error::Sample(
            "the stacks kept changing during every attempt to read them".into(),
        ))
    }

    /// Stops every thread, noting each in `stopped`, and opens the batch; the stopped time
    /// counts from when the stops were seen. Threads that do not stop in time are in
    /// uninterruptible sleep, where their Python frames cannot change: read as they are.
    pub(super) fn stop_all_and_open(
        &mut self,
        stopped: &mut Vec<i32>,
    ) -> Result<Open<RemoteMemory>> {
        let deadline = self.walker.budget().stop_deadline();
        self.tracee.stop_all(deadline)?;
        stopped.extend(self.tracee.stopped_tids());
        self.walker.budget().stopped(Instant::now());
        self.open()
    }

    /// The stacks to report, read while nothing can change them. None: the GIL kept changing
    /// hands, try again.
    pub(super) fn read_stopped(&mut self) -> Result<Option<Vec<Thread>>> {
        let mut holders = self.holders()?;
        if holders.is_empty() {
            // Nobody holds the GIL: no Python stack can change until someone takes it.
            return match self.plan.all_threads {
                true => self.read_unstopped(true),
                false => Ok(Some(Vec::new())),
            };
        }
        // Only when the last sample stopped these same holders is it worth asking whether they
        // ran since (the thread ids cost a read).
        if !self.plan.all_threads && self.unmoved.stopped(&holders) {
            let tids = self.tids_of(&holders);
            if let Some(threads) = self.unmoved(&holders, &tids) {
                // The time the target may run before the next stop counts from now: it has
                // not run yet.
                self.free_until = self.free_until.max(Instant::now() + self.held);
                return Ok(Some(threads));
            }
        }
        let read = self.stopping(|s, stopped| {
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
                if s.late {
                    return Ok(None);
                }
                // One batch, read now that the holders are stopped, serves both the check that
                // they still hold the GIL and the walk.
                let open = s.open()?;
                match s.holders()? {
                    now if !now.is_empty() && now.iter().all(|h| stopped_states.contains(h)) => {
                        return Ok(Some((s.read_raw(&now)?, open)));
                    }
                    // The holders seen at the start of the sample dropped the GIL before they
                    // stopped (often because a stop of theirs made another thread ask for
                    // it): the sample describes the process as it was then, not idle.
                    now if now.is_empty() => {
                        return Ok(Some((s.read_raw(&stopped_states)?, open)));
                    }
                    now => holders = now,
                }
            }
            Ok(None)
        })?;
        // Only a whole read is given again (see `unmoved.rs`), never one caught between two
        // states (see `settle.rs`).
        let holding = |t: &[Thread]| t.iter().filter(|t| t.holds_gil).map(|t| t.tstate).collect();
        let whole = read.as_ref().filter(|t| self.between(t).is_none());
        self.read_with(whole.map(|t| (holding(t), t.clone())));
        Ok(read)
    }

    /// The kernel threads, as pyflame sees them, of these thread states (those it can tell).
    fn tids_of(&mut self, tstates: &[u64]) -> Vec<i32> {
        let mut tids = Vec::with_capacity(tstates.len());
        for &t in tstates {
            match self.walker.thread_ids(t) {
                Ok((id, native)) => tids.extend(self.tid_of(id, native)),
                Err(_) => return Vec::new(),
            }
        }
        match tids.len() == tstates.len() {
            true => tids,
            false => Vec::new(),
        }
    }

    /// Opens a batch of the previous sample's reads (see `Prefetcher`).
    pub(super) fn open(&self) -> Result<Open<RemoteMemory>> {
        self.prefetch
            .open()
            .map_err(|e| Error::from(WalkError::read("memory")(e)))
    }

    /// The frame chains of the GIL holders, or of every thread with `--threads`. A holder
    /// whose thread state cannot be read is left out; if none can be, the sample failed.
    pub(super) fn read_raw(&mut self, holders: &[u64]) -> Result<Vec<RawThread>> {
        if self.plan.all_threads {
            return Ok(self.walker.read_threads()?.0);
        }
        let mut threads = Vec::with_capacity(holders.len());
        let mut failure = None;
        for &h in holders {
            match self.walker.read_thread(h) {
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

    /// Frame chains, named.
    pub(super) fn name(&mut self, raw: Vec<RawThread>) -> Result<Vec<Thread>> {
        Ok(self.walker.name_threads(raw, &mut Issues::default())?)
    }

    /// Stops the threads running these thread states, noting each in `stopped`. False if one
    /// could not be stopped. When a kernel thread id cannot be known, stops every thread.
    fn stop_holders(&mut self, holders: &[u64], stopped: &mut Vec<i32>) -> Result<bool> {
        for &h in holders {
            let (thread_id, native_id) = self.walker.thread_ids(h)?;
            let deadline = self.walker.budget().stop_deadline();
            let Some(tid) = self.tid_of(thread_id, native_id) else {
                self.tracee.stop_all(deadline)?;
                stopped.extend(self.tracee.stopped_tids());
                self.walker.budget().stopped(Instant::now());
                return Ok(true);
            };
            match self.tracee.stop(tid, deadline)? {
                Stopping::Stopped => {
                    // Stopped time counts from when the stop is seen: the thread ran until
                    // then.
                    stopped.push(tid);
                    self.walker.budget().stopped(Instant::now());
                }
                Stopping::Gone => return Ok(false),
                Stopping::Late => self.late = true,
            }
        }
        Ok(true)
    }

    /// The kernel thread id, as pyflame sees it, of a thread state: the one CPython 3.11+
    /// records, else glibc's (`struct pthread`); a uWSGI worker keeps its parent's
    /// `native_id`, so glibc's is tried too. Both are numbered in the target's PID namespace,
    /// which may not be pyflame's: only one `Tasks` confirms is used.
    pub(super) fn tid_of(&mut self, thread_id: u64, native_id: Option<u32>) -> Option<i32> {
        let glibc = self.walker.glibc_tid(thread_id);
        self.tasks.find(&[native_id, glibc]).map(|k| k.outer)
    }
}
