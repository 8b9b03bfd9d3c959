//! Tests of the walker over a fake memory laid out with every layout (the table's rows and the
//! published 3.13+ tables): stacks, GIL holders, shims, per-thread bytecode, the code cache,
//! bounds on every list, and placeholders for what cannot be read.

use super::*;
use crate::python::fake::FakePython;
use crate::python::layout::{for_version, Frame as FrameLayout, GilHolder};

pub(super) fn layouts() -> impl Iterator<Item = Layout> {
    crate::python::published::layouts().into_iter()
}

pub(super) fn names(t: &Thread) -> Vec<(String, String, i32)> {
    triples(&t.frames)
}

pub(super) fn triples(frames: &[Frame]) -> Vec<(String, String, i32)> {
    frames
        .iter()
        .map(|f| (f.code.filename.clone(), f.code.name.clone(), f.line))
        .collect()
}

pub(super) fn text(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .map(|f| format!("{}:{}:{}", f.code.filename, f.code.name, f.line))
        .collect()
}

impl Walker<'_> {
    /// The frames from `frame` outwards, with every frame left in the budget.
    pub(super) fn frames_from(&mut self, frame: u64) -> Result<Vec<Frame>, WalkError> {
        let share = self.budget.frames_left();
        let raw = self.chain(frame, share)?;
        self.name_chain(&raw).map(|(frames, _)| frames)
    }

    pub(super) fn threads(&mut self) -> Vec<Thread> {
        self.all_threads().expect("walks").0
    }
}

/// A chain of frames `names[0]` (innermost) ... `names[n-1]` (outermost), each its own code
/// object with co_firstlineno 10 * (i + 1).
pub(super) fn chain(py: &mut FakePython, file: &str, names: &[&str]) -> u64 {
    let mut back = 0;
    for (i, name) in names.iter().enumerate().rev() {
        let code = py.code(file, name, 10 * (i as i32 + 1));
        back = py.frame(code, back);
    }
    back
}

#[test]
fn walks_every_version() {
    for layout in layouts() {
        let v = layout.version;
        let mut py = FakePython::new(layout);
        let top = chain(&mut py, "/app/main.py", &["inner", "outer", "<module>"]);
        let busy = py.tstate(top, 0x7f00_0000_1000, 101);
        let idle = py.tstate(0, 0x7f00_0000_2000, 102);
        let main = py.interp(&[busy, idle], 0);
        py.set_gil_holder(main, busy);
        let sub_top = chain(&mut py, "<sub>", &["café", "函数", "𓀀"]);
        let sub_thread = py.tstate(sub_top, 0x7f00_0000_3000, 103);
        let sub = py.interp(&[sub_thread], 1);
        if matches!(layout.gil, GilHolder::Interp { .. }) {
            py.set_gil_holder(sub, 0);
        }
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert_eq!(w.interpreters().unwrap(), vec![sub, main], "{v:?}");
        let threads = w.threads();
        assert_eq!(
            threads.len(),
            2,
            "{v:?}: the thread without frames is left out"
        );
        let (s, m) = (&threads[0], &threads[1]);
        assert_eq!(
            names(m),
            vec![
                ("/app/main.py".into(), "inner".into(), 13),
                ("/app/main.py".into(), "outer".into(), 23),
                ("/app/main.py".into(), "<module>".into(), 33)
            ],
            "{v:?}"
        );
        assert_eq!(m.thread_id, 0x7f00_0000_1000);
        // Free-threaded builds have no GIL to hold.
        assert_eq!(m.holds_gil, layout.gil != GilHolder::Disabled, "{v:?}");
        assert_eq!(m.native_id.is_some(), v >= (3, 11));
        if v >= (3, 11) {
            assert_eq!((m.native_id, s.native_id), (Some(101), Some(103)));
        }
        if v >= (3, 7) {
            assert_eq!((m.interp_id, s.interp_id), (Some(0), Some(1)), "{v:?}");
        }
        let sub_names: Vec<String> = s.frames.iter().map(|f| f.code.name.clone()).collect();
        if v.0 == 3 {
            assert_eq!(sub_names, ["café", "函数", "𓀀"], "{v:?}");
        }
        assert!(!s.holds_gil, "{v:?}");
        // Only the GIL holder moves: nobody holding it is seen too.
        py.set_gil_holder(main, 0);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert!(w.threads().iter().all(|t| !t.holds_gil), "{v:?}");
        assert_eq!(w.gil_holder(main), Ok(None));
    }
}

#[test]
fn skips_entry_shims_and_shows_non_code_executables_as_unreadable() {
    for layout in layouts().filter(|l| l.version >= (3, 12)) {
        let mut py = FakePython::new(layout);
        let module = py.code("m.py", "<module>", 1);
        let outer = py.frame(module, 0);
        let trampoline = py.code("<trampoline>", "<interpreter trampoline>", 1);
        let shim = py.frame_with_owner(trampoline, outer, 3);
        let f = py.code("m.py", "f", 5);
        let inner = py.frame(f, shim);
        let t = py.tstate(inner, 1, 1);
        py.interp(&[t], 0);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        let threads = w.threads();
        let got: Vec<String> = threads[0]
            .frames
            .iter()
            .map(|f| f.code.name.clone())
            .collect();
        assert_eq!(got, ["f", "<module>"], "{:?}", layout.version);

        // A frame that is not a shim but runs something other than a code object (a dict) is
        // shown as unreadable, never silently dropped (a stack that never existed).
        let dict = py.object("dict", 1 << 29);
        let odd = py.frame(dict, inner);
        let t2 = py.tstate(odd, 2, 2);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert_eq!(
            text(&w.thread(t2).unwrap().frames),
            ["<unreadable>:<unreadable>:0", "m.py:f:8", "m.py:<module>:4"],
            "{:?}",
            layout.version
        );
    }
    for v in [(2, 7), (3, 9), (3, 11)] {
        let layout = *for_version(v.0, v.1).unwrap();
        let mut py = FakePython::new(layout);
        let module = py.code("m.py", "<module>", 1);
        let outer = py.frame(module, 0);
        let junk = py.alloc(vec![0u8; 256]);
        let f = py.frame(junk, outer);
        let t = py.tstate(f, 1, 1);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert_eq!(
            text(&w.thread(t).unwrap().frames),
            ["<unreadable>:<unreadable>:0", "m.py:<module>:4"],
            "{v:?}"
        );
    }
}

#[test]
fn checks_the_code_type_by_name_without_the_symbol() {
    let layout = *for_version(3, 11).unwrap();
    let mut py = FakePython::new(layout);
    let top = chain(&mut py, "a.py", &["f", "g"]);
    let t = py.tstate(top, 1, 1);
    py.interp(&[t], 0);
    let roots = Roots {
        code_type: None,
        ..py.roots
    };
    let mut w = Walker::new(&py.mem, layout, roots);
    assert_eq!(
        text(&w.thread(t).unwrap().frames),
        ["a.py:f:13", "a.py:g:23"]
    );
    // A type named otherwise is not code.
    let name = py.alloc(b"coda\0".to_vec());
    let ty = py.roots.code_type.unwrap();
    py.set(ty + layout.objects.tp_name, name);
    let mut w = Walker::new(&py.mem, layout, roots);
    let frames = w.thread(t).unwrap().frames;
    assert!(frames.iter().all(|f| f.code.kind == FrameKind::Unreadable));
}

struct GoneMemory;

impl Memory for GoneMemory {
    fn read(&self, _: u64, _: &mut [u8]) -> Result<(), ReadError> {
        Err(ReadError::Gone)
    }
}

#[test]
fn a_vanished_process_is_not_a_failed_sample() {
    let layout = *for_version(3, 11).unwrap();
    let roots = Roots {
        runtime: Some(0x1000),
        ..Roots::default()
    };
    let w = Walker::new(&GoneMemory, layout, roots);
    let err = w.interpreters().unwrap_err();
    assert_eq!(err, WalkError::Gone);
    assert_eq!(Error::from(err), Error::TargetGone);
    let garbage = WalkError::Garbage("x".into());
    assert!(matches!(Error::from(garbage), Error::Sample(_)));
}

/// The original Pyflame's other ABIs: 2.6 reads like 2.7, 3.4 and 3.5 like 3.6 except for two
/// code object fields and the sign of lnotab line increments.
#[test]
fn lnotab_line_increments_are_signed_from_36_only() {
    // (0, +1) then, from byte 6, a line increment of 0xfe: -2 from 3.6 on, +254 before.
    let table = [0, 1, 6, 0xfe];
    for (v, line) in [
        ((2, 6), 265),
        ((2, 7), 265),
        ((3, 4), 265),
        ((3, 5), 265),
        ((3, 6), 9),
        ((3, 9), 9),
    ] {
        let layout = *for_version(v.0, v.1).unwrap();
        let mut py = FakePython::new(layout);
        let code = py.code_with_table("old.py", "f", 10, &table);
        let f = py.frame_at(code, 0, 0, 8);
        let t = py.tstate(f, 1, 1);
        py.interp(&[t], 0);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        let threads = w.threads();
        assert_eq!(
            names(&threads[0]),
            vec![("old.py".into(), "f".into(), line)],
            "{v:?}"
        );
    }
}

/// 3.14t runs a per-thread copy of the bytecode: the line comes from the same instruction in
/// the main copy, where the line table applies.
#[test]
fn frames_in_a_threads_own_bytecode_copy_get_the_right_line() {
    let with_copies: Vec<Layout> = layouts().filter(|l| l.code.tlbc.is_some()).collect();
    assert!(
        !with_copies.is_empty(),
        "a 3.14t table is among the layouts"
    );
    for layout in with_copies {
        let mut py = FakePython::new(layout);
        let outer = py.code("/app/t.py", "outer", 40);
        let back = py.frame(outer, 0);
        let inner = py.code("/app/t.py", "inner", 10);
        let at = crate::python::fake::sample_linetable(&layout).1;
        let top = py.frame_in_copy(inner, back, at, 3);
        let t = py.tstate(top, 0x7f00_0000_1000, 101);
        py.interp(&[t], 0);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        let threads = w.threads();
        assert_eq!(
            names(&threads[0]),
            vec![
                ("/app/t.py".into(), "inner".into(), 13),
                ("/app/t.py".into(), "outer".into(), 43)
            ]
        );
        // A copy index beyond the array is garbage: the frame is there, its line unknown.
        let FrameLayout::Interpreter { tlbc_index, .. } = layout.frame else {
            unreachable!()
        };
        py.mem.patch(top + tlbc_index.unwrap(), &9u32.to_le_bytes());
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert_eq!(
            triples(&w.threads()[0].frames)[0],
            ("/app/t.py".into(), "inner".into(), 0)
        );
    }
}

#[test]
fn a_chain_whose_outermost_frame_starts_no_evaluation_is_not_anchored() {
    for layout in layouts() {
        let v = layout.version;
        let mut py = FakePython::new(layout);
        let module = py.code("m.py", "<module>", 1);
        let f = py.code("m.py", "f", 5);
        // The outermost frame of a thread is where a C-level evaluation started: an entry shim
        // (3.12+), a frame with is_entry set (3.11). To 3.10 there is nothing to check.
        let outer = match layout.frame {
            FrameLayout::Interpreter {
                shim_owner: Some(owner),
                ..
            } => {
                let trampoline = py.code("<trampoline>", "<interpreter trampoline>", 1);
                let shim = py.frame_with_owner(trampoline, 0, owner);
                py.frame(module, shim)
            }
            FrameLayout::Interpreter {
                is_entry: Some(off),
                ..
            } => {
                let m = py.frame(module, 0);
                py.mem.patch(m + off, &[1]);
                m
            }
            _ => py.frame(module, 0),
        };
        let whole = py.frame(f, outer);
        // A generator's frame, reached through a stale pointer: its link is not set yet.
        let gen = py.code("m.py", "gen", 9);
        let loose = py.frame(gen, 0);
        let (a, b) = (py.tstate(whole, 1, 1), py.tstate(loose, 2, 2));
        py.interp(&[a, b], 0);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert!(w.thread(a).unwrap().anchored, "{v:?}");
        assert_eq!(w.thread(b).unwrap().anchored, v < (3, 11), "{v:?}");
        let (threads, _) = w.read_threads().unwrap();
        let caught: Vec<bool> = w
            .name_threads(threads, &mut Issues::default())
            .unwrap()
            .iter()
            .map(|t| w.between_states(t))
            .collect();
        assert_eq!(caught, [false, v >= (3, 11)], "{v:?}");
    }
}
