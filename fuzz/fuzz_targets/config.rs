//! Fuzz target: a config file's bytes (UTF-8 or not) through the validator and the editor.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| ledtogo_fuzz::fuzz_config(bytes));
