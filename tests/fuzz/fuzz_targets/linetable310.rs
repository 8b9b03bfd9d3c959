//! Fuzz target: a 3.10 `co_linetable`, through `pyflame::fuzz::linetable310`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::linetable310(data));
