//! Native frames (issue 16): the pieces that unwind a thread's machine stack and name its
//! frames, read from the target's own object files.
//!
//! Not yet wired into the sampler: until `--native` uses them, only their tests and the fuzz
//! targets call them.
#![allow(dead_code)]

pub(crate) mod cfi;
pub(crate) mod merge;
pub(crate) mod stack;
pub(crate) mod symbols;
pub(crate) mod syscalls;
pub(crate) mod threads;
