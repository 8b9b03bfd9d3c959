//! Tests of the walker over a fake memory laid out with every layout (the table's rows and the
//! published 3.13+ tables): stacks, GIL holders, shims, per-thread bytecode, the code cache,
//! bounds on every list, and placeholders for what cannot be read.

use super::*;
use crate::budget::Exhausted;
use crate::python::fake::FakePython;
use crate::python::layout::{for_version, GilHolder};
use frames::{KEPT_INNER, KEPT_OUTER};

fn layouts() -> impl Iterator<Item = Layout> {
    crate::python::published::layouts().into_iter()
}

fn names(t: &Thread) -> Vec<(String, String, i32)> {
    triples(&t.frames)
}

fn triples(frames: &[Frame]) -> Vec<(String, String, i32)> {
    frames
        .iter()
        .map(|f| (f.code.filename.clone(), f.code.name.clone(), f.line))
        .collect()
}

fn text(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .map(|f| format!("{}:{}:{}", f.code.filename, f.code.name, f.line))
        .collect()
}

impl Walker<'_> {
    /// The frames from `frame` outwards, with every frame left in the budget.
    fn frames_from(&mut self, frame: u64) -> Result<Vec<Frame>, WalkError> {
        let share = self.budget.frames_left();
        let raw = self.chain(frame, share)?;
        self.name_chain(&raw)
    }

    fn threads(&mut self) -> Vec<Thread> {
        self.all_threads().expect("walks").0
    }
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

/// Each name that cannot be read is `<unreadable>` on its own; a line table that cannot be is
/// line 0; every other frame is as it is.
#[test]
fn unreadable_names_and_tables_are_placeholders() {
    for layout in layouts() {
        let v = layout.version;
        let c = layout.code;
        let mut py = FakePython::new(layout);
        let int = py.object("int", 1 << 24);
        let mut back = 0;
        let mut codes = Vec::new();
        for name in ["<module>", "g", "f", "e", "d"] {
            let code = py.code("app.py", name, 10);
            codes.push(code);
            back = py.frame(code, back);
        }
        // d: name unmapped; e: filename NULL; f: name an int; g: line table an int.
        py.set(codes[4] + c.name, 0x10);
        py.set(codes[3] + c.filename, 0);
        py.set(codes[2] + c.name, int);
        py.set(codes[1] + c.linetable, int);
        let t = py.tstate(back, 1, 1);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        let frames = w.thread(t).unwrap().frames;
        assert_eq!(
            text(&frames),
            [
                "app.py:<unreadable>:13",
                "<unreadable>:e:13",
                "app.py:<unreadable>:13",
                "app.py:g:0",
                "app.py:<module>:13"
            ],
            "{v:?}"
        );
        let unreadable: Vec<bool> = frames.iter().map(|f| f.is_unreadable()).collect();
        assert_eq!(unreadable, [true, true, true, false, false], "{v:?}");
    }
}

#[test]
fn loops_are_cut_where_they_repeat() {
    for layout in layouts() {
        let v = layout.version;
        let mut py = FakePython::new(layout);
        let f_back = match layout.frame {
            FrameLayout::Object { f_back, .. } => f_back,
            FrameLayout::Interpreter { previous, .. } => previous,
        };
        // A frame that is its own caller.
        let code = py.code("c.py", "loop", 1);
        let a = py.frame(code, 0);
        py.set(a + f_back, a);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert_eq!(
            text(&w.frames_from(a).unwrap()),
            ["c.py:loop:4", "<pyflame>:<cycle>:0"],
            "{v:?}"
        );
        // Two frames, the outer calling back into... three frames whose outermost links back
        // to the middle one: each frame of the loop once.
        let names = ["x", "y", "z"];
        let top = chain(&mut py, "c.py", &names);
        let middle = py.mem_u64(top + f_back);
        let outer = py.mem_u64(middle + f_back);
        py.set(outer + f_back, middle);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert_eq!(
            text(&w.frames_from(top).unwrap()),
            ["c.py:x:13", "c.py:y:23", "c.py:z:33", "<pyflame>:<cycle>:0"],
            "{v:?}"
        );
        // A long loop, found too.
        let mut first = 0;
        let mut last = 0;
        for i in 0..300 {
            last = py.frame(code, last);
            if i == 0 {
                first = last;
            }
        }
        py.set(first + f_back, last);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        let frames = w.frames_from(last).unwrap();
        assert_eq!(frames.len(), 301, "{v:?}");
        assert_eq!(frames[300].code.kind, FrameKind::Cycle);
    }
}

#[test]
fn broken_lists_end_where_they_break() {
    for layout in layouts() {
        let v = layout.version;
        let mut py = FakePython::new(layout);
        let code = py.code("c.py", "f", 1);
        let frame = py.frame(code, 0);
        // A thread list that loops back on itself.
        let t1 = py.tstate(frame, 1, 1);
        let t2 = py.tstate(frame, 2, 2);
        let interp = py.interp(&[t1, t2], 0);
        py.set(t2 + layout.tstate.next, t1);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert_eq!(w.thread_states(interp).unwrap(), [t1, t2], "{v:?}");
        let (threads, issues) = w.all_threads().unwrap();
        assert_eq!(threads.len(), 2, "{v:?}");
        assert_eq!(issues.lists.len(), 1, "{v:?}");
        assert!(
            issues.lists[0].contains("loops after 2 entries"),
            "{issues:?}"
        );
        // A link that cannot be read.
        py.set(t2 + layout.tstate.next, 0x10);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        let (threads, issues) = w.all_threads().unwrap();
        assert_eq!(threads.len(), 2, "{v:?}");
        // The link holds an address, whose thread state cannot be read, so has no link.
        assert!(
            issues.lists[0].contains("breaks after 3 entries"),
            "{issues:?}"
        );
        assert_eq!(issues.unreadable_threads, 1, "{v:?}");
        // A thread state that cannot be read is left out, and counted.
        py.set(t2 + layout.tstate.next, 0);
        py.set(t1 + layout.tstate.next, 0x20);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        let (threads, issues) = w.all_threads().unwrap();
        assert_eq!(threads.len(), 1, "{v:?}");
        assert_eq!(issues.unreadable_threads, 1, "{v:?}");
        // An interpreter list that loops.
        py.set(interp + layout.interp.next, interp);
        let w = Walker::new(&py.mem, layout, py.roots);
        assert_eq!(w.interpreters().unwrap(), [interp], "{v:?}");
    }
}

#[test]
fn pointers_near_the_top_of_the_address_space_fail_cleanly() {
    for layout in layouts() {
        let v = layout.version;
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
        assert_eq!(
            text(&w.frames_from(a).unwrap()),
            ["c.py:f:4", "<unreadable>:<unreadable>:0"],
            "{v:?}"
        );
        assert_eq!(
            text(&w.thread(t).unwrap().frames),
            ["<unreadable>:<unreadable>:0"],
            "{v:?}"
        );
        assert_eq!(w.interpreters().unwrap(), [interp, u64::MAX], "{v:?}");
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
fn deep_stacks_keep_their_root_and_leaf() {
    for v in [(2, 7), (3, 12), (3, 14)] {
        let layout = layouts().find(|l| l.version == v).unwrap();
        let mut py = FakePython::new(layout);
        let root = py.code("r.py", "<module>", 1);
        let code = py.code("r.py", "recurse", 10);
        let mut top = py.frame(root, 0);
        for _ in 0..600 {
            top = py.frame(code, top);
        }
        let mut w = Walker::new(&py.mem, layout, py.roots);
        assert_eq!(w.frames_from(top).unwrap().len(), 601);
        for _ in 600..3000 {
            top = py.frame(code, top);
        }
        let t = py.tstate(top, 1, 1);
        let mut w = Walker::new(&py.mem, layout, py.roots);
        let thread = w.thread(t).unwrap();
        let f = &thread.frames;
        assert_eq!(f.len(), KEPT_INNER + 1 + KEPT_OUTER, "{v:?}");
        assert_eq!(thread.omitted, 3001 - (KEPT_INNER + KEPT_OUTER) as u64);
        assert_eq!(f[0].code.name, "recurse");
        assert_eq!(f[KEPT_INNER].code.kind, FrameKind::Omitted);
        assert_eq!(text(&f[f.len() - 1..]), ["r.py:<module>:4"]);
    }
}

#[test]
fn budgets_cut_walks_with_a_marker() {
    let layout = *for_version(3, 12).unwrap();
    let mut py = FakePython::new(layout);
    let root = py.code("r.py", "<module>", 1);
    let code = py.code("r.py", "recurse", 10);
    let mut top = py.frame(root, 0);
    for _ in 0..500 {
        top = py.frame(code, top);
    }
    let threads: Vec<u64> = (0..4).map(|i| py.tstate(top, i, i as u32)).collect();
    py.interp(&threads, 0);
    // 1,000 frames for four threads of 501: not enough for each to keep 1,024 innermost
    // frames, so an even share each, and each is cut the same way.
    let mut w = Walker::new(&py.mem, layout, py.roots);
    w.begin(crate::budget::Limits {
        frames: 1000,
        ..crate::budget::DUMP
    });
    let (read, issues) = w.all_threads().unwrap();
    assert_eq!(read.len(), 4);
    assert_eq!(issues, Issues::default());
    for t in &read {
        assert_eq!(t.frames.len(), 251);
        assert_eq!(text(&t.frames[250..]), ["<pyflame>:<frames not read>:0"]);
    }
    // 4,000 frames: enough for every one.
    let mut w = Walker::new(&py.mem, layout, py.roots);
    w.begin(crate::budget::Limits {
        frames: 4000,
        ..crate::budget::DUMP
    });
    let (read, _) = w.all_threads().unwrap();
    let lens: Vec<usize> = read.iter().map(|t| t.frames.len()).collect();
    assert_eq!(lens, [501, 501, 501, 501]);
    // Bytes: the walk stops where they run out, and the threads after are counted as unread.
    let mut w = Walker::new(&py.mem, layout, py.roots);
    w.begin(crate::budget::Limits {
        bytes: 30_000,
        ..crate::budget::DUMP
    });
    let (read, issues) = w.all_threads().unwrap();
    assert_eq!(w.budget().exhausted(), Some(Exhausted::Bytes));
    assert!(read.len() < 4 && issues.unread_threads > 0, "{issues:?}");
    assert_eq!(read.len() + issues.unread_threads, 4);
    assert_eq!(read[0].frames.last().unwrap().code.kind, FrameKind::NotRead);
}

/// A deep stack may take what the others do not need for their innermost frames.
#[test]
fn a_deep_stack_is_not_held_to_an_even_share() {
    let layout = *for_version(3, 11).unwrap();
    let mut py = FakePython::new(layout);
    let code = py.code("r.py", "recurse", 10);
    let mut deep = 0;
    for _ in 0..3000 {
        deep = py.frame(code, deep);
    }
    let shallow = chain(&mut py, "s.py", &["f", "g"]);
    let threads = [py.tstate(deep, 1, 1), py.tstate(shallow, 2, 2)];
    py.interp(&threads, 0);
    let mut w = Walker::new(&py.mem, layout, py.roots);
    w.begin(crate::budget::Limits {
        frames: 5000,
        ..crate::budget::DUMP
    });
    let (read, issues) = w.all_threads().unwrap();
    assert_eq!(issues, Issues::default());
    let lens: Vec<usize> = read.iter().map(|t| t.frames.len()).collect();
    assert_eq!(lens, [KEPT_INNER + 1 + KEPT_OUTER, 2]);
    assert_eq!(read[0].omitted, 3000 - 2048);
}

#[test]
fn the_code_cache_notices_a_reused_address() {
    let layout = *for_version(3, 8).unwrap();
    let mut py = FakePython::new(layout);
    let code = py.code("a.py", "first", 1);
    let f = py.frame(code, 0);
    let mut w = Walker::new(&py.mem, layout, py.roots);
    assert_eq!(w.frames_from(f).unwrap()[0].code.name, "first");
    let cache = std::mem::take(&mut w.codes);
    assert_eq!(cache.len(), 1);
    // Same address, now a different code object (new name object).
    let other = py.string("second");
    py.set(code + layout.code.name, other);
    let mut w2 = Walker::new(&py.mem, layout, py.roots);
    w2.codes = cache;
    assert_eq!(w2.frames_from(f).unwrap()[0].code.name, "second");
}

/// Code objects no stack used for two sweeps are dropped, with the line tables only they used.
#[test]
fn the_code_cache_keeps_what_was_seen_lately() {
    let layout = *for_version(3, 12).unwrap();
    let mut py = FakePython::new(layout);
    let kept = py.code("m.py", "kept", 1);
    let kept_frame = py.frame(kept, 0);
    let churned: Vec<u64> = (0..50)
        .map(|i| {
            let code = py.code("m.py", &format!("new{i}"), 1);
            py.frame(code, 0)
        })
        .collect();
    let mut w = Walker::new(&py.mem, layout, py.roots);
    for &frame in &churned {
        w.frames_from(frame).unwrap();
    }
    assert_eq!(w.codes.len(), 50);
    let full = w.codes.cached_bytes();
    for _ in 0..2 {
        w.codes.drop_unused();
        w.frames_from(kept_frame).unwrap();
    }
    // Once more: still used in the generation before, the 50 stay.
    assert_eq!(w.codes.len(), 51);
    w.codes.drop_unused();
    assert_eq!(w.codes.len(), 1, "{churned:?}");
    assert!(
        w.codes.cached_bytes() < full / 10,
        "{} of {full}",
        w.codes.cached_bytes()
    );
}

/// Many code objects sharing one large line table cost that table once.
#[test]
fn a_shared_line_table_is_cached_once() {
    let layout = *for_version(3, 12).unwrap();
    let mut py = FakePython::new(layout);
    let big = vec![0u8; 1 << 20];
    let shared = py.bytes(&big);
    let mut top = 0;
    for i in 0..200 {
        let code = py.code("m.py", &format!("f{i}"), 7);
        py.set(code + layout.code.linetable, shared);
        top = py.frame(code, top);
    }
    let mut w = Walker::new(&py.mem, layout, py.roots);
    let frames = w.frames_from(top).unwrap();
    assert_eq!(frames.len(), 200);
    // A table of zeros gives every instruction co_firstlineno.
    assert!(frames.iter().all(|f| f.line == 7));
    assert!(
        w.codes.cached_bytes() < (1 << 20) + 64 * 1024,
        "{}",
        w.codes.cached_bytes()
    );
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
