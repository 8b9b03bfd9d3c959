//! Fuzz target: /proc/PID/stat, through `pyflame::fuzz::stat`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::stat(data));
