//! Tests of the walker against what a corrupted or hostile target holds: placeholders for
//! names, tables, frames and thread states that cannot be read, loops, broken lists, deep
//! stacks kept at both ends, budgets and how threads share them, and the bounded code cache.

use super::tests::{chain, layouts, text};
use super::*;
use crate::budget::Exhausted;
use crate::python::fake::FakePython;
use crate::python::layout::{for_version, Frame as FrameLayout};
use frames::{KEPT_INNER, KEPT_OUTER};

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
