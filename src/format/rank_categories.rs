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

/// Set ids whose names [`SetNames`] holds, at most: real data has a few dozen sets.
#[cfg(not(feature = "lean"))]
const NAMED_SETS: u32 = 4096;

/// Each category set's joined names by set id, read from the table once when the segment
/// opens: a suggestion's categories are then its set id and one index, where the table's
/// search and the names' UTF-8 check took about 150 instructions per suggestion. A set
/// whose entry does not read is left out, so that a look-up of it fails as before. Not in
/// lean builds (the worker's module is counted in bytes).
#[cfg(not(feature = "lean"))]
#[derive(Debug, Clone, Default)]
pub(crate) struct SetNames(Vec<Option<Box<str>>>);

#[cfg(not(feature = "lean"))]
impl SetNames {
    /// The names of sets 1 up to the table's count (at most [`NAMED_SETS`]); none when the
    /// table is keyed by rank (before format v6).
    pub(crate) fn read(ids: &Scores, table: &Strings, bytes: &[u8]) -> SetNames {
        if !ids.is_present() {
            return SetNames::default();
        }
        let last = u32::try_from(table.count()).map_or(NAMED_SETS, |n| n.min(NAMED_SETS));
        let names = (0..=last).map(|id| match id {
            0 => None,
            id => table.get(bytes, id).ok().flatten().map(Box::from),
        });
        SetNames(names.collect())
    }
}

/// A segment's categories by rank: its parsed sections, borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RankCategories<'s> {
    /// Each rank's set id (format v6); an absent section when `table` is keyed by rank
    /// itself.
    pub(crate) ids: &'s Scores,
    /// The joined names: by set id, or by rank in the older layout.
    pub(crate) table: &'s Strings,
    /// The table's entries by set id, read once.
    #[cfg(not(feature = "lean"))]
    pub(crate) names: &'s SetNames,
}

impl<'s> RankCategories<'s> {
    /// The categories of `rank`, comma-separated in byte order, if any.
    // One copy in WebAssembly, whose modules are counted in bytes.
    #[cfg_attr(target_family = "wasm", inline(never))]
    pub(crate) fn get(&self, bytes: &'s [u8], rank: u32) -> Result<Option<&'s str>> {
        let key = if !self.ids.is_present() {
            rank
        } else {
            let id = match self.ids.get(bytes, rank as usize)? {
                0 => return Ok(None),
                id => u32::try_from(id).unwrap_or(u32::MAX),
            };
            #[cfg(not(feature = "lean"))]
            if let Some(Some(names)) = self.names.0.get(id as usize) {
                return Ok(Some(names));
            }
            id
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

#[cfg(all(test, feature = "build", not(feature = "lean")))]
mod tests {
    use super::*;
    use crate::{Segment, SegmentBuilder};

    /// Every rank's categories read through the set names are the table's, in a segment
    /// with a few sets and in one with more than the names hold.
    #[test]
    fn set_names_answer_as_the_table() {
        for sets in [4u32, NAMED_SETS + 40] {
            let mut builder = SegmentBuilder::new();
            for i in 0..(sets * 2) {
                // The categories of the bits of `i % sets`: a set of its own for each value,
                // none for 0.
                let set = i % sets;
                let names: Vec<String> = (0..16)
                    .filter(|bit| set & (1 << bit) != 0)
                    .map(|bit| format!("c{bit}"))
                    .collect();
                builder
                    .add_row(&format!("phrase {i}"), u64::from(i), None, &names)
                    .unwrap();
            }
            let segment = Segment::load(builder.finish().unwrap().bytes).unwrap();
            let cached = segment.rank_categories();
            let named = cached.names.0.iter().flatten().count();
            assert_eq!(named as u32, (sets - 1).min(NAMED_SETS), "sets named");
            let none = SetNames::default();
            let uncached = RankCategories {
                names: &none,
                ..cached
            };
            let bytes = segment.as_bytes();
            let mut with_names = 0;
            for rank in 0..segment.len() as u32 {
                let names = cached.get(bytes, rank).unwrap();
                assert_eq!(names, uncached.get(bytes, rank).unwrap(), "rank {rank}");
                with_names += usize::from(names.is_some());
            }
            assert!(
                with_names > segment.len() / 2,
                "{with_names} ranks with names"
            );
        }
    }
}
