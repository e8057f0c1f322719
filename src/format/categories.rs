//! The categories section (format v2): category names and, for each, an FST holding only the
//! entries of the suggestions in that category, with the same outputs as the main FST.
//!
//! Layout (offsets relative to the section start, little-endian):
//! `count: u32`, `reserved: u32`, then `count` entries of 24 bytes
//! (`name offset: u32`, `name length: u32`, `fst offset: u64`, `fst length: u64`), then the
//! names (UTF-8, strictly ascending byte order), then the FSTs. A filtered query searches the
//! FSTs of the requested categories, so it never visits a subtree without a match.
//!
//! The `category cuts` section (format v9) has the same layout, each FST holding its
//! category's cuts instead (see `cuts`): a filtered walk goes on in the main FST below a cut.

use super::bytes::{slice, to_usize, u32_at, u64_at};
use super::{check_fst, Nodes};
use crate::error::{Error, Result};

const PREAMBLE: usize = 8;
const ENTRY: usize = 24;
const NAME: &str = "categories";

/// Longest category name, in bytes.
pub(crate) const MAX_NAME_BYTES: usize = 64;
/// Most categories of one suggestion.
pub(crate) const MAX_PER_SUGGESTION: usize = 32;
/// Most categories of one segment (each costs an FST).
pub(crate) const MAX_PER_SEGMENT: usize = 1024;

/// Why `name` cannot be a category, if it cannot: queries list categories separated by
/// commas, and answers join a suggestion's with commas. The one rule for the builder and for
/// reading segments.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_NAME_BYTES {
        Some("it is too long")
    } else if name.contains(',') {
        Some("it holds a comma")
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("it holds whitespace or a control character")
    } else {
        None
    }
}

/// A parsed view of the categories section.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Categories {
    offset: usize,
    len: usize,
    count: usize,
    /// Whether the FSTs hold cuts (the `category cuts` section).
    cuts: bool,
}

impl Categories {
    /// Checks the entry table, that names are UTF-8 and ascending, and each FST (frame, and
    /// nodes unless `nodes` trusts them): O(section size), O(categories) trusted.
    pub(crate) fn parse(
        bytes: &[u8],
        (offset, len, cuts): (usize, usize, bool),
        max_keys: u64,
        nodes: Nodes,
    ) -> Result<Self> {
        let section = slice(bytes, offset, len, NAME)?;
        let count = u32_at(section, 0, NAME)? as usize;
        let table_end = count
            .checked_mul(ENTRY)
            .and_then(|n| n.checked_add(PREAMBLE));
        if table_end.is_none() || table_end > Some(len) {
            return Err(Error::corrupt(
                NAME,
                format!("{count} categories do not fit in {len} bytes"),
            ));
        }
        if count > MAX_PER_SEGMENT {
            return Err(Error::corrupt(
                NAME,
                format!("{count} categories, at most {MAX_PER_SEGMENT}"),
            ));
        }
        let parsed = Categories {
            offset,
            len,
            count,
            cuts,
        };
        let mut previous: Option<&str> = None;
        for i in 0..count {
            let name = parsed.name_in(section, i)?;
            if previous.is_some_and(|p| p >= name) {
                return Err(Error::corrupt(NAME, format!("names not ascending at {i}")));
            }
            if let Some(problem) = name_problem(name) {
                return Err(Error::corrupt(
                    NAME,
                    format!("category {name:?} is not allowed: {problem}"),
                ));
            }
            previous = Some(name);
            check_fst(
                parsed.fst_bytes(section, i)?,
                "category fst",
                (1, max_keys),
                nodes,
            )?;
        }
        Ok(parsed)
    }

    /// Number of categories.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Whether each category's FST holds its cuts (format v9) rather than its members' keys.
    pub(crate) fn cuts(&self) -> bool {
        self.cuts
    }

    /// The index of the category called `name`, if any (binary search).
    pub(crate) fn find(&self, bytes: &[u8], name: &str) -> Result<Option<usize>> {
        if self.count == 0 {
            return Ok(None);
        }
        let section = slice(bytes, self.offset, self.len, NAME)?;
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.name_in(section, mid)?.cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(mid)),
            }
        }
        Ok(None)
    }

    /// The name of category `i`.
    pub(crate) fn name<'a>(&self, bytes: &'a [u8], i: usize) -> Result<&'a str> {
        self.name_in(slice(bytes, self.offset, self.len, NAME)?, i)
    }

    /// The FST of category `i`.
    pub(crate) fn fst<'a>(&self, bytes: &'a [u8], i: usize) -> Result<fst::raw::Fst<&'a [u8]>> {
        let section = slice(bytes, self.offset, self.len, NAME)?;
        fst::raw::Fst::new(self.fst_bytes(section, i)?)
            .map_err(|e| Error::corrupt(NAME, e.to_string()))
    }

    /// Size in bytes of category `i`'s FST.
    pub(crate) fn fst_len(&self, bytes: &[u8], i: usize) -> Result<usize> {
        Ok(self
            .fst_bytes(slice(bytes, self.offset, self.len, NAME)?, i)?
            .len())
    }

    fn name_in<'a>(&self, section: &'a [u8], i: usize) -> Result<&'a str> {
        let at = PREAMBLE + i * ENTRY;
        let start = u32_at(section, at, NAME)? as usize;
        let len = u32_at(section, at + 4, NAME)? as usize;
        std::str::from_utf8(slice(section, start, len, NAME)?)
            .map_err(|e| Error::corrupt(NAME, format!("name {i} is not UTF-8: {e}")))
    }

    fn fst_bytes<'a>(&self, section: &'a [u8], i: usize) -> Result<&'a [u8]> {
        let at = PREAMBLE + i * ENTRY;
        let start = to_usize(u64_at(section, at + 8, NAME)?, NAME)?;
        let len = to_usize(u64_at(section, at + 16, NAME)?, NAME)?;
        slice(section, start, len, NAME)
    }
}

/// Appends the section for `(name, fst bytes)` pairs given in ascending name order.
#[cfg(feature = "build")]
pub(crate) fn encode(out: &mut Vec<u8>, entries: &[(&str, Vec<u8>)]) {
    let start = out.len();
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let names_start = PREAMBLE + entries.len() * ENTRY;
    let names_len: usize = entries.iter().map(|(n, _)| n.len()).sum();
    let (mut name_at, mut fst_at) = (names_start, names_start + names_len);
    for (name, fst) in entries {
        out.extend_from_slice(&(name_at as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(fst_at as u64).to_le_bytes());
        out.extend_from_slice(&(fst.len() as u64).to_le_bytes());
        name_at += name.len();
        fst_at += fst.len();
    }
    for (name, _) in entries {
        out.extend_from_slice(name.as_bytes());
    }
    for (_, fst) in entries {
        out.extend_from_slice(fst);
    }
    debug_assert_eq!(out.len() - start, fst_at);
}
