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

/// A parsed view of the scores section.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scores {
    /// Offset of the section within the segment.
    offset: usize,
    /// Length of the section.
    len: usize,
    count: usize,
    blocks: usize,
}

impl Scores {
    /// Checks the section's fixed parts against `count` suggestions.
    pub(crate) fn parse(bytes: &[u8], offset: usize, len: usize, count: usize) -> Result<Scores> {
        let section = slice(bytes, offset, len, "scores section")?;
        let block_size = u32_at(section, 0, "scores block size")? as usize;
        if block_size != BLOCK {
            return Err(Error::corrupt(
                "scores",
                format!("block size {block_size}, format v1 uses {BLOCK}"),
            ));
        }
        let blocks = count.div_ceil(BLOCK);
        let index_end = PREAMBLE + blocks * ENTRY;
        if index_end > len {
            return Err(Error::corrupt(
                "scores",
                format!("{blocks} block entries need {index_end} bytes, section has {len}"),
            ));
        }
        Ok(Scores {
            offset,
            len,
            count,
            blocks,
        })
    }

    /// The score of `rank`.
    pub(crate) fn get(&self, bytes: &[u8], rank: usize) -> Result<u64> {
        if rank >= self.count {
            return Err(Error::corrupt(
                "fst",
                format!("rank {rank} out of range (count {})", self.count),
            ));
        }
        let section = slice(bytes, self.offset, self.len, "scores section")?;
        let block = rank / BLOCK;
        let entry = PREAMBLE + block * ENTRY;
        let base = u64_at(section, entry, "score block base")?;
        let data_offset = u32_at(section, entry + 8, "score block offset")? as usize;
        let width = u32::from(
            *slice(section, entry + 12, 1, "score block width")?
                .first()
                .unwrap_or(&0),
        );
        if width > 64 {
            return Err(Error::corrupt("scores", format!("bit width {width} > 64")));
        }
        let data_start = PREAMBLE + self.blocks * ENTRY;
        let bit = (rank % BLOCK) * width as usize;
        let first_byte = data_start + data_offset + bit / 8;
        let nbytes = (bit % 8 + width as usize).div_ceil(8);
        let raw = slice(section, first_byte, nbytes, "score bits")?;
        let mut acc: u128 = 0;
        for (i, &b) in raw.iter().enumerate() {
            acc |= u128::from(b) << (8 * i);
        }
        let mask = if width == 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        let delta = (acc >> (bit % 8)) as u64 & mask;
        base.checked_sub(delta).ok_or_else(|| {
            Error::corrupt("scores", format!("difference {delta} exceeds base {base}"))
        })
    }
}

/// Encodes scores given in rank order (non-increasing).
#[cfg(feature = "build")]
pub(crate) fn encode(scores: &[u64]) -> Vec<u8> {
    let blocks = scores.len().div_ceil(BLOCK);
    let mut index = Vec::with_capacity(PREAMBLE + blocks * ENTRY);
    index.extend_from_slice(&(BLOCK as u32).to_le_bytes());
    index.extend_from_slice(&0u32.to_le_bytes());
    let mut data: Vec<u8> = Vec::new();
    for chunk in scores.chunks(BLOCK) {
        let base = chunk[0];
        let min = *chunk.last().unwrap_or(&base);
        debug_assert!(
            chunk.windows(2).all(|w| w[0] >= w[1]),
            "scores must be in rank order"
        );
        let width = 64 - (base - min).leading_zeros();
        index.extend_from_slice(&base.to_le_bytes());
        index.extend_from_slice(&(data.len() as u32).to_le_bytes());
        index.extend_from_slice(&[width as u8, 0, 0, 0]);
        let mut acc: u128 = 0;
        let mut nbits = 0u32;
        for &s in chunk {
            acc |= u128::from(base - s) << nbits;
            nbits += width;
            while nbits >= 8 {
                data.push(acc as u8);
                acc >>= 8;
                nbits -= 8;
            }
        }
        if nbits > 0 {
            data.push(acc as u8);
        }
    }
    index.extend_from_slice(&data);
    index
}
