//! Fuzz target: /proc/PID/maps, through `pyflame::fuzz::maps`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::maps(data));
