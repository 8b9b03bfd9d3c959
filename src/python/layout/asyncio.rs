//! asyncio before 3.14 (`--async` on 3.8 to 3.13), one row per version stating what changed:
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

/// Where a coroutine keeps its frame, and a suspended frame the object it awaits (the top of
/// its value stack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenFrame {
    /// To 3.10: a `PyFrameObject` behind `gi_frame` (NULL once finished), its value stack at
    /// `f_valuestack`.
    Object {
        gi_frame: u64,
        f_valuestack: u64,
        top: StackTop,
    },
    /// 3.11 to 3.13: a `_PyInterpreterFrame` inside the coroutine at `gi_iframe`, its state in
    /// `gi_frame_state`; the top at `localsplus[stacktop - 1]` (`int stacktop`).
    Inline {
        gi_frame_state: u64,
        gi_iframe: u64,
        stacktop: u64,
        localsplus: u64,
    },
}

/// Where a suspended frame object's value stack ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackTop {
    /// To 3.9: `f_stacktop` (NULL while it runs), once it has started (`int f_lasti` >= 0).
    Pointer { f_stacktop: u64, f_lasti: u64 },
    /// 3.10: `int f_stackdepth` values, while `char f_state` is FRAME_SUSPENDED (-1).
    Depth { f_stackdepth: u64, f_state: u64 },
}

/// How a `PyDictKeysObject` is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DictKeys {
    /// 3.6 to 3.10: `dk_size` slots of indices (1, 2, 4 or 8 bytes each, by `dk_size`) from
    /// 40, then entries of hash, key and value.
    Sized,
    /// 3.11+: `dk_log2_index_bytes` of indices from 32, then entries of key and value (of hash
    /// too in a `DICT_KEYS_GENERAL` table).
    Log2,
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
    /// `PyGenObject` (`_PyGenObject_HEAD`) and its frame; frames are not objects.
    pub frame: GenFrame,
    /// `PyDictObject`, its keys, and where a `PyDictValues` keeps its values (not an object).
    pub ma_keys: u64,
    pub ma_values: u64,
    pub keys: DictKeys,
    pub values_at: u64,
    /// None: no type has `Py_TPFLAGS_MANAGED_DICT` (to 3.10).
    pub managed: Option<ManagedDict>,
    /// How far before the object its managed dict pointer is (`MANAGED_DICT_OFFSET`): 24 with
    /// a GIL (behind the GC links), 8 in a free-threaded build (no GC links).
    pub dict_before: u64,
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
    /// object header), and the managed dict where a free-threaded build keeps it.
    pub fn shifted(self, by: u64) -> Asyncio {
        let s = |v: u64| v + by;
        Asyncio {
            task_size: s(self.task_size),
            fut_loop: s(self.fut_loop),
            fut_state: s(self.fut_state),
            task_fut_waiter: s(self.task_fut_waiter),
            task_coro: s(self.task_coro),
            task_name: s(self.task_name),
            frame: match self.frame {
                GenFrame::Inline {
                    gi_frame_state,
                    gi_iframe,
                    stacktop,
                    localsplus,
                } => GenFrame::Inline {
                    gi_frame_state: s(gi_frame_state),
                    gi_iframe: s(gi_iframe),
                    stacktop,
                    localsplus,
                },
                // No free-threaded build before 3.13.
                other => other,
            },
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
            dict_before: if by > 0 { 8 } else { self.dict_before },
            ..self
        }
    }
}

/// 3.8 (`Modules/_asynciomodule.c`, `Include/frameobject.h`, `genobject.h`, `dict-common.h`):
/// measured on pyenv's 3.8.18. 3.7's tasks have no names: not a row.
const PY38: Asyncio = Asyncio {
    modules: Some(56),
    running_loop: RunningLoop::Dict {
        dict: 152,
        holder: Some(16),
    },
    scheduled: "_all_tasks",
    eager: None,
    task_size: 144,
    fut_loop: 16,
    fut_state: 72,
    task_fut_waiter: 104,
    task_coro: 112,
    task_name: 120,
    frame: GenFrame::Object {
        gi_frame: 16,
        f_valuestack: 64,
        top: StackTop::Pointer {
            f_stacktop: 72,
            f_lasti: 104,
        },
    },
    ma_keys: 32,
    ma_values: 40,
    keys: DictKeys::Sized,
    values_at: 0,
    managed: None,
    dict_before: 24,
    tp_basicsize: 32,
    tp_base: 256,
    tp_dictoffset: 288,
    ht_cached_keys: 0,
    set_used: 24,
    set_mask: 32,
    set_table: 40,
    list_size: 16,
    list_item: 24,
    wr_object: 16,
    md_dict: 16,
    // Ints have no lv_tag before 3.12: task names are never ints before 3.14.
    long_tag: 16,
    long_digit: 24,
};

/// 3.9: the interpreter state grew; futures gained `fut_cancel_msg` (and more).
const PY39: Asyncio = Asyncio {
    modules: Some(856),
    task_size: 184,
    fut_state: 80,
    task_fut_waiter: 144,
    task_coro: 152,
    task_name: 160,
    ..PY38
};

/// 3.10: a frame counts its stack (`f_stackdepth`) and has a state; `fut_cancelled_exc`.
const PY310: Asyncio = Asyncio {
    task_size: 192,
    fut_state: 88,
    task_fut_waiter: 152,
    task_coro: 160,
    task_name: 168,
    frame: GenFrame::Object {
        gi_frame: 16,
        f_valuestack: 64,
        top: StackTop::Depth {
            f_stackdepth: 80,
            f_state: 108,
        },
    },
    ..PY39
};

/// 3.11: frames live inside their coroutines; dict keys sized by log2; managed dicts.
/// Measured on pyenv's 3.11.7 and Debian's 3.11.2.
const PY311: Asyncio = Asyncio {
    modules: Some(888),
    running_loop: RunningLoop::Dict {
        dict: 128,
        holder: Some(16),
    },
    task_size: 176,
    fut_state: 88,
    task_fut_waiter: 128,
    task_coro: 136,
    task_name: 144,
    frame: GenFrame::Inline {
        gi_frame_state: 75,
        gi_iframe: 80,
        stacktop: 64,
        localsplus: 72,
    },
    keys: DictKeys::Log2,
    managed: Some(ManagedDict::ValuesOrDict),
    ht_cached_keys: 872,
    ..PY310
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
    frame: GenFrame::Inline {
        gi_frame_state: 67,
        gi_iframe: 72,
        stacktop: 64,
        localsplus: 72,
    },
    managed: Some(ManagedDict::Tagged),
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
    managed: Some(ManagedDict::Inline),
    ..PY312
};

/// The row for `major.minor`: 3.8 to 3.13.
pub fn asyncio(major: u8, minor: u8) -> Option<Asyncio> {
    match (major, minor) {
        (3, 8) => Some(PY38),
        (3, 9) => Some(PY39),
        (3, 10) => Some(PY310),
        (3, 11) => Some(PY311),
        (3, 12) => Some(PY312),
        (3, 13) => Some(PY313),
        _ => None,
    }
}
