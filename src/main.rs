//! pyflame: parse the command line, run, turn errors into one line and an exit code.
#![deny(unsafe_code)]

mod bytes;

fn main() {}
