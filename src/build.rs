//! The segment builder: merges rows by normalized key, ranks them and writes a segment.
//! Pure computation: rows in, bytes out. Deterministic: the same rows, in any order, give
//! byte-identical segments.

mod top;

use std::collections::HashMap;

pub use top::TopListOptions;

use crate::format::categories::Categories;
use crate::format::header::SegmentWriter;
use crate::format::WORD_START_SEPARATOR;
use crate::format::{
    categories, category_top, cuts, scores, strings, titles, Nodes, SectionKind, FLAG_WORD_STARTS,
};
use crate::fst_writer::FstWriter;
use crate::normalize::{normalize_into, Trailing};
use crate::parallel;

/// Default limit on a phrase's normalized length, in bytes.
pub const DEFAULT_MAX_PHRASE_BYTES: usize = 256;
/// Default limit on a payload's length, in bytes.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1024;
/// Longest category name, in bytes.
pub const MAX_CATEGORY_BYTES: usize = categories::MAX_NAME_BYTES;
/// Most categories one row may carry.
pub const MAX_CATEGORIES_PER_ROW: usize = categories::MAX_PER_SUGGESTION;
/// Most distinct categories in one segment (each gets its own FST).
pub const MAX_CATEGORIES: usize = categories::MAX_PER_SEGMENT;

/// Why a row or a build was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The phrase is empty (or only whitespace and marks) after normalization.
    #[error("phrase is empty after normalization; remove the row or give it some text")]
    EmptyPhrase,
    /// The normalized phrase is longer than the limit.
    #[error(
        "phrase is {len} bytes after normalization, over the limit of {max}; shorten it or raise \
         the limit (--max-phrase-bytes)"
    )]
    PhraseTooLong {
        /// Normalized length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is longer than the limit.
    #[error("payload is {len} bytes, over the limit of {max}; shorten it")]
    PayloadTooLong {
        /// Payload length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A category name is empty, too long, or holds a comma, whitespace or a control
    /// character (queries list categories separated by commas).
    #[error(
        "category {name:?} is not allowed: {reason}; use 1 to {MAX_CATEGORY_BYTES} bytes without \
         commas, whitespace or control characters"
    )]
    BadCategory {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A row carries more categories than [`MAX_CATEGORIES_PER_ROW`].
    #[error("row has {count} categories, at most {MAX_CATEGORIES_PER_ROW} are allowed")]
    TooManyRowCategories {
        /// Categories on the row.
        count: usize,
    },
    /// The input uses more distinct categories than [`MAX_CATEGORIES`].
    #[error(
        "more than {MAX_CATEGORIES} distinct categories; each one costs an FST, so merge rare \
         ones or split the index"
    )]
    TooManyCategories,
    /// The input does not fit in one segment (text over 4 GiB or over 2^32 - 1 suggestions).
    #[error("input too large for one segment: {what}; split it into several segments")]
    TooLarge {
        /// Which limit was hit.
        what: &'static str,
    },
    /// A segment being compacted is corrupt.
    #[error("cannot read a segment to compact: {0}")]
    Segment(#[from] crate::Error),
    /// The FST library refused the keys (a bug: keys are sorted and distinct).
    #[error("building the FST failed: {0}; please report this with the input that caused it")]
    Fst(#[from] fst::Error),
}

impl BuildError {
    /// True for errors about one row (the build can skip it and go on), false for errors
    /// about the whole build.
    pub fn is_row_error(&self) -> bool {
        matches!(
            self,
            BuildError::EmptyPhrase
                | BuildError::PhraseTooLong { .. }
                | BuildError::PayloadTooLong { .. }
                | BuildError::BadCategory { .. }
                | BuildError::TooManyRowCategories { .. }
        )
    }
}

/// Limits applied to each row, and what the segment indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Longest normalized phrase accepted, in bytes.
    pub max_phrase_bytes: usize,
    /// Longest payload accepted, in bytes.
    pub max_payload_bytes: usize,
    /// Also match queries at the start of every later word of a phrase ("york" finds "New
    /// York"). Adds one FST entry per later word; ranked after full-phrase matches.
    pub word_starts: bool,
    /// Precomputed answers for the prefixes with the most matches (base segments only).
    pub top_lists: TopListOptions,
    /// Marks the display forms that are their key title-cased ("New York" for `new york`)
    /// instead of storing them, where that takes fewer bytes: format v8, which engines before
    /// it cannot read. Off, such forms are stored as any other.
    pub display_titles: bool,
    /// Stores each category's cuts instead of a copy of its members' keys (format v9, which
    /// engines before it cannot read): a segment with two categories a row takes about half
    /// the bytes. Off, each category's FST holds its members' keys (format v6 or v7).
    pub category_cuts: bool,
    /// Packs each suggestion's category set number in the block size, 64 to 4,096 ranks,
    /// that makes the `category ids` section smallest (format v10 when that is not 64, which
    /// engines before it cannot read): npm with two categories a row, 85,863 → 37,175 bytes.
    /// Off, in blocks of 64 ranks, as before.
    pub wide_category_ids: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            max_phrase_bytes: DEFAULT_MAX_PHRASE_BYTES,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            word_starts: false,
            top_lists: TopListOptions::default(),
            display_titles: true,
            category_cuts: true,
            wide_category_ids: true,
        }
    }
}

/// A byte range in one of the builder's arenas.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    const NONE: Span = Span {
        start: 0,
        len: u32::MAX,
    };

    fn is_none(self) -> bool {
        self.len == u32::MAX
    }

    fn get(self, arena: &[u8]) -> &[u8] {
        &arena[self.start as usize..self.start as usize + self.len as usize]
    }
}

/// One input row (before merging) or one suggestion (after). Kept to 24 bytes: rows are most
/// of the builder's memory.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// The normalized key, in the builder's `keys`.
    key: Span,
    /// Index into `extras`, or [`NO_EXTRA`] when the surface form equals the key and there is no
    /// payload (the common case).
    extra: u32,
    /// Rank, once computed.
    rank: u32,
    score: u64,
}

const NO_EXTRA: u32 = u32::MAX;

impl Row {
    fn key<'k>(&self, keys: &'k [u8]) -> &'k [u8] {
        self.key.get(keys)
    }

    /// What the sections after ranking need: all but the score and where the key starts,
    /// in 12 bytes. Rows in key order hold their keys one after the other in the arena
    /// ([`keys_in_order`]), so a key starts where the row before's ends.
    fn ranked(&self) -> RankedRow {
        RankedRow {
            key_end: self.key.start + self.key.len,
            extra: self.extra,
            rank: self.rank,
        }
    }
}

/// A suggestion once ranked: a [`Row`] without its score, which the scores section already
/// holds, nor where its key starts. Half the size, so the FST is built beside less memory.
#[derive(Debug, Clone, Copy)]
struct RankedRow {
    /// Where its key ends in [`Ranked::keys`]; it starts where the row before's ends.
    key_end: u32,
    extra: u32,
    rank: u32,
}

/// What only some rows have: a surface form that differs from the key, a payload, categories.
#[derive(Debug, Clone, Copy)]
struct Extra {
    surface: Span,
    payload: Span,
    /// Category ids in `category_ids` (distinct; see `Ranked::categories_of` for their order).
    categories: Span,
}

/// A finished segment and what went into it.
#[derive(Debug, Clone)]
pub struct BuiltSegment {
    /// The segment file's bytes.
    pub bytes: Vec<u8>,
    /// Rows added.
    pub rows: u64,
    /// Distinct suggestions after merging.
    pub suggestions: u64,
}

/// Collects rows, then writes one segment with [`SegmentBuilder::finish`].
///
/// Rows whose phrases normalize to the same key become one suggestion: its score is the
/// saturating sum of their scores, its display text the surface form with the highest single
/// score (ties: the byte-wise smallest), its payload that row's payload.
///
/// Memory: 24 bytes per row plus the normalized text (and, only for rows that have them, the
/// surface text where it differs from the normalized key and the payload).
#[derive(Debug, Default)]
pub struct SegmentBuilder {
    options: BuildOptions,
    keys: Vec<u8>,
    texts: Vec<u8>,
    rows: Vec<Row>,
    extras: Vec<Extra>,
    /// Category ids of rows, in spans referenced by [`Extra::categories`].
    category_ids: Vec<u32>,
    /// Category name → id, in order of first appearance.
    category_index: HashMap<String, u32>,
    scratch: String,
    row_categories: Vec<u32>,
}

impl SegmentBuilder {
    /// A builder with default limits.
    pub fn new() -> SegmentBuilder {
        SegmentBuilder::with_options(BuildOptions::default())
    }

    /// A builder with the given limits.
    pub fn with_options(options: BuildOptions) -> SegmentBuilder {
        SegmentBuilder {
            options,
            ..SegmentBuilder::default()
        }
    }

    /// Rows added so far.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Adds a phrase with its score.
    pub fn add(&mut self, phrase: &str, score: u64) -> Result<(), BuildError> {
        self.add_with_payload(phrase, score, None)
    }

    /// Adds a phrase with its score and an optional payload (stored as given; validate it as
    /// JSON before, if it must be JSON).
    pub fn add_with_payload(
        &mut self,
        phrase: &str,
        score: u64,
        payload: Option<&str>,
    ) -> Result<(), BuildError> {
        self.add_row(phrase, score, payload, &[] as &[&str])
    }

    /// Adds a phrase with its score, an optional payload and the categories queries can filter
    /// it by. Rows that merge into one suggestion get the union of their categories. Nothing
    /// is added when an error is returned.
    pub fn add_row<C: AsRef<str>>(
        &mut self,
        phrase: &str,
        score: u64,
        payload: Option<&str>,
        categories: &[C],
    ) -> Result<(), BuildError> {
        let mut key = std::mem::take(&mut self.scratch);
        normalize_into(phrase, &mut key, Trailing::Trim);
        let added = self.add_keyed(&key, phrase, score, payload, categories);
        self.scratch = key;
        added
    }

    /// [`SegmentBuilder::add_row`] for a phrase whose normalized key is already known: what
    /// compaction uses, whose keys come normalized from segments. `key` must be
    /// `normalize_phrase(phrase)`; the segment is then byte-identical to one built with
    /// `add_row`.
    pub(crate) fn add_keyed<C: AsRef<str>>(
        &mut self,
        key: &str,
        phrase: &str,
        score: u64,
        payload: Option<&str>,
        categories: &[C],
    ) -> Result<(), BuildError> {
        check_categories(categories)?;
        check_key(key, self.options.max_phrase_bytes)?;
        self.check_payload_and_count(payload)?;
        let key_span = push_span(&mut self.keys, key.as_bytes())?;
        let surface = if phrase == key {
            Span::NONE
        } else {
            push_span(&mut self.texts, phrase.as_bytes())?
        };
        let payload = match payload {
            Some(p) => push_span(&mut self.texts, p.as_bytes())?,
            None => Span::NONE,
        };
        let categories = self.intern_categories(categories)?;
        let extra = self.push_extra(Extra {
            surface,
            payload,
            categories,
        });
        self.rows.push(Row {
            key: key_span,
            extra,
            rank: 0,
            score,
        });
        Ok(())
    }

    /// Refuses a payload over the limit, or a row past the most a segment can hold.
    fn check_payload_and_count(&self, payload: Option<&str>) -> Result<(), BuildError> {
        let max = self.options.max_payload_bytes;
        match payload {
            Some(p) if p.len() > max => Err(BuildError::PayloadTooLong { len: p.len(), max }),
            _ if self.rows.len() >= u32::MAX as usize => Err(BuildError::TooLarge {
                what: "more than 2^32 - 1 rows",
            }),
            _ => Ok(()),
        }
    }

    /// Stores what only some rows have; [`NO_EXTRA`] when the row has none of it.
    fn push_extra(&mut self, extra: Extra) -> u32 {
        if extra.surface.is_none() && extra.payload.is_none() && extra.categories.is_none() {
            return NO_EXTRA;
        }
        self.extras.push(extra);
        (self.extras.len() - 1) as u32
    }

    /// Stores a row's category ids (sorted, distinct); [`Span::NONE`] when it has none.
    fn intern_categories<C: AsRef<str>>(&mut self, categories: &[C]) -> Result<Span, BuildError> {
        if categories.is_empty() {
            return Ok(Span::NONE);
        }
        let new_names = categories
            .iter()
            .filter(|n| !self.category_index.contains_key(n.as_ref()))
            .count();
        // Checked before interning anything, so a refused row leaves no unused category.
        if self.category_index.len() + new_names > MAX_CATEGORIES {
            return Err(BuildError::TooManyCategories);
        }
        self.row_categories.clear();
        for name in categories {
            let name = name.as_ref();
            let id = match self.category_index.get(name) {
                Some(&id) => id,
                None => {
                    let id = self.category_index.len() as u32;
                    self.category_index.insert(name.to_owned(), id);
                    id
                }
            };
            self.row_categories.push(id);
        }
        self.row_categories.sort_unstable();
        self.row_categories.dedup();
        let start = self.category_ids.len() as u32;
        self.category_ids.extend_from_slice(&self.row_categories);
        Ok(Span {
            start,
            len: self.row_categories.len() as u32,
        })
    }

    /// Merges, ranks and writes the segment.
    pub fn finish(self) -> Result<BuiltSegment, BuildError> {
        self.finish_with(0, None)
    }

    /// [`SegmentBuilder::finish`] with more header flags and one more section after the
    /// others: how deltas (tombstones) and blocklists are written.
    pub(crate) fn finish_with(
        self,
        more_flags: u32,
        more: Option<(SectionKind, Vec<u8>)>,
    ) -> Result<BuiltSegment, BuildError> {
        let options = self.options;
        let source_rows = self.rows.len() as u64;
        let (ranked, scores) = Ranked::from_builder(self);
        let layout = Layout::of(&ranked, &options);
        // Only bases: over a stack the deltas' walks are not what costs (measured: lists in
        // deltas left a 4-delta stack as slow), and a blocklist has no suggestions.
        let top_options = match (more_flags, &more) {
            (0, None) => options.top_lists,
            _ => TopListOptions {
                budget_percent: 0,
                category_percent: 0,
                ..options.top_lists
            },
        };
        // Table entries for the top lists and the categories' lists: the writer drops them if
        // unused.
        let lists = 1 + usize::from(layout.categories);
        let mut writer =
            SegmentWriter::new(layout.section_count() + lists + usize::from(more.is_some()));
        let (top, category_top) =
            ranked.write_sections(&mut writer, (&layout, scores), (options, top_options))?;
        let suggestions = ranked.rows.len() as u64;
        // The rows, keys and texts are written: freed before the top lists' walks, which
        // peak memory would otherwise hold them through.
        drop(ranked);
        write_top_lists(&mut writer, top, suggestions, top_options.budget_percent);
        write_category_top_lists(
            &mut writer,
            category_top,
            suggestions,
            top_options.category_percent,
        );
        if let Some((kind, bytes)) = more {
            writer.begin_section(kind).extend_from_slice(&bytes);
            writer.end_section();
        }
        let word_starts = if options.word_starts {
            FLAG_WORD_STARTS
        } else {
            0
        };
        Ok(BuiltSegment {
            bytes: writer.finish(suggestions, source_rows, more_flags | word_starts),
            rows: source_rows,
            suggestions,
        })
    }
}

/// Each category's name and FST.
type CategoryFsts<'a> = Vec<(&'a str, Vec<u8>)>;

/// The prefixes that may get a top list.
type TopCandidates = top::Candidates;

/// Writes the top-lists section last, within `budget_percent` of the segment written so far
/// without its category sections (nothing when no candidate fits). The lists describe the
/// main FST, which filtered queries do not walk: counted, the categories' bytes bought lists
/// that only unfiltered queries used, four times a plain segment's on npm.
fn write_top_lists(
    writer: &mut SegmentWriter,
    candidates: TopCandidates,
    count: u64,
    budget_percent: u32,
) {
    if candidates.is_empty() {
        return;
    }
    let category_sections = [
        SectionKind::Categories,
        SectionKind::CategoryCuts,
        SectionKind::CategoryIds,
        SectionKind::RankCategories,
    ];
    let categories: usize = category_sections
        .into_iter()
        .filter_map(|kind| writer.section_bytes(kind))
        .map(<[u8]>::len)
        .sum();
    let budget = writer.len().saturating_sub(categories) / 100 * budget_percent as usize;
    let Some(fst_bytes) = writer.section_bytes(SectionKind::Fst) else {
        return;
    };
    if let Some(section) = top::section((fst_bytes, None), count, candidates, budget) {
        writer
            .begin_section(SectionKind::Top)
            .extend_from_slice(&section);
        writer.end_section();
    }
}

/// Writes the category top-lists section: each category's lists within `budget_percent` of
/// its own FST, chosen as the main FST's are (nothing when no category gets any). Filtered
/// queries walk the categories' FSTs, so their lists are what makes a common category's
/// short prefixes as fast as unfiltered ones.
fn write_category_top_lists(
    writer: &mut SegmentWriter,
    candidates: Vec<TopCandidates>,
    count: u64,
    budget_percent: u32,
) {
    if candidates.iter().all(TopCandidates::is_empty) {
        return;
    }
    let (section, cuts) = match writer.section_bytes(SectionKind::Categories) {
        Some(section) => (section, false),
        None => match writer.section_bytes(SectionKind::CategoryCuts) {
            Some(section) => (section, true),
            None => return,
        },
    };
    // Bytes this build just wrote: their nodes need no walk.
    let whole = (0, section.len(), cuts);
    let Ok(categories) = Categories::parse(section, whole, u64::MAX, Nodes::Trusted) else {
        return;
    };
    // Below a cut, a filtered walk goes on in the main FST.
    let main = cuts
        .then(|| writer.section_bytes(SectionKind::Fst))
        .flatten();
    let lists: Vec<Option<Vec<u8>>> = candidates
        .into_iter()
        .enumerate()
        .map(|(i, candidates)| {
            let fst = categories.fst(section, i).ok()?;
            let budget = fst.as_bytes().len() / 100 * budget_percent as usize;
            top::section((fst.as_bytes(), main), count, candidates, budget)
        })
        .collect();
    if lists.iter().all(Option::is_none) {
        return;
    }
    category_top::encode(writer.begin_section(SectionKind::CategoryTop), &lists);
    writer.end_section();
}

/// The rows merged by key and ranked: what the segment's sections are written from.
struct Ranked {
    /// Normalized keys; rows point into it.
    keys: Vec<u8>,
    /// Surface forms and payloads; extras point into it.
    texts: Vec<u8>,
    /// One row per suggestion, in key order, each with its rank.
    rows: Vec<RankedRow>,
    extras: Vec<Extra>,
    /// Category ids, renumbered so that id order is name order.
    category_ids: Vec<u32>,
    /// Category names in byte order: id `i` is `names[i]`.
    names: Vec<String>,
}

impl Ranked {
    /// Row `i`'s key.
    fn key(&self, i: usize) -> &[u8] {
        key_of(&self.rows, &self.keys, i)
    }

    /// Sorts rows by key, merges equal keys, ranks them and renumbers the categories; returns
    /// them with the scores section, encoded here so that the rows can drop their scores.
    fn from_builder(builder: SegmentBuilder) -> (Ranked, Vec<u8>) {
        let SegmentBuilder {
            keys,
            texts,
            mut rows,
            mut extras,
            mut category_ids,
            category_index,
            ..
        } = builder;
        sort_by_key(&mut rows, &keys);
        let merged = merge_in_place(&mut rows, &keys, &texts, &mut extras, &mut category_ids);
        rows.truncate(merged);
        rows.shrink_to_fit();
        let ordered = keys_in_order(&mut rows, &keys);
        drop(keys); // before ranking allocates
        let keys = ordered;
        assign_ranks(&mut rows);
        let scores = scores_by_rank(&rows);
        let rows = rows.iter().map(Row::ranked).collect();
        let names = renumber_categories(category_index, &mut category_ids);
        let ranked = Ranked {
            keys,
            texts,
            rows,
            extras,
            category_ids,
            names,
        };
        (ranked, scores)
    }

    fn extra_of(&self, row: &RankedRow) -> Option<Extra> {
        (row.extra != NO_EXTRA).then(|| self.extras[row.extra as usize])
    }

    /// A row's category ids: distinct, and in one order per set of categories (ascending as
    /// first numbered; `renumber_categories` then renumbers them by name).
    fn categories_of(&self, row: &RankedRow) -> &[u32] {
        match self.extra_of(row) {
            Some(e) if !e.categories.is_none() => {
                let start = e.categories.start as usize;
                &self.category_ids[start..start + e.categories.len as usize]
            }
            _ => &[],
        }
    }

    /// A generous guess at the segment's size: reserved up front, the buffer the FST streams
    /// into never grows, which would copy it and briefly hold it twice (the build's peak).
    /// Pages reserved but never written cost no memory.
    fn segment_estimate(&self) -> usize {
        let per_row = self.rows.len().saturating_mul(24);
        (self.keys.len() + self.texts.len()).saturating_add(per_row)
    }

    /// Row indexes in rank order.
    fn rows_by_rank(&self) -> Vec<u32> {
        rank_order(self.rows.iter().map(|r| r.rank))
    }

    /// Writes the FST sections and the rank tables; returns the top lists' candidates, the
    /// main FST's and each category's. The FST streams into the segment buffer while the
    /// rank tables are encoded on the second thread.
    fn write_sections(
        &self,
        writer: &mut SegmentWriter,
        (layout, scores): (&Layout, Vec<u8>),
        (options, top_options): (BuildOptions, TopListOptions),
    ) -> Result<(TopCandidates, Vec<TopCandidates>), BuildError> {
        let order = self.rows_by_rank();
        let mut buffer = writer.take_buffer(SectionKind::Fst);
        // A failed reservation only costs the copies it would have saved.
        let _ = buffer.try_reserve(self.segment_estimate());
        let entries = Entries::new(self, options.word_starts)?;
        // The top lists' candidates are counted beside the FST, on the thread the rank tables
        // leave idle most of the time. Held through the build's peak, they take less than
        // the 12-byte ranked rows saved.
        let (fsts, (tables, top_candidates)) = parallel::join(
            || entries.write_fsts(buffer, options, top_options),
            || {
                // Moved in: freed as soon as the tables are made, before the FST is done.
                let order = order;
                let tables = self.rank_tables(layout, &order, scores);
                drop(order);
                (tables, entries.top_candidates(top_options))
            },
        );
        let (buffer, category_fsts, category_candidates) = fsts?;
        // The word-start entries' keys, freed before the tables are copied in.
        drop(entries);
        writer.return_buffer(buffer);
        writer.end_section();
        let categories_kind = match options.category_cuts {
            true => SectionKind::CategoryCuts,
            false => SectionKind::Categories,
        };
        tables.write(writer, (categories_kind, category_fsts));
        Ok((top_candidates, category_candidates))
    }

    /// Encodes the sections read by rank (those of `layout`'s display forms, payloads and
    /// categories, beside the scores already encoded), which need the ranks but not the FST.
    fn rank_tables(&self, layout: &Layout, order: &[u32], scores: Vec<u8>) -> RankTables {
        let titled = |row: u32| layout.is_titled(row);
        RankTables {
            scores,
            display: layout
                .display
                .then(|| self.strings_by_rank(order, |e| e.surface, titled)),
            titles: layout.titles().then(|| {
                let mut out = Vec::new();
                titles::encode(&mut out, order.len(), |rank| titled(order[rank]));
                out
            }),
            payloads: layout
                .payloads
                .then(|| self.strings_by_rank(order, |e| e.payload, |_| false)),
            categories: layout
                .categories
                .then(|| self.categories_by_rank(order, layout.wide_category_ids)),
        }
    }

    /// A strings section (display forms or payloads) from the span `pick` chooses, leaving
    /// out the rows (by index) `skip` names.
    fn strings_by_rank(
        &self,
        order: &[u32],
        pick: fn(&Extra) -> Span,
        skip: impl Fn(u32) -> bool + Clone,
    ) -> Vec<u8> {
        let entries = order.iter().enumerate().filter_map(move |(rank, &r)| {
            if skip(r) {
                return None;
            }
            let span = pick(&self.extra_of(&self.rows[r as usize])?);
            (!span.is_none()).then(|| (rank as u32, text(span, &self.texts)))
        });
        let mut out = Vec::new();
        strings::encode(&mut out, entries);
        out
    }

    /// The `category ids` and `rank categories` sections: each distinct set of categories as
    /// "a,b" (names never hold commas, and are sorted), numbered from 1 in the order the
    /// ranks first hold it, and each rank's number (0: none). Numbered so, the sets that
    /// neighbouring ranks hold get neighbouring numbers (categories follow popularity more
    /// often than names do), and a block of 64 ranks packs its numbers in fewer bits: npm
    /// with a score band and a script a row, 180,833 → 85,863 bytes against numbers in the
    /// names' byte order. With `wide`, the numbers are packed in the block size that makes
    /// them smallest (format v10 when that is not 64).
    fn categories_by_rank(&self, order: &[u32], wide: bool) -> CategorySections {
        // Keyed by the rows' own id lists, which list a set's ids in the same order wherever
        // it occurs, so no row allocates.
        let mut sets: HashMap<&[u32], u32> = HashMap::new();
        // Each set's ids, by number - 1: the order the ranks first hold them.
        let mut first_held: Vec<&[u32]> = Vec::new();
        let numbers: Vec<u32> = order
            .iter()
            .map(|&r| {
                let ids = self.categories_of(&self.rows[r as usize]);
                if ids.is_empty() {
                    return 0;
                }
                *sets.entry(ids).or_insert_with(|| {
                    first_held.push(ids);
                    first_held.len() as u32
                })
            })
            .collect();
        let names: Vec<String> = first_held
            .iter()
            .map(|ids| self.joined_names(ids))
            .collect();
        let mut sections = CategorySections::default();
        let widest = if wide { scores::WIDEST } else { scores::BLOCK };
        sections.block = scores::encode_smallest(&mut sections.ids, (order.len(), widest), |r| {
            u64::from(numbers[r])
        });
        let sets = (1..).zip(names.iter().map(String::as_str));
        strings::encode(&mut sections.sets, sets);
        sections
    }

    /// Whether row `i`'s display form is its key title-cased (see `format::titles`).
    fn is_titled(&self, i: usize) -> bool {
        let extra = self.rows.get(i).and_then(|row| self.extra_of(row));
        let Some(extra) = extra.filter(|e| !e.surface.is_none()) else {
            return false;
        };
        titles::is_title_of(extra.surface.get(&self.texts), self.key(i))
    }

    /// Category ids' names, sorted and joined by commas.
    fn joined_names(&self, ids: &[u32]) -> String {
        let mut list: Vec<&str> = ids
            .iter()
            .map(|&c| self.names[c as usize].as_str())
            .collect();
        list.sort_unstable();
        list.join(",")
    }
}

/// The encoded `category ids` (each rank's set) and `rank categories` (the sets) sections.
#[derive(Default)]
struct CategorySections {
    ids: Vec<u8>,
    /// Ranks per block of `ids`: other than 64 only from format v10.
    block: usize,
    sets: Vec<u8>,
}

/// The sections read by rank, encoded while the FST is built.
struct RankTables {
    scores: Vec<u8>,
    display: Option<Vec<u8>>,
    titles: Option<Vec<u8>>,
    payloads: Option<Vec<u8>>,
    /// Each rank's categories.
    categories: Option<CategorySections>,
}

impl RankTables {
    /// Appends the sections after the FST, in the segment's order: scores, display forms,
    /// payloads, the category FSTs, then each rank's categories.
    fn write(
        self,
        writer: &mut SegmentWriter,
        (categories_kind, category_fsts): (SectionKind, CategoryFsts<'_>),
    ) {
        let section = |writer: &mut SegmentWriter, kind: SectionKind, bytes: &[u8]| {
            writer.begin_section(kind).extend_from_slice(bytes);
            writer.end_section();
        };
        section(writer, SectionKind::Scores, &self.scores);
        if let Some(display) = &self.display {
            section(writer, SectionKind::Display, display);
        }
        if let Some(titles) = &self.titles {
            section(writer, SectionKind::DisplayTitles, titles);
        }
        if let Some(payloads) = &self.payloads {
            section(writer, SectionKind::Payloads, payloads);
        }
        if let Some(by_rank) = &self.categories {
            categories::encode(writer.begin_section(categories_kind), &category_fsts);
            writer.end_section();
            drop(category_fsts);
            if by_rank.block != scores::BLOCK {
                writer.require_version(10);
            }
            section(writer, SectionKind::CategoryIds, &by_rank.ids);
            section(writer, SectionKind::RankCategories, &by_rank.sets);
        }
    }
}

/// Which optional sections a segment has.
struct Layout {
    /// Display forms stored (those not marked as titles).
    display: bool,
    /// By row index, whether its display form is marked as its key title-cased; empty when
    /// none is (no `display titles` section).
    titled: Vec<bool>,
    payloads: bool,
    categories: bool,
    /// Category set numbers in the block size that packs them smallest, not 64 only.
    wide_category_ids: bool,
}

impl Layout {
    /// The sections `ranked` needs; display forms are marked as titles when the options
    /// allow it and the marks take fewer bytes than the entries they replace.
    fn of(ranked: &Ranked, options: &BuildOptions) -> Layout {
        let has = |pick: fn(&Extra) -> Span| {
            ranked
                .rows
                .iter()
                .any(|r| ranked.extra_of(r).is_some_and(|e| !pick(&e).is_none()))
        };
        let titled = if options.display_titles {
            titles_that_pay(ranked)
        } else {
            Vec::new()
        };
        let stored = |(i, r): (usize, &RankedRow)| {
            let surface = ranked.extra_of(r).is_some_and(|e| !e.surface.is_none());
            surface && !titled.get(i).copied().unwrap_or(false)
        };
        Layout {
            display: ranked.rows.iter().enumerate().any(stored),
            titled,
            payloads: has(|e| e.payload),
            categories: !ranked.names.is_empty(),
            wide_category_ids: options.wide_category_ids,
        }
    }

    /// Whether the segment has a `display titles` section.
    fn titles(&self) -> bool {
        !self.titled.is_empty()
    }

    /// Whether row `row`'s display form is marked as its key title-cased.
    fn is_titled(&self, row: u32) -> bool {
        self.titled.get(row as usize).copied().unwrap_or(false)
    }

    /// FST and scores, plus the optional ones (categories take two sections).
    fn section_count(&self) -> usize {
        2 + usize::from(self.display)
            + usize::from(self.titles())
            + usize::from(self.payloads)
            + 3 * usize::from(self.categories)
    }
}

/// By row index, whether each display form is its key title-cased, when marking them takes
/// fewer bytes than storing them (each stored one takes its bytes, a rank and an offset; the
/// marks a bit per suggestion); empty otherwise.
fn titles_that_pay(ranked: &Ranked) -> Vec<bool> {
    let titled: Vec<bool> = (0..ranked.rows.len())
        .map(|i| ranked.is_titled(i))
        .collect();
    let marks = 8 * ranked.rows.len().div_ceil(64);
    let stored: usize = (titled.iter().enumerate())
        .filter(|(_, &titled)| titled)
        .map(|(i, _)| 8 + ranked.key(i).len())
        .sum();
    match stored > marks {
        true => titled,
        false => Vec::new(),
    }
}

/// An FST entry: a full key (a row index) or a word-start entry (an index in
/// [`Entries::words`]).
#[derive(Debug, Clone, Copy)]
struct EntryId {
    index: u32,
    is_word: bool,
}

/// Every FST entry: full keys and, with word starts, one "suffix 0xFF head" entry per later
/// word, costed after every full key (rank + count) so that full-phrase matches come first.
struct Entries<'r> {
    ranked: &'r Ranked,
    word_keys: Vec<u8>,
    words: Vec<WordEntry>,
}

impl<'r> Entries<'r> {
    fn new(ranked: &'r Ranked, word_starts: bool) -> Result<Entries<'r>, BuildError> {
        let (word_keys, words) = if word_starts {
            word_start_entries(&ranked.rows, &ranked.keys)?
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Entries {
            ranked,
            word_keys,
            words,
        })
    }

    /// Writes the main FST section and returns each category's FST, by name, and each
    /// category's top-list candidates.
    ///
    /// The main FST streams straight into the segment buffer; full keys and word-start entries
    /// are merged in key order. Each category remembers its entries (positions in that order)
    /// and gets its FST afterwards, one at a time: an FST builder holds a sizeable hash table,
    /// so building hundreds at once would multiply peak memory.
    fn write_fsts(
        &self,
        buffer: Vec<u8>,
        options: BuildOptions,
        top_options: TopListOptions,
    ) -> Result<(Vec<u8>, CategoryFsts<'r>, Vec<TopCandidates>), BuildError> {
        let ranked = self.ranked;
        let mut fst = FstWriter::new(buffer);
        // Each category's members by position among the entries in key order (`order`).
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); ranked.names.len()];
        let mut order: Vec<EntryId> = Vec::new();
        for id in self.in_key_order() {
            let (key, cost, row) = self.get(id);
            fst.insert(key, cost)?;
            if members.is_empty() {
                continue;
            }
            let position = u32::try_from(order.len()).map_err(|_| BuildError::TooLarge {
                what: "over 2^32 - 1 entries with categories",
            })?;
            order.push(id);
            for &c in ranked.categories_of(row) {
                members[c as usize].push(position);
            }
        }
        let buffer = fst.finish();
        let mut category_fsts = Vec::with_capacity(ranked.names.len());
        let mut category_candidates = Vec::with_capacity(ranked.names.len());
        for (list, name) in members.iter().zip(&ranked.names) {
            let fst = match options.category_cuts {
                true => self.cut_fst_of(list, &order)?,
                false => self.fst_of(list.iter().map(|&at| order[at as usize]))?,
            };
            category_fsts.push((name.as_str(), fst));
            let mut top = top::Collector::new(top_options.for_categories());
            if top.collects() {
                for &at in list {
                    top.push(self.get(order[at as usize]).0);
                }
            }
            category_candidates.push(top.finish());
        }
        Ok((buffer, category_fsts, category_candidates))
    }

    /// The main FST's top-list candidates, from a pass over every entry in key order. Deltas
    /// and blocklists, which get no lists, skip the pass.
    fn top_candidates(&self, top_options: TopListOptions) -> TopCandidates {
        let mut top = top::Collector::new(top_options);
        if top.collects() {
            for id in self.in_key_order() {
                top.push(self.get(id).0);
            }
        }
        top.finish()
    }

    /// An entry's key, its cost and the row it points at.
    fn get(&self, id: EntryId) -> (&[u8], u64, &'r RankedRow) {
        let rows = &self.ranked.rows;
        if id.is_word {
            let w = &self.words[id.index as usize];
            let row = &rows[w.row as usize];
            let count = rows.len() as u64;
            (w.key.get(&self.word_keys), count + u64::from(row.rank), row)
        } else {
            let row = &rows[id.index as usize];
            (self.ranked.key(id.index as usize), u64::from(row.rank), row)
        }
    }

    /// Every entry, in key order (full keys and word-start entries never collide: only the
    /// latter hold the separator byte).
    fn in_key_order(&self) -> impl Iterator<Item = EntryId> + '_ {
        let id = |is_word| move |index| EntryId { index, is_word };
        let full = (0..self.ranked.rows.len() as u32).map(id(false));
        let words = (0..self.words.len() as u32).map(id(true));
        let keyed = |id: EntryId| (self.get(id).0, id);
        merge_sorted(full.map(keyed), words.map(keyed)).map(|(_, id)| id)
    }

    /// The FST of a list of entries already in key order.
    fn fst_of(&self, list: impl Iterator<Item = EntryId>) -> Result<Vec<u8>, BuildError> {
        let mut builder = FstWriter::new(Vec::new());
        for id in list {
            let (key, cost, _) = self.get(id);
            builder.insert(key, cost)?;
        }
        Ok(builder.finish())
    }

    /// The cut FST of the members at positions `list` of the entries in key order, `order`
    /// (see `format::cuts`).
    fn cut_fst_of(&self, list: &[u32], order: &[EntryId]) -> Result<Vec<u8>, BuildError> {
        let key = |at: usize| self.get(order[at]).0;
        let cost = |at: usize| self.get(order[at]).1;
        let mut builder = FstWriter::new(Vec::new());
        for (cut, least) in cuts::entries(list, order.len(), key, cost) {
            builder.insert(&cut, least)?;
        }
        Ok(builder.finish())
    }
}

/// Row `i`'s key in `keys`, the arena of `rows`' keys in row order.
fn key_of<'k>(rows: &[RankedRow], keys: &'k [u8], i: usize) -> &'k [u8] {
    let before = i.checked_sub(1).and_then(|before| rows.get(before));
    let start = before.map_or(0, |row| row.key_end);
    let end = rows.get(i).map_or(start, |row| row.key_end);
    keys.get(start as usize..end as usize).unwrap_or_default()
}

/// Row indexes in rank order, from each row's rank (a permutation of `0..len`).
fn rank_order(ranks: impl ExactSizeIterator<Item = u32>) -> Vec<u32> {
    let mut order = vec![0u32; ranks.len()];
    for (i, rank) in ranks.enumerate() {
        order[rank as usize] = i as u32;
    }
    order
}

/// The scores section: each rank's score.
fn scores_by_rank(rows: &[Row]) -> Vec<u8> {
    let order = rank_order(rows.iter().map(|r| r.rank));
    let mut scores = Vec::new();
    scores::encode(&mut scores, rows.len(), |rank| {
        rows[order[rank] as usize].score
    });
    scores
}

/// Rank order: score descending, then key ascending (rows are in key order, so the row index
/// breaks ties). Sorts (score, index) pairs: comparing them needs no look-up into `rows`.
fn assign_ranks(rows: &mut [Row]) {
    let mut order: Vec<(std::cmp::Reverse<u64>, u32)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (std::cmp::Reverse(r.score), i as u32))
        .collect();
    order.sort_unstable();
    for (rank, &(_, row)) in order.iter().enumerate() {
        rows[row as usize].rank = rank as u32;
    }
}

/// Sorts rows by key, as an MSD radix sort by 8-byte chunks: [`SortKey`]s compare without
/// reading the keys, and each run of keys agreeing on a chunk is re-keyed with the next one,
/// so each key is read once per chunk instead of once per comparison. Large inputs are split
/// in two around a sampled median first, each half sorted on its own thread. Then moves the
/// rows into that order in place. Equal keys end up in any order: merging does not depend on
/// it.
fn sort_by_key(rows: &mut [Row], keys: &[u8]) {
    // Rows that come sorted (compaction streams keys in order) need one pass, not a sort.
    if rows.windows(2).all(|w| w[0].key(keys) <= w[1].key(keys)) {
        return;
    }
    let mut order: Vec<SortKey> = (0..rows.len() as u32)
        .map(|row| SortKey::of(row, rows, keys, 0))
        .collect();
    let low = split_at_median(&mut order);
    let (first, second) = order.split_at_mut(low);
    let rows_read: &[Row] = rows;
    parallel::join(
        || sort_keys(first, rows_read, keys),
        || sort_keys(second, rows_read, keys),
    );
    permute(rows, order.into_iter().map(|e| e.row).collect());
}

/// Below this many rows a sort stays on one thread: a second one would cost more than it
/// saves.
const SPLIT_SORT_ROWS: usize = 1 << 15;

/// Moves every key whose first window is at most a sampled median's ahead of the others, and
/// returns how many there are (all of them for small inputs). Keys equal in that window stay
/// on one side, so the two sides sort apart.
fn split_at_median(order: &mut [SortKey]) -> usize {
    if order.len() < SPLIT_SORT_ROWS {
        return order.len();
    }
    let step = order.len() / 1024;
    let mut sample: Vec<(u64, u8)> = order.iter().step_by(step).map(SortKey::window).collect();
    let middle = sample.len() / 2;
    let pivot = *sample.select_nth_unstable(middle).1;
    let mut low = 0;
    for i in 0..order.len() {
        if order[i].window() <= pivot {
            order.swap(low, i);
            low += 1;
        }
    }
    low
}

/// Sorts `run`, keyed at depth 0, by its rows' keys.
fn sort_keys(run: &mut [SortKey], rows: &[Row], keys: &[u8]) {
    // Ranges of `run` whose keys agree before `depth` and are not yet sorted from there.
    let mut pending = vec![(0, run.len(), 0)];
    while let Some((start, end, depth)) = pending.pop() {
        let part = &mut run[start..end];
        if depth > 0 {
            for entry in part.iter_mut() {
                *entry = SortKey::of(entry.row, rows, keys, depth);
            }
        }
        part.sort_unstable_by_key(SortKey::window);
        let mut at = start;
        for group in part.chunk_by(|a, b| a.window() == b.window()) {
            if group.len() > 1 && group[0].tail == SortKey::CONTINUES {
                pending.push((at, at + group.len(), depth + 8));
            }
            at += group.len();
        }
    }
}

/// A row's key seen through an 8-byte window: keys that agree before the window compare as
/// `(chunk, tail)` do, except that keys both continuing past it need the next window.
#[derive(Debug, Clone, Copy)]
struct SortKey {
    /// The window's bytes, big-endian, zero-padded.
    chunk: u64,
    /// How many key bytes the window holds (0–8; a zero-padded shorter key sorts first), or
    /// [`SortKey::CONTINUES`].
    tail: u8,
    row: u32,
}

impl SortKey {
    const CONTINUES: u8 = 9;

    /// What it sorts by.
    fn window(&self) -> (u64, u8) {
        (self.chunk, self.tail)
    }

    fn of(row: u32, rows: &[Row], keys: &[u8], depth: usize) -> SortKey {
        let key = rows[row as usize].key(keys);
        let window = key.get(depth..).unwrap_or_default();
        let n = window.len().min(8);
        let mut bytes = [0u8; 8];
        bytes[..n].copy_from_slice(&window[..n]);
        SortKey {
            chunk: u64::from_be_bytes(bytes),
            tail: if window.len() > 8 {
                Self::CONTINUES
            } else {
                n as u8
            },
            row,
        }
    }
}

/// Copies the keys of `rows` (in key order) into a new arena in that order and points the rows
/// at it: the FST writer then reads keys sequentially instead of missing the cache on each,
/// and the keys of merged rows are dropped.
fn keys_in_order(rows: &mut [Row], keys: &[u8]) -> Vec<u8> {
    let total = rows.iter().map(|r| r.key.len as usize).sum();
    let mut ordered = Vec::with_capacity(total);
    for row in rows {
        // At most the old arena's length, which fits in a u32.
        let start = ordered.len() as u32;
        ordered.extend_from_slice(row.key(keys));
        row.key.start = start;
    }
    ordered
}

/// Reorders `rows` so that `rows[i]` becomes the old `rows[from[i]]`, following cycles in place
/// (`from` is a permutation; it is used up as the visited marks).
fn permute(rows: &mut [Row], mut from: Vec<u32>) {
    const DONE: u32 = u32::MAX;
    for start in 0..rows.len() {
        if from[start] == DONE {
            continue;
        }
        let first = rows[start];
        let mut at = start;
        loop {
            let next = std::mem::replace(&mut from[at], DONE) as usize;
            if next == start {
                rows[at] = first;
                break;
            }
            rows[at] = rows[next];
            at = next;
        }
    }
}

/// Renumbers category ids so that id order is name order (the section's order); returns the
/// names in that order.
fn renumber_categories(index: HashMap<String, u32>, ids: &mut [u32]) -> Vec<String> {
    let mut names: Vec<(String, u32)> = index.into_iter().collect();
    names.sort_unstable();
    let mut sorted_id = vec![0u32; names.len()];
    for (new, (_, old)) in names.iter().enumerate() {
        sorted_id[*old as usize] = new as u32;
    }
    for id in ids.iter_mut() {
        *id = sorted_id[*id as usize];
    }
    names.into_iter().map(|(name, _)| name).collect()
}

/// One word-start entry: its key in the word-key arena and the row it points at.
struct WordEntry {
    key: Span,
    row: u32,
}

/// Builds every word-start entry ("york" 0xFF "new " for "new york"), sorted by key.
fn word_start_entries(
    rows: &[RankedRow],
    keys: &[u8],
) -> Result<(Vec<u8>, Vec<WordEntry>), BuildError> {
    let mut arena = Vec::new();
    let mut entries = Vec::new();
    for i in 0..rows.len() {
        let key = key_of(rows, keys, i);
        // Keys are normalized: words are separated by exactly one ASCII space.
        for (at, _) in key.iter().enumerate().filter(|&(_, &b)| b == b' ') {
            let start = arena.len();
            arena.extend_from_slice(&key[at + 1..]);
            arena.push(WORD_START_SEPARATOR);
            arena.extend_from_slice(&key[..at + 1]);
            let (Ok(start32), Ok(len)) = (u32::try_from(start), u32::try_from(arena.len() - start))
            else {
                return Err(BuildError::TooLarge {
                    what: "more than 4 GiB of word-start keys",
                });
            };
            entries.push(WordEntry {
                key: Span {
                    start: start32,
                    len,
                },
                row: i as u32,
            });
        }
    }
    entries.sort_unstable_by(|a, b| a.key.get(&arena).cmp(b.key.get(&arena)));
    Ok((arena, entries))
}

/// Merges two iterators already sorted by key (keys are distinct across both).
fn merge_sorted<'k, T>(
    a: impl Iterator<Item = (&'k [u8], T)>,
    b: impl Iterator<Item = (&'k [u8], T)>,
) -> impl Iterator<Item = (&'k [u8], T)> {
    let mut a = a.peekable();
    let mut b = b.peekable();
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) => {
            if x.0 <= y.0 {
                a.next()
            } else {
                b.next()
            }
        }
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}

/// Checks a row's category list and each name in it.
/// Refuses a normalized key that is empty or longer than `max` bytes.
pub(crate) fn check_key(key: &str, max: usize) -> Result<(), BuildError> {
    match key.len() {
        0 => Err(BuildError::EmptyPhrase),
        len if len > max => Err(BuildError::PhraseTooLong { len, max }),
        _ => Ok(()),
    }
}

fn check_categories<C: AsRef<str>>(categories: &[C]) -> Result<(), BuildError> {
    if categories.len() > MAX_CATEGORIES_PER_ROW {
        return Err(BuildError::TooManyRowCategories {
            count: categories.len(),
        });
    }
    for name in categories {
        check_category(name.as_ref())?;
    }
    Ok(())
}

/// Checks one category name.
fn check_category(name: &str) -> Result<(), BuildError> {
    match categories::name_problem(name) {
        Some(reason) => Err(BuildError::BadCategory {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn push_span(arena: &mut Vec<u8>, bytes: &[u8]) -> Result<Span, BuildError> {
    let start = u32::try_from(arena.len()).ok();
    let end = u32::try_from(arena.len() + bytes.len()).ok();
    match (start, end) {
        (Some(start), Some(end)) if end < u32::MAX => {
            arena.extend_from_slice(bytes);
            Ok(Span {
                start,
                len: end - start,
            })
        }
        _ => Err(BuildError::TooLarge {
            what: "more than 4 GiB of phrase text",
        }),
    }
}

fn text(span: Span, texts: &[u8]) -> &str {
    // Spans only ever cover whole `&str`s pushed by `add_with_payload`.
    std::str::from_utf8(span.get(texts)).unwrap_or_default()
}

/// Merges runs of equal keys (rows sorted by key) into their first slot; returns the count.
fn merge_in_place(
    rows: &mut [Row],
    keys: &[u8],
    texts: &[u8],
    extras: &mut Vec<Extra>,
    category_ids: &mut Vec<u32>,
) -> usize {
    let mut union: Vec<u32> = Vec::new();
    let mut written = 0;
    let mut i = 0;
    while i < rows.len() {
        let key = rows[i].key(keys);
        let mut end = i + 1;
        while end < rows.len() && rows[end].key(keys) == key {
            end += 1;
        }
        let group = &rows[i..end];
        let mut best = pick_best(group, keys, texts, extras);
        union_categories(group, extras, category_ids, &mut union);
        give_categories(&mut best, &union, extras, category_ids);
        best.score = group
            .iter()
            .fold(0u64, |acc, r| acc.saturating_add(r.score));
        rows[written] = best;
        written += 1;
        i = end;
    }
    written
}

/// The union of a group's category ids, sorted and distinct, into `union` (only rows that
/// have some pay for this).
fn union_categories(group: &[Row], extras: &[Extra], category_ids: &[u32], union: &mut Vec<u32>) {
    union.clear();
    for r in group {
        if r.extra != NO_EXTRA {
            let span = extras[r.extra as usize].categories;
            if !span.is_none() {
                let start = span.start as usize;
                union.extend_from_slice(&category_ids[start..start + span.len as usize]);
            }
        }
    }
    union.sort_unstable();
    union.dedup();
}

/// Gives the kept row the group's categories, with a new extra (keeping its surface form and
/// payload) when its own list is not already the union.
fn give_categories(best: &mut Row, union: &[u32], extras: &mut Vec<Extra>, ids: &mut Vec<u32>) {
    let own = (best.extra != NO_EXTRA).then(|| extras[best.extra as usize]);
    let own_len = own.map_or(0, |e| {
        if e.categories.is_none() {
            0
        } else {
            e.categories.len as usize
        }
    });
    if union.len() == own_len {
        return;
    }
    let start = ids.len() as u32;
    ids.extend_from_slice(union);
    extras.push(Extra {
        surface: own.map_or(Span::NONE, |e| e.surface),
        payload: own.map_or(Span::NONE, |e| e.payload),
        categories: Span {
            start,
            len: union.len() as u32,
        },
    });
    best.extra = (extras.len() - 1) as u32;
}

/// The row whose display form (and payload) a group of equal keys keeps: highest single score,
/// then byte-wise smallest surface form, then smallest payload, so the choice never depends on
/// input order.
fn pick_best(group: &[Row], keys: &[u8], texts: &[u8], extras: &[Extra]) -> Row {
    let extra = |r: &Row| (r.extra != NO_EXTRA).then(|| extras[r.extra as usize]);
    let surface = |r: &Row| -> &[u8] {
        match extra(r) {
            Some(e) if !e.surface.is_none() => e.surface.get(texts),
            _ => r.key(keys),
        }
    };
    let payload = |r: &Row| -> Option<&[u8]> {
        extra(r).and_then(|e| (!e.payload.is_none()).then(|| e.payload.get(texts)))
    };
    group
        .iter()
        .min_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then_with(|| surface(a).cmp(surface(b)))
                .then_with(|| payload(a).cmp(&payload(b)))
        })
        .copied()
        .unwrap_or(group[0])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{sort_by_key, Row, Span, NO_EXTRA, SPLIT_SORT_ROWS};

    /// Rows over `keys` laid out one after the other in an arena, in the given order.
    fn rows_of(keys: &[Vec<u8>]) -> (Vec<Row>, Vec<u8>) {
        let mut arena = Vec::new();
        let rows = keys
            .iter()
            .map(|key| {
                let start = arena.len() as u32;
                arena.extend_from_slice(key);
                Row {
                    key: Span {
                        start,
                        len: key.len() as u32,
                    },
                    extra: NO_EXTRA,
                    rank: 0,
                    score: 0,
                }
            })
            .collect();
        (rows, arena)
    }

    /// Keys of 0–40 bytes over three letters after one of a few long shared heads: many
    /// agree on their first 8 and 16 bytes, many are equal, some are prefixes of others.
    fn keys(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Vec<u8>>> {
        let head = prop::sample::select(vec![
            b"".to_vec(),
            b"@types/".to_vec(),
            b"@types/node-".to_vec(),
            b"abcdefgh".to_vec(),
        ]);
        let tail = prop::collection::vec(prop::sample::select(vec![b'a', b'b', 0xC3]), 0..40);
        let key = (head, tail).prop_map(|(mut h, t)| {
            h.extend(t);
            h
        });
        prop::collection::vec(key, len)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// The radix sort, split over two threads above the threshold, orders keys as a
        /// comparison sort does.
        #[test]
        fn rows_sort_as_their_keys(keys in keys(SPLIT_SORT_ROWS - 1..SPLIT_SORT_ROWS * 2)) {
            let (mut rows, arena) = rows_of(&keys);
            sort_by_key(&mut rows, &arena);
            let sorted: Vec<&[u8]> = rows.iter().map(|r| r.key(&arena)).collect();
            let mut expected: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            expected.sort();
            prop_assert_eq!(sorted, expected);
        }
    }
}
