//! How long `Segment::load` takes on untrusted bytes (header, checksum, then every node of
//! every FST validated, and every section's bounds): the best of N loads per segment file, in
//! ms and ms per MB. The best is the figure least disturbed by a shared machine; run two
//! builds alternately to compare them.
//!
//! `cargo bench --bench load -- [--runs N] SEGMENT...`

use std::hint::black_box;
use std::time::Instant;

use edgesuggest::Segment;

fn main() {
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut runs = 50usize;
    if let Some(at) = args.iter().position(|a| a == "--runs") {
        runs = args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(runs);
        args.drain(at..(at + 2).min(args.len()));
    }
    if args.is_empty() {
        eprintln!("usage: cargo bench --bench load -- [--runs N] SEGMENT...");
        std::process::exit(2);
    }
    println!("| segment | MB | best load ms | ms per MB |\n|---|---:|---:|---:|");
    for path in &args {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        };
        let best = best_load_ms(&bytes, runs, path);
        let mb = bytes.len() as f64 / 1e6;
        println!("| {path} | {mb:.2} | {best:.2} | {:.2} |", best / mb);
    }
}

/// The shortest of `runs` loads, in milliseconds; exits when the bytes are refused.
fn best_load_ms(bytes: &[u8], runs: usize, path: &str) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        if let Err(e) = black_box(Segment::load(black_box(bytes))) {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    best
}
