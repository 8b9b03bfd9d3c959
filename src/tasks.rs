//! The target's threads as both PID namespaces number them: a thread id read from the target's
//! memory (`native_thread_id`, glibc's `struct pthread`) is in the target's namespace, which may
//! not be pyflame's (a container seen from the host). The one place such an id is turned into
//! a thread of the target, or refused: never let it name some other process.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::proc::{self, TaskId};

/// How soon /proc/PID/task is read again for an id that is not a thread: a target whose thread
/// states hold ids of no thread cannot make pyflame list its threads at every look.
const REREAD: Duration = Duration::from_millis(50);

pub struct Tasks {
    pid: i32,
    /// Thread id as the target sees it -> as pyflame sees it, from NSpid in /proc/PID/task.
    by_inner: HashMap<i32, i32>,
    read_at: Option<Instant>,
}

impl Tasks {
    /// Nothing is read until a thread is looked for.
    pub fn new(pid: i32) -> Tasks {
        Tasks {
            pid,
            by_inner: HashMap::new(),
            read_at: None,
        }
    }

    /// The first of these thread ids (as the target sees them) that is a thread of the target,
    /// with its id as pyflame sees it. /proc/PID/task is read again only when none is known
    /// (a thread that started since), at most once per `REREAD`.
    pub fn find(&mut self, inner: &[Option<u32>]) -> Option<TaskId> {
        let find = |map: &HashMap<i32, i32>| {
            inner.iter().flatten().find_map(|&tid| {
                // 0: no thread (glibc clears its copy when the thread exits).
                let tid = i32::try_from(tid).ok().filter(|&tid| tid > 0)?;
                let outer = *map.get(&tid)?;
                Some(TaskId { outer, inner: tid })
            })
        };
        if let Some(task) = find(&self.by_inner) {
            return Some(task);
        }
        if self.read_at.is_some_and(|at| at.elapsed() < REREAD) {
            return None;
        }
        self.read_at = Some(Instant::now());
        self.by_inner = proc::task_ids(self.pid)
            .unwrap_or_default()
            .into_iter()
            .map(|k| (k.inner, k.outer))
            .collect();
        find(&self.by_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_our_own_threads_and_nothing_else() {
        let pid = std::process::id() as i32;
        let mut tasks = Tasks::new(pid);
        let me = TaskId {
            outer: pid,
            inner: pid,
        };
        assert_eq!(tasks.find(&[Some(pid as u32)]), Some(me));
        // The first id that is a thread wins; ids that are not (or do not fit) are passed over.
        assert_eq!(
            tasks.find(&[None, Some(u32::MAX), Some(pid as u32)]),
            Some(me)
        );
        assert_eq!(tasks.find(&[Some(1)]), None);
        assert_eq!(tasks.find(&[]), None);
    }
}
