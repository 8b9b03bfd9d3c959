//! The `-d` format (the original's): per thread `<thread_id>[*]:` then its frames, innermost
//! first, as `file:function:line` with names escaped (`escape.rs`); threads separated by one
//! blank line. Written thread by thread, so a dump of many deep stacks never needs its whole
//! text in memory.

use std::io::{self, Write};

use super::escape;
use crate::python::walk::{FrameKind, Thread};

/// One thread of a dump, with what pyflame knows about it besides its stack.
pub struct DumpThread<'a> {
    pub thread: &'a Thread,
    /// The kernel thread id as the target sees it, where known and checked against
    /// /proc/PID/task.
    pub tid: Option<u32>,
    /// The same thread's id in pyflame's PID namespace, when it differs (a target in a
    /// container seen from the host).
    pub outer_tid: Option<u32>,
    /// `--native`: the thread's name where it differs from the process's, and what it is
    /// waiting in.
    pub name: Option<String>,
    pub states: Vec<String>,
}

/// Writes the dump. After the header's colon come `tid=<kernel thread id>` when known (and
/// `outer_tid=<id>` when pyflame's PID namespace numbers it differently) and `interp=<id>` for
/// a subinterpreter's thread (the original format allows text there; its test regex is
/// `^\d+\*?:`), with `--native` `name=<thread name>` and what the thread is waiting in, in
/// parentheses. The marker of frames left out of a deep stack says how many:
/// `<pyflame>:<N frames omitted>:0`. A native frame is `<function> (<object file>)`.
pub fn write(out: &mut dyn Write, threads: &[DumpThread]) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    for (i, t) in threads.iter().enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
        }
        let star = if t.thread.holds_gil { "*" } else { "" };
        write!(out, "{}{star}:", t.thread.thread_id)?;
        if let Some(tid) = t.tid {
            write!(out, " tid={tid}")?;
        }
        if let Some(outer) = t.outer_tid {
            write!(out, " outer_tid={outer}")?;
        }
        // Threads of a subinterpreter (3.12+ may run several) name it.
        if let Some(id) = t.thread.interp_id.filter(|&id| id != 0) {
            write!(out, " interp={id}")?;
        }
        if let Some(name) = &t.name {
            write!(out, " name={}", escape::name(name))?;
        }
        if !t.states.is_empty() {
            write!(out, " ({})", t.states.join("; "))?;
        }
        out.write_all(b"\n")?;
        for f in &t.thread.frames {
            let c = &f.code;
            if c.kind == FrameKind::Omitted {
                let n = t.thread.omitted;
                writeln!(out, "{}:<{n} frames omitted>:0", c.filename)?;
                continue;
            }
            let (file, name) = (escape::name(&c.filename), escape::name(&c.name));
            match c.kind {
                FrameKind::Native => writeln!(out, "{name} ({file})")?,
                _ => writeln!(out, "{file}:{name}:{}", f.line)?,
            }
        }
    }
    out.flush()
}

/// The dump as a string (tests).
#[cfg(test)]
pub fn render(threads: &[DumpThread]) -> String {
    let mut out = Vec::new();
    write(&mut out, threads).expect("writes to a Vec");
    String::from_utf8(out).expect("UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::walk::{Code, Frame, FrameKind};
    use std::rc::Rc;

    fn frame(file: &str, name: &str, line: i32) -> Frame {
        Frame {
            code: Rc::new(Code {
                filename: file.into(),
                name: name.into(),
                kind: FrameKind::Python,
            }),
            line,
        }
    }

    #[test]
    fn renders_the_original_format() {
        let a = Thread {
            entries: Vec::new(),
            tstate: 1,
            thread_id: 140642847254208,
            native_id: None,
            interp_id: None,
            holds_gil: true,
            frames: vec![
                frame("tests/d.py", "fill_node", 83),
                frame("tests/d.py", "<module>", 204),
            ],
            omitted: 0,
            anchored: true,
            leaf: Default::default(),
        };
        let b = Thread {
            entries: Vec::new(),
            thread_id: 140642857900928,
            holds_gil: false,
            frames: vec![frame("/x/é.py", "café", 7)],
            ..a.clone()
        };
        let text = render(&[
            DumpThread {
                thread: &a,
                tid: None,
                outer_tid: None,
                name: None,
                states: Vec::new(),
            },
            DumpThread {
                thread: &b,
                tid: Some(4242),
                outer_tid: None,
                name: None,
                states: Vec::new(),
            },
            DumpThread {
                thread: &b,
                tid: Some(1),
                outer_tid: Some(31337),
                name: None,
                states: Vec::new(),
            },
        ]);
        assert_eq!(
            text,
            "140642847254208*:\ntests/d.py:fill_node:83\ntests/d.py:<module>:204\n\n140642857900928: tid=4242\n/x/é.py:café:7\n\n140642857900928: tid=1 outer_tid=31337\n/x/é.py:café:7\n"
        );
        assert_eq!(render(&[]), "");
    }

    #[test]
    fn native_frames_thread_names_and_states() {
        let mut t = crate::output::testing::thread(7, &[("a.py", "f", 3)]);
        let native = Frame {
            code: Rc::new(Code {
                filename: "libc.so.6".into(),
                name: "clock_nanosleep".into(),
                kind: FrameKind::Native,
            }),
            line: 0,
        };
        t.frames.insert(0, native);
        let text = render(&[DumpThread {
            thread: &t,
            tid: Some(12),
            outer_tid: None,
            name: Some("pool\nworker".into()),
            states: vec![
                "waiting for the GIL".into(),
                "in the system call futex".into(),
            ],
        }]);
        assert_eq!(
            text,
            "7: tid=12 name=pool\\nworker (waiting for the GIL; in the system call futex)\nclock_nanosleep (libc.so.6)\na.py:f:3\n"
        );
    }
}
