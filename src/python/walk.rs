//! The version-agnostic walk: interpreters -> thread states -> frames -> code objects, with
//! every list bounded and every code object cached by address.
//!
//! All knowledge of where fields are comes from the `Layout`; this file only knows the shape
//! of the walk (CPython's `PyInterpreterState_Next`, `PyThreadState_Next`, `f_back` /
//! `previous`) and how to turn an instruction offset into a line.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::rc::Rc;

use super::layout::{Frame as FrameLayout, FrameRoot, GilHolder, InterpRoot, Layout, LineFormat};
use super::{lines, strings};
use crate::bytes::{i32_at, i64_at, u32_at, u64_at, u8_at};
use crate::error::Error;
use crate::memory::{Memory, ReadError};

/// Bounds on every remote list: a bound hit is a failed read, never a hang.
pub const MAX_INTERPRETERS: usize = 1024;
pub const MAX_THREADS: usize = 65_536;
pub const MAX_DEPTH: usize = 16_384;
/// Code objects remembered between samples (each holds two strings and a line table).
const MAX_CACHED_CODES: usize = 16_384;

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
            WalkError::Read { err: ReadError::Denied(why), .. } => Error::Fatal(why),
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
}

/// The fields of a thread state the sampler needs before deciding what to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadState {
    pub thread_id: u64,
    pub native_id: Option<u32>,
    /// The innermost frame (0: none).
    pub frame: u64,
}

/// What identifies a cached code object: if any of these changed, the address was reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CodeKey {
    ob_type: u64,
    filename: u64,
    name: u64,
    linetable: u64,
    firstlineno: i32,
}

struct CodeEntry {
    key: CodeKey,
    code: Rc<Code>,
    linetable: Vec<u8>,
}

pub struct Walker<'m, M: Memory> {
    mem: &'m M,
    layout: Layout,
    roots: Roots,
    codes: HashMap<u64, CodeEntry>,
    /// Type objects already checked to be named "code" (when PyCode_Type is unknown).
    code_types: HashSet<u64>,
}

impl<'m, M: Memory> Walker<'m, M> {
    pub fn new(mem: &'m M, layout: Layout, roots: Roots) -> Self {
        Walker { mem, layout, roots, codes: HashMap::new(), code_types: HashSet::new() }
    }

    fn ptr(&self, addr: u64, what: &'static str) -> Result<u64, WalkError> {
        self.mem.u64(addr).map_err(WalkError::read(what))
    }

    /// Every interpreter, in the runtime's list order (main interpreter last: CPython
    /// prepends).
    pub fn interpreters(&self) -> Result<Vec<u64>, WalkError> {
        let head = match self.layout.interp_root {
            InterpRoot::InterpHead => self.roots.interp_head,
            InterpRoot::Runtime(off) => self.roots.runtime.map(|r| r + off),
        };
        let head = head.ok_or_else(|| WalkError::Garbage("no interpreter list root".into()))?;
        let next = self.layout.interp.next;
        walk_list(self.ptr(head, "interpreter list head")?, MAX_INTERPRETERS, "interpreters", |i| {
            self.ptr(i + next, "PyInterpreterState")
        })
    }

    /// The thread states of an interpreter, newest first.
    pub fn thread_states(&self, interp: u64) -> Result<Vec<u64>, WalkError> {
        let first = self.ptr(interp + self.layout.interp.threads_head, "PyInterpreterState")?;
        let next = self.layout.tstate.next;
        walk_list(first, MAX_THREADS, "threads", |t| self.ptr(t + next, "PyThreadState"))
    }

    /// The thread state holding the GIL of `interp` (for 3.11 and older, the process's only
    /// GIL), or None if no thread holds it.
    pub fn gil_holder(&self, interp: u64) -> Result<Option<u64>, WalkError> {
        let holder = match self.layout.gil {
            GilHolder::CurrentSymbol => match self.roots.tstate_current {
                Some(addr) => self.ptr(addr, "_PyThreadState_Current")?,
                None => 0,
            },
            GilHolder::Runtime(off) => match self.roots.runtime {
                Some(rt) => self.ptr(rt + off, "_PyRuntime.gilstate")?,
                None => 0,
            },
            GilHolder::Interp { ceval_gil, last_holder, locked } => {
                let gil = self.ptr(interp + ceval_gil, "PyInterpreterState.ceval.gil")?;
                if gil == 0 {
                    return Ok(None);
                }
                let mut b = [0u8; 32];
                let len = (last_holder.max(locked) + 8) as usize;
                let b = &mut b[..len.min(32)];
                self.mem.read(gil, b).map_err(WalkError::read("_gil_runtime_state"))?;
                let is_locked = i32_at(b, locked as usize).unwrap_or(0) == 1;
                if is_locked {
                    u64_at(b, last_holder as usize).unwrap_or(0)
                } else {
                    0
                }
            }
        };
        Ok((holder != 0).then_some(holder))
    }

    /// The thread states holding a GIL: at most one up to 3.11; from 3.12 each interpreter
    /// may have its own.
    pub fn gil_holders(&self) -> Result<Vec<u64>, WalkError> {
        if let GilHolder::Interp { .. } = self.layout.gil {
            let mut holders = Vec::new();
            for interp in self.interpreters()? {
                if let Some(h) = self.gil_holder(interp)? {
                    if !holders.contains(&h) {
                        holders.push(h);
                    }
                }
            }
            return Ok(holders);
        }
        Ok(self.gil_holder(0)?.into_iter().collect())
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

    /// The ids of a thread state and its innermost frame.
    pub fn thread_state(&self, tstate: u64) -> Result<ThreadState, WalkError> {
        let t = self.layout.tstate;
        let mut b = [0u8; 512];
        let b = &mut b[..self.layout.tstate_read_len().min(512)];
        self.mem.read(tstate, b).map_err(WalkError::read("PyThreadState"))?;
        let field = |off: u64| u64_at(b, off as usize).ok_or_else(|| WalkError::Garbage("short PyThreadState".into()));
        let frame = match t.frame {
            FrameRoot::Frame(off) | FrameRoot::CurrentFrame(off) => field(off)?,
            FrameRoot::CFrame { cframe, current_frame } => match field(cframe)? {
                0 => 0,
                cf => self.ptr(cf + current_frame, "_PyCFrame")?,
            },
        };
        Ok(ThreadState {
            thread_id: field(t.thread_id)?,
            native_id: t.native_thread_id.and_then(|off| u32_at(b, off as usize)),
            frame,
        })
    }

    /// The innermost frame of a thread and the code it runs: if both are the same before and
    /// after reading a stack, no frame was pushed or popped under the reader.
    pub fn leaf(&self, tstate: u64) -> Result<(u64, u64), WalkError> {
        let frame = self.thread_state(tstate)?.frame;
        if frame == 0 {
            return Ok((0, 0));
        }
        let code = match self.layout.frame {
            FrameLayout::Object { f_code, .. } => f_code,
            FrameLayout::Interpreter { code, .. } => code,
        };
        Ok((frame, self.ptr(frame + code, "frame")?))
    }

    /// One thread state and its stack.
    pub fn thread(&mut self, tstate: u64) -> Result<Thread, WalkError> {
        let ts = self.thread_state(tstate)?;
        Ok(Thread {
            tstate,
            thread_id: ts.thread_id,
            native_id: ts.native_id,
            interp_id: None,
            holds_gil: false,
            frames: self.stack(ts.frame)?,
        })
    }

    /// The frames from `frame` outwards, innermost first, without entry shims.
    pub fn stack(&mut self, mut frame: u64) -> Result<Vec<Frame>, WalkError> {
        let mut frames = Vec::new();
        let len = self.layout.frame_read_len();
        let mut buf = [0u8; 256];
        for _ in 0..MAX_DEPTH {
            if frame == 0 {
                return Ok(frames);
            }
            let b = &mut buf[..len.min(256)];
            self.mem.read(frame, b).map_err(WalkError::read("frame"))?;
            let b = &*b;
            let short = || WalkError::Garbage(format!("short frame at {frame:#x}"));
            let (code, next, at) = match self.layout.frame {
                FrameLayout::Object { f_back, f_code, f_lasti, lasti_scale, .. } => {
                    let lasti = i32_at(b, f_lasti as usize).ok_or_else(short)?;
                    let code = u64_at(b, f_code as usize).ok_or_else(short)?;
                    (code, u64_at(b, f_back as usize).ok_or_else(short)?, Lasti::Bytes(lasti.saturating_mul(lasti_scale)))
                }
                FrameLayout::Interpreter { previous, code, instr, owner, shim_owner, .. } => {
                    let next = u64_at(b, previous as usize).ok_or_else(short)?;
                    let owner = u8_at(b, owner as usize).ok_or_else(short)?;
                    if shim_owner.is_some_and(|s| owner >= s) {
                        frame = next;
                        continue;
                    }
                    let code = u64_at(b, code as usize).ok_or_else(short)?;
                    (code, next, Lasti::Instr(u64_at(b, instr as usize).ok_or_else(short)?))
                }
            };
            if let Some(f) = self.frame(code, at)? {
                frames.push(f);
            }
            if next == frame {
                return Err(WalkError::TooLong("frames", MAX_DEPTH));
            }
            frame = next;
        }
        Err(WalkError::TooLong("frames", MAX_DEPTH))
    }

    /// The frame running `code` at `at`; None if `code` is not a code object where the
    /// layout allows that (3.13+ `f_executable` may be None or another object).
    fn frame(&mut self, code: u64, at: Lasti) -> Result<Option<Frame>, WalkError> {
        let c = self.layout.code;
        let Some(entry) = self.code(code)? else {
            return Ok(None);
        };
        let first = entry.key.firstlineno;
        let line = match (c.lines, at) {
            (LineFormat::Lnotab { signed }, Lasti::Bytes(l)) => lines::lnotab_line(&entry.linetable, first, l, signed),
            (LineFormat::Table310, Lasti::Bytes(l)) => lines::linetable310_line(&entry.linetable, first, l),
            (LineFormat::Location, Lasti::Instr(ip)) => {
                let start = code + c.code_adaptive.unwrap_or(0);
                let units = (ip.wrapping_sub(start) as i64) / 2;
                lines::location_table_line(&entry.linetable, first, units.clamp(-1, i32::MAX as i64) as i32)
            }
            _ => first,
        };
        Ok(Some(Frame { code: entry.code.clone(), line }))
    }

    /// The cached entry for the code object at `addr`, re-read if the address now holds a
    /// different object. None if it is not a code object and the layout tolerates that.
    fn code(&mut self, addr: u64) -> Result<Option<&CodeEntry>, WalkError> {
        let c = self.layout.code;
        let mut buf = [0u8; 256];
        let want = self.layout.code_read_len().min(256);
        // A prefix read: a non-code executable (3.13+ `None`) may be smaller than a code object.
        let got = self.mem.read_prefix(addr, &mut buf[..want]).map_err(WalkError::read("code object"))?;
        let b = &buf[..got];
        let short = || WalkError::Garbage(format!("short code object at {addr:#x}"));
        let ob_type = u64_at(b, self.layout.objects.ob_type as usize).ok_or_else(short)?;
        if !self.is_code_type(ob_type)? {
            // 3.13+ frames may run non-code executables (None for shims): not a Python frame.
            return match self.layout.frame {
                FrameLayout::Interpreter { shim_owner: Some(_), .. } => Ok(None),
                _ => Err(WalkError::Garbage(format!("object at {addr:#x} is not a code object"))),
            };
        }
        let key = CodeKey {
            ob_type,
            filename: u64_at(b, c.filename as usize).ok_or_else(short)?,
            name: u64_at(b, c.name as usize).ok_or_else(short)?,
            linetable: u64_at(b, c.linetable as usize).ok_or_else(short)?,
            firstlineno: i32_at(b, c.firstlineno as usize).ok_or_else(short)?,
        };
        let fresh = self.codes.get(&addr).is_some_and(|e| e.key == key);
        if !fresh {
            let code = Code {
                filename: strings::read_str(self.mem, &self.layout, key.filename)?,
                name: strings::read_str(self.mem, &self.layout, key.name)?,
            };
            let linetable = strings::read_bytes(self.mem, &self.layout, key.linetable)?;
            if self.codes.len() >= MAX_CACHED_CODES {
                self.codes.clear();
            }
            self.codes.insert(addr, CodeEntry { key, code: Rc::new(code), linetable });
        }
        Ok(self.codes.get(&addr))
    }

    fn is_code_type(&mut self, ob_type: u64) -> Result<bool, WalkError> {
        if let Some(t) = self.roots.code_type {
            return Ok(t == ob_type);
        }
        if self.code_types.contains(&ob_type) {
            return Ok(true);
        }
        // PyTypeObject.tp_name is a `const char *`.
        let name_ptr = self.ptr(ob_type + self.layout.objects.tp_name, "type object")?;
        let mut name = [0u8; 5];
        self.mem.read(name_ptr, &mut name).map_err(WalkError::read("type name"))?;
        let is_code = &name == b"code\0";
        if is_code {
            self.code_types.insert(ob_type);
        }
        Ok(is_code)
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
        self.mem.read(interp + off, &mut b).ok()?;
        i64_at(&b, 0)
    }
}

/// Where a frame is in its code: a byte offset (to 3.10) or an instruction pointer (3.11+).
#[derive(Debug, Clone, Copy)]
enum Lasti {
    Bytes(i32),
    Instr(u64),
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
#[path = "walk_tests.rs"]
mod tests;
