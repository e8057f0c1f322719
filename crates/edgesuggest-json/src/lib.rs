//! The JSON shape of one suggestion, shared by `edgesuggest query --json` and the worker's
//! `/v1/suggest`, so the command line and the edge answer with the same objects:
//!
//! `{"text", "score", "highlight": [start, end], "payload"?, "categories"?, "edits"?,
//! "word_start"?}` — highlight in UTF-16 code units (what JavaScript indexes strings by);
//! fields after it only when they say something (a payload, some categories, a typo, a match
//! at a later word).

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
    /// Typos between the query and the matched prefix.
    #[serde(skip_serializing_if = "is_zero")]
    pub edits: u8,
    /// True when the query matched at a later word.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
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

fn is_zero(n: &u8) -> bool {
    *n == 0
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
    use edgesuggest::{Searcher, Segment, SegmentBuilder};

    #[test]
    fn fields_appear_only_when_they_say_something() {
        let mut b = SegmentBuilder::new();
        b.add_row("São Paulo", 10, Some(r#"{"id":1}"#), &["br"])
            .unwrap();
        b.add("Sapporo", 5).unwrap();
        let segment = Segment::load(b.finish().unwrap().bytes).unwrap();
        let mut searcher = Searcher::new();
        let found = searcher.suggest(&segment, "sa", 10).unwrap();
        assert_eq!(
            suggestions_json(&found),
            r#"[{"text":"São Paulo","score":10,"highlight":[0,2],"payload":{"id":1},"categories":["br"]},{"text":"Sapporo","score":5,"highlight":[0,2]}]"#
        );
    }
}
