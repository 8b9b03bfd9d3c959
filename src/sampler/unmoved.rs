//! A thread that has not run since a sample resumed it has the stack that sample read: it is
//! not stopped again for it.
//!
//! At high rates a resumed thread often has not been given a CPU yet when the next sample is
//! due (a vCPU waking from idle takes tens of microseconds): at 10 kHz, 8 samples in 10 found
//! the GIL holder of a busy 3.12 target not scheduled once since it was resumed. Stopping it
//! again then keeps it from running at all, and a signal sent to the process stays pending
//! (the kernel takes a pending stop before a pending signal) until a second one of the same
//! kind merges with it. The count of times a thread was scheduled in (the third field of
//! `/proc/PID/task/TID/schedstat`) tells whether it ran: if it did not, nothing it owns moved,
//! so the sample is the last one's stacks again, and the thread gets to run.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

use super::process::Process;
use crate::python::walk::Thread;

/// Threads whose schedstat is kept open, at most (a target's threads come and go).
const MAX_WATCHED: usize = 256;

/// What is known of the threads the last sample held stopped.
#[derive(Default)]
pub(super) struct Unmoved {
    /// Each thread's schedstat, and how often it had been scheduled in when it was resumed.
    runs: HashMap<i32, (File, u64)>,
    /// The thread states the last sample stopped, and the stacks it read.
    last: Option<(Vec<u64>, Vec<Thread>)>,
}

impl Unmoved {
    /// `tid` was resumed just now.
    pub(super) fn resumed(&mut self, pid: i32, tid: i32) {
        if self.runs.len() >= MAX_WATCHED && !self.runs.contains_key(&tid) {
            self.runs.clear();
        }
        let file = match self.runs.remove(&tid) {
            Some((file, _)) => Some(file),
            None => File::open(format!("/proc/{pid}/task/{tid}/schedstat")).ok(),
        };
        if let Some(file) = file {
            if let Some(runs) = scheduled_in(&file) {
                self.runs.insert(tid, (file, runs));
            }
        }
    }

    /// True when the last sample stopped exactly these GIL holders.
    pub(super) fn stopped(&self, holders: &[u64]) -> bool {
        self.last
            .as_ref()
            .is_some_and(|(states, _)| states.as_slice() == holders)
    }

    /// True when `tid` has not been scheduled in since it was last resumed.
    fn idle_since_resumed(&self, tid: i32) -> bool {
        self.runs
            .get(&tid)
            .is_some_and(|(file, then)| scheduled_in(file) == Some(*then))
    }
}

impl Process {
    /// The last sample's stacks, if it stopped exactly these GIL holders (running as these
    /// kernel threads) and none of them has run since.
    pub(super) fn unmoved(&self, holders: &[u64], tids: &[i32]) -> Option<Vec<Thread>> {
        let (_, threads) = self.unmoved.last.as_ref()?;
        let still = self.unmoved.stopped(holders)
            && !tids.is_empty()
            && tids.iter().all(|&t| self.unmoved.idle_since_resumed(t));
        still.then(|| threads.clone())
    }

    /// Notes the stacks a sample read with these GIL holders stopped (None: forget them).
    pub(super) fn read_with(&mut self, read: Option<(Vec<u64>, Vec<Thread>)>) {
        self.unmoved.last = read;
    }
}

/// How often the thread has been scheduled in, from its open schedstat.
fn scheduled_in(file: &File) -> Option<u64> {
    let mut buf = [0u8; 96];
    let n = file.read_at(&mut buf, 0).ok()?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    text.split_whitespace().nth(2)?.parse().ok()
}
