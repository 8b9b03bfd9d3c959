//! The only home of `unsafe`: raw system calls through libc, each wrapped in a safe function.
//!
//! Nothing here knows about Python. Every function exported is safe to call: arguments are
//! plain integers or borrowed buffers whose lengths are passed to the kernel.
#![allow(unsafe_code)]

pub mod alloc;
pub mod process;
pub mod ptrace;
pub mod signal;
pub mod uio;
