//! One stack of native and Python frames: each C frame of the interpreter's evaluation loop
//! replaced by the Python frames it was running, the interpreter's own glue between them left
//! out.
//!
//! A thread's Python frames fall into evaluations (`Thread::entries`): to 3.10 one frame each,
//! from 3.11 a run of frames up to the one a C caller entered. Each evaluation is one C frame
//! of the eval function (`PyEval_EvalFrameEx` to 3.5, `_PyEval_EvalFrameDefault` since), so
//! the k-th evaluation from the outermost is the k-th such C frame from the outermost when the
//! machine stack was unwound to its start (an evaluation just starting may have its C frame
//! but not yet its Python frame: the innermost ones do not pair), else (a stack unwound only
//! part of the way) they pair from the innermost. The interpreter's other frames (calls,
//! vectorcall, trampolines, start-up) are left out, unless the thread is in them: inner of
//! every other frame (a regular expression matching, but not the interpreter's calls into
//! libc's sleep, which shows as libc's frames under the Python frame that called it).

use std::rc::Rc;

use super::stack::{End, NativeFrame, ANONYMOUS};
use crate::python::version::Version;
use crate::python::walk::{Code, Frame, FrameKind};

/// How native frames are told apart: which object is the interpreter and which function its
/// evaluation loop.
pub struct Interpreter {
    /// The file name of the object holding the runtime (libpython, or a static executable).
    pub object: String,
    eval: &'static str,
}

impl Interpreter {
    pub fn new(object: &str, version: Version) -> Interpreter {
        let eval = match (version.major, version.minor) {
            (2, _) | (3, 0..=5) => "PyEval_EvalFrameEx",
            _ => "_PyEval_EvalFrameDefault",
        };
        Interpreter {
            object: object.to_string(),
            eval,
        }
    }

    /// The evaluation loop, or a part the compiler split off or cloned (`.cold`, `.part.0`).
    fn is_eval(&self, f: &NativeFrame) -> bool {
        let named = |n: &str| {
            n.strip_prefix(self.eval)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        };
        *f.object == *self.object && f.function.as_ref().is_some_and(|(n, _)| named(n))
    }

    /// The name of the evaluation loop's function.
    pub fn eval(&self) -> &'static str {
        self.eval
    }

    /// The interpreter's own code other than the evaluation loop (3.14's tail-called opcode
    /// handlers are the loop's, wherever they are; so are perf trampolines, in no object).
    fn is_glue(&self, f: &NativeFrame) -> bool {
        let copied = f.function.as_ref().is_some_and(|(n, _)| {
            n.starts_with("_TAIL_CALL_")
                || (**n == *super::perf::FUNCTION && *f.object == *ANONYMOUS)
        });
        *f.object == *self.object || copied
    }
}

/// A native frame as a frame of the outputs: `<object>:<function>:0`, or for a pc no symbol
/// names `<object>:<object>+0x<offset>:0`. Symbol versions (`@GLIBC_2.2.5`) are left out.
pub fn frame(f: &NativeFrame) -> Frame {
    let name = f
        .function
        .as_ref()
        .map(|(n, _)| n.split('@').next().unwrap_or(n));
    let name = super::symbols::label(name, &f.object, f.offset);
    Frame {
        code: Rc::new(Code {
            filename: f.object.to_string(),
            name,
            kind: FrameKind::Native,
        }),
        line: 0,
    }
}

/// The merged stack, innermost first: `native` (innermost first, ending as `end` says) with
/// the Python frames `python` (innermost first, `entries` aligned) in place of their
/// evaluations' C frames; `frame` makes a native frame's (see `frame`).
pub fn merge(
    interp: &Interpreter,
    native: &[NativeFrame],
    end: End,
    python: &[Frame],
    entries: &[bool],
    frame: &mut dyn FnMut(&NativeFrame) -> Frame,
) -> Vec<Frame> {
    // Evaluations, innermost first, each its frames innermost first.
    let mut groups: Vec<&[Frame]> = Vec::new();
    let mut start = 0;
    for (i, _) in python.iter().enumerate() {
        if entries.get(i).copied().unwrap_or(false) {
            groups.push(&python[start..=i]);
            start = i + 1;
        }
    }
    if start < python.len() {
        groups.push(&python[start..]);
    }
    let evals: Vec<usize> = (0..native.len())
        .filter(|&i| interp.is_eval(&native[i]))
        .collect();
    // pairs[k]: the group of the k-th eval frame (innermost first), if any.
    let n = evals.len().min(groups.len());
    let mut pairs: Vec<Option<usize>> = vec![None; evals.len()];
    if end == End::Root {
        for k in 0..n {
            pairs[evals.len() - 1 - k] = Some(groups.len() - 1 - k);
        }
    } else {
        for (k, pair) in pairs.iter_mut().enumerate().take(n) {
            *pair = Some(k);
        }
    }
    let paired: Vec<usize> = pairs.iter().flatten().copied().collect();
    let innermost_eval = evals
        .iter()
        .zip(&pairs)
        .find(|(_, p)| p.is_some())
        .map(|(&i, _)| i);
    // The interpreter's own frames are kept only where a thread is in them: inner of every
    // other frame (a regular expression matching; not the calls into libc's sleep).
    let foreign = native
        .iter()
        .position(|f| !interp.is_glue(f) && !interp.is_eval(f));
    // With no evaluation paired, nothing places the Python frames: every native frame stays.
    let keep_glue = match innermost_eval {
        Some(e) => foreign.unwrap_or(native.len()).min(e),
        None => native.len(),
    };
    let mut out = Vec::new();
    let mut eval_k = 0;
    for (i, f) in native.iter().enumerate() {
        if Some(i) == innermost_eval {
            // Evaluations no C frame was found for (no symbols, or not yet entered): inner
            // of the innermost one that was.
            let first = paired.iter().min().copied().unwrap_or(0);
            for g in &groups[..first] {
                out.extend_from_slice(g);
            }
        }
        if interp.is_eval(f) {
            let pair = pairs[eval_k];
            eval_k += 1;
            match pair {
                Some(g) => out.extend_from_slice(groups[g]),
                None => out.push(frame(f)),
            }
            continue;
        }
        if !interp.is_glue(f) || i < keep_glue {
            out.push(frame(f));
        }
    }
    // A machine stack unwound only part of the way ends in a marker, and so do native frames
    // no evaluation was placed among: the Python frames not placed follow it.
    let last = paired.iter().max().map_or(0, |&g| g + 1);
    if end != End::Root || (innermost_eval.is_none() && !python.is_empty()) {
        out.push(Frame::marker(FrameKind::NativeEnd));
    }
    for g in &groups[last.min(groups.len())..] {
        out.extend_from_slice(g);
    }
    out
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
