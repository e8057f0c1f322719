//! FST bytes that pass the checksum but are malformed (a crafted segment, or corruption that
//! happened before the checksum was computed): open must refuse them or accept only FSTs that
//! `fst`'s decoder reads without panicking, whatever query follows.

mod common;
#[path = "fuzz/harness.rs"]
#[allow(dead_code)]
mod harness;

use edgesuggest::format::SectionKind;
use edgesuggest::{
    BuildOptions, Error, Fuzziness, Searcher, Segment, SegmentBuilder, SuggestOptions,
};
use harness::reseal;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A segment with every section kind, word starts, and a root with more transitions than
/// `fst`'s transition-index threshold (32), so indexed nodes are mutated too: the one the
/// structure-aware fuzz target mutates.
fn built_segment() -> Vec<u8> {
    harness::base_segment()
}

/// `[start, end)` of every FST in the segment: the main one and each category's.
fn fst_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let segment = Segment::load(bytes).unwrap();
    let header = segment.header();
    let fst = header.section(SectionKind::Fst).unwrap();
    let mut ranges = vec![(fst.offset, fst.offset + fst.len)];
    let cats = header.section(SectionKind::Categories);
    if let Some(cats) = cats.or_else(|| header.section(SectionKind::CategoryCuts)) {
        let at = cats.offset;
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap()) as usize;
        let count = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        for i in 0..count {
            let entry = at + 8 + i * 24;
            let start = at + u64_at(entry + 8);
            ranges.push((start, start + u64_at(entry + 16)));
        }
    }
    // The lists, whose node addresses and entries point into those FSTs.
    for kind in [SectionKind::Top, SectionKind::CategoryTop] {
        if let Some(lists) = header.section(kind) {
            ranges.push((lists.offset, lists.offset + lists.len));
        }
    }
    ranges
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
        // The v7 golden segment's categories, which have lists of their own.
        SuggestOptions {
            categories: vec!["a-m".to_owned(), "odd".to_owned()],
            ..SuggestOptions::default()
        },
        SuggestOptions {
            exact_first: false,
            ..SuggestOptions::default()
        },
        SuggestOptions::with_k(50),
    ]
}

/// What became of a mutated segment.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Refused,
    Accepted,
    /// `verify_deep` passed, yet a query reported corruption: they disagree.
    Disagrees(String),
}

/// Loads the bytes and, if accepted, runs every query and a deep verification. Errors are
/// fine; a panic is a failure (the caller catches it), and so is a segment that
/// `verify_deep` passes but a query finds corrupt.
fn exercise(bytes: &[u8], options: &[SuggestOptions]) -> Outcome {
    let Ok(segment) = Segment::load(bytes) else {
        return Outcome::Refused;
    };
    let mut searcher = Searcher::new();
    let mut corrupt = None;
    for query in ["", "a", "n", "new", "sao", "york"] {
        for o in options {
            if let Err(e) = searcher.search(&segment, query, o) {
                corrupt.get_or_insert(format!("{query:?} {o:?}: {e}"));
            }
        }
    }
    match (segment.verify_deep(), corrupt) {
        (Ok(()), Some(query)) => Outcome::Disagrees(query),
        _ => Outcome::Accepted,
    }
}

/// Mutates 1–3 bytes inside the FSTs (and top lists) of the golden segments and a built one, reseals the
/// checksum, and requires that nothing panics: neither load nor any search on what it accepts.
#[test]
fn mutated_fst_bytes_never_panic() {
    const PER_SEGMENT: usize = 20_000;
    let segments = [
        ("v1.seg", include_bytes!("golden/v1.seg").to_vec()),
        ("v2.seg", include_bytes!("golden/v2.seg").to_vec()),
        ("v6.seg", include_bytes!("golden/v6.seg").to_vec()),
        ("v7.seg", include_bytes!("golden/v7.seg").to_vec()),
        ("v8.seg", include_bytes!("golden/v8.seg").to_vec()),
        ("v9.seg", include_bytes!("golden/v9.seg").to_vec()),
        ("built", built_segment()),
    ];
    let options = option_sets();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = common::Rng(0x5eed);
    let (mut panicked, mut accepted, mut total) = (Vec::new(), 0usize, 0usize);
    let mut disagree = Vec::new();
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
                Ok(Outcome::Accepted) => accepted += 1,
                Ok(Outcome::Refused) => {}
                Ok(Outcome::Disagrees(query)) => {
                    disagree.push(format!("{name} trial {trial}: {changes:?}: {query}"))
                }
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
    assert!(
        disagree.is_empty(),
        "{} mutations pass verify_deep but a query finds them corrupt, first: {:#?}",
        disagree.len(),
        &disagree[..disagree.len().min(5)]
    );
}

/// Mutates 1–3 bytes of the top-lists section of a segment with a list for every prefix,
/// reseals the checksum, and requires that nothing panics, and that a segment `verify_deep`
/// passes answers exactly as the original: every list it accepts is what the walk returns.
#[test]
fn mutated_top_lists_never_panic_or_change_answers() {
    const TRIALS: usize = 4_000;
    let original = built_segment();
    let top = Segment::load(&original[..])
        .unwrap()
        .header()
        .section(SectionKind::Top)
        .expect("the built segment has top lists");
    let queries = ["", "n", "ne", "new", "new ", "s", "sa", "y", "z", "東"];
    let options = option_sets();
    let answers = |segment: &Segment<&[u8]>| -> Vec<Result<String, Error>> {
        let mut searcher = Searcher::new();
        let mut out = Vec::new();
        for q in queries {
            for o in &options {
                let found = searcher
                    .search(segment, q, o)
                    .map(|f| format!("{:?}", f.to_owned()));
                out.push(found);
            }
        }
        out
    };
    let want = answers(&Segment::load(&original[..]).unwrap());
    let mut rng = common::Rng(0x7095);
    let (mut panicked, mut changed, mut accepted) = (Vec::new(), Vec::new(), 0usize);
    for trial in 0..TRIALS {
        let mut bytes = original.clone();
        for _ in 0..1 + rng.below(3) {
            let at = top.offset + rng.below(top.len);
            bytes[at] = match rng.below(3) {
                0 => bytes[at] ^ (1 << rng.below(8)),
                1 => bytes[at].wrapping_add(1),
                _ => rng.below(256) as u8,
            };
        }
        reseal(&mut bytes);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let segment = Segment::load(&bytes[..]).ok()?;
            let got = answers(&segment);
            Some((segment.verify_deep().is_ok(), got))
        }));
        match outcome {
            Err(_) => panicked.push(trial),
            Ok(Some((true, got))) => {
                accepted += 1;
                if got != want {
                    changed.push(trial);
                }
            }
            Ok(_) => {}
        }
    }
    println!("{TRIALS} mutations of the top lists: {accepted} pass verify_deep");
    assert!(panicked.is_empty(), "mutations panicked: {panicked:?}");
    assert!(
        changed.is_empty(),
        "verified yet answering differently: {changed:?}"
    );
}

/// An FST of `depth` nodes, each with two transitions ('a' and 'b', no outputs) to the node
/// below: 2^depth keys through `depth` nodes. Written by hand in `fst`'s node format.
fn doubling_fst(depth: usize, claimed_keys: u64) -> Vec<u8> {
    let mut fst = Vec::new();
    fst.extend_from_slice(&3u64.to_le_bytes()); // fst format version
    fst.extend_from_slice(&0u64.to_le_bytes()); // fst type
    let mut below = 0usize; // the empty final node
    for _ in 0..depth {
        let first = fst.len();
        let delta = if below == 0 { 0 } else { first - below };
        let delta = u8::try_from(delta).unwrap();
        // Deltas and inputs stored last transition first; pack sizes: 1-byte deltas, no
        // outputs; state: 2 transitions, not final.
        fst.extend_from_slice(&[delta, delta, b'b', b'a', 0x10, 0x02]);
        below = fst.len() - 1;
    }
    fst.extend_from_slice(&claimed_keys.to_le_bytes());
    fst.extend_from_slice(&(below as u64).to_le_bytes());
    let crc = 0u32; // fst::raw::Fst::new does not check it
    fst.extend_from_slice(&crc.to_le_bytes());
    fst
}

/// A word-start segment of one suggestion with its FST replaced.
fn with_main_fst(fst: &[u8]) -> Vec<u8> {
    let mut b = SegmentBuilder::with_options(BuildOptions {
        word_starts: true,
        ..BuildOptions::default()
    });
    b.add("ab", 1).unwrap();
    common::replace_fst(&b.finish().unwrap().bytes, fst)
}

#[test]
fn verify_deep_visits_each_node_once() {
    // 2^64 paths through 64 nodes: enumerating them would never finish.
    let bytes = with_main_fst(&doubling_fst(64, u64::MAX));
    let segment = Segment::load(&bytes[..]).expect("structurally sound");
    let started = std::time::Instant::now();
    let err = segment.verify_deep().unwrap_err().to_string();
    assert!(err.contains("full keys") || err.contains("keys"), "{err}");
    // Not a timing assertion on speed: a path walk would run for centuries, not seconds.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    // Every key here has output 0 and there is one suggestion: 2^n keys for rank 0.
    for depth in [1, 2, 10] {
        let bytes = with_main_fst(&doubling_fst(depth, 1 << depth));
        let segment = Segment::load(&bytes[..]).unwrap();
        let err = segment.verify_deep().unwrap_err().to_string();
        assert!(
            err.contains(&format!("{} full keys for 1 suggestions", 1u64 << depth)),
            "depth {depth}: {err}"
        );
    }
}

#[test]
fn verify_deep_counts_paths_against_the_footer() {
    let bytes = with_main_fst(&doubling_fst(3, 7));
    let err = Segment::load(&bytes[..])
        .unwrap()
        .verify_deep()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("says it holds 7 keys, its paths spell 8"),
        "{err}"
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
    // The best of 50 runs, in ms.
    let best = |f: &dyn Fn()| {
        (0..50)
            .map(|_| {
                let t = std::time::Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::MAX, f64::min)
    };
    let open = best(&|| {
        Segment::open(&bytes[..]).unwrap();
    });
    let load = best(&|| {
        Segment::load(&bytes[..]).unwrap();
    });
    let mb = bytes.len() as f64 / 1e6;
    let fst_mb = fst_len as f64 / 1e6;
    println!(
        "{mb:.2} MB segment, {fst_mb:.2} MB FST: open {open:.2} ms ({:.2} ms/MB of FST), \
         load {load:.2} ms ({:.2} ms/MB of segment)",
        open / fst_mb,
        load / mb
    );
}

/// Loads a single-key segment after `edit` changed its FST (given the FST's bytes, header
/// to footer) and the checksum was recomputed.
fn with_fst(edit: impl FnOnce(&mut [u8])) -> Result<(), Error> {
    Segment::load(&fst_edited(edit)[..]).map(|_| ())
}

/// A single-key segment whose FST `edit` changed, resealed.
fn fst_edited(edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut bytes = {
        let mut b = SegmentBuilder::new();
        b.add("abcdefghijklmnopqrstuvwx", 1).unwrap();
        b.finish().unwrap().bytes
    };
    let fst = Segment::load(&bytes[..])
        .unwrap()
        .header()
        .section(SectionKind::Fst)
        .unwrap();
    edit(&mut bytes[fst.offset..fst.offset + fst.len]);
    reseal(&mut bytes);
    bytes
}

/// Replaces the FST's node region (between its 16-byte header and 20-byte footer) with
/// filler nodes that decode (a final node without transitions at 16..=18, then one-byte nodes
/// each leading to the node before) and then `top(first)`, whose first byte lands at address
/// `first`; the root is its last byte.
fn with_nodes(top_len: usize, top: impl FnOnce(usize) -> Vec<u8>) -> Result<(), Error> {
    with_fst(|fst| {
        let region = 16..fst.len() - 20;
        assert!(
            region.len() >= top_len + 3,
            "region of {} bytes",
            region.len()
        );
        let first = region.end - top_len;
        let mut nodes = vec![0x00, 0x00, 0x40]; // 0 transitions, no outputs, final
        nodes.resize(region.len() - top_len, 0xC1); // one transition on 't' to the node before
        let top = top(first);
        assert_eq!(top.len(), top_len);
        nodes.extend_from_slice(&top);
        fst[region].copy_from_slice(&nodes);
    })
}

/// A node with one transition on `t`: delta bytes, pack sizes, state. Its target is its first
/// byte minus the delta (0: the empty final node).
fn one_trans(delta: &[u8], sizes: u8) -> Vec<u8> {
    [delta, &[sizes, 0x81]].concat()
}

fn refused(result: Result<(), Error>, what: &str) {
    match result {
        Err(e @ Error::Corrupt { .. }) => {
            let message = e.to_string();
            println!("{what}: {message}");
            assert!(message.contains("fst"), "{what}: {message}");
        }
        other => panic!("{what}: {other:?}"),
    }
}

#[test]
fn crafted_fst_nodes_are_refused() {
    // The frame the cases share is itself accepted: a root with one transition to the node
    // just below it, or to the empty final node (delta 0), or a one-byte root.
    with_nodes(3, |_| one_trans(&[1], 0x10)).unwrap();
    with_nodes(3, |_| one_trans(&[0], 0x10)).unwrap();
    with_nodes(1, |_| vec![0xC1]).unwrap();

    // A transition forward: the delta wraps past address 0 to above the node (the target is
    // the first byte minus the delta), 1 byte above its first byte.
    refused(
        with_nodes(10, |_| one_trans(&u64::MAX.to_le_bytes(), 0x80)),
        "forward",
    );
    // A cycle: the delta wraps to the node's own address, its first byte + 9.
    refused(
        with_nodes(10, |_| one_trans(&(u64::MAX - 8).to_le_bytes(), 0x80)),
        "cycle",
    );
    // Targets before the node region, and inside a node rather than at its last byte (the
    // middle of the filler final node at 16..=18).
    refused(with_nodes(3, |_| one_trans(&[250], 0x10)), "before the FST");
    refused(
        with_nodes(3, |first| one_trans(&[(first - 8) as u8], 0x10)),
        "into the header",
    );
    refused(
        with_nodes(3, |first| one_trans(&[(first - 17) as u8], 0x10)),
        "into the middle of a node",
    );
    // Pack sizes: address size 0 or 9, output size 9.
    refused(with_nodes(3, |_| one_trans(&[1], 0x00)), "address size 0");
    refused(
        with_nodes(11, |_| one_trans(&[1; 9], 0x90)),
        "address size 9",
    );
    refused(
        with_nodes(12, |_| [&[1u8; 9][..], &one_trans(&[1], 0x19)].concat()),
        "output size 9",
    );
    // More transitions than the node region holds (pack sizes, count byte 20, state 0).
    refused(with_nodes(3, |_| vec![0x11, 20, 0x00]), "transition count");
    // Inputs not increasing: two transitions on 'b' then 'a' (stored last first).
    refused(
        with_nodes(6, |_| vec![1, 1, b'a', b'b', 0x10, 0x02]),
        "inputs out of order",
    );
    // A root address past the end of the node region.
    refused(
        with_fst(|fst| {
            let (at, len) = (fst.len() - 12, fst.len() as u64);
            fst[at..at + 8].copy_from_slice(&len.to_le_bytes());
        }),
        "root past the end",
    );
}

/// An attested open skips the walk over FST nodes and the check of each top-list entry, and
/// nothing else: on valid bytes it answers every query as a full open does; a malformed node
/// or top-list entry it does not see, a malformed FST frame or section table it still refuses.
#[test]
fn attested_open_skips_only_the_node_walk() {
    let bytes = built_segment();
    let full = Segment::open(&bytes[..]).unwrap();
    let attested = Segment::open_attested(&bytes[..]).unwrap();
    let mut compared = 0;
    for options in option_sets() {
        for query in ["", "a", "new", "sa", "san fran", "nwe yrok", "zz", "ber"] {
            let want = full.search(query, &options).unwrap();
            let got = attested.search(query, &options).unwrap();
            assert_eq!(got, want, "{query:?} {options:?}");
            compared += want.items.len();
        }
    }
    assert!(compared > 100, "only {compared} suggestions compared");

    // A node claiming more transitions than its region holds: refused by the walk only.
    let bad_node = fst_edited(|fst| {
        let region = 16..fst.len() - 20;
        let mut nodes = vec![0x00, 0x00, 0x40];
        nodes.resize(region.len() - 3, 0xC1);
        nodes.extend_from_slice(&[0x11, 20, 0x00]);
        fst[region].copy_from_slice(&nodes);
    });
    refused(Segment::open(&bad_node[..]).map(|_| ()), "node, full open");
    assert!(Segment::open_attested(&bad_node[..]).is_ok());
    // A top-list entry whose key is not UTF-8: refused by the full open only.
    let top = full
        .header()
        .section(SectionKind::Top)
        .expect("a top-lists section");
    let field = |i: usize| {
        let at = top.offset + 4 * i;
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
    };
    let (nodes, entries, list_bytes) = (field(0), field(1), field(2));
    // Past the header, the nodes and the lists: the entries, each a cost, a shared length and
    // a length (LEB128), then its bytes past the shared ones. The last entry's first own byte
    // becomes 0xFE: still after the key before it, but not UTF-8.
    let mut at = top.offset + 16 + 8 * nodes + list_bytes;
    let leb = |at: &mut usize| {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let b = bytes[*at];
            *at += 1;
            value |= usize::from(b & 0x7F) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return value;
            }
        }
    };
    let mut last_rest = 0;
    for _ in 0..entries {
        let (_cost, _shared, len) = (leb(&mut at), leb(&mut at), leb(&mut at));
        last_rest = at;
        at += len;
    }
    assert_eq!(at, top.offset + top.len, "the entries end the section");
    let mut bad_entry = bytes.clone();
    bad_entry[last_rest] = 0xFE;
    reseal(&mut bad_entry);
    assert!(Segment::open(&bad_entry[..]).is_err());
    // Attested, its lists go unused: queries walk, with the intact segment's answers.
    let unlisted = Segment::open_attested(&bad_entry[..]).unwrap();
    for options in option_sets() {
        for query in ["", "a", "new", "sa", "ber"] {
            let want = full.search(query, &options).unwrap();
            let got = unlisted.search(query, &options).unwrap();
            assert_eq!(got, want, "{query:?} {options:?}");
        }
    }
    // A root past the end of the FST: the frame, refused either way.
    let bad_frame = fst_edited(|fst| {
        let (at, len) = (fst.len() - 12, fst.len() as u64);
        fst[at..at + 8].copy_from_slice(&len.to_le_bytes());
    });
    refused(
        Segment::open_attested(&bad_frame[..]).map(|_| ()),
        "frame, attested",
    );
    // A segment cut short: its section table, refused either way.
    let cut = &bytes[..bytes.len() / 2];
    assert!(Segment::open_attested(cut).is_err());
}

/// `fst` writes an empty FST as a root node without transitions (39 bytes): a segment of no
/// suggestions, with or without word starts, loads, verifies and answers nothing. (Found by
/// the `build_rows` fuzz target; open once required the 36-byte form.)
#[test]
fn empty_segments_load() {
    for word_starts in [false, true] {
        let bytes = SegmentBuilder::with_options(BuildOptions {
            word_starts,
            ..BuildOptions::default()
        })
        .finish()
        .unwrap()
        .bytes;
        let segment = Segment::load(&bytes[..]).unwrap();
        segment.verify_deep().unwrap();
        for options in option_sets() {
            assert!(segment.search("", &options).unwrap().items.is_empty());
        }
    }
}

/// A walk appends the keys it spells unchecked; the answer checks them as UTF-8 all at once.
/// A segment whose FST holds a key that is not UTF-8 (open does not read every key;
/// `verify_deep` does, and refuses it) answers every query whose answer holds that key with a
/// corrupt-segment error, and every other query as the same segment with the key intact does,
/// opened either way. Nothing panics.
#[test]
fn walked_keys_that_are_not_utf8_fail_only_the_answers_holding_them() {
    let mut builder = SegmentBuilder::new();
    for (phrase, score) in [("ab", 3), ("ac", 2), ("b", 1)] {
        builder.add(phrase, score).unwrap();
    }
    let bytes = builder.finish().unwrap().bytes;
    // The same keys and ranks, "ac" spelled "a" 0xFE.
    let mut fst = fst::MapBuilder::memory();
    for (key, rank) in [(&b"ab"[..], 0), (b"a\xFE", 1), (b"b", 2)] {
        fst.insert(key, rank).unwrap();
    }
    let bad = common::replace_fst(&bytes, &fst.into_inner().unwrap());
    let deep = Segment::open(&bad[..]).unwrap().verify_deep();
    assert!(deep.is_err(), "verify_deep took a key that is not UTF-8");
    let intact = Segment::open(&bytes[..]).unwrap();
    let cases = [
        ("a", 10, true),
        ("a", 1, false),
        ("ab", 10, false),
        ("b", 10, false),
        ("", 10, true),
        ("", 1, false),
    ];
    refused_or_intact(&bad, &intact, &cases, "not valid UTF-8");
    let mut searcher = Searcher::new();
    let opened = [Segment::open(&bad[..]), Segment::open_attested(&bad[..])];
    for segment in opened.map(Result::unwrap) {
        let fuzzy = SuggestOptions {
            fuzzy: Fuzziness::Edits(1),
            ..SuggestOptions::default()
        };
        for query in ["ac", "ad", "xb", "a"] {
            let _ = catch_unwind(AssertUnwindSafe(|| {
                searcher.search(&segment, query, &fuzzy).map(|_| ())
            }))
            .unwrap_or_else(|_| panic!("{query:?} panicked"));
        }
    }
}

/// The stored display forms of an answer are copied side by side and checked as UTF-8 at
/// once. Two forms corrupted so that neither is UTF-8 on its own while the two side by side
/// are ("zaÉ" ending in the first byte of its "É", "zbÉ" starting with the second) must still
/// be refused, never shown as a piece of a character: every answer holding either is a
/// corrupt-segment error naming the display section, every other answer is the intact
/// segment's, `verify_deep` refuses the segment, and nothing panics.
#[test]
fn display_forms_that_are_utf8_only_side_by_side_are_refused() {
    let mut builder = SegmentBuilder::new();
    for (phrase, score) in [("zaÉ", 3), ("zbÉ", 2), ("zc", 1), ("yÉ", 1)] {
        builder.add(phrase, score).unwrap();
    }
    let bytes = builder.finish().unwrap().bytes;
    let mut bad = bytes.clone();
    for (form, corrupted) in [("zaÉ", &b"zax\xC3"[..]), ("zbÉ", b"\x89b\xC3\x89")] {
        let at = find(&bad, form.as_bytes()).expect("a stored display form");
        bad[at..at + corrupted.len()].copy_from_slice(corrupted);
    }
    assert!(std::str::from_utf8(b"zax\xC3\x89b\xC3\x89").is_ok());
    reseal(&mut bad);
    assert!(Segment::open(&bad[..]).unwrap().verify_deep().is_err());
    let intact = Segment::open(&bytes[..]).unwrap();
    let cases = [
        ("z", 10, true),
        ("z", 1, true),
        ("za", 10, true),
        ("zb", 10, true),
        ("zc", 10, false),
        ("y", 10, false),
        ("", 10, true),
    ];
    refused_or_intact(&bad, &intact, &cases, "corrupt: display: entry");
}

/// Searches `bad`, opened in full and attested, with each case's query and k: where the case
/// says so the answer must be an error whose message holds `error`, else the same answer as
/// `intact` gives.
fn refused_or_intact(
    bad: &[u8],
    intact: &Segment<&[u8]>,
    cases: &[(&str, usize, bool)],
    error: &str,
) {
    let mut searcher = Searcher::new();
    for segment in [Segment::open(bad), Segment::open_attested(bad)].map(Result::unwrap) {
        for &(query, k, refused) in cases {
            let options = SuggestOptions::with_k(k);
            let got = searcher
                .search(&segment, query, &options)
                .map(|s| s.to_owned());
            match refused {
                true => {
                    let err = got.expect_err(query).to_string();
                    assert!(err.contains(error), "{query:?} k={k}: {err}");
                }
                false => assert_eq!(
                    got.unwrap(),
                    intact.search(query, &options).unwrap(),
                    "{query:?} k={k}"
                ),
            }
        }
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
