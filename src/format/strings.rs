//! A sparse table of strings by rank (display forms, payloads): only ranks that have one are
//! stored, found by binary search.
//!
//! Layout: `count: u32`, `reserved: u32`, `count` ascending ranks (`u32`), `count + 1`
//! ascending byte offsets (`u32`, first 0, last = data length), then the UTF-8 data.

use super::bytes::{slice, u32_at};
use crate::error::{Error, Result};

const PREAMBLE: usize = 8;

/// A parsed view of a string table section.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Strings {
    name: &'static str,
    offset: usize,
    len: usize,
    count: usize,
}

impl Strings {
    /// Checks the fixed parts of the section.
    pub(crate) fn parse(
        bytes: &[u8],
        name: &'static str,
        offset: usize,
        len: usize,
    ) -> Result<Strings> {
        let section = slice(bytes, offset, len, name)?;
        let count = u32_at(section, 0, name)? as usize;
        // Checked: on 32-bit targets a corrupt count could overflow the index size.
        let data_start = count
            .checked_mul(8)
            .and_then(|n| n.checked_add(PREAMBLE + 4))
            .filter(|&n| n <= len);
        let Some(data_start) = data_start else {
            return Err(Error::corrupt(
                name,
                format!("{count} entries do not fit in a section of {len} bytes"),
            ));
        };
        let data_len = u32_at(section, PREAMBLE + count * 8, name)? as usize;
        if data_start.checked_add(data_len) != Some(len) {
            return Err(Error::corrupt(
                name,
                format!("data length {data_len} does not fill the section ({len} bytes)"),
            ));
        }
        Ok(Strings {
            name,
            offset,
            len,
            count,
        })
    }

    /// An empty table (section absent).
    pub(crate) fn empty(name: &'static str) -> Strings {
        Strings {
            name,
            offset: 0,
            len: 0,
            count: 0,
        }
    }

    /// Number of stored strings.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The string stored for `rank`, if any.
    pub(crate) fn get<'a>(&self, bytes: &'a [u8], rank: u32) -> Result<Option<&'a str>> {
        if self.count == 0 {
            return Ok(None);
        }
        let section = slice(bytes, self.offset, self.len, self.name)?;
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let r = u32_at(section, PREAMBLE + mid * 4, self.name)?;
            if r < rank {
                lo = mid + 1;
            } else if r > rank {
                hi = mid;
            } else {
                return self.entry(section, mid).map(Some);
            }
        }
        Ok(None)
    }

    /// Every entry, in rank order (for full verification).
    pub(crate) fn check_all(&self, bytes: &[u8]) -> Result<()> {
        let section = slice(bytes, self.offset, self.len, self.name)?;
        let mut prev: Option<u32> = None;
        for i in 0..self.count {
            let r = u32_at(section, PREAMBLE + i * 4, self.name)?;
            if prev.is_some_and(|p| p >= r) {
                return Err(Error::corrupt(
                    self.name,
                    format!("ranks not ascending at entry {i}"),
                ));
            }
            prev = Some(r);
            self.entry(section, i)?;
        }
        Ok(())
    }

    /// For each rank below `count`, the index of its entry ([`Strings::NONE`]: none): reading
    /// every rank's string in another order than rank order costs one look-up each instead of
    /// a binary search. Refuses ranks that are not ascending or not below `count`.
    #[cfg(feature = "build")]
    pub(crate) fn index_by_rank(&self, bytes: &[u8], count: usize) -> Result<Vec<u32>> {
        if self.count == 0 {
            return Ok(Vec::new());
        }
        let section = slice(bytes, self.offset, self.len, self.name)?;
        let mut index = vec![Self::NONE; count];
        let mut prev: Option<u32> = None;
        for i in 0..self.count {
            let r = u32_at(section, PREAMBLE + i * 4, self.name)?;
            let slot = index
                .get_mut(r as usize)
                .filter(|_| prev.map_or(true, |p| p < r));
            let Some(slot) = slot else {
                return Err(Error::corrupt(
                    self.name,
                    format!("rank {r} at entry {i} is out of order or out of range"),
                ));
            };
            *slot = i as u32;
            prev = Some(r);
        }
        Ok(index)
    }

    /// No entry, in [`Strings::index_by_rank`].
    #[cfg(feature = "build")]
    pub(crate) const NONE: u32 = u32::MAX;

    /// The string of entry `i` (an index from [`Strings::index_by_rank`]).
    #[cfg(feature = "build")]
    pub(crate) fn entry_at<'a>(&self, bytes: &'a [u8], i: u32) -> Result<&'a str> {
        let section = slice(bytes, self.offset, self.len, self.name)?;
        self.entry(section, i as usize)
    }

    /// The last rank stored, if any.
    pub(crate) fn max_rank(&self, bytes: &[u8]) -> Result<Option<u32>> {
        if self.count == 0 {
            return Ok(None);
        }
        let section = slice(bytes, self.offset, self.len, self.name)?;
        u32_at(section, PREAMBLE + (self.count - 1) * 4, self.name).map(Some)
    }

    fn entry<'a>(&self, section: &'a [u8], i: usize) -> Result<&'a str> {
        let offsets = PREAMBLE + self.count * 4;
        let start = u32_at(section, offsets + i * 4, self.name)? as usize;
        let end = u32_at(section, offsets + (i + 1) * 4, self.name)? as usize;
        let data_start = offsets + (self.count + 1) * 4;
        if end < start {
            return Err(Error::corrupt(
                self.name,
                format!("offsets decrease at entry {i}"),
            ));
        }
        let raw = slice(section, data_start + start, end - start, self.name)?;
        std::str::from_utf8(raw)
            .map_err(|e| Error::corrupt(self.name, format!("entry {i} is not UTF-8: {e}")))
    }
}

/// Appends the section for `(rank, text)` pairs given in ascending rank order.
#[cfg(feature = "build")]
pub(crate) fn encode(out: &mut Vec<u8>, entries: &[(u32, &str)]) {
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for (rank, _) in entries {
        out.extend_from_slice(&rank.to_le_bytes());
    }
    let mut offset = 0u32;
    out.extend_from_slice(&offset.to_le_bytes());
    for (_, text) in entries {
        offset += text.len() as u32;
        out.extend_from_slice(&offset.to_le_bytes());
    }
    for (_, text) in entries {
        out.extend_from_slice(text.as_bytes());
    }
}
