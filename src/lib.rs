//! # edgesuggest
//!
//! A typeahead (query autosuggest) engine. Scored phrases are built into small, immutable,
//! checksummed **segments**; a segment answers "the k best phrases starting with this prefix"
//! in microseconds, with a cost that does not grow with the number of matches.
//!
//! The engine does no I/O: it takes bytes and answers queries, so the same code and the same
//! segment bytes answer identically natively, in a Cloudflare Worker and in a browser.
//!
//! ```
//! use edgesuggest::{Fuzziness, Searcher, Segment, SegmentBuilder, SuggestOptions};
//!
//! // Build (native side; rows normally come from `edgesuggest build`).
//! let mut builder = SegmentBuilder::new();
//! for (phrase, score) in [("São Paulo", 12_400_000), ("Sapporo", 1_900_000), ("sao paulo", 5)] {
//!     builder.add(phrase, score)?;
//! }
//! let bytes = builder.finish()?.bytes;
//!
//! // Serve (anywhere): open once, keep a Searcher, answer many queries.
//! let segment = Segment::load(bytes)?;
//! let mut searcher = Searcher::new();
//! let found = searcher.search(&segment, "SA", &SuggestOptions::default())?;
//! assert_eq!(found.items[0].text, "São Paulo"); // accents and case folded; forms merged
//! assert_eq!(found.items[0].score, 12_400_005);
//! assert_eq!(found.items[1].text, "Sapporo");
//! assert!(!found.truncated);
//!
//! // Typos, filters and the rest are options of the same call.
//! let typo = SuggestOptions { fuzzy: Fuzziness::Auto, ..SuggestOptions::default() };
//! assert_eq!(searcher.search(&segment, "sapor", &typo)?.items[0].text, "Sapporo");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Pieces
//! - [`normalize_phrase`] / [`normalize_query`]: the one normalizer (NFKD, drop marks,
//!   lowercase, collapse whitespace), shared by the builder and every query.
//! - [`SegmentBuilder`] (feature `build`, on by default): merges rows by normalized key and
//!   writes a segment.
//! - [`Segment`]: opens segment bytes (validating their structure), verifies them, answers
//!   queries.
//! - [`Searcher`]: the one query path: [`Searcher::search`] with [`SuggestOptions`] returns
//!   borrowed [`Suggestions`]; [`Suggestions::to_owned`] (or the one-off [`Segment::search`])
//!   gives [`OwnedSuggestions`].
//!
//! The file format is specified in `docs/FORMAT.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "build")]
mod build;
#[cfg(feature = "build")]
mod delta;
mod error;
pub mod format;
#[cfg(feature = "build")]
mod fst_writer;
mod highlight;
mod marks;
mod normalize;
mod search;
mod segment;
mod stack;

#[cfg(feature = "build")]
pub use build::{
    BuildError, BuildOptions, BuiltSegment, SegmentBuilder, TopListOptions,
    DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PHRASE_BYTES, MAX_CATEGORIES, MAX_CATEGORIES_PER_ROW,
    MAX_CATEGORY_BYTES,
};
#[cfg(feature = "build")]
pub use delta::{compact, BlocklistBuilder, DeltaBuilder};
pub use error::{Error, Result};
pub use format::header::{Header, SectionRange};
pub use normalize::{normalize_phrase, normalize_query, NORMALIZER_ID, NORMALIZER_VERSION};
pub use search::{
    Fuzziness, OwnedSuggestion, OwnedSuggestions, Searcher, SuggestOptions, Suggestion,
    Suggestions, DEFAULT_K, DEFAULT_MAX_VISITS, MAX_ARENA, MAX_CANDIDATES, MAX_FUZZY_BYTES, MAX_K,
    MAX_QUERY_BYTES, MAX_QUERY_INPUT_BYTES, MAX_VISITS,
};
pub use segment::{Segment, SegmentInfo, SegmentKind};
pub use stack::{Searchable, Stack, MAX_DELTAS};
