//! Every per-version CPython offset pyflame reads: one table row per minor version to 3.12,
//! and from 3.13 on only what the interpreter's own `_Py_DebugOffsets` does not publish.
//!
//! Offsets are byte offsets into CPython structs on x86_64 Linux, release builds, measured
//! with offsetof() against each release's own headers and checked on live interpreters (see
//! the README's design notes). Each row states only what changed since the row before it, so
//! the table doubles as a history of the struct changes a sampler cares about. From 3.13 on
//! the offsets come from the target (`debug_offsets.rs`); `debug_extras` completes them.

/// Where the list of interpreters starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterpRoot {
    /// The static `interp_head` (2.x to 3.6).
    InterpHead,
    /// `_PyRuntime.interpreters.head`, at this offset in `_PyRuntime` (3.7+).
    Runtime(u64),
}

/// How to tell which thread holds the GIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GilHolder {
    /// `_PyThreadState_Current`, an exported pointer (2.x to 3.6).
    CurrentSymbol,
    /// `_PyRuntime.gilstate.tstate_current`, at this offset in `_PyRuntime` (3.7 to 3.11).
    Runtime(u64),
    /// Per interpreter (3.12+): `gil = *(interp + ceval_gil)`; the holder is
    /// `*(gil + last_holder)` while `*(int *)(gil + locked)` is 1 (`struct _gil_runtime_state`).
    Interp {
        ceval_gil: u64,
        last_holder: u64,
        locked: u64,
    },
    /// No GIL (free-threaded builds, 3.13t+): every thread on a CPU can move its frames.
    Disabled,
}

/// `PyInterpreterState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interp {
    pub next: u64,
    /// `tstate_head` (to 3.10), `threads.head` (3.11+).
    pub threads_head: u64,
    pub id: Option<u64>,
    pub size: u64,
}

/// How a thread state reaches its innermost frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameRoot {
    /// `tstate->frame`, a `PyFrameObject *` (to 3.10).
    Frame(u64),
    /// `tstate->cframe->current_frame`, a `_PyInterpreterFrame *` (3.11, 3.12).
    CFrame { cframe: u64, current_frame: u64 },
    /// `tstate->current_frame` (3.13+).
    CurrentFrame(u64),
}

/// `PyThreadState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tstate {
    pub next: u64,
    pub interp: u64,
    pub frame: FrameRoot,
    /// `pthread_self()` of the thread.
    pub thread_id: u64,
    /// `gettid()` of the thread (3.11+).
    pub native_thread_id: Option<u64>,
    pub size: u64,
}

/// A frame: a `PyFrameObject` (to 3.10) or a `_PyInterpreterFrame` (3.11+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    Object {
        f_back: u64,
        f_code: u64,
        /// `int f_lasti`: the last instruction started, in bytes (to 3.9) or in 2-byte code
        /// units (3.10); `lasti_scale` converts it to bytes.
        f_lasti: u64,
        lasti_scale: i32,
        size: u64,
    },
    Interpreter {
        previous: u64,
        /// `f_code` (3.11, 3.12) or `f_executable` (3.13+, which may hold a non-code object).
        code: u64,
        /// `prev_instr` (3.11, 3.12: the last instruction started) or `instr_ptr` (3.13+).
        instr: u64,
        owner: u64,
        /// Frames owned by the C stack (entry shims) have `owner >= shim_owner` (3.12+).
        shim_owner: Option<u8>,
        /// Low bits of `f_executable` that are tags, not address (a `_PyStackRef`, 3.14+).
        tag_bits: u64,
        /// `int32 tlbc_index`: which copy of the bytecode the frame runs (3.14t+).
        tlbc_index: Option<u64>,
        size: u64,
    },
}

/// The line-number table format of `co_lnotab` / `co_linetable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// (byte increment, line increment) pairs; line increments are signed from 3.6 on.
    Lnotab { signed: bool },
    /// The 3.10 `co_linetable`.
    Table310,
    /// The 3.11+ location table (PEP 626/657).
    Location,
}

/// `PyCodeObject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub filename: u64,
    pub name: u64,
    pub firstlineno: u64,
    /// `co_lnotab` (to 3.9) or `co_linetable` (3.10+).
    pub linetable: u64,
    /// The inline bytecode, `co_code_adaptive` (3.11+).
    pub code_adaptive: Option<u64>,
    /// `co_tlbc`, the per-thread copies of the bytecode (3.14t+): a `_PyCodeArray`
    /// (`Py_ssize_t size; char *entries[]`) whose entry 0 is `co_code_adaptive`.
    pub tlbc: Option<u64>,
    pub lines: LineFormat,
    pub size: u64,
}

/// How `str` objects store their characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Str {
    /// 2.x `PyStringObject`: `ob_size`, then bytes at `ob_sval`.
    Bytes { ob_size: u64, ob_sval: u64 },
    /// PEP 393 (3.3+): `length` code points of `kind` bytes each; data follows the header of a
    /// compact object, or sits behind `data` for a legacy one.
    Pep393 {
        length: u64,
        state: u64,
        /// sizeof(PyASCIIObject) and sizeof(PyCompactUnicodeObject).
        ascii_data: u64,
        compact_data: u64,
        /// `PyUnicodeObject.data`.
        data: u64,
        /// The `ready` bit (to 3.11): a string without it has no canonical data yet.
        ready_mask: Option<u32>,
        bits: StateBits,
    },
}

/// Where `kind`, `compact` and `ascii` sit in `PyASCIIObject.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateBits {
    pub kind_shift: u32,
    pub compact: u32,
    pub ascii: u32,
}

/// `interned:2, kind:3, compact:1, ascii:1, ...`: every build from 3.3 to 3.13t, and 3.14+.
const STATE_BITS: StateBits = StateBits {
    kind_shift: 2,
    compact: 0x20,
    ascii: 0x40,
};

/// Free-threaded 3.14+: `interned` became a whole `unsigned char`.
const STATE_BITS_FT: StateBits = StateBits {
    kind_shift: 8,
    compact: 0x800,
    ascii: 0x1000,
};

/// Object header and `bytes` fields shared by every object read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Objects {
    pub ob_type: u64,
    pub tp_name: u64,
    /// `PyBytesObject` (2.x: `PyStringObject`).
    pub bytes_size: u64,
    pub bytes_data: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub version: (u8, u8),
    pub interp_root: InterpRoot,
    pub gil: GilHolder,
    pub interp: Interp,
    pub tstate: Tstate,
    pub frame: Frame,
    pub code: Code,
    pub objects: Objects,
    pub string: Str,
}

const PY27: Layout = Layout {
    version: (2, 7),
    interp_root: InterpRoot::InterpHead,
    gil: GilHolder::CurrentSymbol,
    interp: Interp {
        next: 0,
        threads_head: 8,
        id: None,
        size: 80,
    },
    tstate: Tstate {
        next: 0,
        interp: 8,
        frame: FrameRoot::Frame(16),
        thread_id: 144,
        native_thread_id: None,
        size: 168,
    },
    frame: Frame::Object {
        f_back: 24,
        f_code: 32,
        f_lasti: 120,
        lasti_scale: 1,
        size: 384,
    },
    code: Code {
        filename: 80,
        name: 88,
        firstlineno: 96,
        linetable: 104,
        code_adaptive: None,
        tlbc: None,
        lines: LineFormat::Lnotab { signed: false },
        size: 128,
    },
    objects: Objects {
        ob_type: 8,
        tp_name: 24,
        bytes_size: 16,
        bytes_data: 36,
    },
    string: Str::Bytes {
        ob_size: 16,
        ob_sval: 36,
    },
};

const PY26: Layout = Layout {
    version: (2, 6),
    tstate: Tstate {
        size: 152,
        ..PY27.tstate
    },
    code: Code {
        size: 120,
        ..PY27.code
    },
    ..PY27
};

const PY36: Layout = Layout {
    version: (3, 6),
    interp: Interp {
        size: 120,
        ..PY27.interp
    },
    tstate: Tstate {
        next: 8,
        interp: 16,
        frame: FrameRoot::Frame(24),
        thread_id: 152,
        size: 2272,
        ..PY27.tstate
    },
    code: Code {
        filename: 96,
        name: 104,
        firstlineno: 36,
        linetable: 112,
        lines: LineFormat::Lnotab { signed: true },
        size: 144,
        ..PY27.code
    },
    objects: Objects {
        bytes_data: 32,
        ..PY27.objects
    },
    string: Str::Pep393 {
        length: 16,
        state: 32,
        ascii_data: 48,
        compact_data: 72,
        data: 72,
        ready_mask: Some(0x80),
        bits: STATE_BITS,
    },
    ..PY27
};

const PY35: Layout = Layout {
    version: (3, 5),
    interp: Interp {
        size: 104,
        ..PY36.interp
    },
    tstate: Tstate {
        size: 208,
        ..PY36.tstate
    },
    // Before 3.6 `co_firstlineno` came after the object pointers, and lnotab line increments
    // were unsigned.
    code: Code {
        firstlineno: 112,
        linetable: 120,
        lines: LineFormat::Lnotab { signed: false },
        ..PY36.code
    },
    ..PY36
};

const PY34: Layout = Layout {
    version: (3, 4),
    tstate: Tstate {
        size: 192,
        ..PY35.tstate
    },
    ..PY35
};

const PY37: Layout = Layout {
    version: (3, 7),
    interp_root: InterpRoot::Runtime(24),
    gil: GilHolder::Runtime(1480),
    interp: Interp {
        id: Some(16),
        size: 2568,
        ..PY36.interp
    },
    tstate: Tstate {
        thread_id: 176,
        size: 280,
        ..PY36.tstate
    },
    frame: Frame::Object {
        f_back: 24,
        f_code: 32,
        f_lasti: 104,
        lasti_scale: 1,
        size: 368,
    },
    ..PY36
};

const PY38: Layout = Layout {
    version: (3, 8),
    interp_root: InterpRoot::Runtime(32),
    gil: GilHolder::Runtime(1368),
    interp: Interp {
        size: 2720,
        ..PY37.interp
    },
    tstate: Tstate {
        size: 264,
        ..PY37.tstate
    },
    // co_posonlyargcount moved everything after co_argcount.
    code: Code {
        filename: 104,
        name: 112,
        firstlineno: 40,
        linetable: 120,
        size: 176,
        ..PY37.code
    },
    ..PY37
};

const PY39: Layout = Layout {
    version: (3, 9),
    gil: GilHolder::Runtime(568),
    interp: Interp {
        id: Some(24),
        size: 5656,
        ..PY38.interp
    },
    ..PY38
};

const PY310: Layout = Layout {
    version: (3, 10),
    interp: Interp {
        size: 113_528,
        ..PY39.interp
    },
    tstate: Tstate {
        size: 280,
        ..PY39.tstate
    },
    // f_lasti now counts 2-byte code units.
    frame: Frame::Object {
        f_back: 24,
        f_code: 32,
        f_lasti: 96,
        lasti_scale: 2,
        size: 360,
    },
    code: Code {
        lines: LineFormat::Table310,
        ..PY39.code
    },
    ..PY39
};

const PY311: Layout = Layout {
    version: (3, 11),
    interp_root: InterpRoot::Runtime(40),
    gil: GilHolder::Runtime(576),
    interp: Interp {
        next: 0,
        threads_head: 16,
        id: Some(48),
        size: 107_752,
    },
    tstate: Tstate {
        next: 8,
        interp: 16,
        frame: FrameRoot::CFrame {
            cframe: 56,
            current_frame: 8,
        },
        thread_id: 152,
        native_thread_id: Some(160),
        size: 360,
    },
    frame: Frame::Interpreter {
        previous: 48,
        code: 32,
        instr: 56,
        owner: 69,
        shim_owner: None,
        tag_bits: 0,
        tlbc_index: None,
        size: 80,
    },
    code: Code {
        filename: 112,
        name: 120,
        firstlineno: 72,
        linetable: 136,
        code_adaptive: Some(184),
        tlbc: None,
        lines: LineFormat::Location,
        size: 192,
    },
    ..PY310
};

const PY312: Layout = Layout {
    version: (3, 12),
    // The GIL became per interpreter; gilstate.tstate_current is gone (now thread-local).
    gil: GilHolder::Interp {
        ceval_gil: 384,
        last_holder: 8,
        locked: 16,
    },
    interp: Interp {
        next: 0,
        threads_head: 72,
        id: Some(8),
        size: 383_552,
    },
    tstate: Tstate {
        frame: FrameRoot::CFrame {
            cframe: 56,
            current_frame: 0,
        },
        thread_id: 136,
        native_thread_id: Some(144),
        size: 288,
        ..PY311.tstate
    },
    // Entry shims: owner FRAME_OWNED_BY_CSTACK (3), code `<interpreter trampoline>`.
    frame: Frame::Interpreter {
        previous: 8,
        code: 0,
        instr: 56,
        owner: 70,
        shim_owner: Some(3),
        tag_bits: 0,
        tlbc_index: None,
        size: 80,
    },
    code: Code {
        firstlineno: 68,
        code_adaptive: Some(192),
        size: 200,
        ..PY311.code
    },
    // wstr and the ready bit were removed.
    string: Str::Pep393 {
        length: 16,
        state: 32,
        ascii_data: 40,
        compact_data: 56,
        data: 56,
        ready_mask: None,
        bits: STATE_BITS,
    },
    ..PY311
};

/// What `_Py_DebugOffsets` lacks, for a 3.13+ table of this major.minor and build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebugExtras {
    /// Frames with `owner >= shim_owner` are entry shims (FRAME_OWNED_BY_CSTACK in 3.13,
    /// FRAME_OWNED_BY_INTERPRETER from 3.14), not Python frames.
    pub shim_owner: u8,
    /// `Py_TAG_BITS` of a `_PyStackRef` (`f_executable` is one from 3.14).
    pub tag_bits: u64,
    pub state: StateBits,
    /// sizeof(PyCompactUnicodeObject) - sizeof(PyASCIIObject): `utf8_length` and `utf8`
    /// (published by the table itself from 3.15).
    pub compact_extra: u64,
}

/// The first version whose offsets come from the target's `_Py_DebugOffsets`.
pub const DEBUG_OFFSETS_SINCE: (u8, u8) = (3, 13);

/// `debug_extras` for 3.13, 3.14 and, until a release changes them, anything newer.
pub fn debug_extras(minor: u8, free_threaded: bool) -> DebugExtras {
    let base = DebugExtras {
        shim_owner: 3,
        tag_bits: 0,
        state: STATE_BITS,
        compact_extra: 16,
    };
    match (minor, free_threaded) {
        (..=13, _) => base,
        (_, false) => DebugExtras {
            tag_bits: 3,
            ..base
        },
        (_, true) => DebugExtras {
            tag_bits: 1,
            state: STATE_BITS_FT,
            ..base
        },
    }
}

/// The versions with a row, oldest first.
pub const VERSIONS: [(u8, u8); 11] = [
    (2, 6),
    (2, 7),
    (3, 4),
    (3, 5),
    (3, 6),
    (3, 7),
    (3, 8),
    (3, 9),
    (3, 10),
    (3, 11),
    (3, 12),
];

/// The layout of CPython `major.minor`, if pyflame knows it.
pub fn for_version(major: u8, minor: u8) -> Option<&'static Layout> {
    Some(match (major, minor) {
        (2, 6) => &PY26,
        (2, 7) => &PY27,
        (3, 4) => &PY34,
        (3, 5) => &PY35,
        (3, 6) => &PY36,
        (3, 7) => &PY37,
        (3, 8) => &PY38,
        (3, 9) => &PY39,
        (3, 10) => &PY310,
        (3, 11) => &PY311,
        (3, 12) => &PY312,
        _ => return None,
    })
}

impl Layout {
    /// How many bytes of a thread state, frame or code object to read to see every field used.
    pub fn tstate_read_len(&self) -> usize {
        let t = &self.tstate;
        let frame = match t.frame {
            FrameRoot::Frame(o) | FrameRoot::CurrentFrame(o) => o,
            FrameRoot::CFrame { cframe, .. } => cframe,
        };
        end_of(&[
            t.next,
            t.interp,
            frame,
            t.thread_id,
            t.native_thread_id.unwrap_or(0),
        ])
    }

    pub fn frame_read_len(&self) -> usize {
        match self.frame {
            Frame::Object {
                f_back,
                f_code,
                f_lasti,
                ..
            } => end_of(&[f_back, f_code]).max(f_lasti as usize + 4),
            Frame::Interpreter {
                previous,
                code,
                instr,
                owner,
                tlbc_index,
                ..
            } => end_of(&[previous, code, instr])
                .max(owner as usize + 1)
                .max(tlbc_index.map_or(0, |o| o as usize + 4)),
        }
    }

    pub fn code_read_len(&self) -> usize {
        let c = &self.code;
        end_of(&[
            self.objects.ob_type,
            c.filename,
            c.name,
            c.linetable,
            c.tlbc.unwrap_or(0),
        ])
        .max(c.firstlineno as usize + 4)
    }
}

/// The end of the last of these 8-byte fields.
fn end_of(offsets: &[u64]) -> usize {
    offsets.iter().map(|&o| o as usize + 8).max().unwrap_or(0)
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
