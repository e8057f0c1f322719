//! FST bytes that pass the checksum but are malformed (a crafted segment, or corruption that
//! happened before the checksum was computed): open must refuse them or accept only FSTs that
//! `fst`'s decoder reads without panicking, whatever query follows.

mod common;

use edgesuggest::format::SectionKind;
use edgesuggest::{
    BuildOptions, Error, Fuzziness, Searcher, Segment, SegmentBuilder, SuggestOptions,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A segment with every section kind, word starts, and a root with more transitions than
/// `fst`'s transition-index threshold (32), so indexed nodes are mutated too.
fn built_segment() -> Vec<u8> {
    let mut b = SegmentBuilder::with_options(BuildOptions {
        word_starts: true,
        ..BuildOptions::default()
    });
    let cities = [
        ("New York", &["city", "capital"][..]),
        ("Newark", &["city"][..]),
        ("São Paulo", &["city", "port"][..]),
        ("Sapporo", &[][..]),
        ("東京", &["capital"][..]),
        ("Zürich", &["city"][..]),
        ("New Delhi", &["capital"][..]),
    ];
    for (i, (city, cats)) in cities.iter().enumerate() {
        b.add_row(city, 1000 - i as u64 * 7, Some(r#"{"id":1}"#), cats)
            .unwrap();
    }
    for (i, c) in ('a'..='z').chain('0'..='9').enumerate() {
        b.add_row(
            &format!("{c}{c} york {i}"),
            50 + i as u64,
            None,
            &["capital"],
        )
        .unwrap();
    }
    b.finish().unwrap().bytes
}

/// `[start, end)` of every FST in the segment: the main one and each category's.
fn fst_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let segment = Segment::load(bytes).unwrap();
    let header = segment.header();
    let fst = header.section(SectionKind::Fst).unwrap();
    let mut ranges = vec![(fst.offset, fst.offset + fst.len)];
    if let Some(cats) = header.section(SectionKind::Categories) {
        let at = cats.offset;
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap()) as usize;
        let count = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        for i in 0..count {
            let entry = at + 8 + i * 24;
            let start = at + u64_at(entry + 8);
            ranges.push((start, start + u64_at(entry + 16)));
        }
    }
    ranges
}

/// Rewrites the trailer checksum (XXH64, seed 0, over everything before the 12-byte trailer).
fn reseal(bytes: &mut [u8]) {
    let body = bytes.len() - 12;
    let sum = xxhash_rust::xxh64::xxh64(&bytes[..body], 0);
    bytes[body..body + 8].copy_from_slice(&sum.to_le_bytes());
}

fn option_sets() -> Vec<SuggestOptions> {
    vec![
        SuggestOptions::default(),
        SuggestOptions {
            fuzzy: Fuzziness::Auto,
            ..SuggestOptions::default()
        },
        SuggestOptions {
            categories: vec!["capital".to_owned()],
            ..SuggestOptions::default()
        },
        SuggestOptions {
            exact_first: false,
            ..SuggestOptions::default()
        },
        SuggestOptions::with_k(50),
    ]
}

/// Loads the bytes and, if accepted, runs every query and a deep verification. Errors are
/// fine; only a panic is a failure (the caller catches it).
fn exercise(bytes: &[u8], options: &[SuggestOptions]) -> bool {
    let Ok(segment) = Segment::load(bytes) else {
        return false;
    };
    let mut searcher = Searcher::new();
    for query in ["", "a", "n", "new", "sao", "york"] {
        for o in options {
            let _ = searcher.search(&segment, query, o);
        }
    }
    let _ = segment.verify_deep();
    true
}

/// Mutates 1–3 bytes inside the FSTs of the golden segments and a built one, reseals the
/// checksum, and requires that nothing panics: neither load nor any search on what it accepts.
#[test]
fn mutated_fst_bytes_never_panic() {
    const PER_SEGMENT: usize = 20_000;
    let segments = [
        ("v1.seg", include_bytes!("golden/v1.seg").to_vec()),
        ("v2.seg", include_bytes!("golden/v2.seg").to_vec()),
        ("built", built_segment()),
    ];
    let options = option_sets();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = common::Rng(0x5eed);
    let (mut panicked, mut accepted, mut total) = (Vec::new(), 0usize, 0usize);
    for (name, original) in &segments {
        let ranges = fst_ranges(original);
        let span: usize = ranges.iter().map(|(s, e)| e - s).sum();
        for trial in 0..PER_SEGMENT {
            let mut bytes = original.clone();
            let mut changes = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let mut pick = rng.below(span);
                let &(start, end) = ranges
                    .iter()
                    .find(|(s, e)| {
                        let fits = pick < e - s;
                        if !fits {
                            pick -= e - s;
                        }
                        fits
                    })
                    .unwrap();
                let at = start + pick;
                debug_assert!(at < end);
                let old = bytes[at];
                bytes[at] = match rng.below(4) {
                    0 => old ^ (1 << rng.below(8)),
                    1 => old.wrapping_add(1),
                    2 => old.wrapping_sub(1),
                    _ => rng.below(256) as u8,
                };
                changes.push((at, old, bytes[at]));
            }
            reseal(&mut bytes);
            total += 1;
            match catch_unwind(AssertUnwindSafe(|| exercise(&bytes, &options))) {
                Ok(true) => accepted += 1,
                Ok(false) => {}
                Err(_) => panicked.push(format!("{name} trial {trial}: {changes:?}")),
            }
        }
    }
    std::panic::set_hook(quiet);
    println!(
        "{total} mutations: {accepted} accepted, {} panicked",
        panicked.len()
    );
    assert!(
        panicked.is_empty(),
        "{} of {total} mutations panicked (offset, old, new), first: {:#?}",
        panicked.len(),
        &panicked[..panicked.len().min(5)]
    );
}

/// Open cost on a real segment (open validates every FST node): run in release with
/// `SEGMENT=path/to.seg cargo test --release --test crafted -- --ignored --nocapture load_cost`.
/// Prints timings only; no assertion on them.
#[test]
#[ignore]
fn load_cost() {
    let Some(path) = std::env::var_os("SEGMENT") else {
        eprintln!("set SEGMENT to a segment file");
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let fst_len = Segment::open(&bytes[..])
        .unwrap()
        .header()
        .section(SectionKind::Fst)
        .unwrap()
        .len;
    // The best of 20 runs, in wall-clock ms and, where Linux reports it, on-CPU ms of this
    // thread (the two differ when other work shares the machine).
    let cpu_ns = || -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        stat.split_whitespace().next()?.parse().ok()
    };
    let best = |f: &dyn Fn()| {
        (0..20)
            .map(|_| {
                let (t, c) = (std::time::Instant::now(), cpu_ns());
                f();
                let wall = t.elapsed().as_secs_f64() * 1e3;
                let cpu = cpu_ns().zip(c).map_or(f64::NAN, |(b, a)| (b - a) / 1e6);
                (wall, cpu)
            })
            .fold((f64::MAX, f64::MAX), |(w, c), (w2, c2)| {
                (w.min(w2), c.min(c2))
            })
    };
    let (open, open_cpu) = best(&|| {
        Segment::open(&bytes[..]).unwrap();
    });
    let (load, load_cpu) = best(&|| {
        Segment::load(&bytes[..]).unwrap();
    });
    let mb = bytes.len() as f64 / 1e6;
    let fst_mb = fst_len as f64 / 1e6;
    println!(
        "{mb:.2} MB segment, {fst_mb:.2} MB FST: open {open:.2} ms wall / {open_cpu:.2} ms CPU \
         ({:.2} ms/MB of FST, CPU), load {load:.2} ms wall / {load_cpu:.2} ms CPU ({:.2} ms/MB \
         of segment, CPU)",
        open_cpu / fst_mb,
        load_cpu / mb
    );
}
