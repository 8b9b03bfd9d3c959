//! Every task of a process, read while it runs: the lists of tasks of each thread state and
//! interpreter (`asyncio_tasks_head`, linked through each task's `task_node`; before 3.14
//! `asyncio.tasks`' globals, see `globals.rs`), then for each
//! task its name, state, coroutine stack (each suspended coroutine's frame, then the one it
//! awaits, read from the top of its frame's value stack), what it awaits (`task_fut_waiter`)
//! and who awaits it (`task_awaited_by`: one task, or a set of them). Bounded: at most
//! `MAX_TASKS` tasks, `MAX_CHAIN` coroutines a task, `MAX_SET` slots of a set, all within the
//! walker's budget; a task that cannot be read is counted, not fatal.

use super::objects::{coroutine, future_name, set_members, task_name, MAX_SET};
use super::Offsets;
use crate::bytes::{i32_at, u64_at, u8_at};
use crate::hash::{Map, Set};
use crate::memory::Memory;
use crate::python::types::Types;
use crate::python::walk::{Frame, FrameKind, Thread, WalkError, Walker, UNREADABLE};

/// Tasks read at most: beyond, the dump says it was cut.
pub const MAX_TASKS: usize = 10_000;
/// The bytes of a task object read (3.14's is under 200).
const TASK_READ: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The task a thread is running now.
    Running,
    Pending,
    Done,
    Cancelled,
}

/// What a task awaits, from its `task_fut_waiter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiter {
    Task(u64),
    /// Another future: `asyncio.sleep` when the task's innermost frame is asyncio's sleep,
    /// else its type's name.
    Future(String),
}

#[derive(Debug, Clone)]
pub struct Task {
    pub addr: u64,
    pub name: String,
    pub state: State,
    /// Its coroutines' frames, innermost first; a running task's are its thread's frames out
    /// to its own coroutine's.
    pub frames: Vec<Frame>,
    /// The tasks awaiting it.
    pub awaited_by: Vec<u64>,
    pub waiter: Option<Waiter>,
    pub loop_addr: u64,
}

/// An event loop: the tasks whose `fut_loop` it is, and the thread state running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loop {
    pub addr: u64,
    pub tstate: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Tasks {
    pub tasks: Vec<Task>,
    /// By address.
    pub loops: Vec<Loop>,
    /// More than `MAX_TASKS`, a budget ran out, or a registry's set was read in part.
    pub cut: bool,
    /// Tasks that could not be read.
    pub unreadable: usize,
}

/// What a registry yields: each running task's thread state, the loops, and every task's
/// address once (at most `MAX_TASKS`; `cut` when there were more).
#[derive(Default)]
pub(super) struct Found {
    pub running: Map<u64, u64>,
    pub loops: Vec<Loop>,
    pub addrs: Vec<u64>,
    pub seen: Set<u64>,
    pub cut: bool,
}

impl Found {
    /// The loop at `lp` (0: none), run by the thread state `tstate` if known.
    pub fn add_loop(&mut self, lp: u64, tstate: Option<u64>) {
        if lp != 0 && !self.loops.iter().any(|l| l.addr == lp) {
            self.loops.push(Loop { addr: lp, tstate });
        }
    }

    /// The task at `task`, unless seen already. False once `MAX_TASKS` are found.
    pub fn add_task(&mut self, task: u64) -> bool {
        if self.addrs.len() >= MAX_TASKS {
            self.cut = true;
            return false;
        }
        if self.seen.insert(task) {
            self.addrs.push(task);
        }
        true
    }
}

/// Every task of the process behind `w`. `threads` are the thread dump's, whose frames a
/// running task's stack is taken from.
pub fn read(w: &mut Walker, o: &Offsets, threads: &[Thread]) -> Result<Tasks, WalkError> {
    let mut out = Tasks::default();
    let mut found = Found::default();
    // A budget that runs out while the registry is read keeps the tasks found so far.
    let read = match &o.globals {
        Some(g) => super::globals::read_registry(w, g, o, &mut found),
        None => registry(w, o, &mut found),
    };
    match read {
        Err(WalkError::Budget(_)) => out.cut = true,
        other => other?,
    }
    let running: Vec<u64> = found.running.keys().copied().collect();
    for task in running {
        found.add_task(task);
    }
    out.cut |= found.cut;
    let Found {
        running,
        mut loops,
        addrs,
        seen,
        ..
    } = found;
    let mut types = Types::default();
    for addr in addrs {
        match task(w, o, addr, &running, threads, &seen, &mut types) {
            Ok(t) => out.tasks.push(t),
            Err(WalkError::Budget(_)) => {
                out.cut = true;
                break;
            }
            Err(e) if e.is_local() => out.unreadable += 1,
            Err(e) => return Err(e),
        }
    }
    if let Some(g) = &o.globals {
        match super::globals::awaited_by(w, g, &mut out.tasks) {
            Err(WalkError::Budget(_)) => out.cut = true,
            other => other?,
        }
    }
    for t in &out.tasks {
        if t.loop_addr != 0 && !loops.iter().any(|l| l.addr == t.loop_addr) {
            loops.push(Loop {
                addr: t.loop_addr,
                tstate: None,
            });
        }
    }
    crate::order::by_key(&mut loops, |l| l.addr);
    out.loops = loops;
    Ok(out)
}

/// Every thread state's running loop and task, and every task of every list, each read on its
/// own: a thread state or a list that cannot be read is passed over.
fn registry(w: &Walker, o: &Offsets, found: &mut Found) -> Result<(), WalkError> {
    let mut heads = Vec::new();
    for interp in w.interpreters()? {
        heads.push(interp.wrapping_add(o.interp_tasks_head));
        // An interpreter whose thread list cannot be read still has its tasks.
        for t in lenient(w.thread_states(interp))?.unwrap_or_default() {
            let read = |off: u64| lenient(ptr(w, t.wrapping_add(off)));
            let (Some(lp), Some(task)) =
                (read(o.tstate_running_loop)?, read(o.tstate_running_task)?)
            else {
                continue;
            };
            heads.push(t.wrapping_add(o.tstate_tasks_head));
            if task != 0 {
                found.running.insert(task, t);
            }
            found.add_loop(lp, Some(t));
        }
    }
    for head in heads {
        if !list(w, o, head, found)? {
            break;
        }
    }
    Ok(())
}

/// A read that may fail for what it read: None then, and the caller goes on without it.
pub(super) fn lenient<T>(r: Result<T, WalkError>) -> Result<Option<T>, WalkError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_local() => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) fn ptr(w: &Walker, addr: u64) -> Result<u64, WalkError> {
    w.mem().u64(addr).map_err(WalkError::read("asyncio state"))
}

/// Appends the tasks of the list at `head` (a `struct llist_node` whose `next` leads through
/// each task's `task_node` back to it). False once `MAX_TASKS` are found.
fn list(w: &Walker, o: &Offsets, head: u64, found: &mut Found) -> Result<bool, WalkError> {
    let next = |node: u64| ptr(w, node.wrapping_add(o.llist_next));
    let Some(mut node) = lenient(next(head))? else {
        return Ok(true);
    };
    while node != head && node != 0 {
        let task = node.wrapping_sub(o.task_node);
        // A list that loops elsewhere than its head ends at the first task seen again.
        if found.seen.contains(&task) {
            break;
        }
        if !found.add_task(task) {
            return Ok(false);
        }
        // A node whose link cannot be read ends the list; its task is counted as unreadable
        // when it is read.
        node = match lenient(next(node))? {
            Some(n) => n,
            None => break,
        };
    }
    Ok(true)
}

#[allow(clippy::too_many_arguments)]
fn task(
    w: &mut Walker,
    o: &Offsets,
    addr: u64,
    running: &Map<u64, u64>,
    threads: &[Thread],
    tasks: &Set<u64>,
    types: &mut Types,
) -> Result<Task, WalkError> {
    let mut b = [0u8; TASK_READ];
    let b = &mut b[..(o.task_size as usize).min(TASK_READ)];
    w.mem()
        .read(addr, b)
        .map_err(WalkError::read("task object"))?;
    let short = || WalkError::Garbage(format!("task object at {addr:#x} is short"));
    let word = |off: u64| u64_at(b, off as usize).ok_or_else(short);
    let (name, coro, loop_addr) = (word(o.task_name)?, word(o.task_coro)?, word(o.fut_loop)?);
    let waiter = word(o.task_fut_waiter)?;
    // Before 3.14 who awaits a task is found from the others (`globals::awaited_by`).
    let (awaited, is_set) = match o.globals {
        Some(_) => (0, false),
        None => (
            word(o.task_awaited_by)?,
            u8_at(b, o.task_awaited_by_is_set as usize).ok_or_else(short)? != 0,
        ),
    };
    let state = match (running.get(&addr), i32_at(b, o.fut_state as usize)) {
        (Some(_), _) => State::Running,
        (None, Some(0)) => State::Pending,
        (None, Some(1)) => State::Cancelled,
        (None, Some(2)) => State::Done,
        _ => return Err(short()),
    };
    let name = lenient(task_name(w, o, types, name))?.unwrap_or_else(|| UNREADABLE.into());
    let mut frames = match coro {
        0 => Vec::new(),
        c => coroutine(w, o, c)?,
    };
    // A running task's coroutine is on its thread's stack, with whatever it is calling.
    if let Some(t) = running
        .get(&addr)
        .and_then(|ts| threads.iter().find(|t| t.tstate == *ts))
    {
        if let Some(outer) = frames.last().filter(|f| f.code.kind == FrameKind::Python) {
            let same = |f: &Frame| {
                f.code.filename == outer.code.filename && f.code.name == outer.code.name
            };
            if let Some(at) = t.frames.iter().rposition(same) {
                frames = t.frames[..=at].to_vec();
            }
        }
    }
    let awaited_by = match (awaited, is_set) {
        (0, _) => Vec::new(),
        (a, false) => vec![a],
        // A set that cannot be read leaves the task without waiters, not unreadable.
        (a, true) => {
            lenient(set_members(w, o, a, MAX_SET))?
                .unwrap_or_default()
                .0
        }
    };
    let awaited_by = awaited_by
        .into_iter()
        .filter(|a| tasks.contains(a))
        .collect();
    let waiter = match waiter {
        0 => None,
        t if tasks.contains(&t) => Some(Waiter::Task(t)),
        f => Some(Waiter::Future(future_name(w, o, f, &frames))),
    };
    Ok(Task {
        addr,
        name,
        state,
        frames,
        awaited_by,
        waiter,
        loop_addr,
    })
}
