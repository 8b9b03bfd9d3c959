//! The version-agnostic walk: interpreters -> thread states -> frames -> code objects, with
//! every list bounded, every read drawn from a budget, and every code object cached by address.
//!
//! All knowledge of where fields are comes from the `Layout`; the walk only knows its shape
//! (CPython's `PyInterpreterState_Next`, `PyThreadState_Next`, `f_back` / `previous`). This
//! file holds what a walk yields and the walker itself; the lists and threads are in
//! `threads.rs`, the frames in `frames.rs`, the GILs in `gil.rs`. A failure confined to one
//! object is isolated: a thread state that cannot be read leaves that thread out, a list that
//! breaks ends there, a frame that cannot be read is a placeholder frame.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::code::Codes;
use super::layout::{FrameRoot, InterpRoot, Layout};
use crate::budget::{self, Budget, Charged, Exhausted, Limits};
use crate::error::Error;
use crate::memory::{Memory, ReadError};

mod expect;
mod frames;
mod gil;
mod threads;

pub use expect::Checkable;
pub use frames::RawStack;

/// Bounds on every remote list: a list is cut there, never followed without end.
pub const MAX_INTERPRETERS: usize = 1024;
pub const MAX_THREADS: usize = 65_536;
/// Copies of one code object's bytecode (3.14t: one per thread that ran it, reused).
const MAX_TLBC: i64 = 1 << 20;
/// Walks that check a layout, at most, and the pause between two: a running target may be
/// caught between two states by one walk (see `sampler/settle.rs`), so one that succeeds is
/// enough, and only a layout that never walks is refused.
const CHECK_WALKS: usize = 50;
const CHECK_WALK_PAUSE: Duration = Duration::from_millis(2);
/// The text of a name that could not be read, and of both names of a frame that could not be.
pub const UNREADABLE: &str = "<unreadable>";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkError {
    Gone,
    Read {
        what: &'static str,
        err: ReadError,
    },
    Garbage(String),
    /// A budget of the sample or dump ran out (see `budget`).
    Budget(Exhausted),
}

impl WalkError {
    /// Maps a read error on `what` (e.g. "frame") into a walk error.
    pub fn read(what: &'static str) -> impl Fn(ReadError) -> WalkError {
        move |err| match err {
            ReadError::Gone => WalkError::Gone,
            ReadError::Budget(e) => WalkError::Budget(e),
            err => WalkError::Read { what, err },
        }
    }

    /// True for a failure confined to the object being read (garbage, an unmapped address),
    /// which a placeholder can stand for; false for those that concern the whole walk (the
    /// process is gone, its memory cannot be read at all, a budget ran out).
    pub fn is_local(&self) -> bool {
        match self {
            WalkError::Read { err, .. } => matches!(err, ReadError::Fault { .. }),
            WalkError::Garbage(_) => true,
            WalkError::Gone | WalkError::Budget(_) => false,
        }
    }
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::Gone => f.write_str("the process exited"),
            WalkError::Read { what, err } => write!(f, "reading a {what}: {err}"),
            WalkError::Garbage(m) => f.write_str(m),
            WalkError::Budget(e) => write!(f, "{e}"),
        }
    }
}

impl From<WalkError> for Error {
    fn from(e: WalkError) -> Error {
        match e {
            WalkError::Gone => Error::TargetGone,
            WalkError::Read {
                err: ReadError::Denied(why),
                ..
            } => Error::Fatal(why),
            e => Error::Sample(e.to_string()),
        }
    }
}

/// Addresses in the target where the walk starts, from the runtime's symbols.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roots {
    /// `&_PyRuntime` (3.7+).
    pub runtime: Option<u64>,
    /// `&interp_head` (2.x to 3.6).
    pub interp_head: Option<u64>,
    /// `&_PyThreadState_Current` (2.x to 3.6).
    pub tstate_current: Option<u64>,
    /// `&PyCode_Type`, to check that a frame's code is a code object.
    pub code_type: Option<u64>,
}

/// What a frame of a stack is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// A Python frame (a name in it may still be `<unreadable>`).
    Python,
    /// A frame that could not be read, or that runs something other than a code object:
    /// `<unreadable>:<unreadable>:0`.
    Unreadable,
    /// Frames left out between the innermost and outermost ones kept (see `Thread::omitted`).
    Omitted,
    /// The frame chain loops: the frames before this one are each frame of the loop once.
    Cycle,
    /// The walk ran out of budget before the outermost frame.
    NotRead,
    /// Not a frame but a label the writers show as it is, alone (without file or line): a
    /// process at the root of its stacks (process trees), or its `(idle)` and `(failed)`.
    Label,
    /// A native frame (`--native`): the object file as the file name, the function as the
    /// name, line 0.
    Native,
    /// `--native`: the machine stack was not unwound further (a pc in no file, a frame no
    /// rule unwinds, the frame cap), or no evaluation frame of the interpreter was found
    /// among its native frames; the Python frames outer of it could not be placed among them.
    NativeEnd,
}

/// A code object's text, shared by every frame that runs it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Code {
    pub filename: String,
    pub name: String,
    pub kind: FrameKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub code: Rc<Code>,
    pub line: i32,
}

impl Frame {
    /// `<unreadable>:<unreadable>:0`.
    pub fn unreadable() -> Frame {
        Frame::special(UNREADABLE, UNREADABLE, FrameKind::Unreadable)
    }

    /// A frame pyflame inserts: `<pyflame>:<what>:0`.
    pub fn marker(kind: FrameKind) -> Frame {
        let name = match kind {
            FrameKind::Omitted => "<frames omitted>",
            FrameKind::Cycle => "<cycle>",
            FrameKind::NotRead => "<frames not read>",
            FrameKind::NativeEnd => "<native frames end here>",
            FrameKind::Python | FrameKind::Unreadable | FrameKind::Label | FrameKind::Native => {
                UNREADABLE
            }
        };
        Frame::special("<pyflame>", name, kind)
    }

    /// A label (see `FrameKind::Label`).
    pub fn label(text: &str) -> Rc<Code> {
        Rc::new(Code {
            filename: String::new(),
            name: text.to_string(),
            kind: FrameKind::Label,
        })
    }

    fn special(filename: &str, name: &str, kind: FrameKind) -> Frame {
        Frame {
            code: Rc::new(Code {
                filename: filename.to_string(),
                name: name.to_string(),
                kind,
            }),
            line: 0,
        }
    }

    /// Whether any part of this frame could not be read.
    pub fn is_unreadable(&self) -> bool {
        self.code.kind == FrameKind::Unreadable
            || (self.code.kind == FrameKind::Python
                && (self.code.filename == UNREADABLE || self.code.name == UNREADABLE))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub tstate: u64,
    /// `PyThreadState.thread_id`: the thread's pthread_t.
    pub thread_id: u64,
    /// The kernel thread id, where the thread state records it (3.11+).
    pub native_id: Option<u32>,
    pub interp_id: Option<i64>,
    pub holds_gil: bool,
    /// Innermost first, with marker frames where frames were left out or the walk ended early.
    pub frames: Vec<Frame>,
    /// For each of `frames`: whether a C-level evaluation of the interpreter starts there,
    /// running it and the frames inner of it up to the next such frame: every frame to 3.10,
    /// where each has its own `PyEval_EvalFrameEx` or `_PyEval_EvalFrameDefault`; from 3.11,
    /// frames with `is_entry` set (3.11) or called through an entry shim (3.12+), and a
    /// thread's outermost frame. Markers never are. (`--native` puts each evaluation's Python
    /// frames where its C frame is.)
    pub entries: Vec<bool>,
    /// How many frames the `FrameKind::Omitted` marker stands for.
    pub omitted: u64,
    /// False when the walk reached the outermost frame and it is not where a C-level
    /// evaluation starts (3.11+): the chain was read while being relinked.
    pub anchored: bool,
    pub leaf: Leaf,
}

/// A thread as read while its frames could not move: its ids and its frame chain, whose code
/// objects are read afterwards (`Walker::name`), when the thread may run again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawThread {
    pub tstate: u64,
    pub thread_id: u64,
    pub native_id: Option<u32>,
    pub interp_id: Option<i64>,
    pub holds_gil: bool,
    pub leaf: Leaf,
    pub stack: RawStack,
}

/// Threads that could not be walked, and lists that ended early: what a dump reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Issues {
    /// Thread states that could not be read (left out).
    pub unreadable_threads: usize,
    /// Thread states not read because a budget ran out.
    pub unread_threads: usize,
    /// Lists that were cut: "the thread list of interpreter 0 loops after 3 entries".
    pub lists: Vec<String>,
}

/// Where a GIL's holder is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gil {
    /// A pointer to the holder's thread state (`_PyThreadState_Current`,
    /// `_PyRuntime.gilstate.tstate_current`).
    Current(u64),
    /// A `struct _gil_runtime_state` (3.12+).
    Struct(u64),
}

/// The fields of a thread state the sampler needs before deciding what to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadState {
    pub thread_id: u64,
    pub native_id: Option<u32>,
    /// The `_PyCFrame` the innermost frame was reached through (3.11, 3.12; else 0).
    pub cframe: u64,
    /// The innermost frame (0: none).
    pub frame: u64,
}

/// A thread's innermost frame as read with its stack (see `Walker::unchanged`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leaf {
    pub cframe: u64,
    pub frame: u64,
    /// The code the frame ran (or its executable, for a shim).
    pub code: u64,
}

pub struct Walker<'m> {
    mem: Source<'m>,
    layout: Layout,
    roots: Roots,
    codes: Codes,
    budget: Budget,
}

/// The memory a walker reads: borrowed, or shared with its owner (a sampled process, which
/// also opens batches on it).
enum Source<'m> {
    Borrowed(&'m dyn Memory),
    Shared(Rc<dyn Memory>),
}

impl Source<'_> {
    fn get(&self) -> &dyn Memory {
        match self {
            Source::Borrowed(mem) => *mem,
            Source::Shared(mem) => &**mem,
        }
    }
}

impl Walker<'static> {
    /// A walker over memory it shares with its owner.
    pub fn shared(mem: Rc<dyn Memory>, layout: Layout, roots: Roots) -> Self {
        Walker {
            mem: Source::Shared(mem),
            layout,
            roots,
            codes: Codes::default(),
            budget: Budget::new(budget::DUMP),
        }
    }
}

impl<'m> Walker<'m> {
    pub fn new(mem: &'m dyn Memory, layout: Layout, roots: Roots) -> Self {
        Walker {
            mem: Source::Borrowed(mem),
            layout,
            roots,
            codes: Codes::default(),
            budget: Budget::new(budget::DUMP),
        }
    }

    /// Starts a sample or a dump: a fresh budget with these limits.
    pub fn begin(&mut self, limits: Limits) {
        self.budget = Budget::new(limits);
    }

    /// The budget of the current sample or dump.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The layout the walker reads with.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The target's memory, each read charged to the budget.
    pub(crate) fn mem(&self) -> Charged<'_> {
        Charged {
            mem: self.mem.get(),
            budget: &self.budget,
        }
    }

    fn ptr(&self, addr: u64, what: &'static str) -> Result<u64, WalkError> {
        self.mem().u64(addr).map_err(WalkError::read(what))
    }

    /// Checks that `layout` walks the process (see `validate`), trying again while a walk
    /// fails for what it read (not for a process that is gone or memory that cannot be read).
    pub fn check(mem: &'m dyn Memory, layout: Layout, roots: Roots) -> Result<(), WalkError> {
        let mut last = Ok(());
        for _ in 0..CHECK_WALKS {
            match Walker::new(mem, layout, roots).validate() {
                Ok(()) => return Ok(()),
                Err(e) if e.is_local() || matches!(e, WalkError::Budget(_)) => last = Err(e),
                Err(e) => return Err(e),
            }
            std::thread::sleep(CHECK_WALK_PAUSE);
        }
        last
    }

    /// Checks that this layout walks the process: interpreters, their threads, and at least
    /// one frame whose code object's name and file name decode.
    pub fn validate(mut self) -> Result<(), WalkError> {
        if self.interpreters()?.is_empty() {
            return Err(WalkError::Garbage("no interpreter is listed".into()));
        }
        let (threads, _) = self.all_threads()?;
        let readable = |f: &Frame| f.code.kind == FrameKind::Python && !f.is_unreadable();
        match threads.iter().any(|t| t.frames.iter().any(readable)) {
            false => Err(WalkError::Garbage(
                "no thread has a Python frame whose code object reads back".into(),
            )),
            true => Ok(()),
        }
    }
}

#[cfg(test)]
mod isolation_tests;
#[cfg(test)]
mod tests;
