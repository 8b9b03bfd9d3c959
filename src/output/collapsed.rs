//! The default output, flamegraph.pl's "folded" format as the original Pyflame wrote it:
//! `(idle) N`, `(failed) N`, then one line per distinct stack, outermost frame first, frames
//! joined by `;`, a space and the count. Lines are sorted and stacks with the same text are
//! merged (the original printed hash-map order and could repeat a line).

use std::collections::BTreeMap;

use crate::profile::Profile;

pub fn render(p: &Profile) -> String {
    let mut out = String::new();
    // In a process tree, each process's idle and failed samples are stacks under it.
    let (idle, failed) = p.specials();
    if idle > 0 {
        out.push_str(&format!("(idle) {idle}\n"));
    }
    if failed > 0 {
        out.push_str(&format!("(failed) {failed}\n"));
    }
    let mut merged: BTreeMap<String, u64> = BTreeMap::new();
    let mut text = String::new();
    // Threads are not named here: the same stack in two threads is one line.
    for stack in &p.stacks {
        if stack.count == 0 {
            continue;
        }
        text.clear();
        for (i, &f) in stack.frames.iter().enumerate() {
            if i > 0 {
                text.push(';');
            }
            p.frame_text(&mut text, f);
        }
        *merged.entry(text.clone()).or_insert(0) += stack.count;
    }
    for (stack, count) in merged {
        out.push_str(&stack);
        out.push(' ');
        out.push_str(&count.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Observation;
    use crate::python::walk::{Code, Frame, FrameKind};
    use std::rc::Rc;

    fn frames(spec: &[(&str, i32)]) -> Vec<Frame> {
        spec.iter()
            .map(|&(name, line)| Frame {
                code: Rc::new(Code {
                    filename: "t.py".into(),
                    name: name.into(),
                    kind: FrameKind::Python,
                }),
                line,
            })
            .collect()
    }

    #[test]
    fn sorted_merged_with_idle_and_failed_first() {
        let mut p = Profile::new(true, false, false);
        let inner = frames(&[("inner", 5), ("outer", 9), ("<module>", 11)]);
        let other = frames(&[("inner", 4), ("outer", 9), ("<module>", 11)]);
        for _ in 0..3 {
            p.record(0, Observation::Stacks(std::slice::from_ref(&inner)));
        }
        p.record(0, Observation::Stacks(std::slice::from_ref(&other)));
        // The same text through a different code object (a re-read after a cache flush).
        p.record(
            0,
            Observation::Stacks(&[frames(&[("inner", 4), ("outer", 9), ("<module>", 11)])]),
        );
        p.record(0, Observation::Idle);
        p.record(0, Observation::Failed);
        assert_eq!(
            render(&p),
            "(idle) 1\n(failed) 1\n\
             t.py:<module>:11;t.py:outer:9;t.py:inner:4 2\n\
             t.py:<module>:11;t.py:outer:9;t.py:inner:5 3\n"
        );
        let mut n = Profile::new(false, true, false);
        n.record(0, Observation::Stacks(&[inner, other]));
        n.record(0, Observation::Idle);
        assert_eq!(render(&n), "t.py:<module>;t.py:outer;t.py:inner 2\n");
        assert_eq!(render(&Profile::new(true, false, false)), "");
    }

    #[test]
    fn a_tree_has_a_root_per_process_and_its_idle_under_it() {
        let root = |text: &str| crate::python::walk::Frame::label(text);
        let (a, b) = (root("process 7 python3 a.py"), root("process 9 x;y\n"));
        let spin = frames(&[("spin", 3), ("<module>", 9)]);
        let mut p = Profile::new(true, false, false);
        p.record_in(&a, 0, Observation::Stacks(std::slice::from_ref(&spin)));
        p.record_in(&b, 0, Observation::Idle);
        p.tick();
        p.record_in(&a, 0, Observation::Failed);
        p.record_in(&b, 0, Observation::Stacks(std::slice::from_ref(&spin)));
        p.tick();
        assert_eq!((p.samples, p.idle, p.failed), (2, 1, 1));
        assert_eq!(
            render(&p),
            "process 7 python3 a.py;(failed) 1\n\
             process 7 python3 a.py;t.py:<module>:9;t.py:spin:3 1\n\
             process 9 x\\x3by\\n;(idle) 1\n\
             process 9 x\\x3by\\n;t.py:<module>:9;t.py:spin:3 1\n"
        );
        // -x: idle processes leave no line.
        let mut x = Profile::new(true, true, false);
        x.record_in(&b, 0, Observation::Idle);
        assert_eq!(render(&x), "");
    }
}
