//! `-d --native`: the dump's threads with their native frames, and what could not be read.

use crate::native::threads::{Native, NativeThread};
use crate::proc::TaskId;
use crate::python::walk::Thread;

/// Puts each thread's native frames into its stack (`threads` and `found`, its task, are
/// aligned); returns what each thread is waiting in, aligned too, with no frames for a thread
/// whose registers were not taken (its task unknown, out of stopped time).
pub fn merge(
    native: &mut Native,
    threads: &mut [Thread],
    found: &[Option<TaskId>],
) -> Vec<NativeThread> {
    threads
        .iter_mut()
        .zip(found)
        .map(|(t, task)| {
            let merged = task.and_then(|k| native.thread(k.outer, t));
            match merged {
                Some(n) => {
                    t.frames = n.frames.clone();
                    n
                }
                None => NativeThread {
                    frames: Vec::new(),
                    states: Vec::new(),
                    name: None,
                },
            }
        })
        .collect()
}

/// The dump's note about threads shown without native frames.
pub fn note(without: usize) -> Option<String> {
    match without {
        0 => None,
        1 => Some("1 thread is shown without native frames (its thread id or registers could not be read in the stopped time)".into()),
        n => Some(format!("{n} threads are shown without native frames (their thread ids or registers could not be read in the stopped time)")),
    }
}
