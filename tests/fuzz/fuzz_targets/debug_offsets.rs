//! Fuzz target: a `_Py_DebugOffsets` table (3.13+), through `pyflame::fuzz::debug_offsets`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::debug_offsets(data));
