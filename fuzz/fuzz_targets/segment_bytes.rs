#![no_main]
//! See tests/fuzz/harness.rs.

#[path = "../../tests/fuzz/harness.rs"]
#[allow(dead_code)]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::segment_bytes(data));
