//! asyncio tasks (`--async`), from CPython 3.14: the `_asyncio` module publishes where its
//! task objects keep their name, coroutine, waiters and list node, and where a thread state
//! keeps its running loop, running task and list of tasks (`_Py_AsyncioModuleDebugOffsets`,
//! in an ELF section `AsyncioDebug` in 3.14, `.AsyncioDebug` in 3.15). The generator, set, int
//! and list-node members come from `_Py_DebugOffsets`; a generator's frame states from the
//! per-version table (`layout::debug_extras`). Nothing here is per-version code: a new release
//! that keeps these tables needs none.

mod dicts;
mod globals;
mod objects;
mod parents;
mod running;
mod tasks;

pub use running::Running;

pub use globals::Globals;
#[cfg(test)]
pub use tasks::Loop;
pub use tasks::{read, State, Task, Tasks, Waiter, MAX_TASKS};

use super::debug_offsets;
use super::layout::{debug_extras, GenFrame};
use super::Runtime;
use crate::bytes::u64_at;
use crate::elf::Elf;
use crate::memory::Memory;
use crate::proc;

/// The first version whose tasks pyflame reads (from 3.14 by the module's own offsets).
pub const SINCE: (u8, u8) = (3, 8);
/// `_Py_AsyncioModuleDebugOffsets`: 7 task members, 2 of the interpreter state, 4 of the
/// thread state.
const TABLE_LEN: usize = 13 * 8;
/// The largest struct any offset here may point into (`PyInterpreterState` is ~220 KiB).
const MAX_OBJECT: u64 = 1 << 24;

/// Where everything the task reader needs sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    pub task_size: u64,
    pub task_name: u64,
    pub task_awaited_by: u64,
    pub task_is_task: u64,
    pub task_awaited_by_is_set: u64,
    pub task_coro: u64,
    pub task_node: u64,
    /// Not published: `fut_loop` follows the object header, `fut_state` (an int) precedes
    /// `fut_is_task`, `task_fut_waiter` precedes `task_coro` (`FutureObj_HEAD`, `TaskObj`).
    pub fut_loop: u64,
    pub fut_state: u64,
    pub task_fut_waiter: u64,
    pub interp_tasks_head: u64,
    pub tstate_running_loop: u64,
    pub tstate_running_task: u64,
    pub tstate_tasks_head: u64,
    pub llist_next: u64,
    pub gen_size: u64,
    pub gi_iframe: u64,
    pub gi_frame_state: u64,
    pub stackpointer: u64,
    pub set_used: u64,
    pub set_table: u64,
    pub set_mask: u64,
    pub long_tag: u64,
    pub long_digit: u64,
    pub ob_type: u64,
    pub tag_bits: u64,
    pub yield_from: (i8, i8),
    pub cleared: i8,
    pub awaited_slot: u64,
    /// Before 3.14: where a coroutine keeps its frame and a suspended frame the object it
    /// awaits; `gi_iframe`, `gi_frame_state` and `stackpointer` are then `u64::MAX`.
    pub frame: Option<GenFrame>,
    /// Before 3.14: the tasks are found from `asyncio.tasks`' globals, not from lists; the
    /// members of the lists and of who awaits a task are then `u64::MAX`.
    pub globals: Option<Globals>,
}

/// Why a process's tasks cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// An interpreter older than `SINCE`.
    Version(String),
    /// No `_asyncio` module is loaded: asyncio's C module was never imported.
    NotLoaded,
    /// The tables are there but make no sense.
    Garbage(String),
}

/// The offsets of process `pid`'s `_asyncio` module and runtime.
pub fn find(pid: i32, runtime: &Runtime, mem: &dyn Memory) -> Result<Offsets, Unavailable> {
    let v = runtime.version;
    if let Some(found) = globals::offsets(runtime, mem) {
        return found;
    }
    if (v.major, v.minor) < SINCE {
        return Err(Unavailable::Version(format!("{}.{}", v.major, v.minor)));
    }
    let garbage = |why: &str| Unavailable::Garbage(why.to_string());
    let at = runtime
        .roots
        .runtime
        .ok_or_else(|| garbage("no _PyRuntime"))?;
    let mut table = [0u8; debug_offsets::READ_LEN];
    mem.read(at, &mut table)
        .map_err(|e| garbage(&format!("cannot read _PyRuntime: {e}")))?;
    let section = section_address(pid, &runtime.path).ok_or(Unavailable::NotLoaded)?;
    let mut asyncio = [0u8; TABLE_LEN];
    mem.read(section, &mut asyncio)
        .map_err(|e| garbage(&format!("cannot read the _asyncio debug offsets: {e}")))?;
    offsets(&table, &asyncio, v.minor).map_err(|why| garbage(&why))
}

/// Both tables read into `Offsets`, checked: every member inside its struct and the members
/// pyflame derives from their neighbours where it expects them.
pub fn offsets(table: &[u8], asyncio: &[u8], minor: u8) -> Result<Offsets, String> {
    let a = |i: usize| u64_at(asyncio, i * 8).unwrap_or(u64::MAX);
    let d = |g: &str, m: &str| debug_offsets::member(table, g, m).unwrap_or(u64::MAX);
    let free_threaded = d("", "free_threaded") == 1;
    let extras = debug_extras(minor, free_threaded);
    let o = Offsets {
        task_size: a(0),
        task_name: a(1),
        task_awaited_by: a(2),
        task_is_task: a(3),
        task_awaited_by_is_set: a(4),
        task_coro: a(5),
        task_node: a(6),
        fut_loop: d("pyobject", "ob_type").wrapping_add(8),
        fut_state: a(3).wrapping_sub(4),
        task_fut_waiter: a(5).wrapping_sub(8),
        interp_tasks_head: a(8),
        tstate_running_loop: a(10),
        tstate_running_task: a(11),
        tstate_tasks_head: a(12),
        llist_next: d("llist_node", "next"),
        gen_size: d("gen_object", "size"),
        gi_iframe: d("gen_object", "gi_iframe"),
        gi_frame_state: d("gen_object", "gi_frame_state"),
        stackpointer: d("interpreter_frame", "stackpointer"),
        set_used: d("set_object", "used"),
        set_table: d("set_object", "table"),
        set_mask: d("set_object", "mask"),
        long_tag: d("long_object", "lv_tag"),
        long_digit: d("long_object", "ob_digit"),
        ob_type: d("pyobject", "ob_type"),
        tag_bits: extras.tag_bits,
        yield_from: extras.yield_from,
        cleared: extras.cleared,
        awaited_slot: extras.awaited_slot,
        frame: None,
        globals: None,
    };
    let inside = |what: &str, size: u64, fields: &[u64]| match fields
        .iter()
        .find(|&&f| f.saturating_add(8) > size)
    {
        _ if size > MAX_OBJECT => Err(format!("sizeof({what}) is {size}")),
        Some(f) => Err(format!(
            "a {what} member at {f} is outside its {size} bytes"
        )),
        None => Ok(()),
    };
    let task = [
        o.task_name,
        o.task_awaited_by,
        o.task_coro,
        o.task_node,
        o.fut_loop,
    ];
    inside("TaskObj", o.task_size, &task)?;
    inside("PyInterpreterState", a(7), &[o.interp_tasks_head])?;
    let tstate = [
        o.tstate_running_loop,
        o.tstate_running_task,
        o.tstate_tasks_head,
    ];
    inside("_PyThreadStateImpl", a(9), &tstate)?;
    inside("PyGenObject", o.gen_size, &[o.gi_iframe, o.gi_frame_state])?;
    inside(
        "set",
        d("set_object", "size"),
        &[o.set_used, o.set_table, o.set_mask],
    )?;
    inside("int", d("long_object", "size"), &[o.long_tag])?;
    inside(
        "_PyInterpreterFrame",
        d("interpreter_frame", "size"),
        &[o.stackpointer],
    )?;
    // `fut_awaited_by`, `fut_state` (4 bytes), `fut_is_task`, `fut_awaited_by_is_set`; and
    // `task_fut_waiter`, `task_coro`, `task_name`.
    let derived = o.task_is_task == o.task_awaited_by.wrapping_add(12)
        && o.task_awaited_by_is_set == o.task_is_task.wrapping_add(1)
        && o.task_name == o.task_coro.wrapping_add(8)
        && o.llist_next < 16;
    match derived {
        true => Ok(o),
        false => Err("the task object is not laid out as pyflame expects".into()),
    }
}

/// Where the `_asyncio` module's debug offsets are in the target: the section of the module's
/// own file (a shared `_asyncio*.so`) or of the file the runtime is in (built in).
fn section_address(pid: i32, runtime_path: &str) -> Option<u64> {
    let maps = proc::maps(pid).ok()?;
    let candidates = maps.iter().filter(|m| {
        let name = m.path.rsplit('/').next().unwrap_or("");
        m.is_file() && (m.path == runtime_path || name.starts_with("_asyncio"))
    });
    let mut seen: Vec<&str> = Vec::new();
    for m in candidates {
        if seen.contains(&m.path.as_str()) {
            continue;
        }
        seen.push(&m.path);
        let Ok(file) = std::fs::File::open(proc::in_root(pid, m.file_path())) else {
            continue;
        };
        let Ok(elf) = Elf::parse(&file) else { continue };
        let Some(s) = elf
            .section("AsyncioDebug")
            .or_else(|| elf.section(".AsyncioDebug"))
        else {
            continue;
        };
        if s.sh_size < TABLE_LEN as u64 {
            continue;
        }
        // The bias of any mapping of the file will do: take this one's.
        if let Some(bias) = elf.load_bias(m.start, m.offset) {
            return Some(s.sh_addr.wrapping_add(bias));
        }
    }
    None
}

#[cfg(test)]
mod dicts_tests;
#[cfg(test)]
mod fake_globals;
#[cfg(test)]
mod fake_registry;
#[cfg(test)]
mod fake_tasks;
#[cfg(test)]
mod fuzz_seeds_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod running_tests;
#[cfg(test)]
mod tests;
