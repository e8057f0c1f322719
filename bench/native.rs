//! The native half of the side-by-side benchmark suite (`./build.sh bench`), for one data set:
//!
//! `cargo bench --bench native -- DATA.tsv OUT_DIR [--smoke]`
//!
//! 1. builds segments (plain, `--word-starts`, with categories) and times the plain build;
//! 2. draws the suite's queries with a fixed seed and writes them with the exact answers
//!    (`queries.tsv`: kind, length, query, top-10 keys) for the other engines (Lucene, the
//!    JavaScript libraries, marisa-trie, the worker) to time and to score their overlap on;
//! 3. writes the normalized keys with order-preserving weights (`keys.tsv`) so that every peer
//!    indexes exactly the same strings and, where it ranks by weight, the same order;
//! 4. times edgesuggest and a naive baseline (sorted array, binary search, scan every match)
//!    on those queries (the prefix queries on edgesuggest, on its segment without top lists
//!    and on the baseline in alternated rounds, so that their ratios compare the same phases
//!    of a shared machine), and edgesuggest on the segment with categories filtered by a common
//!    and by a rare category (on prefixes of that category's own keys), and writes
//!    `native.json`, and each query's median for edgesuggest
//!    (`query-medians.tsv`: run, length, µs, query; slowest first within a run and length),
//!    which shows what a length's tail is made of.
//!
//! Queries: `prefix` = the first 1–6 characters of the normalized key of a uniformly drawn
//! phrase; `fuzzy` = the first 3–8 characters of one with one random edit after the first
//! character (substitution, insertion, deletion or swap of neighbours), bucketed by the typed
//! length. The fuzzy answers are edgesuggest's with at most 1 edit (what Lucene's
//! FuzzySuggester does by default); `fuzzy_auto` times edgesuggest's `fuzzy=auto` too.
//!
//! A custom harness: the figures are percentiles of individual query latencies.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use edgesuggest::{
    normalize_phrase, BuildOptions, Fuzziness, Searcher, Segment, SegmentBuilder, SuggestOptions,
    TopListOptions,
};

#[path = "common.rs"]
mod common;
use common::{derived_categories, read_rows, Rng};

/// A category filter the bench times: the category, the share of rows in it, and prefix
/// queries drawn from the keys of its own suggestions (what a user filtering by it types).
struct Filter {
    name: String,
    share: f64,
    queries: Vec<Query>,
}

/// The categories to filter by: the one most rows have, and the one fewest have among those
/// holding at least 1% of them (ties by name); either left out when there is none.
fn filters(rows: &[(String, u64)], per_length: usize) -> Vec<Filter> {
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (phrase, score) in rows {
        let key = normalize_phrase(phrase);
        if key.is_empty() || key.len() > edgesuggest::DEFAULT_MAX_PHRASE_BYTES {
            continue;
        }
        for c in derived_categories(phrase, *score) {
            members.entry(c).or_default().push(key.clone());
        }
    }
    let total = rows.len().max(1) as f64;
    let common = members
        .iter()
        .max_by_key(|&(name, keys)| (keys.len(), std::cmp::Reverse(name)));
    let rare = members
        .iter()
        .filter(|(_, keys)| keys.len() as f64 >= total / 100.0)
        .min_by_key(|&(name, keys)| (keys.len(), name));
    [common, rare]
        .into_iter()
        .flatten()
        .map(|(name, keys)| Filter {
            name: name.clone(),
            share: keys.len() as f64 / total,
            queries: draw_prefixes(keys, per_length, &mut Rng(0xCA7E_2026)),
        })
        .collect()
}

/// `per_length` prefix queries of each length 1–6, each the start of a key drawn uniformly
/// from `keys` (lengths no key reaches are left out).
fn draw_prefixes(keys: &[String], per_length: usize, rng: &mut Rng) -> Vec<Query> {
    let mut out = Vec::new();
    for len in 1..=6 {
        let long: Vec<&String> = keys.iter().filter(|k| k.chars().count() >= len).collect();
        if long.is_empty() {
            continue;
        }
        for _ in 0..per_length {
            out.push(Query {
                kind: "prefix",
                len,
                text: long[rng.below(long.len())].chars().take(len).collect(),
                expected: Vec::new(),
            });
        }
    }
    out
}

/// The naive baseline: keys sorted, binary search for the prefix range, scan all matches and
/// keep the 10 best. O(matches) per query.
struct Naive {
    keys: Vec<(String, u64)>,
}

impl Naive {
    fn new(rows: &[(String, u64)]) -> Naive {
        let mut keys: Vec<(String, u64)> = rows
            .iter()
            .map(|(p, s)| (normalize_phrase(p), *s))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        keys.sort();
        keys.dedup_by(|a, b| {
            if a.0 == b.0 {
                b.1 = b.1.saturating_add(a.1);
                true
            } else {
                false
            }
        });
        Naive { keys }
    }

    fn heap_bytes(&self) -> usize {
        self.keys.iter().map(|(k, _)| k.len() + 32).sum()
    }

    fn top10(&self, q: &str) -> Vec<&str> {
        let start = self.keys.partition_point(|(k, _)| k.as_str() < q);
        let mut best: Vec<(u64, &str)> = Vec::with_capacity(11);
        for (k, s) in &self.keys[start..] {
            if !k.starts_with(q) {
                break;
            }
            if best.len() < 10 || *s > best[best.len() - 1].0 {
                let at = best.partition_point(|&(bs, _)| bs >= *s);
                best.insert(at, (*s, k));
                best.truncate(10);
            }
        }
        best.into_iter().map(|(_, k)| k).collect()
    }
}

#[derive(Clone)]
struct Query {
    kind: &'static str,
    len: usize,
    text: String,
    expected: Vec<String>,
}

fn draw_queries(keys: &[String], per_length: usize) -> Vec<Query> {
    let mut rng = Rng(0x5EED_2026);
    let mut out = draw_prefixes(keys, per_length, &mut rng);
    for len in 3..=8 {
        let long: Vec<&String> = keys.iter().filter(|k| k.chars().count() >= len).collect();
        for _ in 0..per_length {
            let key = long[rng.below(long.len())];
            let mut chars: Vec<char> = key.chars().take(len).collect();
            let alphabet: Vec<char> = key.chars().filter(|c| *c != ' ').collect();
            let at = 1 + rng.below(chars.len() - 1);
            let pick = alphabet[rng.below(alphabet.len())];
            match rng.below(4) {
                0 => chars[at] = if chars[at] == pick { 'x' } else { pick },
                1 => chars.insert(at, pick),
                2 => {
                    chars.remove(at);
                }
                _ if at + 1 < chars.len() && chars[at] != chars[at + 1] => chars.swap(at, at + 1),
                _ => chars[at] = if chars[at] == 'q' { 'z' } else { 'q' },
            }
            let typed = chars.len();
            if (3..=8).contains(&typed) {
                out.push(Query {
                    kind: "fuzzy",
                    len: typed,
                    text: chars.into_iter().collect(),
                    expected: Vec::new(),
                });
            }
        }
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Latency of one query length in µs.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// Median and 99th percentile of every timing.
    median: f64,
    p99: f64,
    /// 99th percentile of each query's median over the rounds: what the queries cost, without
    /// the interruptions of a shared machine that the p99 of every timing also counts.
    p99_query_medians: f64,
}

/// Times every query of `kind` on its own, `rounds` times after a warm-up pass, per query
/// length.
fn time_kind(
    queries: &[Query],
    kind: &str,
    rounds: usize,
    f: impl FnMut(&str) -> usize,
) -> BTreeMap<usize, Timing> {
    time_kind_each(queries, kind, rounds, f).0
}

/// Each timed query's length, median µs and text.
type QueryMedians<'q> = Vec<(usize, f64, &'q str)>;

/// [`time_kind`], and each query's median with its length and text.
fn time_kind_each<'q>(
    queries: &'q [Query],
    kind: &str,
    rounds: usize,
    f: impl FnMut(&str) -> usize,
) -> (BTreeMap<usize, Timing>, QueryMedians<'q>) {
    let chosen: Vec<&Query> = queries.iter().filter(|q| q.kind == kind).collect();
    let per_query = time_each(&chosen, rounds, f);
    summarize(&chosen, per_query)
}

/// [`time_kind_each`] for several engines at once, their rounds alternated: each round times
/// every engine over all the queries, each after an untimed pass over them, the engine that
/// goes first rotating from round to round.
/// A shared machine's speed drifts from one minute to the next; engines timed one after the
/// other meet different phases of it, engines timed in alternated rounds meet the same ones, so
/// the ratios between them hold.
fn time_kind_alternated<'q>(
    queries: &'q [Query],
    kind: &str,
    rounds: usize,
    engines: &mut [&mut dyn FnMut(&str) -> usize],
) -> Vec<(BTreeMap<usize, Timing>, QueryMedians<'q>)> {
    let chosen: Vec<&Query> = queries.iter().filter(|q| q.kind == kind).collect();
    let n = engines.len();
    let mut per_engine: Vec<Vec<Vec<f64>>> =
        vec![vec![Vec::with_capacity(rounds); chosen.len()]; n];
    for round in 0..rounds {
        for turn in 0..n {
            let e = (round + turn) % n;
            // Untimed: the round would pay for the caches the previous engine's round left
            // (the naive baseline's strings evict a segment from every level).
            for q in &chosen {
                black_box(engines[e](&q.text));
            }
            for (i, q) in chosen.iter().enumerate() {
                let t = Instant::now();
                black_box(engines[e](black_box(&q.text)));
                per_engine[e][i].push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    per_engine
        .into_iter()
        .map(|per_query| summarize(&chosen, per_query))
        .collect()
}

/// Medians and percentiles by query length of each query's timings (one per round), and each
/// query's median with its length and text.
fn summarize<'q>(
    chosen: &[&'q Query],
    per_query: Vec<Vec<f64>>,
) -> (BTreeMap<usize, Timing>, QueryMedians<'q>) {
    let mut by_len: BTreeMap<usize, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut each = Vec::with_capacity(chosen.len());
    for (q, mut times) in chosen.iter().zip(per_query) {
        times.sort_by(f64::total_cmp);
        let (all, medians) = by_len.entry(q.len).or_default();
        let median = percentile(&times, 0.5);
        medians.push(median);
        each.push((q.len, median, q.text.as_str()));
        all.extend(times);
    }
    let by_len = by_len
        .into_iter()
        .map(|(len, (mut all, mut medians))| {
            all.sort_by(f64::total_cmp);
            medians.sort_by(f64::total_cmp);
            let timing = Timing {
                median: percentile(&all, 0.5),
                p99: percentile(&all, 0.99),
                p99_query_medians: percentile(&medians, 0.99),
            };
            (len, timing)
        })
        .collect();
    (by_len, each)
}

/// Each query's timings in µs, one per round, after a warm-up pass over all of them.
fn time_each(chosen: &[&Query], rounds: usize, mut f: impl FnMut(&str) -> usize) -> Vec<Vec<f64>> {
    for q in chosen {
        black_box(f(&q.text));
    }
    let mut per_query: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); chosen.len()];
    for _ in 0..rounds {
        for (i, q) in chosen.iter().enumerate() {
            let t = Instant::now();
            black_box(f(black_box(&q.text)));
            per_query[i].push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    per_query
}

/// Each filter's prefix queries on `segment` (the one with categories), filtered by it.
fn time_filtered(
    segment: &[u8],
    filters: Vec<Filter>,
    rounds: usize,
) -> Vec<(Filter, BTreeMap<usize, Timing>)> {
    let segment = Segment::load(segment).expect("load the segment with categories");
    let mut searcher = Searcher::new();
    filters
        .into_iter()
        .map(|filter| {
            let options = SuggestOptions {
                categories: vec![filter.name.clone()],
                ..SuggestOptions::default()
            };
            let timing = time_kind(&filter.queries, "prefix", rounds, |q| {
                searcher
                    .search(&segment, q, &options)
                    .map_or(0, |r| r.items.len())
            });
            (filter, timing)
        })
        .collect()
}

fn json_latency(m: &BTreeMap<usize, Timing>) -> String {
    let parts: Vec<String> = m
        .iter()
        .map(|(len, t)| {
            format!(
                "\"{len}\":{{\"median_us\":{:.3},\"p99_us\":{:.3},\"p99_query_medians_us\":{:.3}}}",
                t.median, t.p99, t.p99_query_medians
            )
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

fn build(rows: &[(String, u64)], word_starts: bool, categories: bool) -> (Vec<u8>, Duration) {
    build_with(rows, word_starts, categories, TopListOptions::default())
}

fn build_with(
    rows: &[(String, u64)],
    word_starts: bool,
    categories: bool,
    top_lists: TopListOptions,
) -> (Vec<u8>, Duration) {
    let t = Instant::now();
    let mut b = SegmentBuilder::with_options(BuildOptions {
        word_starts,
        top_lists,
        ..BuildOptions::default()
    });
    for (p, s) in rows {
        let cats: &[String] = if categories {
            &derived_categories(p, *s)
        } else {
            &[]
        };
        let _ = b.add_row(p, *s, None, cats);
    }
    let bytes = b.finish().expect("build").bytes;
    (bytes, t.elapsed())
}

/// What one run measures, for `native.json`.
struct Report {
    build_time: Duration,
    plain: usize,
    keys_only: usize,
    word_starts: usize,
    with_categories: usize,
    count: usize,
    load_ms: f64,
    /// Load of the word-start and the categories segment (their extra FSTs are validated too).
    load_ms_word_starts: f64,
    load_ms_categories: f64,
    /// `verify_deep` of the plain segment: every key of every FST, each node decoded once.
    verify_deep_ms: f64,
    ours: BTreeMap<usize, Timing>,
    ours_fuzzy: BTreeMap<usize, Timing>,
    ours_auto: BTreeMap<usize, Timing>,
    /// The plain segment built without top lists: its build time, size and latency.
    no_top: (Duration, usize, BTreeMap<usize, Timing>),
    naive_build: Duration,
    naive_bytes: usize,
    naive: BTreeMap<usize, Timing>,
    naive_overlap: f64,
    /// The prefix queries on the segment with categories, filtered by each of [`filters`].
    filtered: Vec<(Filter, BTreeMap<usize, Timing>)>,
}

/// `DATA.tsv OUT_DIR [--smoke]` (cargo adds `--bench`).
fn parse_args() -> (PathBuf, PathBuf, bool) {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [data, out_dir] = positional[..] else {
        eprintln!("usage: cargo bench --bench native -- DATA.tsv OUT_DIR [--smoke]");
        std::process::exit(2);
    };
    (PathBuf::from(data), PathBuf::from(out_dir), smoke)
}

fn main() {
    let (data, out_dir, smoke) = parse_args();
    std::fs::create_dir_all(&out_dir).expect("create OUT_DIR");
    let (per_length, rounds) = if smoke { (60, 1) } else { (500, 5) };
    let rows = read_rows(&data);
    eprintln!("native: {} ({} rows)", data.display(), rows.len());

    let (plain, build_time) = build(&rows, false, false);
    let no_lists = TopListOptions {
        budget_percent: 0,
        category_percent: 0,
        ..TopListOptions::default()
    };
    let (plain_no_top, no_top_build) = build_with(&rows, false, false, no_lists);
    let segment_no_top = Segment::load(&plain_no_top[..]).expect("load");
    let (word_starts, _) = build(&rows, true, false);
    let (with_categories, _) = build(&rows, false, true);
    std::fs::write(out_dir.join("plain.seg"), &plain).expect("write segment");
    let segment = Segment::load(&plain[..]).expect("load");
    let count = segment.len();
    let mut searcher = Searcher::new();
    let keys = keys_in_rank_order(&rows, &mut searcher, &segment);
    write_keys(&out_dir, &keys);
    let mut queries = draw_queries(&keys, per_length);
    let [plain_options, fuzzy1, fuzzy_auto] =
        [Fuzziness::Off, Fuzziness::Edits(1), Fuzziness::Auto].map(|fuzzy| SuggestOptions {
            fuzzy,
            ..SuggestOptions::default()
        });
    for q in &mut queries {
        let options = if q.kind == "prefix" {
            &plain_options
        } else {
            &fuzzy1
        };
        q.expected = answer_keys(&mut searcher, &segment, &q.text, options);
    }
    write_queries(&out_dir, &queries);

    let mut searcher2 = Searcher::new();
    let t = Instant::now();
    let naive = Naive::new(&rows);
    let naive_build = t.elapsed();
    let mut medians = Vec::new();
    // The prefix queries' three timings are compared with each other: alternated rounds.
    let [(prefix, prefix_each), (no_top, _), (naive_prefix, _)]: [_; 3] = time_kind_alternated(
        &queries,
        "prefix",
        rounds,
        &mut [
            &mut |q: &str| {
                searcher
                    .search(&segment, q, &plain_options)
                    .map_or(0, |r| r.items.len())
            },
            &mut |q: &str| {
                searcher2
                    .search(&segment_no_top, q, &plain_options)
                    .map_or(0, |r| r.items.len())
            },
            &mut |q: &str| naive.top10(q).len(),
        ],
    )
    .try_into()
    .unwrap_or_else(|_| unreachable!("three engines timed"));
    medians.extend(
        prefix_each
            .into_iter()
            .map(|(len, us, text)| ("prefix", len, us, text)),
    );
    let mut time_ours = |run: &'static str, kind: &str, options: &SuggestOptions| {
        let (timing, each) = time_kind_each(&queries, kind, rounds, |q| {
            searcher
                .search(&segment, q, options)
                .map_or(0, |r| r.items.len())
        });
        medians.extend(each.into_iter().map(|(len, us, text)| (run, len, us, text)));
        timing
    };
    let report = Report {
        build_time,
        plain: plain.len(),
        keys_only: keys_only_size(&keys),
        word_starts: word_starts.len(),
        with_categories: with_categories.len(),
        count,
        load_ms: median_load_ms(&plain, if smoke { 3 } else { 50 }),
        load_ms_word_starts: median_load_ms(&word_starts, if smoke { 3 } else { 20 }),
        load_ms_categories: median_load_ms(&with_categories, if smoke { 3 } else { 20 }),
        verify_deep_ms: median_verify_deep_ms(&segment, if smoke { 1 } else { 5 }),
        ours: prefix,
        ours_fuzzy: time_ours("fuzzy", "fuzzy", &fuzzy1),
        ours_auto: time_ours("fuzzy_auto", "fuzzy", &fuzzy_auto),
        no_top: (no_top_build, plain_no_top.len(), no_top),
        naive_build,
        naive_bytes: naive.heap_bytes(),
        naive: naive_prefix,
        naive_overlap: naive_overlap(&naive, &queries),
        filtered: time_filtered(&with_categories, filters(&rows, per_length), rounds),
    };
    std::fs::write(out_dir.join("native.json"), report.json()).expect("write native.json");
    write_query_medians(&out_dir, &mut medians);
    eprintln!(
        "native: {} queries written to {}",
        queries.len(),
        out_dir.display()
    );
}

/// The keys of the exact answer: what every peer's answer is compared with.
fn answer_keys(
    searcher: &mut Searcher,
    segment: &Segment<&[u8]>,
    query: &str,
    options: &SuggestOptions,
) -> Vec<String> {
    let found = searcher.search(segment, query, options).expect("search");
    found.items.iter().map(|s| s.key.to_string()).collect()
}

/// Every key in rank order: the keys and order every peer indexes. Computed from the rows by
/// the documented merge rule (normalized keys, scores added, score descending then key
/// ascending; rows the builder refuses are those with an empty or over-long key), since a
/// query returns at most `MAX_K`; checked against the segment's own top `MAX_K`.
fn keys_in_rank_order(
    rows: &[(String, u64)],
    searcher: &mut Searcher,
    segment: &Segment<&[u8]>,
) -> Vec<String> {
    let mut merged: BTreeMap<String, u64> = BTreeMap::new();
    for (phrase, score) in rows {
        let key = edgesuggest::normalize_phrase(phrase);
        if !key.is_empty() && key.len() <= edgesuggest::DEFAULT_MAX_PHRASE_BYTES {
            let total = merged.entry(key).or_default();
            *total = total.saturating_add(*score);
        }
    }
    let mut ranked: Vec<(u64, String)> = merged.into_iter().map(|(k, s)| (s, k)).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let keys: Vec<String> = ranked.into_iter().map(|(_, k)| k).collect();
    assert_eq!(keys.len(), segment.len(), "keys computed from the rows");
    let top = searcher
        .search(
            segment,
            "",
            &SuggestOptions {
                k: edgesuggest::MAX_K,
                exact_first: false,
                ..SuggestOptions::default()
            },
        )
        .expect("the top keys");
    let top: Vec<&str> = top.items.iter().map(|s| s.key).collect();
    assert_eq!(top, keys[..top.len()], "rank order computed from the rows");
    keys
}

/// `keys.tsv`: keys with weights count - rank: distinct and order-preserving, so that peers
/// that rank by weight can return exactly the oracle's order.
fn write_keys(out_dir: &Path, keys: &[String]) {
    let count = keys.len();
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(out_dir.join("keys.tsv")).expect("keys.tsv"));
    for (rank, key) in keys.iter().enumerate() {
        writeln!(file, "{key}\t{}", count - rank).expect("write keys");
    }
    file.flush().expect("flush keys");
}

/// The size of a segment of the same keys and order as every peer indexes (no display
/// forms): the size to compare.
fn keys_only_size(keys: &[String]) -> usize {
    let count = keys.len();
    let mut b = SegmentBuilder::new();
    for (rank, key) in keys.iter().enumerate() {
        b.add(key, (count - rank) as u64).expect("key");
    }
    b.finish().expect("build").bytes.len()
}

/// `query-medians.tsv`: run, length, median µs and query, for each of edgesuggest's timed
/// queries, slowest first within each run and length.
fn write_query_medians(out_dir: &Path, medians: &mut [(&str, usize, f64, &str)]) {
    medians.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(b.2.total_cmp(&a.2)));
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(out_dir.join("query-medians.tsv")).expect("query-medians.tsv"),
    );
    for (run, len, us, text) in medians.iter() {
        writeln!(file, "{run}\t{len}\t{us:.2}\t{text}").expect("write query medians");
    }
    file.flush().expect("flush query medians");
}

/// `queries.tsv`: kind, length, text and the exact answer's keys, for every peer.
fn write_queries(out_dir: &Path, queries: &[Query]) {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(out_dir.join("queries.tsv")).expect("queries.tsv"),
    );
    for q in queries {
        writeln!(
            file,
            "{}\t{}\t{}\t{}",
            q.kind,
            q.len,
            q.text,
            q.expected.join("\u{1f}")
        )
        .expect("write queries");
    }
    file.flush().expect("flush queries");
}

/// Overlap of the naive baseline with the oracle (it ranks ties by key too, but puts the
/// exact phrase nowhere special).
fn naive_overlap(naive: &Naive, queries: &[Query]) -> f64 {
    let (mut hit, mut total) = (0usize, 0usize);
    for q in queries.iter().filter(|q| q.kind == "prefix") {
        let got = naive.top10(&q.text);
        total += q.expected.len();
        hit += q
            .expected
            .iter()
            .filter(|k| got.contains(&k.as_str()))
            .count();
    }
    if total == 0 {
        1.0
    } else {
        hit as f64 / total as f64
    }
}

/// Median milliseconds of `Segment::verify_deep` over `runs`.
fn median_verify_deep_ms(segment: &Segment<&[u8]>, runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(segment.verify_deep()).expect("verify_deep");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Median milliseconds of `Segment::load` (open + checksum) over `runs`.
fn median_load_ms(bytes: &[u8], runs: usize) -> f64 {
    let mut load = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        black_box(Segment::load(black_box(bytes)).expect("load"));
        load.push(t.elapsed().as_secs_f64() * 1e3);
    }
    load.sort_by(f64::total_cmp);
    load[load.len() / 2]
}

impl Report {
    /// The `native.json` the report reads: edgesuggest native, the same without top lists, and
    /// the naive baseline.
    fn json(&self) -> String {
        let per = |bytes: usize| bytes as f64 / self.count as f64;
        let (keys_only, count, naive_overlap) = (self.keys_only, self.count, self.naive_overlap);
        let filtered = self.filtered_json();
        format!(
            "[{{\"engine\":\"edgesuggest native\",\"build_s\":{:.3},\"index_bytes\":{},\
             \"index_bytes_keys_only\":{keys_only},\"index_bytes_word_starts\":{},\"index_bytes_categories\":{},\"suggestions\":{count},\
             \"load_ms\":{:.3},\"load_ms_word_starts\":{:.3},\"load_ms_categories\":{:.3},\
             \"verify_deep_ms\":{:.3},\"latency\":{},\"fuzzy\":{},\"fuzzy_auto\":{},\"overlap\":1.0,\
             \"fuzzy_overlap\":1.0,\"notes\":\"exact by construction (tests check it against a \
             brute-force oracle); bytes/suggestion plain {:.2}, --word-starts {:.2}, with 2 \
             categories per row {:.2}\"}},\
             {{\"engine\":\"edgesuggest native, no top lists\",\"build_s\":{:.3},\
             \"index_bytes\":{},\"latency\":{},\"overlap\":1.0,\"notes\":\"the same segment \
             built with --top-lists 0: every query walks\"}},\
             {{\"engine\":\"naive sorted array\",\"build_s\":{:.3},\"index_bytes\":{},\
             \"latency\":{},\"overlap\":{naive_overlap:.4},\"notes\":\"binary search + scan of \
             every match; index bytes = key bytes + 32 per entry (String + score)\"}}{filtered}]",
            self.build_time.as_secs_f64(),
            self.plain,
            self.word_starts,
            self.with_categories,
            self.load_ms,
            self.load_ms_word_starts,
            self.load_ms_categories,
            self.verify_deep_ms,
            json_latency(&self.ours),
            json_latency(&self.ours_fuzzy),
            json_latency(&self.ours_auto),
            per(self.plain),
            per(self.word_starts),
            per(self.with_categories),
            self.no_top.0.as_secs_f64(),
            self.no_top.1,
            json_latency(&self.no_top.2),
            self.naive_build.as_secs_f64(),
            self.naive_bytes,
            json_latency(&self.naive),
        )
    }

    /// One `native.json` entry per filtered run, after the others (leading commas).
    fn filtered_json(&self) -> String {
        let which = ["most rows have", "fewest have, of those with at least 1%"];
        self.filtered
            .iter()
            .zip(which)
            .map(|((filter, timing), which)| {
                format!(
                    ",{{\"engine\":\"edgesuggest native, filtered by category `{name}` \
                     ({share:.1}% of rows)\",\"index_bytes\":{},\"latency\":{},\
                     \"notes\":\"--cat {name}, the category {which}; prefixes of its own \
                     keys; the segment with 2 categories per row, its size here\"}}",
                    self.with_categories,
                    json_latency(timing),
                    name = filter.name,
                    share = 100.0 * filter.share,
                )
            })
            .collect()
    }
}
