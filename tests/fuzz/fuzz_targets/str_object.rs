//! Fuzz target: a `str` or `bytes` object in the target's memory, through `pyflame::fuzz::str_object`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::str_object(data));
