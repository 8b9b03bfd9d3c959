//! What a read made without stopping its thread must find again for it to stand: the fields
//! of every frame the walk used, and the thread's pointer to its innermost frame, in the order
//! the second look reads them (see `sampler/unstopped.rs` and `Prefetcher::recheck`).

use super::frames::End;
use super::{RawThread, Walker};
use crate::bytes::{i32_at, u64_at};
use crate::prefetch::Expect;
use crate::python::layout::{Frame as FrameLayout, FrameRoot};

/// Frames whose links are kept to check a read made without stopping the thread (see
/// `Walker::expect`); a deeper stack is not checked that way.
pub(super) const CHECKED_FRAMES: usize = 4096;

/// Whether a thread read without stopping it can be checked (see `Walker::expect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Checkable {
    Yes,
    /// Deeper than the frames whose links are kept, or cut by the budget.
    TooDeep,
    /// The walk ended at a frame it could not read, or at a loop: a read torn by the thread
    /// moving, or a corrupted stack.
    Broken,
}

/// What the walk used of one frame, as read: where it is, the code (or executable) pointer
/// and the next frame out as stored, and where it was (`f_lasti`, the instruction pointer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Link {
    frame: u64,
    code: u64,
    back: u64,
    at: u64,
}

impl RawThread {
    /// The outermost frame (its address and code pointer), when the walk read the whole
    /// chain and kept every frame's links.
    pub fn outermost(&self) -> Option<(u64, u64)> {
        let s = &self.stack;
        let whole = s.end == End::Root && s.links.len() as u64 == s.walked;
        whole.then(|| s.links.last().map(|l| (l.frame, l.code)))?
    }
}

impl Walker<'_> {
    /// The fields of a frame the walk used (see `Link`), from its bytes `b`.
    pub(super) fn link(&self, frame: u64, b: &[u8], back: u64) -> Link {
        let (code, at) = match self.layout.frame {
            FrameLayout::Object {
                f_code, f_lasti, ..
            } => (f_code, i32_at(b, f_lasti as usize).map(|v| v as u32 as u64)),
            FrameLayout::Interpreter { code, instr, .. } => (code, u64_at(b, instr as usize)),
        };
        Link {
            frame,
            code: u64_at(b, code as usize).unwrap_or(0),
            back,
            at: at.unwrap_or(0),
        }
    }

    /// What must read the same again for a thread read without stopping it to be one it
    /// really had (see `Prefetcher::recheck`), in this order: the thread state's pointer to
    /// its innermost frame (through 3.11's and 3.12's C-level frame record), every frame's
    /// code pointer, link to the next frame out and position (but the innermost frame's,
    /// which moves as it runs while the frame stays), and the pointer again. A frame is written before it is linked in and stays as it is
    /// until it is unlinked, so a second look that finds the same pointer at both ends saw
    /// those frames in place, unless within that one system call the thread unlinked frames
    /// and linked others in at the same addresses, and the first look found the very same.
    /// Goes to `out`, unless the read cannot be checked so.
    pub fn expect(&self, t: &RawThread, out: &mut Vec<Expect>) -> Checkable {
        let s = &t.stack;
        match s.end {
            End::Unreadable | End::Cycle => return Checkable::Broken,
            End::Cut => return Checkable::TooDeep,
            End::Root if s.links.len() as u64 != s.walked => return Checkable::TooDeep,
            End::Root => {}
        }
        let (code, back, at, at_len) = match self.layout.frame {
            FrameLayout::Object {
                f_code,
                f_back,
                f_lasti,
                ..
            } => (f_code, f_back, f_lasti, 4),
            FrameLayout::Interpreter {
                code,
                previous,
                instr,
                ..
            } => (code, previous, instr, 8),
        };
        // The pointer to the innermost frame, the frames, the pointer again. The frames may be
        // read in any order between the two (see above): by address, so that the second look
        // reads a few ranges rather than three values a frame.
        self.expect_innermost(t, out);
        let start = out.len();
        for (i, l) in s.links.iter().enumerate() {
            out.push(Expect::new(l.frame.wrapping_add(code), 8, l.code));
            out.push(Expect::new(l.frame.wrapping_add(back), 8, l.back));
            if i > 0 {
                out.push(Expect::new(l.frame.wrapping_add(at), at_len, l.at));
            }
        }
        out[start..].sort_unstable_by_key(|e| e.addr());
        self.expect_innermost(t, out);
        Checkable::Yes
    }

    /// The thread state's pointer to its innermost frame, through 3.11's and 3.12's C-level
    /// frame record (see `expect`).
    fn expect_innermost(&self, t: &RawThread, out: &mut Vec<Expect>) {
        match self.layout.tstate.frame {
            FrameRoot::Frame(off) | FrameRoot::CurrentFrame(off) => {
                out.push(Expect::new(t.tstate.wrapping_add(off), 8, t.leaf.frame));
            }
            FrameRoot::CFrame {
                cframe,
                current_frame,
            } => {
                out.push(Expect::new(t.tstate.wrapping_add(cframe), 8, t.leaf.cframe));
                if t.leaf.cframe != 0 {
                    let at = t.leaf.cframe.wrapping_add(current_frame);
                    out.push(Expect::new(at, 8, t.leaf.frame));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{chain, layouts};
    use super::*;
    use crate::prefetch::Prefetcher;
    use crate::python::fake::FakePython;
    use std::rc::Rc;

    /// On every layout: a whole read passes the second look; a caller's position moved, a
    /// code pointer changed or a frame relinked each fail it; the innermost frame's own
    /// position may move.
    #[test]
    fn the_second_look_catches_every_change_but_the_innermost_position() {
        for layout in layouts() {
            let v = layout.version;
            let mut py = FakePython::new(layout);
            let top = chain(&mut py, "/app/m.py", &["inner", "middle", "outer"]);
            let ts = py.tstate(top, 0x7f00_0000_1000, 7);
            py.interp(&[ts], 0);
            let (code, back, at) = match layout.frame {
                FrameLayout::Object {
                    f_code,
                    f_back,
                    f_lasti,
                    ..
                } => (f_code, f_back, f_lasti),
                FrameLayout::Interpreter {
                    code,
                    previous,
                    instr,
                    ..
                } => (code, previous, instr),
            };
            let middle = py.mem_u64(top + back);
            let outer = py.mem_u64(middle + back);
            let p = Rc::new(Prefetcher::new(&py.mem));
            let open = p.open().unwrap();
            let mut w = Walker::new(&*p, layout, py.roots);
            let t = w.read_thread(ts).unwrap();
            let mut expect = Vec::new();
            assert_eq!(w.expect(&t, &mut expect), Checkable::Yes, "{v:?}");
            drop(open);
            drop(w);
            assert!(p.recheck(&expect).unwrap(), "{v:?}: nothing moved");
            drop(p);
            let changes = [
                ("the innermost frame's own position", top + at, true),
                ("a caller's position", middle + at, false),
                ("a code pointer", outer + code, false),
                ("a link", middle + back, false),
            ];
            for (what, addr, passes) in changes {
                let old = py.mem_u64(addr) as u8;
                py.mem.patch(addr, &[old ^ 0x40]);
                let p = Rc::new(Prefetcher::new(&py.mem));
                assert_eq!(p.recheck(&expect).unwrap(), passes, "{v:?}: {what} changed");
                drop(p);
                py.mem.patch(addr, &[old]);
            }
        }
    }

    /// A chain that loops is not checked (the read is taken again); one deeper than the
    /// frames whose links are kept cannot be.
    #[test]
    fn loops_and_very_deep_stacks_are_not_checked() {
        for layout in layouts() {
            let v = layout.version;
            let mut py = FakePython::new(layout);
            let code = py.code("/app/deep.py", "f", 1);
            let mut top = 0;
            for _ in 0..CHECKED_FRAMES + 1 {
                top = py.frame(code, top);
            }
            let deep = py.tstate(top, 0x7f00_0000_1000, 7);
            let a = py.frame(code, 0);
            let b = py.frame(code, a);
            let back = match layout.frame {
                FrameLayout::Object { f_back, .. } => f_back,
                FrameLayout::Interpreter { previous, .. } => previous,
            };
            py.mem.patch(a + back, &b.to_le_bytes());
            let looping = py.tstate(b, 0x7f00_0000_2000, 8);
            py.interp(&[deep, looping], 0);
            let mut w = Walker::new(&py.mem, layout, py.roots);
            let mut expect = Vec::new();
            let t = w.read_thread(deep).unwrap();
            assert_eq!(w.expect(&t, &mut expect), Checkable::TooDeep, "{v:?}");
            let t = w.read_thread(looping).unwrap();
            assert_eq!(w.expect(&t, &mut expect), Checkable::Broken, "{v:?}");
        }
    }
}
