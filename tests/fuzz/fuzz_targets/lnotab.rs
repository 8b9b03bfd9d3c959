//! Fuzz target: a `co_lnotab` line table (CPython 2.x - 3.9), through `pyflame::fuzz::lnotab`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::lnotab(data));
