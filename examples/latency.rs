//! Native per-query latency for a list of queries, so other runtimes (wasm in node, the worker)
//! can be compared on exactly the same queries:
//!
//! `cargo run --release --example latency -- SEGMENT QUERIES_FILE [ROUNDS]`
//!
//! Prints one JSON object: median and p99 in microseconds per query length (in characters),
//! and over all queries.

use std::time::Instant;

use edgesuggest::{Searcher, Segment};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: latency SEGMENT QUERIES_FILE [ROUNDS]";
    let segment_path = args.next().ok_or(usage)?;
    let queries_path = args.next().ok_or(usage)?;
    let rounds: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);
    let bytes = std::fs::read(&segment_path)?;
    let segment = Segment::load(&bytes[..])?;
    let text = std::fs::read_to_string(&queries_path)?;
    let queries: Vec<&str> = text.lines().collect();
    let mut searcher = Searcher::new();
    let mut by_len: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    let mut all = Vec::new();
    for round in 0..=rounds {
        for q in &queries {
            let t = Instant::now();
            let n = searcher.suggest(&segment, q, 10)?.len();
            let us = t.elapsed().as_secs_f64() * 1e6;
            std::hint::black_box(n);
            if round > 0 {
                by_len.entry(q.chars().count()).or_default().push(us);
                all.push(us);
            }
        }
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        format!(
            "{{\"median_us\":{:.3},\"p99_us\":{:.3},\"n\":{}}}",
            at(0.5),
            at(0.99),
            v.len()
        )
    };
    let lengths: Vec<String> = by_len
        .iter_mut()
        .map(|(len, v)| format!("\"{len}\":{}", stats(v)))
        .collect();
    println!(
        "{{\"all\":{},\"by_length\":{{{}}}}}",
        stats(&mut all),
        lengths.join(",")
    );
    Ok(())
}
