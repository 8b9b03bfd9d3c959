//! A read that caught a running thread between two interpreter states, taken again.
//!
//! A thread running Python passes through instants where its thread state does not describe a
//! whole stack. 3.11 and 3.12 point `tstate->cframe` at a new C-level frame record several
//! instructions before its `current_frame` is set, so a stop there finds a stale pointer
//! (often the entry frame of a call that has ended, half rewritten): no Python frame, an
//! unreadable one, or a generator's frame not linked in yet. 3.13 and later may store
//! `tstate->current_frame` before the entry frame under it is written. Such a read is neither
//! idle nor failed. So when a thread that was running Python (a GIL holder, or a thread on a
//! CPU in a free-threaded build) reads as caught so (`Walker::between_states`: no frame, an
//! unreadable frame, a loop, an outermost frame where no evaluation starts), or the read
//! fails, the sample waits for that thread to move on (its innermost frame changes, or
//! `SETTLE` passes) and reads again, within the same budget; a stop lands in such a window
//! again more often than chance would say, so up to `SETTLE_READS` reads. A thread that stays
//! in such a state through the wait really is in it (a corrupted stack): it is remembered, and
//! a later sample that finds it so again looks only once more, shortly, until a read finds it
//! whole.

use std::time::{Duration, Instant};

use super::process::Process;
use crate::error::{Error, Result};
use crate::python::walk::{Leaf, Thread};

/// The longest a sample waits for a thread to leave the state it was caught in (a resumed
/// thread may wait that long for a CPU on a loaded machine).
const SETTLE: Duration = Duration::from_millis(10);
/// How often it looks.
const SETTLE_POLL: Duration = Duration::from_micros(20);
/// Reads of one sample, at most: a stop often lands in such a window again.
const SETTLE_READS: usize = 4;

impl Process {
    /// The threads `read` returns, read again (up to `SETTLE_READS` times in all) while they
    /// catch a running thread between two states, or the read fails.
    pub(super) fn settled(
        &mut self,
        mut read: impl FnMut(&mut Self) -> Result<Vec<Thread>>,
    ) -> Result<Vec<Thread>> {
        for _ in 1..SETTLE_READS {
            match read(self) {
                Err(Error::Sample(_)) => std::thread::sleep(SETTLE_POLL),
                Err(e) => return Err(e),
                Ok(threads) => match self.between(&threads) {
                    None => {
                        self.still = None;
                        return Ok(threads);
                    }
                    // Seen before, and it did not move then: look once more, shortly.
                    Some(caught) if self.still == Some(caught) => std::thread::sleep(SETTLE_POLL),
                    Some(caught) => {
                        // Not a read to give again for a thread that has not run since.
                        self.read_with(None);
                        if !self.moved(caught) {
                            self.still = Some(caught);
                        }
                    }
                },
            }
        }
        read(self)
    }

    /// The thread state and innermost frame of a thread that was running Python (a GIL
    /// holder, or a thread on a CPU) and reads as if caught between two states.
    pub(super) fn between(&self, threads: &[Thread]) -> Option<(u64, Leaf)> {
        threads
            .iter()
            .find(|t| t.holds_gil && self.walker.between_states(t))
            .map(|t| (t.tstate, t.leaf))
    }

    /// Waits, at most `SETTLE`, until this thread's innermost frame is no longer `leaf`. False
    /// if it was not.
    fn moved(&mut self, (tstate, leaf): (u64, Leaf)) -> bool {
        let start = Instant::now();
        loop {
            std::thread::sleep(SETTLE_POLL);
            if !self.walker.unchanged(tstate, leaf).unwrap_or(false) {
                return true;
            }
            if start.elapsed() >= SETTLE {
                return false;
            }
        }
    }
}
