//! The segment file format, versions 1 to 9. The normative description is `docs/FORMAT.md`; this
//! module is its one implementation, shared by the writer and every reader.

pub(crate) mod bytes;
pub(crate) mod categories;
pub(crate) mod category_top;
pub(crate) mod cuts;
pub(crate) mod fst_check;
pub(crate) mod fst_keys;
pub mod header;
pub(crate) mod rank_categories;
pub(crate) mod scores;
pub(crate) mod strings;
pub(crate) mod titles;
pub(crate) mod top;

use crate::error::{Error, Result};
use bytes::u64_at;

/// Magic bytes at the start of every segment.
pub const MAGIC: &[u8; 8] = b"EDGESUG\x00";

/// Magic bytes closing every segment, after the checksum: a cheap truncation check.
pub const END_MAGIC: &[u8; 4] = b"ESEG";

/// The newest segment format version this engine writes and reads.
///
/// Version 2 adds header flags ([`FLAG_WORD_STARTS`]) and the category sections. Version 3 adds
/// delta segments ([`FLAG_DELTA`], with a tombstones section) and blocklist segments
/// ([`FLAG_BLOCKLIST`], with a blocklist section). Version 4 adds the top-lists section
/// (precomputed answers for the prefixes with the most matches). Version 5 front-codes that
/// section's keys, and is what the builder writes for it. Version 6 stores each suggestion's
/// categories as a small number into a table of category sets (the `category ids` section), and
/// is what the builder writes for a segment with categories. Version 7 adds top lists for the
/// categories' FSTs (the `category top lists` section), which filtered queries take their
/// first answers from. Version 8 marks the display forms that are their key title-cased (the
/// `display titles` section) instead of storing them. Version 9 stores each category's cuts
/// instead of a copy of its members' keys (the `category cuts` section). Version 10 lets the
/// `category ids` section pack the set numbers in blocks of any power of two from 64 to
/// 4,096 ranks. The builder writes the oldest version that defines what a segment uses, so
/// small plain bases stay version 1 and readable by engines that only know version 1; this
/// engine reads all ten.
pub const FORMAT_VERSION: u32 = 10;

/// The oldest segment format version this engine reads.
pub const MIN_FORMAT_VERSION: u32 = 1;

/// Header flag (format v2): the FST also holds one word-start entry per later word of each
/// phrase (`suffix 0xFF head`, output `rank + suggestion count`), see `docs/FORMAT.md`.
pub const FLAG_WORD_STARTS: u32 = 1;

/// Header flag (format v3): a delta segment, layered over a base: its keys are upserts with
/// absolute scores, and its tombstones section lists deleted keys (see `docs/FORMAT.md`).
pub const FLAG_DELTA: u32 = 2;

/// Header flag (format v3): a blocklist segment: no suggestions, a blocklist section of
/// phrases and prefixes hidden in every segment of an index.
pub const FLAG_BLOCKLIST: u32 = 4;

/// The flags format `version` defines.
pub(crate) fn known_flags(version: u32) -> u32 {
    match version {
        1 => 0,
        2 => FLAG_WORD_STARTS,
        _ => FLAG_WORD_STARTS | FLAG_DELTA | FLAG_BLOCKLIST,
    }
}

/// The oldest format version that defines every flag in `flags`.
#[cfg(feature = "build")]
pub(crate) fn version_for_flags(flags: u32) -> u32 {
    if flags & (FLAG_DELTA | FLAG_BLOCKLIST) != 0 {
        3
    } else if flags != 0 {
        2
    } else {
        1
    }
}

/// Separates a word-start entry's suffix from the head of its phrase. Never part of UTF-8, so
/// no key or query contains it.
pub const WORD_START_SEPARATOR: u8 = 0xFF;

/// Why bytes are not an FST entry of the kind asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryFault {
    /// The separator is there in a full key's entry, or missing in a word start's.
    Kind,
    /// A part is not UTF-8.
    NotUtf8,
}

/// Splits an FST entry into the key's head and suffix, checked as UTF-8 (see
/// [`split_entry_bytes`]).
#[inline]
pub(crate) fn split_entry(
    entry: &[u8],
    is_word_start: bool,
) -> std::result::Result<(&str, &str), EntryFault> {
    if !is_word_start {
        // Most entries: one pass. UTF-8 never holds the separator, so valid means no separator.
        return match std::str::from_utf8(entry) {
            Ok(key) => Ok(("", key)),
            Err(_) if entry.contains(&WORD_START_SEPARATOR) => Err(EntryFault::Kind),
            Err(_) => Err(EntryFault::NotUtf8),
        };
    }
    let (head, suffix) = split_entry_bytes(entry, true)?;
    match (std::str::from_utf8(head), std::str::from_utf8(suffix)) {
        (Ok(head), Ok(suffix)) => Ok((head, suffix)),
        _ => Err(EntryFault::NotUtf8),
    }
}

/// Splits an FST entry into the key's head and suffix bytes, unchecked as UTF-8: a word
/// start's entry is `suffix 0xFF head` (the key is head then suffix) and must hold the
/// separator; a full key's is all suffix. Inlined: the walk calls it for every match.
#[inline]
pub(crate) fn split_entry_bytes(
    entry: &[u8],
    is_word_start: bool,
) -> std::result::Result<(&[u8], &[u8]), EntryFault> {
    if !is_word_start {
        return Ok((&[], entry));
    }
    let at = entry
        .iter()
        .position(|&b| b == WORD_START_SEPARATOR)
        .ok_or(EntryFault::Kind)?;
    Ok((&entry[at + 1..], &entry[..at]))
}

/// Size of the trailer: XXH64 checksum (8 bytes) then [`END_MAGIC`].
pub(crate) const TRAILER_LEN: usize = 12;

/// The checksum over everything before the trailer: XXH64 with seed 0.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(bytes, 0)
}

/// Section kinds in the section table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum SectionKind {
    /// The FST mapping each normalized key to its rank (0 = best).
    Fst = 1,
    /// Scores by rank, bit-packed per block.
    Scores = 2,
    /// Display forms that differ from their normalized key, by rank.
    Display = 3,
    /// Optional JSON payloads, by rank.
    Payloads = 4,
    /// Category names and one FST per category (format v2).
    Categories = 5,
    /// The categories of each suggestion that has any, by rank (format v2), or (with
    /// [`SectionKind::CategoryIds`], format v6) of each set of categories, by set id.
    RankCategories = 6,
    /// A delta's deleted keys: an FST whose outputs are all 0 (format v3).
    Tombstones = 7,
    /// A blocklist's entries: an FST of normalized phrases (output 0) and prefixes (output 1)
    /// (format v3).
    Blocklist = 8,
    /// Precomputed answers for the prefixes with the most matches (format v4).
    Top = 9,
    /// The categories of each suggestion as a set id by rank (format v6); with it,
    /// [`SectionKind::RankCategories`] is keyed by set id.
    CategoryIds = 10,
    /// Precomputed answers for the prefixes with the most matches in each category's FST
    /// (format v7), laid out per category as [`SectionKind::Top`] is for the main FST.
    CategoryTop = 11,
    /// Which suggestions' display forms are their key title-cased (format v8): one bit per
    /// rank, set for such a form, which [`SectionKind::Display`] then does not store.
    DisplayTitles = 12,
    /// The categories section's layout, each FST holding its category's cuts instead of its
    /// members' keys (format v9, see [`cuts`]): it replaces [`SectionKind::Categories`].
    CategoryCuts = 13,
}

impl SectionKind {
    /// The kind for a stored code, if known.
    pub fn from_code(code: u32) -> Option<SectionKind> {
        match code {
            1 => Some(SectionKind::Fst),
            2 => Some(SectionKind::Scores),
            3 => Some(SectionKind::Display),
            4 => Some(SectionKind::Payloads),
            5 => Some(SectionKind::Categories),
            6 => Some(SectionKind::RankCategories),
            7 => Some(SectionKind::Tombstones),
            8 => Some(SectionKind::Blocklist),
            9 => Some(SectionKind::Top),
            10 => Some(SectionKind::CategoryIds),
            11 => Some(SectionKind::CategoryTop),
            12 => Some(SectionKind::DisplayTitles),
            13 => Some(SectionKind::CategoryCuts),
            _ => None,
        }
    }

    /// A short lowercase name, used in errors and `inspect`.
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Fst => "fst",
            SectionKind::Scores => "scores",
            SectionKind::Display => "display",
            SectionKind::Payloads => "payloads",
            SectionKind::Categories => "categories",
            SectionKind::RankCategories => "rank categories",
            SectionKind::Tombstones => "tombstones",
            SectionKind::Blocklist => "blocklist",
            SectionKind::Top => "top lists",
            SectionKind::CategoryIds => "category ids",
            SectionKind::CategoryTop => "category top lists",
            SectionKind::DisplayTitles => "display titles",
            SectionKind::CategoryCuts => "category cuts",
        }
    }

    /// The first format version that defines this section.
    pub fn since_version(self) -> u32 {
        match self {
            SectionKind::Categories | SectionKind::RankCategories => 2,
            SectionKind::Tombstones | SectionKind::Blocklist => 3,
            SectionKind::Top => 4,
            SectionKind::CategoryIds => 6,
            SectionKind::CategoryTop => 7,
            SectionKind::DisplayTitles => 8,
            SectionKind::CategoryCuts => 9,
            _ => 1,
        }
    }

    /// The format version a segment holding this section is written as: the top lists'
    /// version 5 layout takes less room than version 4's, which is only read.
    #[cfg(feature = "build")]
    pub(crate) fn written_version(self) -> u32 {
        match self {
            SectionKind::Top => 5,
            _ => self.since_version(),
        }
    }
}

/// The version of the structural checks [`crate::Segment::open`] makes. Whoever attests that
/// a segment passed them names this number (the worker's attestations do), so that an engine
/// whose checks differ does not skip its own on the word of another: raise it whenever
/// `open` starts refusing something it accepted before.
pub const VALIDATION_RULES: u32 = 1;

/// Whether opening a segment walks every FST node, or trusts bytes these same checks already
/// passed elsewhere (see [`crate::Segment::open_attested`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nodes {
    /// Check every node reachable from each root: what untrusted bytes need.
    Walk,
    /// Check each FST's fixed frame only.
    Trusted,
}

/// Checks an FST before `fst` reads it: its fixed frame, then (with [`Nodes::Walk`]) every
/// node reachable from its root (see [`fst_check`]), because `fst` trusts node addresses, pack
/// sizes and transition counts and would panic on malformed ones. O(FST size) with the walk,
/// O(1) without. `section` names the FST in errors.
pub(crate) fn check_fst(
    fst_bytes: &[u8],
    section: &'static str,
    (min_keys, max_keys): (u64, u64),
    nodes: Nodes,
) -> Result<()> {
    // Layout written by fst 0.4 (its format version 3): version u64, type u64, nodes..., key
    // count u64, root address u64, crc32c u32.
    const FST_VERSION: u64 = 3;
    const EMPTY_LEN: usize = 36;
    let len = fst_bytes.len();
    if len < EMPTY_LEN {
        return Err(Error::corrupt(
            section,
            format!("{len} bytes, at least {EMPTY_LEN} needed"),
        ));
    }
    let version = u64_at(fst_bytes, 0, "fst version")?;
    if version != FST_VERSION {
        return Err(Error::corrupt(
            section,
            format!("fst format version {version}, expected {FST_VERSION}"),
        ));
    }
    let keys = u64_at(fst_bytes, len - 20, "fst key count")?;
    let root = u64_at(fst_bytes, len - 12, "fst root address")?;
    // The root is the last node; `fst` writes an empty FST with a 3-byte root node that has
    // no transitions (39 bytes), and address 0 is a root only in the 36-byte minimal form.
    let root_ok =
        root.checked_add(21) == Some(len as u64) || (keys == 0 && len == EMPTY_LEN && root == 0);
    // `fst` converts the key count to usize and panics when it does not fit (wasm32).
    if !root_ok || keys < min_keys || keys > max_keys || usize::try_from(keys).is_err() {
        return Err(Error::corrupt(
            section,
            format!(
                "{keys} keys with root at {root} in a {len}-byte FST, expected \
                 {min_keys}..={max_keys} keys"
            ),
        ));
    }
    // root + 21 == len, or 0: fits.
    if nodes == Nodes::Walk {
        fst_check::check_nodes(fst_bytes, root as usize, section)?;
    }
    fst::raw::Fst::new(fst_bytes).map_err(|e| Error::corrupt(section, e.to_string()))?;
    Ok(())
}
