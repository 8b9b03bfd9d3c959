//! What sampling collected: identical stacks merged with a count, idle and failed samples,
//! and (for `--flamechart`) the time line of samples. Memory stays proportional to the number
//! of distinct stacks, not to the number of samples, except for the time line.

use std::collections::HashMap;
use std::rc::Rc;

use crate::python::walk::{Code, Frame};

/// A code object and line, interned: an index into `Profile::codes`.
pub type FrameId = (u32, i32);

/// One entry of the time line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Idle,
    Failed,
    /// A stack, by its index in `Profile::stacks`.
    Stack(u32),
}

/// What one sample saw.
pub enum Observation<'a> {
    Idle,
    Failed,
    /// The stacks of the sampled threads, each innermost frame first (never empty).
    Stacks(&'a [Vec<Frame>]),
}

pub struct Profile {
    line_numbers: bool,
    exclude_idle: bool,
    pub codes: Vec<Rc<Code>>,
    code_ids: HashMap<*const Code, u32>,
    /// Distinct stacks, outermost frame first, with their counts.
    pub stacks: Vec<(Box<[FrameId]>, u64)>,
    stack_ids: HashMap<Box<[FrameId]>, u32>,
    pub samples: u64,
    pub idle: u64,
    pub failed: u64,
    /// (microseconds since the epoch, event), when a time line is kept.
    pub timeline: Option<Vec<(u64, Event)>>,
    scratch: Vec<FrameId>,
}

impl Profile {
    pub fn new(line_numbers: bool, exclude_idle: bool, timeline: bool) -> Profile {
        Profile {
            line_numbers,
            exclude_idle,
            codes: Vec::new(),
            code_ids: HashMap::new(),
            stacks: Vec::new(),
            stack_ids: HashMap::new(),
            samples: 0,
            idle: 0,
            failed: 0,
            timeline: timeline.then(Vec::new),
            scratch: Vec::new(),
        }
    }

    /// Adds one sample taken at `micros` (microseconds since the epoch).
    pub fn record(&mut self, micros: u64, seen: Observation) {
        self.samples += 1;
        match seen {
            Observation::Idle if self.exclude_idle => {}
            Observation::Idle => {
                self.idle += 1;
                self.push(micros, Event::Idle);
            }
            Observation::Failed => {
                self.failed += 1;
                self.push(micros, Event::Failed);
            }
            Observation::Stacks(stacks) => {
                for frames in stacks {
                    let id = self.intern(frames);
                    self.stacks[id as usize].1 += 1;
                    self.push(micros, Event::Stack(id));
                }
            }
        }
    }

    fn push(&mut self, micros: u64, event: Event) {
        if let Some(t) = &mut self.timeline {
            t.push((micros, event));
        }
    }

    fn intern(&mut self, frames: &[Frame]) -> u32 {
        self.scratch.clear();
        for f in frames.iter().rev() {
            let next = self.codes.len() as u32;
            let code = *self.code_ids.entry(Rc::as_ptr(&f.code)).or_insert(next);
            if code == next {
                self.codes.push(f.code.clone());
            }
            let line = if self.line_numbers { f.line } else { 0 };
            self.scratch.push((code, line));
        }
        if let Some(&id) = self.stack_ids.get(self.scratch.as_slice()) {
            return id;
        }
        let id = self.stacks.len() as u32;
        let key: Box<[FrameId]> = self.scratch.as_slice().into();
        self.stack_ids.insert(key.clone(), id);
        self.stacks.push((key, 0));
        id
    }

    /// `file:function:line` (or `file:function` without line numbers).
    pub fn frame_text(&self, out: &mut String, (code, line): FrameId) {
        let c = &self.codes[code as usize];
        out.push_str(&c.filename);
        out.push(':');
        out.push_str(&c.name);
        if self.line_numbers {
            out.push(':');
            out.push_str(&line.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(file: &str, name: &str) -> Rc<Code> {
        Rc::new(Code {
            filename: file.into(),
            name: name.into(),
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
        assert_eq!(p.stacks[0].1, 2);
        assert_eq!(p.stacks[1].1, 1);
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
        p.frame_text(&mut s, p.stacks[0].0[0]);
        assert_eq!(s, "a.py:<module>:9");

        // Without line numbers, stacks differing only in lines are one stack.
        let mut q = Profile::new(false, true, false);
        q.record(1, Observation::Stacks(&[s1, s2]));
        q.record(2, Observation::Idle);
        assert_eq!(
            (q.stacks.len(), q.stacks[0].1, q.idle, q.samples),
            (1, 2, 0, 2)
        );
        assert!(q.timeline.is_none());
        let mut s = String::new();
        q.frame_text(&mut s, q.stacks[0].0[1]);
        assert_eq!(s, "a.py:f");
    }
}
