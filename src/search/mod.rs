//! Exact top-k search: best-first over the FST with ranks as outputs, extended to typo
//! tolerance, word starts and category filters.
//!
//! Each key's FST output is its *cost*: its rank (0 = best: highest score, ties by key), plus
//! the suggestion count for word-start entries. The FST builder pushes the minimum output of
//! every subtree onto the transition leading into it, so the output accumulated on the way to a
//! node is the cheapest cost below it, and a best-first walk (see [`walk`]) yields matches in
//! exact cost order and stops after k.
//!
//! # Ranking
//!
//! Results are ordered by, in turn:
//! 1. the phrase equal to the whole query, when [`SuggestOptions::exact_first`] is on;
//! 2. fewer edits (an exact-prefix match has 0, so it always ranks above any fuzzy match);
//! 3. full-phrase prefix matches before word-start matches;
//! 4. higher score, then normalized key in byte order.
//!
//! A fuzzy query runs one pass per edit count (0, 1, … up to the allowed maximum) over the
//! FST intersected with the Levenshtein prefix automaton of the query for that many edits;
//! pass `e` skips the
//! suggestions already found with fewer edits, so every suggestion appears once with its
//! smallest edit count, and the passes stop as soon as k suggestions are found.

mod options;
mod walk;

use levenshtein_automata::{LevenshteinAutomatonBuilder, DFA};

use crate::error::{Error, Result};
use crate::normalize::{normalize_bounded, Trailing};
use crate::segment::{Segment, View};
pub use options::{
    Fuzziness, SuggestOptions, DEFAULT_K, DEFAULT_MAX_VISITS, MAX_FUZZY_BYTES, MAX_K,
    MAX_QUERY_BYTES, MAX_QUERY_INPUT_BYTES, MAX_VISITS,
};
pub use walk::{MAX_ARENA, MAX_CANDIDATES};

/// One suggestion, borrowing from the [`Searcher`] and the [`Segment`] that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suggestion<'a> {
    /// The display form: the most popular surface form of the phrase.
    pub text: &'a str,
    /// The normalized key of the phrase.
    pub key: &'a str,
    /// The (merged) score.
    pub score: u64,
    /// The position in the segment's ranking (0 = best).
    pub rank: u32,
    /// The JSON payload, if the phrase has one.
    pub payload: Option<&'a str>,
    /// The phrase's categories, comma-separated in byte order, if it has any.
    pub categories: Option<&'a str>,
    /// Edits (Damerau–Levenshtein, in characters) between the query and the matched prefix.
    pub edits: u8,
    /// True when the query matched at the start of a later word, not at the phrase start.
    pub word_start: bool,
    /// The byte range of [`Suggestion::key`] that the query matched.
    pub matched: (u32, u32),
}

/// A [`Suggestion`] that owns its strings (see [`Suggestions::to_owned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedSuggestion {
    /// The display form.
    pub text: String,
    /// The normalized key.
    pub key: String,
    /// The (merged) score.
    pub score: u64,
    /// The position in the segment's ranking (0 = best).
    pub rank: u32,
    /// The JSON payload, if any.
    pub payload: Option<String>,
    /// Comma-separated categories, if any.
    pub categories: Option<String>,
    /// Edits between the query and the matched prefix.
    pub edits: u8,
    /// Matched at a later word.
    pub word_start: bool,
    /// The byte range of the key that matched.
    pub matched: (u32, u32),
}

impl<'a> Suggestion<'a> {
    /// The byte range of [`Suggestion::text`] that the query matched, found by mapping
    /// [`Suggestion::matched`] back through the normalizer's folding.
    pub fn highlight(&self) -> std::ops::Range<usize> {
        crate::highlight::key_range_span(
            self.text,
            self.matched.0 as usize..self.matched.1 as usize,
        )
    }

    /// [`Suggestion::highlight`] in UTF-16 code units, for JavaScript.
    pub fn highlight_utf16(&self) -> (u32, u32) {
        crate::highlight::utf16_range(self.text, self.highlight())
    }

    /// The categories as a list.
    pub fn category_list(&self) -> impl Iterator<Item = &'a str> {
        split_categories(self.categories)
    }

    /// Copies the strings out.
    pub fn to_owned(&self) -> OwnedSuggestion {
        OwnedSuggestion {
            text: self.text.to_owned(),
            key: self.key.to_owned(),
            score: self.score,
            rank: self.rank,
            payload: self.payload.map(str::to_owned),
            categories: self.categories.map(str::to_owned),
            edits: self.edits,
            word_start: self.word_start,
            matched: self.matched,
        }
    }
}

/// The names in a comma-separated category list. A free function, not a closure in the method:
/// the iterator then borrows only the list, not the [`Suggestion`] it came from.
fn split_categories(list: Option<&str>) -> impl Iterator<Item = &str> {
    list.unwrap_or("").split(',').filter(|c| !c.is_empty())
}

/// The answer to one query, borrowing from the [`Searcher`] and the [`Segment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestions<'a> {
    /// The suggestions, best first (see the module docs for the ranking).
    pub items: Vec<Suggestion<'a>>,
    /// True when the work budget ([`SuggestOptions::max_visits`]) cut the search short: the
    /// items are the best found, possibly fewer than asked for.
    pub truncated: bool,
}

impl Suggestions<'_> {
    /// Copies the answer out, to keep it past the next query.
    pub fn to_owned(&self) -> OwnedSuggestions {
        OwnedSuggestions {
            items: self.items.iter().map(Suggestion::to_owned).collect(),
            truncated: self.truncated,
        }
    }
}

/// [`Suggestions`] that own their strings: what [`Segment::search`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedSuggestions {
    /// The suggestions, best first.
    pub items: Vec<OwnedSuggestion>,
    /// True when the work budget cut the search short.
    pub truncated: bool,
}

/// The length in bytes of the part of a normalized query matched exactly when typos are
/// allowed: its first `prefix_length` characters, and every character before the last
/// [`MAX_FUZZY_BYTES`] bytes (whole characters); the automaton covers the rest.
fn exact_part(query: &str, prefix_length: usize) -> usize {
    let leading = query
        .char_indices()
        .nth(prefix_length)
        .map_or(query.len(), |(i, _)| i);
    let mut tail_start = query.len().saturating_sub(MAX_FUZZY_BYTES);
    while !query.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    leading.max(tail_start)
}

impl<D: AsRef<[u8]>> Segment<D> {
    /// [`Searcher::search`] with a fresh [`Searcher`], the answer copied out. For one-off
    /// queries and tests; to answer many, keep one [`Searcher`]: it reuses its buffers.
    ///
    /// ```
    /// use edgesuggest::{Segment, SegmentBuilder, SuggestOptions};
    ///
    /// let mut builder = SegmentBuilder::new();
    /// builder.add("Paris", 2_100_000)?;
    /// builder.add("Parma", 195_000)?;
    /// let segment = Segment::load(builder.finish()?.bytes)?;
    /// let found = segment.search("par", &SuggestOptions::with_k(1))?;
    /// assert_eq!(found.items[0].text, "Paris");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn search(&self, query: &str, options: &SuggestOptions) -> Result<OwnedSuggestions> {
        Ok(Searcher::new().search(self, query, options)?.to_owned())
    }
}

/// A match found by a walk, before its strings are looked up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub(crate) cost: u64,
    pub(crate) rank: u32,
    /// The full key in [`Searcher::keys`].
    pub(crate) key_start: u32,
    pub(crate) key_end: u32,
    pub(crate) edits: u8,
    /// Byte offset of the matched word in the key (0 for a full-phrase match).
    pub(crate) word_start: u32,
    /// End of the matched span in the key.
    pub(crate) match_end: u32,
}

/// Levenshtein automaton builders, made once per [`Searcher`] (building one costs far more
/// than a query) and only when a fuzzy query needs them.
#[derive(Default)]
struct Automata {
    builders: [Option<LevenshteinAutomatonBuilder>; Fuzziness::MAX_EDITS as usize],
}

impl Automata {
    fn prefix_dfa(&mut self, max_edits: u8, query: &str) -> DFA {
        let slot = &mut self.builders[usize::from(max_edits - 1)];
        slot.get_or_insert_with(|| LevenshteinAutomatonBuilder::new(max_edits, true))
            .build_prefix_dfa(query)
    }
}

impl std::fmt::Debug for Automata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let built: Vec<bool> = self.builders.iter().map(Option::is_some).collect();
        f.debug_struct("Automata").field("built", &built).finish()
    }
}

impl Clone for Automata {
    /// A clone starts without builders; they are rebuilt on first use.
    fn clone(&self) -> Self {
        Automata::default()
    }
}

/// Reusable search state: keep one per thread (or per wasm instance) and call
/// [`Searcher::search`] for each query. No allocation happens per visited node, and none at
/// all per plain query once the buffers have grown to the largest query seen.
#[derive(Debug, Default, Clone)]
pub struct Searcher {
    query: String,
    walk: walk::WalkState,
    /// Keys of found suggestions, concatenated.
    keys: String,
    /// Results so far, best first.
    hits: Vec<Hit>,
    /// Matches of the current pass, from every searched FST.
    pass_hits: Vec<Hit>,
    automata: Automata,
}

impl Searcher {
    /// A searcher with empty buffers.
    pub fn new() -> Searcher {
        Searcher::default()
    }

    /// The normalized form of the last query searched.
    pub fn normalized_query(&self) -> &str {
        &self.query
    }

    /// The best `options.k` suggestions for `query`, ranked as the module docs describe.
    ///
    /// An empty (or all-whitespace) query matches everything. Errors on options or a query
    /// beyond the engine's limits ([`SuggestOptions::validate`], [`MAX_QUERY_INPUT_BYTES`],
    /// [`MAX_QUERY_BYTES`]) and on a corrupt segment. Memory per query is bounded whatever the
    /// segment and the query (see [`MAX_CANDIDATES`]); buffers grown by an outlier are
    /// released by the next query.
    pub fn search<'a, D: AsRef<[u8]>>(
        &'a mut self,
        segment: &'a Segment<D>,
        query: &str,
        options: &SuggestOptions,
    ) -> Result<Suggestions<'a>> {
        let view = segment.view()?;
        options.validate()?;
        self.set_query(query)?;
        self.keys.clear();
        self.hits.clear();
        self.shrink_outliers();
        self.walk.start_query(options.max_visits);
        if options.k > 0 {
            let query = std::mem::take(&mut self.query);
            let found = self.find(&view, &query, options);
            self.query = query;
            found?;
        }
        let items = self.resolve(&view)?;
        Ok(Suggestions {
            items,
            truncated: self.walk.truncated(),
        })
    }

    /// Normalizes `query` into `self.query`, within the length limits.
    fn set_query(&mut self, query: &str) -> Result<()> {
        let refused = if query.len() > MAX_QUERY_INPUT_BYTES {
            ("the query", MAX_QUERY_INPUT_BYTES)
        } else if !normalize_bounded(
            query,
            &mut self.query,
            Trailing::KeepOneSpace,
            MAX_QUERY_BYTES,
        ) {
            ("the normalized query", MAX_QUERY_BYTES)
        } else {
            return Ok(());
        };
        self.query.clear();
        Err(Error::QueryTooLong {
            what: refused.0,
            max: refused.1,
        })
    }

    /// Releases what one outlier query grew: the answer buffers hold at most [`MAX_K`] keys
    /// and hits, and the walk's own buffers shrink in [`walk::WalkState::start_query`].
    fn shrink_outliers(&mut self) {
        const KEEP_KEY_BYTES: usize = 64 * 1024;
        const KEEP_HITS: usize = 4 * MAX_K;
        self.keys.shrink_to(KEEP_KEY_BYTES);
        self.hits.shrink_to(KEEP_HITS);
        self.pass_hits.shrink_to(KEEP_HITS);
    }

    /// Looks up the strings and score of every hit.
    fn resolve<'a>(&'a self, view: &View<'a>) -> Result<Vec<Suggestion<'a>>> {
        let mut items = Vec::with_capacity(self.hits.len());
        for hit in &self.hits {
            let key = self
                .keys
                .get(hit.key_start as usize..hit.key_end as usize)
                .ok_or_else(|| Error::corrupt("fst", "a key is not valid UTF-8"))?;
            items.push(Suggestion {
                text: view.display(hit.rank)?.unwrap_or(key),
                key,
                score: view.score(hit.rank)?,
                rank: hit.rank,
                payload: view.payload(hit.rank)?,
                categories: view.categories_of(hit.rank)?,
                edits: hit.edits,
                word_start: hit.word_start > 0,
                matched: (hit.word_start, hit.match_end),
            });
        }
        Ok(items)
    }

    /// Fills `hits`: the exact phrase (when asked for), then one pass per edit count.
    fn find(&mut self, view: &View<'_>, query: &str, options: &SuggestOptions) -> Result<()> {
        // The FSTs to search: the main one, or one per requested category. No allocation for
        // the unfiltered case: this runs on every keystroke.
        let filtered;
        let sources: &[fst::raw::Fst<&[u8]>] = if options.categories.is_empty() {
            std::slice::from_ref(view.fst())
        } else {
            filtered = category_fsts(view, &options.categories)?;
            if filtered.is_empty() {
                return Ok(());
            }
            &filtered
        };
        if options.exact_first {
            self.exact_phrase(view, query, options)?;
        }
        let exact_len = exact_part(query, options.prefix_length);
        let max_edits = if exact_len == query.len() {
            0
        } else {
            options.fuzzy.max_edits(query.chars().count())
        };
        for edits in 0..=max_edits {
            if self.hits.len() >= options.k || self.walk.truncated() {
                break;
            }
            self.pass(view, sources, query, exact_len, edits, options.k)?;
        }
        Ok(())
    }

    /// One pass: the best `k - found` matches with exactly `edits` edits, from every source.
    fn pass(
        &mut self,
        view: &View<'_>,
        sources: &[fst::raw::Fst<&[u8]>],
        query: &str,
        exact_len: usize,
        edits: u8,
        k: usize,
    ) -> Result<()> {
        let need = k - self.hits.len();
        // Pass `edits` uses an automaton of exactly that many edits: a smaller one for the
        // early passes keeps them from wandering where only later passes can match.
        let dfa = (edits > 0).then(|| self.automata.prefix_dfa(edits, &query[exact_len..]));
        let (exact, automaton) = match &dfa {
            None => (query, None),
            Some(dfa) => (&query[..exact_len], Some((dfa, edits))),
        };
        self.pass_hits.clear();
        for fst in sources {
            self.walk.walk(walk::Walk {
                fst,
                exact,
                automaton,
                count: view.count(),
                word_starts: view.word_starts(),
                need,
                found: &self.hits,
                keys: &mut self.keys,
                out: &mut self.pass_hits,
            })?;
        }
        // Several category FSTs can find the same suggestion: merge by cost, keep one.
        if sources.len() > 1 {
            self.pass_hits.sort_unstable_by_key(|h| h.cost);
            self.pass_hits.dedup_by_key(|h| h.rank);
        }
        self.pass_hits.truncate(need);
        for hit in &mut self.pass_hits {
            hit.edits = edits;
        }
        self.hits.extend_from_slice(&self.pass_hits);
        Ok(())
    }

    /// Puts the suggestion whose key equals the whole query first, if there is one (and it is
    /// in a requested category).
    fn exact_phrase(
        &mut self,
        view: &View<'_>,
        query: &str,
        options: &SuggestOptions,
    ) -> Result<()> {
        // The normalized query as typed: "paris " asks for more words, so "Paris" is not it.
        if query.is_empty() {
            return Ok(());
        }
        let Some(output) = view.fst().get(query.as_bytes()) else {
            return Ok(());
        };
        let rank = u32::try_from(output.value())
            .ok()
            .filter(|&r| u64::from(r) < view.count())
            .ok_or_else(|| Error::corrupt("fst", "a key's rank is out of range"))?;
        if !options.categories.is_empty() {
            let mine = view.categories_of(rank)?;
            if !split_categories(mine).any(|c| options.categories.iter().any(|w| w == c)) {
                return Ok(());
            }
        }
        let key_start = self.keys.len() as u32;
        self.keys.push_str(query);
        self.hits.push(Hit {
            cost: u64::from(rank),
            rank,
            key_start,
            key_end: self.keys.len() as u32,
            edits: 0,
            word_start: 0,
            match_end: query.len() as u32,
        });
        Ok(())
    }
}

/// The FSTs of the requested categories that the segment has.
fn category_fsts<'a>(view: &View<'a>, names: &[String]) -> Result<Vec<fst::raw::Fst<&'a [u8]>>> {
    let mut found = Vec::with_capacity(names.len());
    for name in names {
        if let Some(fst) = view.category_fst(name)? {
            found.push(fst);
        }
    }
    Ok(found)
}
