//! Sampling a free-threaded build (3.13t+), which has no GIL: the threads that can move
//! their frames are those on a CPU (state `R` in /proc/PID/task/TID/stat), so a sample takes
//! those, stopped while they are read, or with `--nonblocking` checked instead.

use super::{Sampler, ATTEMPTS};
use crate::error::{Error, Result};
use crate::proc;
use crate::python::walk::Thread;

impl Sampler<'_> {
    /// Free-threaded: the threads on a CPU now, stopped while they are read (unless
    /// `--nonblocking`, which checks their innermost frames instead; with `--threads`, it
    /// reads and checks every thread).
    pub(super) fn sample_running(&mut self) -> Result<Vec<Thread>> {
        let running = match self.plan.all_threads {
            true => proc::tasks(self.pid),
            false => proc::running_tasks(self.pid),
        }
        .map_err(|_| Error::TargetGone)?;
        if running.is_empty() {
            return Ok(Vec::new());
        }
        // The list of thread states is read while threads come and go: a torn read is tried
        // again before the sample counts as failed.
        let mut states = Ok(Vec::new());
        for _ in 0..ATTEMPTS {
            self.open_batch()?;
            states = self.thread_states_of(&running);
            self.prefetch.end();
            if !matches!(states, Err(Error::Sample(_))) {
                break;
            }
        }
        let states = states?;
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

    /// The thread states (with their kernel thread ids) of these kernel threads.
    fn thread_states_of(&self, tids: &[i32]) -> Result<Vec<(u64, i32)>> {
        let mut found = Vec::new();
        for interp in self.walker.interpreters()? {
            for tstate in self.walker.thread_states(interp)? {
                if let (_, Some(tid)) = self.walker.thread_ids(tstate)? {
                    if tids.contains(&(tid as i32)) {
                        found.push((tstate, tid as i32));
                    }
                }
            }
        }
        Ok(found)
    }
}
