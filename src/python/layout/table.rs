//! The per-version table: one row per minor version up to 3.12, each stating only what
//! changed since the row before it (so it doubles as a history of the struct changes a sampler
//! cares about), and from 3.13 on only what the interpreter's own `_Py_DebugOffsets` does not
//! publish. Adding a version up to 3.12 is one row here plus its tests; no other file matches
//! on versions.

use super::{
    Code, Frame, FrameRoot, GilHolder, Interp, InterpRoot, Layout, LineFormat, Objects, StateBits,
    Str, Tstate,
};

/// The GIL's two `pthread_mutex_t` before `_PyRuntime.gilstate` (3.7 to 3.11): the offsets
/// below are x86-64's, this is what AArch64 adds (`arch::MUTEX_EXTRA`).
const GIL_MUTEXES: u64 = 2 * crate::arch::MUTEX_EXTRA;

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
        tp_flags: 168,
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
    gil: GilHolder::Runtime(1480 + GIL_MUTEXES),
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
    gil: GilHolder::Runtime(1368 + GIL_MUTEXES),
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
    gil: GilHolder::Runtime(568 + GIL_MUTEXES),
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
    gil: GilHolder::Runtime(576 + GIL_MUTEXES),
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
        is_entry: Some(68),
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
        is_entry: None,
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
    /// A generator's `gi_frame_state` (`enum _framestate`, `pycore_frame.h`) when suspended
    /// in an `await` (a range: 3.15 adds FRAME_SUSPENDED_YIELD_FROM_LOCKED), and FRAME_CLEARED.
    pub yield_from: (i8, i8),
    pub cleared: i8,
    /// Where a frame suspended in an `await` keeps what it awaits: `stackpointer[-slot]`
    /// (3.15's GET_ITER pushes a NULL-or-index above it).
    pub awaited_slot: u64,
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
        yield_from: (-1, -1),
        cleared: 4,
        awaited_slot: 1,
    };
    // 3.15 renumbered the frame states from 0.
    let base = match minor {
        ..=14 => base,
        _ => DebugExtras {
            yield_from: (2, 3),
            cleared: 5,
            awaited_slot: 2,
            ..base
        },
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
