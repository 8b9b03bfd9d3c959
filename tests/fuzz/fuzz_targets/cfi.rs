//! Fuzz target: call-frame information (`.eh_frame`, `.eh_frame_hdr`, `.debug_frame`), rows and
//! steps, through `pyflame::fuzz::cfi`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pyflame::fuzz::cfi(data));
