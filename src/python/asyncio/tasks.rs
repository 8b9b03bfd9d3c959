//! Every task of a process, read while it runs: the lists of tasks of each thread state and
//! interpreter (`asyncio_tasks_head`, linked through each task's `task_node`), then for each
//! task its name, state, coroutine stack (each suspended coroutine's frame, then the one it
//! awaits, read from the top of its frame's value stack), what it awaits (`task_fut_waiter`)
//! and who awaits it (`task_awaited_by`: one task, or a set of them). Bounded: at most
//! `MAX_TASKS` tasks, `MAX_CHAIN` coroutines a task, `MAX_SET` slots of a set, all within the
//! walker's budget; a task that cannot be read is counted, not fatal.

use super::Offsets;
use crate::bytes::{i32_at, u64_at, u8_at};
use crate::hash::{Map, Set};
use crate::memory::Memory;
use crate::python::strings::read_str;
use crate::python::types::{Kind, Types};
use crate::python::walk::{Frame, FrameKind, Thread, WalkError, Walker, UNREADABLE};

/// Tasks read at most: beyond, the dump says it was cut.
pub const MAX_TASKS: usize = 10_000;
/// Coroutines awaiting one another in one task, at most.
const MAX_CHAIN: usize = 256;
/// Slots of an `awaited_by` set read at most (each 16 bytes).
const MAX_SET: u64 = 4096;
/// The bytes of a task object read (3.14's is under 200).
const TASK_READ: usize = 512;
/// Bytes of a type's `tp_name` shown.
const TYPE_NAME: usize = 64;

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
    /// More than `MAX_TASKS`, or a budget ran out.
    pub cut: bool,
    /// Tasks that could not be read.
    pub unreadable: usize,
}

/// Every task of the process behind `w`. `threads` are the thread dump's, whose frames a
/// running task's stack is taken from.
pub fn read(w: &mut Walker, o: &Offsets, threads: &[Thread]) -> Result<Tasks, WalkError> {
    let mut out = Tasks::default();
    let mut heads = Vec::new();
    let mut running: Map<u64, u64> = Map::default();
    let mut loops: Vec<Loop> = Vec::new();
    for interp in w.interpreters()? {
        heads.push(interp.wrapping_add(o.interp_tasks_head));
        for t in w.thread_states(interp)? {
            heads.push(t.wrapping_add(o.tstate_tasks_head));
            let (lp, task) = (
                ptr(w, t.wrapping_add(o.tstate_running_loop))?,
                ptr(w, t.wrapping_add(o.tstate_running_task))?,
            );
            if task != 0 {
                running.insert(task, t);
            }
            if lp != 0 && !loops.iter().any(|l| l.addr == lp) {
                loops.push(Loop {
                    addr: lp,
                    tstate: Some(t),
                });
            }
        }
    }
    let mut addrs: Vec<u64> = Vec::new();
    let mut seen: Set<u64> = Set::default();
    for head in heads {
        if !list(w, o, head, &mut addrs, &mut seen, &mut out)? {
            break;
        }
    }
    for &task in running.keys() {
        if seen.insert(task) && addrs.len() < MAX_TASKS {
            addrs.push(task);
        }
    }
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
    for t in &out.tasks {
        if t.loop_addr != 0 && !loops.iter().any(|l| l.addr == t.loop_addr) {
            loops.push(Loop {
                addr: t.loop_addr,
                tstate: None,
            });
        }
    }
    loops.sort_by_key(|l| l.addr);
    out.loops = loops;
    Ok(out)
}

fn ptr(w: &Walker, addr: u64) -> Result<u64, WalkError> {
    w.mem().u64(addr).map_err(WalkError::read("asyncio state"))
}

/// Appends the tasks of the list at `head` (a `struct llist_node` whose `next` leads through
/// each task's `task_node` back to it). False once `MAX_TASKS` are found.
fn list(
    w: &Walker,
    o: &Offsets,
    head: u64,
    addrs: &mut Vec<u64>,
    seen: &mut Set<u64>,
    out: &mut Tasks,
) -> Result<bool, WalkError> {
    let next = |node: u64| ptr(w, node.wrapping_add(o.llist_next));
    let mut node = match next(head) {
        Ok(n) => n,
        Err(e) if e.is_local() => return Ok(true),
        Err(e) => return Err(e),
    };
    while node != head && node != 0 {
        if addrs.len() >= MAX_TASKS {
            out.cut = true;
            return Ok(false);
        }
        let task = node.wrapping_sub(o.task_node);
        // A list that loops elsewhere than its head ends at the first task seen again.
        if !seen.insert(task) {
            break;
        }
        addrs.push(task);
        node = match next(node) {
            Ok(n) => n,
            Err(e) if e.is_local() => {
                out.unreadable += 1;
                break;
            }
            Err(e) => return Err(e),
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
    let (awaited, waiter) = (word(o.task_awaited_by)?, word(o.task_fut_waiter)?);
    let is_set = u8_at(b, o.task_awaited_by_is_set as usize).ok_or_else(short)? != 0;
    let state = match (running.get(&addr), i32_at(b, o.fut_state as usize)) {
        (Some(_), _) => State::Running,
        (None, Some(0)) => State::Pending,
        (None, Some(1)) => State::Cancelled,
        (None, Some(2)) => State::Done,
        _ => return Err(short()),
    };
    let name = task_name(w, o, types, name)?;
    let mut frames = match coro {
        0 => Vec::new(),
        c => coroutine(w, o, c)?,
    };
    // A running task's coroutine is on its thread's stack, with whatever it is calling.
    if let Some(t) = running
        .get(&addr)
        .and_then(|ts| threads.iter().find(|t| t.tstate == *ts))
    {
        if let Some(outer) = frames.last() {
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
        (a, true) => set_members(w, o, a)?,
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

/// `Task.get_name()`: the name given, or `Task-<N>` for a task named by its counter (kept as
/// an int until asked for).
pub(super) fn task_name(
    w: &Walker,
    o: &Offsets,
    types: &mut Types,
    name: u64,
) -> Result<String, WalkError> {
    let mem = w.mem();
    let ob_type = mem
        .u64(name.wrapping_add(o.ob_type))
        .map_err(WalkError::read("task name"))?;
    match types.of_type(&mem, w.layout(), None, ob_type)? {
        Kind::Str { .. } => read_str(&mem, w.layout(), types, name),
        Kind::Int => {
            let mut b = [0u8; 8];
            mem.read(name.wrapping_add(o.long_digit), &mut b)
                .map_err(WalkError::read("task name"))?;
            let tag = mem
                .u64(name.wrapping_add(o.long_tag))
                .map_err(WalkError::read("task name"))?;
            // `lv_tag`: digits << 3 | sign (0 positive, 1 zero, 2 negative); 30-bit digits.
            let digit =
                |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
            let n = match (tag >> 3, tag & 3) {
                (_, 1) => 0,
                (1, 0) => digit(0),
                (2, 0) => digit(0) | digit(4) << 30,
                _ => return Ok("Task-?".into()),
            };
            Ok(format!("Task-{n}"))
        }
        _ => Ok(UNREADABLE.into()),
    }
}

/// The frames of a coroutine and of those it awaits, innermost first.
fn coroutine(w: &mut Walker, o: &Offsets, first: u64) -> Result<Vec<Frame>, WalkError> {
    let mut frames = Vec::new();
    let mut coro = first;
    let mut coro_type = 0;
    for _ in 0..MAX_CHAIN {
        let ob_type = ptr(w, coro.wrapping_add(o.ob_type))?;
        // The first must be a coroutine; what it awaits is followed while it is one too.
        let is_coroutine = match coro_type {
            0 => type_name(w, ob_type) == "coroutine",
            t => t == ob_type,
        };
        if !is_coroutine {
            break;
        }
        coro_type = ob_type;
        let mut state = [0u8; 1];
        w.mem()
            .read(coro.wrapping_add(o.gi_frame_state), &mut state)
            .map_err(WalkError::read("coroutine"))?;
        let state = state[0] as i8;
        if state == o.cleared {
            break;
        }
        let frame = coro.wrapping_add(o.gi_iframe);
        frames.push(one_frame(w, frame)?);
        if state < o.yield_from.0 || state > o.yield_from.1 {
            break;
        }
        let sp = ptr(w, frame.wrapping_add(o.stackpointer))?;
        let awaited = match sp {
            0 => 0,
            sp => ptr(w, sp.wrapping_sub(8 * o.awaited_slot))? & !o.tag_bits,
        };
        if awaited == 0 {
            break;
        }
        coro = awaited;
    }
    frames.reverse();
    Ok(frames)
}

/// The interpreter frame at `frame` alone, named.
pub(super) fn one_frame(w: &mut Walker, frame: u64) -> Result<Frame, WalkError> {
    let raw = w.chain(frame, 1)?;
    let (frames, _) = w.name_chain(&raw)?;
    Ok(frames
        .into_iter()
        .find(|f| matches!(f.code.kind, FrameKind::Python | FrameKind::Unreadable))
        .unwrap_or_else(Frame::unreadable))
}

/// What a future awaited is: `asyncio.sleep` when the task sleeps, else its type's name.
fn future_name(w: &Walker, o: &Offsets, future: u64, frames: &[Frame]) -> String {
    let sleeping = frames
        .first()
        .is_some_and(|f| f.code.name == "sleep" && f.code.filename.ends_with("asyncio/tasks.py"));
    match sleeping {
        true => "asyncio.sleep".into(),
        false => match ptr(w, future.wrapping_add(o.ob_type)) {
            Ok(t) => type_name(w, t),
            Err(_) => UNREADABLE.into(),
        },
    }
}

/// A type's `tp_name`, cut to `TYPE_NAME` bytes; `<unreadable>` when it cannot be read.
fn type_name(w: &Walker, ob_type: u64) -> String {
    let mem = w.mem();
    let mut b = [0u8; TYPE_NAME];
    let read = mem
        .u64(ob_type.wrapping_add(w.layout().objects.tp_name))
        .ok()
        .and_then(|at| mem.read_prefix(at, &mut b).ok());
    match read {
        Some(n) => {
            let b = &b[..n];
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(&b[..end]).into_owned()
        }
        None => UNREADABLE.into(),
    }
}

/// The keys of the set at `set` (`used` of them, found in its `mask + 1` slots of key and
/// hash), at most `MAX_SET` slots read.
pub(super) fn set_members(w: &Walker, o: &Offsets, set: u64) -> Result<Vec<u64>, WalkError> {
    let used = ptr(w, set.wrapping_add(o.set_used))?;
    let mask = ptr(w, set.wrapping_add(o.set_mask))?;
    let table = ptr(w, set.wrapping_add(o.set_table))?;
    let slots = mask.saturating_add(1).min(MAX_SET);
    let mut keys = Vec::new();
    let mut b = [0u8; 16 * 64];
    let mut slot = 0;
    while slot < slots && (keys.len() as u64) < used {
        let n = (slots - slot).min(64) as usize;
        let part = &mut b[..n * 16];
        w.mem()
            .read(table.wrapping_add(slot * 16), part)
            .map_err(WalkError::read("set"))?;
        // A deleted slot holds the `dummy` key: not a task, left out by the caller.
        keys.extend(
            (0..n)
                .filter_map(|i| u64_at(part, i * 16))
                .filter(|&k| k != 0),
        );
        slot += n as u64;
    }
    Ok(keys)
}
