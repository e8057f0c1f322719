//! Top-k benchmark on real data: per-query latency by prefix length, open time, build time,
//! bytes per suggestion, with a naive baseline (sorted array + binary search + scan of every
//! match) measured in the same run.
//!
//! `cargo bench --bench topk` uses `../shared/data/npm.tsv` (override with
//! `EDGESUGGEST_BENCH_DATA=path`); without it, and with `EDGESUGGEST_BENCH_SMOKE=1`, it runs a
//! short pass on the bundled `data/cities-10k.tsv` so the harness cannot rot.
//!
//! A custom harness (not divan/criterion): the targets are percentiles of *individual* query
//! latencies (median and p99 per prefix length), which needs every query timed on its own.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use edgesuggest::{normalize_phrase, normalize_query, Searcher, Segment, SegmentBuilder};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

fn read_rows(path: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(path).expect("read data");
    text.lines()
        .filter_map(|l| {
            let (p, s) = l.rsplit_once('\t')?;
            Some((p.to_string(), s.trim().parse().ok()?))
        })
        .collect()
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

    fn top10(&self, query: &str) -> usize {
        let q = normalize_query(query);
        let start = self.keys.partition_point(|(k, _)| k.as_str() < q.as_str());
        let mut best: Vec<(u64, usize)> = Vec::with_capacity(11);
        for (i, (k, s)) in self.keys[start..].iter().enumerate() {
            if !k.starts_with(&q) {
                break;
            }
            if best.len() < 10 || *s > best[best.len() - 1].0 {
                let at = best.partition_point(|&(bs, _)| bs >= *s);
                best.insert(at, (*s, i));
                best.truncate(10);
            }
        }
        best.len()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn time_queries(
    queries: &[String],
    rounds: usize,
    mut f: impl FnMut(&str) -> usize,
) -> Vec<Duration> {
    // Warm up.
    for q in queries {
        black_box(f(q));
    }
    let mut times = Vec::with_capacity(queries.len() * rounds);
    for _ in 0..rounds {
        for q in queries {
            let t = Instant::now();
            black_box(f(black_box(q)));
            times.push(t.elapsed());
        }
    }
    times.sort();
    times
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let smoke = std::env::var_os("EDGESUGGEST_BENCH_SMOKE").is_some();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/data/npm.tsv");
    let data = match std::env::var_os("EDGESUGGEST_BENCH_DATA") {
        Some(p) => PathBuf::from(p),
        None if !smoke && shared.exists() => shared,
        None => {
            if !smoke {
                eprintln!("../shared/data/npm.tsv is absent: running on the bundled data");
            }
            root.join("data/cities-10k.tsv")
        }
    };
    let (per_length, rounds) = if smoke { (200, 1) } else { (2_000, 5) };
    let rows = read_rows(&data);
    let input_bytes = std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0);

    // Build (in process, rows already parsed; the CLI's end-to-end figure is in build.sh bench).
    let mut build_times = Vec::new();
    let mut bytes = Vec::new();
    for _ in 0..if smoke { 1 } else { 3 } {
        let t = Instant::now();
        let mut b = SegmentBuilder::new();
        for (p, s) in &rows {
            let _ = b.add(p, *s);
        }
        bytes = b.finish().expect("build").bytes;
        build_times.push(t.elapsed());
    }
    build_times.sort();
    let build = build_times[build_times.len() / 2];

    let mut open_times = Vec::new();
    let mut load_times = Vec::new();
    for _ in 0..if smoke { 5 } else { 200 } {
        let t = Instant::now();
        black_box(Segment::open(black_box(&bytes[..])).expect("open"));
        open_times.push(t.elapsed());
        let t = Instant::now();
        black_box(Segment::load(black_box(&bytes[..])).expect("load"));
        load_times.push(t.elapsed());
    }
    open_times.sort();
    load_times.sort();
    let segment = Segment::load(&bytes[..]).expect("load");
    let naive = Naive::new(&rows);

    println!("# edgesuggest top-k benchmark");
    println!();
    println!(
        "data: {} ({} rows, {} bytes)",
        data.display(),
        rows.len(),
        input_bytes
    );
    println!(
        "segment: {} suggestions, {} bytes, {:.2} bytes/suggestion",
        segment.len(),
        bytes.len(),
        bytes.len() as f64 / segment.len() as f64
    );
    println!(
        "build (in process, parsed rows): {:.3} s, {:.0} rows/s",
        build.as_secs_f64(),
        rows.len() as f64 / build.as_secs_f64()
    );
    println!(
        "open (O(1)): median {:.2} µs; load (open + checksum): median {:.1} µs",
        us(open_times[open_times.len() / 2]),
        us(load_times[load_times.len() / 2])
    );
    println!();
    println!("top-10 latency per query ({per_length} queries × {rounds} rounds per length; prefixes of random phrases)");
    println!();
    println!("| prefix chars | edgesuggest median µs | p99 µs | naive scan median µs | p99 µs | naive / edgesuggest (median) |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut rng = Rng(42);
    let mut searcher = Searcher::new();
    for len in 1..=6 {
        let queries: Vec<String> = (0..per_length)
            .map(|_| {
                let (p, _) = &rows[rng.below(rows.len())];
                p.chars().take(len).collect()
            })
            .collect();
        let ours = time_queries(&queries, rounds, |q| {
            searcher
                .suggest(&segment, q, 10)
                .map(|h| h.len())
                .unwrap_or(0)
        });
        let base = time_queries(&queries, rounds, |q| naive.top10(q));
        let (m, p) = (percentile(&ours, 0.5), percentile(&ours, 0.99));
        let (bm, bp) = (percentile(&base, 0.5), percentile(&base, 0.99));
        println!(
            "| {len} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1}× |",
            us(m),
            us(p),
            us(bm),
            us(bp),
            bm.as_secs_f64() / m.as_secs_f64()
        );
    }
}
