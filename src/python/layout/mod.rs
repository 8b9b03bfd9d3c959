//! What a layout is: where each field pyflame reads sits in CPython's structs, for one
//! version and build. The values are in `table` (to 3.12, and what 3.13+ does not publish)
//! and in the target's own `_Py_DebugOffsets` (3.13+, `debug_offsets.rs`).
//!
//! Offsets are byte offsets into CPython structs on x86_64 Linux, release builds, measured
//! with offsetof() against each release's own headers and checked on live interpreters (see
//! the README's design notes).

mod asyncio;
mod table;

pub use asyncio::{asyncio, Asyncio, DictKeys, GenFrame, ManagedDict, RunningLoop, StackTop};
pub use table::{debug_extras, for_version, DEBUG_OFFSETS_SINCE, VERSIONS};

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
        /// `bool is_entry` (3.11): set on the first frame each C-level evaluation runs, which
        /// is where a chain of frames of one C-level frame record ends (but not a frame owned
        /// by a generator, `GENERATOR_OWNER_311`, alone: see `walk/frames.rs`).
        is_entry: Option<u64>,
        /// Low bits of `f_executable` that are tags, not address (a `_PyStackRef`, 3.14+).
        tag_bits: u64,
        /// `int32 tlbc_index`: which copy of the bytecode the frame runs (3.14t+).
        tlbc_index: Option<u64>,
        size: u64,
    },
}

/// 3.11's `FRAME_OWNED_BY_GENERATOR`, the `owner` of a generator's or coroutine's frame.
pub const GENERATOR_OWNER_311: u8 = 1;

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

/// Object header and `bytes` fields shared by every object read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Objects {
    pub ob_type: u64,
    pub tp_name: u64,
    /// `unsigned long tp_flags`, whose `Py_TPFLAGS_*_SUBCLASS` bits say what a type is.
    pub tp_flags: u64,
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
mod tests;
