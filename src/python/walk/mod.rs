//! The version-agnostic walk: interpreters -> thread states -> frames -> code objects, with
//! every list bounded and every code object cached by address.
//!
//! All knowledge of where fields are comes from the `Layout`; this file only knows the shape
//! of the walk (CPython's `PyInterpreterState_Next`, `PyThreadState_Next`, `f_back` /
//! `previous`) and how to turn an instruction offset into a line.

use std::collections::HashSet;
use std::fmt;
use std::rc::Rc;

use super::code::Codes;
use super::layout::{Frame as FrameLayout, FrameRoot, InterpRoot, Layout};
use crate::bytes::{i64_at, u32_at, u64_at};
use crate::error::Error;
use crate::memory::{Memory, ReadError};

mod frames;
mod gil;

/// Bounds on every remote list: a bound hit is a failed read, never a hang.
pub const MAX_INTERPRETERS: usize = 1024;
pub const MAX_THREADS: usize = 65_536;
pub const MAX_DEPTH: usize = 16_384;
/// Copies of one code object's bytecode (3.14t: one per thread that ran it, reused).
const MAX_TLBC: i64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkError {
    Gone,
    Read { what: &'static str, err: ReadError },
    Garbage(String),
    TooLong(&'static str, usize),
}

impl WalkError {
    /// Maps a read error on `what` (e.g. "frame") into a walk error.
    pub fn read(what: &'static str) -> impl Fn(ReadError) -> WalkError {
        move |err| match err {
            ReadError::Gone => WalkError::Gone,
            err => WalkError::Read { what, err },
        }
    }
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::Gone => f.write_str("the process exited"),
            WalkError::Read { what, err } => write!(f, "reading a {what}: {err}"),
            WalkError::Garbage(m) => f.write_str(m),
            WalkError::TooLong(what, n) => write!(f, "more than {n} {what} (a cycle or garbage)"),
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

/// A code object's text, shared by every frame that runs it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Code {
    pub filename: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub code: Rc<Code>,
    pub line: i32,
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
    /// Innermost first.
    pub frames: Vec<Frame>,
    pub leaf: Leaf,
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

pub struct Walker<'m, M: Memory> {
    mem: &'m M,
    layout: Layout,
    roots: Roots,
    codes: Codes,
}

impl<'m, M: Memory> Walker<'m, M> {
    pub fn new(mem: &'m M, layout: Layout, roots: Roots) -> Self {
        Walker {
            mem,
            layout,
            roots,
            codes: Codes::default(),
        }
    }

    fn ptr(&self, addr: u64, what: &'static str) -> Result<u64, WalkError> {
        self.mem.u64(addr).map_err(WalkError::read(what))
    }

    /// Every interpreter, in the runtime's list order (main interpreter last: CPython
    /// prepends).
    pub fn interpreters(&self) -> Result<Vec<u64>, WalkError> {
        let head = match self.layout.interp_root {
            InterpRoot::InterpHead => self.roots.interp_head,
            InterpRoot::Runtime(off) => self.roots.runtime.map(|r| r.wrapping_add(off)),
        };
        let head = head.ok_or_else(|| WalkError::Garbage("no interpreter list root".into()))?;
        let next = self.layout.interp.next;
        walk_list(
            self.ptr(head, "interpreter list head")?,
            MAX_INTERPRETERS,
            "interpreters",
            |i| self.ptr(i.wrapping_add(next), "PyInterpreterState"),
        )
    }

    /// The thread states of an interpreter, newest first.
    pub fn thread_states(&self, interp: u64) -> Result<Vec<u64>, WalkError> {
        let first = self.ptr(
            interp.wrapping_add(self.layout.interp.threads_head),
            "PyInterpreterState",
        )?;
        let next = self.layout.tstate.next;
        walk_list(first, MAX_THREADS, "threads", |t| {
            self.ptr(t.wrapping_add(next), "PyThreadState")
        })
    }

    /// Every thread with at least one Python frame, in every interpreter.
    pub fn all_threads(&mut self) -> Result<Vec<Thread>, WalkError> {
        let mut threads = Vec::new();
        for interp in self.interpreters()? {
            let holder = self.gil_holder(interp)?;
            let interp_id = self.interp_id(interp);
            for tstate in self.thread_states(interp)? {
                let mut t = self.thread(tstate)?;
                if !t.frames.is_empty() {
                    t.holds_gil = holder == Some(tstate);
                    t.interp_id = interp_id;
                    threads.push(t);
                }
            }
        }
        Ok(threads)
    }

    /// Checks that this layout walks the process: interpreters, their threads, and at least
    /// one frame whose code object's name and file name decode.
    pub fn validate(mut self) -> Result<(), WalkError> {
        if self.interpreters()?.is_empty() {
            return Err(WalkError::Garbage("no interpreter is listed".into()));
        }
        match self.all_threads()?.is_empty() {
            true => Err(WalkError::Garbage(
                "no thread has a Python frame whose code object reads back".into(),
            )),
            false => Ok(()),
        }
    }

    /// The ids of a thread state and its innermost frame.
    pub fn thread_state(&self, tstate: u64) -> Result<ThreadState, WalkError> {
        let t = self.layout.tstate;
        let mut buf = [0u8; 512];
        let b = self.read_tstate(tstate, &mut buf)?;
        let field = |off: u64| u64_at(b, off as usize).ok_or_else(short_tstate);
        let (cframe, frame) = match t.frame {
            FrameRoot::Frame(off) | FrameRoot::CurrentFrame(off) => (0, field(off)?),
            FrameRoot::CFrame {
                cframe,
                current_frame,
            } => match field(cframe)? {
                0 => (0, 0),
                cf => (cf, self.ptr(cf.wrapping_add(current_frame), "_PyCFrame")?),
            },
        };
        Ok(ThreadState {
            thread_id: field(t.thread_id)?,
            native_id: t.native_thread_id.and_then(|off| u32_at(b, off as usize)),
            cframe,
            frame,
        })
    }

    /// True if the thread's innermost frame is still `leaf` (the same frame running the same
    /// code, reached the same way): then no frame was pushed or popped since it was read.
    /// One system call.
    pub fn unchanged(&self, tstate: u64, leaf: Leaf) -> Result<bool, WalkError> {
        let (root_off, current_frame) = match self.layout.tstate.frame {
            FrameRoot::Frame(off) | FrameRoot::CurrentFrame(off) => (off, None),
            FrameRoot::CFrame {
                cframe,
                current_frame,
            } => (cframe, Some(current_frame)),
        };
        let (mut root, mut cf, mut code) = ([0u8; 8], [0u8; 8], [0u8; 8]);
        let mut parts: Vec<(u64, &mut [u8])> = vec![(tstate.wrapping_add(root_off), &mut root)];
        if let (Some(off), true) = (current_frame, leaf.cframe != 0) {
            parts.push((leaf.cframe.wrapping_add(off), &mut cf));
        }
        if leaf.frame != 0 {
            parts.push((leaf.frame.wrapping_add(self.code_field()), &mut code));
        }
        let n = parts.len();
        if self
            .mem
            .read_many(&mut parts)
            .map_err(WalkError::read("PyThreadState"))?
            < n
        {
            return Ok(false);
        }
        let (root, cf, code) = (
            u64::from_le_bytes(root),
            u64::from_le_bytes(cf),
            u64::from_le_bytes(code),
        );
        let same_root = match current_frame {
            None => root == leaf.frame,
            Some(_) => root == leaf.cframe && (leaf.cframe == 0 || cf == leaf.frame),
        };
        Ok(same_root && (leaf.frame == 0 || code == leaf.code))
    }

    /// The offset of a frame's code (or executable) pointer.
    fn code_field(&self) -> u64 {
        match self.layout.frame {
            FrameLayout::Object { f_code, .. } => f_code,
            FrameLayout::Interpreter { code, .. } => code,
        }
    }

    /// `(thread_id, native_thread_id)` of a thread state, in one read.
    pub fn thread_ids(&self, tstate: u64) -> Result<(u64, Option<u32>), WalkError> {
        let mut b = [0u8; 512];
        let b = self.read_tstate(tstate, &mut b)?;
        let t = self.layout.tstate;
        let id = u64_at(b, t.thread_id as usize).ok_or_else(short_tstate)?;
        Ok((
            id,
            t.native_thread_id.and_then(|off| u32_at(b, off as usize)),
        ))
    }

    /// The fields of a thread state pyflame uses, in one read into `buf`.
    fn read_tstate<'b>(&self, tstate: u64, buf: &'b mut [u8; 512]) -> Result<&'b [u8], WalkError> {
        let b = &mut buf[..self.layout.tstate_read_len().min(512)];
        self.mem
            .read(tstate, b)
            .map_err(WalkError::read("PyThreadState"))?;
        Ok(b)
    }

    /// One thread state and its stack.
    pub fn thread(&mut self, tstate: u64) -> Result<Thread, WalkError> {
        let ts = self.thread_state(tstate)?;
        let (frames, code) = self.stack_and_leaf(ts.frame)?;
        Ok(Thread {
            tstate,
            thread_id: ts.thread_id,
            native_id: ts.native_id,
            interp_id: None,
            holds_gil: false,
            frames,
            leaf: Leaf {
                cframe: ts.cframe,
                frame: ts.frame,
                code,
            },
        })
    }

    /// The kernel thread id of a glibc thread, from `struct pthread` (pthread_t points at it;
    /// `tid` is at 0x2d0 in glibc 2.28 to 2.43 on x86_64). Not an ABI: the caller must check the
    /// result against /proc/PID/task.
    pub fn glibc_tid(&self, thread_id: u64) -> Option<u32> {
        let mut b = [0u8; 4];
        self.mem.read(thread_id.checked_add(0x2d0)?, &mut b).ok()?;
        Some(u32::from_le_bytes(b))
    }

    /// The interpreter id, from `PyInterpreterState.id` (3.7+).
    pub fn interp_id(&self, interp: u64) -> Option<i64> {
        let off = self.layout.interp.id?;
        let mut b = [0u8; 8];
        self.mem.read(interp.wrapping_add(off), &mut b).ok()?;
        i64_at(&b, 0)
    }
}

fn short_tstate() -> WalkError {
    WalkError::Garbage("short PyThreadState".into())
}

/// Follows a NULL-terminated linked list from `first`, refusing cycles and more than `max`.
fn walk_list(
    first: u64,
    max: usize,
    what: &'static str,
    mut next: impl FnMut(u64) -> Result<u64, WalkError>,
) -> Result<Vec<u64>, WalkError> {
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut at = first;
    while at != 0 {
        if items.len() >= max || !seen.insert(at) {
            return Err(WalkError::TooLong(what, max));
        }
        items.push(at);
        at = next(at)?;
    }
    Ok(items)
}

#[cfg(test)]
mod tests;
