//! The segment builder: merges rows by normalized key, ranks them and writes a segment.
//! Pure computation: rows in, bytes out. Deterministic: the same rows, in any order, give
//! byte-identical segments.

use crate::format::header::SegmentWriter;
use crate::format::{scores, strings, SectionKind};
use crate::normalize::{normalize_into, Trailing};

/// Default limit on a phrase's normalized length, in bytes.
pub const DEFAULT_MAX_PHRASE_BYTES: usize = 256;
/// Default limit on a payload's length, in bytes.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1024;

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
        )
    }
}

/// Limits applied to each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Longest normalized phrase accepted, in bytes.
    pub max_phrase_bytes: usize,
    /// Longest payload accepted, in bytes.
    pub max_payload_bytes: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            max_phrase_bytes: DEFAULT_MAX_PHRASE_BYTES,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
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

/// What only some rows have: a surface form that differs from the key, a payload.
#[derive(Debug, Clone, Copy)]
struct Extra {
    surface: Span,
    payload: Span,
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
    scratch: String,
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
        let extra = if surface.is_none() && payload.is_none() {
            NO_EXTRA
        } else {
            self.extras.push(Extra { surface, payload });
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

    /// Merges, ranks and writes the segment.
    pub fn finish(self) -> Result<BuiltSegment, BuildError> {
        let SegmentBuilder {
            keys,
            texts,
            mut rows,
            extras,
            ..
        } = self;
        let source_rows = rows.len() as u64;
        rows.sort_unstable_by(|a, b| a.key(&keys).cmp(b.key(&keys)));
        let merged = merge_in_place(&mut rows, &keys, &texts, &extras);
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

        let extra_of = |r: &Row| (r.extra != NO_EXTRA).then(|| extras[r.extra as usize]);
        let has_display = rows
            .iter()
            .any(|r| extra_of(r).is_some_and(|e| !e.surface.is_none()));
        let has_payloads = rows
            .iter()
            .any(|r| extra_of(r).is_some_and(|e| !e.payload.is_none()));
        let mut writer =
            SegmentWriter::new(2 + usize::from(has_display) + usize::from(has_payloads));

        // The FST streams straight into the segment buffer.
        let mut fst = fst::MapBuilder::new(writer.take_buffer(SectionKind::Fst))
            .map_err(|e| BuildError::Fst(e.to_string()))?;
        for row in &rows {
            fst.insert(row.key(&keys), u64::from(row.rank))
                .map_err(|e| BuildError::Fst(e.to_string()))?;
        }
        writer.return_buffer(
            fst.into_inner()
                .map_err(|e| BuildError::Fst(e.to_string()))?,
        );
        writer.end_section();
        drop(keys);

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
        let suggestions = rows.len() as u64;
        drop((rows, order, texts, extras));
        Ok(BuiltSegment {
            bytes: writer.finish(suggestions, source_rows),
            rows: source_rows,
            suggestions,
        })
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
fn merge_in_place(rows: &mut [Row], keys: &[u8], texts: &[u8], extras: &[Extra]) -> usize {
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
    let mut written = 0;
    let mut i = 0;
    while i < rows.len() {
        let key = rows[i].key(keys);
        let mut end = i + 1;
        while end < rows.len() && rows[end].key(keys) == key {
            end += 1;
        }
        let group = &rows[i..end];
        let total = group
            .iter()
            .fold(0u64, |acc, r| acc.saturating_add(r.score));
        // Display: highest single score, then byte-wise smallest surface form (then smallest
        // payload, so the choice never depends on input order).
        let best = group
            .iter()
            .min_by(|a, b| {
                b.score
                    .cmp(&a.score)
                    .then_with(|| surface(a).cmp(surface(b)))
                    .then_with(|| payload(a).cmp(&payload(b)))
            })
            .copied()
            .unwrap_or(rows[i]);
        rows[written] = Row {
            score: total,
            ..best
        };
        written += 1;
        i = end;
    }
    written
}
