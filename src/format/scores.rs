//! Scores by rank. Ranks are in descending-score order, so each block of [`BLOCK`] ranks
//! stores its first (largest) score once and every score as a fixed-width difference from
//! it: O(1) random access, a few bits per score on real data.
//!
//! Layout: `block_size: u32`, `reserved: u32`, then per block `base: u64, data_offset: u32,
//! width: u8, 3 zero bytes`, then the bit-packed differences (LSB first, each block starting on
//! a byte boundary).

use super::bytes::{slice, u32_at, u64_at};
use crate::error::{Error, Result};

/// Ranks per block.
pub(crate) const BLOCK: usize = 64;
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
}

impl Scores {
    /// Checks the fixed parts of section `name` against `count` suggestions.
    pub(crate) fn parse(
        bytes: &[u8],
        name: &'static str,
        (offset, len): (usize, usize),
        count: usize,
    ) -> Result<Scores> {
        let section = slice(bytes, offset, len, name)?;
        let block_size = u32_at(section, 0, name)? as usize;
        if block_size != BLOCK {
            return Err(Error::corrupt(
                name,
                format!("block size {block_size}, format v1 uses {BLOCK}"),
            ));
        }
        let blocks = count.div_ceil(BLOCK);
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
        let block = rank / BLOCK;
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
        let bit = (rank % BLOCK) * width as usize;
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

/// Appends the section for `count` values, `score(rank)` giving them. Each block's base is
/// its largest value and its width that of its largest difference, so scores (non-increasing
/// by rank) get their block's first score as base; the layout also packs values in any order
/// (the category set ids).
#[cfg(feature = "build")]
pub(crate) fn encode(out: &mut Vec<u8>, count: usize, score: impl Fn(usize) -> u64) {
    let blocks = count.div_ceil(BLOCK);
    let section_start = out.len();
    out.extend_from_slice(&(BLOCK as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let index_start = out.len();
    out.resize(index_start + blocks * ENTRY, 0);
    let data_start = out.len();
    for block in 0..blocks {
        let first = block * BLOCK;
        let last = (first + BLOCK).min(count) - 1;
        let (base, least) = (first..=last).fold((0, u64::MAX), |(hi, lo), rank| {
            let s = score(rank);
            (hi.max(s), lo.min(s))
        });
        let width = 64 - (base - least).leading_zeros();
        let entry = index_start + block * ENTRY;
        let offset = (out.len() - data_start) as u32;
        out[entry..entry + 8].copy_from_slice(&base.to_le_bytes());
        out[entry + 8..entry + 12].copy_from_slice(&offset.to_le_bytes());
        out[entry + 12] = width as u8;
        let mut acc: u128 = 0;
        let mut nbits = 0u32;
        for rank in first..=last {
            acc |= u128::from(base - score(rank)) << nbits;
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
    debug_assert!(out.len() >= section_start);
}
