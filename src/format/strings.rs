//! A sparse table of strings by rank (display forms, payloads): only ranks that have one are
//! stored, found by binary search within the entries of the rank's bucket.
//!
//! Layout: `count: u32`, `reserved: u32`, `count` ascending ranks (`u32`), `count + 1`
//! ascending byte offsets (`u32`, first 0, last = data length), then the UTF-8 data.

use super::bytes::{slice, u32_at};
use crate::error::{Error, Result};

const PREAMBLE: usize = 8;

/// Ranks per bucket of [`Strings::starts`], at least: 2 to the power of this.
const MIN_BUCKET_SHIFT: u32 = 6;

/// A parsed view of a string table section.
#[derive(Debug, Clone)]
pub(crate) struct Strings {
    name: &'static str,
    offset: usize,
    len: usize,
    count: usize,
    /// Where each bucket of ranks starts among the entries: ranks `b << shift` up to
    /// `(b + 1) << shift` are entries `starts[b]..starts[b + 1]`. A binary search over all
    /// the ranks took 18 probes of scattered memory per lookup in a table of 200,000, ten
    /// lookups a query; within a bucket it takes a few in one or two cache lines.
    starts: Vec<u32>,
    shift: u32,
    /// For a table dense enough, which ranks have an entry (then `starts` is empty): a
    /// look-up finds its entry, or that there is none, without reading the ranks, which was a
    /// cache miss per suggestion in a large table. Not in lean builds (the worker's module is
    /// counted in bytes).
    #[cfg(not(feature = "lean"))]
    present: Option<Present>,
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
        let ranks = slice(section, PREAMBLE, count * 4, name)?;
        #[cfg(not(feature = "lean"))]
        let present = Present::of(ranks);
        #[cfg(not(feature = "lean"))]
        let (starts, shift) = match present {
            Some(_) => (Vec::new(), 0),
            None => bucket_starts(ranks),
        };
        #[cfg(feature = "lean")]
        let (starts, shift) = bucket_starts(ranks);
        Ok(Strings {
            name,
            offset,
            len,
            count,
            starts,
            shift,
            #[cfg(not(feature = "lean"))]
            present,
        })
    }

    /// An empty table (section absent).
    pub(crate) fn empty(name: &'static str) -> Strings {
        Strings {
            name,
            offset: 0,
            len: 0,
            count: 0,
            starts: Vec::new(),
            shift: 0,
            #[cfg(not(feature = "lean"))]
            present: None,
        }
    }

    /// Number of stored strings.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The string stored for `rank`, if any.
    // Inlined natively: its result, returned through memory, was read back in a stalled
    // load, once per suggestion. WebAssembly modules are counted in bytes.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    pub(crate) fn get<'a>(&self, bytes: &'a [u8], rank: u32) -> Result<Option<&'a str>> {
        match self.locate(bytes, rank)? {
            Some(stored) => self.text(bytes, stored).map(Some),
            None => Ok(None),
        }
    }

    /// Where the string stored for `rank` lies, if it has one: found and its offsets read,
    /// its bytes not yet. The offsets and the bytes of a large table are cold memory, two
    /// cache misses a string; locating every string of an answer before reading any lets
    /// those misses overlap instead of following one another.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    pub(crate) fn locate(&self, bytes: &[u8], rank: u32) -> Result<Option<Stored>> {
        if self.count == 0 {
            return Ok(None);
        }
        let section = slice(bytes, self.offset, self.len, self.name)?;
        #[cfg(not(feature = "lean"))]
        if let Some(present) = &self.present {
            return match present.entry(rank) {
                Some(i) => self.stored(section, i).map(Some),
                None => Ok(None),
            };
        }
        let bucket = (u64::from(rank) >> self.shift) as usize;
        let (Some(&lo), Some(&hi)) = (self.starts.get(bucket), self.starts.get(bucket + 1)) else {
            // Past the last bucket: above every stored rank.
            return Ok(None);
        };
        let (mut lo, mut hi) = (lo as usize, hi as usize);
        let mut probe = self.first_probe(rank, lo, hi);
        while lo < hi {
            let r = u32_at(section, PREAMBLE + probe * 4, self.name)?;
            if r < rank {
                lo = probe + 1;
            } else if r > rank {
                hi = probe;
            } else {
                return self.stored(section, probe).map(Some);
            }
            probe = lo + (hi - lo) / 2;
        }
        Ok(None)
    }

    /// The bytes of the string [`Strings::locate`] found, not checked as UTF-8.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    pub(crate) fn raw<'a>(&self, bytes: &'a [u8], stored: Stored) -> Result<&'a [u8]> {
        let section = slice(bytes, self.offset, self.len, self.name)?;
        slice(section, stored.start, stored.len, self.name)
    }

    /// The string [`Strings::locate`] found, checked as UTF-8.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    pub(crate) fn text<'a>(&self, bytes: &'a [u8], stored: Stored) -> Result<&'a str> {
        self.text_in(slice(bytes, self.offset, self.len, self.name)?, stored)
    }

    /// The string at `stored` in the section, checked as UTF-8.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    fn text_in<'a>(&self, section: &'a [u8], stored: Stored) -> Result<&'a str> {
        let raw = slice(section, stored.start, stored.len, self.name)?;
        std::str::from_utf8(raw).map_err(|e| {
            Error::corrupt(
                self.name,
                format!("entry {} is not UTF-8: {e}", stored.entry),
            )
        })
    }

    /// Where the search for `rank` among the entries `lo..hi` of its bucket reads first (below
    /// `hi` when `lo < hi`): where the rank would be if the bucket's ranks were evenly spread.
    /// In a table that holds most ranks (display forms of mixed-case data) that is its entry,
    /// found in one read instead of a search over several cache lines.
    #[cfg(not(feature = "lean"))]
    #[inline]
    fn first_probe(&self, rank: u32, lo: usize, hi: usize) -> usize {
        let into = u64::from(rank) & ((1u64 << self.shift) - 1);
        lo + ((into * (hi - lo) as u64) >> self.shift) as usize
    }

    /// Lean builds (the worker's) read the middle first: the bundle has no room for the code.
    #[cfg(feature = "lean")]
    #[inline]
    fn first_probe(&self, _rank: u32, lo: usize, hi: usize) -> usize {
        lo + (hi - lo) / 2
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

    /// Entry `i` of the table, checked as UTF-8.
    fn entry<'a>(&self, section: &'a [u8], i: usize) -> Result<&'a str> {
        self.text_in(section, self.stored(section, i)?)
    }

    /// Where entry `i`'s bytes lie in the section, from its offsets.
    // As `get`.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    fn stored(&self, section: &[u8], i: usize) -> Result<Stored> {
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
        Ok(Stored {
            entry: i,
            start: data_start + start,
            len: end - start,
        })
    }
}

/// Where a table's string lies: its entry and its bytes in the section, not yet read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stored {
    entry: usize,
    start: usize,
    len: usize,
}

/// Appends the section for `(rank, text)` pairs given in ascending rank order. Takes them
/// as an iterator, walked once to size the section and once per part, so that a build never
/// holds them all as a list: 24 bytes a suggestion, more than most texts.
#[cfg(feature = "build")]
pub(crate) fn encode<'t>(out: &mut Vec<u8>, entries: impl Iterator<Item = (u32, &'t str)> + Clone) {
    let (count, text_bytes) = entries
        .clone()
        .fold((0usize, 0usize), |(n, len), (_, text)| {
            (n + 1, len + text.len())
        });
    out.reserve(8 + 4 * count + 4 * (count + 1) + text_bytes);
    out.extend_from_slice(&(count as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for (rank, _) in entries.clone() {
        out.extend_from_slice(&rank.to_le_bytes());
    }
    let mut offset = 0u32;
    out.extend_from_slice(&offset.to_le_bytes());
    for (_, text) in entries.clone() {
        offset += text.len() as u32;
        out.extend_from_slice(&offset.to_le_bytes());
    }
    for (_, text) in entries {
        out.extend_from_slice(text.as_bytes());
    }
}

/// The buckets of `ranks` (little-endian `u32`s, ascending): the smallest power of two of
/// ranks per bucket, at least 2^[`MIN_BUCKET_SHIFT`], that makes no more buckets than
/// entries, so the index takes at most 4 bytes per entry whatever the ranks claim. Ranks out
/// of order (a corrupt table) give buckets that miss entries, never an error: lookups stay
/// bounded, and `verify_deep` refuses such a table.
fn bucket_starts(ranks: &[u8]) -> (Vec<u32>, u32) {
    let rank = |i: usize| {
        let b = &ranks[i * 4..i * 4 + 4];
        u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let count = ranks.len() / 4;
    if count == 0 {
        return (Vec::new(), 0);
    }
    let last = rank(count - 1);
    let mut shift = MIN_BUCKET_SHIFT;
    while (last >> shift) + 1 > count as u64 {
        shift += 1;
    }
    let buckets = (last >> shift) as usize + 1;
    let mut starts = Vec::with_capacity(buckets + 1);
    let mut i = 0;
    for bucket in 0..=buckets as u64 {
        while i < count && rank(i) < bucket << shift {
            i += 1;
        }
        starts.push(i as u32);
    }
    // The end: a rank out of order before it would have stopped the scan short.
    if let Some(end) = starts.last_mut() {
        *end = count as u32;
    }
    (starts, shift)
}

/// Which ranks of a string table have an entry, with the count of entries before each word
/// of 64 ranks: a rank's entry index is that count plus the set bits below its own.
#[cfg(not(feature = "lean"))]
#[derive(Debug, Clone)]
struct Present {
    /// Bit `r % 64` of word `r / 64` is set when rank `r` has an entry.
    bits: Vec<u64>,
    /// Entries before each word.
    before: Vec<u32>,
}

#[cfg(not(feature = "lean"))]
impl Present {
    /// The ranks of `ranks` (little-endian `u32`s); `None` when they are not strictly
    /// ascending (a crafted table, which the bucket search answers boundedly) or are sparser
    /// than one word per entry, which bounds the memory by 12 bytes per entry.
    fn of(ranks: &[u8]) -> Option<Present> {
        let rank = |i: usize| {
            let b = &ranks[i * 4..i * 4 + 4];
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        let count = ranks.len() / 4;
        let words = (rank(count.checked_sub(1)?) / 64) as usize + 1;
        if words > count {
            return None;
        }
        let mut bits = vec![0u64; words];
        let mut previous = None;
        for i in 0..count {
            let r = rank(i);
            if previous.is_some_and(|p| p >= r) {
                return None;
            }
            previous = Some(r);
            // Past the last rank's word: out of order too.
            *bits.get_mut((r / 64) as usize)? |= 1 << (r % 64);
        }
        let mut total = 0u32;
        let before = bits
            .iter()
            .map(|word| {
                let here = total;
                total += word.count_ones();
                here
            })
            .collect();
        Some(Present { bits, before })
    }

    /// The index of the entry of `rank`, if it has one.
    #[inline]
    fn entry(&self, rank: u32) -> Option<usize> {
        let word = (rank / 64) as usize;
        let bits = *self.bits.get(word)?;
        let bit = 1u64 << (rank % 64);
        let below = (bits & (bit - 1)).count_ones() as usize;
        (bits & bit != 0).then(|| self.before[word] as usize + below)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A section holding `ranks` (ascending or not), each with its rank as text.
    fn section(ranks: &[u32]) -> Vec<u8> {
        let texts: Vec<String> = ranks.iter().map(|r| r.to_string()).collect();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(ranks.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        for r in ranks {
            bytes.extend_from_slice(&r.to_le_bytes());
        }
        let mut end = 0u32;
        bytes.extend_from_slice(&end.to_le_bytes());
        for t in &texts {
            end += t.len() as u32;
            bytes.extend_from_slice(&end.to_le_bytes());
        }
        for t in &texts {
            bytes.extend_from_slice(t.as_bytes());
        }
        bytes
    }

    /// Every rank is found exactly when stored, with its string, whatever the spread of the
    /// ranks (dense, sparse, one far out, the largest `u32`): compared with a scan.
    #[test]
    fn lookups_by_bucket_find_exactly_the_stored_ranks() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut draw = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut cases: Vec<Vec<u32>> = vec![
            vec![0],
            vec![u32::MAX],
            vec![0, 63, 64, 65, 127, 128],
            vec![5, 1 << 20, u32::MAX - 1, u32::MAX],
            // Dense tables, whose first probe lands on the entry or next to it.
            (0..1000).collect(),
            (0..3000).filter(|r| r % 97 != 5 && r % 13 != 0).collect(),
        ];
        for spread in [2u64, 10, 100, 100_000] {
            let mut ranks: Vec<u32> = (0..500).map(|_| draw(500 * spread) as u32).collect();
            ranks.sort_unstable();
            ranks.dedup();
            cases.push(ranks);
        }
        let mut dense_cases = 0;
        let cases_len = cases.len();
        for ranks in cases {
            let bytes = section(&ranks);
            let strings = Strings::parse(&bytes, "display", 0, bytes.len()).unwrap();
            assert!(
                strings.starts.len() <= ranks.len() + 2,
                "at most one bucket per entry"
            );
            let last = u64::from(*ranks.last().unwrap());
            // Dense tables take the bit set (except in lean builds), sparse ones the buckets.
            let dense = last / 64 < ranks.len() as u64;
            #[cfg(not(feature = "lean"))]
            assert_eq!(
                strings.present.is_some(),
                dense,
                "{} ranks to {last}",
                ranks.len()
            );
            dense_cases += usize::from(dense);
            let probes = ranks
                .iter()
                .flat_map(|&r| [r.saturating_sub(1), r, r.saturating_add(1)])
                .chain((0..300).map(|_| draw(last + 2).min(u64::from(u32::MAX)) as u32))
                .chain([0, u32::MAX]);
            for probe in probes {
                let want = ranks.contains(&probe).then(|| probe.to_string());
                let got = strings.get(&bytes, probe).unwrap().map(str::to_string);
                assert_eq!(got, want, "rank {probe} of {} ranks", ranks.len());
            }
        }
        assert!(
            dense_cases > 0 && dense_cases < cases_len,
            "dense and sparse tables"
        );
    }

    /// Ranks out of order (a crafted table) give bounded answers, never a panic.
    #[test]
    fn ranks_out_of_order_never_panic() {
        // Sparse, and dense (which would take the bit set if the ranks ascended).
        for ranks in [
            &[900, 3, 70_000, 2, 1, u32::MAX, 0][..],
            &[5, 3, 3, 1, 0, 2, 7, 6],
        ] {
            let bytes = section(ranks);
            let strings = Strings::parse(&bytes, "display", 0, bytes.len()).unwrap();
            for probe in [0, 1, 2, 3, 5, 6, 7, 64, 900, 70_000, u32::MAX] {
                let _ = strings.get(&bytes, probe);
            }
        }
    }
}
