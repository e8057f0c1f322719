//! The category top-lists section (format v7): for each category's FST, top lists exactly as
//! the top-lists section (`format::top`, version 5 layout) gives them for the main FST, so a
//! filtered query whose exact part ends at a listed node of its category's FST takes its first
//! answers from the list instead of walking.
//!
//! Layout (offsets relative to the section start, little-endian):
//!
//! | size | field |
//! |---|---|
//! | 4 | category count C: the categories section's |
//! | 8C | per category, in the categories section's order: offset `u32`, length `u32` of its lists (length 0: none) |
//! | … | the lists of each category that has any, back to back in category order, each laid out as a version 5 top-lists section over that category's FST |
//!
//! WebAssembly builds read none of it: their modules are counted in bytes, a list only makes a
//! query faster, and a segment opened without its lists answers the same. (The writer is in
//! every build with the builder.)
// The reader is compiled for WebAssembly too, and left out of its modules as unused.
#![cfg_attr(target_family = "wasm", allow(dead_code))]

use super::bytes::{slice, u32_at};
use super::categories::Categories;
use super::top::TopLists;
use super::Nodes;
use crate::error::{Error, Result};

const NAME: &str = "category top lists";
const PREAMBLE: usize = 4;
const ENTRY: usize = 8;

/// Appends the section for one optional top-lists section per category, in category order.
#[cfg(feature = "build")]
pub(crate) fn encode(out: &mut Vec<u8>, lists: &[Option<Vec<u8>>]) {
    out.extend_from_slice(&(lists.len() as u32).to_le_bytes());
    let mut at = PREAMBLE + lists.len() * ENTRY;
    for list in lists {
        let len = list.as_ref().map_or(0, Vec::len);
        let offset = if len == 0 { 0 } else { at };
        out.extend_from_slice(&(offset as u32).to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        at += len;
    }
    for list in lists.iter().flatten() {
        out.extend_from_slice(list);
    }
}

/// Each category's top lists, checked (empty for a category without any).
#[derive(Debug, Clone, Default)]
pub(crate) struct CategoryTopLists {
    lists: Vec<TopLists>,
}

/// What checking a category's lists needs to know about the segment.
pub(crate) struct Frame<'c> {
    /// The segment's format version.
    pub(crate) version: u32,
    /// Suggestions, and the bound of any cost (twice the suggestions with word starts).
    pub(crate) costs: (u64, u64),
    /// The segment's categories, whose FSTs the lists describe.
    pub(crate) categories: &'c Categories,
}

impl CategoryTopLists {
    /// Checks the section at `offset..offset + len`: one entry per category of `frame`, the
    /// categories' lists back to back from the end of the table to the end of the section
    /// (an entry without lists has offset 0), and each one a top-lists section whose nodes
    /// lie inside that category's FST (see [`TopLists::parse`]). O(section size); with
    /// [`Nodes::Trusted`] the same sizes and a decode of the entries.
    pub(crate) fn parse(
        bytes: &[u8],
        (offset, len): (usize, usize),
        frame: Frame<'_>,
        nodes: Nodes,
    ) -> Result<CategoryTopLists> {
        let section = slice(bytes, offset, len, NAME)?;
        let count = u32_at(section, 0, NAME)? as usize;
        if count != frame.categories.count() {
            return Err(Error::corrupt(
                NAME,
                format!(
                    "lists for {count} categories, the segment has {}",
                    frame.categories.count()
                ),
            ));
        }
        let mut lists = Vec::with_capacity(count);
        let mut free = PREAMBLE + count * ENTRY;
        for i in 0..count {
            let at = PREAMBLE + i * ENTRY;
            let (start, size) = (u32_at(section, at, NAME)?, u32_at(section, at + 4, NAME)?);
            let (start, size) = (start as usize, size as usize);
            if size == 0 && start == 0 {
                lists.push(TopLists::default());
                continue;
            }
            if size == 0 || start != free || start.checked_add(size).map_or(true, |e| e > len) {
                return Err(Error::corrupt(
                    NAME,
                    format!(
                        "category {i}'s lists at {start} ({size} bytes) do not follow the \
                         previous ones at {free} within the section's {len} bytes"
                    ),
                ));
            }
            free = start + size;
            let fst_len = frame.categories.fst_len(bytes, i)?;
            let parsed = TopLists::parse(
                bytes,
                (offset + start, size, frame.version),
                frame.costs,
                fst_len,
                nodes,
            );
            lists.push(parsed.map_err(|e| Error::corrupt(NAME, format!("category {i}: {e}")))?);
        }
        if free != len {
            return Err(Error::corrupt(
                NAME,
                format!("{} bytes after the last category's lists", len - free),
            ));
        }
        Ok(CategoryTopLists { lists })
    }

    /// The lists of category `i` (empty when it has none).
    pub(crate) fn of(&self, i: usize) -> &TopLists {
        const NONE: &TopLists = &TopLists::EMPTY;
        self.lists.get(i).unwrap_or(NONE)
    }
}
