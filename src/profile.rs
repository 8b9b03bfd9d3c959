//! What sampling collected: identical stacks merged with a count (per thread, when the sampler
//! says whose stack it read), idle and failed samples, and (for `--flamechart`) the time line
//! of samples. Memory stays proportional to the number of distinct stacks, not to the number
//! of samples, except for the time line. Names are escaped (`output::escape`) as they enter.

use crate::hash::Map;
use std::rc::Rc;

use crate::output::escape;
use crate::python::walk::{Code, Frame, FrameKind, Thread};

/// Code objects remembered by address before the map starts over (they are then found again
/// by their text).
const MAX_CODE_IDS: usize = 4096;

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
    /// The stacks of the sampled threads, each innermost frame first (never empty), without
    /// saying whose they are (tests).
    #[cfg(test)]
    Stacks(&'a [Vec<Frame>]),
    /// The sampled threads themselves (each with a frame), so that stacks keep their thread
    /// (one tower or speedscope profile per thread).
    Threads(&'a [Thread]),
}

/// A sampled thread, as a thread state identifies it (the dump's header fields). Ordered by
/// kernel thread id where known (the main thread, whose id is the PID, comes first), then by
/// `thread_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadKey {
    /// The process (its root label, in `Profile::codes`), in a process tree.
    pub process: Option<u32>,
    /// The kernel thread id, where the thread state records it (3.11+).
    pub native_id: Option<u32>,
    /// `PyThreadState.thread_id`, the pthread_t.
    pub thread_id: u64,
    pub interp_id: Option<i64>,
}

impl ThreadKey {
    /// `thread <thread_id>[ tid=<tid>][ interp=<id>]`, as the dump names a thread.
    pub fn label(&self) -> String {
        let mut text = format!("thread {}", self.thread_id);
        if let Some(tid) = self.native_id {
            text.push_str(&format!(" tid={tid}"));
        }
        if let Some(id) = self.interp_id.filter(|&id| id != 0) {
            text.push_str(&format!(" interp={id}"));
        }
        text
    }
}

/// One distinct stack of one thread (or of threads the sampler did not name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// Outermost frame first.
    pub frames: Box<[FrameId]>,
    /// An index into `Profile::threads`; None when the sampler did not say.
    pub thread: Option<u32>,
    pub count: u64,
}

pub struct Profile {
    line_numbers: bool,
    exclude_idle: bool,
    /// Distinct code objects (by escaped text).
    pub codes: Vec<Rc<Code>>,
    /// Code objects by address: the walker shares one `Rc` per code object it has read. The
    /// map holds each `Rc`, so no other code object can take its address while it is here.
    code_ids: Map<*const Code, (Rc<Code>, u32)>,
    /// Code objects by escaped text: one read again (a new code object with the same names,
    /// or the same one after a cache dropped it) is the same.
    code_texts: Map<Rc<Code>, u32>,
    /// Distinct stacks with their counts.
    pub stacks: Vec<Stack>,
    /// Per thread slot (0: unnamed, 1 + i: `threads[i]`), stack frames -> index in `stacks`.
    stack_ids: Vec<Map<Box<[FrameId]>, u32>>,
    /// Whether stacks are kept per thread (`--threads`: its outputs group by thread). Else
    /// the threads are not told apart: a target starting threads all day costs no memory.
    pub by_thread: bool,
    /// The threads seen, in the order first seen.
    pub threads: Vec<ThreadKey>,
    thread_ids: Map<ThreadKey, u32>,
    pub samples: u64,
    pub idle: u64,
    pub failed: u64,
    /// (microseconds since the epoch, event), when a time line is kept.
    pub timeline: Option<Vec<(u64, Event)>>,
    scratch: Vec<FrameId>,
    /// Stacks start with their process (`record_in`): idle and failed samples are stacks too.
    pub rooted: bool,
    /// The `(idle)` and `(failed)` labels of rooted stacks.
    idle_label: Rc<Code>,
    failed_label: Rc<Code>,
}

impl Profile {
    pub fn new(line_numbers: bool, exclude_idle: bool, timeline: bool) -> Profile {
        Profile {
            line_numbers,
            exclude_idle,
            codes: Vec::new(),
            code_ids: Map::default(),
            code_texts: Map::default(),
            stacks: Vec::new(),
            stack_ids: vec![Map::default()],
            by_thread: true,
            threads: Vec::new(),
            thread_ids: Map::default(),
            samples: 0,
            idle: 0,
            failed: 0,
            timeline: timeline.then(Vec::new),
            scratch: Vec::new(),
            rooted: false,
            idle_label: Frame::label("(idle)"),
            failed_label: Frame::label("(failed)"),
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
            #[cfg(test)]
            Observation::Stacks(stacks) => {
                for frames in stacks {
                    self.count(micros, None, frames, None);
                }
            }
            Observation::Threads(threads) => {
                for t in threads {
                    let thread = self.by_thread.then(|| self.intern_thread(t, None));
                    self.count(micros, None, &t.frames, thread);
                }
            }
        }
    }

    /// Adds what one process of a process tree showed in a sample taken at `micros`: its
    /// stacks, idle or failed, each under `root`, its label. The sample itself is counted
    /// once for all processes (`tick`).
    pub fn record_in(&mut self, root: &Rc<Code>, micros: u64, seen: Observation) {
        self.rooted = true;
        let label = match seen {
            Observation::Idle if self.exclude_idle => return,
            Observation::Idle => {
                self.idle += 1;
                self.idle_label.clone()
            }
            Observation::Failed => {
                self.failed += 1;
                self.failed_label.clone()
            }
            #[cfg(test)]
            Observation::Stacks(stacks) => {
                for frames in stacks {
                    self.count(micros, Some(root), frames, None);
                }
                return;
            }
            Observation::Threads(threads) => {
                for t in threads {
                    let thread = self.by_thread.then(|| self.intern_thread(t, Some(root)));
                    self.count(micros, Some(root), &t.frames, thread);
                }
                return;
            }
        };
        let frame = Frame {
            code: label,
            line: 0,
        };
        self.count(micros, Some(root), std::slice::from_ref(&frame), None);
    }

    /// Idle and failed samples that are not stacks (a lone process's; in a tree they are
    /// stacks under each process).
    pub fn specials(&self) -> (u64, u64) {
        match self.rooted {
            true => (0, 0),
            false => (self.idle, self.failed),
        }
    }

    /// One sample of a process tree, whatever its processes showed.
    pub fn tick(&mut self) {
        self.samples += 1;
    }

    /// A thread's name in the outputs: `ThreadKey::label`, after its process's in a tree.
    pub fn thread_label(&self, t: u32) -> String {
        let key = &self.threads[t as usize];
        match key.process {
            Some(c) => format!("{}: {}", self.codes[c as usize].name, key.label()),
            None => key.label(),
        }
    }

    /// Whether frames carry their line (not `-n`).
    pub fn line_numbers(&self) -> bool {
        self.line_numbers
    }

    fn count(
        &mut self,
        micros: u64,
        root: Option<&Rc<Code>>,
        frames: &[Frame],
        thread: Option<u32>,
    ) {
        let id = self.intern(root, frames, thread);
        self.stacks[id as usize].count += 1;
        self.push(micros, Event::Stack(id));
    }

    fn intern_thread(&mut self, t: &Thread, root: Option<&Rc<Code>>) -> u32 {
        let key = ThreadKey {
            process: root.map(|r| self.code_id(r)),
            thread_id: t.thread_id,
            native_id: t.native_id,
            interp_id: t.interp_id,
        };
        let next = self.threads.len() as u32;
        let id = *self.thread_ids.entry(key).or_insert(next);
        if id == next {
            self.threads.push(key);
            self.stack_ids.push(Map::default());
        }
        id
    }

    fn push(&mut self, micros: u64, event: Event) {
        if let Some(t) = &mut self.timeline {
            t.push((micros, event));
        }
    }

    fn intern(&mut self, root: Option<&Rc<Code>>, frames: &[Frame], thread: Option<u32>) -> u32 {
        self.scratch.clear();
        if let Some(root) = root {
            let code = self.code_id(root);
            self.scratch.push((code, 0));
        }
        for f in frames.iter().rev() {
            let code = self.code_id(&f.code);
            let line = if self.line_numbers { f.line } else { 0 };
            self.scratch.push((code, line));
        }
        let slot = thread.map_or(0, |t| t as usize + 1);
        if let Some(&id) = self.stack_ids[slot].get(self.scratch.as_slice()) {
            return id;
        }
        let id = self.stacks.len() as u32;
        let key: Box<[FrameId]> = self.scratch.as_slice().into();
        self.stack_ids[slot].insert(key.clone(), id);
        self.stacks.push(Stack {
            frames: key,
            thread,
            count: 0,
        });
        id
    }

    fn code_id(&mut self, code: &Rc<Code>) -> u32 {
        match self.code_ids.get(&Rc::as_ptr(code)) {
            Some(&(_, id)) => id,
            None => self.intern_code(code),
        }
    }

    fn intern_code(&mut self, code: &Rc<Code>) -> u32 {
        let (filename, name) = (escape::name(&code.filename), escape::name(&code.name));
        let text = Rc::new(Code {
            filename: filename.into_owned(),
            name: name.into_owned(),
            kind: code.kind,
        });
        let next = self.codes.len() as u32;
        let id = *self.code_texts.entry(text.clone()).or_insert(next);
        if id == next {
            self.codes.push(text);
        }
        if self.code_ids.len() >= MAX_CODE_IDS {
            self.code_ids.clear();
        }
        self.code_ids.insert(Rc::as_ptr(code), (code.clone(), id));
        id
    }

    /// `file:function:line` (or `file:function` without line numbers); a label as it is.
    pub fn frame_text(&self, out: &mut String, (code, line): FrameId) {
        let c = &self.codes[code as usize];
        if c.kind == FrameKind::Label {
            out.push_str(&c.name);
            return;
        }
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
#[path = "profile_tests.rs"]
mod tests;
