//! Sampling a free-threaded build (3.13t+), which has no GIL: the threads that can move
//! their frames are those on a CPU (state `R` in /proc/PID/task/TID/stat), so a sample takes
//! those, stopped while they are read, or with `--nonblocking` checked instead.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::{Sampler, ATTEMPTS};
use crate::error::{Error, Result};
use crate::proc;
use crate::python::walk::Thread;

impl Sampler<'_> {
    /// Free-threaded: the threads on a CPU now, stopped while they are read (unless
    /// `--nonblocking`, which checks their innermost frames instead; with `--threads`, it
    /// reads and checks every thread).
    pub(super) fn sample_running(&mut self) -> Result<Vec<Thread>> {
        // The list of thread states is read while threads come and go: a torn read is tried
        // again before the sample counts as failed.
        let mut states = Ok(Vec::new());
        for _ in 0..ATTEMPTS {
            self.open_batch()?;
            states = self.thread_states();
            self.prefetch.end();
            if !matches!(states, Err(Error::Sample(_))) {
                break;
            }
        }
        let mut states = states?;
        // Ids as the target sees them -> as pyflame does; a thread state whose id is not a
        // thread of the target (it is going away) is left out.
        states.retain_mut(|(_, tid)| match self.outer_tid(&[Some(*tid as u32)]) {
            Some(outer) => {
                *tid = outer;
                true
            }
            None => false,
        });
        // Forget the stat files of threads that are gone.
        let live: std::collections::HashSet<i32> = states.iter().map(|s| s.1).collect();
        self.stats.retain(|tid, _| live.contains(tid));
        if !self.plan.all_threads {
            states.retain(|&(_, tid)| self.on_cpu(tid));
        }
        if states.is_empty() {
            return Ok(Vec::new());
        }
        if self.plan.nonblocking {
            let holders: Vec<u64> = states.iter().map(|s| s.0).collect();
            for _ in 0..ATTEMPTS {
                let threads = self.walk(&holders)?;
                let mut same = true;
                for t in &threads {
                    same &= self.walker.unchanged(t.tstate, t.leaf)?;
                }
                if same {
                    return Ok(threads);
                }
            }
            return Err(Error::Sample(
                "the stacks kept changing during every attempt to read them".into(),
            ));
        }
        let mut stopped = Vec::new();
        let mut holders = Vec::new();
        let mut result = Ok(());
        for &(tstate, tid) in &states {
            match self.tracee.stop(tid) {
                Ok(true) => {
                    stopped.push(tid);
                    holders.push(tstate);
                }
                // It exited meanwhile.
                Ok(false) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let threads = result.and_then(|()| self.walk(&holders));
        for tid in stopped {
            self.tracee.resume(tid);
        }
        threads
    }

    /// Every thread state with the kernel thread id it records (3.13+ always does).
    fn thread_states(&self) -> Result<Vec<(u64, i32)>> {
        let mut found = Vec::new();
        for interp in self.walker.interpreters()? {
            for tstate in self.walker.thread_states(interp)? {
                if let (_, Some(tid)) = self.walker.thread_ids(tstate)? {
                    found.push((tstate, tid as i32));
                }
            }
        }
        Ok(found)
    }

    /// Whether thread `tid` of the target is on a CPU (or waiting for one) now: state `R` in
    /// its `stat`, kept open between samples so that a check is one pread.
    fn on_cpu(&mut self, tid: i32) -> bool {
        let pid = self.pid;
        let Some(file) = self
            .stats
            .entry(tid)
            .or_insert_with(|| File::open(format!("/proc/{pid}/task/{tid}/stat")).ok())
        else {
            // Not a thread of the target (a reused or foreign id): never seized.
            self.stats.remove(&tid);
            return false;
        };
        let mut buf = [0u8; 512];
        match file.read_at(&mut buf, 0) {
            Ok(n) => proc::task_state(&buf[..n]) == Some(b'R'),
            Err(_) => {
                self.stats.remove(&tid);
                false
            }
        }
    }
}
