//! `--async` sampling before 3.14, where a task does not record who awaits it: the task a
//! thread's loop runs (`_current_tasks[loop]`), and each task's awaiting task from a map of
//! every task's, built from the registry and built again when a sample needs a task it lacks
//! or a link no longer holds (at most every `REBUILD`, and at most a tenth of the time). A
//! link is used only while the awaiting task still awaits the object it awaited when the map
//! was built (the task, or the `gather()` future standing for it): one read a link.

use std::time::{Duration, Instant};

use super::globals::{awaits, current, registry, running_loop, tasks, Globals, Registry};
use super::tasks::{lenient, ptr, Found};
use super::Offsets;
use crate::hash::Map;
use crate::python::walk::{WalkError, Walker};

/// The map of who awaits whom is read again at most this often.
const REBUILD: Duration = Duration::from_millis(100);
/// Registries remembered at most (one an interpreter).
const MAX_INTERPRETERS: usize = 64;

#[derive(Default)]
pub(super) struct Parents {
    /// By interpreter; an entry is forgotten when a read through it fails.
    registries: Map<u64, Option<Registry>>,
    /// Task -> (the task awaiting it, what that task awaited when the map was built).
    parents: Map<u64, (u64, u64)>,
    built: Option<Instant>,
    /// How long the last build took.
    took: Duration,
    /// The `__asyncio_running_event_loop__` key's address, once found.
    loop_key: u64,
}

impl Parents {
    /// The task the loop of the thread state at `tstate` runs, or 0.
    pub(super) fn running_task(
        &mut self,
        w: &Walker,
        g: &Globals,
        tstate: u64,
    ) -> Result<u64, WalkError> {
        let lp = running_loop(w, g, tstate, &mut self.loop_key)?;
        if lp == 0 {
            return Ok(0);
        }
        let interp = ptr(w, tstate.wrapping_add(w.layout().tstate.interp))?;
        let Some(r) = self.registry(w, g, interp)? else {
            return Ok(0);
        };
        match current(w, g, &r) {
            Ok(by_loop) => Ok(by_loop.get(&lp).copied().unwrap_or(0)),
            Err(e) => {
                self.registries.remove(&interp);
                Err(e)
            }
        }
    }

    fn registry(
        &mut self,
        w: &Walker,
        g: &Globals,
        interp: u64,
    ) -> Result<Option<Registry>, WalkError> {
        if let Some(r) = self.registries.get(&interp) {
            return Ok(*r);
        }
        let r = registry(w, g, interp)?;
        if self.registries.len() >= MAX_INTERPRETERS {
            self.registries.clear();
        }
        // asyncio imported later is looked for again once the map is next built.
        if r.is_some() {
            self.registries.insert(interp, r);
        }
        Ok(r)
    }

    /// The task awaiting `task` in the interpreter at `interp`, or 0.
    pub(super) fn parent(
        &mut self,
        w: &Walker,
        g: &Globals,
        o: &Offsets,
        interp: u64,
        task: u64,
    ) -> Result<u64, WalkError> {
        if let Some(p) = self.holding(w, g, task)? {
            return Ok(p);
        }
        // At most every REBUILD, and at most a tenth of the time spent building.
        let due = self
            .built
            .is_none_or(|b| b.elapsed() >= REBUILD.max(self.took * 10));
        if !due {
            return Ok(0);
        }
        self.build(w, g, o, interp)?;
        Ok(self.holding(w, g, task)?.unwrap_or(0))
    }

    /// The remembered parent of `task` while it still awaits what it awaited.
    fn holding(&self, w: &Walker, g: &Globals, task: u64) -> Result<Option<u64>, WalkError> {
        let Some(&(parent, via)) = self.parents.get(&task) else {
            return Ok(None);
        };
        let waiter = ptr(w, parent.wrapping_add(g.row.task_fut_waiter))?;
        Ok((waiter == via).then_some(parent))
    }

    fn build(
        &mut self,
        w: &Walker,
        g: &Globals,
        o: &Offsets,
        interp: u64,
    ) -> Result<(), WalkError> {
        let start = Instant::now();
        self.built = Some(start);
        self.parents.clear();
        let built = self.fill(w, g, o, interp);
        self.took = start.elapsed();
        built
    }

    fn fill(&mut self, w: &Walker, g: &Globals, o: &Offsets, interp: u64) -> Result<(), WalkError> {
        let Some(r) = self.registry(w, g, interp)? else {
            return Ok(());
        };
        let mut found = Found::default();
        tasks(w, g, o, &r, &mut found)?;
        let known = |a: u64| found.seen.contains(&a);
        for &parent in &found.addrs {
            // A task that cannot be read awaits nothing here.
            let Some(via) = lenient(ptr(w, parent.wrapping_add(g.row.task_fut_waiter)))? else {
                continue;
            };
            for child in lenient(awaits(w, g, parent, &known))?.unwrap_or_default() {
                self.parents.entry(child).or_insert((parent, via));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "parents_hostile_tests.rs"]
mod parents_hostile_tests;
