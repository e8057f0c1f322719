//! The JSON shape of one suggestion, shared by `edgesuggest query --json` and the worker's
//! `/v1/suggest`; the wasm package builds the same objects in JavaScript. One shape on every
//! surface, so a page can take suggestions from the in-page engine or from the edge unchanged:
//!
//! `{"text", "score", "highlight": [start, end], "payload"?, "categories"?, "edits",
//! "word_start"}` — names in snake_case, like the HTTP parameters; highlight in UTF-16 code
//! units (what JavaScript indexes strings by); `payload` and `categories` only when the
//! suggestion has them, every other field always.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use edgesuggest::Suggestion;
use serde::Serialize;
use serde_json::value::RawValue;

/// One suggestion as JSON, borrowing from the [`Suggestion`].
#[derive(Debug, Serialize)]
pub struct SuggestionJson<'a> {
    /// The display text.
    pub text: &'a str,
    /// The merged score (exact in JavaScript up to 2^53).
    pub score: u64,
    /// The matched span of `text`, in UTF-16 code units: `[start, end)`.
    pub highlight: [u32; 2],
    /// The payload, embedded as the JSON object it was validated to be at build time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<&'a RawValue>,
    /// The suggestion's categories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<&'a str>,
    /// Typos between the query and the matched prefix (0 for an exact prefix).
    pub edits: u8,
    /// True when the query matched at a later word.
    pub word_start: bool,
}

impl<'a> SuggestionJson<'a> {
    /// The JSON view of `s`. A payload that is not valid JSON (only possible in a segment
    /// built by another tool) is left out rather than breaking the whole answer.
    pub fn new(s: &Suggestion<'a>) -> SuggestionJson<'a> {
        let (start, end) = s.highlight_utf16();
        SuggestionJson {
            text: s.text,
            score: s.score,
            highlight: [start, end],
            payload: s.payload.and_then(|p| serde_json::from_str(p).ok()),
            categories: s.category_list().collect(),
            edits: s.edits,
            word_start: s.word_start,
        }
    }
}

/// The JSON array of `suggestions`.
pub fn suggestions_json(suggestions: &[Suggestion<'_>]) -> String {
    let items: Vec<SuggestionJson> = suggestions.iter().map(SuggestionJson::new).collect();
    // Serializing borrowed strings, numbers and valid raw JSON cannot fail.
    serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgesuggest::{Searcher, Segment, SegmentBuilder, SuggestOptions};

    #[test]
    fn payload_and_categories_appear_only_when_present() {
        let mut b = SegmentBuilder::new();
        b.add_row("São Paulo", 10, Some(r#"{"id":1}"#), &["br"])
            .unwrap();
        b.add("Sapporo", 5).unwrap();
        let segment = Segment::load(b.finish().unwrap().bytes).unwrap();
        let mut searcher = Searcher::new();
        let found = searcher
            .search(&segment, "sa", &SuggestOptions::default())
            .unwrap();
        assert_eq!(
            suggestions_json(&found.items),
            r#"[{"text":"São Paulo","score":10,"highlight":[0,2],"payload":{"id":1},"categories":["br"],"edits":0,"word_start":false},{"text":"Sapporo","score":5,"highlight":[0,2],"edits":0,"word_start":false}]"#
        );
    }
}
