//! The profile's tests: interning, counting, threads and process roots.

use super::*;

fn code(file: &str, name: &str) -> Rc<Code> {
    Rc::new(Code {
        filename: file.into(),
        name: name.into(),
        kind: FrameKind::Python,
    })
}

#[test]
fn merges_identical_stacks_and_counts_the_rest() {
    let main = code("a.py", "<module>");
    let f = code("a.py", "f");
    let s1 = vec![
        Frame {
            code: f.clone(),
            line: 3,
        },
        Frame {
            code: main.clone(),
            line: 9,
        },
    ];
    let s2 = vec![
        Frame {
            code: f.clone(),
            line: 4,
        },
        Frame {
            code: main.clone(),
            line: 9,
        },
    ];
    let mut p = Profile::new(true, false, true);
    p.record(1, Observation::Stacks(std::slice::from_ref(&s1)));
    p.record(2, Observation::Stacks(&[s1.clone(), s2.clone()]));
    p.record(3, Observation::Idle);
    p.record(4, Observation::Failed);
    assert_eq!((p.samples, p.idle, p.failed), (4, 1, 1));
    assert_eq!(p.stacks.len(), 2);
    assert_eq!(p.stacks[0].count, 2);
    assert_eq!(p.stacks[1].count, 1);
    assert_eq!(p.stacks[0].thread, None);

    assert_eq!(p.codes.len(), 2);
    let t = p.timeline.as_ref().unwrap();
    assert_eq!(
        t[..],
        [
            (1, Event::Stack(0)),
            (2, Event::Stack(0)),
            (2, Event::Stack(1)),
            (3, Event::Idle),
            (4, Event::Failed)
        ]
    );
    let mut s = String::new();
    p.frame_text(&mut s, p.stacks[0].frames[0]);
    assert_eq!(s, "a.py:<module>:9");

    // Without line numbers, stacks differing only in lines are one stack.
    let mut q = Profile::new(false, true, false);
    q.record(1, Observation::Stacks(&[s1, s2]));
    q.record(2, Observation::Idle);
    assert_eq!(
        (q.stacks.len(), q.stacks[0].count, q.idle, q.samples),
        (1, 2, 0, 2)
    );
    assert!(q.timeline.is_none());
    let mut s = String::new();
    q.frame_text(&mut s, q.stacks[0].frames[1]);
    assert_eq!(s, "a.py:f");
}

#[test]
fn threads_keep_their_own_stacks() {
    let f = code("a.py", "f");
    let stack = vec![Frame { code: f, line: 3 }];
    let thread = |thread_id, native_id, interp_id| Thread {
        entries: Vec::new(),
        tstate: 1,
        thread_id,
        native_id,
        interp_id,
        holds_gil: false,
        frames: stack.clone(),
        omitted: 0,
        anchored: true,
        leaf: Default::default(),
    };
    let a = thread(7, Some(70), None);
    let b = thread(8, None, Some(2));
    let mut p = Profile::new(true, false, true);
    p.record(1, Observation::Threads(&[a.clone(), b.clone()]));
    p.record(2, Observation::Threads(std::slice::from_ref(&a)));
    p.record(3, Observation::Stacks(std::slice::from_ref(&stack)));
    let got: Vec<(Option<u32>, u64)> = p.stacks.iter().map(|s| (s.thread, s.count)).collect();
    assert_eq!(got, [(Some(0), 2), (Some(1), 1), (None, 1)]);
    assert_eq!(p.samples, 3);
    assert_eq!(p.threads[0].label(), "thread 7 tid=70");
    assert_eq!(p.threads[1].label(), "thread 8 interp=2");
    // Without --threads they are not told apart: a new thread costs nothing.
    let mut q = Profile::new(true, false, false);
    q.by_thread = false;
    for id in 0..1000 {
        q.record(
            1,
            Observation::Threads(&[thread(id, Some(id as u32), None)]),
        );
    }
    assert_eq!(
        (q.stacks.len(), q.threads.len(), q.stacks[0].count),
        (1, 0, 1000)
    );
    let t = p.timeline.as_ref().unwrap();
    assert_eq!(
        t[..],
        [
            (1, Event::Stack(0)),
            (1, Event::Stack(1)),
            (2, Event::Stack(0)),
            (3, Event::Stack(2))
        ]
    );
}

#[test]
fn a_code_object_read_twice_is_one_code() {
    let first = vec![Frame {
        code: code("a.py", "f"),
        line: 3,
    }];
    let again = vec![Frame {
        code: code("a.py", "f"),
        line: 3,
    }];
    let mut p = Profile::new(true, false, false);
    p.record(1, Observation::Stacks(std::slice::from_ref(&first)));
    drop(first);
    p.record(2, Observation::Stacks(std::slice::from_ref(&again)));
    p.record(3, Observation::Stacks(std::slice::from_ref(&again)));
    assert_eq!(
        (p.codes.len(), p.stacks.len(), p.stacks[0].count),
        (1, 1, 3)
    );
}
