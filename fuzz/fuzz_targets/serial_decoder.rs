//! Fuzz target: bytes on the serial line through the host's resyncing protocol decoder.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| ledtogo_fuzz::fuzz_serial_decoder(bytes));
