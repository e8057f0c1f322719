//! The top-lists section (format v4): precomputed answers for the prefixes with the most
//! matches, so that the shortest, most typed queries skip the best-first walk.
//!
//! For a selection of FST nodes (the node a prefix leads to), the section lists the cheapest
//! entries below the node in cost order, each with its FST entry bytes: exactly what the walk
//! from that node would return first. A query whose exact part ends at a listed node takes its
//! answers from the list; when the list runs out before the query has its `k`, the search walks
//! as if there were no list.
//!
//! Layout (offsets relative to the section start, little-endian):
//!
//! | size | field |
//! |---|---|
//! | 4 | node count N |
//! | 4 | entry count P |
//! | 4 | list bytes B |
//! | 4 | longest list, 1..=[`MAX_LIST`] |
//! | 8N | nodes: FST node address `u32`, list offset `u32`; ascending by address, then by the list's first cost |
//! | 12P | entries: cost `u64`, end of its bytes `u32`; ascending by cost, then bytes (one phrase's word starts share a cost) |
//! | B | lists: a length byte n, then n entry indices (LEB128 `u32`), in the walk's order |
//! | … | entry bytes, back to back |

use super::bytes::{slice, u32_at, u64_at};
use super::{Nodes, WORD_START_SEPARATOR};
use crate::error::{Error, Result};

const HEADER: usize = 16;
const NODE: usize = 8;
const ENTRY: usize = 12;
const NAME: &str = "top lists";

/// The longest list a segment may hold.
pub(crate) const MAX_LIST: usize = 64;

/// A checked view of the top-lists section (empty when the segment has none).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TopLists {
    /// Section start in the segment.
    offset: usize,
    nodes: usize,
    entries: usize,
    lists_len: usize,
    keys_len: usize,
}

/// Where a prefix's list is and what it costs: the FST node, and the cost accumulated on the
/// way there (which is the list's first cost).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeAt {
    pub(crate) addr: usize,
    pub(crate) cost: u64,
}

impl TopLists {
    /// Checks the section at `offset..offset + len`: sizes, node addresses inside an FST of
    /// `fst_len` bytes and ascending, every list decodable with indices in range, costs
    /// ascending and below `max_cost`, and every entry one the FST can hold (UTF-8
    /// around at most one word-start separator, present exactly when its cost is a word
    /// start's). O(section size); with [`Nodes::Trusted`] (bytes a trusted validator opened)
    /// only the sizes, O(1).
    pub(crate) fn parse(
        bytes: &[u8],
        (offset, len): (usize, usize),
        (count, max_cost): (u64, u64),
        fst_len: usize,
        nodes: Nodes,
    ) -> Result<TopLists> {
        let section = slice(bytes, offset, len, NAME)?;
        let top = Self::sizes(section, offset)?;
        if nodes == Nodes::Walk {
            top.check_entries(section, count, max_cost)?;
            top.check_nodes(section, fst_len)?;
        }
        Ok(top)
    }

    /// Reads the four counts and checks that the parts fit the section.
    fn sizes(section: &[u8], offset: usize) -> Result<TopLists> {
        let field = |at| u32_at(section, at, NAME).map(|v| v as usize);
        let (nodes, entries, lists_len, longest) = (field(0)?, field(4)?, field(8)?, field(12)?);
        let fixed = nodes
            .checked_mul(NODE)
            .and_then(|n| n.checked_add(entries.checked_mul(ENTRY)?))
            .and_then(|n| n.checked_add(lists_len)?.checked_add(HEADER));
        let Some(keys_len) = fixed.and_then(|f| section.len().checked_sub(f)) else {
            return Err(Error::corrupt(
                NAME,
                format!(
                    "{nodes} nodes, {entries} entries and {lists_len} list bytes do not fit \
                     in {} bytes",
                    section.len()
                ),
            ));
        };
        if !(1..=MAX_LIST).contains(&longest) || nodes == 0 || entries == 0 {
            return Err(Error::corrupt(
                NAME,
                format!("{nodes} nodes, {entries} entries, lists up to {longest} long"),
            ));
        }
        Ok(TopLists {
            offset,
            nodes,
            entries,
            lists_len,
            keys_len,
        })
    }

    fn entries_at(&self) -> usize {
        HEADER + self.nodes * NODE
    }

    fn lists_at(&self) -> usize {
        self.entries_at() + self.entries * ENTRY
    }

    fn keys_at(&self) -> usize {
        self.lists_at() + self.lists_len
    }

    /// Entry `i`: its cost and its end in the entry bytes.
    fn entry_record(&self, section: &[u8], i: usize) -> Result<(u64, usize)> {
        let at = self.entries_at() + i * ENTRY;
        let cost = u64_at(section, at, NAME)?;
        Ok((cost, u32_at(section, at + 8, NAME)? as usize))
    }

    fn check_entries(&self, section: &[u8], count: u64, max_cost: u64) -> Result<()> {
        let keys = slice(section, self.keys_at(), self.keys_len, NAME)?;
        let (mut start, mut previous) = (0usize, None);
        for i in 0..self.entries {
            let (cost, end) = self.entry_record(section, i)?;
            let problem = if previous.is_some_and(|p| cost < p) || cost >= max_cost {
                Some("costs are not ascending or out of range")
            } else if end <= start
                || end > keys.len()
                || (i + 1 == self.entries) != (end == keys.len())
            {
                Some("entry bytes out of order")
            } else {
                entry_problem(&keys[start..end], cost >= count)
            };
            if let Some(problem) = problem {
                return Err(Error::corrupt(
                    NAME,
                    format!("entry {i} (cost {cost}): {problem}"),
                ));
            }
            (start, previous) = (end, Some(cost));
        }
        Ok(())
    }

    fn check_nodes(&self, section: &[u8], fst_len: usize) -> Result<()> {
        let mut previous = 0usize;
        for i in 0..self.nodes {
            let (addr, list) = self.node_record(section, i)?;
            let decoded = self
                .list_at(section, list)
                .and_then(|l| l.check(self.entries));
            if addr < previous || addr >= fst_len || decoded.is_none() {
                return Err(Error::corrupt(
                    NAME,
                    format!("node {i} at {addr}: out of order, outside the FST, or a bad list"),
                ));
            }
            previous = addr;
        }
        Ok(())
    }

    /// Node `i`: its FST address and its list's offset.
    fn node_record(&self, section: &[u8], i: usize) -> Result<(usize, usize)> {
        let at = HEADER + i * NODE;
        let addr = u32_at(section, at, NAME)? as usize;
        Ok((addr, u32_at(section, at + 4, NAME)? as usize))
    }

    /// The list stored at `offset` in the list bytes, if it lies there.
    fn list_at<'a>(&self, section: &'a [u8], offset: usize) -> Option<ListCursor<'a>> {
        let lists = section.get(self.lists_at()..self.keys_at())?;
        let (&len, rest) = lists.get(offset..)?.split_first()?;
        (1..=MAX_LIST as u8).contains(&len).then_some(ListCursor {
            bytes: rest,
            left: len,
        })
    }

    /// The list of the node at `at`, if the section has one for it: among the records of that
    /// address, the one whose first cost is the cost accumulated on the way (a node shared by
    /// several prefixes is reached with a different cost from each).
    pub(crate) fn find<'a>(&self, bytes: &'a [u8], at: NodeAt) -> Option<TopList<'a>> {
        if self.nodes == 0 {
            return None;
        }
        let section = bytes.get(self.offset..)?;
        let (mut lo, mut hi) = (0, self.nodes);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.node_record(section, mid).ok()?.0 < at.addr {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for i in lo..self.nodes {
            let (addr, offset) = self.node_record(section, i).ok()?;
            if addr != at.addr {
                return None;
            }
            let list = TopList {
                top: *self,
                section,
                cursor: self.list_at(section, offset)?,
            };
            if list.clone().next().map(|(cost, _)| cost) == Some(at.cost) {
                return Some(list);
            }
        }
        None
    }

    /// Every node with a list: its address and the list (for deep checks).
    pub(crate) fn all<'a>(
        &self,
        bytes: &'a [u8],
    ) -> impl Iterator<Item = (usize, TopList<'a>)> + 'a {
        let top = *self;
        let section = bytes.get(self.offset..).unwrap_or_default();
        (0..self.nodes).filter_map(move |i| {
            let (addr, offset) = top.node_record(section, i).ok()?;
            let cursor = top.list_at(section, offset)?;
            Some((
                addr,
                TopList {
                    top,
                    section,
                    cursor,
                },
            ))
        })
    }
}

/// Why `entry` cannot be an FST entry of the kind its cost says, if it cannot.
fn entry_problem(entry: &[u8], word_start: bool) -> Option<&'static str> {
    let parts: Vec<&[u8]> = entry.splitn(2, |&b| b == WORD_START_SEPARATOR).collect();
    let ok = match parts[..] {
        [key] => !word_start && std::str::from_utf8(key).is_ok(),
        [suffix, head] => {
            word_start && std::str::from_utf8(suffix).is_ok() && std::str::from_utf8(head).is_ok()
        }
        _ => false,
    };
    (!ok).then_some("not a key of its kind (UTF-8, word-start separator)")
}

/// Position in one encoded list.
#[derive(Debug, Clone, Copy)]
struct ListCursor<'a> {
    bytes: &'a [u8],
    left: u8,
}

impl ListCursor<'_> {
    /// The next entry index, `None` at the end or on bytes that do not decode.
    fn next_index(&mut self) -> Option<usize> {
        if self.left == 0 {
            return None;
        }
        let mut value = 0u64;
        let mut used = 0;
        for (i, &b) in self.bytes.iter().take(5).enumerate() {
            value |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                used = i + 1;
                break;
            }
        }
        if used == 0 {
            return None;
        }
        self.bytes = &self.bytes[used..];
        self.left -= 1;
        usize::try_from(value).ok()
    }

    /// Decodes the whole list: `Some` when every index is below `entries`.
    fn check(mut self, entries: usize) -> Option<()> {
        while self.left > 0 {
            if self.next_index()? >= entries {
                return None;
            }
        }
        Some(())
    }
}

/// One node's list: its entries, cheapest first, as `(cost, FST entry bytes)`.
#[derive(Debug, Clone)]
pub(crate) struct TopList<'a> {
    top: TopLists,
    section: &'a [u8],
    cursor: ListCursor<'a>,
}

impl<'a> TopList<'a> {
    /// The next entry's cost and where its bytes lie in the segment.
    pub(crate) fn next_range(&mut self) -> Option<(u64, std::ops::Range<usize>)> {
        let i = self.cursor.next_index()?;
        let (cost, end) = self.top.entry_record(self.section, i).ok()?;
        let start = match i.checked_sub(1) {
            Some(before) => self.top.entry_record(self.section, before).ok()?.1,
            None => 0,
        };
        let keys = self.top.offset + self.top.keys_at();
        (start <= end && end <= self.top.keys_len).then_some((cost, keys + start..keys + end))
    }
}

impl<'a> Iterator for TopList<'a> {
    type Item = (u64, &'a [u8]);

    fn next(&mut self) -> Option<(u64, &'a [u8])> {
        let (cost, range) = self.next_range()?;
        // `section` starts at the section, `range` at the segment.
        let offset = self.top.offset;
        Some((
            cost,
            self.section.get(range.start - offset..range.end - offset)?,
        ))
    }
}

/// Writes the section from the chosen nodes (address and entry indices, ascending by address)
/// and the entries (cost and bytes, ascending).
#[cfg(feature = "build")]
pub(crate) fn encode(out: &mut Vec<u8>, nodes: &[(u32, Vec<u32>)], entries: &[(u64, &[u8])]) {
    let longest = nodes.iter().map(|(_, l)| l.len()).max().unwrap_or(1);
    let mut lists = Vec::new();
    let mut offsets = Vec::with_capacity(nodes.len());
    for (_, list) in nodes {
        offsets.push(lists.len() as u32);
        lists.push(list.len() as u8);
        for &index in list {
            leb128(&mut lists, index);
        }
    }
    for v in [nodes.len(), entries.len(), lists.len(), longest] {
        out.extend_from_slice(&(v as u32).to_le_bytes());
    }
    for ((addr, _), offset) in nodes.iter().zip(offsets) {
        out.extend_from_slice(&addr.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
    }
    let mut end = 0u32;
    for (cost, key) in entries {
        end += key.len() as u32;
        out.extend_from_slice(&cost.to_le_bytes());
        out.extend_from_slice(&end.to_le_bytes());
    }
    out.extend_from_slice(&lists);
    for (_, key) in entries {
        out.extend_from_slice(key);
    }
}

/// Bytes [`encode`] spends at most: the header, then per node, per list entry whose index is
/// below `max_index`, and per entry (plus its bytes).
#[cfg(feature = "build")]
pub(crate) fn costs(max_index: usize) -> (usize, usize, usize, usize) {
    let index_bytes = (usize::BITS - max_index.max(1).leading_zeros()).div_ceil(7) as usize;
    (HEADER, NODE + 1, index_bytes, ENTRY)
}

#[cfg(feature = "build")]
fn leb128(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
