//! Fuzz target: asyncio's tasks in a fake process's memory (`-d --async` and `--async`
//! sampling, 3.8 to 3.14+), through `pyflame::fuzz::asyncio`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::asyncio(data));
