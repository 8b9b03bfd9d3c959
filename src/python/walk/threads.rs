//! Threads: the interpreter and thread lists (each cut where it breaks, loops or runs past its
//! bound), every thread of every interpreter with the budget's frames shared out, one thread
//! state and its stack (its frame chain read first, named after), and the checks a sampler
//! makes on a thread state without walking it.

use crate::hash::Set;

use super::frames::KEPT_INNER;
use super::{
    FrameKind, FrameRoot, InterpRoot, Issues, Leaf, RawThread, Thread, ThreadState, WalkError,
    Walker, MAX_INTERPRETERS, MAX_THREADS,
};
use crate::budget::Exhausted;
use crate::bytes::{i64_at, u32_at, u64_at};
use crate::memory::Memory;
use crate::python::layout::Frame as FrameLayout;

impl Walker<'_> {
    /// Every interpreter, in the runtime's list order (main interpreter last: CPython
    /// prepends). A list that breaks, loops or runs too long ends there.
    pub fn interpreters(&self) -> Result<Vec<u64>, WalkError> {
        self.interpreter_list().map(|(list, _)| list)
    }

    fn interpreter_list(&self) -> Result<(Vec<u64>, Option<String>), WalkError> {
        let head = match self.layout.interp_root {
            InterpRoot::InterpHead => self.roots.interp_head,
            InterpRoot::Runtime(off) => self.roots.runtime.map(|r| r.wrapping_add(off)),
        };
        let head = head.ok_or_else(|| WalkError::Garbage("no interpreter list root".into()))?;
        let next = self.layout.interp.next;
        walk_list(
            self.ptr(head, "interpreter list head")?,
            MAX_INTERPRETERS,
            "the interpreter list",
            |i| self.ptr(i.wrapping_add(next), "PyInterpreterState"),
        )
    }

    /// The thread states of an interpreter, newest first; a list that breaks, loops or runs
    /// too long ends there.
    pub fn thread_states(&self, interp: u64) -> Result<Vec<u64>, WalkError> {
        self.thread_list(interp, None).map(|(list, _)| list)
    }

    fn thread_list(
        &self,
        interp: u64,
        id: Option<i64>,
    ) -> Result<(Vec<u64>, Option<String>), WalkError> {
        let first = self.ptr(
            interp.wrapping_add(self.layout.interp.threads_head),
            "PyInterpreterState",
        )?;
        let next = self.layout.tstate.next;
        let what = match id {
            Some(id) => format!("the thread list of interpreter {id}"),
            None => "the thread list".to_string(),
        };
        walk_list(first, MAX_THREADS, &what, |t| {
            self.ptr(t.wrapping_add(next), "PyThreadState")
        })
    }

    /// Every thread with at least one Python frame, in every interpreter, and what could not
    /// be read: `read_threads`, then `name_threads`.
    pub fn all_threads(&mut self) -> Result<(Vec<Thread>, Issues), WalkError> {
        let (raw, mut issues) = self.read_threads()?;
        let threads = self.name_threads(raw, &mut issues)?;
        Ok((threads, issues))
    }

    /// The frame chain of every thread with at least one Python frame, in every interpreter,
    /// and what could not be read. The frames of the budget are shared out (see `share`), so a
    /// few deep stacks cannot starve the others.
    pub fn read_threads(&mut self) -> Result<(Vec<RawThread>, Issues), WalkError> {
        let mut issues = Issues::default();
        let (interps, cut) = self.interpreter_list()?;
        issues.lists.extend(cut);
        let mut tstates = Vec::new();
        for interp in interps {
            let holder = match self.gil_holder(interp) {
                Err(e) if e.is_local() => None,
                other => other?,
            };
            let interp_id = self.interp_id(interp);
            match self.thread_list(interp, interp_id) {
                Ok((list, cut)) => {
                    issues.lists.extend(cut);
                    tstates.extend(list.into_iter().map(|t| (t, interp_id, holder)));
                }
                Err(e) if e.is_local() => issues.unreadable_threads += 1,
                Err(e) => return Err(e),
            }
        }
        let mut threads = Vec::new();
        let total = tstates.len();
        for (i, (tstate, interp_id, holder)) in tstates.into_iter().enumerate() {
            if self.budget.exhausted().is_some() {
                issues.unread_threads = total - i;
                break;
            }
            match self.read_thread_with_share(tstate, self.share(total - i - 1)) {
                Ok(mut t) => {
                    t.holds_gil = holder == Some(tstate);
                    t.interp_id = interp_id;
                    // A thread with no Python frame is left out, unless it holds the GIL and
                    // looks caught between two states: its reader reads again.
                    if !t.stack.is_empty() || (t.holds_gil && self.raw_between_states(&t)) {
                        threads.push(t);
                    }
                }
                Err(e) if e.is_local() => issues.unreadable_threads += 1,
                Err(WalkError::Budget(e)) if e != Exhausted::Stopped => {
                    issues.unread_threads = total - i;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok((threads, issues))
    }

    /// How many frames the next thread may walk, with `others` threads still to read after it:
    /// what is left, less the innermost frames kept of each of the others (or, when the budget
    /// cannot give every one that many, an even share). So every thread's innermost frames are
    /// read, and as many whole stacks as the budget allows.
    fn share(&self, others: usize) -> u64 {
        let left = self.budget.frames_left();
        let others = others as u64;
        let reserve = (KEPT_INNER as u64).min(left / (others + 1));
        (left - reserve * others).max(1)
    }

    /// The threads read by `read_threads`, named; one that runs out of budget while its code
    /// objects are read is counted as not read.
    pub fn name_threads(
        &mut self,
        raw: Vec<RawThread>,
        issues: &mut Issues,
    ) -> Result<Vec<Thread>, WalkError> {
        let mut threads = Vec::with_capacity(raw.len());
        let total = raw.len();
        for (i, t) in raw.into_iter().enumerate() {
            match self.name(t) {
                Ok(t) => threads.push(t),
                Err(WalkError::Budget(_)) => {
                    issues.unread_threads += total - i;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(threads)
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
            .get()
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

    /// True when a thread that was running Python reads as if caught between two interpreter
    /// states (see `sampler/settle.rs`): no Python frame although the thread state points at
    /// a frame, or at a C-level frame record of its own (3.11, 3.12: one that is not the
    /// `root_cframe` inside the thread state always has a current frame once set up); an
    /// outermost frame that is not where a C-level evaluation starts (a stale pointer into a
    /// generator's frame, whose link is set only when it runs); a frame that cannot be read,
    /// or a loop.
    pub fn between_states(&self, t: &Thread) -> bool {
        let broken = t
            .frames
            .iter()
            .any(|f| f.is_unreadable() || f.code.kind == FrameKind::Cycle);
        self.caught(t.tstate, t.leaf, t.frames.is_empty(), t.anchored) || broken
    }

    /// `between_states` for a thread not named yet (a frame whose code object cannot be
    /// read is not known to be one).
    pub fn raw_between_states(&self, t: &RawThread) -> bool {
        let empty = t.stack.is_empty();
        self.caught(t.tstate, t.leaf, empty, t.stack.anchored) || (!empty && t.stack.is_broken())
    }

    fn caught(&self, tstate: u64, leaf: Leaf, no_frames: bool, anchored: bool) -> bool {
        let pushed_cframe = matches!(self.layout.tstate.frame, FrameRoot::CFrame { .. })
            && leaf.cframe != 0
            && leaf.cframe.wrapping_sub(tstate) >= self.layout.tstate.size;
        (no_frames && (leaf.frame != 0 || pushed_cframe)) || !anchored
    }

    /// The offset of a frame's code (or executable) pointer.
    pub(super) fn code_field(&self) -> u64 {
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
        self.mem()
            .read(tstate, b)
            .map_err(WalkError::read("PyThreadState"))?;
        Ok(b)
    }

    /// One thread state and its stack, which may walk every frame left in the budget.
    #[cfg(test)]
    pub fn thread(&mut self, tstate: u64) -> Result<Thread, WalkError> {
        let raw = self.read_thread(tstate)?;
        self.name(raw)
    }

    /// One thread state and its frame chain, which may walk every frame left in the budget.
    pub fn read_thread(&mut self, tstate: u64) -> Result<RawThread, WalkError> {
        let share = self.budget.frames_left();
        self.read_thread_with_share(tstate, share)
    }

    /// One thread state and its frame chain, walking at most `share` frames.
    pub(super) fn read_thread_with_share(
        &mut self,
        tstate: u64,
        share: u64,
    ) -> Result<RawThread, WalkError> {
        let ts = self.thread_state(tstate)?;
        let stack = self.chain(ts.frame, share)?;
        Ok(RawThread {
            tstate,
            thread_id: ts.thread_id,
            native_id: ts.native_id,
            interp_id: None,
            holds_gil: false,
            leaf: Leaf {
                cframe: ts.cframe,
                frame: ts.frame,
                code: stack.leaf_code,
            },
            stack,
        })
    }

    /// A thread read by `read_thread`, with its frames named from their code objects.
    pub fn name(&mut self, raw: RawThread) -> Result<Thread, WalkError> {
        let (frames, entries) = self.name_chain(&raw.stack)?;
        Ok(Thread {
            entries,
            tstate: raw.tstate,
            thread_id: raw.thread_id,
            native_id: raw.native_id,
            interp_id: raw.interp_id,
            holds_gil: raw.holds_gil,
            frames,
            omitted: raw.stack.omitted,
            anchored: raw.stack.anchored,
            leaf: raw.leaf,
        })
    }

    /// The kernel thread id of a glibc thread, from `struct pthread` (pthread_t points at it;
    /// `tid` at `arch::PTHREAD_TID`). Not an ABI: the caller must check the result against
    /// /proc/PID/task.
    pub fn glibc_tid(&self, thread_id: u64) -> Option<u32> {
        let mut b = [0u8; 4];
        self.mem()
            .read(thread_id.checked_add(crate::arch::PTHREAD_TID)?, &mut b)
            .ok()?;
        Some(u32::from_le_bytes(b))
    }

    /// The interpreter id, from `PyInterpreterState.id` (3.7+).
    pub fn interp_id(&self, interp: u64) -> Option<i64> {
        let off = self.layout.interp.id?;
        let mut b = [0u8; 8];
        self.mem().read(interp.wrapping_add(off), &mut b).ok()?;
        i64_at(&b, 0)
    }
}

fn short_tstate() -> WalkError {
    WalkError::Garbage("short PyThreadState".into())
}

/// Follows a NULL-terminated linked list from `first`. A list that loops, runs longer than
/// `max` or has a link that cannot be read ends there, with a note saying so; only errors that
/// end the whole walk are errors.
fn walk_list(
    first: u64,
    max: usize,
    what: &str,
    mut next: impl FnMut(u64) -> Result<u64, WalkError>,
) -> Result<(Vec<u64>, Option<String>), WalkError> {
    let mut items = Vec::new();
    let mut seen = Set::default();
    let mut at = first;
    while at != 0 {
        if items.len() >= max {
            return Ok((items, Some(format!("{what} is cut after {max} entries"))));
        }
        if !seen.insert(at) {
            let n = items.len();
            return Ok((items, Some(format!("{what} loops after {n} entries"))));
        }
        items.push(at);
        at = match next(at) {
            Ok(next) => next,
            Err(e) if e.is_local() => {
                let n = items.len();
                return Ok((
                    items,
                    Some(format!("{what} breaks after {n} entries ({e})")),
                ));
            }
            Err(e) => return Err(e),
        };
    }
    Ok((items, None))
}
