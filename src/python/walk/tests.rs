//! Tests of the walker over a fake memory laid out with every layout (the table's rows and the
//! published 3.13+ tables): stacks, GIL holders, shims, per-thread bytecode, the code cache,
//! and bounds on every list.

use super::*;
use crate::python::fake::FakePython;
use crate::python::layout::{for_version, GilHolder};

fn layouts() -> impl Iterator<Item = Layout> {
    crate::python::published::layouts().into_iter()
}

fn names(t: &Thread) -> Vec<(String, String, i32)> {
    t.frames
        .iter()
        .map(|f| (f.code.filename.clone(), f.code.name.clone(), f.line))
        .collect()
}

/// A chain of frames `names[0]` (innermost) ... `names[n-1]` (outermost), each its own code
/// object with co_firstlineno 10 * (i + 1).
fn chain(py: &mut FakePython, file: &str, names: &[&str]) -> u64 {
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
        let threads = w.all_threads().unwrap();
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
        assert!(
            w.all_threads().unwrap().iter().all(|t| !t.holds_gil),
            "{v:?}"
        );
        assert_eq!(w.gil_holder(main), Ok(None));
    }
}

#[test]
fn skips_entry_shims_and_non_code_executables() {
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
        let threads = w.all_threads().unwrap();
        let got: Vec<String> = threads[0]
            .frames
            .iter()
            .map(|f| f.code.name.clone())
            .collect();
        assert_eq!(got, ["f", "<module>"], "{:?}", layout.version);

        // An executable that is not a code object (3.13 shims hold None) is not a frame.
        let none = py.alloc(vec![0u8; 64]);
        let odd = py.frame(none, inner);
        let t2 = py.tstate(odd, 2, 2);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert_eq!(w.thread(t2).unwrap().frames.len(), 2);
    }
    // Before 3.12 every frame must hold a code object: anything else is garbage.
    let layout = *for_version(3, 9).unwrap();
    let mut py = FakePython::new(layout);
    let junk = py.alloc(vec![0u8; 256]);
    let f = py.frame(junk, 0);
    let t = py.tstate(f, 1, 1);
    let mut w = Walker::new(&py.mem, layout, py.roots);
    assert!(matches!(w.thread(t), Err(WalkError::Garbage(_))));
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
    assert_eq!(w.thread(t).unwrap().frames.len(), 2);
    // A type named otherwise is refused.
    let name = py.alloc(b"coda\0".to_vec());
    let ty = py.roots.code_type.unwrap();
    py.set(ty + layout.objects.tp_name, name);
    let mut w = Walker::new(&py.mem, layout, roots);
    assert!(w.thread(t).is_err());
}

#[test]
fn every_walk_is_bounded() {
    for layout in layouts() {
        let v = layout.version;
        let mut py = FakePython::new(layout);
        let f_back = match layout.frame {
            FrameLayout::Object { f_back, .. } => f_back,
            FrameLayout::Interpreter { previous, .. } => previous,
        };
        // A frame that is its own caller, and a two-frame cycle.
        let code = py.code("c.py", "loop", 1);
        let a = py.frame(code, 0);
        py.set(a + f_back, a);
        let b = py.frame(code, 0);
        let c = py.frame(code, b);
        py.set(b + f_back, c);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert!(
            matches!(w.stack(a), Err(WalkError::TooLong("frames", _))),
            "{v:?}"
        );
        assert!(
            matches!(w.stack(c), Err(WalkError::TooLong("frames", _))),
            "{v:?}"
        );

        // A thread list that loops back on itself, and an interpreter list that does.
        let t1 = py.tstate(0, 1, 1);
        let t2 = py.tstate(0, 2, 2);
        let interp = py.interp(&[t1, t2], 0);
        py.set(t2 + layout.tstate.next, t1);
        let w = Walker::new(&py.mem, layout, py.roots);
        assert!(
            matches!(
                w.thread_states(interp),
                Err(WalkError::TooLong("threads", _))
            ),
            "{v:?}"
        );
        py.set(interp + layout.interp.next, interp);
        let w = Walker::new(&py.mem, layout, py.roots);
        assert!(
            matches!(w.interpreters(), Err(WalkError::TooLong("interpreters", _))),
            "{v:?}"
        );
    }
}

#[test]
fn pointers_near_the_top_of_the_address_space_fail_cleanly() {
    for layout in layouts() {
        let mut py = FakePython::new(layout);
        let f_back = match layout.frame {
            FrameLayout::Object { f_back, .. } => f_back,
            FrameLayout::Interpreter { previous, .. } => previous,
        };
        let code = py.code("c.py", "f", 1);
        let a = py.frame(code, 0);
        py.set(a + f_back, u64::MAX - 7);
        let t = py.tstate(u64::MAX - 3, 1, 1);
        let interp = py.interp(&[t], 0);
        py.set(interp + layout.interp.next, u64::MAX);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert!(w.stack(a).is_err(), "{:?}", layout.version);
        assert!(w.thread(t).is_err(), "{:?}", layout.version);
        assert!(w.interpreters().is_err(), "{:?}", layout.version);
        assert!(w
            .unchanged(
                u64::MAX - 2,
                Leaf {
                    cframe: u64::MAX,
                    frame: u64::MAX,
                    code: 1
                }
            )
            .is_ok());
    }
}

#[test]
fn deep_stacks_up_to_the_bound() {
    let layout = *for_version(3, 12).unwrap();
    let mut py = FakePython::new(layout);
    let code = py.code("r.py", "recurse", 1);
    let mut top = 0;
    for _ in 0..600 {
        top = py.frame(code, top);
    }
    let mut w = Walker::new(&py.mem, layout, py.roots);
    assert_eq!(w.stack(top).unwrap().len(), 600);
    for _ in 600..MAX_DEPTH + 1 {
        top = py.frame(code, top);
    }
    let mut w = Walker::new(&py.mem, layout, py.roots);
    assert_eq!(w.stack(top), Err(WalkError::TooLong("frames", MAX_DEPTH)));
}

#[test]
fn the_code_cache_notices_a_reused_address() {
    let layout = *for_version(3, 8).unwrap();
    let mut py = FakePython::new(layout);
    let code = py.code("a.py", "first", 1);
    let f = py.frame(code, 0);
    let mut w = Walker::new(&py.mem, layout, py.roots);
    assert_eq!(w.stack(f).unwrap()[0].code.name, "first");
    let cache = std::mem::take(&mut w.codes);
    assert_eq!(cache.len(), 1);
    // Same address, now a different code object (new name object).
    let other = py.string("second");
    py.set(code + layout.code.name, other);
    let mut w2 = Walker::new(&py.mem, layout, py.roots);
    w2.codes = cache;
    assert_eq!(w2.stack(f).unwrap()[0].code.name, "second");
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
        let threads = w.all_threads().unwrap();
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
        let threads = w.all_threads().unwrap();
        assert_eq!(
            names(&threads[0]),
            vec![
                ("/app/t.py".into(), "inner".into(), 13),
                ("/app/t.py".into(), "outer".into(), 43)
            ]
        );
        // A copy index beyond the array is garbage, not a line.
        let FrameLayout::Interpreter { tlbc_index, .. } = layout.frame else {
            unreachable!()
        };
        py.mem.patch(top + tlbc_index.unwrap(), &9u32.to_le_bytes());
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert!(w.all_threads().is_err());
    }
}
