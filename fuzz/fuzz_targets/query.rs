#![no_main]
//! See tests/fuzz/harness.rs.

#[path = "../../tests/fuzz/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::sync::OnceLock;

static BASE: OnceLock<Vec<u8>> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let bytes = BASE.get_or_init(harness::base_segment);
    let segment = edgesuggest::Segment::load(&bytes[..]).expect("the base segment loads");
    harness::query(data, &segment)
});
