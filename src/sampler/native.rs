//! `--native` samples: every thread stopped while the Python frames of those to report are
//! walked and their registers and stacks taken; once they run again, each machine stack is
//! unwound and merged with the thread's Python frames.

use super::process::Process;
use super::ATTEMPTS;
use crate::error::{Error, Result};
use crate::python::walk::{Frame, FrameKind, Thread};

/// Bytes of each thread's stack a sample keeps (deeper frames are read once it runs again).
const SAMPLE_WINDOW: usize = 64 << 10;

impl Process {
    /// The stacks to report, native frames merged: those of the GIL holders (free-threaded:
    /// the threads on a CPU), or of every thread with `--threads`.
    pub(super) fn read_native(&mut self) -> Result<Vec<Thread>> {
        for attempt in 1..=ATTEMPTS {
            let running: Option<Vec<u64>> = match self.free_threaded {
                true => Some(self.running_states()?.iter().map(|s| s.0).collect()),
                false => None,
            };
            let read = self.stopping(|s, stopped| {
                let open = s.stop_all_and_open(stopped)?;
                let movers = match running {
                    Some(states) => states,
                    None => s.holders()?,
                };
                let raw = match movers.is_empty() && !s.plan.all_threads {
                    true => Vec::new(),
                    false => s.read_raw(&movers)?,
                };
                // The registers of the threads reported, within what is left of the time
                // they may be kept stopped (which counts from when the stops were seen).
                let tids: Vec<i32> = raw
                    .iter()
                    .filter_map(|t| s.tid_of(t.thread_id, t.native_id))
                    .collect();
                let deadline = s.walker.budget().stop_deadline();
                if let Some(native) = &mut s.native {
                    native.capture(&tids, SAMPLE_WINDOW, deadline);
                }
                Ok(Some((raw, open)))
            })?;
            let missed = self.native.as_ref().is_some_and(|n| n.missed > 0);
            if let Some(mut threads) = read.filter(|_| !missed || attempt == ATTEMPTS) {
                self.merge_native(&mut threads);
                return Ok(threads);
            }
        }
        Err(Error::Sample(
            "the stacks kept changing during every attempt to read them".into(),
        ))
    }

    /// Puts each thread's native frames among its Python frames, where its registers were
    /// taken; a thread whose registers were not (its thread id unknown, or out of stopped time
    /// in every attempt) starts with the `<native frames end here>` marker.
    fn merge_native(&mut self, threads: &mut [Thread]) {
        for t in threads.iter_mut().filter(|t| !t.frames.is_empty()) {
            let tid = self.tid_of(t.thread_id, t.native_id);
            match tid.and_then(|tid| self.native.as_mut()?.thread(tid, t)) {
                Some(n) => t.frames = n.frames,
                None => t.frames.insert(0, Frame::marker(FrameKind::NativeEnd)),
            }
        }
    }
}
