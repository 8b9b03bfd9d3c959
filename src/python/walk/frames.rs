//! Walking a thread's frames: `PyFrameObject` chains (to 3.10) and `_PyInterpreterFrame`
//! chains (3.11+, without entry shims, with 3.14t's per-thread bytecode), within a budget,
//! keeping the innermost and outermost frames of a deep stack, detecting loops, and standing a
//! placeholder in for what cannot be read.
//!
//! The chain runs from the innermost frame outwards, so reaching the root of a deep stack means
//! walking all of it; only `KEPT_INNER` + `KEPT_OUTER` frames are kept (a flame graph keeps its
//! leaf and its root), the rest are counted. A loop in the chain is found with Brent's
//! algorithm, in constant memory, and reported as a loop rather than as a deep stack.

use std::collections::VecDeque;

use super::expect::{Link, CHECKED_FRAMES};
use super::{Frame, FrameKind, WalkError, Walker, MAX_TLBC};
use crate::budget::{Charged, Exhausted};
use crate::bytes::{i32_at, i64_at, u64_at, u8_at};
use crate::memory::Memory;
use crate::python::code::Lasti;
use crate::python::layout::{Frame as FrameLayout, GENERATOR_OWNER_311};

/// Frames kept at each end of a stack.
pub const KEPT_INNER: usize = 1024;
pub const KEPT_OUTER: usize = 1024;

/// A frame chain as walked, before its code objects are read: the code and position of each
/// frame kept (innermost first), how many frames were left out after the first `kept_inner`,
/// how the walk ended, and the code of the innermost frame, shim or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStack {
    frames: Vec<(u64, Lasti)>,
    kept_inner: usize,
    pub omitted: u64,
    pub(super) end: End,
    pub leaf_code: u64,
    /// See `Thread::anchored`.
    pub anchored: bool,
    /// The fields of every frame walked, innermost first, while there are at most
    /// `CHECKED_FRAMES`.
    pub(super) links: Vec<Link>,
    /// Frames walked.
    pub(super) walked: u64,
    /// For each frame of `frames`: whether a C-level evaluation starts there (see `Thread::entries`).
    pub(super) entries: Vec<bool>,
}

impl RawStack {
    /// True when the thread has no Python frame at all.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty() && self.end == End::Root
    }

    /// True when the walk found no Python frame, or ended at a frame it could not read or at
    /// a loop.
    pub fn is_broken(&self) -> bool {
        matches!(self.end, End::Unreadable | End::Cycle)
            || (self.frames.is_empty() && self.end != End::Cut)
    }
}

/// One frame of the chain as read: its address, and the code it runs and where (None for an
/// entry shim, which is part of the chain but not a Python frame).
#[derive(Clone, Copy)]
struct Raw {
    frame: u64,
    code: Option<(u64, Lasti)>,
    /// A C-level evaluation starts at this frame (see `Thread::entries`).
    entry: bool,
}

/// Where C-level evaluations start in a chain: at entry shims (3.12+), at frames with
/// `is_entry` set (3.11: the flag's offset, and the owner's), or nowhere to be seen (to 3.10,
/// where frames are objects).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entries {
    Shims,
    Flag(u64, u64),
    None,
}

/// How the walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// At the outermost frame.
    Root,
    /// At a frame that could not be read (its link is lost with it).
    Unreadable,
    /// The chain loops back.
    Cycle,
    /// The budget (or this thread's share of it) ran out.
    Cut,
}

/// Brent's cycle detection over the chain: the hare is the walk itself, the tortoise jumps to
/// it at powers of two. The first meeting gives the loop's length.
struct Brent {
    tortoise: u64,
    power: u64,
    steps: u64,
}

impl Brent {
    fn new(first: u64) -> Brent {
        Brent {
            tortoise: first,
            power: 1,
            steps: 0,
        }
    }

    /// The walk moves on to `next`: the loop's length if `next` was seen.
    fn step(&mut self, next: u64) -> Option<usize> {
        self.steps += 1;
        if next == self.tortoise {
            return Some(self.steps as usize);
        }
        if self.steps == self.power {
            self.tortoise = next;
            self.power = self.power.saturating_mul(2);
            self.steps = 0;
        }
        None
    }
}

impl Walker<'_> {
    /// The frame chain from `first` outwards, walking at most `share` frames. This is the part
    /// of a stack that must be read while the thread cannot move.
    #[inline(never)]
    pub(crate) fn chain(&mut self, first: u64, share: u64) -> Result<RawStack, WalkError> {
        let len = self.layout.frame_read_len().min(256);
        let mut inner: Vec<Raw> = Vec::with_capacity(64);
        let mut outer: VecDeque<Raw> = VecDeque::new();
        let (mut inner_python, mut outer_python) = (0, 0);
        let mut omitted: u64 = 0;
        let mut leaf_code = 0;
        let mut links: Vec<Link> = Vec::new();
        let mut walked: u64 = 0;
        let mut brent = Brent::new(first);
        let mut buf = [0u8; 256];
        let mut frame = first;
        // 3.11+: whether the frame last read is where a C-level evaluation starts (3.11's
        // `is_entry`, 3.12's entry shim); the outermost frame of a thread always is.
        let entries = self.entries();
        let mut entry = false;
        let end = loop {
            if frame == 0 {
                break End::Root;
            }
            if walked >= share {
                break End::Cut;
            }
            match self.budget.frame() {
                Ok(()) => {}
                Err(Exhausted::Stopped) => return Err(WalkError::Budget(Exhausted::Stopped)),
                Err(_) => break End::Cut,
            }
            walked += 1;
            let b = &mut buf[..len];
            match self.mem().read(frame, b).map_err(WalkError::read("frame")) {
                Ok(()) => {}
                Err(e) if e.is_local() => break End::Unreadable,
                Err(WalkError::Budget(Exhausted::Stopped)) => {
                    return Err(WalkError::Budget(Exhausted::Stopped))
                }
                Err(WalkError::Budget(_)) => break End::Cut,
                Err(e) => return Err(e),
            }
            let b = &buf[..len];
            if walked == 1 {
                leaf_code = u64_at(b, self.code_field() as usize).unwrap_or(0);
            }
            let Some((code, next)) = self.parse(b)? else {
                break End::Unreadable;
            };
            if links.len() < CHECKED_FRAMES {
                links.push(self.link(frame, b, next));
            }
            entry = match entries {
                Entries::Shims => code.is_none(),
                // A generator's frame keeps `is_entry` from its last run, and is relinked each
                // time it runs: alone, it is a stale pointer, never a thread's first frame.
                Entries::Flag(off, owner) => {
                    u8_at(b, off as usize).is_some_and(|f| f != 0)
                        && u8_at(b, owner as usize) != Some(GENERATOR_OWNER_311)
                }
                Entries::None => true,
            };
            // An entry shim (3.12+) is the frame out of the first one its evaluation runs.
            if entries == Entries::Shims && entry {
                if let Some(r) = outer.back_mut().or(inner.last_mut()) {
                    r.entry = true;
                }
            }
            // The windows count Python frames; entry shims go along with their neighbours.
            let python = usize::from(code.is_some());
            let starts = entry && entries != Entries::Shims;
            let raw = Raw {
                frame,
                code,
                entry: starts,
            };
            if inner_python < KEPT_INNER {
                inner.push(raw);
                inner_python += python;
            } else {
                outer.push_back(raw);
                outer_python += python;
                while outer_python > KEPT_OUTER {
                    if outer.pop_front().is_some_and(|r| r.code.is_some()) {
                        outer_python -= 1;
                        omitted += 1;
                    }
                }
            }
            if let Some(length) = brent.step(next) {
                if omitted == 0 {
                    inner.extend(outer.drain(..));
                    inner.truncate(loop_start(&inner, length) + length);
                }
                break End::Cycle;
            }
            frame = next;
        };
        // The outermost frame of a thread starts its first evaluation.
        if let Some(r) = inner
            .iter_mut()
            .chain(outer.iter_mut())
            .rev()
            .find(|r| r.code.is_some())
        {
            r.entry |= end == End::Root;
        }
        let python = || inner.iter().chain(&outer).filter(|r| r.code.is_some());
        Ok(RawStack {
            kept_inner: inner_python,
            frames: python().filter_map(|r| r.code).collect(),
            entries: python().map(|r| r.entry).collect(),
            omitted,
            end,
            leaf_code,
            anchored: end != End::Root || walked == 0 || entry,
            links,
            walked,
        })
    }

    /// How this layout marks where a C-level evaluation starts.
    fn entries(&self) -> Entries {
        match self.layout.frame {
            FrameLayout::Interpreter {
                shim_owner: Some(_),
                ..
            } => Entries::Shims,
            FrameLayout::Interpreter {
                is_entry: Some(off),
                owner,
                ..
            } => Entries::Flag(off, owner),
            _ => Entries::None,
        }
    }

    /// The frames of a walked chain, named from their code objects (which do not change, so
    /// this may be done after the thread was resumed), with the markers of what was left out;
    /// and for each, whether a C-level evaluation starts there (see `Thread::entries`).
    #[inline(never)]
    pub(crate) fn name_chain(
        &mut self,
        raw: &RawStack,
    ) -> Result<(Vec<Frame>, Vec<bool>), WalkError> {
        let mem = Charged {
            mem: self.mem.get(),
            budget: &self.budget,
        };
        let mut frames = self.codes.frames(
            &mem,
            &self.layout,
            self.roots.code_type,
            &self.budget,
            &raw.frames,
        )?;
        let mut entries = raw.entries.clone();
        if raw.omitted > 0 {
            frames.insert(raw.kept_inner, Frame::marker(FrameKind::Omitted));
            entries.insert(raw.kept_inner.min(entries.len()), false);
        }
        match raw.end {
            End::Root => {}
            End::Unreadable => frames.push(Frame::unreadable()),
            End::Cycle => frames.push(Frame::marker(FrameKind::Cycle)),
            End::Cut => frames.push(Frame::marker(FrameKind::NotRead)),
        }
        entries.resize(frames.len(), false);
        Ok((frames, entries))
    }

    /// The code a frame runs and where (None for an entry shim), and the next frame out.
    /// None when the frame is too short to hold its fields.
    #[allow(clippy::type_complexity)]
    fn parse(&self, b: &[u8]) -> Result<Option<(Option<(u64, Lasti)>, u64)>, WalkError> {
        Ok(match self.layout.frame {
            FrameLayout::Object {
                f_back,
                f_code,
                f_lasti,
                lasti_scale,
                ..
            } => {
                let (Some(lasti), Some(code), Some(back)) = (
                    i32_at(b, f_lasti as usize),
                    u64_at(b, f_code as usize),
                    u64_at(b, f_back as usize),
                ) else {
                    return Ok(None);
                };
                let at = Lasti::Bytes(lasti.saturating_mul(lasti_scale));
                Some((Some((code, at)), back))
            }
            FrameLayout::Interpreter {
                previous,
                code,
                instr,
                owner,
                shim_owner,
                tag_bits,
                tlbc_index,
                ..
            } => {
                let (Some(owner), Some(code), Some(mut ip), Some(back)) = (
                    u8_at(b, owner as usize),
                    u64_at(b, code as usize),
                    u64_at(b, instr as usize),
                    u64_at(b, previous as usize),
                ) else {
                    return Ok(None);
                };
                // Entry shims (3.12+) are not Python frames.
                if shim_owner.is_some_and(|s| owner >= s) {
                    return Ok(Some((None, back)));
                }
                let code = code & !tag_bits;
                if let Some(off) = tlbc_index {
                    let index = i32_at(b, off as usize).unwrap_or(0);
                    ip = match self.in_main_bytecode(code, index, ip) {
                        Ok(ip) => ip,
                        Err(e) if e.is_local() => 0,
                        Err(e) => return Err(e),
                    };
                }
                Some((Some((code, Lasti::Instr(ip))), back))
            }
        })
    }

    /// `ip`, which points into copy `index` of the bytecode of `code` (3.14t runs one copy per
    /// thread, `co_tlbc->entries[index]`; copy 0 is `co_code_adaptive`), moved to the same
    /// instruction in copy 0, where the line table applies.
    fn in_main_bytecode(&self, code: u64, index: i32, ip: u64) -> Result<u64, WalkError> {
        let (Some(tlbc), Some(adaptive)) = (self.layout.code.tlbc, self.layout.code.code_adaptive)
        else {
            return Ok(ip);
        };
        if index <= 0 {
            return Ok(ip);
        }
        let array = self.ptr(code.wrapping_add(tlbc), "PyCodeObject.co_tlbc")?;
        let mut b = [0u8; 8];
        self.mem()
            .read(array, &mut b)
            .map_err(WalkError::read("_PyCodeArray"))?;
        let size = i64_at(&b, 0).unwrap_or(0);
        if i64::from(index) >= size || size > MAX_TLBC {
            return Err(WalkError::Garbage(format!(
                "bytecode copy {index} of {size} at {array:#x}"
            )));
        }
        let entry = self.ptr(
            array.wrapping_add(8 + 8 * index as u64),
            "_PyCodeArray.entries",
        )?;
        Ok(ip
            .wrapping_sub(entry)
            .wrapping_add(code.wrapping_add(adaptive)))
    }
}

/// Where the loop of a chain that loops with period `length` starts: the first frame that the
/// frame `length` further out repeats. `chain` holds every frame walked, in order.
fn loop_start(chain: &[Raw], length: usize) -> usize {
    (0..chain.len())
        .find(|&i| {
            chain
                .get(i + length)
                .is_none_or(|later| later.frame == chain[i].frame)
        })
        .unwrap_or(0)
}
