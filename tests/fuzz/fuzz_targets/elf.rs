//! Fuzz target: an ELF file (`Elf::parse`, symbol lookup, load bias), through `pyflame::fuzz::elf`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::elf(data));
