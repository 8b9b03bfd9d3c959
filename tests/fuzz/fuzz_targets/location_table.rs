//! Fuzz target: a 3.11+ location table, through `pyflame::fuzz::location_table`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::location_table(data));
