//! The golden segment of format v1: today's builder must still write it byte for byte, and
//! today's reader must still answer from it. A change that breaks this changes the format and
//! needs a new format version (see docs/FORMAT.md).

mod common;

use edgesuggest::{Segment, SegmentBuilder, SuggestOptions};

const GOLDEN_TSV: &str = include_str!("golden/v1.tsv");
const GOLDEN_SEG: &[u8] = include_bytes!("golden/v1.seg");

fn rows() -> Vec<(&'static str, u64, Option<&'static str>)> {
    GOLDEN_TSV
        .lines()
        .map(|line| {
            let mut f = line.split('\t');
            let phrase = f.next().unwrap();
            let score = f.next().unwrap().parse().unwrap();
            (phrase, score, f.next())
        })
        .collect()
}

#[test]
fn builder_writes_the_golden_bytes() {
    let mut b = SegmentBuilder::new();
    for (phrase, score, payload) in rows() {
        b.add_with_payload(phrase, score, payload).unwrap();
    }
    let bytes = b.finish().unwrap().bytes;
    assert!(
        bytes == GOLDEN_SEG,
        "builder output differs from tests/golden/v1.seg"
    );
}

#[test]
fn reader_answers_from_the_golden_bytes() {
    let segment = Segment::load(GOLDEN_SEG).unwrap();
    segment.verify_deep().unwrap();
    let oracle = common::Oracle::new(rows().into_iter().map(|(p, s, _)| (p, s)));
    for q in [
        "", "n", "new", "new ", "NEW Y", "sa", "sao", "z", "東", "мос", "fi", "l", "x",
    ] {
        let got: Vec<(String, u64)> = segment
            .search(q, &SuggestOptions::with_k(20))
            .unwrap()
            .items
            .into_iter()
            .map(|s| (s.text, s.score))
            .collect();
        let want: Vec<(String, u64)> = oracle
            .suggest(q, 20)
            .into_iter()
            .map(|e| (e.text, e.score))
            .collect();
        assert_eq!(got, want, "query {q:?}");
    }
    let ny = &segment
        .search("new york", &SuggestOptions::with_k(1))
        .unwrap()
        .items[0];
    assert_eq!(ny.text, "New York");
    assert_eq!(ny.score, 8_804_214);
    assert_eq!(
        ny.payload.as_deref(),
        Some(r#"{"id":"ny","url":"/city/ny"}"#)
    );
    let sp = &segment
        .search("sao", &SuggestOptions::with_k(1))
        .unwrap()
        .items[0];
    assert_eq!((sp.text.as_str(), sp.score), ("São Paulo", 12_400_100));
}

/// The golden segment of format v2: word starts, categories and payloads.
mod v2 {
    use edgesuggest::{BuildOptions, Segment, SegmentBuilder, SuggestOptions};

    const TSV: &str = include_str!("golden/v2.tsv");
    const SEG: &[u8] = include_bytes!("golden/v2.seg");

    fn build() -> Vec<u8> {
        let mut b = SegmentBuilder::with_options(BuildOptions {
            word_starts: true,
            ..BuildOptions::default()
        });
        for line in TSV.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let payload = Some(f[2]).filter(|p| !p.is_empty());
            let cats: Vec<&str> = f[3].split(',').filter(|c| !c.is_empty()).collect();
            b.add_row(f[0], f[1].parse().unwrap(), payload, &cats)
                .unwrap();
        }
        b.finish().unwrap().bytes
    }

    #[test]
    fn builder_writes_the_golden_bytes() {
        let bytes = build();
        if std::env::var_os("EDGESUGGEST_WRITE_GOLDEN").is_some() {
            std::fs::write("tests/golden/v2.seg", &bytes).unwrap();
        }
        assert!(
            bytes == SEG,
            "builder output differs from tests/golden/v2.seg"
        );
        assert_eq!(u32::from_le_bytes(SEG[8..12].try_into().unwrap()), 2);
    }

    #[test]
    fn reader_answers_from_the_golden_bytes() {
        let segment = Segment::load(SEG).unwrap();
        segment.verify_deep().unwrap();
        assert!(segment.word_starts());
        let york = segment
            .search("york", &SuggestOptions::default())
            .unwrap()
            .items;
        assert!(york.iter().any(|s| s.text == "New York" && s.word_start));
        let filtered = SuggestOptions {
            categories: vec!["capital".into()],
            ..SuggestOptions::default()
        };
        let capitals = segment.search("n", &filtered).unwrap().items;
        assert!(!capitals.is_empty());
        for s in &capitals {
            assert!(s
                .categories
                .as_deref()
                .unwrap()
                .split(',')
                .any(|c| c == "capital"));
        }
    }
}
