//! Property tests of stacks: a random base, random change sets and a random blocklist answer
//! every query (all options) exactly like the brute-force oracle over the raw rows with the
//! changes applied; compacting any prefix of the stack changes no answer; compacting all of it
//! gives, byte for byte, a fresh build of the merged rows.

mod common;

use std::collections::BTreeMap;

use common::{Ask, Oracle};
use edgesuggest::{
    compact, normalize_phrase, BlocklistBuilder, BuildOptions, DeltaBuilder, Fuzziness, Searcher,
    Segment, SegmentBuilder, Stack, SuggestOptions, TopListOptions,
};
use proptest::prelude::*;

/// Pieces chosen so that phrases collide after normalization and share prefixes and words.
const PIECES: &[&str] = &[
    "a", "A", "á", "b", "e", "é", "ss", "ß", " ", "東", "мо", "МО", "-", "1", "ab ", "ba",
];
const CATS: [&str; 3] = ["x", "y", "zz"];

fn phrase() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 1..5).prop_map(|p| p.concat())
}

fn score() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..4, 0u64..1000, Just(u64::MAX)]
}

fn cats() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(0usize..3, 0..2)
        .prop_map(|c| c.into_iter().map(|i| CATS[i].to_string()).collect())
}

/// A raw row: phrase, score, payload, categories.
type Row = (String, u64, Option<String>, Vec<String>);

#[derive(Debug, Clone)]
enum Op {
    Upsert(Row),
    Delete(String),
}

/// An op on a fresh phrase or on one of the base rows (`pick` chooses which).
fn op() -> impl Strategy<Value = (bool, prop::sample::Index, Op)> {
    let upsert = (phrase(), score(), prop::option::of(0u32..5), cats())
        .prop_map(|(p, s, pay, c)| Op::Upsert((p, s, pay.map(|n| format!("{{\"n\":{n}}}")), c)));
    let delete = phrase().prop_map(Op::Delete);
    (
        any::<bool>(),
        any::<prop::sample::Index>(),
        prop_oneof![upsert, delete],
    )
}

/// A blocklist line: a base phrase, or its first one or two characters as a prefix.
fn block_line() -> impl Strategy<Value = (prop::sample::Index, u8)> {
    (any::<prop::sample::Index>(), 0u8..3)
}

/// The raw rows after a change: every row of the key goes, an upsert adds its one row.
fn apply(rows: &mut Vec<Row>, op: &Op) {
    let phrase = match op {
        Op::Upsert(row) => &row.0,
        Op::Delete(p) => p,
    };
    let key = normalize_phrase(phrase);
    rows.retain(|r| normalize_phrase(&r.0) != key);
    if let Op::Upsert(row) = op {
        rows.push(row.clone());
    }
}

/// Whether a blocklist line hides `key`, by the documented rule.
fn line_blocks(line: &str, key: &str) -> bool {
    match line.strip_suffix('*') {
        Some(prefix) => key.starts_with(&edgesuggest::normalize_query(prefix)),
        None => key == normalize_phrase(line),
    }
}

/// The merged rows by the documented rules: scores add up, the display form is the surface
/// with the highest single score (ties: smallest bytes) and its payload goes with it,
/// categories are the union.
fn merged_rows(rows: &[Row]) -> BTreeMap<String, Row> {
    let mut merged: BTreeMap<String, (Row, u64)> = BTreeMap::new();
    for (p, s, pay, c) in rows {
        let key = normalize_phrase(p);
        let (row, best) = merged
            .entry(key)
            .or_insert_with(|| ((p.clone(), 0, pay.clone(), Vec::new()), *s));
        row.1 = row.1.saturating_add(*s);
        if *s > *best || (*s == *best && p.as_bytes() < row.0.as_bytes()) {
            *best = *s;
            row.0 = p.clone();
            row.2 = pay.clone();
        }
        for cat in c {
            if !row.3.contains(cat) {
                row.3.push(cat.clone());
            }
        }
    }
    merged.into_iter().map(|(k, (row, _))| (k, row)).collect()
}

/// One answer, compared field by field: key, text, score, payload, categories, edits,
/// word start, highlight, and where in the key the match starts.
type Answer = Vec<(
    String,
    String,
    u64,
    Option<String>,
    Vec<String>,
    u8,
    bool,
    (u32, u32),
    usize,
)>;

fn answer<S: edgesuggest::Searchable>(
    searcher: &mut Searcher,
    source: &S,
    query: &str,
    options: &SuggestOptions,
) -> Answer {
    let found = searcher.search(source, query, options).unwrap();
    assert!(!found.truncated, "query {query:?} truncated");
    found
        .items
        .iter()
        .map(|s| {
            let mut cats: Vec<String> = s.category_list().map(str::to_owned).collect();
            cats.sort();
            (
                s.key.to_owned(),
                s.text.to_owned(),
                s.score,
                s.payload.map(str::to_owned),
                cats,
                s.edits,
                s.word_start,
                s.highlight_utf16(),
                s.matched.0 as usize,
            )
        })
        .collect()
}

fn build_base(rows: &[Row], word_starts: bool) -> Option<Segment<Vec<u8>>> {
    // Top lists for every prefix: a base alone or with a blocklist answers from them.
    let mut builder = SegmentBuilder::with_options(BuildOptions {
        word_starts,
        top_lists: TopListOptions {
            budget_percent: 1000,
            category_percent: 1000,
            min_entries: 1,
            section_min_entries: 1,
        },
        ..Default::default()
    });
    for (p, s, pay, c) in rows {
        builder.add_row(p, *s, pay.as_deref(), c).ok()?;
    }
    Some(Segment::load(builder.finish().unwrap().bytes).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn stack_matches_oracle_and_compaction_changes_nothing(
        base_rows in prop::collection::vec((phrase(), score(), Just(None), cats()), 1..30),
        change_sets in prop::collection::vec(prop::collection::vec(op(), 0..8), 0..4),
        block in prop::collection::vec(block_line(), 0..3),
        queries in prop::collection::vec(phrase(), 1..6),
        k in 1usize..15,
        word_starts in any::<bool>(),
        fuzzy in prop::option::of(0u8..3),
        prefix_length in 0usize..2,
        exact_first in any::<bool>(),
        filter in prop::option::of(0usize..3),
    ) {
        let base_rows: Vec<Row> = base_rows
            .into_iter()
            .filter(|r| !normalize_phrase(&r.0).is_empty())
            .collect();
        prop_assume!(!base_rows.is_empty());
        let Some(base) = build_base(&base_rows, word_starts) else {
            return Err(TestCaseError::reject("a base row was refused"));
        };
        let options = BuildOptions { word_starts, ..Default::default() };
        let mut rows = base_rows.clone();
        let mut deltas = Vec::new();
        for set in &change_sets {
            let mut delta = DeltaBuilder::with_options(options);
            for (on_base, pick, op) in set {
                // Half the ops target a base phrase (another surface of it, when upserting).
                let op = match (on_base, op) {
                    (true, Op::Upsert(r)) => {
                        let target = pick.get(&base_rows).0.to_uppercase();
                        Op::Upsert((target, r.1, r.2.clone(), r.3.clone()))
                    }
                    (true, Op::Delete(_)) => Op::Delete(pick.get(&base_rows).0.clone()),
                    (false, op) => op.clone(),
                };
                let result = match &op {
                    Op::Upsert((p, s, pay, c)) => delta.upsert(p, *s, pay.as_deref(), c),
                    Op::Delete(p) => delta.delete(p),
                };
                if result.is_ok() {
                    apply(&mut rows, &op);
                }
            }
            let segment = Segment::load(delta.finish().unwrap().bytes).unwrap();
            segment.verify_deep().unwrap();
            deltas.push(segment);
        }
        let mut lines = Vec::new();
        let mut blocklist = BlocklistBuilder::new();
        for (pick, kind) in &block {
            let phrase = &pick.get(&base_rows).0;
            let line = match kind {
                0 => phrase.clone(),
                n => format!("{}*", phrase.chars().take(usize::from(*n)).collect::<String>()),
            };
            if blocklist.add_line(&line).is_ok() {
                lines.push(line);
            }
        }
        let blocklist = Segment::load(blocklist.finish().unwrap().bytes).unwrap();
        blocklist.verify_deep().unwrap();

        // The oracle sees the raw rows with every change applied, minus blocked keys.
        let visible: Vec<Row> = rows
            .iter()
            .filter(|r| !lines.iter().any(|l| line_blocks(l, &normalize_phrase(&r.0))))
            .cloned()
            .collect();
        let merged = merged_rows(&visible);
        let oracle = Oracle::with_categories(
            visible.iter().map(|(p, s, _, c)| (p.as_str(), *s, c.clone())),
            word_starts,
        );
        let ask = Ask {
            k,
            fuzzy,
            prefix_length,
            exact_first,
            categories: filter.map(|c| vec![CATS[c].to_string()]).unwrap_or_default(),
        };
        let search_options = SuggestOptions {
            k,
            fuzzy: match fuzzy {
                None => Fuzziness::Auto,
                Some(0) => Fuzziness::Off,
                Some(n) => Fuzziness::Edits(n),
            },
            prefix_length,
            exact_first,
            categories: ask.categories.clone(),
            ..Default::default()
        };
        let stack = Stack::new(base.clone(), deltas.clone(), Some(blocklist.clone())).unwrap();
        let mut searcher = Searcher::new();
        let mut all = queries.clone();
        all.extend(rows.iter().map(|r| r.0.chars().take(3).collect::<String>()));
        all.push(String::new());
        let mut answers = Vec::new();
        for q in &all {
            let got = answer(&mut searcher, &stack, q, &search_options);
            let want: Vec<(String, u8, bool, usize)> = oracle
                .search(q, &ask)
                .into_iter()
                .map(|m| (m.key, m.edits, m.word_start, m.start))
                .collect();
            let got_keys: Vec<(String, u8, bool, usize)> =
                got.iter().map(|g| (g.0.clone(), g.5, g.6, g.8)).collect();
            prop_assert_eq!(&got_keys, &want, "query {:?}", q);
            for g in &got {
                let row = &merged[&g.0];
                let mut cats = row.3.clone();
                cats.sort();
                prop_assert_eq!((&g.1, g.2, &g.3, &g.4), (&row.0, row.1, &row.2, &cats));
            }
            answers.push(got);
        }

        // Compacting any prefix of the stack (base + the first m deltas) changes no answer.
        for m in 0..=deltas.len() {
            let prefix = Stack::new(base.clone(), deltas[..m].to_vec(), None).unwrap();
            let new_base = Segment::load(compact(&prefix).unwrap().bytes).unwrap();
            new_base.verify_deep().unwrap();
            let rest = Stack::new(new_base, deltas[m..].to_vec(), Some(blocklist.clone())).unwrap();
            for (q, want) in all.iter().zip(&answers) {
                let got = answer(&mut searcher, &rest, q, &search_options);
                prop_assert_eq!(&got, want, "query {:?} after compacting {} deltas", q, m);
            }
        }

        // Compacting everything equals a fresh build of the merged rows (blocked ones too:
        // the blocklist is not compacted away).
        let whole = Stack::new(base, deltas, None).unwrap();
        let compacted = compact(&whole).unwrap().bytes;
        let mut fresh = SegmentBuilder::with_options(options);
        for row in merged_rows(&rows).values() {
            fresh.add_row(&row.0, row.1, row.2.as_deref(), &row.3).unwrap();
        }
        prop_assert!(compacted == fresh.finish().unwrap().bytes, "compaction differs from a fresh build");
    }
}

/// A delta built from the same final changes in another order is byte-identical, and the
/// later of two changes to one key wins.
#[test]
fn later_change_wins_and_bytes_are_deterministic() {
    let mut a = DeltaBuilder::new();
    a.upsert("Paris", 5, None, &[] as &[&str]).unwrap();
    a.delete("paris").unwrap();
    a.upsert("Lyon", 7, None, &["fr"]).unwrap();
    let mut b = DeltaBuilder::new();
    b.upsert("Lyon", 7, None, &["fr"]).unwrap();
    b.delete("PARIS").unwrap();
    let (a, b) = (a.finish().unwrap().bytes, b.finish().unwrap().bytes);
    assert_eq!(a, b);
    let delta = Segment::load(a).unwrap();
    assert_eq!(delta.kind(), edgesuggest::SegmentKind::Delta);
    assert_eq!((delta.len(), delta.extra_entries()), (1, 1));
}

/// A stack refuses segments of the wrong kind, in the wrong place, or built differently.
#[test]
fn stack_refuses_mismatched_segments() {
    let mut base = SegmentBuilder::new();
    base.add("a", 1).unwrap();
    let base = Segment::load(base.finish().unwrap().bytes).unwrap();
    let mut ws = DeltaBuilder::with_options(BuildOptions {
        word_starts: true,
        ..Default::default()
    });
    ws.upsert("b c", 1, None, &[] as &[&str]).unwrap();
    let ws = Segment::load(ws.finish().unwrap().bytes).unwrap();
    let err = Stack::new(base.clone(), vec![ws], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("word starts"), "{err}");
    let err = Stack::new(base.clone(), vec![base.clone()], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("delta 1 is a base segment"), "{err}");
    let list = Segment::load(BlocklistBuilder::new().finish().unwrap().bytes).unwrap();
    let err = Stack::new(list.clone(), vec![], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("blocklist segment, expected a base"), "{err}");
    let err = Stack::from_segments([base.clone(), list.clone(), list])
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than one blocklist"), "{err}");
}

/// Far more hidden keys than results asked for, at the top of the ranking: the base's walk must
/// get past all of them (restarting wider when its bounded list runs dry) and still answer in
/// exact order, for plain, word-start and category-filtered queries.
#[test]
fn many_hidden_keys_above_the_answer() {
    for word_starts in [false, true] {
        let options = BuildOptions {
            word_starts,
            ..Default::default()
        };
        let mut base = SegmentBuilder::with_options(options);
        let mut rows = Vec::new();
        for i in 0..400u64 {
            let phrase = format!("p{:03} w{}", i, i % 7);
            let cats = vec![["x", "y"][(i % 2) as usize].to_string()];
            base.add_row(&phrase, 1000 - i, None, &cats).unwrap();
            rows.push((phrase, 1000 - i, None, cats));
        }
        let base = Segment::load(base.finish().unwrap().bytes).unwrap();
        let mut delta = DeltaBuilder::with_options(options);
        // Delete the 150 best, and rescore 50 others below everything.
        for (i, row) in rows.iter().enumerate().take(200) {
            if i < 150 {
                delta.delete(&row.0).unwrap();
            } else {
                delta.upsert(&row.0, 1, None, &row.3).unwrap();
            }
        }
        let delta = Segment::load(delta.finish().unwrap().bytes).unwrap();
        let mut blocklist = BlocklistBuilder::new();
        blocklist.add_line("p2*").unwrap();
        let blocklist = Segment::load(blocklist.finish().unwrap().bytes).unwrap();
        let stack = Stack::new(base, vec![delta], Some(blocklist)).unwrap();
        let mut live: Vec<Row> = rows[200..]
            .iter()
            .filter(|r| !r.0.starts_with("p2"))
            .cloned()
            .collect();
        live.extend(
            rows[150..200]
                .iter()
                .map(|r| (r.0.clone(), 1, None, r.3.clone())),
        );
        let oracle = Oracle::with_categories(
            live.iter().map(|(p, s, _, c)| (p.as_str(), *s, c.clone())),
            word_starts,
        );
        let mut searcher = Searcher::new();
        for (q, cats) in [
            ("p", vec![]),
            ("", vec![]),
            ("w3", vec![]),
            ("p", vec!["y".to_string()]),
        ] {
            for k in [1, 5, 40] {
                let ask = Ask {
                    k,
                    fuzzy: Some(0),
                    prefix_length: 1,
                    exact_first: true,
                    categories: cats.clone(),
                };
                let options = SuggestOptions {
                    k,
                    categories: cats.clone(),
                    ..Default::default()
                };
                let got: Vec<(String, bool, usize)> = answer(&mut searcher, &stack, q, &options)
                    .into_iter()
                    .map(|a| (a.0, a.6, a.8))
                    .collect();
                let want: Vec<(String, bool, usize)> = oracle
                    .search(q, &ask)
                    .into_iter()
                    .map(|m| (m.key, m.word_start, m.start))
                    .collect();
                assert_eq!(
                    got, want,
                    "query {q:?} k {k} categories {cats:?} word starts {word_starts}"
                );
            }
        }
    }
}

/// Deltas that hold no entry under a prefix can still decide keys under it (tombstones) and a
/// blocklist can hide some: a query there walks the base alone, without merging the deltas,
/// and must still leave out every deleted or blocked key, for each `k` and prefix length.
#[test]
fn tombstones_alone_under_a_prefix_still_hide_keys() {
    let mut base = SegmentBuilder::new();
    let mut rows: Vec<Row> = Vec::new();
    for i in 0..300u64 {
        let phrase = format!("q{:03} item", i);
        base.add_row(&phrase, 5000 - i, None, &[] as &[&str])
            .unwrap();
        rows.push((phrase, 5000 - i, None, Vec::new()));
    }
    let base = Segment::load(base.finish().unwrap().bytes).unwrap();
    let mut deltas = Vec::new();
    for d in 0..4u64 {
        let mut delta = DeltaBuilder::new();
        // Only tombstones under "q1": the best ten of "q1" go, a few at a time.
        for i in (100 + 3 * d)..(100 + 3 * d + 3) {
            delta.delete(&format!("q{i:03} item")).unwrap();
        }
        // Entries elsewhere, so each delta holds something.
        delta
            .upsert(&format!("z new {d}"), 10 + d, None, &[] as &[&str])
            .unwrap();
        deltas.push(Segment::load(delta.finish().unwrap().bytes).unwrap());
    }
    let mut blocklist = BlocklistBuilder::new();
    blocklist.add_line("q205 item").unwrap();
    blocklist.add_line("q21*").unwrap();
    let blocklist = Segment::load(blocklist.finish().unwrap().bytes).unwrap();
    let stack = Stack::new(base, deltas, Some(blocklist)).unwrap();
    let gone = |p: &str| {
        let n: u64 = p[1..4].parse().unwrap();
        (100..112).contains(&n) || p == "q205 item" || p.starts_with("q21")
    };
    let mut live: Vec<Row> = rows.into_iter().filter(|r| !gone(&r.0)).collect();
    live.extend((0..4u64).map(|d| (format!("z new {d}"), 10 + d, None, Vec::new())));
    let oracle = Oracle::new(live.iter().map(|(p, s, _, _)| (p.as_str(), *s)));
    let mut searcher = Searcher::new();
    for q in ["q", "q1", "q10", "q11", "q2", "q20", "q21", "q3", "z"] {
        for k in [1, 5, 12, 40] {
            assert_exact_keys(&mut searcher, &stack, &oracle, q, (k, true));
        }
    }
}

/// Asserts that the stack's keys for an exact-prefix query with `k` and exact-first on or
/// off are the oracle's.
fn assert_exact_keys(
    searcher: &mut Searcher,
    stack: &Stack<Vec<u8>>,
    oracle: &Oracle,
    q: &str,
    (k, exact_first): (usize, bool),
) {
    let ask = Ask {
        k,
        fuzzy: Some(0),
        prefix_length: 1,
        exact_first,
        categories: Vec::new(),
    };
    let options = SuggestOptions {
        k,
        exact_first,
        ..Default::default()
    };
    let got: Vec<String> = answer(searcher, stack, q, &options)
        .into_iter()
        .map(|a| a.0)
        .collect();
    let want: Vec<String> = oracle.search(q, &ask).into_iter().map(|m| m.key).collect();
    assert_eq!(got, want, "query {q:?} k {k} exact first {exact_first}");
}

/// A few of the best keys under short prefixes deleted, rescored or blocked: more than a top
/// list has to spare, fewer than a whole subtree. The stack answers these prefixes from longer
/// copies of the lists, exactly as the oracle does, for every `k` up to past the list.
#[test]
fn lists_thinned_by_the_stack_still_answer_exactly() {
    let mut base = SegmentBuilder::with_options(BuildOptions {
        top_lists: TopListOptions {
            budget_percent: 1000,
            category_percent: 1000,
            min_entries: 8,
            section_min_entries: 8,
        },
        ..Default::default()
    });
    let mut rows: Vec<Row> = Vec::new();
    for i in 0..600u64 {
        let phrase = format!("{}{:03} item", ["q", "r"][(i % 2) as usize], i);
        base.add(&phrase, 10_000 - i).unwrap();
        rows.push((phrase, 10_000 - i, None, Vec::new()));
    }
    let base = Segment::load(base.finish().unwrap().bytes).unwrap();
    let mut older = DeltaBuilder::new();
    let mut newer = DeltaBuilder::new();
    for (i, row) in rows.iter().enumerate().take(40) {
        match i % 5 {
            0 => older.delete(&row.0).unwrap(),
            1 => older.upsert(&row.0, 5, None, &[] as &[&str]).unwrap(),
            2 => newer.delete(&row.0).unwrap(),
            _ => {}
        }
    }
    newer
        .upsert("q999 new", 9_995, None, &[] as &[&str])
        .unwrap();
    let mut blocklist = BlocklistBuilder::new();
    blocklist.add_line("r016 item").unwrap();
    blocklist.add_line("q02*").unwrap();
    let stack = Stack::new(
        base,
        vec![
            Segment::load(older.finish().unwrap().bytes).unwrap(),
            Segment::load(newer.finish().unwrap().bytes).unwrap(),
        ],
        Some(Segment::load(blocklist.finish().unwrap().bytes).unwrap()),
    )
    .unwrap();
    let mut live: Vec<(String, u64)> = Vec::new();
    for (i, (phrase, score, _, _)) in rows.iter().enumerate() {
        let blocked = phrase == "r016 item" || phrase.starts_with("q02");
        match (i < 40, i % 5) {
            _ if blocked => {}
            (true, 0 | 2) => {}
            (true, 1) => live.push((phrase.clone(), 5)),
            _ => live.push((phrase.clone(), *score)),
        }
    }
    live.push(("q999 new".to_string(), 9_995));
    let oracle = Oracle::with_categories(
        live.iter().map(|(p, s)| (p.as_str(), *s, Vec::new())),
        false,
    );
    let mut searcher = Searcher::new();
    for q in ["", "q", "r", "q0", "r0", "q00"] {
        for k in [1, 3, 10, 12, 20] {
            for exact_first in [true, false] {
                assert_exact_keys(&mut searcher, &stack, &oracle, q, (k, exact_first));
            }
        }
    }
}

/// The cost of a stack query does not grow with the number of matches: 100,000 phrases match
/// "a", two deltas change some of the best ones, and the exact top 10 comes within a work
/// budget of 2,000 visited nodes (a scan of the matches would need 100,000 and more).
#[test]
fn cost_does_not_grow_with_the_matches() {
    let mut base = SegmentBuilder::new();
    for i in 0..100_000u64 {
        base.add(&format!("a{i:05}"), i).unwrap();
    }
    let base = Segment::load(base.finish().unwrap().bytes).unwrap();
    let mut d1 = DeltaBuilder::new();
    d1.delete("a99999").unwrap();
    d1.upsert("a99998", 1_000_000, None, &[] as &[&str])
        .unwrap();
    let mut d2 = DeltaBuilder::new();
    d2.upsert("a00000", 99_997, None, &[] as &[&str]).unwrap();
    d2.delete("a99996").unwrap();
    let deltas = [d1, d2].map(|d| Segment::load(d.finish().unwrap().bytes).unwrap());
    let stack = Stack::new(base, deltas.to_vec(), None).unwrap();
    let options = SuggestOptions {
        max_visits: 2_000,
        ..SuggestOptions::default()
    };
    let mut searcher = Searcher::new();
    let found = searcher.search(&stack, "a", &options).unwrap();
    assert!(!found.truncated);
    let got: Vec<(String, u64)> = found
        .items
        .iter()
        .map(|s| (s.text.to_string(), s.score))
        .collect();
    // a99999 and a99996 deleted, a99998 raised, a00000 raised to tie with a99997 (key order).
    let mut want = vec![
        ("a99998".to_string(), 1_000_000),
        ("a00000".to_string(), 99_997),
        ("a99997".to_string(), 99_997),
    ];
    want.extend(
        (99_988..=99_995)
            .rev()
            .take(7)
            .map(|i| (format!("a{i:05}"), i)),
    );
    assert_eq!(got, want);
}

/// A phrase matched at two later words with one edit each reports the leftmost of them, the
/// same over a stack as over its compacted segment (a walk meets them in an order that
/// depends on the FST's shape).
#[test]
fn equal_edit_word_starts_report_the_leftmost() {
    let rows: Vec<Row> = [
        ("a", 0),
        ("a-", 0),
        ("b ab -", 0),
        ("a", u64::MAX),
        ("-", 1),
    ]
    .iter()
    .map(|&(p, s)| (p.to_string(), s, None, Vec::new()))
    .collect();
    let base = build_base(&rows, true).unwrap();
    let mut delta = DeltaBuilder::with_options(BuildOptions {
        word_starts: true,
        ..Default::default()
    });
    delta.delete("a").unwrap();
    let delta = Segment::load(delta.finish().unwrap().bytes).unwrap();
    let stack = Stack::new(base, vec![delta], None).unwrap();
    let compacted = Segment::load(compact(&stack).unwrap().bytes).unwrap();
    let options = SuggestOptions {
        k: 3,
        fuzzy: Fuzziness::Edits(1),
        exact_first: false,
        ..Default::default()
    };
    let mut searcher = Searcher::new();
    for answer in [
        answer(&mut searcher, &stack, "a-", &options),
        answer(&mut searcher, &compacted, "a-", &options),
    ] {
        let hit = answer.iter().find(|a| a.0 == "b ab -").unwrap();
        // "a" of "ab" (the query's "-" left out) comes before "-" (its "a" left out); the
        // match ends where it is first within the edits.
        assert_eq!((hit.5, hit.6, hit.8, hit.7), (1, true, 2, (2, 3)));
    }
}
