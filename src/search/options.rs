//! What a query asks for beyond its text: how many results, typo tolerance, filters.

use crate::error::Error;

/// Default number of suggestions.
pub const DEFAULT_K: usize = 10;

/// Default work budget per query, in visited FST nodes. A plain prefix query visits about
/// `k × key length` nodes (a few hundred); typo-tolerant queries on short prefixes visit the
/// most, and this leaves them ample room while bounding the worst case to well under a
/// millisecond.
pub const DEFAULT_MAX_VISITS: usize = 100_000;

/// The most suggestions one query may ask for: the answer's size stays bounded whatever a
/// caller passes.
pub const MAX_K: usize = 1000;

/// The largest work budget ([`SuggestOptions::max_visits`]) a query may set: ten times the
/// default, about 10 ms of search natively.
pub const MAX_VISITS: usize = 1_000_000;

/// The longest query accepted as given, in bytes of UTF-8. Normalizing reads the whole input
/// when most of it folds away (whitespace runs, accents), so this bounds that time.
pub const MAX_QUERY_INPUT_BYTES: usize = 64 * 1024;

/// The longest normalized query, in bytes: four times the builder's default longest phrase
/// (256 bytes), so no query that could match a default-built key is refused. Checked on the
/// normalizer's output as it grows, so characters that NFKD expands (U+FDFA becomes 18
/// characters) cannot get past it.
pub const MAX_QUERY_BYTES: usize = 1024;

/// Typo tolerance considers at most the last this many bytes of the normalized query (whole
/// characters: 32 ASCII letters, 10 CJK characters); the characters before them must match
/// exactly, as the first [`SuggestOptions::prefix_length`] do. The Levenshtein automaton grows
/// with the length and the variety of the characters it covers (32 bytes of distinct CJK
/// characters: about 2 MB for 2 edits), and typeahead users fix typos in what they just typed.
pub const MAX_FUZZY_BYTES: usize = 32;

/// How many edits a query may contain (`fuzzy=auto|0|1|2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fuzziness {
    /// Exact prefixes only.
    #[default]
    Off,
    /// Exactly this many edits at most (1 or 2).
    Edits(u8),
    /// By query length in characters (after normalization): 0 edits under 3 characters,
    /// 1 for 3 to 5, 2 above.
    Auto,
}

impl Fuzziness {
    /// The most edits a distance of this kind allows.
    pub const MAX_EDITS: u8 = 2;

    /// Parses `auto` (in any case), `0`, `1` or `2`, ignoring surrounding whitespace: what the
    /// CLI, wasm and HTTP APIs accept.
    ///
    /// ```
    /// use edgesuggest::Fuzziness;
    /// assert_eq!(Fuzziness::parse("AuTo")?, Fuzziness::Auto);
    /// assert_eq!(Fuzziness::parse(" 1 ")?, Fuzziness::Edits(1));
    /// assert!(Fuzziness::parse("3").is_err());
    /// # Ok::<(), edgesuggest::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Fuzziness, Error> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("auto") {
            return Ok(Fuzziness::Auto);
        }
        text.parse()
            .ok()
            .and_then(Fuzziness::from_edits)
            .ok_or_else(|| Error::BadOption {
                option: "fuzzy",
                value: text.to_owned(),
                expected: "auto, 0, 1 or 2 (edits allowed)",
            })
    }

    /// `Off` for 0, `Edits(n)` for 1 or 2, `None` above [`Fuzziness::MAX_EDITS`].
    pub fn from_edits(edits: u8) -> Option<Fuzziness> {
        match edits {
            0 => Some(Fuzziness::Off),
            1..=Self::MAX_EDITS => Some(Fuzziness::Edits(edits)),
            _ => None,
        }
    }

    /// The edits allowed for a normalized query of `chars` characters.
    pub fn max_edits(self, chars: usize) -> u8 {
        match self {
            Fuzziness::Off => 0,
            Fuzziness::Edits(n) => n.min(Self::MAX_EDITS),
            Fuzziness::Auto => match chars {
                0..=2 => 0,
                3..=5 => 1,
                _ => 2,
            },
        }
    }
}

impl std::fmt::Display for Fuzziness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fuzziness::Off => f.write_str("0"),
            Fuzziness::Edits(n) => write!(f, "{n}"),
            Fuzziness::Auto => f.write_str("auto"),
        }
    }
}

/// Options of one query. `SuggestOptions::default()` asks for 10 exact-prefix suggestions with
/// the exact phrase first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestOptions {
    /// How many suggestions to return.
    pub k: usize,
    /// Typo tolerance.
    pub fuzzy: Fuzziness,
    /// How many leading characters of the (normalized) query must match exactly when fuzzy
    /// (default 1: typos in the first letter are rare and matching it exactly keeps the
    /// search small).
    pub prefix_length: usize,
    /// Put the phrase that equals the whole query first (default on).
    pub exact_first: bool,
    /// Keep only suggestions in at least one of these categories (empty: no filter). Unknown
    /// names match nothing.
    pub categories: Vec<String>,
    /// Work budget in visited FST nodes; when it runs out the best found so far are returned
    /// with [`crate::Suggestions::truncated`] set.
    pub max_visits: usize,
}

impl Default for SuggestOptions {
    fn default() -> Self {
        SuggestOptions {
            k: DEFAULT_K,
            fuzzy: Fuzziness::Off,
            prefix_length: 1,
            exact_first: true,
            categories: Vec::new(),
            max_visits: DEFAULT_MAX_VISITS,
        }
    }
}

impl SuggestOptions {
    /// Checks the options against the engine's limits ([`MAX_K`], [`MAX_VISITS`]): what
    /// [`crate::Searcher::search`] does first.
    pub fn validate(&self) -> Result<(), Error> {
        if self.k > MAX_K {
            return Err(Error::BadOption {
                option: "k",
                value: self.k.to_string(),
                expected: "an integer from 0 to 1000 (MAX_K)",
            });
        }
        if self.max_visits > MAX_VISITS {
            return Err(Error::BadOption {
                option: "max_visits",
                value: self.max_visits.to_string(),
                expected: "an integer from 0 to 1000000 (MAX_VISITS)",
            });
        }
        Ok(())
    }

    /// Default options with `k` results.
    pub fn with_k(k: usize) -> SuggestOptions {
        SuggestOptions {
            k,
            ..SuggestOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_named_in_their_errors() {
        assert_eq!(MAX_K, 1000, "the messages below spell the value out");
        assert_eq!(
            MAX_VISITS, 1_000_000,
            "the messages below spell the value out"
        );
        assert!(SuggestOptions::with_k(MAX_K).validate().is_ok());
        let message = SuggestOptions::with_k(MAX_K + 1)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("k must be an integer from 0 to 1000"),
            "{message}"
        );
        let options = SuggestOptions {
            max_visits: MAX_VISITS + 1,
            ..SuggestOptions::default()
        };
        let message = options.validate().unwrap_err().to_string();
        assert!(message.contains("max_visits must be"), "{message}");
    }

    #[test]
    fn auto_follows_query_length() {
        let want = [0, 0, 0, 1, 1, 1, 2, 2, 2];
        for (chars, &edits) in want.iter().enumerate() {
            assert_eq!(Fuzziness::Auto.max_edits(chars), edits, "{chars} chars");
        }
    }

    #[test]
    fn parse_round_trips() {
        for text in ["auto", "0", "1", "2"] {
            assert_eq!(Fuzziness::parse(text).unwrap().to_string(), text);
        }
        for text in ["AUTO", "Auto", " auto "] {
            assert_eq!(Fuzziness::parse(text).unwrap(), Fuzziness::Auto);
        }
        for text in ["3", "-1", "1.0", "", "autox"] {
            let message = Fuzziness::parse(text).unwrap_err().to_string();
            assert!(message.contains("auto, 0, 1 or 2"), "{message}");
        }
    }
}
