//! `--flamechart`, the original's timestamped format: per sample (and per thread with
//! `--threads`) the sample's time in integer microseconds since the epoch on one line, then the
//! stack outermost frame first with every frame followed by `;`, or `(idle)` / `(failed)`.

use crate::profile::{Event, Profile};

pub fn render(p: &Profile) -> String {
    let mut out = String::new();
    for &(micros, event) in p.timeline.as_deref().unwrap_or(&[]) {
        out.push_str(&micros.to_string());
        out.push('\n');
        match event {
            Event::Idle => out.push_str("(idle)"),
            Event::Failed => out.push_str("(failed)"),
            Event::Stack(id) => {
                for &f in p.stacks[id as usize].frames.iter() {
                    p.frame_text(&mut out, f);
                    out.push(';');
                }
            }
        }
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

    #[test]
    fn one_record_per_stack_in_time_order() {
        let code = |n: &str| {
            Rc::new(Code {
                filename: "s.py".into(),
                name: n.into(),
                kind: FrameKind::Python,
            })
        };
        let stack = vec![
            Frame {
                code: code("main"),
                line: 36,
            },
            Frame {
                code: code("<module>"),
                line: 49,
            },
        ];
        let mut p = Profile::new(true, false, true);
        p.record(1795619052342430, Observation::Idle);
        p.record(
            1795619052441736,
            Observation::Stacks(&[stack.clone(), stack]),
        );
        p.record(1795619052541736, Observation::Failed);
        assert_eq!(
            render(&p),
            "1795619052342430\n(idle)\n\
             1795619052441736\ns.py:<module>:49;s.py:main:36;\n\
             1795619052441736\ns.py:<module>:49;s.py:main:36;\n\
             1795619052541736\n(failed)\n"
        );
    }
}
