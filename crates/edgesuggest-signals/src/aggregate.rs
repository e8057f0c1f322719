//! Adding events to the state, in input order, by the rules of `docs/SIGNALS.md` ("Which
//! events count"): late events, the spam cap, lazy decay, distinct users and surface forms.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64;

use crate::event::{EventRef, EventType};
use crate::hash::FastState;
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
    /// Raw text → key id ([`EMPTY_KEY`] when it normalizes to nothing), this run only.
    raw_ids: HashMap<Box<str>, u32, FastState>,
}

/// The cached id of a text whose key is empty.
const EMPTY_KEY: u32 = u32::MAX;
/// Raw texts cached before the cache starts over (bounds its memory).
const MAX_CACHED_TEXTS: usize = 1 << 20;

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
            raw_ids: HashMap::default(),
        }
    }

    /// The state being added to.
    pub fn state(&self) -> &State {
        self.state
    }

    /// Adds one good (validated) event.
    pub fn add<S: AsRef<str>>(&mut self, event: &EventRef<'_, S>) {
        self.counts.read += 1;
        if self.is_late(event.ts) {
            return self.skip(SkipReason::Late);
        }
        self.advance_watermark(event.ts);
        match event.kind {
            EventType::Search => self.add_search(event),
            EventType::Impression => self.add_impressions(event),
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
    fn resolve(&mut self, text: &str, ts: u64, zero_results: bool) -> Result<u32, SkipReason> {
        if let Some(&id) = self.raw_ids.get(text) {
            return match id {
                EMPTY_KEY => Err(SkipReason::Empty),
                _ if zero_results => Err(SkipReason::ZeroResults),
                id => Ok(id),
            };
        }
        normalize_into(text, &mut self.key_buf);
        let id = if self.key_buf.is_empty() {
            EMPTY_KEY
        } else if zero_results {
            return Err(SkipReason::ZeroResults);
        } else {
            self.state.intern(&self.key_buf, ts)
        };
        if self.raw_ids.len() >= MAX_CACHED_TEXTS {
            self.raw_ids.clear();
        }
        self.raw_ids.insert(text.into(), id);
        match id {
            EMPTY_KEY => Err(SkipReason::Empty),
            id => Ok(id),
        }
    }

    fn add_search<S: AsRef<str>>(&mut self, event: &EventRef<'_, S>) {
        let q = event.q.unwrap_or("");
        let id = match self.resolve(q, event.ts, event.results == Some(0)) {
            Ok(id) => id,
            Err(reason) => return self.skip(reason),
        };
        let user = xxh3_64(event.user.as_bytes());
        let day_set = self.state.dedup.entry(event.ts / DAY_MS).or_default();
        if !day_set.insert((id, user)) {
            return self.skip(SkipReason::Repeat);
        }
        collapse_whitespace(q, &mut self.form_buf);
        let key = &mut self.state.keys[id as usize];
        add_decayed(key, event.ts, self.params, Sum::Popularity);
        key.users.add(user);
        count_form(&mut key.forms, &self.form_buf);
        self.touch(id);
    }

    fn add_impressions<S: AsRef<str>>(&mut self, event: &EventRef<'_, S>) {
        self.seen.clear();
        for text in event.suggestions.unwrap_or(&[]) {
            let Ok(id) = self.resolve(text.as_ref(), event.ts, false) else {
                continue;
            };
            // Each distinct key of the list gets one impression, however often it is listed.
            if self.seen.contains(&id) {
                continue;
            }
            self.seen.push(id);
            add_decayed(
                &mut self.state.keys[id as usize],
                event.ts,
                self.params,
                Sum::Impressions,
            );
            self.touch(id);
        }
    }

    fn add_click<S: AsRef<str>>(&mut self, event: &EventRef<'_, S>) {
        let Ok(id) = self.resolve(event.text.unwrap_or(""), event.ts, false) else {
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
