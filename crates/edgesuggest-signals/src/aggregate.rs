//! Adding events to the state, in input order, by the rules of `docs/SIGNALS.md` ("Which
//! events count"): late events, the spam cap, lazy decay, distinct users and surface forms.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64;

use crate::batch::{Batch, Prepared, Text};
use crate::event::{EventRef, EventType};
use crate::hash::{FastState, PrehashedState};
use crate::params::{Params, DAY_MS};
use crate::state::{Form, KeyState, State, MAX_FORMS};

/// Why an event did not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// `day(ts) < day(watermark) − 1`.
    Late,
    /// A search whose key is empty.
    Empty,
    /// A search with `results: 0`.
    ZeroResults,
    /// A later search of the same (key, user, day): the spam cap.
    Repeat,
}

impl SkipReason {
    /// Every reason, in the order of the spec.
    pub const ALL: [SkipReason; 4] = [
        SkipReason::Late,
        SkipReason::Empty,
        SkipReason::ZeroResults,
        SkipReason::Repeat,
    ];

    /// The reason's name in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Late => "late",
            SkipReason::Empty => "empty",
            SkipReason::ZeroResults => "zero-results",
            SkipReason::Repeat => "repeat",
        }
    }
}

/// Counts of a run's events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// Good events read.
    pub read: u64,
    /// Events skipped, by [`SkipReason`] (indexed as [`SkipReason::ALL`]).
    pub skipped: [u64; 4],
}

/// Applies events to a [`State`], reusing its buffers across events.
pub struct Aggregator<'s> {
    state: &'s mut State,
    params: &'s Params,
    /// What happened to the events.
    pub counts: EventCounts,
    key_buf: String,
    form_buf: String,
    seen: Vec<u32>,
    /// Keys already marked dirty by this run, by id: one set insert per key, not per event.
    marked: Vec<bool>,
    /// Hashes raw texts for `raw_ids` (the reader thread hashes with a copy of it).
    hasher: FastState,
    /// Hash of a raw text → the text in `raw_texts` and its key id ([`EMPTY_KEY`] when it
    /// normalizes to nothing), this run only. Keyed by the precomputed hash so a lookup
    /// hashes nothing; the text is still compared, so a hash collision only misses the cache.
    raw_ids: HashMap<u64, Cached, PrehashedState>,
    /// The cached raw texts, end to end: one allocation instead of one per text.
    raw_texts: String,
}

/// A cached raw text: its bytes in `raw_texts`, and its key id.
#[derive(Debug, Clone, Copy)]
struct Cached {
    start: u32,
    end: u32,
    id: u32,
}

/// The fields of an event the aggregation reads, its text hashed.
struct Fields<'t> {
    ts: u64,
    kind: EventType,
    /// xxh3 of `user`.
    user: u64,
    zero_results: bool,
    /// `q` of a search, `text` of a click.
    text: Text<'t>,
}

/// The cached id of a text whose key is empty.
const EMPTY_KEY: u32 = u32::MAX;
/// Raw texts cached before the cache starts over (bounds its memory).
const MAX_CACHED_TEXTS: usize = 1 << 20;
/// Bytes of cached raw texts before the cache starts over (and offsets fit in a `u32`).
const MAX_CACHED_BYTES: usize = 1 << 27;

impl<'s> Aggregator<'s> {
    /// An aggregator adding to `state`.
    pub fn new(state: &'s mut State, params: &'s Params) -> Aggregator<'s> {
        Aggregator {
            state,
            params,
            counts: EventCounts::default(),
            key_buf: String::new(),
            form_buf: String::new(),
            seen: Vec::new(),
            marked: Vec::new(),
            hasher: FastState::default(),
            raw_ids: HashMap::default(),
            raw_texts: String::new(),
        }
    }

    /// The hasher texts given to [`Aggregator::add_prepared`] must be hashed with.
    pub fn text_hasher(&self) -> FastState {
        self.hasher
    }

    /// The state being added to.
    pub fn state(&self) -> &State {
        self.state
    }

    /// Adds one good (validated) event.
    pub fn add<S: AsRef<str>>(&mut self, event: &EventRef<'_, S>) {
        let hasher = self.hasher;
        let text = match event.kind {
            EventType::Search => event.q,
            EventType::Click => event.text,
            EventType::Impression => None,
        };
        let fields = Fields {
            ts: event.ts,
            kind: event.kind,
            user: xxh3_64(event.user.as_bytes()),
            zero_results: event.results == Some(0),
            text: Text::new(text.unwrap_or(""), &hasher),
        };
        let suggestions = event.suggestions.unwrap_or(&[]).iter();
        self.apply(&fields, suggestions.map(|s| Text::new(s.as_ref(), &hasher)));
    }

    /// Adds one good event decoded by the reader thread (hashed with [`Self::text_hasher`]).
    pub fn add_prepared(&mut self, batch: &Batch, event: &Prepared) {
        let fields = Fields {
            ts: event.ts,
            kind: event.kind,
            user: event.user,
            zero_results: event.zero_results,
            text: batch.text_of(event),
        };
        self.apply(&fields, batch.suggestions_of(event));
    }

    fn apply<'t>(&mut self, event: &Fields<'t>, suggestions: impl Iterator<Item = Text<'t>>) {
        self.counts.read += 1;
        if self.is_late(event.ts) {
            return self.skip(SkipReason::Late);
        }
        self.advance_watermark(event.ts);
        match event.kind {
            EventType::Search => self.add_search(event),
            EventType::Impression => self.add_impressions(event.ts, suggestions),
            EventType::Click => self.add_click(event),
        }
    }

    fn skip(&mut self, reason: SkipReason) {
        self.counts.skipped[reason as usize] += 1;
    }

    /// `day(ts) < day(watermark) − 1`.
    fn is_late(&self, ts: u64) -> bool {
        self.state
            .watermark
            .is_some_and(|w| (ts / DAY_MS) + 1 < w / DAY_MS)
    }

    /// Raises the watermark and drops dedup sets older than yesterday: no later event can
    /// need them (it would be late).
    fn advance_watermark(&mut self, ts: u64) {
        let w = self.state.watermark.map_or(ts, |w| w.max(ts));
        if self.state.watermark != Some(w) {
            self.state.watermark = Some(w);
            let oldest_kept = (w / DAY_MS).saturating_sub(1);
            while let Some((&day, _)) = self.state.dedup.first_key_value() {
                if day >= oldest_kept {
                    break;
                }
                self.state.dedup.pop_first();
            }
        }
    }

    /// The id of normalize(`text`), interned at `ts` when new; `Empty` for an empty key, and
    /// `ZeroResults` (never interning) when the search had none. Raw texts repeat far more
    /// than keys: a per-run cache from raw text to id skips normalizing them again.
    fn resolve(&mut self, text: Text, ts: u64, zero_results: bool) -> Result<u32, SkipReason> {
        let id = match self.cached(text) {
            Some(id) => id,
            None => {
                normalize_into(text.text, &mut self.key_buf);
                let id = if self.key_buf.is_empty() {
                    EMPTY_KEY
                } else if zero_results {
                    // Never interned: a key only searched without results does not exist.
                    return Err(SkipReason::ZeroResults);
                } else {
                    self.state.intern(&self.key_buf, ts)
                };
                self.cache(text, id);
                id
            }
        };
        match id {
            EMPTY_KEY => Err(SkipReason::Empty),
            _ if zero_results => Err(SkipReason::ZeroResults),
            id => Ok(id),
        }
    }

    /// The cached id of a raw text, if it is cached.
    fn cached(&self, text: Text) -> Option<u32> {
        let entry = self.raw_ids.get(&text.hash)?;
        let cached = &self.raw_texts[entry.start as usize..entry.end as usize];
        (cached == text.text).then_some(entry.id)
    }

    /// Caches a raw text's id, starting over when the cache is full.
    fn cache(&mut self, text: Text, id: u32) {
        let full = self.raw_ids.len() >= MAX_CACHED_TEXTS
            || self.raw_texts.len() + text.text.len() > MAX_CACHED_BYTES;
        if full {
            self.raw_ids.clear();
            self.raw_texts.clear();
        }
        // Another text with the same hash keeps the entry: this one just stays uncached.
        if let Entry::Vacant(slot) = self.raw_ids.entry(text.hash) {
            let start = self.raw_texts.len() as u32;
            self.raw_texts.push_str(text.text);
            let end = self.raw_texts.len() as u32;
            slot.insert(Cached { start, end, id });
        }
    }

    fn add_search(&mut self, event: &Fields) {
        let q = event.text.text;
        let id = match self.resolve(event.text, event.ts, event.zero_results) {
            Ok(id) => id,
            Err(reason) => return self.skip(reason),
        };
        let user = event.user;
        if !self.state.first_search(event.ts / DAY_MS, id, user) {
            return self.skip(SkipReason::Repeat);
        }
        collapse_whitespace(q, &mut self.form_buf);
        let key = &mut self.state.keys[id as usize];
        add_decayed(key, event.ts, self.params, Sum::Popularity);
        key.users.add(user);
        count_form(&mut key.forms, &self.form_buf);
        self.touch(id);
    }

    fn add_impressions<'t>(&mut self, ts: u64, suggestions: impl Iterator<Item = Text<'t>>) {
        self.seen.clear();
        for text in suggestions {
            let Ok(id) = self.resolve(text, ts, false) else {
                continue;
            };
            // Each distinct key of the list gets one impression, however often it is listed.
            if self.seen.contains(&id) {
                continue;
            }
            self.seen.push(id);
            add_decayed(
                &mut self.state.keys[id as usize],
                ts,
                self.params,
                Sum::Impressions,
            );
            self.touch(id);
        }
    }

    fn add_click(&mut self, event: &Fields) {
        let Ok(id) = self.resolve(event.text, event.ts, false) else {
            return;
        };
        add_decayed(
            &mut self.state.keys[id as usize],
            event.ts,
            self.params,
            Sum::Clicks,
        );
        self.touch(id);
    }

    fn touch(&mut self, id: u32) {
        let i = id as usize;
        self.state.modify(id);
        if self.marked.len() <= i {
            self.marked.resize(self.state.keys.len().max(i + 1), false);
        }
        if !self.marked[i] {
            self.marked[i] = true;
            self.state.dirty.insert(id);
        }
    }
}

/// Which of a key's decayed sums an event adds to.
#[derive(Clone, Copy)]
enum Sum {
    Popularity,
    Impressions,
    Clicks,
}

/// `s ← s · d(t' − t) + d(t' − ts)`, `t ← t'` with `t' = max(t, ts)`; the three sums share
/// `t`, so all three are decayed to `t'`.
fn add_decayed(key: &mut KeyState, ts: u64, params: &Params, sum: Sum) {
    let t_new = key.t.max(ts);
    if t_new != key.t {
        let d = params.decay((t_new - key.t) as f64);
        key.pop *= d;
        key.imp *= d;
        key.clk *= d;
        key.t = t_new;
    }
    let add = params.decay((t_new - ts) as f64);
    match sum {
        Sum::Popularity => key.pop += add,
        Sum::Impressions => key.imp += add,
        Sum::Clicks => key.clk += add,
    }
}

/// One more counted search with this form: counted if tracked, tracked if there is room.
fn count_form(forms: &mut Vec<Form>, form: &str) {
    if let Some(f) = forms.iter_mut().find(|f| f.text == form) {
        f.count += 1;
    } else if forms.len() < MAX_FORMS {
        forms.push(Form {
            text: form.to_string(),
            count: 1,
        });
    }
}

/// The engine's normalizer into a reused buffer.
fn normalize_into(text: &str, out: &mut String) {
    out.clear();
    out.push_str(&edgesuggest::normalize_phrase(text));
}

/// The surface form: each run of whitespace ([`char::is_whitespace`]) turned into one space,
/// both ends trimmed.
pub fn collapse_whitespace(text: &str, out: &mut String) {
    out.clear();
    for word in text.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_collapse_whitespace() {
        let mut out = String::new();
        collapse_whitespace("  New \t\u{3000} York\n ", &mut out);
        assert_eq!(out, "New York");
        collapse_whitespace(" \t ", &mut out);
        assert_eq!(out, "");
    }

    #[test]
    fn decay_merges_exactly() {
        let params = Params {
            half_life_ms: DAY_MS,
            ..Params::default()
        };
        let mut key = KeyState::new("k".into(), 0);
        add_decayed(&mut key, 0, &params, Sum::Popularity);
        add_decayed(&mut key, DAY_MS, &params, Sum::Popularity);
        assert_eq!((key.pop, key.t), (1.5, DAY_MS));
        // An older event decays to the key's time.
        add_decayed(&mut key, 0, &params, Sum::Clicks);
        assert_eq!(key.clk, 0.5);
    }
}
