//! The golden segment of format v1: today's builder must still write it byte for byte, and
//! today's reader must still answer from it. A change that breaks this changes the format and
//! needs a new format version (see docs/FORMAT.md).

mod common;

use edgesuggest::{Segment, SegmentBuilder};

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
            .suggest(q, 20)
            .unwrap()
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
    let ny = &segment.suggest("new york", 1).unwrap()[0];
    assert_eq!(ny.text, "New York");
    assert_eq!(ny.score, 8_804_214);
    assert_eq!(
        ny.payload.as_deref(),
        Some(r#"{"id":"ny","url":"/city/ny"}"#)
    );
    let sp = &segment.suggest("sao", 1).unwrap()[0];
    assert_eq!((sp.text.as_str(), sp.score), ("São Paulo", 12_400_100));
}
