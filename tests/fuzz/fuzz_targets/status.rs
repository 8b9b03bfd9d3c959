//! Fuzz target: /proc/PID/status, through `pyflame::fuzz::status`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::status(data));
