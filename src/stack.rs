//! An index version: one base segment, the deltas layered over it (oldest first) and an
//! optional blocklist, answering queries as if their changes had been applied to the base.
//!
//! For each key the newest segment that holds it decides: its score, display form, payload
//! and categories, or (a tombstone) that it is deleted. The blocklist hides every suggestion
//! whose key equals one of its phrases or starts with one of its prefixes, whichever segment
//! holds it. [`crate::Searcher::search`] takes a [`Stack`] as it takes a [`Segment`]: it merges
//! one best-first stream per segment, dropping shadowed, deleted and blocked keys as they come,
//! so the answer is the exact top-k of the merged data at a cost independent of the number of
//! matches.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::format::top::{EntryTable, NodeAt};
use crate::format::WORD_START_SEPARATOR;
use crate::prefixes::{PrefixFilter, Probe};
use crate::search::{DeltaRuns, Hit, LongLists, MergedLists};
use crate::segment::{for_each_key, Segment, SegmentKind, View};

/// The most deltas one stack may layer over its base. Each delta adds a stream to every
/// query and a lookup to every hit from an older segment; the publisher compacts long before
/// this (by default at 8 deltas).
pub const MAX_DELTAS: usize = 63;

/// A base, its deltas (oldest first) and an optional blocklist: one index version.
///
/// ```
/// use edgesuggest::{BlocklistBuilder, DeltaBuilder, Searcher, Segment, SegmentBuilder, Stack,
///     SuggestOptions};
///
/// let mut base = SegmentBuilder::new();
/// base.add("Paris", 2_100_000)?;
/// base.add("Parma", 195_000)?;
/// base.add("Pardubice", 90_000)?;
/// let base = Segment::load(base.finish()?.bytes)?;
///
/// let mut changes = DeltaBuilder::new();
/// changes.upsert("Parma", 3_000_000, None, &[] as &[&str])?; // a new absolute score
/// changes.delete("Pardubice")?;
/// let delta = Segment::load(changes.finish()?.bytes)?;
///
/// let mut blocked = BlocklistBuilder::new();
/// blocked.add_line("pari*")?;
/// let blocklist = Segment::load(blocked.finish()?.bytes)?;
///
/// let stack = Stack::new(base, vec![delta], Some(blocklist))?;
/// let found = Searcher::new().search(&stack, "par", &SuggestOptions::default())?.to_owned();
/// let texts: Vec<&str> = found.items.iter().map(|s| s.text.as_str()).collect();
/// assert_eq!(texts, ["Parma"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Stack<D> {
    /// The base first, then the deltas, oldest first.
    layers: Vec<Segment<D>>,
    blocklist: Option<Segment<D>>,
    /// For every key a delta decides, the newest such delta (`None` past its size limit).
    newest: Option<Newest>,
    /// Which deltas may hold entries under a prefix (`None` without deltas or past its limit).
    /// Not in WebAssembly builds, nor the merged lists: the worker's bundle (250 KB gzip) has
    /// no room for their code. Answers are the same without them.
    #[cfg(not(target_family = "wasm"))]
    prefixes: Option<PrefixFilter>,
    /// The deltas' entries together in key order: plain queries take the deltas' matches
    /// from there, as one stream, instead of walking their FSTs.
    #[cfg(not(target_family = "wasm"))]
    runs: DeltaRuns,
    /// Longer copies of the base's top lists that the deltas and blocklist thin out.
    long_lists: LongLists,
    /// The first matches of the merge for each prefix the base has a top list for, and for
    /// the costly prefixes below those along the deltas' keys.
    #[cfg(not(target_family = "wasm"))]
    merged: MergedLists,
}

/// For each key some delta decides (holds or deletes), the newest layer that does, by a 64-bit
/// hash of the key: one hash and one probe tell whether a newer layer decides a hit's key,
/// instead of a lookup in every newer delta. Built when the stack is made, O(delta keys);
/// about 20 bytes per key plus the key (a copy of which confirms a hash match without a
/// lookup in the delta's FST, up to [`NEWEST_MAX_KEY_BYTES`]).
#[derive(Debug, Clone, Default)]
struct Newest {
    by_hash: HashMap<u64, Decider, std::hash::BuildHasherDefault<KeyHash>>,
    /// The recorded keys, concatenated.
    keys: Vec<u8>,
    /// One bit per suggestion of the base, by rank: set when a delta decides its key. Most
    /// hits come from the base, and a bit test costs no hash and no probe in a table of
    /// every delta key. `None` in WebAssembly builds (code size) or when a base key's rank is
    /// out of range (a corrupt base: the hash decides).
    #[cfg(not(target_family = "wasm"))]
    base: Option<Vec<u64>>,
}

/// The newest layer deciding some key of one hash, and where the last key recorded for the
/// hash is in [`Newest::keys`] (`start == u32::MAX`: not kept).
#[derive(Debug, Clone, Copy)]
struct Decider {
    layer: u32,
    start: u32,
    len: u32,
}

/// The most key bytes [`Newest`] keeps; past that, hash matches are confirmed in the FSTs.
const NEWEST_MAX_KEY_BYTES: usize = 64 << 20;

/// The keys of [`Newest`] are hashes already: pass them through.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHash(u64);

impl std::hash::Hasher for KeyHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

fn key_hash(key: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(key, 0x5EED)
}

/// The most delta keys [`Newest`] indexes; a stack with more falls back to a lookup in each
/// newer delta (still exact). Also bounds the time of indexing crafted segments.
const NEWEST_MAX_KEYS: usize = 1 << 21;

impl Newest {
    /// Records every full key and tombstone of every delta (newer deltas overwrite), or `None`
    /// when the deltas hold more than [`NEWEST_MAX_KEYS`]. An FST with more keys than its
    /// footer declares is corrupt.
    fn of<D: AsRef<[u8]>>(layers: &[Segment<D>]) -> Result<Option<Newest>> {
        let mut newest = Newest::default();
        let base = layers[0].view()?;
        #[cfg(not(target_family = "wasm"))]
        {
            newest.base = Some(vec![0; (base.count() as usize).div_ceil(64)]);
        }
        let mut total = 0usize;
        for (layer, segment) in layers.iter().enumerate().skip(1) {
            let view = segment.view()?;
            let fsts = std::iter::once(view.fst()).chain(view.tombstones());
            for fst in fsts {
                total = total.saturating_add(fst.len());
                if total > NEWEST_MAX_KEYS {
                    return Ok(None);
                }
                newest.record(fst, layer as u32, &base)?;
            }
        }
        Ok(Some(newest))
    }

    /// Records the full keys of one FST as decided by `layer`, and marks them in `base`'s bits.
    #[cfg_attr(target_family = "wasm", allow(unused_variables))]
    fn record(&mut self, fst: &fst::raw::Fst<&[u8]>, layer: u32, base: &View<'_>) -> Result<()> {
        for_each_key(fst, |key| {
            if !key.contains(&WORD_START_SEPARATOR) {
                let decider = self.keep(key, layer);
                self.by_hash.insert(key_hash(key), decider);
                #[cfg(not(target_family = "wasm"))]
                self.mark_base(key, base);
            }
        })
    }

    /// Sets the base bit of full key `key`, if the base holds it. A rank out of range (a
    /// corrupt base) drops the bits: the hash index decides alone.
    #[cfg(not(target_family = "wasm"))]
    fn mark_base(&mut self, key: &[u8], base: &View<'_>) {
        let Some(bits) = &mut self.base else { return };
        let Some(rank) = base.fst().get(key).map(|out| out.value()) else {
            return;
        };
        match bits.get_mut(rank as usize / 64) {
            Some(word) if rank < base.count() => *word |= 1 << (rank % 64),
            _ => self.base = None,
        }
    }

    /// Whether a delta decides the key of the base's suggestion `rank`, when the bits say.
    #[cfg_attr(target_family = "wasm", allow(unused_variables))]
    fn base_decides(&self, rank: u32) -> Option<bool> {
        #[cfg(not(target_family = "wasm"))]
        if let Some(bits) = &self.base {
            let word = bits.get(rank as usize / 64)?;
            return Some(word & (1 << (rank % 64)) != 0);
        }
        None
    }

    /// `key` as decided by `layer`, its bytes kept while there is room.
    fn keep(&mut self, key: &[u8], layer: u32) -> Decider {
        let start = self.keys.len();
        match u32::try_from(key.len()) {
            Ok(len) if start + key.len() <= NEWEST_MAX_KEY_BYTES => {
                self.keys.extend_from_slice(key);
                Decider {
                    layer,
                    start: start as u32,
                    len,
                }
            }
            _ => Decider {
                layer,
                start: u32::MAX,
                len: 0,
            },
        }
    }

    /// The newest delta that may decide `key` (a hash match), if any, and whether it surely
    /// does (the key it recorded for the hash is `key`).
    fn decider_of(&self, key: &[u8]) -> Option<(usize, bool)> {
        if self.by_hash.is_empty() {
            return None;
        }
        let decider = self.by_hash.get(&key_hash(key))?;
        let kept = match decider.start {
            u32::MAX => None,
            start => self
                .keys
                .get(start as usize..start as usize + decider.len as usize),
        };
        Some((decider.layer as usize, kept == Some(key)))
    }

    /// The newest delta that may decide `key` (a hash match; confirm it), if any.
    fn layer_of(&self, key: &[u8]) -> Option<usize> {
        self.decider_of(key).map(|(layer, _)| layer)
    }
}

impl<D: AsRef<[u8]>> Stack<D> {
    /// A stack of `base`, `deltas` (oldest first) and an optional `blocklist`. Refuses a
    /// segment of the wrong kind, more than [`MAX_DELTAS`] deltas, and deltas whose word-start
    /// setting differs from the base's (their later words would be missing from word-start
    /// queries).
    pub fn new(
        base: Segment<D>,
        deltas: Vec<Segment<D>>,
        blocklist: Option<Segment<D>>,
    ) -> Result<Stack<D>> {
        expect_kind(&base, SegmentKind::Base, "the first segment")?;
        if deltas.len() > MAX_DELTAS {
            return Err(Error::Stack(format!(
                "{} deltas, at most {MAX_DELTAS}: compact them into a new base \
                 (`edgesuggest compact`)",
                deltas.len()
            )));
        }
        for (i, delta) in deltas.iter().enumerate() {
            expect_kind(delta, SegmentKind::Delta, &format!("delta {}", i + 1))?;
            if delta.word_starts() != base.word_starts() {
                return Err(Error::Stack(format!(
                    "delta {} was built {} word starts and the base {}: build both the same \
                     way (`--word-starts`)",
                    i + 1,
                    if delta.word_starts() {
                        "with"
                    } else {
                        "without"
                    },
                    if base.word_starts() {
                        "with"
                    } else {
                        "without"
                    },
                )));
            }
        }
        if let Some(list) = &blocklist {
            expect_kind(list, SegmentKind::Blocklist, "the blocklist")?;
        }
        let mut layers = Vec::with_capacity(deltas.len() + 1);
        layers.push(base);
        layers.extend(deltas);
        let newest = Newest::of(&layers)?;
        #[cfg(not(target_family = "wasm"))]
        let prefixes = PrefixFilter::of(&layers)?;
        #[cfg(not(target_family = "wasm"))]
        let runs = DeltaRuns::of(&layers)?;
        let mut stack = Stack {
            layers,
            blocklist,
            newest,
            #[cfg(not(target_family = "wasm"))]
            prefixes,
            #[cfg(not(target_family = "wasm"))]
            runs,
            long_lists: LongLists::default(),
            #[cfg(not(target_family = "wasm"))]
            merged: MergedLists::default(),
        };
        if stack.layers.len() > 1 || stack.blocklist.is_some() {
            stack.long_lists = LongLists::of(&sealed::Source::layers(&stack)?);
            #[cfg(not(target_family = "wasm"))]
            {
                stack.merged = MergedLists::of(&sealed::Source::layers(&stack)?);
            }
        }
        Ok(stack)
    }

    /// A stack from segments in manifest order: the base first, then deltas oldest first, and
    /// at most one blocklist anywhere.
    pub fn from_segments(segments: impl IntoIterator<Item = Segment<D>>) -> Result<Stack<D>> {
        let mut base = None;
        let mut deltas = Vec::new();
        let mut blocklist = None;
        for segment in segments {
            match (segment.kind(), &base) {
                (SegmentKind::Blocklist, _) if blocklist.is_none() => blocklist = Some(segment),
                (SegmentKind::Blocklist, _) => {
                    return Err(Error::Stack("more than one blocklist".to_string()))
                }
                (_, None) => base = Some(segment),
                (_, Some(_)) => deltas.push(segment),
            }
        }
        let base = base.ok_or_else(|| Error::Stack("no base segment".to_string()))?;
        Stack::new(base, deltas, blocklist)
    }

    /// The base, then the deltas, oldest first.
    pub fn segments(&self) -> &[Segment<D>] {
        &self.layers
    }

    /// The blocklist, if any.
    pub fn blocklist(&self) -> Option<&Segment<D>> {
        self.blocklist.as_ref()
    }

    /// The base segment.
    pub fn base(&self) -> &Segment<D> {
        &self.layers[0]
    }

    /// The deltas, oldest first.
    pub fn deltas(&self) -> &[Segment<D>] {
        &self.layers[1..]
    }

    /// Whether the blocklist hides the normalized `key`.
    pub fn is_blocked(&self, key: &str) -> Result<bool> {
        match &self.blocklist {
            Some(list) => Ok(list.view()?.blocks(key.as_bytes())),
            None => Ok(false),
        }
    }
}

/// Refuses `segment` unless it is of `kind`.
fn expect_kind<D: AsRef<[u8]>>(segment: &Segment<D>, kind: SegmentKind, what: &str) -> Result<()> {
    if segment.kind() != kind {
        return Err(Error::Stack(format!(
            "{what} is a {} segment, expected a {}",
            segment.kind().name(),
            kind.name()
        )));
    }
    Ok(())
}

/// The views one query reads: the layers (base first) and the blocklist. Inline for a lone
/// segment: no allocation on that path, which runs on every keystroke.
pub(crate) struct Layers<'a> {
    one: [Option<View<'a>>; 1],
    many: Vec<View<'a>>,
    pub(crate) blocklist: Option<View<'a>>,
    newest: Option<&'a Newest>,
    prefixes: Option<&'a PrefixFilter>,
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    runs: Option<&'a DeltaRuns>,
    long_lists: Option<&'a LongLists>,
    merged: Option<&'a MergedLists>,
}

impl<'a> Layers<'a> {
    /// The layers, base first.
    pub(crate) fn views(&self) -> &[View<'a>] {
        match &self.one[0] {
            Some(view) => std::slice::from_ref(view),
            None => &self.many,
        }
    }

    /// Whether a hit of `key` (the suggestion `rank`) from layer `layer` is hidden: a newer
    /// layer decides the key, or the blocklist hides it.
    pub(crate) fn hides(&self, layer: usize, rank: u32, key: &[u8]) -> bool {
        self.newer_decides(layer, rank, key)
            || self.blocklist.as_ref().is_some_and(|b| b.blocks(key))
    }

    /// Whether a layer above `layer` decides `key`, the key of its suggestion `rank`.
    fn newer_decides(&self, layer: usize, rank: u32, key: &[u8]) -> bool {
        let views = self.views();
        if layer + 1 >= views.len() {
            return false;
        }
        let Some(newest) = self.newest else {
            return views[layer + 1..].iter().any(|v| v.decides(key));
        };
        if let Some(decided) = newest.base_decides(rank).filter(|_| layer == 0) {
            return decided;
        }
        // The index holds, per hash, the newest layer deciding any key of that hash: no
        // layer above it decides `key`.
        match newest.decider_of(key) {
            Some((j, sure)) if j > layer => {
                sure || views[j].decides(key) || views[layer + 1..j].iter().any(|v| v.decides(key))
            }
            _ => false,
        }
    }

    /// The newest layer that decides `key`, as far as the hash index knows: every layer above
    /// the one returned is sure not to. `views().len() - 1` without an index.
    pub(crate) fn newest_candidate(&self, key: &[u8]) -> usize {
        let top = self.views().len() - 1;
        match self.newest {
            Some(newest) => newest.layer_of(key).unwrap_or(0),
            None => top,
        }
    }

    /// The probe of a query's exact part for [`Layers::may_hold`] (`None` without a filter).
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn probe(&self, exact: &str) -> Option<Probe> {
        self.prefixes.map(|_| Probe::of(exact.as_bytes()))
    }

    /// None: WebAssembly builds make no filter.
    #[cfg(target_family = "wasm")]
    pub(crate) fn probe(&self, _exact: &str) -> Option<Probe> {
        None
    }

    /// False when `layer`'s main FST certainly holds no entry starting with the probed
    /// prefix (the base and a stack without a filter may always hold one).
    pub(crate) fn may_hold(&self, layer: usize, probe: Option<Probe>) -> bool {
        match (self.prefixes, probe) {
            (Some(filter), Some(probe)) if layer > 0 => filter.may_hold(layer, probe),
            _ => true,
        }
    }

    /// The deltas' entries in key order, if the stack keeps them. Never in WebAssembly
    /// builds: `None` there lets the compiler leave the runs' code out of the module.
    pub(crate) fn runs(&self) -> Option<&'a DeltaRuns> {
        #[cfg(not(target_family = "wasm"))]
        return self.runs;
        #[cfg(target_family = "wasm")]
        None
    }

    /// The stack's longer list of the node `at` of `layer`'s main FST, if it has one.
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub(crate) fn long_list(&self, layer: usize, at: NodeAt) -> Option<std::ops::Range<usize>> {
        match (layer, self.long_lists) {
            (0, Some(long)) => long.get(at),
            _ => None,
        }
    }

    /// The stack's merged list for the exact-prefix pass of `query`, with the keys its
    /// matches point into, if it has one.
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub(crate) fn merged_list(&self, query: &str) -> Option<(&'a [Hit], &'a [u8])> {
        let merged = self.merged?;
        Some((merged.get(query)?, merged.keys()))
    }

    /// The entries of the stack's longer lists.
    pub(crate) fn long_table(&self) -> &'a EntryTable {
        static NONE: EntryTable = EntryTable::EMPTY;
        self.long_lists.map_or(&NONE, LongLists::table)
    }

    /// Whether anything can hide a hit from `layer` (a newer layer or a blocklist).
    pub(crate) fn can_hide(&self, layer: usize) -> bool {
        layer + 1 < self.views().len() || self.blocklist.is_some()
    }
}

// `Source` is public only so that `Searchable` can name it; it lives in a private module, so
// no one outside the crate can implement `Searchable` or call `layers`, and the crate-private
// `Layers` it returns never escapes.
#[allow(private_interfaces)]
pub(crate) mod sealed {
    /// What [`crate::Searcher::search`] reads from a source: implemented by [`crate::Segment`]
    /// and [`crate::Stack`] only.
    pub trait Source {
        #[doc(hidden)]
        fn layers(&self) -> crate::Result<super::Layers<'_>>;
    }
}

/// What a [`crate::Searcher`] searches: a [`Segment`] or a [`Stack`]. One query API for both.
pub trait Searchable: sealed::Source {}

#[allow(private_interfaces)]
impl<D: AsRef<[u8]>> sealed::Source for Segment<D> {
    fn layers(&self) -> Result<Layers<'_>> {
        Ok(Layers {
            one: [Some(self.view()?)],
            many: Vec::new(),
            blocklist: None,
            newest: None,
            prefixes: None,
            runs: None,
            long_lists: None,
            merged: None,
        })
    }
}

impl<D: AsRef<[u8]>> Searchable for Segment<D> {}

#[allow(private_interfaces)]
impl<D: AsRef<[u8]>> sealed::Source for Stack<D> {
    fn layers(&self) -> Result<Layers<'_>> {
        let blocklist = match &self.blocklist {
            Some(list) => Some(list.view()?),
            None => None,
        };
        if self.layers.len() == 1 {
            return Ok(Layers {
                one: [Some(self.layers[0].view()?)],
                many: Vec::new(),
                blocklist,
                newest: None,
                prefixes: None,
                runs: None,
                long_lists: Some(&self.long_lists),
                merged: self.merged_lists(),
            });
        }
        Ok(Layers {
            one: [None],
            many: self.views()?,
            blocklist,
            newest: self.newest.as_ref(),
            prefixes: self.prefix_filter(),
            runs: self.delta_runs(),
            long_lists: Some(&self.long_lists),
            merged: self.merged_lists(),
        })
    }
}

impl<D: AsRef<[u8]>> Stack<D> {
    /// The filter of the deltas' prefixes, if made.
    fn prefix_filter(&self) -> Option<&PrefixFilter> {
        #[cfg(not(target_family = "wasm"))]
        return self.prefixes.as_ref();
        #[cfg(target_family = "wasm")]
        None
    }

    /// The deltas' entries in key order, if kept.
    fn delta_runs(&self) -> Option<&DeltaRuns> {
        #[cfg(not(target_family = "wasm"))]
        return Some(&self.runs);
        #[cfg(target_family = "wasm")]
        None
    }

    /// The merged lists, if made.
    fn merged_lists(&self) -> Option<&MergedLists> {
        #[cfg(not(target_family = "wasm"))]
        return Some(&self.merged);
        #[cfg(target_family = "wasm")]
        None
    }

    /// A view of every layer, base first, in one allocation of the right size (a collect
    /// through `Result` would grow it: it runs on every query).
    fn views(&self) -> Result<Vec<View<'_>>> {
        let mut views = Vec::with_capacity(self.layers.len());
        for segment in &self.layers {
            views.push(segment.view()?);
        }
        Ok(views)
    }
}

impl<D: AsRef<[u8]>> Searchable for Stack<D> {}

#[cfg(all(test, feature = "build"))]
mod tests {
    use super::*;
    use crate::{DeltaBuilder, SegmentBuilder};

    /// The base's bits mark exactly the suggestions some delta decides: rescored or deleted,
    /// in any delta; new phrases and untouched ones stay clear. A hit is hidden by them
    /// exactly as by the hash index. Word-start entries (which hold ranks past the count)
    /// leave the bits in use.
    #[test]
    fn base_bits_mark_the_keys_deltas_decide() {
        let options = crate::BuildOptions {
            word_starts: true,
            ..Default::default()
        };
        let phrases = ["alpha", "beta one", "gamma", "delta two", "epsilon"];
        let mut base = SegmentBuilder::with_options(options);
        for (i, phrase) in phrases.iter().enumerate() {
            base.add(phrase, 100 - i as u64).unwrap();
        }
        let base = Segment::load(base.finish().unwrap().bytes).unwrap();
        let mut first = DeltaBuilder::with_options(options);
        first.upsert("beta one", 7, None, &[] as &[&str]).unwrap();
        first
            .upsert("zeta three", 70, None, &[] as &[&str])
            .unwrap();
        let first = Segment::load(first.finish().unwrap().bytes).unwrap();
        let mut second = DeltaBuilder::with_options(options);
        second.delete("delta two").unwrap();
        let second = Segment::load(second.finish().unwrap().bytes).unwrap();
        let stack = Stack::new(base, vec![first, second], None).unwrap();
        let newest = stack.newest.as_ref().unwrap();
        let layers = sealed::Source::layers(&stack).unwrap();
        let base = &layers.views()[0];
        for phrase in phrases {
            let rank = base.fst().get(phrase).unwrap().value() as u32;
            let decided = matches!(phrase, "beta one" | "delta two");
            assert_eq!(newest.base_decides(rank), Some(decided), "{phrase}");
            assert_eq!(
                layers.hides(0, rank, phrase.as_bytes()),
                decided,
                "{phrase}"
            );
            assert_eq!(
                newest.decider_of(phrase.as_bytes()).is_some(),
                decided,
                "{phrase}"
            );
        }
    }
}
