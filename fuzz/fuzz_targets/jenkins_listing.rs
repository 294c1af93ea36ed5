//! Fuzz target: a Jenkins `api/json` answer, raw bytes as a server sends them.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| ledtogo_fuzz::fuzz_listing(bytes));
