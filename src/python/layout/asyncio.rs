//! asyncio before 3.14 (`--async` on 3.11 to 3.13), one row per version stating what changed:
//! where `_asyncio`'s tasks, generators, dicts and instance attributes keep what the task
//! reader needs, and which globals of `asyncio.tasks` hold the tasks. From 3.14 the `_asyncio`
//! module publishes its own offsets (`python/asyncio/mod.rs`). Members of objects are those of
//! a build with a GIL; a free-threaded build's object header is 16 bytes longer, and
//! `Asyncio::shifted` moves them by that.

/// Where a thread state keeps the loop it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunningLoop {
    /// In its `dict` (at this offset of `PyThreadState`) under
    /// `__asyncio_running_event_loop__`: the loop, or (3.11) a `_RunningLoopHolder` keeping it
    /// at `holder`.
    Dict { dict: u64, holder: Option<u64> },
    /// `_PyThreadStateImpl.asyncio_running_loop`, right after the `PyThreadState` (3.13).
    AfterThreadState,
}

/// Where an instance of a class with `Py_TPFLAGS_MANAGED_DICT` keeps its attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedDict {
    /// 3.11: its values (keyed by its type's cached keys) behind the pointer at -32, or its
    /// dict at -24.
    ValuesOrDict,
    /// 3.12: one word at -24, its values' address minus 1 (odd) or its dict.
    Tagged,
    /// 3.13: its dict at -24, else (`Py_TPFLAGS_INLINE_VALUES`) its values inline at
    /// `tp_basicsize`, after 4 bytes of `capacity, size, embedded, valid`.
    Inline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asyncio {
    /// `PyInterpreterState.modules` (`imports.modules` from 3.12): `sys.modules`. None: from
    /// `_Py_DebugOffsets`.
    pub modules: Option<u64>,
    pub running_loop: RunningLoop,
    /// The `asyncio.tasks` globals: its WeakSet of tasks, and its set of eager tasks (3.12+).
    pub scheduled: &'static str,
    pub eager: Option<&'static str>,
    /// `TaskObj` (`FutureObj_HEAD(task)` first).
    pub task_size: u64,
    pub fut_loop: u64,
    pub fut_state: u64,
    pub task_fut_waiter: u64,
    pub task_coro: u64,
    pub task_name: u64,
    /// `PyGenObject` (`_PyGenObject_HEAD`).
    pub gen_size: u64,
    pub gi_frame_state: u64,
    pub gi_iframe: u64,
    /// `_PyInterpreterFrame` (not an object): `int stacktop`, an index into `localsplus`.
    pub stacktop: u64,
    pub localsplus: u64,
    /// `PyDictObject`, and where a `PyDictValues` keeps its values (not an object).
    pub ma_keys: u64,
    pub ma_values: u64,
    pub values_at: u64,
    pub managed: ManagedDict,
    /// `PyTypeObject` and `PyHeapTypeObject`.
    pub tp_basicsize: u64,
    pub tp_base: u64,
    pub tp_dictoffset: u64,
    pub ht_cached_keys: u64,
    /// `PySetObject`, `PyListObject`, `PyWeakReference`, `PyModuleObject`, the int of 3.12+.
    pub set_used: u64,
    pub set_mask: u64,
    pub set_table: u64,
    pub list_size: u64,
    pub list_item: u64,
    pub wr_object: u64,
    pub md_dict: u64,
    pub long_tag: u64,
    pub long_digit: u64,
}

impl Asyncio {
    /// The row with every object member moved by `by` bytes (a free-threaded build's longer
    /// object header).
    pub fn shifted(self, by: u64) -> Asyncio {
        let s = |v: u64| v + by;
        Asyncio {
            task_size: s(self.task_size),
            fut_loop: s(self.fut_loop),
            fut_state: s(self.fut_state),
            task_fut_waiter: s(self.task_fut_waiter),
            task_coro: s(self.task_coro),
            task_name: s(self.task_name),
            gen_size: s(self.gen_size),
            gi_frame_state: s(self.gi_frame_state),
            gi_iframe: s(self.gi_iframe),
            ma_keys: s(self.ma_keys),
            ma_values: s(self.ma_values),
            tp_basicsize: s(self.tp_basicsize),
            tp_base: s(self.tp_base),
            tp_dictoffset: s(self.tp_dictoffset),
            ht_cached_keys: s(self.ht_cached_keys),
            set_used: s(self.set_used),
            set_mask: s(self.set_mask),
            set_table: s(self.set_table),
            list_size: s(self.list_size),
            list_item: s(self.list_item),
            wr_object: s(self.wr_object),
            md_dict: s(self.md_dict),
            long_tag: s(self.long_tag),
            long_digit: s(self.long_digit),
            ..self
        }
    }
}

/// 3.11 (`Modules/_asynciomodule.c`, `Include/internal/pycore_frame.h`, `genobject.h`):
/// measured on pyenv's 3.11.7 and Debian's 3.11.2.
const PY311: Asyncio = Asyncio {
    modules: Some(888),
    running_loop: RunningLoop::Dict {
        dict: 128,
        holder: Some(16),
    },
    scheduled: "_all_tasks",
    eager: None,
    task_size: 176,
    fut_loop: 16,
    fut_state: 88,
    task_fut_waiter: 128,
    task_coro: 136,
    task_name: 144,
    gen_size: 152,
    gi_frame_state: 75,
    gi_iframe: 80,
    stacktop: 64,
    localsplus: 72,
    ma_keys: 32,
    ma_values: 40,
    values_at: 0,
    managed: ManagedDict::ValuesOrDict,
    tp_basicsize: 32,
    tp_base: 256,
    tp_dictoffset: 288,
    ht_cached_keys: 872,
    set_used: 24,
    set_mask: 32,
    set_table: 40,
    list_size: 16,
    list_item: 24,
    wr_object: 16,
    md_dict: 16,
    // 3.11's ints have no lv_tag: task names are never ints before 3.14.
    long_tag: 16,
    long_digit: 24,
};

/// 3.12: `gi_code` left the generator; the running loop is the dict's value itself; the
/// managed dict became one tagged word; eager tasks.
const PY312: Asyncio = Asyncio {
    modules: Some(944),
    running_loop: RunningLoop::Dict {
        dict: 112,
        holder: None,
    },
    scheduled: "_scheduled_tasks",
    eager: Some("_eager_tasks"),
    gen_size: 144,
    gi_frame_state: 67,
    gi_iframe: 72,
    managed: ManagedDict::Tagged,
    ht_cached_keys: 880,
    ..PY311
};

/// 3.13: the future's `dict` and weak reference list became managed, the task's flags moved
/// before its pointers, the running loop moved into the thread state, values went inline.
const PY313: Asyncio = Asyncio {
    modules: None,
    running_loop: RunningLoop::AfterThreadState,
    task_size: 144,
    fut_state: 96,
    task_fut_waiter: 112,
    task_coro: 120,
    task_name: 128,
    values_at: 8,
    managed: ManagedDict::Inline,
    ..PY312
};

/// The row for `major.minor`: 3.11 to 3.13.
pub fn asyncio(major: u8, minor: u8) -> Option<Asyncio> {
    match (major, minor) {
        (3, 11) => Some(PY311),
        (3, 12) => Some(PY312),
        (3, 13) => Some(PY313),
        _ => None,
    }
}
