//! Native frames (`--native`): the pieces that unwind a thread's machine stack and name its
//! frames, read from the target's own object files.

pub(crate) mod cfi;
pub(crate) mod merge;
pub(crate) mod perf;
pub(crate) mod signal;
pub(crate) mod snapshot;
pub(crate) mod stack;
pub(crate) mod symbols;
pub(crate) mod syscalls;
pub(crate) mod threads;
