//! The deltas' main-FST entries together, in key order, with a tree of range minima over
//! their rank in the merged order: a plain query's one stream over all deltas without walking
//! their FSTs.
//!
//! The entries under a prefix are one run of the entries in key order, found by two binary
//! searches over the entries' first bytes. A walk from the prefix's node in each delta
//! returns them cheapest first too, but its first match costs a descent along the whole key
//! (20 to 40 node visits for a long npm name), in every delta that holds something under the
//! prefix, and a merge of one stream per delta: most of what deltas add to the slowest
//! queries. Here the run is split around its first entry in the merged order (a minimum
//! tree answers in O(log n)), the two sides go on a small heap keyed by their own first
//! entries, and so on: the i-th match costs O(i log n), no node visits and one stream for
//! all deltas; the heap's top is the next match, whose rank gives the merge its bound.
//!
//! The merged order is the search's (full-phrase matches before word starts, then the higher
//! score, then the key), so this stream merges with the base's like any other. An entry a
//! newer delta shadows or deletes stays in the run and is refused when taken, as from a
//! walk. Equal places (the word starts of one phrase) come in key order. The first taken
//! stands for the suggestion, which the search then reports at its leftmost matching word
//! whichever came first; the others are refused as found, so answers do not change.

// WebAssembly builds make no runs (see `Stack`).
#![cfg_attr(target_family = "wasm", allow(dead_code, unused_imports))]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Range;

use super::walk::rank_of;
use crate::error::Result;
use crate::format::WORD_START_SEPARATOR;
use crate::segment::{for_each_entry, Segment};

/// The most delta entries a stack keeps in key order; past that, queries walk the deltas.
/// 76 to 108 bytes per entry (the tree has a power of two of leaves) plus its key bytes: at
/// most about 57 MB and 64 MB of keys.
const MAX_ENTRIES: usize = 1 << 19;

/// The most key bytes kept, for the same reason.
const MAX_KEY_BYTES: usize = 64 << 20;

/// Entries of several deltas in key order (see the module docs).
#[derive(Debug, Clone, Default)]
struct Entries {
    /// The entries' bytes, concatenated in key order.
    bytes: Vec<u8>,
    /// Where each entry ends in `bytes` (it starts where the previous one ends).
    ends: Vec<u32>,
    /// Each entry's first 8 bytes as a big-endian number (zero-padded): a binary search
    /// over these touches a few cache lines where one over the keys touches two per probe.
    heads: Vec<u64>,
    /// Where the entries whose first byte is `b` start, at `b` (and where they end, at
    /// `b + 1`): the binary searches then start within a few hundred heads.
    by_byte: Vec<u32>,
    /// Each entry's layer and cost (its FST output there).
    origin: Vec<(u32, u64)>,
    /// Each entry's place in the search's order: a word start or not, and its score.
    rank: Vec<(bool, Reverse<u64>)>,
    /// A minimum tree over the entries' positions in the merged order: node `i` holds the
    /// position and index of the first entry below it; leaves start at `tree.len() / 2`,
    /// padded with [`NONE`].
    tree: Vec<(u64, u32)>,
}

/// A part of a prefix's run of entries waiting on a stream's heap: its first entry's position
/// in the merged order and its index, then the part's bounds.
pub(crate) type Part = (u64, u32, u32, u32);

/// A padding leaf of the minimum tree: after every entry.
const NONE: (u64, u32) = (u64::MAX, u32::MAX);

/// One entry of a run: its layer, its cost there and its FST bytes.
pub(crate) type RunEntry<'s> = (usize, u64, &'s [u8]);

/// The kept entries of a stack's deltas (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct DeltaRuns {
    entries: Option<Entries>,
    /// The deltas kept: layers `1..kept`, the oldest ones within the bounds.
    kept: usize,
}

impl DeltaRuns {
    /// The entries of the deltas' main FSTs (layer 0, the base, has none), oldest deltas
    /// first, within [`MAX_ENTRIES`] and [`MAX_KEY_BYTES`] for all kept deltas together. An
    /// FST with more keys than its footer declares is corrupt.
    pub(crate) fn of<D: AsRef<[u8]>>(layers: &[Segment<D>]) -> Result<DeltaRuns> {
        let mut raw = Vec::new();
        let (mut kept, mut bytes) = (1, 0usize);
        for segment in layers.iter().skip(1) {
            let view = segment.view()?;
            // The declared count first: a crafted footer can claim any number of keys, and
            // one with more keys than it claims is refused while streaming.
            if raw.len().saturating_add(view.fst().len()) > MAX_ENTRIES {
                break;
            }
            let mut more = Vec::with_capacity(view.fst().len());
            for_each_entry(view.fst(), |key, cost| {
                bytes = bytes.saturating_add(key.len());
                more.push((key.to_vec(), cost));
            })?;
            if raw.len() + more.len() > MAX_ENTRIES || bytes > MAX_KEY_BYTES {
                break;
            }
            let count = view.count();
            raw.extend(more.into_iter().map(|(key, cost)| {
                let place = match rank_of(cost, count) {
                    Ok((rank, word_start)) => (word_start, Reverse(view.score(rank).unwrap_or(0))),
                    // Out of range: the query that takes it reports the corrupt segment.
                    Err(_) => (false, Reverse(0)),
                };
                (key, cost, kept as u32, place)
            }));
            kept += 1;
        }
        let entries = (kept > 1).then(|| Entries::of(raw));
        Ok(DeltaRuns { entries, kept })
    }

    /// Whether `layer`'s entries are in the first kept delta's run, not its own: its stream
    /// in a plain pass would find nothing.
    pub(crate) fn holds(&self, layer: usize) -> bool {
        self.entries.is_some() && (2..self.kept).contains(&layer)
    }

    /// Fills `heap` with the run of entries that start with `prefix` for the stream of
    /// `layer`: the first kept delta's stream takes every kept delta's entries, the others
    /// none. False when `layer`'s entries are not kept (it walks).
    pub(crate) fn start(
        &self,
        layer: usize,
        prefix: &[u8],
        heap: &mut BinaryHeap<Reverse<Part>>,
    ) -> bool {
        heap.clear();
        let Some(entries) = &self.entries else {
            return false;
        };
        if !(1..self.kept).contains(&layer) {
            return false;
        }
        if layer == 1 {
            entries.push_part(heap, entries.run(prefix));
        }
        true
    }

    /// Takes the first entry off `heap` and puts back the parts on either side of it.
    pub(crate) fn next<'s>(&'s self, heap: &mut BinaryHeap<Reverse<Part>>) -> Option<RunEntry<'s>> {
        let entries = self.entries.as_ref()?;
        let Reverse((_, at, start, end)) = heap.pop()?;
        entries.push_part(heap, start..at);
        entries.push_part(heap, at + 1..end);
        let (layer, cost) = entries.origin[at as usize];
        Some((layer as usize, cost, entries.entry(at as usize)))
    }

    /// Where the next entry of `heap` ranks: a word start or not, and its score.
    pub(crate) fn bound(&self, heap: &BinaryHeap<Reverse<Part>>) -> Option<(bool, Reverse<u64>)> {
        let at = heap.peek()?.0 .1 as usize;
        self.entries.as_ref()?.rank.get(at).copied()
    }
}

/// An entry being gathered: its bytes, cost, layer and place in the search's order.
type Raw = (Vec<u8>, u64, u32, (bool, Reverse<u64>));

/// The key an FST entry stands for: head + suffix for a word start (`suffix 0xFF head`).
fn full_key(entry: &[u8]) -> impl Iterator<Item = &u8> {
    let (suffix, head) = match entry.iter().position(|&b| b == WORD_START_SEPARATOR) {
        Some(at) => (&entry[..at], &entry[at + 1..]),
        None => (entry, &entry[..0]),
    };
    head.iter().chain(suffix)
}

impl Entries {
    /// The entries in key order, with the tree over their merged order.
    fn of(mut raw: Vec<Raw>) -> Entries {
        // Key order; one key in several deltas, newest first (any order would do).
        raw.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)));
        let mut merged: Vec<u32> = (0..raw.len() as u32).collect();
        merged.sort_unstable_by(|&a, &b| {
            let (a, b) = (&raw[a as usize], &raw[b as usize]);
            (a.3.cmp(&b.3))
                .then_with(|| full_key(&a.0).cmp(full_key(&b.0)))
                .then_with(|| a.0.cmp(&b.0))
                .then(b.2.cmp(&a.2))
        });
        let mut position = vec![0u64; raw.len()];
        for (place, &i) in merged.iter().enumerate() {
            position[i as usize] = place as u64;
        }
        let mut entries = Entries::default();
        for (key, cost, layer, place) in raw {
            entries.heads.push(head(&key));
            entries.bytes.extend_from_slice(&key);
            entries.ends.push(entries.bytes.len() as u32);
            entries.origin.push((layer, cost));
            entries.rank.push(place);
        }
        entries.build_tree(&position);
        entries.index_first_bytes();
        entries
    }

    /// Fills [`Entries::by_byte`] from the heads (the first byte is the top one).
    fn index_first_bytes(&mut self) {
        self.by_byte = (0..=256u64)
            .map(|b| self.heads.partition_point(|&h| (h >> 56) < b) as u32)
            .collect();
    }

    /// Fills the minimum tree bottom up.
    fn build_tree(&mut self, positions: &[u64]) {
        let leaves = positions.len().max(1).next_power_of_two();
        self.tree = vec![NONE; 2 * leaves];
        for (i, &position) in positions.iter().enumerate() {
            self.tree[leaves + i] = (position, i as u32);
        }
        for node in (1..leaves).rev() {
            self.tree[node] = self.tree[2 * node].min(self.tree[2 * node + 1]);
        }
    }

    /// The position and index of the first entry of `run` in the merged order, [`NONE`]
    /// when it is empty.
    fn first(&self, run: Range<u32>) -> (u64, u32) {
        let leaves = self.tree.len() / 2;
        let (mut lo, mut hi) = (run.start as usize + leaves, run.end as usize + leaves);
        let mut best = NONE;
        while lo < hi {
            if lo & 1 == 1 {
                best = best.min(self.tree[lo]);
                lo += 1;
            }
            if hi & 1 == 1 {
                hi -= 1;
                best = best.min(self.tree[hi]);
            }
            lo /= 2;
            hi /= 2;
        }
        best
    }

    /// Puts `run` on `heap` keyed by its first entry, unless it is empty.
    fn push_part(&self, heap: &mut BinaryHeap<Reverse<Part>>, run: Range<u32>) {
        if run.is_empty() {
            return;
        }
        let (position, at) = self.first(run.clone());
        heap.push(Reverse((position, at, run.start, run.end)));
    }

    /// The bytes of entry `i`.
    fn entry(&self, i: usize) -> &[u8] {
        let start = i
            .checked_sub(1)
            .map_or(0, |before| self.ends[before] as usize);
        &self.bytes[start..self.ends[i] as usize]
    }

    /// The entries that start with `prefix`: one run in key order. Their first 8 bytes lie
    /// between the prefix's padded with zeros and with 0xFF; for a prefix of at most 8 bytes
    /// without a zero byte that is exactly the run, for others the keys decide within it.
    fn run(&self, prefix: &[u8]) -> Range<u32> {
        let short = prefix.len() <= 8 && !prefix.contains(&0);
        let mut top = [0xFF; 8];
        let kept = prefix.len().min(8);
        top[..kept].copy_from_slice(&prefix[..kept]);
        let (low, high) = (head(prefix), u64::from_be_bytes(top));
        let (from, to) = match prefix.first() {
            Some(&b) => (self.by_byte[b as usize], self.by_byte[b as usize + 1]),
            None => (0, self.heads.len() as u32),
        };
        // Only a crafted FST streams its keys out of order; its answers need only be bounded.
        let from = from.min(to);
        let heads = &self.heads[from as usize..to as usize];
        let start = from as usize + heads.partition_point(|&h| h < low);
        let end = start + self.heads[start..to as usize].partition_point(|&h| h <= high);
        if short {
            return start as u32..end as u32;
        }
        let start = partition(start..end, |i| self.entry(i) < prefix);
        let end = partition(start..end, |i| self.entry(i).starts_with(prefix));
        start as u32..end as u32
    }
}

/// The first 8 bytes of `key`, zero-padded, as a big-endian number: ordered as the keys.
fn head(key: &[u8]) -> u64 {
    let mut bytes = [0; 8];
    let kept = key.len().min(8);
    bytes[..kept].copy_from_slice(&key[..kept]);
    u64::from_be_bytes(bytes)
}

/// The first index of `range` for which `before` fails (it holds for a prefix of them).
fn partition(range: Range<usize>, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (range.start, range.end);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(all(test, feature = "build"))]
mod tests {
    use super::*;
    use crate::DeltaBuilder;

    /// Every prefix's entries come out cheapest first, ties in key order, exactly those that
    /// start with it: compared with a sort of all entries.
    #[test]
    fn runs_give_every_match_cheapest_first() {
        let base = crate::segment::one_phrase_base("base");
        let mut delta = DeltaBuilder::new();
        let phrases: Vec<String> = (0..300u64)
            .map(|i| format!("{}{} x{}", (b'a' + (i * 7 % 5) as u8) as char, i % 13, i))
            .collect();
        for (i, phrase) in phrases.iter().enumerate() {
            delta
                .upsert(phrase, (i as u64 * 7919) % 1000, None, &[] as &[&str])
                .unwrap();
        }
        let delta = Segment::load(delta.finish().unwrap().bytes).unwrap();
        let mut all = Vec::new();
        for_each_entry(delta.view().unwrap().fst(), |k, c| {
            all.push((c, k.to_vec()))
        })
        .unwrap();
        let runs = DeltaRuns::of(&[base, delta]).unwrap();
        let mut heap = BinaryHeap::new();
        assert!(
            !runs.start(0, b"", &mut heap),
            "the base's entries are not kept"
        );
        for prefix in [
            "", "a", "b1", "c12 x", "e4 x2", "zz", "a1 x10", "a1 x105", "b11 x116",
        ] {
            assert!(runs.start(1, prefix.as_bytes(), &mut heap));
            let mut got = Vec::new();
            while let Some((layer, cost, entry)) = runs.next(&mut heap) {
                assert_eq!(layer, 1);
                got.push((cost, entry.to_vec()));
            }
            let mut want: Vec<(u64, Vec<u8>)> = all
                .iter()
                .filter(|(_, k)| k.starts_with(prefix.as_bytes()))
                .cloned()
                .collect();
            want.sort();
            assert_eq!(got, want, "prefix {prefix:?}");
        }
    }

    /// Over several deltas, one run gives every delta's entries in the search's order (word
    /// starts last, then the higher score, then the key), shadowed ones included; the other
    /// deltas' streams get nothing.
    #[test]
    fn one_run_merges_the_deltas_in_the_search_order() {
        let base = crate::segment::one_phrase_base("base");
        let options = crate::BuildOptions {
            word_starts: true,
            ..Default::default()
        };
        let deltas: Vec<Segment<Vec<u8>>> = (0..3u64)
            .map(|d| {
                let mut delta = DeltaBuilder::with_options(options);
                for i in 0..40u64 {
                    let phrase = format!("{} x{}", (b'a' + ((i + d) % 4) as u8) as char, i % 9);
                    let score = (i * 37 + d * 11) % 50;
                    delta.upsert(&phrase, score, None, &[] as &[&str]).unwrap();
                }
                Segment::load(delta.finish().unwrap().bytes).unwrap()
            })
            .collect();
        let mut all = Vec::new();
        for (d, delta) in deltas.iter().enumerate() {
            let view = delta.view().unwrap();
            for_each_entry(view.fst(), |k, c| {
                let (rank, ws) = rank_of(c, view.count()).unwrap();
                let score = view.score(rank).unwrap();
                let key: Vec<u8> = full_key(k).copied().collect();
                all.push(((ws, Reverse(score), key, k.to_vec(), Reverse(d + 1)), c));
            })
            .unwrap();
        }
        all.sort();
        let mut layers = vec![base];
        layers.extend(deltas);
        let runs = DeltaRuns::of(&layers).unwrap();
        let mut heap = BinaryHeap::new();
        for prefix in ["", "a", "b x", "c x4", "x", "x1", "zz"] {
            assert!(runs.start(2, prefix.as_bytes(), &mut heap));
            assert!(heap.is_empty(), "only the first delta's stream has the run");
            assert!(runs.start(1, prefix.as_bytes(), &mut heap));
            let mut got = Vec::new();
            while let Some((layer, cost, entry)) = runs.next(&mut heap) {
                got.push((layer, cost, entry.to_vec()));
            }
            let want: Vec<(usize, u64, Vec<u8>)> = all
                .iter()
                .filter(|(k, _)| k.3.starts_with(prefix.as_bytes()))
                .map(|(k, c)| (k.4 .0, *c, k.3.clone()))
                .collect();
            assert!(!want.is_empty() || prefix == "zz");
            assert_eq!(got, want, "prefix {prefix:?}");
        }
    }
}
