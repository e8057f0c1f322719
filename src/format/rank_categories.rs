//! Each suggestion's categories, by rank, in either of two layouts:
//!
//! - format v2 to v5 (read only): the `rank categories` section alone, a sparse string table
//!   by rank holding each suggestion's names joined by commas: 8 bytes of rank and offset plus
//!   the names for every suggestion with categories;
//! - format v6 (written): a `category ids` section, one set id per rank bit-packed as scores
//!   are (each block of 64 ranks stores its largest id once and each id as a fixed-width
//!   difference from it), and the `rank categories` string table indexed by set id instead of
//!   rank. Real data has a few dozen distinct sets, so a suggestion's categories take a few
//!   bits where the names took about 19 bytes. Set id 0 means no categories and is never in
//!   the table.

use super::scores::Scores;
use super::strings::Strings;
use crate::error::{Error, Result};

/// The name of the set ids' section, for errors.
const IDS: &str = "category ids";

/// A segment's categories by rank: its parsed sections, borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RankCategories<'s> {
    /// Each rank's set id (format v6); an absent section when `table` is keyed by rank
    /// itself.
    pub(crate) ids: &'s Scores,
    /// The joined names: by set id, or by rank in the older layout.
    pub(crate) table: &'s Strings,
}

impl RankCategories<'_> {
    /// The categories of `rank`, comma-separated in byte order, if any.
    // One copy in WebAssembly, whose modules are counted in bytes.
    #[cfg_attr(target_family = "wasm", inline(never))]
    pub(crate) fn get<'a>(&self, bytes: &'a [u8], rank: u32) -> Result<Option<&'a str>> {
        let key = if !self.ids.is_present() {
            rank
        } else {
            match self.ids.get(bytes, rank as usize)? {
                0 => return Ok(None),
                id => u32::try_from(id).unwrap_or(u32::MAX),
            }
        };
        // A set id missing from the table reads as no categories here, and is refused by
        // `check_all`: the query path stays small in WebAssembly, counted in bytes.
        self.table.get(bytes, key)
    }

    /// Reads every entry (for full verification): the table's keys ascend and its strings
    /// are UTF-8; in the older layout every rank is below `count`, in the newer every set id
    /// of the `count` ranks is 0 or in the table.
    pub(crate) fn check_all(&self, bytes: &[u8], count: usize) -> Result<()> {
        self.table.check_all(bytes)?;
        if self.ids.is_present() {
            return check_ids(self.ids, self.table, bytes, count);
        }
        match self.table.max_rank(bytes)? {
            Some(max) if max as usize >= count => Err(Error::corrupt(
                "rank categories",
                format!("rank {max} >= count {count}"),
            )),
            _ => Ok(()),
        }
    }
}

/// Every rank's set id is 0 (no categories) or a key of `table`.
fn check_ids(ids: &Scores, table: &Strings, bytes: &[u8], count: usize) -> Result<()> {
    for rank in 0..count {
        let id = ids.get(bytes, rank)?;
        let names = match u32::try_from(id) {
            Ok(key) => table.get(bytes, key)?,
            Err(_) => None,
        };
        if id != 0 && names.is_none() {
            return Err(Error::corrupt(
                IDS,
                format!("rank {rank} has set {id}, which the rank categories table lacks"),
            ));
        }
    }
    Ok(())
}
