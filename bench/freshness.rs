//! Freshness benchmarks: building a delta from a change set, top-10 latency over a base with 0,
//! 1, 4 and 16 deltas (each measured against the base alone in the same run, query by query),
//! and compacting a base with 8 deltas.
//!
//! `cargo bench --bench freshness -- OUT_DIR [--smoke] DATA.tsv...`: the base is every data
//! set together. Writes `OUT_DIR/freshness.json` and `OUT_DIR/freshness.md`.
//!
//! For profiling: `FRESHNESS_SAVE=DIR` also writes the base, the deltas and the queries as
//! files (for the CLI under a profiler); `FRESHNESS_PROFILE=0,4` times only those stacks
//! (`FRESHNESS_ROUNDS` rounds), `FRESHNESS_PROFILE=compact` only compaction;
//! `FRESHNESS_TAIL=N` prints the N queries slowest over the last stack timed.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use edgesuggest::{
    compact, normalize_phrase, DeltaBuilder, Searcher, Segment, SegmentBuilder, Stack,
    SuggestOptions,
};

#[path = "common.rs"]
mod common;
use common::{read_rows, Rng};

/// One change of a synthetic micro-batch.
enum Change {
    Upsert(String, u64),
    Delete(String),
}

/// A change set like a minute of aggregated logs: 60% rescored existing phrases, 20% new
/// phrases, 20% deletes.
fn change_set(rows: &[(String, u64)], n: usize, rng: &mut Rng) -> Vec<Change> {
    (0..n)
        .map(|i| {
            let (phrase, score) = &rows[rng.below(rows.len())];
            match rng.below(5) {
                0..=2 => Change::Upsert(phrase.clone(), score / 2 + rng.below(1000) as u64),
                3 => Change::Upsert(format!("{phrase} {i}"), rng.below(100_000) as u64),
                _ => Change::Delete(phrase.clone()),
            }
        })
        .collect()
}

fn build_delta(changes: &[Change]) -> Vec<u8> {
    let mut delta = DeltaBuilder::new();
    for change in changes {
        let _ = match change {
            Change::Upsert(p, s) => delta.upsert(p, *s, None, &[] as &[&str]),
            Change::Delete(p) => delta.delete(p),
        };
    }
    delta.finish().expect("delta").bytes
}

/// By number of deltas: median and p99 µs of every timing, the p99 of the queries' own
/// medians over the rounds, and median and p99 per prefix length.
type Latency = BTreeMap<usize, (f64, f64, f64, BTreeMap<usize, (f64, f64)>)>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

/// Prefix queries of 1 to 6 characters drawn from the base's keys.
fn draw_queries(keys: &[String], per_length: usize) -> Vec<(usize, String)> {
    let mut rng = Rng(0x5EED_2026);
    let mut out = Vec::new();
    for len in 1..=6 {
        let long: Vec<&String> = keys.iter().filter(|k| k.chars().count() >= len).collect();
        for _ in 0..per_length {
            out.push((len, long[rng.below(long.len())].chars().take(len).collect()));
        }
    }
    out
}

/// Median and p99 in µs, per stack (by its number of deltas), over all query lengths and per
/// length. Each round runs every query on one stack, then the next, in an order rotated each
/// round: every stack is timed warm, and drift on a shared machine hits all alike. The p99 of
/// every timing counts the machine's interruptions too; the p99 of each query's median over
/// the rounds is that of the queries alone.
/// For profilers: the `n` queries slowest at the median over the last stack, with each
/// stack's median for them (µs), to name the queries behind a p99.
fn print_tail(
    stacks: &[(usize, Stack<&[u8]>)],
    queries: &[(usize, String)],
    per_query: &[Vec<Vec<f64>>],
    n: usize,
) {
    let medians: Vec<Vec<f64>> = per_query
        .iter()
        .map(|stack| stack.iter().cloned().map(median).collect())
        .collect();
    let Some(last) = medians.last() else {
        return;
    };
    let mut order: Vec<usize> = (0..queries.len()).collect();
    order.sort_by(|&a, &b| last[b].total_cmp(&last[a]));
    let names: Vec<String> = stacks.iter().map(|(d, _)| d.to_string()).collect();
    eprintln!(
        "slowest queries, median µs with {} deltas:",
        names.join(", ")
    );
    for &q in order.iter().take(n) {
        let row: Vec<String> = medians.iter().map(|m| format!("{:.1}", m[q])).collect();
        eprintln!("  {:?} {}", queries[q].1, row.join(" "));
    }
}

fn time_stacks(
    stacks: &[(usize, Stack<&[u8]>)],
    queries: &[(usize, String)],
    rounds: usize,
) -> Latency {
    let options = SuggestOptions::default();
    let mut searcher = Searcher::new();
    let mut times: Vec<BTreeMap<usize, Vec<f64>>> = vec![BTreeMap::new(); stacks.len()];
    let mut per_query: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); queries.len()]; stacks.len()];
    let mut worst: Vec<(f64, &str)> = vec![(0.0, ""); stacks.len()];
    for round in 0..=rounds {
        for turn in 0..stacks.len() {
            let i = (turn + round) % stacks.len();
            let stack = &stacks[i].1;
            for (qi, (len, q)) in queries.iter().enumerate() {
                let t = Instant::now();
                black_box(
                    searcher
                        .search(stack, black_box(q), &options)
                        .map(|f| f.items.len()),
                )
                .expect("search");
                let us = t.elapsed().as_secs_f64() * 1e6;
                if round > 0 {
                    times[i].entry(*len).or_default().push(us);
                    per_query[i][qi].push(us);
                    if us > worst[i].0 {
                        worst[i] = (us, q);
                    }
                }
            }
        }
    }
    for ((n, stack), (us, q)) in stacks.iter().zip(&worst) {
        let found = searcher.search(stack, q, &options).expect("search");
        eprintln!(
            "slowest query with {n} deltas: {q:?} {us:.0} µs ({} results, truncated: {})",
            found.items.len(),
            found.truncated
        );
    }
    if let Ok(n) = std::env::var("FRESHNESS_TAIL") {
        print_tail(
            stacks,
            queries,
            &per_query,
            n.parse().expect("FRESHNESS_TAIL=queries"),
        );
    }
    stacks
        .iter()
        .zip(times)
        .zip(per_query)
        .map(|(((n, _), by_len), per_query)| {
            let mut medians: Vec<f64> = per_query.into_iter().map(median).collect();
            medians.sort_by(f64::total_cmp);
            let mut all: Vec<f64> = by_len.values().flatten().copied().collect();
            all.sort_by(f64::total_cmp);
            let per_len = by_len
                .into_iter()
                .map(|(len, mut v)| {
                    v.sort_by(f64::total_cmp);
                    (len, (percentile(&v, 0.5), percentile(&v, 0.99)))
                })
                .collect();
            let p99_queries = percentile(&medians, 0.99);
            (
                *n,
                (
                    percentile(&all, 0.5),
                    percentile(&all, 0.99),
                    p99_queries,
                    per_len,
                ),
            )
        })
        .collect()
}

/// Writes `base.seg`, `delta-01.seg`… and `queries.txt` (one per line) into `dir`.
fn save_inputs(
    dir: &std::path::Path,
    base: &[u8],
    deltas: &[Vec<u8>],
    queries: &[(usize, String)],
) {
    std::fs::create_dir_all(dir).expect("create save dir");
    std::fs::write(dir.join("base.seg"), base).expect("write base");
    for (i, delta) in deltas.iter().enumerate() {
        std::fs::write(dir.join(format!("delta-{:02}.seg", i + 1)), delta).expect("write delta");
    }
    let lines: Vec<&str> = queries.iter().map(|(_, q)| q.as_str()).collect();
    std::fs::write(dir.join("queries.txt"), lines.join("\n") + "\n").expect("write queries");
}

fn parse_args() -> (PathBuf, bool, Vec<PathBuf>) {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let mut paths = args.iter().filter(|a| *a != "--smoke").map(PathBuf::from);
    let out = paths
        .next()
        .expect("usage: freshness OUT_DIR [--smoke] DATA.tsv...");
    (out, smoke, paths.collect())
}

fn main() {
    let (out_dir, smoke, data) = parse_args();
    std::fs::create_dir_all(&out_dir).expect("create out dir");
    let rows: Vec<(String, u64)> = data.iter().flat_map(|p| read_rows(p)).collect();
    let mut builder = SegmentBuilder::new();
    for (p, s) in &rows {
        let _ = builder.add(p, *s);
    }
    let base_bytes = builder.finish().expect("base").bytes;
    let base = Segment::load(&base_bytes[..]).expect("load base");
    let changes_per_delta = if smoke { 1_000 } else { 10_000 };
    let mut rng = Rng(0xDE17A);
    let sets: Vec<Vec<Change>> = (0..16)
        .map(|_| change_set(&rows, changes_per_delta, &mut rng))
        .collect();

    let runs = if smoke { 3 } else { 7 };
    let build_ms = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                black_box(build_delta(&sets[0]));
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    );
    let deltas: Vec<Vec<u8>> = sets.iter().map(|s| build_delta(s)).collect();
    let delta_segments: Vec<Segment<&[u8]>> = deltas
        .iter()
        .map(|d| Segment::load(&d[..]).expect("load delta"))
        .collect();
    let mut stack_ms = BTreeMap::new();
    let stacks: Vec<(usize, Stack<&[u8]>)> = [0usize, 1, 4, 16]
        .iter()
        .map(|&n| {
            let t = Instant::now();
            let stack = Stack::new(base.clone(), delta_segments[..n].to_vec(), None);
            stack_ms.insert(n, t.elapsed().as_secs_f64() * 1e3);
            (n, stack.expect("stack"))
        })
        .collect();
    let keys: Vec<String> = rows.iter().map(|(p, _)| normalize_phrase(p)).collect();
    let queries = draw_queries(&keys, if smoke { 100 } else { 1000 });
    // For instruction counts: the base, the deltas and the queries as files.
    if let Ok(dir) = std::env::var("FRESHNESS_SAVE") {
        save_inputs(std::path::Path::new(&dir), &base_bytes, &deltas, &queries);
    }
    // For profilers: only compaction, or only the stacks with these numbers of deltas (`0,4`).
    if std::env::var("FRESHNESS_PROFILE").as_deref() == Ok("compact") {
        let eight = Stack::new(base.clone(), delta_segments[..8].to_vec(), None).expect("stack");
        for _ in 0..10 {
            let t = Instant::now();
            black_box(compact(&eight).expect("compact"));
            eprintln!("compact: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
        }
        return;
    }
    if let Ok(n) = std::env::var("FRESHNESS_PROFILE") {
        let wanted: Vec<usize> = n
            .split(',')
            .map(|d| d.parse().expect("FRESHNESS_PROFILE=deltas[,deltas...]"))
            .collect();
        let only: Vec<_> = stacks
            .into_iter()
            .filter(|(d, _)| wanted.contains(d))
            .collect();
        let rounds = std::env::var("FRESHNESS_ROUNDS").map_or(30, |r| r.parse().expect("rounds"));
        for (n, (med, p99, p99q, by_len)) in time_stacks(&only, &queries, rounds) {
            let lens: Vec<String> = by_len
                .values()
                .map(|(m, p)| format!("{m:.1}/{p:.1}"))
                .collect();
            eprintln!(
                "{n} deltas: median {med:.2} µs, p99 {p99:.2} µs (of query medians \
                 {p99q:.2}); by length {}",
                lens.join(" ")
            );
        }
        return;
    }
    let latency = time_stacks(&stacks, &queries, if smoke { 1 } else { 5 });

    let eight = Stack::new(base.clone(), delta_segments[..8].to_vec(), None).expect("stack");
    let mut compacted = 0u64;
    let compact_ms = median(
        (0..runs.min(5))
            .map(|_| {
                let t = Instant::now();
                compacted = compact(&eight).expect("compact").suggestions;
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    );
    let input_entries: usize = eight.segments().iter().map(|s| s.len()).sum();
    let report = Report {
        base_suggestions: base.len(),
        base_bytes: base_bytes.len(),
        changes_per_delta,
        delta_bytes: deltas[0].len(),
        build_ms,
        stack_ms,
        latency,
        compact_ms,
        compacted,
        input_entries,
        smoke,
    };
    std::fs::write(out_dir.join("freshness.json"), report.json()).expect("write json");
    std::fs::write(out_dir.join("freshness.md"), report.markdown()).expect("write md");
    print!("{}", report.markdown());
}

struct Report {
    base_suggestions: usize,
    base_bytes: usize,
    changes_per_delta: usize,
    delta_bytes: usize,
    build_ms: f64,
    /// Milliseconds to make each stack (by its number of deltas): indexing the keys its deltas
    /// decide.
    stack_ms: BTreeMap<usize, f64>,
    latency: Latency,
    compact_ms: f64,
    compacted: u64,
    input_entries: usize,
    smoke: bool,
}

impl Report {
    fn json(&self) -> String {
        let latency: Vec<String> = self
            .latency
            .iter()
            .map(|(n, (med, p99, p99q, per_len))| {
                let lens: Vec<String> = per_len
                    .iter()
                    .map(|(l, (m, p))| {
                        format!("\"{l}\":{{\"median_us\":{m:.3},\"p99_us\":{p:.3}}}")
                    })
                    .collect();
                format!(
                    "\"{n}\":{{\"median_us\":{med:.3},\"p99_us\":{p99:.3},\
                     \"p99_of_query_medians_us\":{p99q:.3},\"by_length\":{{{}}}}}",
                    lens.join(",")
                )
            })
            .collect();
        format!(
            "{{\"base_suggestions\":{},\"base_bytes\":{},\"changes_per_delta\":{},\
             \"delta_bytes\":{},\"delta_build_ms\":{:.3},\"latency_by_deltas\":{{{}}},\
             \"compact_ms\":{:.3},\"compacted_suggestions\":{},\"compact_input_entries\":{},\
             \"smoke\":{}}}\n",
            self.base_suggestions,
            self.base_bytes,
            self.changes_per_delta,
            self.delta_bytes,
            self.build_ms,
            latency.join(","),
            self.compact_ms,
            self.compacted,
            self.input_entries,
            self.smoke
        )
    }

    /// Each target met or missed, and by how much, above the latency table.
    fn verdicts(&self, base: f64, base_p99: f64, base_p99q: f64) -> String {
        let verdict = |got: f64, target: f64, higher_is_better: bool| {
            let met = if higher_is_better {
                got >= target
            } else {
                got <= target
            };
            if met {
                "met".to_string()
            } else {
                format!("**missed** by {:.0}%", (got / target - 1.0).abs() * 100.0)
            }
        };
        let rate = self.compacted as f64 / (self.compact_ms / 1e3) / 1e6;
        let mut out = format!(
            "Targets: delta build {}; compaction {}",
            verdict(self.build_ms, 500.0, false),
            verdict(rate, 1.0, true)
        );
        if let Some((med, p99, p99q, _)) = self.latency.get(&4) {
            out.push_str(&format!(
                "; 4 deltas median {}, p99 {} (p99 of query medians {})",
                verdict(med / base, 1.3, false),
                verdict(p99 / base_p99, 1.3, false),
                verdict(p99q / base_p99q, 1.3, false)
            ));
        }
        out.push_str(".\n\n");
        out
    }

    fn markdown(&self) -> String {
        let base = self.latency.get(&0).map_or(1.0, |l| l.0);
        let base_p99 = self.latency.get(&0).map_or(1.0, |l| l.1);
        let base_p99q = self.latency.get(&0).map_or(1.0, |l| l.2);
        let mut md = format!(
            "Base: {} suggestions ({:.1} MB); each delta {} changes (60% rescored, 20% new, 20% \
             deleted), {:.0} KB.\n\n\
             | measure | value | target |\n|---|---|---|\n\
             | delta build, {} changes (median) | {:.0} ms | ≤ 500 ms |\n\
             | compaction, base + 8 deltas → {} suggestions | {:.0} ms, {:.2} M suggestions/s | ≥ 1 M/s |\n\n",
            self.base_suggestions,
            self.base_bytes as f64 / 1e6,
            self.changes_per_delta,
            self.delta_bytes as f64 / 1e3,
            self.changes_per_delta,
            self.build_ms,
            self.compacted,
            self.compact_ms,
            self.compacted as f64 / (self.compact_ms / 1e3) / 1e6,
        );
        md.push_str(&self.verdicts(base, base_p99, base_p99q));
        md.push_str(
            "| deltas | stack made in ms | top-10 median µs | ×base | p99 µs | ×base | p99 of \
             query medians µs | ×base | by prefix length 1–6 (median µs) |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        );
        for (n, (med, p99, p99q, per_len)) in &self.latency {
            let lens: Vec<String> = per_len.values().map(|(m, _)| format!("{m:.1}")).collect();
            md.push_str(&format!(
                "| {n} | {:.1} | {med:.2} | {:.2} | {p99:.2} | {:.2} | {p99q:.2} | {:.2} | {} |\n",
                self.stack_ms.get(n).copied().unwrap_or(f64::NAN),
                med / base,
                p99 / base_p99,
                p99q / base_p99q,
                lens.join(" / ")
            ));
        }
        md
    }
}
