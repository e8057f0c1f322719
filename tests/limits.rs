//! The engine's per-query limits: queries and options beyond them get a clear error, and no
//! query on any accepted segment allocates more than a few MB, whatever the segment's fan-out
//! and the query. Memory is measured with a counting allocator around each search.

mod common;

use edgesuggest::{
    BuildOptions, Error, Fuzziness, Searcher, Segment, SegmentBuilder, SuggestOptions, MAX_K,
    MAX_QUERY_BYTES, MAX_QUERY_INPUT_BYTES, MAX_VISITS,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Counts live bytes and the peak since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Tests run on several threads and the counters are global: each test holds this for its
/// whole run (see [`serial`]), so no other test allocates or frees while one measures.
static MEASURING: Mutex<()> = Mutex::new(());

/// Runs the calling test alone among this file's tests.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    MEASURING.lock().unwrap_or_else(|e| e.into_inner())
}

// SAFETY: every call forwards to the system allocator with the same arguments; the counters
// are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// The most a query may add to the heap: the caps' sum (candidates 1.5 MB, path steps 1 MB,
/// each briefly twice while its buffer grows; a Levenshtein automaton of 32 bytes of query up
/// to about 2 MB) with room for the answer.
const QUERY_BUDGET: usize = 6 << 20;

/// Bytes allocated at the peak of `f`, above what was live before it.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed) - before)
}

/// Every string of `len` characters over `alphabet`: a segment where every node has the
/// alphabet's width and a walk's frontier grows by that much per node it expands.
fn wide_segment(alphabet: &[char], len: u32, word_starts: bool) -> Segment<Vec<u8>> {
    let mut b = SegmentBuilder::with_options(BuildOptions {
        word_starts,
        ..BuildOptions::default()
    });
    let n = alphabet.len();
    for i in 0..n.pow(len) {
        let key: String = (0..len)
            .map(|p| alphabet[i / n.pow(p) % n])
            .flat_map(|c| [c, ' '])
            .collect();
        b.add(&key, (i % 1000) as u64 + 1).unwrap();
    }
    Segment::load(b.finish().unwrap().bytes).unwrap()
}

/// A segment of one suggestion whose FST is replaced by every 3-byte key over 60 letters, all
/// with output 0: four nodes of 60 zero-output transitions, which the structural checks
/// accept (word-start segments may hold more keys than suggestions). Every path then costs
/// the same and leads to the one suggestion, already found, so a walk asked for more keeps
/// expanding: without caps its frontier held hundreds of MB.
fn crafted_wide_segment() -> Segment<Vec<u8>> {
    let mut b = SegmentBuilder::with_options(BuildOptions {
        word_starts: true,
        ..BuildOptions::default()
    });
    b.add("a a", 1).unwrap();
    let bytes = b.finish().unwrap().bytes;
    let letters: Vec<u8> = (b'0'..=b'9')
        .chain(b'A'..=b'Z')
        .chain(b'a'..=b'x')
        .collect();
    let mut fst = fst::raw::Builder::memory();
    for &x in &letters {
        for &y in &letters {
            for &z in &letters {
                fst.insert([x, y, z], 0).unwrap();
            }
        }
    }
    let fst = fst.into_inner().unwrap();
    Segment::load(common::replace_fst(&bytes, &fst)).unwrap()
}

fn hostile_options() -> Vec<SuggestOptions> {
    let fuzzy = |fuzzy, prefix_length| SuggestOptions {
        k: MAX_K,
        fuzzy,
        prefix_length,
        max_visits: MAX_VISITS,
        ..SuggestOptions::default()
    };
    vec![
        fuzzy(Fuzziness::Off, 0),
        fuzzy(Fuzziness::Edits(2), 0),
        fuzzy(Fuzziness::Auto, 0),
        fuzzy(Fuzziness::Edits(1), 1),
    ]
}

#[test]
fn wide_segments_stay_within_the_query_budget() {
    let _serial = serial();
    let alphabet: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    let segment = wide_segment(&alphabet, 3, true);
    let mut searcher = Searcher::new();
    // 300 distinct CJK characters: 900 bytes, of which typo tolerance considers the last 32.
    let cjk: String = ('\u{4e00}'..).take(300).collect();
    for query in [
        "",
        "a",
        "zz",
        "a b c",
        "q9 x",
        "中文字符测试东京大阪北京上海广州",
        &cjk,
    ] {
        for options in hostile_options() {
            let (_, bytes) = peak_of(|| {
                searcher
                    .search(&segment, query, &options)
                    .unwrap()
                    .truncated
            });
            assert!(
                bytes <= QUERY_BUDGET,
                "{query:?} {options:?}: {bytes} bytes at the peak"
            );
        }
    }
}

#[test]
fn crafted_zero_output_fan_out_stays_within_the_query_budget() {
    let _serial = serial();
    let segment = crafted_wide_segment();
    let mut searcher = Searcher::new();
    let queries = ["", "a", "0", "xwv", "9a0"];
    let largest = hostile_peaks(
        &mut searcher,
        &segment,
        &queries,
        |query, options, result| {
            assert!(
                matches!(result, Ok((1, _))),
                "{query:?} {options:?}: {result:?}"
            );
        },
    );
    // The caps, not the segment, bound it: the frontier reached them.
    assert!(largest > 1 << 20, "largest peak {largest} bytes");
}

/// The outcome of a search: how many suggestions, and whether it was cut short.
type Outcome = Result<(usize, bool), Error>;

/// Runs every hostile option set on each query, checking that none allocates beyond the
/// per-query budget and handing each outcome to `check`; returns the largest peak.
fn hostile_peaks(
    searcher: &mut Searcher,
    segment: &Segment<Vec<u8>>,
    queries: &[&str],
    mut check: impl FnMut(&str, &SuggestOptions, &Outcome),
) -> usize {
    let mut largest = 0;
    for &query in queries {
        for options in hostile_options() {
            let (result, bytes) = peak_of(|| {
                searcher
                    .search(segment, query, &options)
                    .map(|found| (found.items.len(), found.truncated))
            });
            assert!(
                bytes <= QUERY_BUDGET,
                "{query:?} {options:?}: {bytes} bytes at the peak ({result:?})"
            );
            check(query, &options, &result);
            largest = largest.max(bytes);
        }
    }
    largest
}

#[test]
fn long_queries_are_refused_after_normalization() {
    let _serial = serial();
    let segment = wide_segment(&['a', 'b'], 2, false);
    let mut searcher = Searcher::new();
    let options = SuggestOptions {
        fuzzy: Fuzziness::Edits(2),
        prefix_length: 0,
        ..SuggestOptions::default()
    };
    let at_limit = "a".repeat(MAX_QUERY_BYTES);
    assert!(searcher.search(&segment, &at_limit, &options).is_ok());
    // Over the limit only once normalized: the trailing space a query keeps, 85 × U+FDFA
    // (255 bytes as given, about 2.8 KB after NFKD), 1,000 CJK characters (3,000 bytes).
    let over = [
        format!("{at_limit} "),
        "\u{FDFA}".repeat(85),
        "中".repeat(1000),
    ];
    for query in &over {
        let (result, bytes) = peak_of(|| searcher.search(&segment, query, &options).map(|_| ()));
        assert!(
            matches!(result, Err(Error::QueryTooLong { what: "the normalized query", max })
                if max == MAX_QUERY_BYTES),
            "{} bytes: {result:?}",
            query.len()
        );
        assert!(bytes < 64 * 1024, "{bytes} bytes to refuse it");
    }
    let huge = "\u{FDFA}".repeat(50_000);
    let (result, bytes) = peak_of(|| searcher.search(&segment, &huge, &options).map(|_| ()));
    assert!(
        matches!(result, Err(Error::QueryTooLong { what: "the query", max })
            if max == MAX_QUERY_INPUT_BYTES),
        "{result:?}"
    );
    assert!(bytes < 64 * 1024, "{bytes} bytes to refuse it");
    // Folding away (accents, whitespace runs) counts after normalization, so a query of
    // mostly spaces within the input limit is fine.
    let spaced = format!("a{}b", " ".repeat(MAX_QUERY_INPUT_BYTES - 2));
    assert!(searcher.search(&segment, &spaced, &options).is_ok());
}

#[test]
fn fuzzy_matching_covers_the_last_32_bytes() {
    let _serial = serial();
    // Keys of 40 letters; a typo near the start is beyond the fuzzy part, one near the end
    // is within it.
    let key = "abcdefghijklmnopqrstuvwxyzabcdefghijklmn";
    let mut b = SegmentBuilder::new();
    b.add(key, 1).unwrap();
    let segment = Segment::load(b.finish().unwrap().bytes).unwrap();
    let options = SuggestOptions {
        fuzzy: Fuzziness::Edits(1),
        prefix_length: 0,
        ..SuggestOptions::default()
    };
    let typo_at = |i: usize| {
        let mut q = key.as_bytes().to_vec();
        q[i] = b'!';
        String::from_utf8(q).unwrap()
    };
    let found = |q: &str| segment.search(q, &options).unwrap().items.len();
    // 40 bytes: the first 8 must match exactly.
    for i in 0..8 {
        assert_eq!(found(&typo_at(i)), 0, "typo at byte {i}");
    }
    for i in 8..40 {
        assert_eq!(found(&typo_at(i)), 1, "typo at byte {i}");
    }
}

/// A segment where "axb" has tens of thousands of one-edit variants: "a", one of 20,992 CJK
/// ideographs, then "b" (the "x" replaced) or "xb" (the ideograph inserted).
fn one_edit_variants_segment() -> Segment<Vec<u8>> {
    let mut b = SegmentBuilder::new();
    for (i, c) in ('\u{4e00}'..='\u{9fff}').enumerate() {
        b.add(&format!("a{c}b"), i as u64 + 1).unwrap();
        b.add(&format!("a{c}xb"), i as u64 + 1).unwrap();
    }
    Segment::load(b.finish().unwrap().bytes).unwrap()
}

#[test]
fn one_edit_variants_stay_within_the_query_budget() {
    let _serial = serial();
    let segment = one_edit_variants_segment();
    let mut searcher = Searcher::new();
    let plain = SuggestOptions::default();
    let live_after = |searcher: &mut Searcher, query: &str, options: &SuggestOptions| {
        searcher.search(&segment, query, options).unwrap();
        LIVE.load(Ordering::Relaxed)
    };
    let baseline = live_after(&mut searcher, "a", &plain);
    let queries = ["axb", "axxb", "a\u{4e00}xb", "ab"];
    hostile_peaks(
        &mut searcher,
        &segment,
        &queries,
        |query, options, result| {
            assert!(result.is_ok(), "{query:?} {options:?}: {result:?}");
        },
    );
    // 42,000 paths within one edit, every key a match: the best ten are the two keys of
    // each of the five best-scored ideographs, "a{c}b" before "a{c}xb".
    let one_edit = SuggestOptions {
        fuzzy: Fuzziness::Edits(1),
        max_visits: MAX_VISITS,
        ..SuggestOptions::default()
    };
    let found = searcher.search(&segment, "axb", &one_edit).unwrap();
    let want: Vec<String> = ('\u{9feb}'..='\u{9fff}')
        .rev()
        .flat_map(|c| [format!("a{c}b"), format!("a{c}xb")])
        .take(10)
        .collect();
    let got: Vec<&str> = found.items.iter().map(|s| s.key).collect();
    assert_eq!(
        (got, found.truncated),
        (want.iter().map(String::as_str).collect(), false)
    );
    let released = live_after(&mut searcher, "a", &plain);
    assert!(
        released < baseline + (256 << 10),
        "{} bytes kept after a plain query",
        released.saturating_sub(baseline)
    );
}

#[test]
fn buffers_shrink_after_an_outlier() {
    let _serial = serial();
    let segment = crafted_wide_segment();
    let mut searcher = Searcher::new();
    let outlier = SuggestOptions {
        k: MAX_K,
        fuzzy: Fuzziness::Edits(2),
        prefix_length: 0,
        max_visits: MAX_VISITS,
        ..SuggestOptions::default()
    };
    let plain = SuggestOptions::default();
    let live_after = |searcher: &mut Searcher, query: &str, options: &SuggestOptions| {
        searcher.search(&segment, query, options).unwrap();
        LIVE.load(Ordering::Relaxed)
    };
    // The Levenshtein automaton builders are made once per searcher and kept, by design:
    // build them first.
    live_after(&mut searcher, "abc", &outlier);
    let baseline = live_after(&mut searcher, "a", &plain);
    let grown = live_after(&mut searcher, "", &outlier);
    let released = live_after(&mut searcher, "a", &plain);
    assert!(
        grown > baseline + (1 << 20),
        "the outlier kept only {} bytes",
        grown.saturating_sub(baseline)
    );
    assert!(
        released < baseline + (256 << 10),
        "{} bytes kept after a plain query",
        released.saturating_sub(baseline)
    );
}

/// The worst time and peak memory of hostile queries on the wide segments, with the default
/// budget and with every limit raised to its maximum: run in release with
/// `cargo test --release --test limits -- --ignored --nocapture hostile_query_cost`. Prints
/// figures only; no assertion on time.
#[test]
#[ignore]
fn hostile_query_cost() {
    let _serial = serial();
    let alphabet: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    let segments = [
        ("36-letter 3-word keys", wide_segment(&alphabet, 3, true)),
        ("crafted zero-output fan-out", crafted_wide_segment()),
    ];
    let cjk: String = ('\u{4e00}'..).take(300).collect();
    let queries = ["", "a", "zz", "a b c", "9a0", cjk.as_str()];
    for (name, segment) in &segments {
        for (label, raise) in [("default budget", false), ("limits at maximum", true)] {
            let mut searcher = Searcher::new();
            let (mut worst_us, mut worst_bytes) = (0f64, 0usize);
            for query in queries {
                for mut options in hostile_options() {
                    if !raise {
                        options.k = 10;
                        options.max_visits = edgesuggest::DEFAULT_MAX_VISITS;
                    }
                    let started = std::time::Instant::now();
                    let ((), bytes) = peak_of(|| {
                        searcher.search(segment, query, &options).unwrap();
                    });
                    worst_us = worst_us.max(started.elapsed().as_secs_f64() * 1e6);
                    worst_bytes = worst_bytes.max(bytes);
                }
            }
            println!(
                "{name}, {label}: worst query {worst_us:.0} µs, peak {:.2} MB",
                worst_bytes as f64 / (1 << 20) as f64
            );
        }
    }
}
