//! `--native` samples: every thread stopped while the Python frames of those to report are
//! walked and their registers and stacks taken; once they run again, each machine stack is
//! unwound and merged with the thread's Python frames.

use std::time::Instant;

use super::process::Process;
use super::ATTEMPTS;
use crate::error::{Error, Result};
use crate::python::walk::Thread;

/// Bytes of each thread's stack a sample keeps (deeper frames are read once it runs again).
const SAMPLE_WINDOW: usize = 64 << 10;

impl Process {
    /// The stacks to report, native frames merged: those of the GIL holders (free-threaded:
    /// the threads on a CPU), or of every thread with `--threads`.
    pub(super) fn read_native(&mut self) -> Result<Vec<Thread>> {
        for _ in 0..ATTEMPTS {
            let running: Option<Vec<u64>> = match self.free_threaded {
                true => Some(self.running_states()?.iter().map(|s| s.0).collect()),
                false => None,
            };
            let read = self.stopping(|s, stopped| {
                let deadline = s.walker.budget().stop_deadline();
                s.tracee.stop_all(deadline)?;
                stopped.extend(s.tracee.stopped_tids());
                s.walker.budget().stopped(Instant::now());
                let open = s.open()?;
                let movers = match running {
                    Some(states) => states,
                    None => s.holders()?,
                };
                let raw = match movers.is_empty() && !s.plan.all_threads {
                    true => Vec::new(),
                    false => s.read_raw(&movers)?,
                };
                if let Some(native) = &mut s.native {
                    native.capture(stopped, SAMPLE_WINDOW, deadline);
                }
                Ok(Some((raw, open)))
            })?;
            if let Some(mut threads) = read {
                self.merge_native(&mut threads);
                return Ok(threads);
            }
        }
        Err(Error::Sample(
            "the stacks kept changing during every attempt to read them".into(),
        ))
    }

    /// Puts each thread's native frames among its Python frames, where its registers were
    /// taken (else it stays as it is).
    fn merge_native(&mut self, threads: &mut [Thread]) {
        for t in threads.iter_mut().filter(|t| !t.frames.is_empty()) {
            let Some(tid) = self.tid_of(t.thread_id, t.native_id) else {
                continue;
            };
            if let Some(n) = self.native.as_mut().and_then(|n| n.thread(tid, t)) {
                t.frames = n.frames;
            }
        }
    }
}
