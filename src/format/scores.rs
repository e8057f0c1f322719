//! Scores by rank. Ranks are in descending-score order, so each block of [`BLOCK`] ranks
//! stores its first (largest) score once and every score as a fixed-width difference from
//! it: O(1) random access, a few bits per score on real data. The `category ids` section packs
//! each rank's set number the same way, in blocks of any power of two from 64 to 4,096 ranks
//! (format v10): the builder takes the size that makes the section smallest.
//!
//! Layout: `block_size: u32`, `reserved: u32`, then per block `base: u64, data_offset: u32,
//! width: u8, 3 zero bytes`, then the bit-packed differences (LSB first, each block starting on
//! a byte boundary).

use super::bytes::{slice, u32_at, u64_at};
use crate::error::{Error, Result};

/// Ranks per block of `scores`, and of `category ids` before format v10.
pub(crate) const BLOCK: usize = 64;
/// The largest block `category ids` may have (format v10): larger ones would save no more
/// than a few block entries.
pub(crate) const WIDEST: usize = 4096;
const PREAMBLE: usize = 8;
const ENTRY: usize = 16;

/// A parsed view of the scores section (the default: an absent section).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Scores {
    /// The section's name, for errors: `scores`, or `category ids` for the set ids packed
    /// the same way.
    name: &'static str,
    /// Offset of the section within the segment.
    offset: usize,
    /// Length of the section.
    len: usize,
    count: usize,
    blocks: usize,
    /// log2 of the ranks per block.
    shift: u32,
}

impl Scores {
    /// Checks the fixed parts of section `name` against `count` suggestions. Blocks hold 64
    /// ranks, or with `wide` (`category ids` from format v10) any power of two up to 4,096.
    pub(crate) fn parse(
        bytes: &[u8],
        name: &'static str,
        (offset, len): (usize, usize),
        (count, wide): (usize, bool),
    ) -> Result<Scores> {
        let section = slice(bytes, offset, len, name)?;
        let block_size = u32_at(section, 0, name)? as usize;
        let most = if wide { WIDEST } else { BLOCK };
        if !(BLOCK..=most).contains(&block_size) || !block_size.is_power_of_two() {
            return Err(Error::corrupt(
                name,
                format!("block size {block_size}, not a power of two from {BLOCK} to {most}"),
            ));
        }
        let blocks = count.div_ceil(block_size);
        let index_end = PREAMBLE + blocks * ENTRY;
        if index_end > len {
            return Err(Error::corrupt(
                name,
                format!("{blocks} block entries need {index_end} bytes, section has {len}"),
            ));
        }
        Ok(Scores {
            name,
            offset,
            len,
            count,
            blocks,
            shift: block_size.trailing_zeros(),
        })
    }

    /// Whether the section is there (a parsed one has at least its preamble).
    pub(crate) fn is_present(&self) -> bool {
        self.len != 0
    }

    /// The score of `rank`.
    // Inlined natively: its result, returned through memory, was read back in a stalled
    // load, once per suggestion. WebAssembly modules are counted in bytes.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    pub(crate) fn get(&self, bytes: &[u8], rank: usize) -> Result<u64> {
        if rank >= self.count {
            return Err(Error::corrupt(
                "fst",
                format!("rank {rank} out of range (count {})", self.count),
            ));
        }
        let section = slice(bytes, self.offset, self.len, self.name)?;
        let block = rank >> self.shift;
        let entry = PREAMBLE + block * ENTRY;
        let base = u64_at(section, entry, self.name)?;
        let data_offset = u32_at(section, entry + 8, self.name)? as usize;
        let width = u32::from(
            *slice(section, entry + 12, 1, self.name)?
                .first()
                .unwrap_or(&0),
        );
        if width > 64 {
            return Err(Error::corrupt(self.name, format!("bit width {width} > 64")));
        }
        let data_start = PREAMBLE + self.blocks * ENTRY;
        let bit = (rank & ((1 << self.shift) - 1)) * width as usize;
        let first_byte = data_start + data_offset + bit / 8;
        let acc = match section.get(first_byte..first_byte + 16) {
            // Most scores have 16 bytes after their first one: one load, no loop.
            Some(wide) => u128::from_le_bytes(wide.try_into().unwrap_or([0; 16])),
            None => {
                let nbytes = (bit % 8 + width as usize).div_ceil(8);
                let raw = slice(section, first_byte, nbytes, self.name)?;
                let mut acc: u128 = 0;
                for (i, &b) in raw.iter().enumerate() {
                    acc |= u128::from(b) << (8 * i);
                }
                acc
            }
        };
        let mask = if width == 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        let delta = (acc >> (bit % 8)) as u64 & mask;
        base.checked_sub(delta).ok_or_else(|| {
            Error::corrupt(self.name, format!("difference {delta} exceeds base {base}"))
        })
    }
}

/// Appends the section for `count` values, `score(rank)` giving them, in blocks of 64 ranks.
/// Each block's base is its largest value and its width that of its largest difference, so
/// scores (non-increasing by rank) get their block's first score as base; the layout also
/// packs values in any order (the category set ids).
#[cfg(feature = "build")]
pub(crate) fn encode(out: &mut Vec<u8>, count: usize, score: impl Fn(usize) -> u64) {
    encode_blocks(out, (count, BLOCK), score);
}

/// Appends the section in the block size, a power of two from 64 to `widest`, that makes it
/// smallest (the smaller size on a tie); returns that size. Set numbers change slowly along
/// the ranks, so larger blocks cost few more bits and save block entries: npm with two
/// categories a row packs them in 37,175 bytes at 1,024 ranks a block against 85,863 at 64.
#[cfg(feature = "build")]
pub(crate) fn encode_smallest(
    out: &mut Vec<u8>,
    (count, widest): (usize, usize),
    score: impl Fn(usize) -> u64,
) -> usize {
    let sizes = (BLOCK.trailing_zeros()..=widest.trailing_zeros()).map(|shift| 1 << shift);
    let block = sizes
        .min_by_key(|&block| (encoded_len(count, block, &score), block))
        .unwrap_or(BLOCK);
    encode_blocks(out, (count, block), score);
    block
}

/// The bytes the section takes in blocks of `block` ranks.
#[cfg(feature = "build")]
fn encoded_len(count: usize, block: usize, score: &impl Fn(usize) -> u64) -> usize {
    let blocks = (0..count.div_ceil(block)).map(|b| {
        let ranks = b * block..((b + 1) * block).min(count);
        let width = block_base(ranks.clone(), score).1 as usize;
        ENTRY + (ranks.len() * width).div_ceil(8)
    });
    PREAMBLE + blocks.sum::<usize>()
}

/// The largest value of `ranks` and the bits its largest difference from it takes.
#[cfg(feature = "build")]
fn block_base(ranks: std::ops::Range<usize>, score: &impl Fn(usize) -> u64) -> (u64, u32) {
    let (base, least) = ranks.fold((0, u64::MAX), |(hi, lo), rank| {
        let s = score(rank);
        (hi.max(s), lo.min(s))
    });
    (base, 64 - (base - least).leading_zeros())
}

/// Appends the section for `count` values in blocks of `block` ranks.
#[cfg(feature = "build")]
fn encode_blocks(out: &mut Vec<u8>, (count, block): (usize, usize), score: impl Fn(usize) -> u64) {
    let blocks = count.div_ceil(block);
    out.extend_from_slice(&(block as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let index_start = out.len();
    out.resize(index_start + blocks * ENTRY, 0);
    let data_start = out.len();
    for b in 0..blocks {
        let ranks = b * block..((b + 1) * block).min(count);
        let (base, width) = block_base(ranks.clone(), &score);
        let entry = index_start + b * ENTRY;
        let offset = (out.len() - data_start) as u32;
        out[entry..entry + 8].copy_from_slice(&base.to_le_bytes());
        out[entry + 8..entry + 12].copy_from_slice(&offset.to_le_bytes());
        out[entry + 12] = width as u8;
        pack(out, ranks.map(|rank| base - score(rank)), width);
    }
}

/// Appends `values` packed at `width` bits each, LSB first, from a byte boundary.
#[cfg(feature = "build")]
fn pack(out: &mut Vec<u8>, values: impl Iterator<Item = u64>, width: u32) {
    let mut acc: u128 = 0;
    let mut nbits = 0u32;
    for value in values {
        acc |= u128::from(value) << nbits;
        nbits += width;
        while nbits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            nbits -= 8;
        }
    }
    if nbits > 0 {
        out.push(acc as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set numbers that drift along the ranks, as categories following popularity do, with
    /// a stray larger one now and then.
    fn drifting(count: usize) -> Vec<u64> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        (0..count)
            .map(|rank| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let stray = (state >> 60) == 0;
                (rank / 700) as u64 + (state >> 62) + if stray { 300 } else { 0 }
            })
            .collect()
    }

    #[test]
    fn every_block_size_reads_back_what_it_packed() {
        for count in [0, 1, 63, 64, 65, 4_095, 4_097, 20_000] {
            let values = drifting(count);
            for shift in 6..=12 {
                let mut out = Vec::new();
                encode_blocks(&mut out, (count, 1 << shift), |r| values[r]);
                let wide = shift > 6;
                let scores = Scores::parse(&out, "category ids", (0, out.len()), (count, wide));
                let scores = scores.unwrap();
                for (rank, &want) in values.iter().enumerate() {
                    assert_eq!(
                        scores.get(&out, rank).unwrap(),
                        want,
                        "{count} {shift} {rank}"
                    );
                }
                assert!(scores.get(&out, count).is_err());
                assert_eq!(out.len(), encoded_len(count, 1 << shift, &|r| values[r]));
            }
        }
    }

    #[test]
    fn the_smallest_block_size_is_taken() {
        for count in [1, 64, 1_000, 20_000] {
            let values = drifting(count);
            let mut out = Vec::new();
            let block = encode_smallest(&mut out, (count, WIDEST), |r| values[r]);
            let sizes = (6..=12).map(|shift| encoded_len(count, 1 << shift, &|r| values[r]));
            assert_eq!(out.len(), sizes.clone().min().unwrap(), "{count}");
            let first_smallest = sizes.clone().position(|len| len == out.len()).unwrap();
            assert_eq!(block, 64 << first_smallest, "{count}");
            let parsed = Scores::parse(&out, "category ids", (0, out.len()), (count, true));
            let scores = parsed.unwrap();
            assert!((0..count).all(|r| scores.get(&out, r).unwrap() == values[r]));
        }
        // Only a section of 64-rank blocks is read where wider ones are not defined.
        let values = drifting(20_000);
        let mut out = Vec::new();
        assert!(encode_smallest(&mut out, (20_000, WIDEST), |r| values[r]) > BLOCK);
        let err = Scores::parse(&out, "scores", (0, out.len()), (20_000, false)).unwrap_err();
        assert!(err.to_string().contains("block size"), "{err}");
        // Held to 64, the section is what `encode` writes.
        let (mut narrow, mut plain) = (Vec::new(), Vec::new());
        assert_eq!(
            encode_smallest(&mut narrow, (20_000, BLOCK), |r| values[r]),
            BLOCK
        );
        encode(&mut plain, 20_000, |r| values[r]);
        assert_eq!(narrow, plain);
    }
}
