//! Sampling a free-threaded build (3.13t+), which has no GIL: the threads that can move
//! their frames are those on a CPU (state `R` in /proc/PID/task/TID/stat), so a sample takes
//! those: read without stopping and checked first (`unstopped.rs`), else stopped while they
//! are read.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use super::process::Process;
use super::ATTEMPTS;
use crate::attach::Stopping;
use crate::error::{Error, Result};
use crate::proc;
use crate::python::walk::Thread;

impl Process {
    /// Free-threaded: the threads on a CPU now, stopped while they are read.
    pub(super) fn sample_running(&mut self) -> Result<Vec<Thread>> {
        let states = self.running_states()?;
        if states.is_empty() {
            return Ok(Vec::new());
        }
        // A read that ran out of stopped time is checked instead; if the stacks moved, the
        // threads are stopped and read again.
        for _ in 0..ATTEMPTS {
            let mut holders = Vec::new();
            let read = self.stopping(|s, stopped| {
                for &(tstate, tid) in &states {
                    // Stopped time counts from the first stop. A thread that does not stop in
                    // time makes the sample a checked read without stopping.
                    let deadline = s.walker.budget().stop_deadline();
                    match s.tracee.stop(tid, deadline)? {
                        Stopping::Stopped => {
                            stopped.push(tid);
                            holders.push(tstate);
                            s.walker.budget().stopped(Instant::now());
                        }
                        Stopping::Gone => {}
                        Stopping::Late => s.late = true,
                    }
                }
                let open = s.open()?;
                Ok(Some((s.read_raw(&holders)?, open)))
            })?;
            if let Some(threads) = read {
                return Ok(threads);
            }
        }
        Err(Error::Sample(
            "the stacks kept changing during every attempt to read them".into(),
        ))
    }

    /// The thread states that can move their frames (every one with `--threads`), with the
    /// kernel thread id of each as pyflame sees it.
    pub(super) fn running_states(&mut self) -> Result<Vec<(u64, i32)>> {
        // The list of thread states is read while threads come and go: a torn read is tried
        // again before the sample counts as failed.
        let mut states = Ok(Vec::new());
        for _ in 0..ATTEMPTS {
            let open = self.open()?;
            states = self.thread_states();
            drop(open);
            if !matches!(states, Err(Error::Sample(_))) {
                break;
            }
        }
        let mut states = states?;
        // Ids as the target sees them -> as pyflame does; a thread state whose id is not a
        // thread of the target (it is going away) is left out.
        states.retain_mut(|(_, tid)| match self.tasks.find(&[Some(*tid as u32)]) {
            Some(task) => {
                *tid = task.outer;
                true
            }
            None => false,
        });
        // Forget the stat files of threads that are gone.
        let live: crate::hash::Set<i32> = states.iter().map(|s| s.1).collect();
        self.stats.retain(|tid, _| live.contains(tid));
        if !self.plan.all_threads {
            states.retain(|&(_, tid)| self.on_cpu(tid));
        }
        Ok(states)
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
