//! Which deltas of a stack may hold entries under a prefix: a Bloom filter over (delta,
//! prefix) pairs, made when the stack is made.
//!
//! Every plain query over a stack follows its prefix into every delta, and most deltas (a
//! minute of changes) hold nothing under a prefix of four characters or more; following it
//! through the FST's nodes costs more than the rest of such a delta's part in the query. The
//! filter answers "certainly nothing" for most of those with one hash and two bit tests per
//! delta, all in one cache line (a blocked filter); its false positives only cost the follow
//! the query made anyway, so answers never change.
//!
//! Prefixes are hashed on their first [`DEPTH`] bytes: a longer prefix is absent whenever
//! its first bytes are.

// WebAssembly builds make no filter (see `Stack`).
#![cfg_attr(target_family = "wasm", allow(dead_code, unused_imports))]

use crate::error::Result;
use crate::segment::{for_each_key, Segment, View};

/// Prefix bytes the filter records per entry (every prefix of 1 to `DEPTH` bytes).
const DEPTH: usize = 8;

/// Filter bits per recorded entry (at most `DEPTH` pairs each): a false positive rate under
/// 5% even if every prefix of every entry is distinct.
const BITS_PER_ENTRY: usize = 64;

/// The most delta entries the filter records; a stack with more follows every prefix into
/// every delta (still exact). Bounds the filter at 16 MB and the time to make it.
const MAX_ENTRIES: usize = 1 << 21;

/// The Bloom filter of (delta, prefix) pairs; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct PrefixFilter {
    blocks: Vec<Block>,
    /// `blocks.len() * BLOCK_BITS - 1`: the filter has a power of two of bits.
    mask: u64,
}

/// One block of the filter, aligned to a cache line.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Block([u64; 8]);

/// The hash of a query's prefix, computed once per query and tested against each delta.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe(u64);

/// FNV-1a over the prefix's bytes, one step per byte, so the builder hashes every prefix of
/// an entry in one pass.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn step(hash: u64, byte: u8) -> u64 {
    (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
}

/// Bits per block: one cache line. A prefix's bits for every delta lie in one block, so a
/// query's probes of all deltas read one line, where bits spread over the filter cost a
/// likely cache miss each (two per delta).
const BLOCK_BITS: u64 = 512;

/// Two bit positions for `layer` and a prefix hash: the block from the prefix alone, the
/// bits in it from the prefix and the layer (a multiply-xorshift mix of each).
fn positions(hash: u64, layer: usize, mask: u64) -> [u64; 2] {
    let block = mix(hash) & mask & !(BLOCK_BITS - 1);
    let mixed = mix(hash ^ (layer as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    [
        block | (mixed & (BLOCK_BITS - 1)),
        block | ((mixed >> 20) & (BLOCK_BITS - 1)),
    ]
}

fn mix(hash: u64) -> u64 {
    let mixed = hash.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    mixed ^ (mixed >> 32)
}

impl Probe {
    /// The probe of `prefix` (its first [`DEPTH`] bytes).
    pub(crate) fn of(prefix: &[u8]) -> Probe {
        let cut = &prefix[..prefix.len().min(DEPTH)];
        Probe(cut.iter().fold(FNV_OFFSET, |h, &b| step(h, b)))
    }
}

impl PrefixFilter {
    /// The filter of every main-FST entry of every delta of `layers` (base first), or `None`
    /// without deltas or past [`MAX_ENTRIES`]. An FST with more keys than its footer declares
    /// is corrupt.
    pub(crate) fn of<D: AsRef<[u8]>>(layers: &[Segment<D>]) -> Result<Option<PrefixFilter>> {
        let entries: usize = layers[1..].iter().map(Segment::len).sum();
        if layers.len() < 2 || entries > MAX_ENTRIES {
            return Ok(None);
        }
        let bits = (entries.max(1) * BITS_PER_ENTRY)
            .next_power_of_two()
            .max(BLOCK_BITS as usize);
        let mut filter = PrefixFilter {
            blocks: vec![Block::default(); bits / BLOCK_BITS as usize],
            mask: bits as u64 - 1,
        };
        for (layer, segment) in layers.iter().enumerate().skip(1) {
            filter.record(&segment.view()?, layer)?;
        }
        Ok(Some(filter))
    }

    /// Records every prefix (up to [`DEPTH`] bytes) of every entry of `view`'s main FST.
    fn record(&mut self, view: &View<'_>, layer: usize) -> Result<()> {
        for_each_key(view.fst(), |key| {
            let mut hash = FNV_OFFSET;
            for &b in key.iter().take(DEPTH) {
                hash = step(hash, b);
                for at in positions(hash, layer, self.mask) {
                    *self.word(at) |= 1 << (at % 64);
                }
            }
        })
    }

    /// False when delta `layer` certainly holds no entry starting with the probed prefix.
    /// The empty prefix starts every entry.
    pub(crate) fn may_hold(&self, layer: usize, probe: Probe) -> bool {
        if probe.0 == FNV_OFFSET {
            return true;
        }
        positions(probe.0, layer, self.mask).iter().all(|&at| {
            let block = &self.blocks[(at / BLOCK_BITS) as usize];
            block.0[(at % BLOCK_BITS / 64) as usize] & (1 << (at % 64)) != 0
        })
    }

    /// The word holding bit `at`.
    fn word(&mut self, at: u64) -> &mut u64 {
        &mut self.blocks[(at / BLOCK_BITS) as usize].0[(at % BLOCK_BITS / 64) as usize]
    }
}

#[cfg(all(test, feature = "build"))]
mod tests {
    use super::*;
    use crate::DeltaBuilder;

    /// Every prefix of every delta entry is held, by its own delta; most others are not.
    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let base = crate::segment::one_phrase_base("base only");
        let mut delta = DeltaBuilder::new();
        let keys: Vec<String> = (0..500).map(|i| format!("k{i:04} phrase")).collect();
        for key in &keys {
            delta.upsert(key, 3, None, &[] as &[&str]).unwrap();
        }
        let delta = Segment::load(delta.finish().unwrap().bytes).unwrap();
        let filter = PrefixFilter::of(&[base, delta]).unwrap().unwrap();
        for key in &keys {
            for end in 0..=key.len() {
                assert!(
                    filter.may_hold(1, Probe::of(&key.as_bytes()[..end])),
                    "{key} {end}"
                );
            }
        }
        let strangers = (0..2000)
            .filter(|i| filter.may_hold(1, Probe::of(format!("x{i}").as_bytes())))
            .count();
        assert!(strangers < 200, "{strangers} false positives in 2000");
        let other_layer = keys
            .iter()
            .filter(|k| filter.may_hold(2, Probe::of(k.as_bytes())))
            .count();
        assert!(other_layer < 50, "{other_layer} false positives in 500");
    }
}
