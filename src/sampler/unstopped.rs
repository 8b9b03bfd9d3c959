//! A sample of a GIL build read without stopping anything, then checked.
//!
//! Everything the read used is looked at again a moment later: who holds the GIL, each
//! thread's pointer to its innermost frame, and every frame's code pointer, link to the next
//! frame out and position (but the innermost frame's position, which moves as it runs while
//! the frame stays). The read stands only if nothing changed. Then every frame reported is
//! the one that was there at the second look, so the stack is one the thread really had. The
//! second look costs no system call when the batch the read came from was read twice in one
//! (`Prefetcher::recheck`), which it is in the steady state of a sample.
//!
//! This is how every sample is read first. The default mode stops the GIL holders only when
//! such reads keep failing their check (a stack changing as fast as Python can call), or
//! cannot be checked (a stack deeper than the frames whose links are kept); `--nonblocking`
//! never stops anything, and such a sample fails.

use super::process::Process;
use crate::error::{Error, Result};
use crate::python::walk::{Thread, WalkError};

/// Samples that skip the read without stopping after one found a stack too deep to check.
const DEEP_SKIP: u32 = 64;

impl Process {
    /// The stacks to report, read without stopping anything and checked. None: something
    /// the read used changed meanwhile.
    pub(super) fn read_unstopped(&mut self) -> Result<Option<Vec<Thread>>> {
        if self.free_threaded {
            return self.read_running_unstopped();
        }
        let open = self.open()?;
        let mut expect = Vec::new();
        self.refresh_gils()?;
        let gils = self.gils.as_ref().map_or(&[][..], |(_, g)| g.as_slice());
        let holders = self.walker.holders_expect(gils, &mut expect)?;
        if holders.is_empty() && !self.plan.all_threads {
            // Nobody holds the GIL: no Python stack can change until someone takes it.
            return Ok(Some(Vec::new()));
        }
        let raw = self.read_raw(&holders)?;
        let checkable = raw.iter().all(|t| self.walker.expect(t, &mut expect));
        if !checkable {
            // Too deep (or not read to its end): the innermost frames are checked instead,
            // as far as `--nonblocking` goes; the default mode stops the holders for it.
            self.deep = DEEP_SKIP;
            let threads = self.name(raw)?;
            drop(open);
            return self.leaves_unchanged(&holders, threads);
        }
        let same = self
            .prefetch
            .recheck(&expect)
            .map_err(|e| Error::from(WalkError::read("memory")(e)))?;
        if !same {
            self.moved += 1;
            return Ok(None);
        }
        let threads = self.name(raw)?;
        drop(open);
        Ok(Some(threads))
    }

    /// `threads`, if the innermost frame of every GIL holder among them is still the one
    /// read (and, when nobody held the GIL, nobody took it).
    fn leaves_unchanged(
        &mut self,
        holders: &[u64],
        threads: Vec<Thread>,
    ) -> Result<Option<Vec<Thread>>> {
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
}
