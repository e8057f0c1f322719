//! Corrupt, truncated and foreign bytes give errors, never panics.

mod common;

use edgesuggest::{Error, Segment, SegmentBuilder, SuggestOptions};

fn small_segment() -> Vec<u8> {
    let mut b = SegmentBuilder::new();
    for (i, city) in [
        "New York",
        "Newark",
        "São Paulo",
        "Sapporo",
        "東京",
        "Zürich",
        "New Delhi",
    ]
    .iter()
    .enumerate()
    {
        b.add_with_payload(city, 1000 - i as u64 * 7, Some(r#"{"id":1}"#))
            .unwrap();
    }
    b.add("new york", 3).unwrap();
    b.finish().unwrap().bytes
}

/// Opening must not panic on any input; loading (open + checksum) must refuse it.
fn assert_refused(bytes: &[u8], what: &str) {
    let _ = Segment::open(bytes);
    assert!(
        Segment::load(bytes).is_err(),
        "{what}: load accepted corrupt bytes"
    );
}

#[test]
fn good_segment_loads() {
    let bytes = small_segment();
    let segment = Segment::load(&bytes[..]).unwrap();
    segment.verify_deep().unwrap();
    assert_eq!(
        segment
            .search("new", &SuggestOptions::default())
            .unwrap()
            .items
            .len(),
        3
    );
}

#[test]
fn every_truncation_is_refused() {
    let bytes = small_segment();
    for len in 0..bytes.len() {
        assert_refused(&bytes[..len], &format!("truncated to {len}"));
    }
}

#[test]
fn extension_is_refused() {
    let mut bytes = small_segment();
    bytes.push(0);
    assert_refused(&bytes, "one byte appended");
}

#[test]
fn random_bit_flips_are_refused() {
    let bytes = small_segment();
    let mut rng = common::Rng(7);
    for trial in 0..5_000 {
        let mut bad = bytes.clone();
        let flips = 1 + rng.below(3);
        for _ in 0..flips {
            let bit = rng.below(bad.len() * 8);
            bad[bit / 8] ^= 1 << (bit % 8);
        }
        if bad == bytes {
            continue; // two flips of the same bit
        }
        assert_refused(&bad, &format!("trial {trial}"));
    }
}

#[test]
fn every_single_bit_flip_is_refused() {
    let bytes = small_segment();
    for bit in 0..bytes.len() * 8 {
        let mut bad = bytes.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_refused(&bad, &format!("bit {bit}"));
    }
}

/// Damage past the header (storage, transit) is reported as what it is, a checksum mismatch,
/// whatever section or FST node the flipped bit lands in: the checksum is checked before the
/// structure.
#[test]
fn damage_after_the_header_is_a_checksum_mismatch() {
    let bytes = small_segment();
    let header_end = 48 + 24 * Segment::open(&bytes[..]).unwrap().header().sections.len();
    let body_end = bytes.len() - 12;
    for bit in header_end * 8..body_end * 8 {
        let mut bad = bytes.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        match Segment::load(&bad[..]) {
            Err(Error::Checksum { .. }) => {}
            other => panic!("bit {bit}: {other:?}"),
        }
    }
}

#[test]
fn future_version_names_both_versions() {
    let mut bytes = small_segment();
    let future = edgesuggest::format::FORMAT_VERSION + 1;
    bytes[8..12].copy_from_slice(&future.to_le_bytes());
    let err = Segment::load(&bytes[..]).unwrap_err();
    assert_eq!(
        err,
        Error::Version {
            expected: edgesuggest::format::FORMAT_VERSION,
            got: future
        }
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("version {future}"))
            && message.contains(&format!("1 to {}", edgesuggest::format::FORMAT_VERSION)),
        "{message}"
    );
}

#[test]
fn other_normalizer_is_refused() {
    let mut bytes = small_segment();
    bytes[16..20].copy_from_slice(&9u32.to_le_bytes());
    let err = Segment::open(&bytes[..]).unwrap_err();
    assert!(
        matches!(err, Error::Normalizer { got_version: 9, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("rebuild"), "{err}");
}

#[test]
fn foreign_bytes_are_refused() {
    for bytes in [&b""[..], b"hello world", &[0u8; 200][..], b"EDGESUG\x00"] {
        assert!(Segment::open(bytes).is_err());
    }
}

#[test]
fn open_unverified_still_checks_structure() {
    // A wrong section table entry must be caught by open, checksum or not.
    let mut bytes = small_segment();
    // First section entry's length (offset 48 + 16) set past the end of the file.
    bytes[64..72].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(Segment::open(&bytes[..]).is_err());
}

/// The same for a format v2 segment (word starts, categories, payloads): every bit flip is
/// refused at load, and deep verification passes on the intact bytes.
#[test]
fn every_bit_flip_of_a_v2_segment_is_refused() {
    let bytes = include_bytes!("golden/v2.seg").to_vec();
    Segment::load(&bytes[..]).unwrap().verify_deep().unwrap();
    for bit in 0..bytes.len() * 8 {
        let mut bad = bytes.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_refused(&bad, &format!("v2 bit {bit}"));
    }
    for len in 0..bytes.len() {
        assert_refused(&bytes[..len], &format!("v2 truncated to {len}"));
    }
}

/// A v1 segment may not claim v2 features: flags and category sections need version 2.
#[test]
fn v1_with_v2_features_is_refused() {
    let mut bytes = include_bytes!("golden/v2.seg").to_vec();
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let err = Segment::open(&bytes[..]).unwrap_err().to_string();
    assert!(
        err.contains("flags") || err.contains("not defined in format v1"),
        "{err}"
    );
}
