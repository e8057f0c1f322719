//! The bodies of the fuzz targets in `fuzz/fuzz_targets/`, shared with
//! `tests/fuzz_regressions.rs`, which replays every kept input through the same function.
//! Each takes the fuzzer's raw bytes and panics only on a finding: a panic inside the engine,
//! or a broken invariant checked here.

use edgesuggest::{
    compact, BlocklistBuilder, BuildOptions, DeltaBuilder, Error, Fuzziness, Searcher, Segment,
    SegmentBuilder, Stack, SuggestOptions, MAX_K,
};

/// Reads the fuzzer's bytes as a sequence of small values; past the end, zeros.
pub struct Cursor<'a>(pub &'a [u8]);

impl Cursor<'_> {
    pub fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// A string of up to `max` bytes (lossy UTF-8).
    pub fn text(&mut self, max: usize) -> String {
        let len = usize::from(self.u8()).min(max).min(self.0.len());
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Options drawn from the cursor, within and beyond the engine's limits.
pub fn options(c: &mut Cursor<'_>) -> SuggestOptions {
    let k = match c.u8() {
        255 => usize::from(c.u16()),
        k => usize::from(k % 64),
    };
    let categories = (0..c.u8() % 3).map(|_| c.text(16)).collect();
    SuggestOptions {
        k,
        fuzzy: match c.u8() % 4 {
            0 => Fuzziness::Off,
            1 => Fuzziness::Edits(1),
            2 => Fuzziness::Edits(2),
            _ => Fuzziness::Auto,
        },
        prefix_length: usize::from(c.u8() % 8),
        exact_first: c.u8() % 2 == 0,
        categories,
        // Mostly within the default budget, so executions stay fast; sometimes anything.
        max_visits: match c.u8() {
            255 => c.u32() as usize,
            v => usize::from(v) * 400,
        },
    }
}

/// Queries every shape of query on an accepted segment and checks what holds for any answer:
/// at most k items, edits within the maximum, no corruption error once `verify_deep` passed.
pub fn exercise(segment: &Segment<&[u8]>, queries: &[(String, SuggestOptions)]) {
    let deep_ok = segment.verify_deep().is_ok();
    SEARCHER.with_borrow_mut(|searcher| {
        for (query, options) in queries {
            check_answer(searcher, segment, query, options, deep_ok);
        }
    });
}

thread_local! {
    /// One searcher for every input, as a server keeps one: its Levenshtein automaton
    /// builders cost far more than a query, and reusing it also exercises buffer reuse.
    static SEARCHER: std::cell::RefCell<Searcher> = std::cell::RefCell::new(Searcher::new());
}

/// One query's answer against what holds for any answer.
fn check_answer(
    searcher: &mut Searcher,
    segment: &Segment<&[u8]>,
    query: &str,
    options: &SuggestOptions,
    deep_ok: bool,
) {
    match searcher.search(segment, query, options) {
        Ok(found) => {
            assert!(found.items.len() <= options.k.min(MAX_K));
            assert!(found.items.iter().all(|s| s.edits <= Fuzziness::MAX_EDITS));
        }
        Err(Error::Corrupt { .. }) => {
            assert!(
                !deep_ok,
                "verify_deep passed, {query:?} {options:?} found corruption"
            )
        }
        Err(_) => {}
    }
}

/// The standard queries run on every accepted segment: each search path (plain descent, the
/// exact phrase, word starts, category FSTs, both fuzzy automata) at least once, with short
/// fuzzy parts so that building automata does not dominate an execution.
pub fn standard_queries() -> Vec<(String, SuggestOptions)> {
    let with = |query: &str, fuzzy, categories: &[&str]| {
        let options = SuggestOptions {
            k: 20,
            fuzzy,
            prefix_length: 0,
            categories: categories.iter().map(|c| c.to_string()).collect(),
            ..SuggestOptions::default()
        };
        (query.to_owned(), options)
    };
    vec![
        with("", Fuzziness::Off, &[]),
        with("new", Fuzziness::Off, &[]),
        with("york", Fuzziness::Off, &[]),
        with("東", Fuzziness::Off, &[]),
        with("", Fuzziness::Off, &["capital"]),
        with("n", Fuzziness::Off, &["city", "capital"]),
        with("nw", Fuzziness::Edits(1), &[]),
        with("yrok", Fuzziness::Edits(2), &["capital"]),
    ]
}

/// Target `segment_bytes`: any bytes, loaded; what loads is queried.
pub fn segment_bytes(data: &[u8]) {
    if let Ok(segment) = Segment::load(data) {
        exercise(&segment, &standard_queries());
    }
}

/// A segment with every section kind, word starts, and a root wider than `fst`'s transition
/// index threshold: the base the structure-aware target mutates.
pub fn base_segment() -> Vec<u8> {
    // A top list for every prefix, so that mutations reach that section too.
    let mut b = SegmentBuilder::with_options(BuildOptions {
        word_starts: true,
        top_lists: edgesuggest::TopListOptions {
            budget_percent: 1000,
            category_percent: 1000,
            min_entries: 1,
            section_min_entries: 1,
        },
        ..BuildOptions::default()
    });
    let rows: [(&str, &[&str]); 7] = [
        ("New York", &["city", "capital"]),
        ("Newark", &["city"]),
        ("São Paulo", &["city", "port"]),
        ("Sapporo", &[]),
        ("東京", &["capital"]),
        ("Zürich", &["city"]),
        ("New Delhi", &["capital"]),
    ];
    for (i, (phrase, cats)) in rows.iter().enumerate() {
        b.add_row(phrase, 1000 - i as u64 * 7, Some(r#"{"id":1}"#), cats)
            .expect("a valid row");
    }
    for (i, c) in ('a'..='z').chain('0'..='9').enumerate() {
        b.add_row(
            &format!("{c}{c} york {i}"),
            50 + i as u64,
            None,
            &["capital"],
        )
        .expect("a valid row");
    }
    b.finish().expect("a valid segment").bytes
}

/// Rewrites the trailer checksum (XXH64, seed 0, over everything before the 12-byte trailer).
pub fn reseal(bytes: &mut [u8]) {
    let Some(body) = bytes.len().checked_sub(12) else {
        return;
    };
    let sum = xxhash_rust::xxh64::xxh64(&bytes[..body], 0);
    bytes[body..body + 8].copy_from_slice(&sum.to_le_bytes());
}

/// Target `segment_mutate` (structure-aware): edits of a valid segment, then the checksum
/// recomputed, since random bytes almost never pass it. Each edit is 4 bytes: offset (u16,
/// within the segment), operation, value; the rest of the input picks queries.
pub fn segment_mutate(data: &[u8], base: &[u8]) {
    let mut c = Cursor(data);
    let mut bytes = base.to_vec();
    let edits = usize::from(c.u8() % 8) + 1;
    for _ in 0..edits {
        let at = usize::from(c.u16()) % bytes.len();
        let value = c.u8();
        match c.u8() % 5 {
            0 => bytes[at] ^= 1 << (value % 8),
            1 => bytes[at] = bytes[at].wrapping_add(value),
            2 => bytes[at] = value,
            3 => bytes.insert(at, value),
            _ => {
                bytes.remove(at);
            }
        }
    }
    reseal(&mut bytes);
    let Ok(segment) = Segment::load(&bytes[..]) else {
        return;
    };
    let mut queries = standard_queries();
    let wanted = queries.len() + 4;
    while !c.is_empty() && queries.len() < wanted {
        let query = c.text(16);
        queries.push((query, options(&mut c)));
    }
    exercise(&segment, &queries);
}

/// Target `query`: query strings and options on a valid segment.
pub fn query(data: &[u8], segment: &Segment<&[u8]>) {
    let mut c = Cursor(data);
    let mut queries = Vec::new();
    while !c.is_empty() && queries.len() < 8 {
        let query = c.text(255);
        queries.push((query, options(&mut c)));
    }
    exercise(segment, &queries);
}

/// Target `manifest`: any text as a manifest; an accepted one is consistent.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(manifest) = edgesuggest_manifest::Manifest::parse(text) {
        let _ = manifest.total_bytes();
    }
}

/// Target `build_rows`: rows from the fuzzer built into a segment; whatever the builder
/// accepts must load and pass `verify_deep`, and every phrase must be found.
pub fn build_rows(data: &[u8]) {
    let mut c = Cursor(data);
    let mut b = SegmentBuilder::with_options(BuildOptions {
        word_starts: c.u8() % 2 == 0,
        ..BuildOptions::default()
    });
    let mut added = Vec::new();
    while !c.is_empty() && added.len() < 64 {
        let phrase = c.text(40);
        let score = u64::from(c.u32()) << (c.u8() % 40);
        let categories: Vec<String> = (0..c.u8() % 3).map(|_| c.text(8)).collect();
        let categories: Vec<&str> = categories.iter().map(String::as_str).collect();
        if b.add_row(&phrase, score, None, &categories).is_ok() {
            added.push(phrase);
        }
    }
    let Ok(built) = b.finish() else {
        return;
    };
    let segment = Segment::load(&built.bytes[..]).expect("a built segment loads");
    segment
        .verify_deep()
        .expect("a built segment passes verify_deep");
    let mut searcher = Searcher::new();
    for phrase in &added {
        let key = edgesuggest::normalize_phrase(phrase);
        if key.is_empty() {
            continue;
        }
        let found = searcher
            .search(&segment, &key, &SuggestOptions::with_k(1))
            .expect("a built segment answers");
        assert_eq!(
            found.items.first().map(|s| s.key),
            Some(key.as_str()),
            "{phrase:?}"
        );
    }
}

/// A delta over [`base_segment`] (word starts, like it): rescored, new and deleted phrases,
/// with payloads and categories.
pub fn delta_segment() -> Vec<u8> {
    let mut d = DeltaBuilder::with_options(BuildOptions {
        word_starts: true,
        ..BuildOptions::default()
    });
    d.upsert("Newark", 5000, Some(r#"{"id":2}"#), &["city", "airport"])
        .expect("a valid change");
    d.upsert("New Haven", 990, None, &["city"])
        .expect("a valid change");
    d.delete("New York").expect("a valid change");
    d.delete("zz york 35").expect("a valid change");
    for (i, c) in ('a'..='k').enumerate() {
        d.upsert(
            &format!("{c}{c} york {i}"),
            2000 + i as u64,
            None,
            &[] as &[&str],
        )
        .expect("a valid change");
    }
    d.finish().expect("a valid delta").bytes
}

/// A blocklist with phrases and prefixes hitting [`base_segment`] and [`delta_segment`].
pub fn blocklist_segment() -> Vec<u8> {
    let mut b = BlocklistBuilder::new();
    for line in ["sapporo", "new h*", "bb *", "東*"] {
        b.add_line(line).expect("a valid line");
    }
    b.finish().expect("a valid blocklist").bytes
}

/// Target `stack_mutate` (structure-aware): edits of the delta or the blocklist (the first
/// byte picks), resealed, layered over the base; what forms a stack is queried and compacted.
/// A stack whose segments all pass `verify_deep` answers without a corruption error and
/// compacts.
pub fn stack_mutate(data: &[u8], base: &[u8], delta: &[u8], blocklist: &[u8]) {
    let mut c = Cursor(data);
    let mutate_delta = c.u8() % 2 == 0;
    let mut bytes = if mutate_delta { delta } else { blocklist }.to_vec();
    for _ in 0..usize::from(c.u8() % 8) + 1 {
        let at = usize::from(c.u16()) % bytes.len();
        let value = c.u8();
        match c.u8() % 4 {
            0 => bytes[at] ^= 1 << (value % 8),
            1 => bytes[at] = value,
            2 => bytes.insert(at, value),
            _ => {
                bytes.remove(at);
            }
        }
    }
    reseal(&mut bytes);
    let (delta, blocklist) = if mutate_delta {
        (&bytes[..], blocklist)
    } else {
        (delta, &bytes[..])
    };
    let (Ok(base), Ok(delta), Ok(list)) = (
        Segment::load(base),
        Segment::load(delta),
        Segment::load(blocklist),
    ) else {
        return;
    };
    let deep_ok = [&base, &delta, &list]
        .iter()
        .all(|s| s.verify_deep().is_ok());
    let Ok(stack) = Stack::new(base, vec![delta], Some(list)) else {
        return;
    };
    let mut searcher = Searcher::new();
    for (query, options) in standard_queries() {
        match searcher.search(&stack, &query, &options) {
            Ok(found) => assert!(found.items.len() <= options.k.min(MAX_K)),
            Err(Error::Corrupt { .. }) => {
                assert!(!deep_ok, "{query:?}: corruption after verify_deep")
            }
            Err(_) => {}
        }
    }
    let compacted = compact(&stack);
    assert!(
        compacted.is_ok() || !deep_ok,
        "a sound stack fails to compact: {compacted:?}"
    );
}
