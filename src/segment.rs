//! A read-only view of one segment's bytes.

use crate::error::{Error, Result};
use crate::format::bytes::slice;
use crate::format::categories::Categories;
use crate::format::fst_keys::{check_keys, Expect};
use crate::format::header::{verify_checksum, Header};
use crate::format::scores::Scores;
use crate::format::strings::Strings;
use crate::format::{check_fst, SectionKind, FLAG_WORD_STARTS};

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
    payloads: Strings,
    categories: Categories,
    rank_categories: Strings,
}

/// A borrowed view of one segment's tables, bound to its bytes: everything a search reads,
/// without reaching into [`Segment`]'s fields or passing the bytes along with each lookup.
/// O(1) to make; make one per query.
pub(crate) struct View<'a> {
    bytes: &'a [u8],
    fst: fst::raw::Fst<&'a [u8]>,
    scores: &'a Scores,
    display: &'a Strings,
    payloads: &'a Strings,
    categories: &'a Categories,
    rank_categories: &'a Strings,
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

    /// Whether the FSTs hold word-start entries.
    pub(crate) fn word_starts(&self) -> bool {
        self.word_starts
    }

    /// The score of `rank`.
    pub(crate) fn score(&self, rank: u32) -> Result<u64> {
        self.scores.get(self.bytes, rank as usize)
    }

    /// The display form of `rank`, when it differs from its key.
    pub(crate) fn display(&self, rank: u32) -> Result<Option<&'a str>> {
        self.display.get(self.bytes, rank)
    }

    /// The JSON payload of `rank`, if any.
    pub(crate) fn payload(&self, rank: u32) -> Result<Option<&'a str>> {
        self.payloads.get(self.bytes, rank)
    }

    /// The categories of `rank`, comma-separated in byte order, if any.
    pub(crate) fn categories_of(&self, rank: u32) -> Result<Option<&'a str>> {
        self.rank_categories.get(self.bytes, rank)
    }

    /// The FST of the category called `name`, if the segment has it.
    pub(crate) fn category_fst(&self, name: &str) -> Result<Option<fst::raw::Fst<&'a [u8]>>> {
        match self.categories.find(self.bytes, name)? {
            Some(i) => self.categories.fst(self.bytes, i).map(Some),
            None => Ok(None),
        }
    }
}

/// Sizes and counts of a segment, for `inspect` and monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Format version.
    pub format_version: u32,
    /// Normalizer id and version the keys were built with.
    pub normalizer: (u32, u32),
    /// Distinct suggestions.
    pub suggestions: u64,
    /// Input rows merged into them.
    pub source_rows: u64,
    /// Suggestions whose display form differs from their normalized key.
    pub display_forms: u64,
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
        check_fst(fst_bytes, "fst", count as u64, max_keys)?;
        let scores_section = header
            .section(SectionKind::Scores)
            .ok_or_else(|| Error::corrupt("section table", "the scores section is missing"))?;
        let scores = Scores::parse(bytes, scores_section.offset, scores_section.len, count)?;
        let strings = |kind: SectionKind| match header.section(kind) {
            Some(s) => Strings::parse(bytes, kind.name(), s.offset, s.len),
            None => Ok(Strings::empty(kind.name())),
        };
        let display = strings(SectionKind::Display)?;
        let payloads = strings(SectionKind::Payloads)?;
        let rank_categories = strings(SectionKind::RankCategories)?;
        let categories = match header.section(SectionKind::Categories) {
            Some(s) => Categories::parse(bytes, s.offset, s.len, max_keys)?,
            None => Categories::default(),
        };
        Ok(Segment {
            categories,
            rank_categories,
            fst: (fst_section.offset, fst_section.len),
            header,
            scores,
            display,
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
        for table in [&self.display, &self.payloads, &self.rank_categories] {
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
        let mut expect = Expect {
            count: count as u64,
            word_starts: self.word_starts(),
            each_rank_once: true,
        };
        check_keys(self.fst()?.as_bytes(), expect, "fst")?;
        expect.each_rank_once = false;
        for i in 0..self.categories.count() {
            let fst = self.categories.fst(bytes, i)?;
            check_keys(fst.as_bytes(), expect, "category fst")?;
        }
        Ok(())
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

    /// Counts and sizes.
    pub fn info(&self) -> SegmentInfo {
        SegmentInfo {
            format_version: self.header.format_version,
            normalizer: (self.header.normalizer_id, self.header.normalizer_version),
            suggestions: self.header.suggestion_count,
            source_rows: self.header.source_rows,
            display_forms: self.display.count() as u64,
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
            payloads: &self.payloads,
            categories: &self.categories,
            rank_categories: &self.rank_categories,
            count: self.len() as u64,
            word_starts: self.word_starts(),
        })
    }

    /// The FST over this segment's bytes (O(1)).
    fn fst(&self) -> Result<fst::raw::Fst<&[u8]>> {
        let (offset, len) = self.fst;
        let bytes = slice(self.as_bytes(), offset, len, "fst section")?;
        fst::raw::Fst::new(bytes).map_err(|e| Error::corrupt("fst", e.to_string()))
    }
}
