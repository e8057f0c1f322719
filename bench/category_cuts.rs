//! What a category index without a copy of each key would weigh: a measurement for the design
//! of the next category format, not a benchmark of shipped code.
//!
//! `cargo bench --bench category_cuts -- DATA.tsv` builds the data set with the native bench's
//! two derived categories per row, then, for each category's FST, replaces every member key by
//! its *cut*: its shortest prefix under which the main FST holds only that key, or only keys of
//! the category. Below a cut, a filtered walk can go on in the main FST without meeting a key
//! outside the category, so the category's FST needs the cuts only (each with the least rank
//! below it), not the keys' unshared tails. A member that is a prefix of keys outside the
//! category keeps its whole key. It prints the bytes per suggestion of the main FST, of the
//! category FSTs as built, and of FSTs of the cuts, and what the segment would weigh against
//! the plain one.

// Only the data reader and the derived categories are used here.
#[allow(dead_code)]
#[path = "common.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{derived_categories, read_rows};
use edgesuggest::format::SectionKind;
use edgesuggest::{BuildOptions, Segment, SegmentBuilder};

fn build(rows: &[(String, u64)], categories: bool) -> Vec<u8> {
    let mut b = SegmentBuilder::with_options(BuildOptions::default());
    for (phrase, score) in rows {
        let cats = match categories {
            true => derived_categories(phrase, *score).to_vec(),
            false => Vec::new(),
        };
        let _ = b.add_row(phrase, *score, None, &cats);
    }
    b.finish().expect("build").bytes
}

/// Every key of an FST with its output, in key order.
fn entries(fst_bytes: &[u8]) -> Vec<(Vec<u8>, u64)> {
    use fst::Streamer;
    let map = fst::Map::new(fst_bytes).expect("fst");
    let mut stream = map.stream();
    let mut out = Vec::new();
    while let Some((k, v)) = stream.next() {
        out.push((k.to_vec(), v));
    }
    out
}

fn section(segment: &Segment<Vec<u8>>, kind: SectionKind) -> &[u8] {
    let range = segment.header().section(kind).expect("section");
    &segment.as_bytes()[range.offset..range.offset + range.len]
}

/// Each category FST's bytes, read from the `categories` section (`docs/FORMAT.md`).
fn category_fsts(section: &[u8]) -> Vec<&[u8]> {
    let u32_at = |at: usize| u32::from_le_bytes(section[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(section[at..at + 8].try_into().unwrap()) as usize;
    (0..u32_at(0))
        .map(|i| {
            let entry = 8 + 24 * i;
            let (offset, len) = (u64_at(entry + 8), u64_at(entry + 16));
            &section[offset..offset + len]
        })
        .collect()
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The cut of each member (`member[i]`: main key `i` is in the category) with its output: the
/// key's shortest prefix under which the main FST holds one key, or members only. Sorted keys
/// sharing a prefix are contiguous, and a key shares the most with its nearest neighbours (of
/// any kind, or outside the category), so one more byte than shared with them is the cut.
/// `lengths` adds up the members' key and cut lengths, and counts the members.
fn cuts(
    keys: &[(Vec<u8>, u64)],
    member: &[bool],
    lengths: &mut (usize, usize, usize),
) -> BTreeMap<Vec<u8>, u64> {
    let n = keys.len();
    let shared =
        |i: usize, j: Option<usize>| j.map_or(0, |j| common_prefix(&keys[i].0, &keys[j].0));
    let mut outside_before = vec![None; n];
    let mut last = None;
    for i in 0..n {
        outside_before[i] = last;
        if !member[i] {
            last = Some(i);
        }
    }
    let mut cut_map = BTreeMap::new();
    let mut outside_after = None;
    for i in (0..n).rev() {
        if member[i] {
            let key = &keys[i].0;
            let unique =
                1 + shared(i, i.checked_sub(1)).max(shared(i, (i + 1 < n).then_some(i + 1)));
            let pure = 1 + shared(i, outside_before[i]).max(shared(i, outside_after));
            let cut = &key[..unique.min(pure).min(key.len())];
            check_cut(keys, member, key, cut);
            lengths.0 += key.len();
            lengths.1 += cut.len();
            lengths.2 += 1;
            let least = cut_map.entry(cut.to_vec()).or_insert(u64::MAX);
            *least = (*least).min(keys[i].1);
        } else {
            outside_after = Some(i);
        }
    }
    cut_map
}

/// Checks a cut by counting: under it the main FST holds one key or members only, and under
/// the prefix one byte shorter it holds neither (unless the cut is the whole key).
fn check_cut(keys: &[(Vec<u8>, u64)], member: &[bool], key: &[u8], cut: &[u8]) {
    let under = |prefix: &[u8]| {
        let start = keys.partition_point(|(k, _)| k.as_slice() < prefix);
        let end = start + keys[start..].partition_point(|(k, _)| k.starts_with(prefix));
        (end - start, member[start..end].iter().all(|&m| m))
    };
    let holds = |(count, all_members): (usize, bool)| count == 1 || all_members;
    assert!(
        cut.len() == key.len() || holds(under(cut)),
        "cut {cut:?} of {key:?}"
    );
    assert!(
        cut.len() <= 1 || !holds(under(&cut[..cut.len() - 1])),
        "cut {cut:?} of {key:?}"
    );
}

fn fst_len(map: &BTreeMap<Vec<u8>, u64>) -> usize {
    let mut b = fst::MapBuilder::memory();
    for (k, v) in map {
        b.insert(k, *v).expect("sorted keys");
    }
    b.into_inner().expect("fst").len()
}

fn main() {
    let data = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: category_cuts DATA.tsv"),
    );
    let rows = read_rows(&data);
    let plain = build(&rows, false).len();
    let segment = Segment::open(build(&rows, true)).expect("open");
    let main_keys = entries(section(&segment, SectionKind::Fst));
    let count = segment.header().suggestion_count as f64;
    let per = |bytes: usize| bytes as f64 / count;
    let (mut built, mut cut_bytes, mut cut_count) = (0, 0, 0);
    let mut lengths = (0, 0, 0);
    for fst_bytes in category_fsts(section(&segment, SectionKind::Categories)) {
        built += fst_bytes.len();
        let mut member = vec![false; main_keys.len()];
        for (key, _) in entries(fst_bytes) {
            let at = main_keys.binary_search_by(|(k, _)| k.as_slice().cmp(&key));
            member[at.expect("a category key is a main key")] = true;
        }
        let cut_map = cuts(&main_keys, &member, &mut lengths);
        cut_count += cut_map.len();
        cut_bytes += fst_len(&cut_map);
    }
    let lists = segment
        .header()
        .section(SectionKind::CategoryTop)
        .map_or(0, |r| r.len);
    // The same lists' share (10%) of the cut FSTs, instead of the category FSTs'.
    let projected = segment.as_bytes().len() - built - lists + cut_bytes + cut_bytes / 10;
    println!("{}: {} suggestions", data.display(), count);
    println!(
        "  segment plain {plain} B ({:.2}/suggestion), with categories {} B ({:.2}×)",
        per(plain),
        segment.as_bytes().len(),
        segment.as_bytes().len() as f64 / plain as f64
    );
    println!(
        "  main FST {:.2} B/suggestion; category FSTs as built {:.2}; cut FSTs {:.2} ({} cuts)",
        per(section(&segment, SectionKind::Fst).len()),
        per(built),
        per(cut_bytes),
        cut_count
    );
    println!(
        "  members' keys {:.1} bytes on average, their cuts {:.1}",
        lengths.0 as f64 / lengths.2 as f64,
        lengths.1 as f64 / lengths.2 as f64
    );
    println!(
        "  with cut FSTs and their lists: {projected} B ({:.2}×)",
        projected as f64 / plain as f64
    );
}
