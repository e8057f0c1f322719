//! Two segments answering the same queries, timed in one process: for each query, the best
//! of N rounds on each, the rounds alternating which segment goes first. On a shared machine
//! whose speed drifts by 2× from one minute to the next, the ratio of two segments measured
//! side by side is steadier than two runs of the native bench. Meant for two builds of the
//! same rows (a format change): both answer with this engine, so the answers are compared
//! too, and any difference stops the run.
//!
//! `cargo bench --bench paired -- A.seg B.seg QUERIES.tsv [ROUNDS] [--cat NAME,...]`,
//! QUERIES.tsv as the native bench writes it (`prefix<TAB>length<TAB>query…`): medians and
//! p99s in µs by prefix length; `--cat` filters every query by those categories.

use std::hint::black_box;
use std::time::Instant;

use edgesuggest::{Searcher, Segment, SuggestOptions};

fn main() {
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut options = SuggestOptions::with_k(10);
    if let Some(at) = args.iter().position(|a| a == "--cat") {
        let names = args.get(at + 1).cloned().unwrap_or_default();
        options.categories = names.split(',').map(str::to_string).collect();
        args.drain(at..(at + 2).min(args.len()));
    }
    if args.len() < 3 {
        eprintln!("usage: cargo bench --bench paired -- A.seg B.seg QUERIES.tsv [ROUNDS]");
        std::process::exit(2);
    }
    let segments = [load(&args[0]), load(&args[1])];
    let queries = prefix_queries(&args[2]);
    let rounds = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(10usize);
    check_answers(&segments, &queries, &options);
    let best = best_times(&segments, &queries, rounds, &options);
    println!("| length | A median / p99 | B median / p99 | B / A (median) |\n|---|---|---|---:|");
    for length in 1..=queries.iter().map(|q| q.0).max().unwrap_or(0) {
        let of = |side: usize| {
            let times = queries
                .iter()
                .zip(&best)
                .filter(|(q, _)| q.0 == length)
                .map(|(_, t)| t[side]);
            median_and_p99(times.collect())
        };
        let ((a, a99), (b, b99)) = (of(0), of(1));
        println!(
            "| {length} | {a:.2} / {a99:.2} | {b:.2} / {b99:.2} | {:.2} |",
            b / a
        );
    }
}

fn load(path: &str) -> Segment<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    Segment::load(bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `prefix` lines of a native-bench query file: (length, query).
fn prefix_queries(path: &str) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            (fields.next() == Some("prefix")).then_some(())?;
            let length = fields.next()?.parse().ok()?;
            Some((length, fields.next()?.to_string()))
        })
        .collect()
}

/// Both segments must give the same top-10 (every field), or the timing compares unlike work.
fn check_answers(
    segments: &[Segment<Vec<u8>>; 2],
    queries: &[(usize, String)],
    options: &SuggestOptions,
) {
    for (_, query) in queries {
        let [a, b] = segments
            .each_ref()
            .map(|s| s.search(query, options).unwrap());
        assert_eq!(a, b, "the segments answer {query:?} differently");
    }
}

/// Each query's best time on each segment (µs), over `rounds` rounds of all the queries on
/// one segment, then all on the other, the order swapped every round.
fn best_times(
    segments: &[Segment<Vec<u8>>; 2],
    queries: &[(usize, String)],
    rounds: usize,
    options: &SuggestOptions,
) -> Vec<[f64; 2]> {
    let mut searcher = Searcher::new();
    let mut best = vec![[f64::MAX; 2]; queries.len()];
    for round in 0..rounds {
        for side in [round % 2, 1 - round % 2] {
            for (i, (_, query)) in queries.iter().enumerate() {
                let start = Instant::now();
                let found = searcher.search(&segments[side], query, options).unwrap();
                black_box(&found.items);
                let micros = start.elapsed().as_secs_f64() * 1e6;
                best[i][side] = best[i][side].min(micros);
            }
        }
    }
    best
}

fn median_and_p99(mut times: Vec<f64>) -> (f64, f64) {
    if times.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}
