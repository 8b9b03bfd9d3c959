//! A sample read without stopping anything, then checked.
//!
//! Everything the read used is read again right after, in one system call and in an order
//! that makes that second look one moment (see `Walker::expect`): each thread's pointer to its
//! innermost frame, every frame's code pointer, link to the next frame out and position (but
//! the innermost frame's position, which moves as it runs while the frame stays), the pointer
//! again, then who holds the GIL. The read stands only if nothing changed, so the frames
//! reported are the ones the second look found in place.
//!
//! This is how every sample is read first. The default mode stops the threads that can move
//! only when such reads keep failing their check (a stack changing as fast as Python can
//! call), or cannot be checked (a stack deeper than the frames whose links are kept);
//! `--nonblocking` never stops anything, and such a sample fails.

use super::process::Process;
use crate::error::{Error, Result};
use crate::python::walk::{Checkable, RawThread, Thread, WalkError};

/// Samples that skip the read without stopping after one found a stack too deep to check.
const DEEP_SKIP: u32 = 64;
/// Threads whose outermost frame is remembered, at most (they come and go).
const MAX_OUTERMOST: usize = 4096;

impl Process {
    /// The stacks to report, read without stopping anything and checked. None: something
    /// the read used changed meanwhile. A walk that ended at a frame it could not read, or at
    /// a loop, counts as moved, and so does an outermost frame not seen before, unless
    /// `after_stop` (the stacks were just read stopped, but that read ran out of stopped time
    /// or a thread did not stop: what it found is what the threads have). Then a broken end
    /// is checked as a stack too deep to check is (only the innermost frames of the threads
    /// that could move), and new outermost frames are taken.
    pub(super) fn read_unstopped(&mut self, after_stop: bool) -> Result<Option<Vec<Thread>>> {
        // Free-threaded builds: the threads that can move are those on a CPU.
        let running = match self.free_threaded {
            true => Some(self.running_states()?.iter().map(|s| s.0).collect()),
            false => None,
        };
        let open = self.open()?;
        let mut gil = Vec::new();
        let movers: Vec<u64> = match running {
            Some(states) => states,
            None => {
                self.refresh_gils()?;
                let gils = self.gils.as_ref().map_or(&[][..], |(_, g)| g.as_slice());
                self.walker.holders_expect(gils, &mut gil)?
            }
        };
        if movers.is_empty() && !self.plan.all_threads {
            // Nobody holds the GIL (no thread on a CPU): no Python stack can change.
            return Ok(Some(Vec::new()));
        }
        let raw = self.read_raw(&movers)?;
        let mut expect = Vec::new();
        let checkable = raw
            .iter()
            .map(|t| self.walker.expect(t, &mut expect))
            .max()
            .unwrap_or(Checkable::Yes);
        match checkable {
            Checkable::Yes => {}
            Checkable::Broken if !after_stop => {
                self.moved += 1;
                return Ok(None);
            }
            _ => {
                if checkable == Checkable::TooDeep {
                    self.deep = DEEP_SKIP;
                }
                let threads = self.name(raw)?;
                drop(open);
                return self.leaves_unchanged(&movers, threads);
            }
        }
        // Who holds the GIL last, going up in memory (a GIL's fields are read as one range).
        gil.sort_unstable_by_key(|e| e.addr());
        expect.extend(gil);
        let same = self
            .prefetch
            .recheck(&expect)
            .map_err(|e| Error::from(WalkError::read("memory")(e)))?;
        if !same {
            self.moved += 1;
            return Ok(None);
        }
        let known = |t: &RawThread| {
            t.outermost()
                .is_none_or(|o| self.outermost.get(&t.tstate) == Some(&o))
        };
        if after_stop {
            self.note_outermost(&raw);
        } else if !raw.iter().all(known) {
            // A new outermost frame: the thread started its stack anew, or the read caught a
            // frame relinked at the same address (a generator, resumed and suspended within
            // the second look, reads alone: its link out is cleared while it is suspended).
            // The default mode takes it from a stopped read; `--nonblocking` from the next
            // read that finds it again.
            if self.plan.nonblocking {
                self.note_outermost(&raw);
            }
            self.moved += 1;
            return Ok(None);
        }
        let threads = self.name(raw)?;
        drop(open);
        Ok(Some(threads))
    }

    /// Remembers the outermost frame of each thread read whole (not caught between two
    /// interpreter states, as a stop may find it: see `settle.rs`).
    pub(super) fn note_outermost(&mut self, raw: &[RawThread]) {
        if self.outermost.len() >= MAX_OUTERMOST {
            self.outermost.clear();
        }
        for t in raw.iter().filter(|t| !self.walker.raw_between_states(t)) {
            if let Some(o) = t.outermost() {
                self.outermost.insert(t.tstate, o);
            }
        }
    }

    /// `threads`, if the innermost frame of every thread that could move is still the one
    /// read (and, when nobody held the GIL, nobody took it).
    fn leaves_unchanged(
        &mut self,
        movers: &[u64],
        threads: Vec<Thread>,
    ) -> Result<Option<Vec<Thread>>> {
        for t in threads.iter().filter(|t| movers.contains(&t.tstate)) {
            if !self.walker.unchanged(t.tstate, t.leaf)? {
                return Ok(None);
            }
        }
        if movers.is_empty() && !self.holders()?.is_empty() {
            return Ok(None);
        }
        Ok(Some(threads))
    }
}
