//! Writing the freshness segments: deltas from change sets, blocklists from their lines, and
//! compaction of a stack into a new base. Pure computation, like the segment builder.

use std::collections::{BTreeMap, HashMap};

use fst::{IntoStreamer, Streamer};

use crate::build::{check_key, BuildError, BuildOptions, BuiltSegment, SegmentBuilder};
use crate::format::strings::Strings;
use crate::format::{SectionKind, FLAG_BLOCKLIST, FLAG_DELTA, WORD_START_SEPARATOR};
use crate::normalize::{normalize_into, Trailing};
use crate::parallel;
use crate::segment::{Segment, SegmentKind, View};
use crate::stack::Stack;

/// One change of a change set, by normalized key.
#[derive(Debug, Clone)]
enum Change {
    Upsert {
        phrase: String,
        score: u64,
        payload: Option<String>,
        categories: Vec<String>,
    },
    Delete,
}

/// Collects a change set (upserts with absolute scores, deletes), then writes a delta segment
/// with [`DeltaBuilder::finish`]. Several changes to one normalized key: the last one wins.
///
/// A delta layered over a base (see [`crate::Stack`]) decides every key it holds: an upserted
/// key takes the delta's score, display form, payload and categories, whatever the base had; a
/// deleted key is gone. Rows are checked as [`SegmentBuilder::add_row`] checks them.
#[derive(Debug, Default)]
pub struct DeltaBuilder {
    options: BuildOptions,
    changes: HashMap<String, Change>,
    scratch: String,
}

impl DeltaBuilder {
    /// A builder with default limits, without word starts.
    pub fn new() -> DeltaBuilder {
        DeltaBuilder::default()
    }

    /// A builder with the given limits; `word_starts` must match the base's.
    pub fn with_options(options: BuildOptions) -> DeltaBuilder {
        DeltaBuilder {
            options,
            ..DeltaBuilder::default()
        }
    }

    /// Changes collected so far (distinct keys).
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// True when no change was added.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Sets the phrase's suggestion to exactly this score, payload and categories (its
    /// display form is `phrase`), replacing whatever older segments or earlier changes had.
    /// Nothing is recorded when an error is returned.
    pub fn upsert<C: AsRef<str>>(
        &mut self,
        phrase: &str,
        score: u64,
        payload: Option<&str>,
        categories: &[C],
    ) -> Result<(), BuildError> {
        let key = self.checked_key(phrase)?;
        // The builder's own checks, on a throwaway builder: the same rules, the same errors.
        let mut probe = SegmentBuilder::with_options(self.options);
        probe.add_keyed(&key, phrase, score, payload, categories)?;
        let change = Change::Upsert {
            phrase: phrase.to_owned(),
            score,
            payload: payload.map(str::to_owned),
            categories: categories.iter().map(|c| c.as_ref().to_owned()).collect(),
        };
        self.changes.insert(key, change);
        Ok(())
    }

    /// Deletes the phrase's suggestion from every older segment.
    pub fn delete(&mut self, phrase: &str) -> Result<(), BuildError> {
        let key = self.checked_key(phrase)?;
        self.changes.insert(key, Change::Delete);
        Ok(())
    }

    /// The normalized key of `phrase`, refusing an empty or over-long one.
    fn checked_key(&mut self, phrase: &str) -> Result<String, BuildError> {
        normalize_into(phrase, &mut self.scratch, Trailing::Trim);
        check_key(&self.scratch, self.options.max_phrase_bytes)?;
        Ok(self.scratch.clone())
    }

    /// Writes the delta segment: the upserts as suggestions, the deletes as tombstones.
    /// Deterministic: the same final changes give byte-identical segments.
    pub fn finish(self) -> Result<BuiltSegment, BuildError> {
        let mut rows = SegmentBuilder::with_options(self.options);
        let mut deleted = Vec::new();
        for (key, change) in &self.changes {
            match change {
                Change::Upsert {
                    phrase,
                    score,
                    payload,
                    categories,
                } => rows.add_keyed(key, phrase, *score, payload.as_deref(), categories)?,
                Change::Delete => deleted.push(key.as_str()),
            }
        }
        deleted.sort_unstable();
        let tombstones = fst::Set::from_iter(deleted)?.into_fst().into_inner();
        rows.finish_with(FLAG_DELTA, Some((SectionKind::Tombstones, tombstones)))
    }
}

/// Collects blocklist lines, then writes a blocklist segment with [`BlocklistBuilder::finish`].
///
/// A line is a phrase, hiding the suggestion whose normalized key equals its normalized
/// form, or ends with `*`, hiding every suggestion whose key starts with the normalized text
/// before the `*` (`new *` hides "new york" but not "newark"; `new*` hides both). Blank lines
/// and lines starting with `#` are skipped.
#[derive(Debug, Default)]
pub struct BlocklistBuilder {
    /// Normalized entry → 0 (phrase) or 1 (prefix; a prefix also hides the phrase itself).
    entries: BTreeMap<String, u64>,
}

impl BlocklistBuilder {
    /// An empty blocklist.
    pub fn new() -> BlocklistBuilder {
        BlocklistBuilder::default()
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds one line of a blocklist file (see the type's docs).
    pub fn add_line(&mut self, line: &str) -> Result<(), BuildError> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        let (text, trailing, kind) = match line.strip_suffix('*') {
            Some(prefix) => (prefix, Trailing::KeepOneSpace, 1),
            None => (line, Trailing::Trim, 0),
        };
        let mut key = String::new();
        normalize_into(text, &mut key, trailing);
        if key.trim().is_empty() {
            return Err(BuildError::EmptyPhrase);
        }
        let entry = self.entries.entry(key).or_insert(kind);
        *entry = (*entry).max(kind);
        Ok(())
    }

    /// Writes the blocklist segment.
    pub fn finish(self) -> Result<BuiltSegment, BuildError> {
        let entries = fst::Map::from_iter(self.entries)?.into_fst().into_inner();
        SegmentBuilder::new().finish_with(FLAG_BLOCKLIST, Some((SectionKind::Blocklist, entries)))
    }
}

/// Merges a stack's base and deltas into one new base, byte-identical to a fresh build of the
/// merged rows (one row per live suggestion: its display form, score, payload and
/// categories), without the raw input: the segments' FSTs are streamed together in key order
/// and each key is taken from the newest segment that holds it; deleted keys are dropped. The
/// blocklist is not applied: it travels beside the new base, so removing an entry later shows
/// its suggestions again.
///
/// With threads, the keys are streamed on a second thread while their rows are copied.
pub fn compact<D: AsRef<[u8]> + Sync>(stack: &Stack<D>) -> Result<BuiltSegment, BuildError> {
    let base = stack.base();
    let mut builder = SegmentBuilder::with_options(compact_options(base.word_starts()));
    let layers = stack.segments();
    let rows = stored_rows(layers)?;
    let mut categories = Vec::new();
    parallel::pipeline(
        BATCHES_IN_FLIGHT,
        |emit| stream_batches(layers, emit),
        |batch| {
            batch.iter().try_for_each(|(key, layer, rank)| {
                add_stored(&mut builder, &rows[layer], key, rank, &mut categories)
            })
        },
    )?;
    builder.finish()
}

/// Keys per batch handed from the streaming thread to the copying one.
const BATCH_KEYS: usize = 4096;
/// Batches queued between the two threads: enough to ride out uneven steps.
const BATCHES_IN_FLIGHT: usize = 8;

/// Keys in key order, concatenated, each with a layer and a value.
struct KeyRows<V> {
    keys: Vec<u8>,
    /// Per key: where it ends in `keys`, its layer and its value.
    rows: Vec<(usize, usize, V)>,
}

impl<V> Default for KeyRows<V> {
    fn default() -> Self {
        KeyRows {
            keys: Vec::new(),
            rows: Vec::new(),
        }
    }
}

impl<V: Copy> KeyRows<V> {
    fn push(&mut self, key: &[u8], layer: usize, value: V) {
        self.keys.extend_from_slice(key);
        self.rows.push((self.keys.len(), layer, value));
    }

    /// The `i`-th key with its layer and value.
    fn get(&self, i: usize) -> Option<(&[u8], usize, V)> {
        let &(end, layer, value) = self.rows.get(i)?;
        let start = i.checked_sub(1).map_or(0, |before| self.rows[before].0);
        Some((&self.keys[start..end], layer, value))
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], usize, V)> {
        (0..self.rows.len()).filter_map(|i| self.get(i))
    }
}

/// Live keys in key order, each with the layer and rank of its row (see [`for_each_row`]).
type KeyBatch = KeyRows<u32>;

/// Streams the live keys of `layers` in batches to `emit`; stops early (with an error no one
/// sees) once `emit` says the consumer has stopped.
fn stream_batches<D: AsRef<[u8]>>(
    layers: &[Segment<D>],
    emit: &mut dyn FnMut(KeyBatch) -> bool,
) -> Result<(), BuildError> {
    let stopped = || crate::Error::corrupt("compaction", "stopped").into();
    let mut batch = KeyBatch::default();
    for_each_row(layers, |key, layer, rank| {
        batch.push(key, layer, rank);
        if batch.rows.len() == BATCH_KEYS && !emit(std::mem::take(&mut batch)) {
            return Err(stopped());
        }
        Ok(())
    })?;
    if !batch.rows.is_empty() && !emit(batch) {
        return Err(stopped());
    }
    Ok(())
}

/// Build options for rows that come from segments: their limits were checked when they were
/// built.
fn compact_options(word_starts: bool) -> BuildOptions {
    BuildOptions {
        max_phrase_bytes: usize::MAX,
        max_payload_bytes: usize::MAX,
        word_starts,
        ..BuildOptions::default()
    }
}

/// Streams the live full keys of `layers` (oldest first) in key order, each with the layer
/// and rank of its row in the newest layer that decides it: a row wins over a tombstone of
/// the same layer, as queries decide; a key whose newest decision is a tombstone is dropped.
///
/// The deltas are small next to the base: their decisions are merged first, then joined
/// with the base's stream, one comparison per base key instead of a heap over every FST.
fn for_each_row<D: AsRef<[u8]>>(
    layers: &[Segment<D>],
    mut each: impl FnMut(&[u8], usize, u32) -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    let Some((base, deltas)) = layers.split_first() else {
        return Ok(());
    };
    let decided = decisions(deltas)?;
    let base = fst::Map::from(base.main_fst()?);
    // A crafted FST can hold far more paths than its footer declares: never stream more.
    let declared = base.len();
    let mut streamed = 0usize;
    let mut stream = base.stream();
    let mut next = 0;
    while let Some((key, rank)) = stream.next() {
        streamed += 1;
        if streamed > declared {
            return Err(crate::Error::corrupt("fst", "more keys than the footers declare").into());
        }
        while let Some(d) = decided.get(next).filter(|d| d.0 < key) {
            emit_live(d, &mut each)?;
            next += 1;
        }
        if let Some(d) = decided.get(next).filter(|d| d.0 == key) {
            emit_live(d, &mut each)?;
            next += 1;
            continue;
        }
        // Word-start entries hold the separator; their suggestions come with the full keys.
        if !key.contains(&WORD_START_SEPARATOR) {
            each(key, 0, rank_of(rank)?)?;
        }
    }
    let rest = decided
        .iter()
        .skip(next)
        .try_for_each(|d| emit_live(d, &mut each));
    rest
}

fn rank_of(value: u64) -> Result<u32, BuildError> {
    u32::try_from(value)
        .map_err(|_| crate::Error::corrupt("fst", "a key's rank is out of range").into())
}

/// Passes a decision's key to `each` unless it is a tombstone (rank `None`).
fn emit_live(
    (key, layer, rank): (&[u8], usize, Option<u32>),
    each: &mut impl FnMut(&[u8], usize, u32) -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    match rank {
        Some(rank) => each(key, layer, rank),
        None => Ok(()),
    }
}

/// The deltas' decisions in key order: per full key, the newest layer's (counting the
/// base as layer 0) and its rank, or `None` for a tombstone. Every delta's FSTs are streamed
/// together (a union; they are small).
fn decisions<D: AsRef<[u8]>>(deltas: &[Segment<D>]) -> Result<KeyRows<Option<u32>>, BuildError> {
    // Each input: its layer, whether it lists deletes, and its map.
    let mut inputs = Vec::new();
    for (i, segment) in deltas.iter().enumerate() {
        inputs.push((i + 1, false, fst::Map::from(segment.main_fst()?)));
        if let Some(tombstones) = segment.extra_fst_of(SegmentKind::Delta)? {
            inputs.push((i + 1, true, fst::Map::from(tombstones)));
        }
    }
    let mut union = fst::map::OpBuilder::new();
    for (_, _, map) in &inputs {
        union = union.add(map.into_stream());
    }
    let declared = inputs
        .iter()
        .fold(0usize, |n, (_, _, map)| n.saturating_add(map.len()));
    let mut decided = KeyRows::default();
    let mut streamed = 0usize;
    let mut stream = union.union();
    while let Some((key, found)) = stream.next() {
        streamed += 1;
        if streamed > declared {
            return Err(crate::Error::corrupt("fst", "more keys than the footers declare").into());
        }
        let newest = found
            .iter()
            .max_by_key(|v| (inputs[v.index].0, !inputs[v.index].1));
        let (Some(newest), false) = (newest, key.contains(&WORD_START_SEPARATOR)) else {
            continue;
        };
        let (layer, deleted, _) = inputs[newest.index];
        let rank = match deleted {
            true => None,
            false => Some(rank_of(newest.value)?),
        };
        decided.push(key, layer, rank);
    }
    Ok(decided)
}

/// Each segment's stored rows, indexed for reading in key order.
fn stored_rows<D: AsRef<[u8]>>(segments: &[Segment<D>]) -> crate::Result<Vec<StoredRows<'_>>> {
    segments.iter().map(StoredRows::of).collect()
}

/// Adds the row a segment stores for `rank` under `key`, as it was built.
fn add_stored<'s>(
    builder: &mut SegmentBuilder,
    rows: &StoredRows<'s>,
    key: &[u8],
    rank: u32,
    categories: &mut Vec<&'s str>,
) -> Result<(), BuildError> {
    let key = std::str::from_utf8(key).map_err(|_| crate::Error::key_not_utf8())?;
    let row = rows.get(rank)?;
    categories.clear();
    categories.extend(
        row.categories
            .unwrap_or("")
            .split(',')
            .filter(|c| !c.is_empty()),
    );
    let title;
    let display = match row.title {
        true => {
            title = crate::format::titles::title_cased(key);
            title.as_str()
        }
        false => row.display.unwrap_or(key),
    };
    builder.add_keyed(key, display, row.score, row.payload, categories)
}

/// What a segment stores for one rank, borrowed from its bytes.
pub(crate) struct StoredRow<'a> {
    pub(crate) score: u64,
    pub(crate) display: Option<&'a str>,
    /// The display form is the key title-cased (then `display` is `None`).
    pub(crate) title: bool,
    pub(crate) payload: Option<&'a str>,
    pub(crate) categories: Option<&'a str>,
}

/// Reads a segment's stored rows in any rank order: its string tables are indexed by rank
/// once (O(suggestions)), so each row costs a look-up per table instead of a binary search,
/// which is what merging a segment's keys in key order needs.
pub(crate) struct StoredRows<'a> {
    view: View<'a>,
    /// Per table (display forms, payloads): the entry of each rank, empty when the table is.
    /// Categories need no index: a rank's set id is read in O(1).
    index: [Vec<u32>; 2],
}

impl<'a> StoredRows<'a> {
    /// Indexes `segment`'s string tables.
    pub(crate) fn of<D: AsRef<[u8]>>(segment: &'a Segment<D>) -> crate::Result<StoredRows<'a>> {
        let view = segment.view()?;
        let count = usize::try_from(view.count()).unwrap_or(usize::MAX);
        let (bytes, tables) = view.string_tables();
        let [display, payloads] = tables.map(|t| t.index_by_rank(bytes, count));
        Ok(StoredRows {
            index: [display?, payloads?],
            view,
        })
    }

    /// The stored fields of `rank`.
    pub(crate) fn get(&self, rank: u32) -> crate::Result<StoredRow<'a>> {
        if u64::from(rank) >= self.view.count() {
            return Err(crate::Error::corrupt("fst", "a key's rank is out of range"));
        }
        let (bytes, tables) = self.view.string_tables();
        let text = |t: usize| -> crate::Result<Option<&'a str>> {
            match self.index[t].get(rank as usize) {
                Some(&i) if i != Strings::NONE => tables[t].entry_at(bytes, i).map(Some),
                _ => Ok(None),
            }
        };
        Ok(StoredRow {
            score: self.view.score(rank)?,
            display: text(0)?,
            title: self.view.is_title(rank)?,
            payload: text(1)?,
            categories: self.view.categories_of(rank)?,
        })
    }
}
