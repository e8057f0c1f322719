//! Replays every input kept under `tests/fuzz/<target>/` through the body of that fuzz target
//! (`tests/fuzz/harness.rs`, also compiled into `fuzz/fuzz_targets/`): the minimized inputs
//! of past findings, and seeds that reach each target's interesting paths. A finding of
//! `./build.sh fuzz` is fixed, then its input is copied here so it stays fixed.

#[path = "fuzz/harness.rs"]
mod harness;

use std::path::Path;

/// The kept inputs of one target, sorted by name; a missing directory is an error, so a
/// renamed target cannot silently lose its inputs.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no inputs in {}", dir.display());
    out
}

#[test]
fn segment_bytes_inputs() {
    for (name, data) in inputs("segment_bytes") {
        println!("{name}");
        harness::segment_bytes(&data);
    }
}

#[test]
fn segment_mutate_inputs() {
    let base = harness::base_segment();
    for (name, data) in inputs("segment_mutate") {
        println!("{name}");
        harness::segment_mutate(&data, &base);
    }
}

#[test]
fn query_inputs() {
    let base = harness::base_segment();
    let segment = edgesuggest::Segment::load(&base[..]).unwrap();
    for (name, data) in inputs("query") {
        println!("{name}");
        harness::query(&data, &segment);
    }
}

#[test]
fn manifest_inputs() {
    for (name, data) in inputs("manifest") {
        println!("{name}");
        harness::manifest(&data);
    }
}

#[test]
fn build_rows_inputs() {
    for (name, data) in inputs("build_rows") {
        println!("{name}");
        harness::build_rows(&data);
    }
}
