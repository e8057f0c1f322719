//! The top-lists section (formats v4 and v5): precomputed answers for the prefixes with the
//! most matches, so that the shortest, most typed queries skip the best-first walk.
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
//! | T | the entry table (below) |
//! | B | lists: a length byte n, then n entry indices (LEB128), in the walk's order |
//! | … | entry bytes |
//!
//! Version 4 (written by earlier builders, still read): the table holds 12 bytes per entry
//! (cost `u64`, end of its bytes `u32`), entries ascend by cost, and the entry bytes are the
//! keys back to back. Version 5 has no table and front-codes the keys, which are most of the
//! section: entries ascend by key, each one its cost, the length of the prefix it shares with
//! the key before, the length of the rest, and the rest (three LEB128 values and the bytes).
//! Open decodes the entries of either version once into an in-memory [`EntryTable`] (each
//! one's cost and key text, checked as UTF-8 once), so a query reads an entry without
//! splitting or checking its bytes again (the `lean` build, which answers from no list,
//! checks them but keeps no copy).

use super::bytes::{slice, u32_at, u64_at};
use super::{split_entry, Nodes, WORD_START_SEPARATOR};
use crate::error::{Error, Result};

const HEADER: usize = 16;
const NODE: usize = 8;
/// A version 4 entry record.
const ENTRY: usize = 12;
/// The most bytes a version 5 section's keys may decode to, per byte of the section: front
/// coding saves far less (about 40% on real keys), and the bound keeps a crafted section from
/// making open allocate without limit.
const MAX_GROWTH: usize = 16;
const NAME: &str = "top lists";
/// Entries that run past the section's end, or end before it.
const NOT_TO_THE_END: &str = "the entries do not decode to the section's end";
/// Entry bytes that are not a key of the kind the cost says.
const NOT_OF_ITS_KIND: &str = "not a key of its kind (UTF-8, word-start separator)";
/// Entry bytes that are not a key (UTF-8 around at most one word-start separator).
const NOT_A_KEY: &str = "not a key (UTF-8 around at most one word-start separator)";

/// The longest list a segment may hold.
pub(crate) const MAX_LIST: usize = 64;

/// A checked view of the top-lists section (empty when the segment has none).
#[derive(Debug, Clone, Default)]
pub(crate) struct TopLists {
    /// Section start in the segment.
    offset: usize,
    nodes: usize,
    entries: usize,
    lists_len: usize,
    keys_len: usize,
    /// Whether the entries are front-coded (version 5) rather than records.
    compact: bool,
    /// The entries, decoded at open (except by lean builds, which answer from no list).
    table: EntryTable,
    /// Which node addresses may have a list (built at open, except by lean builds).
    filter: AddressFilter,
}

/// Which FST node addresses may have a list: one bit per hash of each listed node's address.
/// Most prefixes of four characters or more lead to a node without a list; a clear bit says
/// so in one load from a table of a few KiB, where the binary search over the node records
/// takes a dozen dependent, unpredictable probes that miss the cache as the walks evict the
/// records. A set bit only means "look": answers never depend on the filter.
#[derive(Debug, Clone, Default)]
struct AddressFilter {
    /// The bits; empty: every address may have a list.
    words: Vec<u64>,
    /// 64 minus the number of bits' base-2 logarithm: a hash's top bits pick its bit.
    shift: u32,
}

impl AddressFilter {
    /// Bits per listed node: about 1 in 16 addresses without a list finds its bit set.
    const BITS_PER_NODE: usize = 16;
    /// The most bits a filter takes (128 KiB), whatever the node count.
    const MAX_BITS: usize = 1 << 20;

    const EMPTY: AddressFilter = AddressFilter {
        words: Vec::new(),
        shift: 0,
    };

    /// The filter of `nodes` addresses.
    fn new(nodes: usize, addresses: impl Iterator<Item = usize>) -> AddressFilter {
        let bits = nodes
            .saturating_mul(Self::BITS_PER_NODE)
            .next_power_of_two()
            .clamp(64, Self::MAX_BITS);
        let mut filter = AddressFilter {
            words: vec![0; bits / 64],
            shift: 64 - bits.trailing_zeros(),
        };
        for addr in addresses {
            let bit = filter.bit(addr);
            filter.words[bit / 64] |= 1 << (bit % 64);
        }
        filter
    }

    /// The bit of `addr`: the top bits of a multiplicative (Fibonacci) hash, which spreads
    /// the addresses of nodes written close together.
    fn bit(&self, addr: usize) -> usize {
        ((addr as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Whether a node at `addr` may have a list.
    #[inline]
    fn may_hold(&self, addr: usize) -> bool {
        let bit = self.bit(addr);
        self.words
            .get(bit / 64)
            .map_or(true, |word| word >> (bit % 64) & 1 == 1)
    }
}

/// List entries as queries read them: each one's cost and key text, the head (the words
/// before a word start) first. Decoded and checked once, so a query reads a match without
/// splitting or checking its bytes again.
#[derive(Debug, Clone, Default)]
pub(crate) struct EntryTable {
    /// Each entry's cost, the end of its text in `text`, and its head's length, with
    /// [`SEPARATED`] set for a word start's entry (whose head may be empty only in crafted
    /// bytes, and is kept as read).
    entries: Vec<(u64, u32, u32)>,
    text: String,
}

/// Marks an [`EntryTable`] entry whose FST bytes hold the word-start separator.
const SEPARATED: u32 = 1 << 31;

/// One entry of an [`EntryTable`]: the key is `head` then `suffix`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListEntry<'a> {
    pub(crate) cost: u64,
    pub(crate) head: &'a str,
    pub(crate) suffix: &'a str,
    /// Whether the FST entry is a word start's (`suffix 0xFF head`).
    pub(crate) word_start: bool,
}

impl ListEntry<'_> {
    /// The FST entry: the key, or for a word start `suffix 0xFF head`.
    pub(crate) fn fst_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.head.len() + self.suffix.len() + 1);
        bytes.extend_from_slice(self.suffix.as_bytes());
        if self.word_start {
            bytes.push(WORD_START_SEPARATOR);
            bytes.extend_from_slice(self.head.as_bytes());
        }
        bytes
    }
}

impl EntryTable {
    /// An empty table, for references that must outlive any stack.
    pub(crate) const EMPTY: EntryTable = EntryTable {
        entries: Vec::new(),
        text: String::new(),
    };

    /// Adds the FST entry `bytes` of `cost` (a key, or a word start's `suffix 0xFF head`)
    /// and says whether it is a word start's; `None`, adding nothing, when the parts are not
    /// UTF-8 or the text would pass 2 GiB.
    pub(crate) fn push(&mut self, cost: u64, bytes: &[u8]) -> Option<bool> {
        let word_start = bytes.contains(&WORD_START_SEPARATOR);
        let (head, suffix) = split_entry(bytes, word_start).ok()?;
        let end = u32::try_from(self.text.len() + head.len() + suffix.len())
            .ok()
            .filter(|&end| end < SEPARATED)?;
        self.text.push_str(head);
        self.text.push_str(suffix);
        let separated = if word_start { SEPARATED } else { 0 };
        self.entries
            .push((cost, end, head.len() as u32 | separated));
        Some(word_start)
    }

    /// Entry `i`, if there is one.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<ListEntry<'_>> {
        let &(cost, end, head) = self.entries.get(i)?;
        let start = i.checked_sub(1).map_or(0, |b| self.entries[b].1) as usize;
        let key = self.text.get(start..end as usize)?;
        let (head_text, suffix) = key.split_at_checked((head & !SEPARATED) as usize)?;
        Some(ListEntry {
            cost,
            head: head_text,
            suffix,
            word_start: head & SEPARATED != 0,
        })
    }

    /// Entry `i`'s cost.
    #[inline]
    pub(crate) fn cost(&self, i: usize) -> Option<u64> {
        self.entries.get(i).map(|&(cost, _, _)| cost)
    }

    /// How many entries the table holds.
    // Only the stack's longer lists, which WebAssembly builds leave out, count or cut.
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops the entries from `len` on (none if it holds no more).
    // Only the stack's longer lists, which WebAssembly builds leave out, count or cut.
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub(crate) fn truncate(&mut self, len: usize) {
        if len >= self.entries.len() {
            return;
        }
        self.entries.truncate(len);
        let end = len.checked_sub(1).map_or(0, |b| self.entries[b].1) as usize;
        self.text.truncate(end);
    }
}

/// Where a prefix's list is and what it costs: the FST node, and the cost accumulated on the
/// way there (which is the list's first cost).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeAt {
    pub(crate) addr: usize,
    pub(crate) cost: u64,
}

impl TopLists {
    /// No lists, for references that must outlive any segment.
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub(crate) const EMPTY: TopLists = TopLists {
        offset: 0,
        nodes: 0,
        entries: 0,
        lists_len: 0,
        keys_len: 0,
        compact: true,
        table: EntryTable::EMPTY,
        filter: AddressFilter::EMPTY,
    };

    /// Checks the section at `offset..offset + len` of a segment of format `version`: sizes,
    /// node addresses inside an FST of `fst_len` bytes and ascending, every list decodable
    /// with indices in range, costs below `max_cost`, and every entry one the FST can hold
    /// (UTF-8 around at most one word-start separator, present exactly when its cost is a
    /// word start's) in the version's order. O(section size); with [`Nodes::Trusted`] (bytes a
    /// trusted validator opened) only the sizes, O(1), plus decoding the entries into the
    /// table (except in lean builds, which keep none), which stays empty should an entry not
    /// be a key.
    pub(crate) fn parse(
        bytes: &[u8],
        (offset, len, version): (usize, usize, u32),
        (count, max_cost): (u64, u64),
        fst_len: usize,
        nodes: Nodes,
    ) -> Result<TopLists> {
        let section = slice(bytes, offset, len, NAME)?;
        let mut top = Self::sizes(section, offset, version >= 5)?;
        let check = (nodes == Nodes::Walk).then_some((count, max_cost));
        match (top.compact, check) {
            // Lean builds keep no decoded entries: trusted bytes need no pass.
            (true, None) if cfg!(feature = "lean") => {}
            (true, _) => top.decode(section, check)?,
            (false, check) => {
                if let Some((count, max_cost)) = check {
                    top.check_entries(section, count, max_cost)?;
                }
                if !cfg!(feature = "lean") {
                    top.decode_records(section, check.is_some())?;
                }
            }
        }
        if nodes == Nodes::Walk {
            top.check_nodes(section, fst_len)?;
        }
        if !cfg!(feature = "lean") {
            top.filter = top.address_filter(section);
        }
        Ok(top)
    }

    /// The filter of the listed nodes' addresses (`sizes` checked that the records fit).
    fn address_filter(&self, section: &[u8]) -> AddressFilter {
        let addresses = (0..self.nodes).filter_map(|i| Some(self.node_record(section, i).ok()?.0));
        AddressFilter::new(self.nodes, addresses)
    }

    /// Reads the four counts and checks that the parts fit the section.
    fn sizes(section: &[u8], offset: usize, compact: bool) -> Result<TopLists> {
        let field = |at| u32_at(section, at, NAME).map(|v| v as usize);
        let (nodes, entries, lists_len, longest) = (field(0)?, field(4)?, field(8)?, field(12)?);
        let table = match compact {
            true => Some(0),
            false => entries.checked_mul(ENTRY),
        };
        let fixed = nodes
            .checked_mul(NODE)
            .and_then(|n| n.checked_add(table?))
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
            compact,
            table: EntryTable::default(),
            filter: AddressFilter::EMPTY,
        })
    }

    fn entries_at(&self) -> usize {
        HEADER + self.nodes * NODE
    }

    fn lists_at(&self) -> usize {
        self.keys_at() - self.lists_len
    }

    fn keys_at(&self) -> usize {
        // `sizes` checked that the parts fit: the entry bytes are the rest.
        self.end() - self.keys_len
    }

    fn end(&self) -> usize {
        let table = match self.compact {
            true => 0,
            false => self.entries * ENTRY,
        };
        self.entries_at() + table + self.lists_len + self.keys_len
    }

    /// Version 4 entry `i`: its cost and its end in the entry bytes.
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
                return Err(entry_error(i, cost, problem));
            }
            (start, previous) = (end, Some(cost));
        }
        Ok(())
    }

    /// Decodes the version 5 entries in one pass and keeps them (lean builds, which answer
    /// from no list, keep none). With `check` (the suggestion count and the cost bound), also
    /// checks that each entry has a cost in range and is a key of its kind. Either way each
    /// entry must decode within the section, share no more than the key before it has and
    /// sort after it, the keys must decode to at most [`MAX_GROWTH`] bytes per section byte,
    /// and the last entry must end the section.
    fn decode(&mut self, section: &[u8], check: Option<(u64, u64)>) -> Result<()> {
        let mut keep = !cfg!(feature = "lean");
        let bytes = &section[..self.end()];
        let mut at = self.keys_at();
        let (mut key, mut decoded_len) = (Vec::new(), 0usize);
        for i in 0..self.entries {
            let Some((cost, shared, rest)) = step(bytes, &mut at) else {
                return Err(entry_error(i, 0, NOT_TO_THE_END));
            };
            decoded_len = decoded_len.saturating_add(shared + rest.len());
            let problem = if decoded_len > section.len().saturating_mul(MAX_GROWTH) {
                Some("the keys decode to too many bytes")
            } else if !sorts_after(&key, shared, rest) {
                Some("keys are not front-coded in ascending order")
            } else {
                key.truncate(shared);
                key.extend_from_slice(rest);
                None
            };
            if let Some(problem) = problem {
                return Err(entry_error(i, cost, problem));
            }
            if keep {
                keep = self.keep(i, cost, &key, check)?;
            } else if let Some(problem) = check.and_then(|bounds| kind_problem(&key, cost, bounds))
            {
                return Err(entry_error(i, cost, problem));
            }
        }
        match at == self.end() {
            true => Ok(()),
            false => Err(entry_error(self.entries, 0, NOT_TO_THE_END)),
        }
    }

    /// Keeps the version 4 entries in the table, as queries read them: each entry's bytes
    /// must lie inside the entry bytes and be a key (see [`TopLists::drop_table`]).
    fn decode_records(&mut self, section: &[u8], checked: bool) -> Result<()> {
        let keys = slice(section, self.keys_at(), self.keys_len, NAME)?;
        let mut start = 0;
        for i in 0..self.entries {
            let (cost, end) = self.entry_record(section, i)?;
            let pushed = keys
                .get(start..end)
                .and_then(|bytes| self.table.push(cost, bytes));
            if pushed.is_none() {
                return self.drop_table(checked, i, cost);
            }
            start = end;
        }
        Ok(())
    }

    /// Adds entry `i` to the table, which checks its bytes as it splits them, then with
    /// `check` its cost as [`kind_problem`] does; returns whether the table goes on (see
    /// [`TopLists::drop_table`]). One pass over the bytes instead of two: open reads every
    /// entry.
    fn keep(&mut self, i: usize, cost: u64, key: &[u8], check: Option<(u64, u64)>) -> Result<bool> {
        let Some(word_start) = self.table.push(cost, key) else {
            self.drop_table(check.is_some(), i, cost)?;
            return Ok(false);
        };
        match check.and_then(|bounds| cost_problem(cost, word_start, bounds)) {
            Some(problem) => Err(entry_error(i, cost, problem)),
            None => Ok(true),
        }
    }

    /// Handles entry `i` of `cost`, which is not a key: an error in checked bytes; trusted
    /// bytes, whose open skips the checks, keep no entries, so no list answers and queries
    /// walk (a list cannot change answers, only how fast they come).
    fn drop_table(&mut self, checked: bool, i: usize, cost: u64) -> Result<()> {
        if checked {
            return Err(entry_error(i, cost, NOT_A_KEY));
        }
        self.table = EntryTable::default();
        Ok(())
    }

    /// The entries as queries read them (empty in lean builds).
    pub(crate) fn table(&self) -> &EntryTable {
        &self.table
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
    pub(crate) fn find<'a>(&'a self, bytes: &'a [u8], at: NodeAt) -> Option<TopList<'a>> {
        if self.nodes == 0 || cfg!(feature = "lean") || !self.filter.may_hold(at.addr) {
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
            let cursor = self.list_at(section, offset)?;
            if self.table.cost(cursor.clone().next_index()?) == Some(at.cost) {
                return Some(TopList { top: self, cursor });
            }
        }
        None
    }

    /// Every node with a list: its address and the list (for deep checks).
    pub(crate) fn all<'a>(
        &'a self,
        bytes: &'a [u8],
    ) -> impl Iterator<Item = (usize, TopList<'a>)> + 'a {
        let top = self;
        let section = bytes.get(self.offset..).unwrap_or_default();
        (0..self.nodes).filter_map(move |i| {
            let (addr, offset) = top.node_record(section, i).ok()?;
            let cursor = top.list_at(section, offset)?;
            Some((addr, TopList { top, cursor }))
        })
    }
}

/// Decodes the version 5 entry at `*at` of `bytes` (the section up to its end): its cost, the
/// length it shares with the key before, and the rest of its bytes; moves `at` past it.
fn step<'a>(bytes: &'a [u8], at: &mut usize) -> Option<(u64, usize, &'a [u8])> {
    let cost = leb128_at(bytes, at)?;
    let shared = usize::try_from(leb128_at(bytes, at)?).ok()?;
    let len = usize::try_from(leb128_at(bytes, at)?).ok()?;
    let rest = bytes.get(*at..)?.get(..len)?;
    *at += len;
    Some((cost, shared, rest))
}

/// Whether the key made of `previous[..shared]` and `rest` sorts strictly after `previous`
/// (and `shared` is within it): the front coding of ascending keys.
fn sorts_after(previous: &[u8], shared: usize, rest: &[u8]) -> bool {
    match (previous.get(shared), rest.first()) {
        (_, None) => false,
        (None, Some(_)) => shared == previous.len(),
        (Some(&p), Some(&r)) => r > p,
    }
}

/// What is wrong with an entry of `cost` and bytes `key`, if anything: a cost out of range,
/// or bytes that are not a key of the kind the cost says.
fn kind_problem(key: &[u8], cost: u64, bounds: (u64, u64)) -> Option<&'static str> {
    let word_start = cost >= bounds.0;
    cost_problem(cost, word_start, bounds).or_else(|| entry_problem(key, word_start))
}

/// Why an entry of `cost`, whose bytes are a word start's or not, cannot be in a segment of
/// `count` suggestions whose costs stay below `max_cost`, if it cannot.
fn cost_problem(
    cost: u64,
    word_start: bool,
    (count, max_cost): (u64, u64),
) -> Option<&'static str> {
    if cost >= max_cost {
        Some("cost out of range")
    } else if word_start != (cost >= count) {
        Some(NOT_OF_ITS_KIND)
    } else {
        None
    }
}

/// Reads the LEB128 value at `*at` (at most 10 bytes) and moves `at` past it.
#[inline]
fn leb128_at(bytes: &[u8], at: &mut usize) -> Option<u64> {
    // Most values here (lengths, small indices) take one byte.
    let &first = bytes.get(*at)?;
    if first < 0x80 {
        *at += 1;
        return Some(u64::from(first));
    }
    let mut value = 0u64;
    for (i, &b) in bytes.get(*at..)?.iter().take(10).enumerate() {
        value |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            *at += i + 1;
            return Some(value);
        }
    }
    None
}

fn entry_error(i: usize, cost: u64, problem: &str) -> Error {
    Error::corrupt(NAME, format!("entry {i} (cost {cost}): {problem}"))
}

/// Why `entry` cannot be an FST entry of the kind its cost says, if it cannot.
fn entry_problem(entry: &[u8], word_start: bool) -> Option<&'static str> {
    split_entry(entry, word_start)
        .err()
        .map(|_| NOT_OF_ITS_KIND)
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
        let mut at = 0;
        let value = leb128_at(self.bytes, &mut at)?;
        self.bytes = &self.bytes[at..];
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
    top: &'a TopLists,
    cursor: ListCursor<'a>,
}

impl TopList<'_> {
    /// The next entry's cost and index in the segment's [`EntryTable`].
    #[inline]
    pub(crate) fn next_indexed(&mut self) -> Option<(u64, u32)> {
        let i = self.cursor.next_index()?;
        Some((self.top.table.cost(i)?, u32::try_from(i).ok()?))
    }
}

impl Iterator for TopList<'_> {
    type Item = (u64, Vec<u8>);

    /// The next entry's cost and FST entry bytes.
    fn next(&mut self) -> Option<(u64, Vec<u8>)> {
        let entry = self.top.table.get(self.cursor.next_index()?)?;
        Some((entry.cost, entry.fst_bytes()))
    }
}

/// Writes the section (version 5) from the chosen nodes (address and entry indices,
/// ascending by address) and the entries (cost and bytes, ascending by bytes).
#[cfg(feature = "build")]
pub(crate) fn encode(out: &mut Vec<u8>, nodes: &[(u32, Vec<u32>)], entries: &[(u64, &[u8])]) {
    let longest = nodes.iter().map(|(_, l)| l.len()).max().unwrap_or(1);
    let mut lists = Vec::new();
    let mut offsets = Vec::with_capacity(nodes.len());
    for (_, list) in nodes {
        offsets.push(lists.len() as u32);
        lists.push(list.len() as u8);
        for &index in list {
            leb128(&mut lists, u64::from(index));
        }
    }
    for v in [nodes.len(), entries.len(), lists.len(), longest] {
        out.extend_from_slice(&(v as u32).to_le_bytes());
    }
    for ((addr, _), offset) in nodes.iter().zip(offsets) {
        out.extend_from_slice(&addr.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
    }
    out.extend_from_slice(&lists);
    let mut previous: &[u8] = &[];
    for &(cost, key) in entries {
        let shared = shared_len(previous, key);
        leb128(out, cost);
        leb128(out, shared as u64);
        leb128(out, (key.len() - shared) as u64);
        out.extend_from_slice(&key[shared..]);
        previous = key;
    }
}

/// The length of the prefix `a` and `b` share.
#[cfg(feature = "build")]
pub(crate) fn shared_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Bytes a version 5 entry of `cost` spends when `rest` of its bytes follow the `shared` ones
/// of the key before it.
#[cfg(feature = "build")]
pub(crate) fn entry_len(cost: u64, shared: usize, rest: usize) -> usize {
    leb128_len(cost) + leb128_len(shared as u64) + leb128_len(rest as u64) + rest
}

/// Bytes the section spends besides its entries: the header, then per node, and per list
/// entry whose index is below `max_index`.
#[cfg(feature = "build")]
pub(crate) fn costs(max_index: usize) -> (usize, usize, usize) {
    (HEADER, NODE + 1, leb128_len(max_index as u64))
}

#[cfg(feature = "build")]
fn leb128_len(v: u64) -> usize {
    (u64::BITS - v.max(1).leading_zeros()).div_ceil(7) as usize
}

#[cfg(feature = "build")]
fn leb128(out: &mut Vec<u8>, mut v: u64) {
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

#[cfg(all(test, feature = "build"))]
mod tests {
    use super::*;

    fn section(entries: &[(u64, &[u8])], lists: &[(u32, Vec<u32>)]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&mut out, lists, entries);
        out
    }

    fn open(section: &[u8], nodes: Nodes) -> Result<TopLists> {
        TopLists::parse(
            section,
            (0, section.len(), 5),
            (1 << 20, 1 << 21),
            1 << 20,
            nodes,
        )
    }

    // Lean builds answer from no list.
    #[cfg(not(feature = "lean"))]
    #[test]
    fn front_coded_entries_round_trip() {
        let entries: [(u64, &[u8]); 4] = [
            (3, b"re"),
            (0, b"react"),
            (2, b"react-dom"),
            (1, b"request"),
        ];
        let bytes = section(&entries, &[(7, vec![1, 3, 2, 0])]);
        for nodes in [Nodes::Walk, Nodes::Trusted] {
            let top = open(&bytes, nodes).unwrap();
            let list: Vec<(u64, Vec<u8>)> = top
                .find(&bytes, NodeAt { addr: 7, cost: 0 })
                .unwrap()
                .collect();
            let want: Vec<(u64, Vec<u8>)> = [1, 3, 2, 0]
                .iter()
                .map(|&i| (entries[i].0, entries[i].1.to_vec()))
                .collect();
            assert_eq!(list, want);
            assert!(top.find(&bytes, NodeAt { addr: 7, cost: 1 }).is_none());
        }
    }

    /// Every listed node is found, through the address filter, among thousands (a filter
    /// that missed any address would hand its prefix to the walk: the same answers, slower,
    /// which no answer test would see); unlisted addresses mostly stop at the filter.
    #[cfg(not(feature = "lean"))]
    #[test]
    fn every_listed_node_is_found_through_the_address_filter() {
        let entries: [(u64, &[u8]); 2] = [(0, b"a"), (1, b"b")];
        // Ascending addresses with uneven gaps, as nodes written back to back have.
        let mut addr = 0u32;
        let mut x = 12345u64;
        let lists: Vec<(u32, Vec<u32>)> = (0..5000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                addr += 1 + (x >> 60) as u32;
                (addr, vec![0, 1])
            })
            .collect();
        let bytes = section(&entries, &lists);
        for nodes in [Nodes::Walk, Nodes::Trusted] {
            let top = open(&bytes, nodes).unwrap();
            for &(addr, _) in &lists {
                let at = NodeAt {
                    addr: addr as usize,
                    cost: 0,
                };
                assert!(top.filter.may_hold(at.addr), "address {addr}");
                assert_eq!(top.find(&bytes, at).map(|l| l.count()), Some(2), "{addr}");
            }
            let listed: std::collections::HashSet<u32> = lists.iter().map(|l| l.0).collect();
            let others: Vec<usize> = (0..=addr + 1000)
                .filter(|a| !listed.contains(a))
                .map(|a| a as usize)
                .collect();
            let passed = others.iter().filter(|&&a| top.filter.may_hold(a)).count();
            // About 1 in 16 by design; a filter that let most through would save nothing.
            assert!(passed * 8 < others.len(), "{passed} of {}", others.len());
            assert!(others
                .iter()
                .all(|&a| top.find(&bytes, NodeAt { addr: a, cost: 0 }).is_none()));
        }
        assert!(AddressFilter::EMPTY.may_hold(7));
    }

    /// An FST entry from parts: the key, or `suffix 0xFF head`.
    fn fst_entry(suffix: &str, head: Option<&str>) -> Vec<u8> {
        let mut bytes = suffix.as_bytes().to_vec();
        if let Some(head) = head {
            bytes.push(WORD_START_SEPARATOR);
            bytes.extend_from_slice(head.as_bytes());
        }
        bytes
    }

    proptest::proptest! {
        /// Every entry reads back as pushed: the key is head then suffix, and the FST bytes
        /// are restored exactly (an empty head after a separator included); bytes that are
        /// not UTF-8 around one separator add nothing.
        #[test]
        fn entry_table_reads_back_what_it_holds(
            parts in proptest::collection::vec(
                ("[a-zé ]{0,6}", proptest::option::of("[a-zé ]{0,6}"), proptest::bool::ANY),
                1..20,
            ),
        ) {
            let mut table = EntryTable::default();
            let mut held = Vec::new();
            for (cost, (suffix, head, broken)) in parts.iter().enumerate() {
                let mut bytes = fst_entry(suffix, head.as_deref());
                if *broken {
                    bytes.push(0xC3);
                }
                let before = table.len();
                let pushed = table.push(cost as u64, &bytes);
                proptest::prop_assert_eq!(pushed.is_some(), !broken);
                proptest::prop_assert_eq!(table.len(), before + usize::from(!broken));
                if !broken {
                    held.push((cost as u64, bytes, suffix.clone(), head.clone()));
                }
            }
            for (i, (cost, bytes, suffix, head)) in held.iter().enumerate() {
                let entry = table.get(i).unwrap();
                proptest::prop_assert_eq!(entry.cost, *cost);
                proptest::prop_assert_eq!(table.cost(i), Some(*cost));
                proptest::prop_assert_eq!(entry.suffix, suffix.as_str());
                proptest::prop_assert_eq!(entry.head, head.as_deref().unwrap_or(""));
                proptest::prop_assert_eq!(entry.word_start, head.is_some());
                proptest::prop_assert_eq!(&entry.fst_bytes(), bytes);
            }
            proptest::prop_assert!(table.get(held.len()).is_none());
            table.truncate(held.len() + 1);
            proptest::prop_assert_eq!(table.len(), held.len());
            table.truncate(held.len() / 2);
            proptest::prop_assert_eq!(table.len(), held.len() / 2);
            let last = (held.len() / 2).checked_sub(1);
            if let Some(last) = last {
                proptest::prop_assert_eq!(table.get(last).unwrap().fst_bytes(), held[last].1.clone());
            }
        }
    }

    #[test]
    fn entries_that_are_not_keys_are_refused_or_unused() {
        let entries: [(u64, &[u8]); 2] = [(0, b"ab"), (1, b"ab\xC3")];
        let bytes = section(&entries, &[(7, vec![0, 1])]);
        let err = open(&bytes, Nodes::Walk).unwrap_err().to_string();
        assert!(err.contains("entry 1 (cost 1)"), "{err}");
        // Trusted bytes skip the checks: the section opens, and no list answers.
        let top = open(&bytes, Nodes::Trusted).unwrap();
        assert!(top.find(&bytes, NodeAt { addr: 7, cost: 0 }).is_none());
    }

    /// A checked open refuses an entry whose cost is out of range, a full key's cost on a
    /// word start's bytes and a word start's cost on a full key's; trusted bytes skip it.
    #[test]
    fn entries_whose_cost_disagrees_are_refused() {
        // Costs from 1 << 20 (the count) are word starts'; 1 << 21 is the bound.
        let word_start = fst_entry("york", Some("new "));
        let cases: [(u64, &[u8], &str); 3] = [
            (1 << 21, b"ab", "cost out of range"),
            (3, &word_start, NOT_OF_ITS_KIND),
            ((1 << 20) + 3, b"ab", NOT_OF_ITS_KIND),
        ];
        for (cost, bytes, problem) in cases {
            let entries = [(0, &b"aa"[..]), (cost, bytes)];
            let section = section(&entries, &[(7, vec![0, 1])]);
            let err = open(&section, Nodes::Walk).unwrap_err().to_string();
            assert!(err.contains(problem), "{cost}: {err}");
            assert!(err.contains(&format!("entry 1 (cost {cost})")), "{err}");
            assert!(open(&section, Nodes::Trusted).is_ok());
        }
        // The same entries with costs of their kind open.
        let entries = [(0, &b"aa"[..]), ((1 << 20) + 3, &word_start[..])];
        let section = section(&entries, &[(7, vec![0, 1])]);
        assert!(open(&section, Nodes::Walk).is_ok());
    }

    #[test]
    fn keys_that_decode_to_too_many_bytes_are_refused() {
        // Each key is the one before and one byte more: a few bytes each on disk, a
        // quadratic number of bytes decoded.
        let keys: Vec<Vec<u8>> = (0..2_000).map(|i| vec![b'a'; 1_000 + i]).collect();
        let entries: Vec<(u64, &[u8])> = keys.iter().map(|k| (0, k.as_slice())).collect();
        let bytes = section(&entries, &[(1, vec![0])]);
        // Trusted bytes are decoded too, except by lean builds, which keep nothing.
        let trusted = (!cfg!(feature = "lean")).then_some(Nodes::Trusted);
        for nodes in std::iter::once(Nodes::Walk).chain(trusted) {
            let err = open(&bytes, nodes).unwrap_err().to_string();
            assert!(err.contains("too many bytes"), "{err}");
        }
    }

    #[test]
    fn bad_front_coding_is_refused_without_allocating_for_the_count() {
        let entries: [(u64, &[u8]); 2] = [(0, b"ab"), (1, b"ac")];
        let good = section(&entries, &[(1, vec![0, 1])]);
        let first = good.len() - 9; // the two entries: 0 0 2 "ab", then 1 1 1 "c"
        assert_eq!(&good[first..first + 3], &[0, 0, 2]);
        let tamper = |at: usize, byte: u8| {
            let mut bad = good.clone();
            bad[first + at] = byte;
            open(&bad, Nodes::Walk).unwrap_err().to_string()
        };
        // Sharing more than the key before has, running past the section, not sorting
        // after the key before.
        assert!(tamper(6, 3).contains("ascending"));
        assert!(tamper(7, 5).contains("decode"));
        assert!(tamper(8, b'a').contains("ascending"));
        // An entry count far beyond what the bytes hold.
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(open(&bad, Nodes::Walk)
            .unwrap_err()
            .to_string()
            .contains("decode"));
    }
}
