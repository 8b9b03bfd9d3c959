//! Tasks of 3.8 to 3.13, whose `_asyncio` publishes no offsets: found from the globals of
//! `asyncio.tasks` (through `sys.modules`): its WeakSet of scheduled tasks (`_all_tasks` in
//! 3.11), its set of eager tasks (3.12+) and `_current_tasks` (each running loop's task); a
//! thread's loop from its thread state. Where the objects keep their members is a row of the
//! per-version table (`layout::asyncio`). Who awaits a task is the reverse of what tasks
//! await: a task, or a `gather()` future standing for its `_children`.

use super::dicts::{attribute, get, get_keyed, items, list_items};
use super::objects::{set_members, MAX_REGISTRY_SET};
use super::tasks::{lenient, ptr, Found, Task};
use super::{Offsets, Unavailable};
use crate::hash::{Map, Set};
use crate::memory::Memory;
use crate::python::debug_offsets;
use crate::python::layout::{asyncio, Asyncio, RunningLoop};
use crate::python::walk::{WalkError, Walker};
use crate::python::Runtime;

/// `sys.modules` and the thread state's size, beside the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Globals {
    pub row: Asyncio,
    pub modules: u64,
    pub tstate_size: u64,
}

/// What `asyncio.tasks` holds in one interpreter, found once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Registry {
    /// The WeakSet's `data`: a set of weak references to tasks.
    pub scheduled: u64,
    pub eager: u64,
    pub current: u64,
}

/// The offsets for a 3.8 to 3.13 `runtime`; None for other versions.
pub(super) fn offsets(runtime: &Runtime, mem: &dyn Memory) -> Option<Result<Offsets, Unavailable>> {
    let v = runtime.version;
    let row = asyncio(v.major, v.minor)?;
    let layout = &runtime.layout;
    let head = layout.objects.ob_type + 8;
    let row = row.shifted(head.saturating_sub(16));
    let (modules, tstate_size) = match row.modules {
        Some(m) => (m, layout.tstate.size),
        None => {
            let garbage = |why: String| Unavailable::Garbage(why);
            let Some(at) = runtime.roots.runtime else {
                return Some(Err(garbage("no _PyRuntime".into())));
            };
            let mut table = [0u8; debug_offsets::READ_LEN];
            if let Err(e) = mem.read(at, &mut table) {
                return Some(Err(garbage(format!("cannot read _PyRuntime: {e}"))));
            }
            let d = |g: &str, m: &str| debug_offsets::member(&table, g, m).unwrap_or(u64::MAX);
            (
                d("interpreter_state", "imports_modules"),
                d("thread_state", "size"),
            )
        }
    };
    if modules >= layout.interp.size.max(1 << 20) || tstate_size > 1 << 16 {
        return Some(Err(Unavailable::Garbage(
            "the interpreter's tables make no sense".into(),
        )));
    }
    let unknown = u64::MAX;
    Some(Ok(Offsets {
        task_size: row.task_size,
        task_name: row.task_name,
        task_awaited_by: unknown,
        task_is_task: unknown,
        task_awaited_by_is_set: unknown,
        task_coro: row.task_coro,
        task_node: unknown,
        fut_loop: row.fut_loop,
        fut_state: row.fut_state,
        task_fut_waiter: row.task_fut_waiter,
        interp_tasks_head: unknown,
        tstate_running_loop: unknown,
        tstate_running_task: unknown,
        tstate_tasks_head: unknown,
        llist_next: unknown,
        gen_size: unknown,
        gi_iframe: unknown,
        gi_frame_state: unknown,
        stackpointer: unknown,
        set_used: row.set_used,
        set_table: row.set_table,
        set_mask: row.set_mask,
        long_tag: row.long_tag,
        long_digit: row.long_digit,
        ob_type: layout.objects.ob_type,
        tag_bits: 0,
        // FRAME_SUSPENDED (3.11, 3.12) or FRAME_SUSPENDED_YIELD_FROM (3.13): -1; the first
        // two also suspend at a bare `yield`, which the coroutine type check passes over
        // (so do frame objects, to 3.10, which have no such state).
        yield_from: (-1, -1),
        cleared: 4,
        awaited_slot: 1,
        frame: Some(row.frame),
        globals: Some(Globals {
            row,
            modules,
            tstate_size,
        }),
    }))
}

/// `asyncio.tasks`' registry in the interpreter at `interp`; None when asyncio is not
/// imported there.
pub(super) fn registry(
    w: &Walker,
    g: &Globals,
    interp: u64,
) -> Result<Option<Registry>, WalkError> {
    let a = &g.row;
    let modules = ptr(w, interp.wrapping_add(g.modules))?;
    let Some(module) = get(w, a, modules, "asyncio.tasks")? else {
        return Ok(None);
    };
    let globals = ptr(w, module.wrapping_add(a.md_dict))?;
    let find =
        |name: &str| -> Result<u64, WalkError> { Ok(get(w, a, globals, name)?.unwrap_or(0)) };
    let scheduled = match find(a.scheduled)? {
        0 => 0,
        // A WeakSet that cannot be read loses its tasks, not the eager and running ones.
        weakset => lenient(attribute(w, a, weakset, "data"))?
            .flatten()
            .unwrap_or(0),
    };
    let eager = match a.eager {
        Some(name) => find(name)?,
        None => 0,
    };
    Ok(Some(Registry {
        scheduled,
        eager,
        current: find("_current_tasks")?,
    }))
}

/// The loop the thread state at `tstate` runs, or 0.
/// `key`: the address of the `__asyncio_running_event_loop__` string once found (0 before),
/// compared first so that a sample compares no strings.
pub(super) fn running_loop(
    w: &Walker,
    g: &Globals,
    tstate: u64,
    key: &mut u64,
) -> Result<u64, WalkError> {
    match g.row.running_loop {
        RunningLoop::AfterThreadState => ptr(w, tstate.wrapping_add(g.tstate_size)),
        RunningLoop::Dict { dict, holder } => {
            let dict = ptr(w, tstate.wrapping_add(dict))?;
            if dict == 0 {
                return Ok(0);
            }
            let found = get_keyed(w, &g.row, dict, "__asyncio_running_event_loop__", key)?;
            match (found, holder) {
                (None, _) => Ok(0),
                (Some(lp), None) => Ok(lp),
                (Some(h), Some(at)) => ptr(w, h.wrapping_add(at)),
            }
        }
    }
}

/// The task each running loop runs (`_current_tasks`), by loop.
pub(super) fn current(w: &Walker, g: &Globals, r: &Registry) -> Result<Map<u64, u64>, WalkError> {
    Ok(match r.current {
        0 => Map::default(),
        d => items(w, &g.row, d)?.into_iter().collect(),
    })
}

/// Every task of the registry `r`, added to `found` (at most `MAX_TASKS` in all): the
/// objects of the scheduled WeakSet's live references and of the eager set that are tasks.
/// A set read in part (past `MAX_REGISTRY_SET` slots, or cut short) cuts `found`.
pub(super) fn tasks(
    w: &Walker,
    g: &Globals,
    o: &Offsets,
    r: &Registry,
    found: &mut Found,
) -> Result<(), WalkError> {
    let mut members = Vec::new();
    let mut set = |at: u64| -> Result<Vec<u64>, WalkError> {
        let (keys, unread) = lenient(set_members(w, o, at, MAX_REGISTRY_SET))?.unwrap_or_default();
        found.cut |= unread;
        Ok(keys)
    };
    if r.scheduled != 0 {
        for reference in set(r.scheduled)? {
            if let Some(t) = lenient(ptr(w, reference.wrapping_add(g.row.wr_object)))? {
                members.push(t);
            }
        }
    }
    if r.eager != 0 {
        members.extend(set(r.eager)?);
    }
    let mut types = TaskTypes::default();
    for t in members {
        if !found.seen.contains(&t) && types.is_task(w, g, t)? && !found.add_task(t) {
            break;
        }
    }
    Ok(())
}

/// Every thread state's loop and the task it runs, and every task, of every interpreter.
pub(super) fn read_registry(
    w: &Walker,
    g: &Globals,
    o: &Offsets,
    found: &mut Found,
) -> Result<(), WalkError> {
    for interp in w.interpreters()? {
        let Some(r) = lenient(registry(w, g, interp))?.flatten() else {
            continue;
        };
        let current = lenient(current(w, g, &r))?.unwrap_or_default();
        let mut key = 0;
        // An interpreter whose thread list cannot be read still has its tasks.
        for t in lenient(w.thread_states(interp))?.unwrap_or_default() {
            let Some(lp) = lenient(running_loop(w, g, t, &mut key))? else {
                continue;
            };
            if let Some(&task) = current.get(&lp).filter(|_| lp != 0) {
                found.running.insert(task, t);
            }
            found.add_loop(lp, Some(t));
        }
        tasks(w, g, o, &r, found)?;
    }
    Ok(())
}

/// What the task at `task` awaits among `known` tasks: the task its `fut_waiter` is, or the
/// tasks a `gather()` future it waits for gathers.
pub(super) fn awaits(
    w: &Walker,
    g: &Globals,
    task: u64,
    known: &dyn Fn(u64) -> bool,
) -> Result<Vec<u64>, WalkError> {
    let waiter = ptr(w, task.wrapping_add(g.row.task_fut_waiter))?;
    if waiter == 0 {
        return Ok(Vec::new());
    }
    if known(waiter) {
        return Ok(vec![waiter]);
    }
    let children = match lenient(attribute(w, &g.row, waiter, "_children"))?.flatten() {
        Some(list) => lenient(list_items(w, &g.row, list))?.unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(children.into_iter().filter(|&c| known(c)).collect())
}

/// Fills each task's `awaited_by`: the reverse of what the tasks await.
pub(super) fn awaited_by(w: &Walker, g: &Globals, tasks: &mut [Task]) -> Result<(), WalkError> {
    let index: Map<u64, usize> = tasks.iter().enumerate().map(|(i, t)| (t.addr, i)).collect();
    let known = |a: u64| index.contains_key(&a);
    for i in 0..tasks.len() {
        let by = tasks[i].addr;
        // Each task is `by` once and its children are made unique here, so a link is added
        // once without searching the child's others (quadratic when many share children).
        let mut children = lenient(awaits(w, g, by, &known))?.unwrap_or_default();
        children.sort_unstable();
        children.dedup();
        for child in children {
            tasks[index[&child]].awaited_by.push(by);
        }
    }
    Ok(())
}

/// Which types are `_asyncio.Task` or derive from it, remembered by address.
#[derive(Default)]
pub(super) struct TaskTypes {
    yes: Set<u64>,
    no: Set<u64>,
}

/// Base classes followed at most from a task's type to `_asyncio.Task`.
const MAX_BASES: usize = 16;

impl TaskTypes {
    pub(super) fn is_task(&mut self, w: &Walker, g: &Globals, obj: u64) -> Result<bool, WalkError> {
        let Some(ty) = lenient(ptr(w, obj.wrapping_add(w.layout().objects.ob_type)))? else {
            return Ok(false);
        };
        if self.yes.contains(&ty) || self.no.contains(&ty) {
            return Ok(self.yes.contains(&ty));
        }
        let mut t = ty;
        let mut task = false;
        for _ in 0..MAX_BASES {
            if t == 0 {
                break;
            }
            let Some(name) = lenient(ptr(w, t.wrapping_add(w.layout().objects.tp_name)))? else {
                break;
            };
            if type_name_is(w, name, "_asyncio.Task")? {
                task = true;
                break;
            }
            t = match lenient(ptr(w, t.wrapping_add(g.row.tp_base)))? {
                Some(b) => b,
                None => break,
            };
        }
        if self.yes.len() + self.no.len() < 1024 {
            match task {
                true => self.yes.insert(ty),
                false => self.no.insert(ty),
            };
        }
        Ok(task)
    }
}

/// Whether the C string at `at` is `want`.
fn type_name_is(w: &Walker, at: u64, want: &str) -> Result<bool, WalkError> {
    let mut b = [0u8; 32];
    let b = &mut b[..want.len() + 1];
    match w.mem().read(at, b) {
        Ok(()) => Ok(&b[..want.len()] == want.as_bytes() && b[want.len()] == 0),
        Err(_) => Ok(false),
    }
}

#[cfg(test)]
#[path = "globals_hostile_tests.rs"]
mod globals_hostile_tests;
