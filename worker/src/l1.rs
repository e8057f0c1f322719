//! The L1 bookkeeping: which index versions isolate memory holds, and what is being loaded or
//! refreshed. Plain data: no KV, no JavaScript, no clock of its own (every method that needs
//! the time takes `now` in milliseconds), so all of it is tested natively. The async layer in
//! `store` does the I/O and keeps one `L1` per isolate.
//!
//! - bounded by a byte budget, least-recently-used index evicted first; a segment shared by
//!   several held versions (a base under its deltas, say) counts once;
//! - a new version of an index replaces the old one whole;
//! - one load per index at a time: the first caller is told to load, later callers to wait,
//!   and after waiting they see the value or the load's error;
//! - a refresh is due once per interval per index, never while one is running.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use edgesuggest_manifest::SegmentKind;
use serde::Serialize;

use crate::error::LoadError;

/// One segment of a held version: what the budget counts (once per distinct hash) and what
/// `/v1/health` lists. Fields in alphabetical order, as the health body lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    /// Size in bytes.
    pub bytes: usize,
    /// SHA-256 of the bytes (lowercase hex): the identity under which it is shared.
    pub hash: String,
    /// `base`, `delta` or `blocklist`.
    pub kind: SegmentKind,
}

/// What the L1 needs to know about a value it holds.
pub trait Held {
    /// The index this value is a version of.
    fn index(&self) -> &str;
    /// The manifest version.
    fn version(&self) -> u64;
    /// Its segments; bytes are counted against the budget once per distinct hash.
    fn parts(&self) -> &[Part];
    /// Bytes of all its segments (a segment shared with another version counted here too).
    fn bytes(&self) -> usize {
        self.parts().iter().map(|p| p.bytes).sum()
    }
}

/// Bytes of `parts`, each distinct hash counted once.
fn distinct_bytes<'a>(parts: impl Iterator<Item = &'a Part>) -> usize {
    let mut seen = HashSet::new();
    parts
        .filter(|p| seen.insert(p.hash.as_str()))
        .map(|p| p.bytes)
        .sum()
}

/// Counters for `/v1/health`. Fields in alphabetical order: the order the health body has
/// always listed them in.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Indexes evicted to stay within the budget.
    pub evictions: u64,
    /// Reads per KV key.
    pub kv_reads: BTreeMap<String, u64>,
    /// Requests that found their index in memory.
    pub l1_hits: u64,
    /// Answers served from the Cache API.
    pub l2_hits: u64,
    /// Answers searched and then written to the Cache API.
    pub l2_misses: u64,
    /// Loads and refreshes that failed.
    pub load_failures: u64,
    /// Segment loads started (after the manifest was read).
    pub loads: u64,
    /// Fetched segments whose attestation verified: their FST nodes were not walked again.
    pub segments_attested: u64,
    /// Segments read from KV (chunks fetched, hash and checksum verified).
    pub segments_fetched: u64,
    /// Segments a new version took from one already held, without reading KV.
    pub segments_reused: u64,
    /// New versions swapped in by a background refresh.
    pub swaps: u64,
}

/// One held index version and its use.
struct Slot<T> {
    value: Rc<T>,
    /// The tick of the last use, for LRU order.
    last_used: u64,
    /// When the manifest was last checked (or the version installed).
    checked_ms: f64,
    refreshing: bool,
}

/// What a caller of [`L1::lookup`] should do next.
#[derive(Debug)]
pub enum Lookup<T> {
    /// The index is held: use it.
    Hit(Rc<T>),
    /// Another caller is loading it: wait a little and look again with `waited = true`.
    Wait,
    /// The load this caller waited for failed with this error.
    Failed(LoadError),
    /// This caller loads it, then reports with [`L1::finish_load`] and [`L1::end_load`].
    Load,
}

/// Held index versions, loads in flight, their last errors, and counters.
pub struct L1<T> {
    slots: HashMap<String, Slot<T>>,
    /// Indexes being loaded.
    inflight: HashSet<String>,
    /// The outcome of the last failed load attempt per index, for waiters to read.
    last_error: HashMap<String, LoadError>,
    /// A use counter: the LRU clock (the time source is too coarse on Workers to order uses).
    tick: u64,
    /// Counters for `/v1/health`.
    pub stats: Stats,
}

impl<T> Default for L1<T> {
    fn default() -> L1<T> {
        L1 {
            slots: HashMap::new(),
            inflight: HashSet::new(),
            last_error: HashMap::new(),
            tick: 0,
            stats: Stats::default(),
        }
    }
}

/// `Err(TooLarge)` when an index of `bytes` could never fit in `budget`: refused before any
/// chunk is read, and without evicting anything.
pub fn check_budget(index: &str, bytes: u64, budget: u64) -> Result<(), LoadError> {
    if bytes > budget {
        return Err(LoadError::TooLarge {
            index: index.to_string(),
            bytes,
            budget,
        });
    }
    Ok(())
}

impl<T: Held> L1<T> {
    /// An empty L1.
    pub fn new() -> L1<T> {
        L1::default()
    }

    /// Looks `index` up and says what to do. `waited` is true when this caller was told to
    /// [`Lookup::Wait`] before: only then does a recorded error end its wait. A caller told
    /// to [`Lookup::Load`] owns the load until it calls [`L1::end_load`].
    pub fn lookup(&mut self, index: &str, waited: bool) -> Lookup<T> {
        self.tick += 1;
        if let Some(slot) = self.slots.get_mut(index) {
            slot.last_used = self.tick;
            self.stats.l1_hits += 1;
            return Lookup::Hit(slot.value.clone());
        }
        if self.inflight.contains(index) {
            return Lookup::Wait;
        }
        if waited {
            // The load this caller waited for finished without installing anything.
            if let Some(e) = self.last_error.get(index) {
                return Lookup::Failed(e.clone());
            }
        }
        self.inflight.insert(index.to_string());
        self.last_error.remove(index);
        Lookup::Load
    }

    /// Records the outcome of a load started by [`Lookup::Load`]: installs the value, or
    /// counts the failure and keeps it for the callers waiting on this load.
    pub fn finish_load(
        &mut self,
        index: &str,
        outcome: &Result<Rc<T>, LoadError>,
        budget: u64,
        now: f64,
    ) {
        match outcome {
            Ok(value) => self.install(value.clone(), budget, now),
            Err(e) => {
                self.stats.load_failures += 1;
                self.last_error.insert(index.to_string(), e.clone());
            }
        }
    }

    /// Ends a load started by [`Lookup::Load`], finished or abandoned: waiters stop waiting.
    pub fn end_load(&mut self, index: &str) {
        self.inflight.remove(index);
    }

    /// The held version of `index` when its manifest is due for a check (`interval_ms` since
    /// the last one, and no refresh running); marks the refresh as started.
    pub fn refresh_due(&mut self, index: &str, now: f64, interval_ms: f64) -> Option<u64> {
        let slot = self.slots.get_mut(index)?;
        if slot.refreshing || now - slot.checked_ms < interval_ms {
            return None;
        }
        slot.refreshing = true;
        slot.checked_ms = now;
        Some(slot.value.version())
    }

    /// Records the end of a refresh: `Ok(Some)` swaps a new version in, `Ok(None)` means the
    /// held version is current, `Err` counts a failure and keeps the held version serving.
    pub fn finish_refresh(
        &mut self,
        index: &str,
        outcome: &Result<Option<Rc<T>>, LoadError>,
        budget: u64,
        now: f64,
    ) {
        match outcome {
            Ok(Some(value)) => {
                self.install(value.clone(), budget, now);
                self.stats.swaps += 1;
            }
            Ok(None) => {}
            Err(_) => self.stats.load_failures += 1,
        }
        if let Some(slot) = self.slots.get_mut(index) {
            slot.refreshing = false;
        }
    }

    /// Puts a version in place, replacing any older one of its index whole, and evicts least
    /// recently used indexes until the budget holds (or nothing else is left). Segments the
    /// new version shares with held ones count once.
    pub fn install(&mut self, value: Rc<T>, budget: u64, now: f64) {
        let index = value.index().to_string();
        self.tick += 1;
        self.slots.remove(&index);
        while self.bytes_with(&value) as u64 > budget {
            let Some(oldest) = self.least_recently_used() else {
                break;
            };
            self.slots.remove(&oldest);
            self.stats.evictions += 1;
        }
        let slot = Slot {
            value,
            last_used: self.tick,
            checked_ms: now,
            refreshing: false,
        };
        self.slots.insert(index, slot);
    }

    /// The index used longest ago.
    fn least_recently_used(&self) -> Option<String> {
        self.slots
            .iter()
            .min_by_key(|(_, slot)| slot.last_used)
            .map(|(index, _)| index.clone())
    }

    /// The version of `index` held, if any.
    pub fn serving_version(&self, index: &str) -> Option<u64> {
        self.slots.get(index).map(|slot| slot.value.version())
    }

    /// Every held value, by index name.
    pub fn held(&self) -> Vec<Rc<T>> {
        let mut values: Vec<Rc<T>> = self.slots.values().map(|s| s.value.clone()).collect();
        values.sort_by(|a, b| a.index().cmp(b.index()));
        values
    }

    /// Bytes held in all, each distinct segment once.
    pub fn bytes_held(&self) -> usize {
        distinct_bytes(self.slots.values().flat_map(|s| s.value.parts()))
    }

    /// Bytes held once `value` is held too, each distinct segment once.
    fn bytes_with(&self, value: &T) -> usize {
        let held = self.slots.values().flat_map(|s| s.value.parts());
        distinct_bytes(held.chain(value.parts()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A held value without a segment.
    #[derive(Debug)]
    struct Fake {
        index: &'static str,
        version: u64,
        parts: Vec<Part>,
    }

    impl Held for Fake {
        fn index(&self) -> &str {
            self.index
        }
        fn version(&self) -> u64 {
            self.version
        }
        fn parts(&self) -> &[Part] {
            &self.parts
        }
    }

    fn part(hash: &str, bytes: usize, kind: SegmentKind) -> Part {
        Part {
            bytes,
            hash: hash.to_string(),
            kind,
        }
    }

    /// A version of one segment of its own.
    fn fake(index: &'static str, version: u64, bytes: usize) -> Rc<Fake> {
        let hash = format!("{index}{version}");
        stacked(index, version, vec![part(&hash, bytes, SegmentKind::Base)])
    }

    fn stacked(index: &'static str, version: u64, parts: Vec<Part>) -> Rc<Fake> {
        Rc::new(Fake {
            index,
            version,
            parts,
        })
    }

    #[test]
    fn a_segment_shared_by_versions_counts_once() {
        let base = part("b", 60, SegmentKind::Base);
        let delta = part("d1", 5, SegmentKind::Delta);
        let mut l1 = L1::new();
        l1.install(stacked("a", 1, vec![base.clone()]), 100, 0.0);
        // The same base under another index: held once, nothing evicted.
        l1.install(stacked("mirror", 1, vec![base.clone()]), 100, 0.0);
        assert_eq!((l1.bytes_held(), l1.stats.evictions), (60, 0));
        // A new version of "a" layers a delta on the base: 65 bytes in all, not 125.
        l1.install(stacked("a", 2, vec![base.clone(), delta]), 100, 0.0);
        assert_eq!(held(&l1), [("a", 2), ("mirror", 1)]);
        assert_eq!((l1.bytes_held(), l1.stats.evictions), (65, 0));
        assert_eq!(l1.held()[0].bytes(), 65);
        // A new base that does not fit beside the shared one evicts the other index.
        l1.install(
            stacked("a", 3, vec![part("b2", 50, SegmentKind::Base)]),
            100,
            0.0,
        );
        assert_eq!(held(&l1), [("a", 3)]);
        assert_eq!((l1.bytes_held(), l1.stats.evictions), (50, 1));
    }

    fn held(l1: &L1<Fake>) -> Vec<(&'static str, u64)> {
        l1.held().iter().map(|v| (v.index, v.version)).collect()
    }

    fn hit(l1: &mut L1<Fake>, index: &str) -> u64 {
        match l1.lookup(index, false) {
            Lookup::Hit(v) => v.version,
            other => panic!("{index}: expected a hit, got {other:?}"),
        }
    }

    fn failed(index: &str) -> LoadError {
        LoadError::Failed {
            index: index.to_string(),
            detail: "chunk missing".to_string(),
        }
    }

    #[test]
    fn evicts_least_recently_used_first_within_the_budget() {
        let mut l1 = L1::new();
        l1.install(fake("a", 1, 40), 100, 0.0);
        l1.install(fake("b", 1, 40), 100, 0.0);
        hit(&mut l1, "a"); // b is now the least recently used
        l1.install(fake("c", 1, 40), 100, 0.0);
        assert_eq!(held(&l1), [("a", 1), ("c", 1)]);
        assert_eq!((l1.stats.evictions, l1.bytes_held()), (1, 80));
        hit(&mut l1, "c");
        l1.install(fake("d", 1, 70), 100, 0.0); // needs both gone: a first, then c
        assert_eq!(held(&l1), [("d", 1)]);
        assert_eq!((l1.stats.evictions, l1.bytes_held()), (3, 70));
    }

    #[test]
    fn a_new_version_replaces_the_old_one_whole() {
        let mut l1 = L1::new();
        l1.install(fake("a", 1, 60), 100, 0.0);
        l1.install(fake("a", 2, 60), 100, 0.0);
        assert_eq!(held(&l1), [("a", 2)]);
        assert_eq!((l1.stats.evictions, l1.bytes_held()), (0, 60));
        assert_eq!(l1.serving_version("a"), Some(2));
        assert_eq!(hit(&mut l1, "a"), 2);
    }

    #[test]
    fn an_index_larger_than_the_budget_is_refused_without_evicting() {
        let mut l1 = L1::new();
        l1.install(fake("a", 1, 40), 100, 0.0);
        let e = check_budget("big", 150, 100).unwrap_err();
        assert_eq!(
            e,
            LoadError::TooLarge {
                index: "big".into(),
                bytes: 150,
                budget: 100
            }
        );
        assert_eq!(e.code(), "index_too_large");
        assert!(check_budget("fits", 100, 100).is_ok());
        assert_eq!(held(&l1), [("a", 1)]);
        // One that fills the whole budget exactly evicts every other.
        l1.install(fake("b", 1, 30), 100, 0.0);
        l1.install(fake("full", 1, 100), 100, 0.0);
        assert_eq!(held(&l1), [("full", 1)]);
        assert_eq!((l1.stats.evictions, l1.bytes_held()), (2, 100));
    }

    #[test]
    fn one_load_at_a_time_and_waiters_see_its_outcome() {
        let mut l1: L1<Fake> = L1::new();
        assert!(matches!(l1.lookup("a", false), Lookup::Load));
        assert!(matches!(l1.lookup("a", false), Lookup::Wait));
        assert!(matches!(l1.lookup("a", true), Lookup::Wait));
        // The load fails: waiters get its error, a fresh caller tries again.
        l1.finish_load("a", &Err(failed("a")), 100, 0.0);
        l1.end_load("a");
        match l1.lookup("a", true) {
            Lookup::Failed(e) => assert_eq!(e, failed("a")),
            other => panic!("expected the load's error, got {other:?}"),
        }
        assert_eq!(l1.stats.load_failures, 1);
        assert!(matches!(l1.lookup("a", false), Lookup::Load));
        // The retry succeeds: the waiter sees the value.
        assert!(matches!(l1.lookup("a", false), Lookup::Wait));
        l1.finish_load("a", &Ok(fake("a", 7, 10)), 100, 0.0);
        l1.end_load("a");
        assert!(matches!(l1.lookup("a", true), Lookup::Hit(v) if v.version == 7));
        // Other indexes load independently.
        assert!(matches!(l1.lookup("b", false), Lookup::Load));
    }

    #[test]
    fn an_abandoned_load_lets_a_waiter_load_itself() {
        let mut l1: L1<Fake> = L1::new();
        assert!(matches!(l1.lookup("a", false), Lookup::Load));
        l1.end_load("a"); // the loading request went away without an outcome
        assert!(matches!(l1.lookup("a", true), Lookup::Load));
    }

    #[test]
    fn a_refresh_is_due_after_the_interval_and_not_while_one_runs() {
        let mut l1 = L1::new();
        assert_eq!(l1.refresh_due("a", 5_000.0, 1_000.0), None, "nothing held");
        l1.install(fake("a", 1, 10), 100, 1_000.0);
        assert_eq!(l1.refresh_due("a", 1_999.0, 1_000.0), None);
        assert_eq!(l1.refresh_due("a", 2_000.0, 1_000.0), Some(1));
        assert_eq!(
            l1.refresh_due("a", 9_000.0, 1_000.0),
            None,
            "one is running"
        );
        l1.finish_refresh("a", &Ok(None), 100, 9_000.0);
        assert_eq!(l1.stats.swaps, 0);
        // The interval counts from the start of the last check.
        assert_eq!(l1.refresh_due("a", 9_000.0, 1_000.0), Some(1));
        l1.finish_refresh("a", &Ok(Some(fake("a", 2, 10))), 100, 9_500.0);
        assert_eq!((l1.serving_version("a"), l1.stats.swaps), (Some(2), 1));
        assert_eq!(l1.refresh_due("a", 10_000.0, 1_000.0), None);
        assert_eq!(l1.refresh_due("a", 10_500.0, 1_000.0), Some(2));
        // A failed refresh keeps the held version and is counted.
        l1.finish_refresh("a", &Err(failed("a")), 100, 10_600.0);
        assert_eq!(l1.serving_version("a"), Some(2));
        assert_eq!(l1.stats.load_failures, 1);
        assert_eq!(l1.refresh_due("a", 11_500.0, 1_000.0), Some(2));
    }

    #[test]
    fn counters() {
        let mut l1 = L1::new();
        assert!(matches!(l1.lookup("a", false), Lookup::Load));
        l1.finish_load("a", &Ok(fake("a", 1, 60)), 100, 0.0);
        l1.end_load("a");
        hit(&mut l1, "a");
        hit(&mut l1, "a");
        assert!(matches!(l1.lookup("b", false), Lookup::Load));
        l1.finish_load("b", &Ok(fake("b", 1, 60)), 100, 0.0);
        l1.end_load("b");
        assert!(matches!(l1.lookup("c", false), Lookup::Load));
        l1.finish_load("c", &Err(failed("c")), 100, 0.0);
        l1.end_load("c");
        assert_eq!(
            l1.stats,
            Stats {
                evictions: 1,
                l1_hits: 2,
                load_failures: 1,
                ..Stats::default()
            }
        );
        assert_eq!(
            serde_json::to_string(&l1.stats).unwrap(),
            r#"{"evictions":1,"kv_reads":{},"l1_hits":2,"l2_hits":0,"l2_misses":0,"load_failures":1,"loads":0,"segments_attested":0,"segments_fetched":0,"segments_reused":0,"swaps":0}"#
        );
    }
}
