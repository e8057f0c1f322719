//! Corrupt, truncated and foreign bytes give errors, never panics.

mod common;
#[path = "fuzz/harness.rs"]
#[allow(dead_code)]
mod harness;

use edgesuggest::format::SectionKind;
use edgesuggest::{Error, Segment, SegmentBuilder, SuggestOptions};
use harness::reseal;

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

/// The same for the segments with categories, as names by rank (format v2) and as set ids
/// (format v6): every bit flip is refused at load, and deep verification passes on the intact
/// bytes. For the larger v7 golden segment (lists for the categories' FSTs), every bit of the
/// header, the section table and the `category top lists` section, and every truncation.
#[test]
fn every_bit_flip_of_a_segment_with_categories_is_refused() {
    let v2: &[u8] = include_bytes!("golden/v2.seg");
    let v6: &[u8] = include_bytes!("golden/v6.seg");
    let v7: &[u8] = include_bytes!("golden/v7.seg");
    assert_flips_refused("v2", v2, 0..v2.len());
    assert_flips_refused("v6", v6, 0..v6.len());
    assert_flips_refused("v7", v7, 0..48 + 24 * 9);
    assert_flips_refused("v7", v7, section_of(v7, SectionKind::CategoryTop).1);
}

/// The v9 golden segment (each category's cuts): every bit of the header, the section table
/// and the `category cuts` section is refused at load, as is every truncation. The same for
/// the v10 golden segment's header, table and `category ids` (set numbers in wider blocks).
#[test]
fn every_bit_flip_of_the_category_cuts_is_refused() {
    let v9: &[u8] = include_bytes!("golden/v9.seg");
    assert_flips_refused("v9", v9, 0..48 + 24 * 9);
    assert_flips_refused("v9", v9, section_of(v9, SectionKind::CategoryCuts).1);
    let v10: &[u8] = include_bytes!("golden/v10.seg");
    assert_flips_refused("v10", v10, 0..48 + 24 * 9);
    assert_flips_refused("v10", v10, section_of(v10, SectionKind::CategoryIds).1);
}

/// The v8 golden segment (display forms marked as titles): every bit flip and every
/// truncation is refused at load.
#[test]
fn every_bit_flip_of_a_segment_with_title_marks_is_refused() {
    let v8: &[u8] = include_bytes!("golden/v8.seg");
    assert_flips_refused("v8", v8, 0..v8.len());
}

/// Crafted title marks, with a valid checksum: a section of another length, or with marks
/// past the last rank, is refused at load, naming it; marks on ranks that also store their
/// display form are refused by deep verification, and queries answer without a panic, each
/// suggestion's text its stored form, its key, or its key title-cased.
#[test]
fn crafted_title_marks_are_refused_or_bounded() {
    let v8: &[u8] = include_bytes!("golden/v8.seg");
    let (entry, section) = section_of(v8, SectionKind::DisplayTitles);
    // One word less, the section table saying so.
    let mut shorter = v8.to_vec();
    let len = section.len() as u64 - 8;
    shorter[entry + 16..entry + 24].copy_from_slice(&len.to_le_bytes());
    reseal(&mut shorter);
    let err = Segment::load(&shorter[..]).unwrap_err().to_string();
    assert!(err.contains("display titles"), "{err}");
    let count = Segment::load(v8).unwrap().len();
    // Every rank of the first word a title, the ranks that store their form included.
    let every = move |b: &mut [u8], at: usize| {
        let ranks = u64::MAX >> 64usize.saturating_sub(count.min(64));
        b[at..at + 8].copy_from_slice(&ranks.to_le_bytes());
    };
    let past_the_end = tampered(v8, SectionKind::DisplayTitles, move |b, at| {
        let last = at + 8 * (count.div_ceil(64) - 1);
        b[last + 7] |= 0x80;
    });
    let err = Segment::load(&past_the_end[..]).unwrap_err().to_string();
    assert!(
        err.contains("display titles: bits set past rank 13"),
        "{err}"
    );
    {
        let bytes = tampered(v8, SectionKind::DisplayTitles, every);
        let segment = Segment::load(&bytes[..]).unwrap();
        let err = segment.verify_deep().unwrap_err().to_string();
        assert!(
            err.contains("display titles") && err.contains("stores a display form too"),
            "{err}"
        );
        for q in ["", "n", "sa", "東", "z"] {
            for suggestion in segment
                .search(q, &SuggestOptions::with_k(50))
                .unwrap()
                .items
            {
                let key = &suggestion.key;
                let text = edgesuggest::normalize_phrase(&suggestion.text);
                assert_eq!(&text, key, "{q:?}: {suggestion:?}");
            }
        }
    }
}

/// Deep verification passes on `bytes`; flipping any bit of `bytes[range]`, or cutting the
/// bytes anywhere, is refused at load (and open does not panic).
fn assert_flips_refused(name: &str, bytes: &[u8], range: std::ops::Range<usize>) {
    Segment::load(bytes).unwrap().verify_deep().unwrap();
    for bit in range.start * 8..range.end * 8 {
        let mut bad = bytes.to_vec();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_refused(&bad, &format!("{name} bit {bit}"));
    }
    for len in 0..bytes.len() {
        assert_refused(&bytes[..len], &format!("{name} truncated to {len}"));
    }
}

/// The section of `kind` in intact `bytes`: where its section table entry is, and its bytes.
fn section_of(bytes: &[u8], kind: SectionKind) -> (usize, std::ops::Range<usize>) {
    let segment = Segment::open(bytes).unwrap();
    let sections = &segment.header().sections;
    let i = sections
        .iter()
        .position(|s| s.kind == kind)
        .expect("the golden segment has the section");
    let s = sections[i];
    (48 + 24 * i, s.offset..s.offset + s.len)
}

/// The v6 golden segment with `change` applied to its `category ids` section (given the
/// section's offset), checksum recomputed.
fn tampered_ids(change: impl Fn(&mut [u8], usize)) -> Vec<u8> {
    tampered(
        include_bytes!("golden/v6.seg"),
        SectionKind::CategoryIds,
        change,
    )
}

/// `golden` with `change` applied to its section of `kind` (given the section's offset),
/// checksum recomputed.
fn tampered(golden: &[u8], kind: SectionKind, change: impl Fn(&mut [u8], usize)) -> Vec<u8> {
    let mut bytes = golden.to_vec();
    let offset = section_of(golden, kind).1.start;
    change(&mut bytes, offset);
    reseal(&mut bytes);
    bytes
}

/// Crafted set ids, with a valid checksum: refused at load when the section's frame is wrong;
/// otherwise deep verification refuses them, naming the section, and queries answer without
/// a panic: ids that cannot be decoded give a corruption error, ids the table lacks read as
/// no categories.
#[test]
fn crafted_category_ids_are_refused_or_bounded() {
    let block_size = tampered_ids(|b, at| b[at..at + 4].copy_from_slice(&65u32.to_le_bytes()));
    let err = Segment::load(&block_size[..]).unwrap_err().to_string();
    assert!(err.contains("category ids"), "{err}");
    // The first block's base: every rank of the block now has a set the table lacks.
    let unknown = tampered_ids(|b, at| b[at + 8..at + 16].copy_from_slice(&9_999u64.to_le_bytes()));
    // The first block's bit width, beyond 64.
    let wide = tampered_ids(|b, at| b[at + 20] = 200);
    let filtered = SuggestOptions {
        categories: vec!["city".into()],
        ..SuggestOptions::default()
    };
    for (bytes, decodes) in [(unknown, true), (wide, false)] {
        let segment = Segment::load(&bytes[..]).unwrap();
        let err = segment.verify_deep().unwrap_err().to_string();
        assert!(err.contains("category ids"), "{err}");
        for options in [&SuggestOptions::default(), &filtered] {
            match segment.search("n", options) {
                Ok(found) if decodes => {
                    assert!(!found.items.is_empty());
                    assert!(found.items.iter().all(|s| s.categories.is_none()));
                }
                Err(Error::Corrupt { section, .. }) if !decodes => {
                    assert_eq!(section, "category ids")
                }
                other => panic!("unexpected answer {other:?}"),
            }
        }
    }
}

/// Block sizes of `category ids`, checksum recomputed: before format v10 only 64 is read;
/// from v10 a size that is no power of two from 64 to 4,096 is refused at load, naming the
/// section, and one that is but is not the size the blocks were packed in either is refused
/// there or answers every query without a panic.
#[test]
fn category_id_block_sizes_are_refused_or_bounded() {
    let v10: &[u8] = include_bytes!("golden/v10.seg");
    let block = |golden: &[u8], size: u32| {
        tampered(golden, SectionKind::CategoryIds, |b, at| {
            b[at..at + 4].copy_from_slice(&size.to_le_bytes())
        })
    };
    let v6_wide = block(include_bytes!("golden/v6.seg"), 128);
    let refused = [0, 1, 32, 96, 8_192, u32::MAX].map(|size| block(v10, size));
    for bytes in std::iter::once(&v6_wide).chain(&refused) {
        let err = Segment::load(&bytes[..]).unwrap_err().to_string();
        assert!(
            err.contains("category ids") && err.contains("block size"),
            "{err}"
        );
    }
    let mut searcher = edgesuggest::Searcher::new();
    let mut loaded = 0;
    for shift in 6..=12 {
        let Ok(segment) = Segment::load(block(v10, 1 << shift)) else {
            continue;
        };
        loaded += 1;
        for filter in [&[][..], &["even".to_string()][..]] {
            let options = SuggestOptions {
                categories: filter.to_vec(),
                ..SuggestOptions::with_k(30)
            };
            for q in ["", "s", "new", "b"] {
                let _bounded = searcher.search(&segment, q, &options);
            }
        }
    }
    assert!(loaded > 1, "only the packed block size loads");
}

/// The v7 golden segment with `change` applied to its `category top lists` section.
fn tampered_lists(change: impl Fn(&mut [u8], usize)) -> Vec<u8> {
    tampered(
        include_bytes!("golden/v7.seg"),
        SectionKind::CategoryTop,
        change,
    )
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Crafted lists for the categories' FSTs, with a valid checksum: a frame that does not fit
/// (another category count, a category's lists past the section, overlapping another's) is
/// refused at load, naming the section; lists that fit but are not what the walk from their
/// nodes returns are refused by deep verification, and queries on them answer without a
/// panic.
#[test]
fn crafted_category_lists_are_refused_or_bounded() {
    type Change = Box<dyn Fn(&mut [u8], usize)>;
    let framing: [(&str, Change); 5] = [
        ("count", Box::new(|b, at| b[at] = 3)),
        (
            "length",
            Box::new(|b, at| b[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes())),
        ),
        (
            "overlap",
            Box::new(|b, at| {
                let first = u32_at(b, at + 4);
                b[at + 12..at + 16].copy_from_slice(&first.to_le_bytes());
            }),
        ),
        (
            "inside the table",
            Box::new(|b, at| b[at + 4..at + 8].copy_from_slice(&4u32.to_le_bytes())),
        ),
        (
            "a gap",
            Box::new(|b, at| {
                let second = u32_at(b, at + 12);
                b[at + 12..at + 16].copy_from_slice(&(second + 1).to_le_bytes());
                let len = u32_at(b, at + 16);
                b[at + 16..at + 20].copy_from_slice(&(len - 1).to_le_bytes());
            }),
        ),
    ];
    for (what, change) in framing {
        let bytes = tampered_lists(change);
        let err = Segment::load(&bytes[..]).unwrap_err().to_string();
        assert!(err.contains("category top lists"), "{what}: {err}");
    }
    // A byte after the last category's lists, the section (the segment's last) one longer.
    let v7: &[u8] = include_bytes!("golden/v7.seg");
    let (entry, section) = section_of(v7, SectionKind::CategoryTop);
    let mut longer = v7.to_vec();
    longer.insert(section.end, 0);
    let len = section.len() as u64 + 1;
    longer[entry + 16..entry + 24].copy_from_slice(&len.to_le_bytes());
    reseal(&mut longer);
    let err = Segment::load(&longer[..]).unwrap_err().to_string();
    assert!(
        err.contains("bytes after the last category's lists"),
        "{err}"
    );
    // The first category's first and last node records trade lists: both still lie in the
    // section, in address order, so only the deep check sees the lists are not the walk's.
    let swapped = tampered_lists(|b, at| {
        let lists = at + u32_at(b, at + 4) as usize;
        let nodes = u32_at(b, lists) as usize;
        assert!(nodes > 1, "the first category has {nodes} lists");
        let (first, second) = (lists + 16 + 4, lists + 16 + 8 * (nodes - 1) + 4);
        let (x, y) = (u32_at(b, first), u32_at(b, second));
        b[first..first + 4].copy_from_slice(&y.to_le_bytes());
        b[second..second + 4].copy_from_slice(&x.to_le_bytes());
    });
    let segment = Segment::load(&swapped[..]).unwrap();
    // Lean builds answer from no list, so their deep check compares none with a walk.
    if !cfg!(feature = "lean") {
        let err = segment.verify_deep().unwrap_err().to_string();
        assert!(err.contains("category top lists"), "{err}");
    }
    for category in ["a-m", "n-z", "even", "odd"] {
        for q in ["", "a", "b", "s", "sa", "n", "new"] {
            let options = SuggestOptions {
                categories: vec![category.into()],
                ..SuggestOptions::default()
            };
            segment.search(q, &options).unwrap();
        }
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
