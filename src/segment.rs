//! A read-only view of one segment's bytes.

use crate::error::{Error, Result};
use crate::format::bytes::slice;
use crate::format::categories::Categories;
#[cfg(not(target_family = "wasm"))]
use crate::format::category_top::{self, CategoryTopLists};
use crate::format::cuts;
use crate::format::fst_keys::{check_cheapest, check_keys, Expect};
use crate::format::header::{verify_checksum, Header};
use crate::format::rank_categories::RankCategories;
#[cfg(not(feature = "lean"))]
use crate::format::rank_categories::SetNames;
use crate::format::scores::Scores;
use crate::format::strings::{Stored, Strings};
use crate::format::titles::Titles;
use crate::format::top::{EntryTable, NodeAt, TopList, TopLists};
use crate::format::{check_fst, Nodes, SectionKind, FLAG_BLOCKLIST, FLAG_DELTA, FLAG_WORD_STARTS};

/// One immutable segment, generic over where its bytes live (`Vec<u8>`, `&[u8]`, a memory map,
/// a JS-owned buffer copied into wasm memory...).
///
/// [`Segment::open`] checks the header, the section table, the fixed parts of each section and
/// every node of every FST (O(FST size): `fst`'s decoder trusts node addresses and would panic
/// on malformed ones), all bounds-checked. [`Segment::verify`] checks the trailer checksum over
/// the whole file; [`Segment::load`] does both and is what to use on bytes that crossed a
/// network or a disk. Reading a segment never uses `unsafe`, and any bytes give `Ok` or `Err`,
/// never a panic, including in every search of a segment that opened, whether the bytes were
/// corrupted by accident or crafted to pass the checksum (see `docs/FORMAT.md`).
/// [`Segment::open_attested`] skips the O(size) checks, for bytes a trusted validator already
/// opened: that guarantee then rests on the validator.
///
/// ```
/// use edgesuggest::{Searcher, Segment, SegmentBuilder, SuggestOptions};
///
/// let mut builder = SegmentBuilder::new();
/// builder.add("New York", 8_804_190)?;
/// builder.add("Newark", 311_549)?;
/// builder.add("Los Angeles", 3_898_747)?;
/// let bytes = builder.finish()?.bytes;
///
/// let segment = Segment::load(bytes)?;
/// let mut searcher = Searcher::new();
/// let found = searcher.search(&segment, "new", &SuggestOptions::default())?;
/// let texts: Vec<&str> = found.items.iter().map(|s| s.text).collect();
/// assert_eq!(texts, ["New York", "Newark"]);
/// // A trailing space asks for a word boundary.
/// let found = searcher.search(&segment, "new ", &SuggestOptions::default())?;
/// assert_eq!(found.items.len(), 1);
/// assert_eq!(found.items[0].text, "New York");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Segment<D> {
    data: D,
    header: Header,
    fst: (usize, usize),
    scores: Scores,
    display: Strings,
    /// Which display forms are their key title-cased (format v8; absent before).
    titles: Titles,
    payloads: Strings,
    categories: Categories,
    rank_categories: Strings,
    /// Each rank's set of categories (format v6), when `rank_categories` is keyed by set; an
    /// absent section otherwise (not an `Option`: the worker's module is counted in bytes).
    category_ids: Scores,
    /// The names of each set `category_ids` holds, read once.
    #[cfg(not(feature = "lean"))]
    set_names: SetNames,
    /// A delta's deleted keys, or a blocklist's entries: `(offset, len)` of the FST.
    extra_fst: Option<(usize, usize)>,
    /// Precomputed answers for the prefixes with the most matches (empty when none).
    top: TopLists,
    /// The same for each category's FST (format v7; WebAssembly builds read none).
    #[cfg(not(target_family = "wasm"))]
    category_top: CategoryTopLists,
}

/// What a segment is: a whole index, a change layered over one, or a blocklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// A complete index (formats 1–3).
    Base,
    /// Upserts with absolute scores and tombstones, layered over a base (format 3,
    /// [`crate::format::FLAG_DELTA`]).
    Delta,
    /// Normalized phrases and prefixes hidden in every segment of an index (format 3,
    /// [`crate::format::FLAG_BLOCKLIST`]); holds no suggestion.
    Blocklist,
}

impl SegmentKind {
    /// `base`, `delta` or `blocklist`: the names the CLI and manifests use.
    pub fn name(self) -> &'static str {
        match self {
            SegmentKind::Base => "base",
            SegmentKind::Delta => "delta",
            SegmentKind::Blocklist => "blocklist",
        }
    }

    /// The kind the header flags declare, refusing contradictory flags.
    fn of(header: &Header) -> Result<SegmentKind> {
        let flags = header.flags;
        let kind = match (flags & FLAG_DELTA != 0, flags & FLAG_BLOCKLIST != 0) {
            (false, false) => SegmentKind::Base,
            (true, false) => SegmentKind::Delta,
            (false, true) => SegmentKind::Blocklist,
            (true, true) => {
                return Err(Error::corrupt(
                    "header",
                    "flags say both delta and blocklist",
                ))
            }
        };
        if kind == SegmentKind::Blocklist
            && (flags & FLAG_WORD_STARTS != 0 || header.suggestion_count != 0)
        {
            return Err(Error::corrupt(
                "header",
                "a blocklist segment holds no suggestion and no word starts",
            ));
        }
        Ok(kind)
    }

    /// The section holding this kind's second FST, if it has one.
    fn extra_section(self) -> Option<SectionKind> {
        match self {
            SegmentKind::Base => None,
            SegmentKind::Delta => Some(SectionKind::Tombstones),
            SegmentKind::Blocklist => Some(SectionKind::Blocklist),
        }
    }
}

/// Calls `each` with every key of `fst` in order; an FST with more keys than its footer
/// declares (a crafted one can hold far more paths) is corrupt.
pub(crate) fn for_each_key(fst: &fst::raw::Fst<&[u8]>, mut each: impl FnMut(&[u8])) -> Result<()> {
    for_each_entry(fst, |key, _| each(key))
}

/// Calls `each` with every key of `fst` and its output, in key order; an FST with more keys
/// than its footer declares is corrupt.
pub(crate) fn for_each_entry(
    fst: &fst::raw::Fst<&[u8]>,
    mut each: impl FnMut(&[u8], u64),
) -> Result<()> {
    use fst::Streamer;
    let declared = fst.len();
    let map = fst::Map::from(fst.clone());
    let mut keys = map.stream();
    let mut seen = 0usize;
    while let Some((key, value)) = keys.next() {
        seen += 1;
        if seen > declared {
            return Err(Error::corrupt(
                "fst",
                format!("more keys than the {declared} its footer declares"),
            ));
        }
        each(key, value);
    }
    Ok(())
}

/// Finds the tombstones or blocklist section `kind` calls for, refusing one it does not: only a
/// delta has tombstones (optional), only a blocklist a blocklist section (required).
fn extra_fst(
    header: &Header,
    kind: SegmentKind,
    bytes: &[u8],
    nodes: Nodes,
) -> Result<Option<(usize, usize)>> {
    for other in [SectionKind::Tombstones, SectionKind::Blocklist] {
        if header.section(other).is_some() && kind.extra_section() != Some(other) {
            return Err(Error::corrupt(
                "section table",
                format!("a {} segment has a {} section", kind.name(), other.name()),
            ));
        }
    }
    let Some(section_kind) = kind.extra_section() else {
        return Ok(None);
    };
    let Some(section) = header.section(section_kind) else {
        if kind == SegmentKind::Blocklist {
            return Err(Error::corrupt(
                "section table",
                "the blocklist section is missing",
            ));
        }
        return Ok(None);
    };
    let fst = slice(bytes, section.offset, section.len, section_kind.name())?;
    check_fst(fst, section_kind.name(), (0, u64::MAX), nodes)?;
    Ok(Some((section.offset, section.len)))
}

/// The top-lists section, checked (empty when the segment has none): its costs lie below the
/// segment's, its node addresses inside its FST of `fst_len` bytes (unless `nodes` trusts
/// them).
fn top_lists(header: &Header, bytes: &[u8], fst_len: usize, nodes: Nodes) -> Result<TopLists> {
    let Some(s) = header.section(SectionKind::Top) else {
        return Ok(TopLists::default());
    };
    TopLists::parse(
        bytes,
        (s.offset, s.len, header.format_version),
        list_costs(header),
        fst_len,
        nodes,
    )
}

/// The suggestion count, and the bound of any list entry's cost: twice the count with word
/// starts (their entries cost the count plus a rank).
fn list_costs(header: &Header) -> (u64, u64) {
    let count = header.suggestion_count;
    match header.flags & FLAG_WORD_STARTS != 0 {
        true => (count, count.saturating_mul(2)),
        false => (count, count),
    }
}

/// Each category's top lists, checked (empty when the segment has none): as [`top_lists`],
/// against each category's FST.
#[cfg(not(target_family = "wasm"))]
fn category_top_lists(
    header: &Header,
    bytes: &[u8],
    categories: &Categories,
    nodes: Nodes,
) -> Result<CategoryTopLists> {
    let Some(s) = header.section(SectionKind::CategoryTop) else {
        return Ok(CategoryTopLists::default());
    };
    let frame = category_top::Frame {
        version: header.format_version,
        costs: list_costs(header),
        categories,
    };
    CategoryTopLists::parse(bytes, (s.offset, s.len), frame, nodes)
}

/// The categories section of either kind: members' keys, or cuts (format v9). The builder
/// writes one; of a segment holding both, the keys are read.
fn categories(header: &Header, bytes: &[u8], max_keys: u64, nodes: Nodes) -> Result<Categories> {
    let keys = header.section(SectionKind::Categories).map(|s| (s, false));
    let either = keys.or_else(|| header.section(SectionKind::CategoryCuts).map(|s| (s, true)));
    match either {
        Some((s, cuts)) => Categories::parse(bytes, (s.offset, s.len, cuts), max_keys, nodes),
        None => Ok(Categories::default()),
    }
}

/// A category's index in its segment, and its FST.
pub(crate) type CategoryFst<'a> = (u32, fst::raw::Fst<&'a [u8]>);

/// A borrowed view of one segment's tables, bound to its bytes: everything a search reads,
/// without reaching into [`Segment`]'s fields or passing the bytes along with each lookup.
/// O(1) to make; make one per query.
pub(crate) struct View<'a> {
    bytes: &'a [u8],
    fst: fst::raw::Fst<&'a [u8]>,
    scores: &'a Scores,
    display: &'a Strings,
    titles: Titles,
    payloads: &'a Strings,
    categories: &'a Categories,
    rank_categories: RankCategories<'a>,
    top: &'a TopLists,
    #[cfg(not(target_family = "wasm"))]
    category_top: &'a CategoryTopLists,
    /// A delta's tombstones or a blocklist's entries.
    extra: Option<fst::raw::Fst<&'a [u8]>>,
    /// Suggestions in the segment: ranks are below it, word-start outputs at or above it.
    count: u64,
    word_starts: bool,
}

impl<'a> View<'a> {
    /// The main FST: every key (and word-start entry) with its cost.
    pub(crate) fn fst(&self) -> &fst::raw::Fst<&'a [u8]> {
        &self.fst
    }

    /// Number of suggestions.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The score of `rank`.
    pub(crate) fn score(&self, rank: u32) -> Result<u64> {
        self.scores.get(self.bytes, rank as usize)
    }

    /// Where the display form of `rank` lies, when it differs from its key and is not its key
    /// title-cased (see [`View::is_title`]): found, not read yet (see [`Strings::locate`]).
    #[inline]
    pub(crate) fn locate_display(&self, rank: u32) -> Result<Option<Stored>> {
        self.display.locate(self.bytes, rank)
    }

    /// The bytes of the display form [`View::locate_display`] found, not checked as UTF-8.
    #[inline]
    pub(crate) fn display_bytes(&self, stored: Stored) -> Result<&'a [u8]> {
        self.display.raw(self.bytes, stored)
    }

    /// The display form [`View::locate_display`] found.
    #[inline]
    pub(crate) fn display_text(&self, stored: Stored) -> Result<&'a str> {
        self.display.text(self.bytes, stored)
    }

    /// Whether the display form of `rank` is its key title-cased, marked instead of stored
    /// (see `format::titles`): then it is that, whatever [`View::locate_display`] finds.
    #[inline]
    pub(crate) fn is_title(&self, rank: u32) -> Result<bool> {
        self.titles.is_title(self.bytes, rank)
    }

    /// Whether the FSTs hold word-start entries.
    pub(crate) fn word_starts(&self) -> bool {
        self.word_starts
    }

    /// The segment's bytes and its string tables by rank: display forms and payloads.
    #[cfg(feature = "build")]
    pub(crate) fn string_tables(&self) -> (&'a [u8], [&'a Strings; 2]) {
        (self.bytes, [self.display, self.payloads])
    }

    /// The JSON payload of `rank`, if any.
    pub(crate) fn payload(&self, rank: u32) -> Result<Option<&'a str>> {
        self.payloads.get(self.bytes, rank)
    }

    /// The categories of `rank`, comma-separated in byte order, if any.
    pub(crate) fn categories_of(&self, rank: u32) -> Result<Option<&'a str>> {
        self.rank_categories.get(self.bytes, rank)
    }

    /// Whether this segment decides `key`: holds it as a suggestion, or (a delta) deletes it.
    /// A full key never holds the word-start separator, so it never meets a word-start entry.
    pub(crate) fn decides(&self, key: &[u8]) -> bool {
        self.fst.get(key).is_some() || self.deletes(key)
    }

    /// A delta's tombstones (or a blocklist's entries).
    pub(crate) fn tombstones(&self) -> Option<&fst::raw::Fst<&'a [u8]>> {
        self.extra.as_ref()
    }

    /// Whether this (delta) segment deletes `key`.
    pub(crate) fn deletes(&self, key: &[u8]) -> bool {
        self.extra.as_ref().is_some_and(|t| t.get(key).is_some())
    }

    /// The rank of `key` when this segment holds it as a suggestion.
    pub(crate) fn rank_of_key(&self, key: &[u8]) -> Result<Option<u32>> {
        match self.fst.get(key) {
            Some(output) => self.rank_of_output(output.value()).map(Some),
            None => Ok(None),
        }
    }

    /// The rank a full key's FST output stands for, refused when out of range.
    pub(crate) fn rank_of_output(&self, output: u64) -> Result<u32> {
        u32::try_from(output)
            .ok()
            .filter(|&r| u64::from(r) < self.count)
            .ok_or_else(|| Error::corrupt("fst", "a key's rank is out of range"))
    }

    /// Whether this (blocklist) segment hides `key`: an entry equals it (output 0 or 1), or a
    /// prefix entry (output 1) starts it. One step per byte of `key`.
    pub(crate) fn blocks(&self, key: &[u8]) -> bool {
        let Some(list) = &self.extra else {
            return false;
        };
        let mut node = list.root();
        let mut output = 0u64;
        for &b in key {
            if node.is_final() && output.saturating_add(node.final_output().value()) >= 1 {
                return true;
            }
            let Some(i) = node.find_input(b) else {
                return false;
            };
            let t = node.transition(i);
            output = output.saturating_add(t.out.value());
            node = list.node(t.addr);
        }
        node.is_final()
    }

    /// Every precomputed list, with its node's address.
    pub(crate) fn top_lists(&self) -> impl Iterator<Item = (usize, TopList<'a>)> + 'a {
        self.top.all(self.bytes)
    }

    /// The top lists' entries as queries read them.
    pub(crate) fn top_table(&self) -> &'a EntryTable {
        self.top.table()
    }

    /// The precomputed list of the main FST's node `at`, if the segment has one.
    pub(crate) fn top_list(&self, at: NodeAt) -> Option<TopList<'a>> {
        self.top.find(self.bytes, at)
    }

    /// The FST of the category called `name`, with the category's index, if the segment has
    /// it.
    pub(crate) fn category_fst(&self, name: &str) -> Result<Option<CategoryFst<'a>>> {
        match self.categories.find(self.bytes, name)? {
            // At most `MAX_PER_SEGMENT` categories: the index fits.
            Some(i) => self
                .categories
                .fst(self.bytes, i)
                .map(|fst| Some((i as u32, fst))),
            None => Ok(None),
        }
    }

    /// Whether the categories' FSTs hold cuts (format v9): a filtered walk then goes on in the
    /// main FST below each cut.
    pub(crate) fn category_cuts(&self) -> bool {
        self.categories.cuts()
    }

    /// The precomputed list of category `i`'s FST node `at`, if the segment has one.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn category_top_list(&self, i: usize, at: NodeAt) -> Option<TopList<'a>> {
        self.category_top.of(i).find(self.bytes, at)
    }

    /// Category `i`'s list entries as queries read them.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn category_top_table(&self, i: usize) -> &'a EntryTable {
        self.category_top.of(i).table()
    }

    /// Every precomputed list of category `i`, with its node's address (for deep checks).
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn category_top_lists(
        &self,
        i: usize,
    ) -> impl Iterator<Item = (usize, TopList<'a>)> + 'a {
        self.category_top.of(i).all(self.bytes)
    }

    /// The FST of category `i`.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn category_fst_at(&self, i: usize) -> Result<fst::raw::Fst<&'a [u8]>> {
        self.categories.fst(self.bytes, i)
    }

    /// How many categories the segment has.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn category_count(&self) -> usize {
        self.categories.count()
    }
}

/// Sizes and counts of a segment, for `inspect` and monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Format version.
    pub format_version: u32,
    /// Base, delta or blocklist.
    pub kind: SegmentKind,
    /// Keys a delta deletes, or entries of a blocklist (0 for a base).
    pub extra_entries: u64,
    /// Normalizer id and version the keys were built with.
    pub normalizer: (u32, u32),
    /// Distinct suggestions.
    pub suggestions: u64,
    /// Input rows merged into them.
    pub source_rows: u64,
    /// Suggestions whose display form differs from their normalized key.
    pub display_forms: u64,
    /// Of those, the ones marked as their key title-cased instead of stored (format v8).
    pub display_titles: u64,
    /// Suggestions with a payload.
    pub payloads: u64,
    /// Whether the index also matches at the start of later words (`--word-starts`).
    pub word_starts: bool,
    /// The categories a query can filter by, with the size of each one's FST in bytes.
    pub categories: Vec<(String, u64)>,
    /// Total size in bytes.
    pub bytes: u64,
    /// `(section name, bytes)` in file order.
    pub sections: Vec<(&'static str, u64)>,
}

impl<D: AsRef<[u8]>> Segment<D> {
    /// Opens a segment, validating its structure (O(FST size)) without computing its
    /// checksum. Use on bytes already verified (for example produced by
    /// [`crate::SegmentBuilder`] in this process); otherwise use [`Segment::load`].
    pub fn open(data: D) -> Result<Segment<D>> {
        Segment::open_with(data, Nodes::Walk)
    }

    /// Opens a segment whose structure [`Segment::open`] of an engine with the same
    /// [`crate::VALIDATION_RULES`] has already accepted, in O(1): the header, the section
    /// table and every section's fixed parts are still checked; the walk over every FST node
    /// (85% of an open's work on a 13 MB segment) and the check of every top-list entry are
    /// not (a version 5 top-lists section is still decoded, in one pass over it, except in
    /// `lean` builds, which answer from no list). For a loader that holds proof the bytes are the ones a trusted validator accepted,
    /// such as the edge worker checking a publisher's HMAC over their SHA-256. On any other
    /// bytes use [`Segment::open`] or [`Segment::load`]: a malformed FST node or top-list node
    /// address makes a later search panic (no undefined behaviour: `fst` has no `unsafe` in
    /// its decoder, it indexes out of bounds).
    pub fn open_attested(data: D) -> Result<Segment<D>> {
        Segment::open_with(data, Nodes::Trusted)
    }

    /// Opens a segment, walking its FST nodes or not.
    fn open_with(data: D, nodes: Nodes) -> Result<Segment<D>> {
        let bytes = data.as_ref();
        let header = Header::parse(bytes)?;
        let count = usize::try_from(header.suggestion_count)
            .map_err(|_| Error::corrupt("header", "suggestion count exceeds usize"))?;
        let fst_section = header
            .section(SectionKind::Fst)
            .ok_or_else(|| Error::corrupt("section table", "the fst section is missing"))?;
        let fst_bytes = slice(bytes, fst_section.offset, fst_section.len, "fst section")?;
        let word_starts = header.flags & FLAG_WORD_STARTS != 0;
        let max_keys = if word_starts { u64::MAX } else { count as u64 };
        check_fst(fst_bytes, "fst", (count as u64, max_keys), nodes)?;
        let scores_section = header
            .section(SectionKind::Scores)
            .ok_or_else(|| Error::corrupt("section table", "the scores section is missing"))?;
        let scores = Scores::parse(
            bytes,
            SectionKind::Scores.name(),
            (scores_section.offset, scores_section.len),
            (count, false),
        )?;
        let strings = |kind: SectionKind| match header.section(kind) {
            Some(s) => Strings::parse(bytes, kind.name(), s.offset, s.len),
            None => Ok(Strings::empty(kind.name())),
        };
        let display = strings(SectionKind::Display)?;
        let titles = match header.section(SectionKind::DisplayTitles) {
            Some(s) => Titles::parse(bytes, (s.offset, s.len), count)?,
            None => Titles::default(),
        };
        let payloads = strings(SectionKind::Payloads)?;
        // Not a `match`: that made the worker's module 69 bytes larger.
        let category_ids = header.section(SectionKind::CategoryIds).map(|s| {
            Scores::parse(
                bytes,
                SectionKind::CategoryIds.name(),
                (s.offset, s.len),
                (count, header.format_version >= 10),
            )
        });
        let category_ids = category_ids.transpose()?.unwrap_or_default();
        let rank_categories = strings(SectionKind::RankCategories)?;
        #[cfg(not(feature = "lean"))]
        let set_names = SetNames::read(&category_ids, &rank_categories, bytes);
        let categories = categories(&header, bytes, max_keys, nodes)?;
        let extra_fst = extra_fst(&header, SegmentKind::of(&header)?, bytes, nodes)?;
        let top = top_lists(&header, bytes, fst_bytes.len(), nodes)?;
        #[cfg(not(target_family = "wasm"))]
        let category_top = category_top_lists(&header, bytes, &categories, nodes)?;
        Ok(Segment {
            extra_fst,
            top,
            #[cfg(not(target_family = "wasm"))]
            category_top,
            categories,
            rank_categories,
            category_ids,
            #[cfg(not(feature = "lean"))]
            set_names,
            fst: (fst_section.offset, fst_section.len),
            header,
            scores,
            display,
            titles,
            payloads,
            data,
        })
    }

    /// Verifies the checksum and opens the segment: what to call on bytes from outside.
    ///
    /// The header is read first (so a file that is no segment, or of a future format, says
    /// so), then the checksum, then the sections and FSTs: bytes damaged in storage or
    /// transit are reported as a checksum mismatch, not as whatever structure the damage hit.
    pub fn load(data: D) -> Result<Segment<D>> {
        Header::parse(data.as_ref())?;
        verify_checksum(data.as_ref())?;
        Segment::open(data)
    }

    /// Verifies the trailer checksum over the whole segment (O(size), XXH64 at several GB/s).
    pub fn verify(&self) -> Result<()> {
        verify_checksum(self.as_bytes())
    }

    /// Verifies the checksum, then reads every entry of every section: every display form and
    /// payload is UTF-8 and belongs to an existing rank, every score decodes, and every key of
    /// every FST is one search accepts, the main FST holding each rank exactly once (see
    /// `format::fst_keys`). Decodes each FST node once, whatever the number of keys: O(size).
    /// For tools, not for the serving path. A segment that passes answers every query without
    /// a corruption error.
    pub fn verify_deep(&self) -> Result<()> {
        self.verify()?;
        let bytes = self.as_bytes();
        let count = self.len();
        let mut previous = u64::MAX;
        for rank in 0..count {
            let score = self.scores.get(bytes, rank)?;
            if score > previous {
                return Err(Error::corrupt(
                    "scores",
                    format!("score of rank {rank} increases"),
                ));
            }
            previous = score;
        }
        self.rank_categories().check_all(bytes, count)?;
        for table in [&self.display, &self.payloads] {
            table.check_all(bytes)?;
            if let Some(max) = table.max_rank(bytes)? {
                if max as usize >= count {
                    return Err(Error::corrupt(
                        "strings",
                        format!("rank {max} >= count {count}"),
                    ));
                }
            }
        }
        self.check_titles()?;
        self.check_rank_categories()?;
        let mut expect = Expect {
            count: count as u64,
            word_starts: self.word_starts(),
            each_rank_once: true,
        };
        check_keys(self.fst()?.as_bytes(), expect, "fst")?;
        crate::search::check_top_lists(&self.view()?)?;
        expect.each_rank_once = false;
        if self.categories.cuts() {
            self.check_category_cuts()?;
        }
        for i in (0..self.categories.count()).filter(|_| !self.categories.cuts()) {
            let fst = self.categories.fst(bytes, i)?;
            check_keys(fst.as_bytes(), expect, "category fst")?;
        }
        if let Some(extra) = self.extra()? {
            // Tombstones all have output 0; blocklist entries 0 (phrase) or 1 (prefix).
            let outputs = if self.kind() == SegmentKind::Blocklist {
                2
            } else {
                1
            };
            let expect = Expect {
                count: outputs,
                word_starts: false,
                each_rank_once: false,
            };
            check_keys(
                extra.as_bytes(),
                expect,
                self.kind().extra_section().map_or("", |k| k.name()),
            )?;
        }
        Ok(())
    }

    /// Each category's cut FST holds exactly the cuts its members give (`format::cuts`), which
    /// the main FST's entries and each rank's categories determine.
    fn check_category_cuts(&self) -> Result<()> {
        let mut main: Vec<(Vec<u8>, u64)> = Vec::new();
        for_each_entry(&self.fst()?, |key, cost| main.push((key.to_vec(), cost)))?;
        let count = self.len() as u64;
        let mut entry_categories = Vec::with_capacity(main.len());
        for (_, cost) in &main {
            let rank = if *cost < count { *cost } else { cost - count };
            entry_categories.push(self.rank_categories().get(self.as_bytes(), rank as u32)?);
        }
        for i in 0..self.categories.count() {
            let name = self.categories.name(self.as_bytes(), i)?;
            let members: Vec<u32> = (0..main.len() as u32)
                .filter(|&at| {
                    let list = entry_categories[at as usize].unwrap_or_default();
                    list.split(',').any(|c| c == name)
                })
                .collect();
            let key = |at: usize| main[at].0.as_slice();
            let expected = cuts::entries(&members, main.len(), key, |at| main[at].1);
            let mut stored = Vec::with_capacity(expected.len());
            let fst = self.categories.fst(self.as_bytes(), i)?;
            check_cheapest(fst.as_bytes(), "category cuts")?;
            for_each_entry(&fst, |cut, cost| stored.push((cut.to_vec(), cost)))?;
            if stored != expected {
                return Err(Error::corrupt(
                    "category cuts",
                    format!("category {name:?} holds other cuts than its members give"),
                ));
            }
        }
        Ok(())
    }

    /// The categories by rank, in whichever layout the segment has.
    pub(crate) fn rank_categories(&self) -> RankCategories<'_> {
        RankCategories {
            ids: &self.category_ids,
            table: &self.rank_categories,
            #[cfg(not(feature = "lean"))]
            names: &self.set_names,
        }
    }

    /// Every suggestion's category list names known categories, ascending and distinct, at
    /// most [`crate::MAX_CATEGORIES_PER_ROW`] of them: what the builder writes, so that a
    /// compaction can write it again.
    fn check_rank_categories(&self) -> Result<()> {
        let bytes = self.as_bytes();
        let known = self.categories()?;
        for rank in 0..self.len() as u32 {
            let Some(list) = self.rank_categories().get(bytes, rank)? else {
                continue;
            };
            let names: Vec<&str> = list.split(',').collect();
            let ascending = names.windows(2).all(|w| w[0] < w[1]);
            let all_known = names.iter().all(|n| known.binary_search(n).is_ok());
            if names.len() > crate::format::categories::MAX_PER_SUGGESTION
                || !ascending
                || !all_known
            {
                return Err(Error::corrupt(
                    "rank categories",
                    format!("rank {rank} lists {list:?}: not distinct known categories, ascending"),
                ));
            }
        }
        Ok(())
    }

    /// Whether this is a base, a delta or a blocklist (from the header flags, checked when
    /// the segment opened).
    pub fn kind(&self) -> SegmentKind {
        // Checked in `open`.
        SegmentKind::of(&self.header).unwrap_or(SegmentKind::Base)
    }

    /// How many keys a delta deletes, or how many entries a blocklist has (0 for a base).
    pub fn extra_entries(&self) -> u64 {
        self.extra().ok().flatten().map_or(0, |f| f.len() as u64)
    }

    /// True when the segment was built with word starts (`--word-starts`).
    pub fn word_starts(&self) -> bool {
        self.header.flags & FLAG_WORD_STARTS != 0
    }

    /// The category names a query can filter by, in byte order.
    pub fn categories(&self) -> Result<Vec<&str>> {
        (0..self.categories.count())
            .map(|i| self.categories.name(self.as_bytes(), i))
            .collect()
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Number of suggestions.
    pub fn len(&self) -> usize {
        self.header.suggestion_count as usize
    }

    /// True when the segment holds no suggestion.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// Gives the bytes back.
    pub fn into_inner(self) -> D {
        self.data
    }

    /// No rank marked as a title also stores a display form (which readers would never
    /// show).
    fn check_titles(&self) -> Result<()> {
        let bytes = self.as_bytes();
        for rank in 0..self.len() as u32 {
            if self.titles.is_title(bytes, rank)? && self.display.get(bytes, rank)?.is_some() {
                return Err(Error::corrupt(
                    SectionKind::DisplayTitles.name(),
                    format!("rank {rank} is marked as its key title-cased and stores a display form too"),
                ));
            }
        }
        Ok(())
    }

    /// Counts and sizes.
    pub fn info(&self) -> SegmentInfo {
        let display_titles = self.titles.count(self.as_bytes());
        SegmentInfo {
            format_version: self.header.format_version,
            kind: self.kind(),
            extra_entries: self.extra_entries(),
            normalizer: (self.header.normalizer_id, self.header.normalizer_version),
            suggestions: self.header.suggestion_count,
            source_rows: self.header.source_rows,
            display_forms: self.display.count() as u64 + display_titles,
            display_titles,
            payloads: self.payloads.count() as u64,
            word_starts: self.word_starts(),
            categories: (0..self.categories.count())
                .map(|i| {
                    let bytes = self.as_bytes();
                    let name = self.categories.name(bytes, i).unwrap_or("?").to_owned();
                    let len = self.categories.fst_len(bytes, i).unwrap_or(0) as u64;
                    (name, len)
                })
                .collect(),
            bytes: self.as_bytes().len() as u64,
            sections: self
                .header
                .sections
                .iter()
                .map(|s| (s.kind.name(), s.len as u64))
                .collect(),
        }
    }

    /// The borrowed view a search reads (O(1)).
    pub(crate) fn view(&self) -> Result<View<'_>> {
        Ok(View {
            bytes: self.as_bytes(),
            fst: self.fst()?,
            scores: &self.scores,
            display: &self.display,
            titles: self.titles,
            payloads: &self.payloads,
            categories: &self.categories,
            rank_categories: self.rank_categories(),
            top: &self.top,
            #[cfg(not(target_family = "wasm"))]
            category_top: &self.category_top,
            extra: self.extra()?,
            count: self.len() as u64,
            word_starts: self.word_starts(),
        })
    }

    /// The tombstones or blocklist FST over this segment's bytes, if any (O(1)).
    fn extra(&self) -> Result<Option<fst::raw::Fst<&[u8]>>> {
        let Some((offset, len)) = self.extra_fst else {
            return Ok(None);
        };
        let bytes = slice(self.as_bytes(), offset, len, "extra fst")?;
        fst::raw::Fst::new(bytes)
            .map(Some)
            .map_err(|e| Error::corrupt("extra fst", e.to_string()))
    }

    /// The main FST (O(1)).
    #[cfg(feature = "build")]
    pub(crate) fn main_fst(&self) -> Result<fst::raw::Fst<&[u8]>> {
        self.fst()
    }

    /// The tombstones (a delta) or entries (a blocklist) FST when this segment is of `kind`.
    #[cfg(feature = "build")]
    pub(crate) fn extra_fst_of(&self, kind: SegmentKind) -> Result<Option<fst::raw::Fst<&[u8]>>> {
        if self.kind() != kind {
            return Ok(None);
        }
        self.extra()
    }

    /// The FST over this segment's bytes (O(1)).
    fn fst(&self) -> Result<fst::raw::Fst<&[u8]>> {
        let (offset, len) = self.fst;
        let bytes = slice(self.as_bytes(), offset, len, "fst section")?;
        fst::raw::Fst::new(bytes).map_err(|e| Error::corrupt("fst", e.to_string()))
    }
}

/// A base of one phrase: what unit tests of a delta's structures stack their delta on.
#[cfg(all(test, feature = "build"))]
pub(crate) fn one_phrase_base(phrase: &str) -> Segment<Vec<u8>> {
    let mut base = crate::SegmentBuilder::new();
    base.add(phrase, 1).expect("add");
    Segment::load(base.finish().expect("finish").bytes).expect("load")
}
