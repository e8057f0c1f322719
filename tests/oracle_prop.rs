//! Property test: for random phrase sets (Unicode, duplicates after normalization, equal
//! scores) and random queries, the engine answers exactly like the brute-force oracle.

mod common;

use common::Oracle;
use edgesuggest::{
    BuildOptions, Searcher, Segment, SegmentBuilder, SuggestOptions, TopListOptions,
};
use proptest::prelude::*;

/// Pieces chosen so that random phrases collide after normalization (case, accents,
/// compatibility forms, whitespace) and share prefixes, across scripts.
const PIECES: &[&str] = &[
    "a", "A", "á", "à", "b", "B", "e", "é", "E\u{301}", "ß", "ss", "ﬁ", "fi", " ", "  ", "\t",
    "東", "京", "мо", "МО", "ск", "ό", "ο", "-", "@", "/", "1", "①", "İ", "ı", "\u{a0}",
];

fn phrase() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 1..6).prop_map(|p| p.concat())
}

fn score() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..4, 0u64..1_000_000, Just(u64::MAX - 1), Just(u64::MAX)]
}

/// No top lists, the default ones (none on data this small), or a list for every prefix with
/// at least `n` entries and room for all of them.
fn top_lists() -> impl Strategy<Value = TopListOptions> {
    prop_oneof![
        Just(TopListOptions {
            budget_percent: 0,
            category_percent: 0,
            min_entries: 1,
            section_min_entries: 1,
        }),
        Just(TopListOptions::default()),
        (1u64..4).prop_map(|n| TopListOptions {
            budget_percent: 1000,
            category_percent: 1000,
            min_entries: n,
            section_min_entries: n,
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn matches_oracle(
        rows in prop::collection::vec((phrase(), score()), 1..60),
        queries in prop::collection::vec(phrase(), 1..12),
        k in 1usize..12,
        top_lists in top_lists(),
    ) {
        let mut builder = SegmentBuilder::with_options(BuildOptions {
            top_lists,
            ..BuildOptions::default()
        });
        let mut kept = Vec::new();
        for (p, s) in &rows {
            match builder.add(p, *s) {
                Ok(()) => kept.push((p.as_str(), *s)),
                Err(e) => prop_assert!(e.is_row_error()),
            }
        }
        prop_assume!(!kept.is_empty());
        let segment = Segment::load(builder.finish().unwrap().bytes).unwrap();
        segment.verify_deep().unwrap();
        let oracle = Oracle::new(kept.iter().copied());
        prop_assert_eq!(segment.len(), oracle.len());
        let mut searcher = Searcher::new();
        // Random strings, prefixes of the phrases, and the empty query.
        let mut all: Vec<String> = queries.clone();
        all.extend(rows.iter().map(|(p, _)| p.chars().take(2).collect::<String>()));
        all.push(String::new());
        for q in &all {
            let got: Vec<(String, u64)> = searcher
                .search(&segment, q, &SuggestOptions::with_k(k))
                .unwrap()
                .items
                .iter()
                .map(|s| (s.text.to_string(), s.score))
                .collect();
            let want: Vec<(String, u64)> =
                oracle.suggest(q, k).into_iter().map(|e| (e.text, e.score)).collect();
            prop_assert_eq!(got, want, "query {:?}", q);
        }
    }

    #[test]
    fn input_order_does_not_change_bytes(
        rows in prop::collection::vec((phrase(), score()), 1..40),
        seed in any::<u64>(),
    ) {
        let build = |rows: &[(String, u64)]| {
            let mut b = SegmentBuilder::new();
            for (p, s) in rows {
                let _ = b.add(p, *s);
            }
            b.finish().map(|s| s.bytes).ok()
        };
        let mut shuffled = rows.clone();
        let mut rng = common::Rng(seed);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i + 1));
        }
        prop_assert_eq!(build(&rows), build(&shuffled));
    }

    /// Every feature at once (word starts, categories, typos, prefix length, exact-first)
    /// against the oracle, on phrases built to collide and to sit within a few edits of
    /// each other.
    #[test]
    fn features_match_oracle(
        rows in prop::collection::vec((phrase(), score(), prop::collection::vec(0usize..4, 0..3)), 1..50),
        queries in prop::collection::vec(phrase(), 1..10),
        k in 1usize..12,
        word_starts in any::<bool>(),
        fuzzy in prop::option::of(0u8..3),
        prefix_length in 0usize..3,
        exact_first in any::<bool>(),
        filter in prop::collection::vec(0usize..5, 0..3),
        top_lists in top_lists(),
    ) {
        const CATS: [&str; 5] = ["a", "b", "c", "d", "zz"];
        let mut builder = SegmentBuilder::with_options(edgesuggest::BuildOptions {
            word_starts,
            top_lists,
            ..Default::default()
        });
        let mut kept = Vec::new();
        for (p, s, cats) in &rows {
            let cats: Vec<String> = cats.iter().map(|&c| CATS[c].to_string()).collect();
            match builder.add_row(p, *s, None, &cats) {
                Ok(()) => kept.push((p.as_str(), *s, cats)),
                Err(e) => prop_assert!(e.is_row_error()),
            }
        }
        prop_assume!(!kept.is_empty());
        let segment = Segment::load(builder.finish().unwrap().bytes).unwrap();
        segment.verify_deep().unwrap();
        let oracle = common::Oracle::with_categories(kept, word_starts);
        let ask = common::Ask {
            k,
            fuzzy,
            prefix_length,
            exact_first,
            categories: filter.iter().map(|&c| CATS[c].to_string()).collect(),
        };
        let options = edgesuggest::SuggestOptions {
            k,
            fuzzy: match fuzzy {
                None => edgesuggest::Fuzziness::Auto,
                Some(0) => edgesuggest::Fuzziness::Off,
                Some(n) => edgesuggest::Fuzziness::Edits(n),
            },
            prefix_length,
            exact_first,
            categories: ask.categories.clone(),
            ..Default::default()
        };
        let mut searcher = Searcher::new();
        let mut all: Vec<String> = queries.clone();
        all.extend(rows.iter().map(|(p, _, _)| p.chars().take(4).collect::<String>()));
        all.push(String::new());
        for q in &all {
            let found = searcher.search(&segment, q, &options).unwrap();
            prop_assert!(!found.truncated);
            let got: Vec<(String, u8, bool, usize)> = found
                .items
                .iter()
                .map(|s| (s.key.to_string(), s.edits, s.word_start, s.matched.0 as usize))
                .collect();
            let want: Vec<(String, u8, bool, usize)> = oracle
                .search(q, &ask)
                .into_iter()
                .map(|m| (m.key, m.edits, m.word_start, m.start))
                .collect();
            prop_assert_eq!(got, want, "query {:?}", q);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Precomputed top lists change no answer, in any field (highlight ranges included),
    /// whatever the options: a segment with a list for every prefix answers exactly like the
    /// same rows built without lists.
    #[test]
    fn top_lists_change_no_answer(
        rows in prop::collection::vec((phrase(), score()), 1..60),
        queries in prop::collection::vec(phrase(), 1..8),
        k in 1usize..14,
        word_starts in any::<bool>(),
        fuzzy in prop::option::of(0u8..3),
        exact_first in any::<bool>(),
        min_entries in 1u64..4,
    ) {
        let build = |top_lists| {
            let mut b = SegmentBuilder::with_options(BuildOptions {
                word_starts,
                top_lists,
                ..BuildOptions::default()
            });
            for (p, s) in &rows {
                let _ = b.add(p, *s);
            }
            b.finish().ok().map(|s| Segment::load(s.bytes).unwrap())
        };
        let without = build(TopListOptions { budget_percent: 0, category_percent: 0, min_entries, section_min_entries: min_entries });
        let with = build(TopListOptions { budget_percent: 1000, category_percent: 1000, min_entries, section_min_entries: min_entries });
        let (Some(without), Some(with)) = (without, with) else {
            return Err(TestCaseError::reject("no row kept"));
        };
        with.verify_deep().unwrap();
        let options = SuggestOptions {
            k,
            fuzzy: match fuzzy {
                None => edgesuggest::Fuzziness::Auto,
                Some(0) => edgesuggest::Fuzziness::Off,
                Some(n) => edgesuggest::Fuzziness::Edits(n),
            },
            exact_first,
            ..Default::default()
        };
        let mut all: Vec<String> = queries.clone();
        for (p, _) in &rows {
            all.extend((0..=p.chars().count()).map(|n| p.chars().take(n).collect::<String>()));
        }
        let (mut a, mut b) = (Searcher::new(), Searcher::new());
        for q in &all {
            let want = a.search(&without, q, &options).unwrap().to_owned();
            let got = b.search(&with, q, &options).unwrap().to_owned();
            prop_assert_eq!(got, want, "query {:?}", q);
        }
    }
}
