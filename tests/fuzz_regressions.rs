//! Replays every input kept under `tests/fuzz/<target>/` through the body of that fuzz target
//! (`tests/fuzz/harness.rs`, also compiled into `fuzz/fuzz_targets/`): the minimized inputs
//! of past findings, and seeds that reach each target's interesting paths. A finding of
//! `./build.sh fuzz` is fixed, then its input is copied here so it stays fixed.

#[path = "fuzz/harness.rs"]
mod harness;

use std::path::Path;

/// Runs `target`'s body on each of its kept inputs, sorted by name, printing the name first
/// so a failure says which. A missing or empty directory is an error, so a renamed target
/// cannot silently lose its inputs.
fn replay(target: &str, body: impl Fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no inputs in {}", dir.display());
    for path in paths {
        println!("{}", path.display());
        body(&std::fs::read(&path).unwrap());
    }
}

#[test]
fn segment_bytes_inputs() {
    replay("segment_bytes", harness::segment_bytes);
}

#[test]
fn segment_mutate_inputs() {
    let base = harness::base_segment();
    replay("segment_mutate", |data| {
        harness::segment_mutate(data, &base)
    });
}

#[test]
fn query_inputs() {
    let base = harness::base_segment();
    let segment = edgesuggest::Segment::load(&base[..]).unwrap();
    replay("query", |data| harness::query(data, &segment));
}

#[test]
fn manifest_inputs() {
    replay("manifest", harness::manifest);
}

#[test]
fn build_rows_inputs() {
    replay("build_rows", harness::build_rows);
}

#[test]
fn stack_mutate_inputs() {
    let (base, delta, list) = (
        harness::base_segment(),
        harness::delta_segment(),
        harness::blocklist_segment(),
    );
    replay("stack_mutate", |data| {
        harness::stack_mutate(data, &base, &delta, &list)
    });
}
