//! Each delta's main-FST entries in key order with a tree of range minima over their costs:
//! a plain query's stream over a delta without walking the delta's FST.
//!
//! The entries under a prefix are one run of a delta's entries in key order, found by two
//! binary searches over the entries' first bytes. A walk from the prefix's node returns them cheapest first too, but its
//! first match costs a descent along the whole key (20 to 40 node visits for a long npm
//! name), in every delta that holds something under the prefix: most of what deltas add to
//! the slowest queries. Here the run is split around its cheapest entry (a minimum tree over
//! the costs answers in O(log n)), the two sides go on a small heap keyed by their own
//! cheapest entries, and so on: the i-th match costs O(i log n) and no node visits, and the
//! heap's top is the exact cost of the next match, which the merge uses as the stream's
//! bound.
//!
//! Equal costs (the word starts of one phrase) come in key order. The first of them is the
//! walk's first too (its greedy descent takes the smallest byte at each node); the others are
//! the same suggestion, refused once the first is taken, so answers do not change.

// WebAssembly builds make no runs (see `Stack`).
#![cfg_attr(target_family = "wasm", allow(dead_code, unused_imports))]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Range;

use crate::error::Result;
use crate::segment::{for_each_entry, Segment};

/// The most delta entries a stack keeps in key order; past that, queries walk the deltas.
/// 44 to 76 bytes per entry (the tree has a power of two of leaves) plus its key bytes: at
/// most about 40 MB and 64 MB of keys.
const MAX_ENTRIES: usize = 1 << 19;

/// The most key bytes kept, for the same reason.
const MAX_KEY_BYTES: usize = 64 << 20;

/// One delta's entries in key order (see the module docs).
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
    /// A minimum tree over the entries' costs (their FST outputs): node `i` holds the cost
    /// and index of the cheapest entry below it (the first on ties); leaves start at
    /// `tree.len() / 2`, padded with [`NONE`].
    tree: Vec<(u64, u32)>,
}

/// A part of a prefix's run of entries waiting on a stream's heap: its cheapest entry's cost
/// and index, then the part's bounds. Ordered by cost, then index (key order).
pub(crate) type Part = (u64, u32, u32, u32);

/// A padding leaf of the minimum tree: dearer than any entry.
const NONE: (u64, u32) = (u64::MAX, u32::MAX);

/// The kept entries of every delta of a stack (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct DeltaRuns {
    /// By layer: `None` for the base and for deltas past the bounds.
    layers: Vec<Option<Entries>>,
}

impl DeltaRuns {
    /// The entries of every delta's main FST (layer 0, the base, has none), within
    /// [`MAX_ENTRIES`] and [`MAX_KEY_BYTES`] for all deltas together. An FST with more keys
    /// than its footer declares is corrupt.
    pub(crate) fn of<D: AsRef<[u8]>>(layers: &[Segment<D>]) -> Result<DeltaRuns> {
        let mut runs = DeltaRuns { layers: vec![None] };
        let (mut entries, mut bytes) = (0usize, 0usize);
        for segment in layers.iter().skip(1) {
            let view = segment.view()?;
            entries = entries.saturating_add(view.fst().len());
            let kept = if entries <= MAX_ENTRIES {
                Entries::of(view.fst(), MAX_KEY_BYTES - bytes)?
            } else {
                None
            };
            bytes += kept.as_ref().map_or(0, |e| e.bytes.len());
            runs.layers.push(kept);
        }
        Ok(runs)
    }

    /// Fills `heap` with the run of `layer`'s entries that start with `prefix`, as one part;
    /// false when the layer's entries are not kept. The heap stays empty when no entry
    /// starts with `prefix`.
    pub(crate) fn start(
        &self,
        layer: usize,
        prefix: &[u8],
        heap: &mut BinaryHeap<Reverse<Part>>,
    ) -> bool {
        heap.clear();
        let Some(Some(entries)) = self.layers.get(layer) else {
            return false;
        };
        let run = entries.run(prefix);
        entries.push_part(heap, run);
        true
    }

    /// Takes the cheapest entry off `heap` and puts back the parts on either side of it: the
    /// entry's cost and bytes, `None` once the heap is empty.
    pub(crate) fn next<'s>(
        &'s self,
        layer: usize,
        heap: &mut BinaryHeap<Reverse<Part>>,
    ) -> Option<(u64, &'s [u8])> {
        let entries = self.layers.get(layer)?.as_ref()?;
        let Reverse((cost, at, start, end)) = heap.pop()?;
        entries.push_part(heap, start..at);
        entries.push_part(heap, at + 1..end);
        Some((cost, entries.entry(at as usize)))
    }
}

impl Entries {
    /// The entries of `fst` with their costs, or `None` past `max_bytes` of keys.
    fn of(fst: &fst::raw::Fst<&[u8]>, max_bytes: usize) -> Result<Option<Entries>> {
        let mut entries = Entries {
            ends: Vec::with_capacity(fst.len()),
            ..Entries::default()
        };
        let mut costs = Vec::with_capacity(fst.len());
        let mut within = true;
        for_each_entry(fst, |key, cost| {
            within &= entries.bytes.len() + key.len() <= max_bytes;
            if within {
                entries.heads.push(head(key));
                entries.bytes.extend_from_slice(key);
                entries.ends.push(entries.bytes.len() as u32);
                costs.push(cost);
            }
        })?;
        if !within {
            return Ok(None);
        }
        entries.build_tree(&costs);
        entries.index_first_bytes();
        Ok(Some(entries))
    }

    /// Fills [`Entries::by_byte`] from the heads (the first byte is the top one).
    fn index_first_bytes(&mut self) {
        self.by_byte = (0..=256u64)
            .map(|b| self.heads.partition_point(|&h| (h >> 56) < b) as u32)
            .collect();
    }

    /// Fills the minimum tree bottom up.
    fn build_tree(&mut self, costs: &[u64]) {
        let leaves = costs.len().max(1).next_power_of_two();
        self.tree = vec![NONE; 2 * leaves];
        for (i, &cost) in costs.iter().enumerate() {
            self.tree[leaves + i] = (cost, i as u32);
        }
        for node in (1..leaves).rev() {
            self.tree[node] = self.tree[2 * node].min(self.tree[2 * node + 1]);
        }
    }

    /// The cost and index of the cheapest entry of `run` (the first on equal costs),
    /// [`NONE`] when it is empty.
    fn cheapest(&self, run: Range<u32>) -> (u64, u32) {
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

    /// Puts `run` on `heap` keyed by its cheapest entry, unless it is empty.
    fn push_part(&self, heap: &mut BinaryHeap<Reverse<Part>>, run: Range<u32>) {
        if run.is_empty() {
            return;
        }
        let (cost, at) = self.cheapest(run.clone());
        heap.push(Reverse((cost, at, run.start, run.end)));
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
            while let Some((cost, entry)) = runs.next(1, &mut heap) {
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
}
