//! Builds a segment from each file of `../shared/data/` and checks ≥ 2,000 random queries
//! against the brute-force oracle for k = 1, 10 and 50. Skips, saying so, when the data is
//! absent.

mod common;

use common::{random_query, read_tsv, shared_data_dir, Oracle, Rng};
use edgesuggest::{Searcher, Segment, SegmentBuilder, SuggestOptions};

fn check_file(name: &str, seed: u64) {
    let Some(dir) = shared_data_dir() else {
        eprintln!("SKIPPED {name}: ../shared/data is absent");
        return;
    };
    let path = dir.join(name);
    if !path.exists() {
        eprintln!("SKIPPED {name}: {} is absent", path.display());
        return;
    }
    let rows = read_tsv(&path);
    let mut builder = SegmentBuilder::new();
    for (phrase, score) in &rows {
        match builder.add(phrase, *score) {
            Ok(()) => {}
            Err(e) if e.is_row_error() => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
    let built = builder.finish().expect("build");
    let segment = Segment::load(built.bytes).expect("load");
    segment.verify_deep().expect("verify_deep");
    let oracle = Oracle::new(rows.iter().map(|(p, s)| (p.as_str(), *s)));
    assert_eq!(segment.len(), oracle.len(), "{name}: suggestion count");

    let mut rng = Rng(seed);
    let mut searcher = Searcher::new();
    let mut non_empty = 0;
    for i in 0..2_000 {
        let query = if i % 250 == 0 {
            String::new()
        } else {
            random_query(&mut rng, &rows)
        };
        let want_50: Vec<(String, u64)> = oracle
            .suggest(&query, 50)
            .into_iter()
            .map(|e| (e.text, e.score))
            .collect();
        for k in [1, 10, 50] {
            let got: Vec<(String, u64)> = searcher
                .search(&segment, &query, &SuggestOptions::with_k(k))
                .expect("search")
                .items
                .iter()
                .map(|s| (s.text.to_string(), s.score))
                .collect();
            let want = &want_50[..k.min(want_50.len())];
            assert_eq!(got, want, "{name}: query {query:?} k={k}");
            non_empty += usize::from(!want.is_empty());
        }
    }
    assert!(
        non_empty > 3_000,
        "{name}: too few queries matched ({non_empty})"
    );
    eprintln!("{name}: 2000 queries × 3 k values match the oracle");
}

#[test]
fn npm_matches_oracle() {
    check_file("npm.tsv", 1);
}

#[test]
fn cities_matches_oracle() {
    check_file("cities.tsv", 2);
}

#[test]
fn wordfreq_matches_oracle() {
    check_file("wordfreq-multilang.tsv", 3);
}
