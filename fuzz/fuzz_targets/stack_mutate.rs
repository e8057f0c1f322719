#![no_main]
//! See tests/fuzz/harness.rs.

#[path = "../../tests/fuzz/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::sync::OnceLock;

static SEGMENTS: OnceLock<(Vec<u8>, Vec<u8>, Vec<u8>)> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (base, delta, list) = SEGMENTS.get_or_init(|| {
        (
            harness::base_segment(),
            harness::delta_segment(),
            harness::blocklist_segment(),
        )
    });
    harness::stack_mutate(data, base, delta, list)
});
