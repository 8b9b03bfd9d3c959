//! `--async` when sampling: a thread running a task gets, outermost, one `task <name>` label
//! per task of the chain awaiting it (the root first), then the running coroutine's frames
//! (its own frame and what it calls); the event loop's frames under the task are dropped.
//! The chain is read after the sample's stack, from the thread state's running task and
//! each task's `task_awaited_by` (the first task of a set; before 3.14 from `parents.rs`); it is kept only when the running
//! coroutine's frame is on the stack read, so a task switch in between leaves the sample as
//! it is. Labels are remembered by (task, name object).

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::parents::Parents;
use super::{find, Offsets, Unavailable};
use crate::hash::Map;
use crate::memory::Memory;
use crate::python::types::Types;
use crate::python::walk::{Code, Frame, FrameKind, Thread, WalkError, Walker};
use crate::python::Runtime;

/// Tasks awaiting one another, at most, in one sample's chain.
const MAX_DEPTH: usize = 64;
/// Labels remembered at most.
const MAX_LABELS: usize = 4096;
/// How often the `_asyncio` module is looked for while it is not loaded.
const LOOK_EVERY: Duration = Duration::from_secs(1);

pub struct Running {
    pid: i32,
    runtime: Runtime,
    offsets: Option<Offsets>,
    /// Never: the interpreter is too old, or the tables make no sense.
    never: bool,
    next_look: Instant,
    labels: Map<(u64, u64), Rc<Code>>,
    types: Types,
    /// Before 3.14: who awaits whom.
    parents: Parents,
}

impl Running {
    pub fn new(pid: i32, runtime: Runtime) -> Running {
        Running {
            pid,
            runtime,
            offsets: None,
            never: false,
            next_look: Instant::now(),
            labels: Map::default(),
            types: Types::default(),
            parents: Parents::default(),
        }
    }

    /// A labeller that uses these offsets (the tests and the fuzz target: `find` needs a
    /// process).
    pub fn with_offsets(pid: i32, runtime: Runtime, o: Offsets) -> Running {
        Running {
            offsets: Some(o),
            ..Running::new(pid, runtime)
        }
    }

    /// Puts each running task's chain outermost in its thread's frames.
    pub fn label(&mut self, mem: &dyn Memory, w: &mut Walker, threads: &mut [Thread]) {
        let Some(o) = self.offsets(mem) else {
            return;
        };
        for t in threads.iter_mut() {
            // A task that cannot be read leaves the sample as it is.
            if let Ok(Some(frames)) = self.chain(w, &o, t) {
                t.frames = frames;
                t.entries.clear();
            }
        }
    }

    fn offsets(&mut self, mem: &dyn Memory) -> Option<Offsets> {
        if self.offsets.is_none() && !self.never && Instant::now() >= self.next_look {
            match find(self.pid, &self.runtime, mem) {
                Ok(o) => self.offsets = Some(o),
                Err(Unavailable::NotLoaded) => self.next_look = Instant::now() + LOOK_EVERY,
                Err(why) => {
                    self.never = true;
                    let why = match why {
                        Unavailable::Version(v) => {
                            format!("not supported on Python {v} (3.8 and later)")
                        }
                        Unavailable::Garbage(why) => why,
                        Unavailable::NotLoaded => String::new(),
                    };
                    eprintln!(
                        "pyflame: PID {}: --async: {why}; its samples are shown without tasks",
                        self.pid
                    );
                }
            }
        }
        self.offsets
    }

    /// The thread's frames with its running task's chain, or None when it runs no task.
    fn chain(
        &mut self,
        w: &mut Walker,
        o: &Offsets,
        t: &Thread,
    ) -> Result<Option<Vec<Frame>>, WalkError> {
        let ptr = |w: &Walker, addr: u64| w.mem().u64(addr).map_err(WalkError::read("task"));
        let task = match &o.globals {
            None => ptr(w, t.tstate.wrapping_add(o.tstate_running_task))?,
            Some(g) => self.parents.running_task(w, g, t.tstate)?,
        };
        if task == 0 {
            return Ok(None);
        }
        let coro = ptr(w, task.wrapping_add(o.task_coro))?;
        let Some((frame, _)) = super::objects::frame_of(w, o, coro)? else {
            return Ok(None);
        };
        let own = super::objects::one_frame(w, frame)?;
        // A coroutine that cannot be read is no frame of the stack, unreadable ones included.
        if own.code.kind != FrameKind::Python {
            return Ok(None);
        }
        let same = |f: &Frame| f.code.filename == own.code.filename && f.code.name == own.code.name;
        let Some(at) = t.frames.iter().rposition(same) else {
            return Ok(None);
        };
        let mut frames = t.frames[..=at].to_vec();
        let mut seen = Vec::new();
        let mut current = task;
        // Each awaiting object must be a task (`fut_is_task`).
        let interp = ptr(w, t.tstate.wrapping_add(w.layout().tstate.interp))?;
        while current != 0 && seen.len() < MAX_DEPTH && !seen.contains(&current) {
            // Before 3.14 only tasks are remembered as awaiting.
            if !seen.is_empty() && o.globals.is_none() && !is_task(w, o, current)? {
                break;
            }
            seen.push(current);
            frames.push(Frame {
                code: self.label_of(w, o, current)?,
                line: 0,
            });
            current = match &o.globals {
                None => self.awaited_by(w, o, current)?,
                Some(g) => self.parents.parent(w, g, o, interp, current)?,
            };
        }
        Ok(Some(frames))
    }

    /// `task <name>` of the task at `task`.
    fn label_of(&mut self, w: &Walker, o: &Offsets, task: u64) -> Result<Rc<Code>, WalkError> {
        let name = w
            .mem()
            .u64(task.wrapping_add(o.task_name))
            .map_err(WalkError::read("task"))?;
        if let Some(label) = self.labels.get(&(task, name)) {
            return Ok(label.clone());
        }
        let text = super::objects::task_name(w, o, &mut self.types, name)?;
        let label = Frame::label(&format!("task {text}"));
        if self.labels.len() >= MAX_LABELS {
            self.labels.clear();
        }
        self.labels.insert((task, name), label.clone());
        Ok(label)
    }

    /// The first task awaiting `task`, or 0.
    fn awaited_by(&self, w: &Walker, o: &Offsets, task: u64) -> Result<u64, WalkError> {
        let mem = w.mem();
        let by = mem
            .u64(task.wrapping_add(o.task_awaited_by))
            .map_err(WalkError::read("task"))?;
        let mut is_set = [0u8; 1];
        mem.read(task.wrapping_add(o.task_awaited_by_is_set), &mut is_set)
            .map_err(WalkError::read("task"))?;
        match (by, is_set[0]) {
            (0, _) => Ok(0),
            (by, 0) => Ok(by),
            (set, _) => {
                for member in super::objects::set_members(w, o, set, super::objects::MAX_SET)?.0 {
                    if is_task(w, o, member)? {
                        return Ok(member);
                    }
                }
                Ok(0)
            }
        }
    }
}

fn is_task(w: &Walker, o: &Offsets, addr: u64) -> Result<bool, WalkError> {
    let mut b = [0u8; 1];
    match w.mem().read(addr.wrapping_add(o.task_is_task), &mut b) {
        Ok(()) => Ok(b[0] == 1),
        Err(e) => match WalkError::read("task")(e) {
            e if e.is_local() => Ok(false),
            e => Err(e),
        },
    }
}
