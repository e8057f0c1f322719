//! The segment builder: merges rows by normalized key, ranks them and writes a segment.
//! Pure computation: rows in, bytes out. Deterministic: the same rows, in any order, give
//! byte-identical segments.

use std::collections::HashMap;

use crate::format::header::SegmentWriter;
use crate::format::WORD_START_SEPARATOR;
use crate::format::{categories, scores, strings, SectionKind, FLAG_WORD_STARTS};
use crate::normalize::{normalize_into, Trailing};

/// Default limit on a phrase's normalized length, in bytes.
pub const DEFAULT_MAX_PHRASE_BYTES: usize = 256;
/// Default limit on a payload's length, in bytes.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1024;
/// Longest category name, in bytes.
pub const MAX_CATEGORY_BYTES: usize = 64;
/// Most categories one row may carry.
pub const MAX_CATEGORIES_PER_ROW: usize = 32;
/// Most distinct categories in one segment (each gets its own FST).
pub const MAX_CATEGORIES: usize = 1024;

/// Why a row or a build was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// The FST library refused the keys (a bug: keys are sorted and distinct).
    #[error("building the FST failed: {0}")]
    Fst(String),
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
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            max_phrase_bytes: DEFAULT_MAX_PHRASE_BYTES,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            word_starts: false,
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
    key_start: u32,
    key_len: u32,
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
        &keys[self.key_start as usize..self.key_start as usize + self.key_len as usize]
    }
}

/// What only some rows have: a surface form that differs from the key, a payload, categories.
#[derive(Debug, Clone, Copy)]
struct Extra {
    surface: Span,
    payload: Span,
    /// Category ids in `category_ids` (sorted, distinct).
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
        if categories.len() > MAX_CATEGORIES_PER_ROW {
            return Err(BuildError::TooManyRowCategories {
                count: categories.len(),
            });
        }
        for name in categories {
            check_category(name.as_ref())?;
        }
        normalize_into(phrase, &mut self.scratch, Trailing::Trim);
        let key_len = self.scratch.len();
        if key_len == 0 {
            return Err(BuildError::EmptyPhrase);
        }
        if key_len > self.options.max_phrase_bytes {
            return Err(BuildError::PhraseTooLong {
                len: key_len,
                max: self.options.max_phrase_bytes,
            });
        }
        if let Some(p) = payload {
            if p.len() > self.options.max_payload_bytes {
                return Err(BuildError::PayloadTooLong {
                    len: p.len(),
                    max: self.options.max_payload_bytes,
                });
            }
        }
        if self.rows.len() >= u32::MAX as usize {
            return Err(BuildError::TooLarge {
                what: "more than 2^32 - 1 rows",
            });
        }
        let key = push_span(&mut self.keys, self.scratch.as_bytes())?;
        let surface = if phrase == self.scratch {
            Span::NONE
        } else {
            push_span(&mut self.texts, phrase.as_bytes())?
        };
        let payload = match payload {
            Some(p) => push_span(&mut self.texts, p.as_bytes())?,
            None => Span::NONE,
        };
        let categories = self.intern_categories(categories)?;
        let extra = if surface.is_none() && payload.is_none() && categories.is_none() {
            NO_EXTRA
        } else {
            self.extras.push(Extra {
                surface,
                payload,
                categories,
            });
            (self.extras.len() - 1) as u32
        };
        self.rows.push(Row {
            key_start: key.start,
            key_len: key.len,
            extra,
            rank: 0,
            score,
        });
        Ok(())
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
        let SegmentBuilder {
            options,
            keys,
            texts,
            mut rows,
            mut extras,
            mut category_ids,
            category_index,
            ..
        } = self;
        let source_rows = rows.len() as u64;
        rows.sort_unstable_by(|a, b| a.key(&keys).cmp(b.key(&keys)));
        let merged = merge_in_place(&mut rows, &keys, &texts, &mut extras, &mut category_ids);
        rows.truncate(merged);
        rows.shrink_to_fit();

        // Rank order: score descending, then key ascending (rows are in key order, so the
        // row index breaks ties).
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            rows[b as usize]
                .score
                .cmp(&rows[a as usize].score)
                .then(a.cmp(&b))
        });
        for (rank, &row) in order.iter().enumerate() {
            rows[row as usize].rank = rank as u32;
        }
        // Not needed while the FST is built (the peak of memory use); rebuilt from the ranks.
        drop(order);

        // Category ids renumbered so that id order is name order (the section's order).
        let mut names: Vec<(&str, u32)> = category_index
            .iter()
            .map(|(name, &id)| (name.as_str(), id))
            .collect();
        names.sort_unstable();
        let mut sorted_id = vec![0u32; names.len()];
        for (new, &(_, old)) in names.iter().enumerate() {
            sorted_id[old as usize] = new as u32;
        }
        for id in &mut category_ids {
            *id = sorted_id[*id as usize];
        }
        let extra_of = |r: &Row| (r.extra != NO_EXTRA).then(|| extras[r.extra as usize]);
        let categories_of = |r: &Row| -> &[u32] {
            match extra_of(r) {
                Some(e) if !e.categories.is_none() => {
                    let start = e.categories.start as usize;
                    &category_ids[start..start + e.categories.len as usize]
                }
                _ => &[],
            }
        };

        let has_display = rows
            .iter()
            .any(|r| extra_of(r).is_some_and(|e| !e.surface.is_none()));
        let has_payloads = rows
            .iter()
            .any(|r| extra_of(r).is_some_and(|e| !e.payload.is_none()));
        let has_categories = !names.is_empty();
        let mut writer = SegmentWriter::new(
            2 + usize::from(has_display)
                + usize::from(has_payloads)
                + 2 * usize::from(has_categories),
        );

        // Word-start entries: "suffix 0xFF head" for each later word, costed after every full
        // key (rank + count) so that full-phrase matches come first.
        let count = rows.len() as u64;
        let (word_keys, word_entries) = if options.word_starts {
            word_start_entries(&rows, &keys)?
        } else {
            (Vec::new(), Vec::new())
        };
        // The main FST streams straight into the segment buffer; full keys and word-start
        // entries are merged in key order. Each category remembers its entries (positions in
        // that order) and gets its FST afterwards, one at a time: an FST builder holds a
        // sizeable hash table, so building hundreds at once would multiply peak memory.
        let mut fst = fst::MapBuilder::new(writer.take_buffer(SectionKind::Fst))
            .map_err(|e| BuildError::Fst(e.to_string()))?;
        // An FST entry is a full key (a row index) or a word-start entry (an index in
        // `word_entries`): its key, its cost and the row it points at.
        let entry = |index: u32, is_word: bool| -> (&[u8], u64, &Row) {
            if is_word {
                let w = &word_entries[index as usize];
                let row = &rows[w.row as usize];
                (w.key.get(&word_keys), count + u64::from(row.rank), row)
            } else {
                let row = &rows[index as usize];
                (row.key(&keys), u64::from(row.rank), row)
            }
        };
        let full = (0..rows.len() as u32).map(|i| (entry(i, false).0, (i, false)));
        let words = (0..word_entries.len() as u32).map(|i| (entry(i, true).0, (i, true)));
        let mut members: Vec<Vec<(u32, bool)>> = vec![Vec::new(); names.len()];
        for (_, (index, is_word)) in merge_sorted(full, words) {
            let (key, cost, row) = entry(index, is_word);
            fst.insert(key, cost)
                .map_err(|e| BuildError::Fst(e.to_string()))?;
            for &c in categories_of(row) {
                members[c as usize].push((index, is_word));
            }
        }
        writer.return_buffer(
            fst.into_inner()
                .map_err(|e| BuildError::Fst(e.to_string()))?,
        );
        writer.end_section();
        let mut category_fsts = Vec::with_capacity(names.len());
        for (list, &(name, _)) in members.iter().zip(&names) {
            let mut builder = fst::MapBuilder::memory();
            for &(index, is_word) in list {
                let (key, cost, _) = entry(index, is_word);
                builder
                    .insert(key, cost)
                    .map_err(|e| BuildError::Fst(e.to_string()))?;
            }
            let bytes = builder
                .into_inner()
                .map_err(|e| BuildError::Fst(e.to_string()))?;
            category_fsts.push((name, bytes));
        }
        drop((word_keys, word_entries, members));

        let mut order = vec![0u32; rows.len()];
        for (i, row) in rows.iter().enumerate() {
            order[row.rank as usize] = i as u32;
        }
        scores::encode(
            writer.begin_section(SectionKind::Scores),
            order.len(),
            |rank| rows[order[rank] as usize].score,
        );
        writer.end_section();
        for (kind, present, pick) in [
            (
                SectionKind::Display,
                has_display,
                (|e: &Extra| e.surface) as fn(&Extra) -> Span,
            ),
            (SectionKind::Payloads, has_payloads, |e: &Extra| e.payload),
        ] {
            if !present {
                continue;
            }
            let entries: Vec<(u32, &str)> = order
                .iter()
                .enumerate()
                .filter_map(|(rank, &r)| {
                    let span = pick(&extra_of(&rows[r as usize])?);
                    (!span.is_none()).then(|| (rank as u32, text(span, &texts)))
                })
                .collect();
            strings::encode(writer.begin_section(kind), &entries);
            writer.end_section();
        }
        if has_categories {
            categories::encode(
                writer.begin_section(SectionKind::Categories),
                &category_fsts,
            );
            writer.end_section();
            drop(category_fsts);
            // Each suggestion's categories as "a,b" (names never hold commas).
            let joined: Vec<(u32, String)> = order
                .iter()
                .enumerate()
                .filter_map(|(rank, &r)| {
                    let ids = categories_of(&rows[r as usize]);
                    (!ids.is_empty()).then(|| {
                        let mut list: Vec<&str> =
                            ids.iter().map(|&c| names[c as usize].0).collect();
                        list.sort_unstable();
                        (rank as u32, list.join(","))
                    })
                })
                .collect();
            let entries: Vec<(u32, &str)> = joined.iter().map(|(r, s)| (*r, s.as_str())).collect();
            strings::encode(writer.begin_section(SectionKind::RankCategories), &entries);
            writer.end_section();
        }
        let suggestions = rows.len() as u64;
        let flags = if options.word_starts {
            FLAG_WORD_STARTS
        } else {
            0
        };
        drop((rows, order, texts, extras));
        Ok(BuiltSegment {
            bytes: writer.finish(suggestions, source_rows, flags),
            rows: source_rows,
            suggestions,
        })
    }
}

/// One word-start entry: its key in the word-key arena and the row it points at.
struct WordEntry {
    key: Span,
    row: u32,
}

/// Builds every word-start entry ("york" 0xFF "new " for "new york"), sorted by key.
fn word_start_entries(rows: &[Row], keys: &[u8]) -> Result<(Vec<u8>, Vec<WordEntry>), BuildError> {
    let mut arena = Vec::new();
    let mut entries = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let key = row.key(keys);
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

/// Checks one category name.
fn check_category(name: &str) -> Result<(), BuildError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_CATEGORY_BYTES {
        Some("it is too long")
    } else if name.contains(',') {
        Some("it holds a comma")
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("it holds whitespace or a control character")
    } else {
        None
    };
    match reason {
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
        let mut best = pick_best(&rows[i..end], keys, texts, extras);
        // Categories: the union over the group (only rows that have some pay for this).
        union.clear();
        for r in &rows[i..end] {
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
        let own = (best.extra != NO_EXTRA).then(|| extras[best.extra as usize]);
        let own_len = own.map_or(0, |e| {
            if e.categories.is_none() {
                0
            } else {
                e.categories.len as usize
            }
        });
        if union.len() != own_len {
            let start = category_ids.len() as u32;
            category_ids.extend_from_slice(&union);
            let categories = Span {
                start,
                len: union.len() as u32,
            };
            extras.push(Extra {
                surface: own.map_or(Span::NONE, |e| e.surface),
                payload: own.map_or(Span::NONE, |e| e.payload),
                categories,
            });
            best.extra = (extras.len() - 1) as u32;
        }
        best.score = rows[i..end]
            .iter()
            .fold(0u64, |acc, r| acc.saturating_add(r.score));
        rows[written] = best;
        written += 1;
        i = end;
    }
    written
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
