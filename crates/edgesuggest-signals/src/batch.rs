//! Decoded NDJSON events in compact owned batches: what the reader thread hands the thread
//! that applies events. A batch keeps only what the aggregation reads of each event, its
//! strings in one arena (one allocation per batch, reused), each with its hash precomputed
//! so the applying thread, the bottleneck, does not hash them again.

use std::ops::Range;

use xxhash_rust::xxh3::xxh3_64;

use crate::event::{EventRef, EventType};
use crate::hash::FastState;

/// Lines per batch: large enough to make the hand-over cheap, small enough to stay in cache.
pub const BATCH_LINES: usize = 4096;
/// Arena bytes past which a batch is handed over early (a few huge lines).
const BATCH_BYTES: usize = 1 << 22;

/// A string of a batch: its bytes in the arena, and its hash under the run's [`FastState`].
#[derive(Debug, Clone, Copy)]
pub struct Span {
    start: u32,
    end: u32,
    hash: u64,
}

/// A text with its hash under the run's [`FastState`] (the aggregator's raw-text cache key).
#[derive(Debug, Clone, Copy)]
pub struct Text<'a> {
    /// The text as logged.
    pub text: &'a str,
    /// `FastState::hash_bytes` of the text.
    pub hash: u64,
}

impl<'a> Text<'a> {
    /// A text, hashed now.
    pub fn new(text: &'a str, hasher: &FastState) -> Text<'a> {
        Text {
            text,
            hash: hasher.hash_bytes(text.as_bytes()),
        }
    }
}

/// A good event, reduced to what the aggregation reads of its type: `q` of a search, the
/// suggestions of an impression, `text` of a click.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Milliseconds since the epoch.
    pub ts: u64,
    /// What happened.
    pub kind: EventType,
    /// xxh3 of `user` (what the state stores).
    pub user: u64,
    /// A search with `results: 0`.
    pub zero_results: bool,
    /// `q` (searches) or `text` (clicks).
    text: Option<Span>,
    /// The suggestions (impressions), as indexes into the batch's spans.
    suggestions: Range<u32>,
}

/// One line of a batch that was an event or a bad line (empty lines are neither).
#[derive(Debug)]
pub struct Item {
    /// 1-based line number in its input.
    pub line: u64,
    /// The event, or why the line is bad.
    pub outcome: Result<Prepared, String>,
}

/// Consecutive lines of one input, decoded.
#[derive(Debug, Default)]
pub struct Batch {
    arena: String,
    spans: Vec<Span>,
    /// The lines, in input order.
    pub items: Vec<Item>,
}

impl Batch {
    /// Empties the batch, keeping its allocations for the next one.
    pub fn clear(&mut self) {
        self.arena.clear();
        self.spans.clear();
        self.items.clear();
    }

    /// Whether the batch should be handed over now.
    pub fn is_full(&self) -> bool {
        self.items.len() >= BATCH_LINES || self.arena.len() >= BATCH_BYTES
    }

    /// Adds a bad line.
    pub fn push_bad(&mut self, line: u64, why: String) {
        self.items.push(Item {
            line,
            outcome: Err(why),
        });
    }

    /// Adds a good (validated) event.
    pub fn push_event<S: AsRef<str>>(&mut self, line: u64, e: &EventRef<'_, S>, h: &FastState) {
        let start = self.spans.len() as u32;
        let text = match e.kind {
            EventType::Search => Some(self.push_text(e.q.unwrap_or(""), h)),
            EventType::Click => Some(self.push_text(e.text.unwrap_or(""), h)),
            EventType::Impression => {
                for s in e.suggestions.unwrap_or(&[]) {
                    let span = self.push_text(s.as_ref(), h);
                    self.spans.push(span);
                }
                None
            }
        };
        let prepared = Prepared {
            ts: e.ts,
            kind: e.kind,
            user: xxh3_64(e.user.as_bytes()),
            zero_results: e.results == Some(0),
            text,
            suggestions: start..self.spans.len() as u32,
        };
        self.items.push(Item {
            line,
            outcome: Ok(prepared),
        });
    }

    fn push_text(&mut self, text: &str, hasher: &FastState) -> Span {
        let start = self.arena.len() as u32;
        self.arena.push_str(text);
        Span {
            start,
            end: self.arena.len() as u32,
            hash: hasher.hash_bytes(text.as_bytes()),
        }
    }

    fn text(&self, span: Span) -> Text<'_> {
        Text {
            text: &self.arena[span.start as usize..span.end as usize],
            hash: span.hash,
        }
    }

    /// `q` of a search, `text` of a click (`""` for an impression).
    pub fn text_of(&self, event: &Prepared) -> Text<'_> {
        match event.text {
            Some(span) => self.text(span),
            None => Text { text: "", hash: 0 },
        }
    }

    /// The suggestions of an impression, in order.
    pub fn suggestions_of<'b>(&'b self, event: &Prepared) -> impl Iterator<Item = Text<'b>> {
        let range = event.suggestions.start as usize..event.suggestions.end as usize;
        self.spans[range].iter().map(|&span| self.text(span))
    }
}
