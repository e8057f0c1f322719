//! Synthetic search logs in the event schema (`docs/EVENTS.md`): users typing prefixes,
//! seeing suggestion lists, clicking with a position bias and committing searches, with the
//! noise real logs have. Deterministic from a seed. The binary `edgesuggest-loggen` wraps it.

pub mod model;
pub mod output;
pub mod phrases;

/// The phrases used when none are given: the repository's bundled `data/cities-10k.tsv`
/// (`name<TAB>population<TAB>...`).
pub const BUNDLED_PHRASES: &str = include_str!("../../../data/cities-10k.tsv");
