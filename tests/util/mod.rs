//! Shared infrastructure of the end-to-end tests: interpreter discovery and the
//! `per_interpreter!` macro, process guards and the pyflame watchdog, /proc
//! inspection, test-script targets, the dump-format parser and the SVG/speedscope readers,
//! what the hostile targets must show, and a watcher of pyflame's memory and stop times.

#![allow(dead_code)] // not every test module uses every helper

pub mod build;
pub mod cli;
pub mod collapsed;
pub mod container;
pub mod copies;
pub mod dump_format;
pub mod events;
pub mod expected;
pub mod formats;
pub mod group;
pub mod interp;
pub mod launch;
pub mod live;
pub mod marks;
pub mod prereq;
pub mod process;
pub mod procfs;
pub mod servers;
pub mod stacks;
pub mod target;
pub mod trace_check;
pub mod tree;
pub mod watch;

mod self_check;

pub(crate) use interp::per_interpreter;
pub use interp::Interp;
pub use process::{pyflame, ChildGuard, Output};
pub use procfs::assert_target_running;
pub use target::{spawn_script, Target};
