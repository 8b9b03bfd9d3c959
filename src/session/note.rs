//! The one line a dump writes on stderr about what it could not read, and why.

use super::dump::STOP_WAIT;
use crate::budget::{Budget, Exhausted};
use crate::python::walk::{FrameKind, Issues, Thread};

/// What a dump could not read, and why, in one line; None when it read everything.
pub(super) fn dump_note(
    threads: &[Thread],
    issues: &Issues,
    budget: &Budget,
    late: bool,
    unstopped: usize,
) -> Option<String> {
    let plural = |n: usize, one: &str, many: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    let mut parts = Vec::new();
    let unreadable: usize = threads
        .iter()
        .map(|t| t.frames.iter().filter(|f| f.is_unreadable()).count())
        .sum();
    if unreadable > 0 {
        let frames = plural(unreadable, "frame", "frames");
        parts.push(format!(
            "{frames} could not be read (shown as <unreadable>)"
        ));
    }
    if issues.unreadable_threads > 0 {
        let states = plural(issues.unreadable_threads, "thread state", "thread states");
        parts.push(format!("{states} could not be read (left out)"));
    }
    parts.extend(issues.lists.iter().cloned());
    let cycles = threads
        .iter()
        .filter(|t| {
            t.frames
                .last()
                .is_some_and(|f| f.code.kind == FrameKind::Cycle)
        })
        .count();
    if cycles > 0 {
        let chains = plural(cycles, "frame chain loops", "frame chains loop");
        parts.push(format!("{chains} (cut at <pyflame>:<cycle>:0)"));
    }
    let cut = threads
        .iter()
        .filter(|t| {
            t.frames
                .last()
                .is_some_and(|f| f.code.kind == FrameKind::NotRead)
        })
        .count();
    if cut > 0 || issues.unread_threads > 0 {
        let limits = budget.limits();
        let why = match budget.exhausted() {
            Some(Exhausted::Bytes) => format!("it may read at most {} MiB", limits.bytes >> 20),
            Some(Exhausted::Time) => format!("it may take at most {} s", limits.total.as_secs()),
            _ => format!(
                "it may walk at most {} frames, shared among the threads",
                limits.frames
            ),
        };
        let mut what = Vec::new();
        if cut > 0 {
            let stacks = plural(cut, "stack ends", "stacks end");
            what.push(format!("{stacks} with <pyflame>:<frames not read>:0"));
        }
        if issues.unread_threads > 0 {
            let threads = plural(issues.unread_threads, "thread was", "threads were");
            what.push(format!("{threads} not read"));
        }
        parts.push(format!("the dump was cut ({why}): {}", what.join(", ")));
    }
    if unstopped > 0 {
        let threads = plural(unstopped, "thread was", "threads were");
        parts.push(format!(
            "{threads} read running: not stopped within {} ms (uninterruptible sleep, where Python frames cannot change)",
            STOP_WAIT.as_millis()
        ));
    }
    if late {
        parts.push(format!(
            "reading took longer than the {} ms the target may be kept stopped, so it was resumed and read again while running (stacks may be inconsistent)",
            budget.limits().stopped.as_millis()
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::walk::Frame;

    fn thread(frames: Vec<Frame>) -> Thread {
        let mut t = crate::output::testing::thread(1, &[("a.py", "f", 1)]);
        t.frames = frames;
        t
    }

    #[test]
    fn the_dump_note_says_what_could_not_be_read_in_one_line() {
        let budget = Budget::new(crate::budget::DUMP);
        let ok = crate::output::testing::frames(&[("a.py", "f", 1)]);
        assert_eq!(
            dump_note(&[thread(ok.clone())], &Issues::default(), &budget, false, 0),
            None
        );
        let unreadable = vec![ok[0].clone(), Frame::unreadable(), Frame::unreadable()];
        let cut = vec![ok[0].clone(), Frame::marker(FrameKind::NotRead)];
        let looped = vec![ok[0].clone(), Frame::marker(FrameKind::Cycle)];
        let issues = Issues {
            unreadable_threads: 1,
            unread_threads: 2,
            lists: vec!["the thread list of interpreter 0 loops after 2 entries".into()],
        };
        let threads = [thread(unreadable), thread(cut), thread(looped)];
        let note = dump_note(&threads, &issues, &budget, true, 2).unwrap();
        assert_eq!(
            note.split("; ").collect::<Vec<_>>(),
            [
                "2 frames could not be read (shown as <unreadable>)",
                "1 thread state could not be read (left out)",
                "the thread list of interpreter 0 loops after 2 entries",
                "1 frame chain loops (cut at <pyflame>:<cycle>:0)",
                "the dump was cut (it may walk at most 1000000 frames, shared among the threads): 1 stack ends with <pyflame>:<frames not read>:0, 2 threads were not read",
                "2 threads were read running: not stopped within 50 ms (uninterruptible sleep, where Python frames cannot change)",
                "reading took longer than the 200 ms the target may be kept stopped, so it was resumed and read again while running (stacks may be inconsistent)"
            ]
        );
        assert!(!note.contains('\n'));
    }
}
