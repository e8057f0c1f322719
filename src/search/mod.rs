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
//! A phrase that matches at several later words with its fewest edits reports the leftmost
//! of them (see [`Suggestion::matched`]).
//!
//! A fuzzy query runs one pass per edit count (0, 1, … up to the allowed maximum) over the
//! FST intersected with the Levenshtein prefix automaton of the query for that many edits
//! (natively, the pass of one edit starts from the paths within one edit instead, found by
//! look-ups: see `walk::one_edit`); pass `e` skips the
//! suggestions already found with fewer edits, so every suggestion appears once with its
//! smallest edit count, and the passes stop as soon as k suggestions are found.

mod automaton;
mod merged;
mod options;
mod runs;
mod top;
mod walk;

pub(crate) use merged::MergedLists;
pub(crate) use runs::DeltaRuns;
pub(crate) use top::{check_top_lists, LongLists};
use walk::Typos;
#[cfg(feature = "build")]
pub(crate) use {
    top::{List, Over, Walker},
    walk::{follow_exact, is_final},
};

use automaton::{Dfa, Parametric};

use crate::error::{Error, Result};
use crate::format::bytes::{utf8, utf8_or_empty};
use crate::format::strings::Stored;
use crate::normalize::{normalize_bounded, Trailing};
use crate::segment::{Segment, View};
use crate::stack::{Layers, Searchable};
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
    /// The position in its segment's ranking (0 = best).
    pub rank: u32,
    /// The segment that answered: 0 for the base (or a lone segment), `i` for the `i`-th
    /// delta of a [`crate::Stack`].
    pub segment: u32,
    /// The JSON payload, if the phrase has one.
    pub payload: Option<&'a str>,
    /// The phrase's categories, comma-separated in byte order, if it has any.
    pub categories: Option<&'a str>,
    /// Edits (Damerau–Levenshtein, in characters) between the query and the matched prefix.
    pub edits: u8,
    /// True when the query matched at the start of a later word, not at the phrase start.
    pub word_start: bool,
    /// The byte range of [`Suggestion::key`] that the query matched: from the phrase start or
    /// the leftmost later word where it matches with [`Suggestion::edits`], to where it is
    /// first within them.
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
    /// The position in its segment's ranking (0 = best).
    pub rank: u32,
    /// The segment that answered (0 = the base).
    pub segment: u32,
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
            segment: self.segment,
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
    pub(crate) rank: u32,
    /// The layer of the stack it came from (0 = the base).
    pub(crate) layer: u32,
    pub(crate) score: u64,
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
    builders: [Option<Parametric>; Fuzziness::MAX_EDITS as usize],
    /// Tests set this to walk every typo pass with an automaton, the look-ups' oracle.
    #[cfg(all(test, not(feature = "lean")))]
    always: bool,
    /// Tests set this to expand a typo pass's fuzzy candidates best first, as WebAssembly
    /// builds do: the depth-first expansion's oracle.
    #[cfg(all(test, not(any(feature = "lean", target_family = "wasm"))))]
    best_first: bool,
}

impl Automata {
    fn prefix_dfa(&mut self, max_edits: u8, query: &str) -> Dfa {
        let slot = &mut self.builders[usize::from(max_edits - 1)];
        slot.get_or_insert_with(|| Parametric::new(max_edits))
            .prefix_dfa(query)
    }

    /// Whether every typo pass takes an automaton (see [`Automata::always`]).
    #[cfg(not(any(feature = "lean", target_family = "wasm")))]
    fn always(&self) -> bool {
        #[cfg(test)]
        return self.always;
        #[cfg(not(test))]
        false
    }
}

impl Searcher {
    /// Makes every typo pass walk with an automaton, as WebAssembly builds do: the one-edit
    /// look-ups' oracle in tests.
    #[cfg(all(test, not(feature = "lean")))]
    pub(crate) fn always_automaton(&mut self) {
        self.automata.always = true;
    }

    /// Makes typo passes expand their fuzzy candidates best first, as WebAssembly builds do:
    /// the oracle of the depth-first expansion in tests.
    #[cfg(all(test, not(any(feature = "lean", target_family = "wasm"))))]
    pub(crate) fn best_first_typos(&mut self) {
        self.automata.best_first = true;
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
/// all per plain query on one segment once the buffers have grown to the largest query seen.
#[derive(Debug, Default, Clone)]
pub struct Searcher {
    query: String,
    /// One resumable walk per searched FST (per segment, per requested category).
    streams: Vec<walk::WalkState>,
    /// Each stream's next match, during a pass.
    heads: Vec<Head>,
    /// Each stream's top list, while the stream takes its matches from it.
    listed: Vec<top::Listed>,
    budget: walk::Budget,
    /// Keys of found suggestions, concatenated: checked as UTF-8 once, when the answer is
    /// made (see [`Searcher::resolve`]), not once a match.
    keys: Vec<u8>,
    /// The same bytes with each key whose display form is marked as a title title-cased in
    /// place (empty when no hit's is): such a form is where its key is.
    titles: Vec<u8>,
    /// The display forms stored for found suggestions, concatenated: checked as UTF-8 once
    /// (see [`Searcher::resolve`]).
    shown: Vec<u8>,
    /// Results so far, best first.
    hits: Vec<Hit>,
    /// Where each hit's display text is, once the hits are found.
    texts: Vec<Text>,
    /// Where each stored display form is in [`Searcher::shown`], in the order of the hits.
    spans: Vec<(u32, u32)>,
    /// Where the whole query led in the base's main FST, when the exact-phrase look-up
    /// followed it (its length, and the node's address and cost): the plain pass starts
    /// from there instead of following the query again.
    followed: Option<(usize, Option<(usize, u64)>)>,
    automata: Automata,
}

/// Where a hit's display text is.
#[derive(Debug, Clone, Copy)]
enum Text {
    /// Its key.
    Key,
    /// Its key title-cased, in [`Searcher::titles`].
    Title,
    /// A form stored in its segment.
    Stored(Stored),
}

/// Where a stream's next match can rank at best: a word start or not, then its score at
/// most (see [`order_bound`]).
type RankBound = (bool, std::cmp::Reverse<u64>);

/// A stream's next match during a merge.
#[derive(Debug, Clone, Copy)]
enum Head {
    /// Not pulled yet: its next match ranks no better than this bound (`None`: unknown).
    Refill(Option<RankBound>),
    Ready(Hit),
    /// The stream has no more matches.
    Done,
}

/// One searched FST and the layer it belongs to.
#[derive(Clone)]
struct Stream<'a> {
    layer: usize,
    fst: fst::raw::Fst<&'a [u8]>,
    /// Which category's FST it is, or [`MAIN`] for the layer's main one: whose top lists
    /// describe it.
    category: u32,
    /// The layer's main FST when `fst` holds a category's cuts (format v9): the walk goes on
    /// in it below each cut.
    main: Option<fst::raw::Fst<&'a [u8]>>,
}

/// [`Stream::category`] of a layer's main FST.
const MAIN: u32 = u32::MAX;

impl Stream<'_> {
    /// Whether it is the layer's main FST (not a category's).
    fn main(&self) -> bool {
        self.category == MAIN
    }
}

/// Refusals a bounded walk makes room for up front where some are likely.
const REFUSAL_ROOM: usize = 2;

/// Stream states kept between queries: a query over a long stack or many categories makes
/// more, and the next query releases them.
const KEEP_STREAMS: usize = 8;

impl Searcher {
    /// A searcher with empty buffers.
    pub fn new() -> Searcher {
        Searcher::default()
    }

    /// The normalized form of the last query searched.
    pub fn normalized_query(&self) -> &str {
        &self.query
    }

    /// The best `options.k` suggestions for `query` from a [`Segment`] or a [`crate::Stack`],
    /// ranked as the module docs describe.
    ///
    /// An empty (or all-whitespace) query matches everything. Errors on options or a query
    /// beyond the engine's limits ([`SuggestOptions::validate`], [`MAX_QUERY_INPUT_BYTES`],
    /// [`MAX_QUERY_BYTES`]) and on a corrupt segment. Memory per query is bounded whatever the
    /// segments and the query (see [`MAX_CANDIDATES`]); buffers grown by an outlier are
    /// released by the next query.
    pub fn search<'a, S: Searchable + ?Sized>(
        &'a mut self,
        source: &'a S,
        query: &str,
        options: &SuggestOptions,
    ) -> Result<Suggestions<'a>> {
        let layers = crate::stack::sealed::Source::layers(source)?;
        options.validate()?;
        self.set_query(query)?;
        self.keys.clear();
        self.hits.clear();
        self.followed = None;
        self.shrink_outliers();
        self.budget = walk::Budget::new(options.max_visits);
        if options.k > 0 {
            let query = std::mem::take(&mut self.query);
            let found = self.find(&layers, &query, options);
            self.query = query;
            found?;
        }
        self.locate_texts(&layers)?;
        self.gather_shown(&layers)?;
        let items = self.resolve(&layers)?;
        Ok(Suggestions {
            items,
            truncated: self.budget.truncated(),
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
    /// and hits, and the walks keep a share of [`walk`]'s small capacities.
    fn shrink_outliers(&mut self) {
        const KEEP_KEY_BYTES: usize = 64 * 1024;
        const KEEP_HITS: usize = 4 * MAX_K;
        self.keys.shrink_to(KEEP_KEY_BYTES);
        self.titles.shrink_to(KEEP_KEY_BYTES);
        self.shown.shrink_to(KEEP_KEY_BYTES);
        self.hits.shrink_to(KEEP_HITS);
        self.texts.shrink_to(KEEP_HITS);
        self.spans.shrink_to(KEEP_HITS);
        self.streams.truncate(KEEP_STREAMS);
        self.streams.shrink_to(KEEP_STREAMS);
        self.heads.truncate(KEEP_STREAMS);
        self.heads.shrink_to(KEEP_STREAMS);
        self.listed.truncate(KEEP_STREAMS);
        self.listed.shrink_to(KEEP_STREAMS);
        for stream in &mut self.streams {
            stream.start_query(usize::MAX);
        }
    }

    /// Finds where every hit's display text is before any stored form is read: the forms of
    /// a large table lie in cold memory, and found one after the other, each one's misses
    /// waited for the last one's.
    fn locate_texts(&mut self, layers: &Layers<'_>) -> Result<()> {
        self.texts.clear();
        let views = layers.views();
        for hit in &self.hits {
            let view = &views[hit.layer as usize];
            let text = match view.is_title(hit.rank)? {
                true => Text::Title,
                false => view
                    .locate_display(hit.rank)?
                    .map_or(Text::Key, Text::Stored),
            };
            self.texts.push(text);
        }
        Ok(())
    }

    /// Fills [`Searcher::titles`] and [`Searcher::shown`], copied unchecked: the keys with
    /// those whose display form is marked as a title title-cased in place (when any is), and
    /// each stored display form one after the other (where [`Searcher::spans`] says). A
    /// stored form (a few dozen bytes, most often) checked on its own costs a call and a
    /// byte-at-a-time check; all of them at once cost one check that takes whole words.
    fn gather_shown(&mut self, layers: &Layers<'_>) -> Result<()> {
        self.titles.clear();
        self.shown.clear();
        self.spans.clear();
        let views = layers.views();
        for (hit, &text) in self.hits.iter().zip(&self.texts) {
            match text {
                Text::Key => {}
                Text::Title => {
                    if self.titles.is_empty() {
                        self.titles.extend_from_slice(&self.keys);
                    }
                    let key = hit.key_start as usize..hit.key_end as usize;
                    if let Some(text) = self.titles.get_mut(key) {
                        crate::format::titles::title_case(text);
                    }
                }
                Text::Stored(stored) => {
                    let start = self.shown.len() as u32;
                    let raw = views[hit.layer as usize].display_bytes(stored)?;
                    self.shown.extend_from_slice(raw);
                    self.spans.push((start, self.shown.len() as u32));
                }
            }
        }
        Ok(())
    }

    /// Looks up the strings of every hit. The keys and the display forms are checked as
    /// UTF-8 here, each buffer at once: the walk appends each match's key unchecked, and
    /// [`Searcher::gather_shown`] each display form. A slice of a checked buffer whose ends
    /// are character boundaries is UTF-8; a piece that is not UTF-8 on its own cannot have
    /// both ends on boundaries of a whole that is, so `str::get` refuses it.
    fn resolve<'a>(&'a self, layers: &Layers<'a>) -> Result<Vec<Suggestion<'a>>> {
        let views = layers.views();
        let keys = utf8(&self.keys).ok_or_else(Error::key_not_utf8)?;
        // Only ASCII letters of the keys changed, so this holds when they do.
        let titles = utf8_or_empty(&self.titles).ok_or_else(Error::key_not_utf8)?;
        let shown = utf8_or_empty(&self.shown);
        let mut spans = self.spans.iter();
        let mut items = Vec::with_capacity(self.hits.len());
        for (hit, &place) in self.hits.iter().zip(&self.texts) {
            let range = hit.key_start as usize..hit.key_end as usize;
            let key = keys.get(range.clone()).ok_or_else(Error::key_not_utf8)?;
            let view = &views[hit.layer as usize];
            let text = match place {
                Text::Key => key,
                Text::Title => titles.get(range).unwrap_or(key),
                Text::Stored(stored) => {
                    let span = spans.next().map_or(0..0, |&(a, b)| a as usize..b as usize);
                    match shown.and_then(|s| s.get(span)) {
                        Some(text) => text,
                        // Its own check says which entry is not UTF-8.
                        None => view.display_text(stored)?,
                    }
                }
            };
            items.push(Suggestion {
                text,
                key,
                score: hit.score,
                rank: hit.rank,
                segment: hit.layer,
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
    fn find(&mut self, layers: &Layers<'_>, query: &str, options: &SuggestOptions) -> Result<()> {
        // No allocation for the most common query, one segment without a filter: it runs on
        // every keystroke.
        let one;
        let many;
        let (streams, plain): (&[Stream<'_>], usize) = match layers.views() {
            [view] if options.categories.is_empty() => {
                one = [Stream {
                    layer: 0,
                    fst: view.fst().clone(),
                    category: MAIN,
                    main: None,
                }];
                (&one, 1)
            }
            _ => {
                many = streams_of(layers, &options.categories)?;
                (&many.0, many.1)
            }
        };
        if streams.is_empty() {
            return Ok(());
        }
        if options.exact_first {
            self.exact_phrase(layers, query, options)?;
        }
        let exact_len = exact_part(query, options.prefix_length);
        let max_edits = if exact_len == query.len() {
            0
        } else {
            options.fuzzy.max_edits(query.chars().count())
        };
        self.prepare_streams(streams.len());
        #[cfg(not(target_family = "wasm"))]
        let merged = match options.categories.is_empty() && options.k <= merged::MERGED_LEN {
            true => layers.merged_list(query),
            false => None,
        };
        for edits in 0..=max_edits {
            if self.hits.len() >= options.k || self.budget.truncated() {
                break;
            }
            #[cfg(not(target_family = "wasm"))]
            if let (0, Some((list, keys))) = (edits, merged) {
                self.take_merged(list, keys, options.k);
                continue;
            }
            let walked = if edits == 0 {
                &streams[..plain]
            } else {
                streams
            };
            self.pass(layers, walked, query, exact_len, edits, options.k)?;
        }
        Ok(())
    }

    /// One walk state per stream, each keeping its share of the candidates between queries.
    fn prepare_streams(&mut self, streams: usize) {
        let per_stream = walk::KEEP_CANDIDATES / streams.max(1);
        if self.streams.len() < streams {
            self.streams.resize_with(streams, Default::default);
        }
        for stream in self.streams.iter_mut().skip(1) {
            stream.start_query(per_stream);
        }
        #[cfg(all(test, not(any(feature = "lean", target_family = "wasm"))))]
        for stream in &mut self.streams {
            stream.best_first = self.automata.best_first;
        }
    }

    /// One pass: the best matches with exactly `edits` edits until `k` are found, merging
    /// every stream's matches in rank order.
    fn pass(
        &mut self,
        layers: &Layers<'_>,
        streams: &[Stream<'_>],
        query: &str,
        exact_len: usize,
        edits: u8,
        k: usize,
    ) -> Result<()> {
        // Pass `edits` uses an automaton of exactly that many edits: a smaller one for the
        // early passes keeps them from wandering where only later passes can match. A pass
        // of one edit finds its paths by look-ups instead, natively.
        let tail = &query[exact_len..];
        // Look-ups do not cross a category's cuts: walks over cuts take the automaton.
        #[cfg(not(any(feature = "lean", target_family = "wasm")))]
        let one =
            (edits == 1 && !self.automata.always() && !streams.iter().any(|s| s.main.is_some()))
                .then(|| walk::Tail::new(tail))
                .flatten();
        #[cfg(any(feature = "lean", target_family = "wasm"))]
        let one: Option<()> = None;
        let dfa = (edits > 0 && one.is_none()).then(|| self.automata.prefix_dfa(edits, tail));
        let typos = match (&dfa, &one) {
            (Some(dfa), _) => Some(automaton_typos(dfa, edits, tail)),
            #[cfg(not(any(feature = "lean", target_family = "wasm")))]
            (None, Some(tail)) => Some(Typos::One(tail)),
            _ => None,
        };
        let exact = match edits {
            0 => query,
            _ => &query[..exact_len],
        };
        self.begin_streams(layers, streams, exact, typos, k)?;
        if let Some(i) = self.lone_live_stream() {
            return self.drain_one(layers, (i, &streams[i]), (exact, typos), edits, k);
        }
        while self.hits.len() < k {
            let Some(i) = self.fill_heads(layers, streams, (exact, typos), k)? else {
                break;
            };
            let bound = self.bound_of(layers, &streams[i], i, streams.len())?;
            let Head::Ready(mut hit) = std::mem::replace(&mut self.heads[i], Head::Refill(bound))
            else {
                break;
            };
            // Two category FSTs of one segment can both hold a suggestion.
            if !self.is_found(hit.layer, hit.rank) {
                hit.edits = edits;
                leftmost_word(&mut hit, &self.keys, (exact, typos));
                self.hits.push(hit);
            }
        }
        Ok(())
    }

    /// The only stream of this pass that can hold a match, if all others certainly hold
    /// none (a lone segment, or a stack whose deltas hold nothing under the query's prefix):
    /// it needs no merge. Its own hits are still checked against the newer layers and the
    /// blocklist, which may decide keys of it without holding entries under the prefix
    /// (tombstones).
    #[cfg(not(feature = "lean"))]
    fn lone_live_stream(&self) -> Option<usize> {
        let heads = self.heads.len();
        let mut live = self.listed[..heads]
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.holds_none());
        match (live.next(), live.next()) {
            (Some((i, _)), None) => Some(i),
            (None, None) => Some(0),
            _ => None,
        }
    }

    /// The lone segment's stream. Lean builds merge every stack's streams: the worker bundle
    /// has no room for the check.
    #[cfg(feature = "lean")]
    fn lone_live_stream(&self) -> Option<usize> {
        (self.heads.len() == 1).then_some(0)
    }

    /// A pass over the single stream `(i, stream)`: no merge, its matches in order until `k`.
    fn drain_one(
        &mut self,
        layers: &Layers<'_>,
        (i, stream): (usize, &Stream<'_>),
        query: (&str, Option<Typos<'_>>),
        edits: u8,
        k: usize,
    ) -> Result<()> {
        while self.hits.len() < k {
            let Head::Ready(mut hit) = self.pull(layers, stream, i, query, k)? else {
                break;
            };
            hit.edits = edits;
            leftmost_word(&mut hit, &self.keys, query);
            self.hits.push(hit);
        }
        Ok(())
    }

    /// Pulls the streams whose next match could rank before the best one already pulled: a
    /// stream's pending candidates bound its next match (their cost is the cheapest below
    /// them, which gives its score), so a segment whose best remaining suggestions rank lower
    /// than another's next one is not walked yet. Each round pulls the stream with the least
    /// bound, until the best pulled match ranks first; returns that stream (`None` when no
    /// stream has a match left or the budget ran out).
    fn fill_heads(
        &mut self,
        layers: &Layers<'_>,
        streams: &[Stream<'_>],
        query: (&str, Option<Typos<'_>>),
        k: usize,
    ) -> Result<Option<usize>> {
        loop {
            let best = best_head(&self.heads, &self.keys);
            let ready = best.and_then(|i| match self.heads[i] {
                Head::Ready(hit) => Some((hit.word_start > 0, std::cmp::Reverse(hit.score))),
                _ => None,
            });
            let Some((i, bound)) = self.least_bound() else {
                return Ok(best);
            };
            if matches!((bound, ready), (Some(b), Some(r)) if b > r) {
                return Ok(best);
            }
            self.heads[i] = self.pull(layers, &streams[i], i, query, k)?;
            if self.budget.truncated() {
                return Ok(None);
            }
        }
    }

    /// Among the streams to refill, the one whose next match can rank first, with its bound
    /// (`None` when unknown: such a stream is pulled first).
    fn least_bound(&self) -> Option<(usize, Option<RankBound>)> {
        let mut least: Option<(usize, Option<RankBound>)> = None;
        for (i, head) in self.heads.iter().enumerate() {
            let Head::Refill(bound) = *head else {
                continue;
            };
            let better = match (least, bound) {
                (None, _) => true,
                (Some((_, None)), _) => false,
                (Some(_), None) => true,
                (Some((_, Some(held))), Some(b)) => b < held,
            };
            if better {
                least = Some((i, bound));
            }
        }
        least
    }

    /// The bound of stream `i`'s next match, from its cheapest pending candidate; none when
    /// it is the only stream (nothing to compare with) or nothing is pending.
    fn bound_of(
        &self,
        layers: &Layers<'_>,
        stream: &Stream<'_>,
        i: usize,
        streams: usize,
    ) -> Result<Option<RankBound>> {
        if streams == 1 {
            return Ok(None);
        }
        if self.listed[i].in_run() {
            let parts = self.listed[i].parts();
            return Ok(layers.runs().and_then(|runs| runs.bound(parts)));
        }
        let next = match self.listed[i].active() {
            true => self.listed[i].next_cost(),
            false => self.streams[i].next_cost_bound(),
        };
        match next {
            None => Ok(None),
            Some(cost) => order_bound(&layers.views()[stream.layer], cost),
        }
    }

    /// Positions every stream for a pass.
    fn begin_streams(
        &mut self,
        layers: &Layers<'_>,
        streams: &[Stream<'_>],
        exact: &str,
        typos: Option<Typos<'_>>,
        k: usize,
    ) -> Result<()> {
        let views = layers.views();
        let found = self.hits.len();
        let repeats = streams.len() > views.len() || views.iter().any(|v| v.word_starts());
        self.heads.clear();
        self.heads.resize(streams.len(), Head::Refill(None));
        self.list_streams(layers, streams, exact, typos.is_none())?;
        for ((state, stream), listed) in self.streams.iter_mut().zip(streams).zip(&self.listed) {
            if listed.active() {
                continue;
            }
            let start = listed.start();
            let view = &views[stream.layer];
            // Every accepted candidate holds a match, so their list can be bounded; when
            // hidden keys, repeats (word starts, several category FSTs of one segment) or
            // earlier results are refused, `pull` restarts it wider. A fuzzy candidate may
            // hold no match at all: typo walks keep every one of those.
            // A little room for refusals where they are likely (newer segments, a blocklist,
            // word-start repeats, sibling category FSTs): a wider list costs every query, a
            // restart only the few that meet more refusals.
            let refusals_likely = layers.can_hide(stream.layer) || repeats;
            let room = if refusals_likely {
                REFUSAL_ROOM.min(k - found)
            } else {
                0
            };
            let bound = walk::Bound {
                need: k - found,
                skippable: found + room,
            };
            #[cfg(not(feature = "lean"))]
            let main_start = match stream.main {
                Some(_) => top::main_followed(self.followed, stream, exact),
                None => None,
            };
            let walk = walk::Walk {
                fst: &stream.fst,
                main: stream.main.as_ref(),
                exact,
                typos,
                count: view.count(),
                layer: stream.layer as u32,
                keys: &mut self.keys,
                start,
                #[cfg(not(feature = "lean"))]
                main_start,
            };
            state.begin(&walk, &mut self.budget, Some(bound))?;
        }
        for (i, stream) in streams.iter().enumerate() {
            self.heads[i] = Head::Refill(self.bound_of(layers, stream, i, streams.len())?);
        }
        Ok(())
    }

    /// The next match of stream `i` that is neither found already nor hidden by a newer
    /// layer or the blocklist.
    ///
    /// Inlined (with the list's `take` and `offer`): returned through memory, each match
    /// was stored field by field and read back whole, a stalled load per match that took a
    /// quarter of a listed query's time. Lean builds (the worker's) keep one copy: its module
    /// is counted in bytes, and it answers from no list.
    #[cfg_attr(not(feature = "lean"), inline(always))]
    fn pull(
        &mut self,
        layers: &Layers<'_>,
        stream: &Stream<'_>,
        i: usize,
        (exact, typos): (&str, Option<Typos<'_>>),
        k: usize,
    ) -> Result<Head> {
        let view = &layers.views()[stream.layer];
        let layer = stream.layer as u32;
        let hits = &self.hits;
        // A hit's own layer: a run over several deltas gives hits of each.
        let mut accept = |hit: &Hit, key: &[u8]| {
            let at = hit.layer as usize;
            let found = hits
                .iter()
                .any(|h| h.layer == hit.layer && h.rank == hit.rank);
            let hidden = layers.can_hide(at) && layers.hides(at, hit.rank, key);
            !found && !hidden
        };
        if self.listed[i].active() {
            let listed = &mut self.listed[i];
            let at = (layer, exact);
            if let Some(hit) =
                listed.take(layers, at, &mut self.keys, &mut self.budget, &mut accept)?
            {
                return Ok(Head::Ready(hit));
            }
            if self.listed[i].in_run() {
                // The run held every match the stream has.
                return Ok(Head::Done);
            }
            // The list ran out: the walk goes on from after it.
            let start = self.listed[i].start();
            let taken = self.listed[i].finish();
            let mut walk = walk_of(stream, exact, typos, view, &mut self.keys);
            walk.start = start;
            self.streams[i].begin(&walk, &mut self.budget, None)?;
            self.streams[i].skip_first(taken);
        }
        let mut walk = walk_of(stream, exact, typos, view, &mut self.keys);
        walk.start = self.listed[i].start();
        let state = &mut self.streams[i];
        let next = loop {
            let next = state.next(&mut walk, &mut self.budget, &mut accept)?;
            if next.is_some() || !state.dropped() || self.budget.truncated() {
                break next;
            }
            // It ran out after dropping candidates for matches that were then refused:
            // again, keeping more. What it returned before is in `hits`, refused as found.
            let bound = state.wider_bound(k.saturating_sub(hits.len()), hits.len());
            state.begin(&walk, &mut self.budget, Some(bound))?;
        };
        let Some(mut hit) = next else {
            return Ok(Head::Done);
        };
        hit.layer = layer;
        hit.score = view.score(hit.rank)?;
        Ok(Head::Ready(hit))
    }

    /// Whether the suggestion of `rank` in `layer` is among the results already.
    fn is_found(&self, layer: u32, rank: u32) -> bool {
        self.hits.iter().any(|h| h.layer == layer && h.rank == rank)
    }

    /// Puts the suggestion whose key equals the whole query first, if there is one (and it is
    /// in a requested category): the newest layer that decides the key answers, unless it
    /// deletes it or the blocklist hides it.
    fn exact_phrase(
        &mut self,
        layers: &Layers<'_>,
        query: &str,
        options: &SuggestOptions,
    ) -> Result<()> {
        // The normalized query as typed: "paris " asks for more words, so "Paris" is not it.
        if query.is_empty() {
            return Ok(());
        }
        let key = query.as_bytes();
        let top = layers.newest_candidate(key);
        let holder = match top {
            // Only the base can hold it. Not in lean builds: the worker bundle has no room for
            // the code.
            #[cfg(not(feature = "lean"))]
            0 => self
                .follow_whole(&layers.views()[0], query)?
                .map(|rank| (0, rank)),
            _ => newest_holder(&layers.views()[..=top], key)?,
        };
        let Some((layer, rank)) = holder else {
            return Ok(());
        };
        if layers.blocklist.as_ref().is_some_and(|b| b.blocks(key)) {
            return Ok(());
        }
        let view = &layers.views()[layer];
        if !options.categories.is_empty() {
            let mine = view.categories_of(rank)?;
            if !split_categories(mine).any(|c| options.categories.iter().any(|w| w == c)) {
                return Ok(());
            }
        }
        let key_start = self.keys.len() as u32;
        self.keys.extend_from_slice(query.as_bytes());
        self.hits.push(Hit {
            rank,
            layer: layer as u32,
            score: view.score(rank)?,
            key_start,
            key_end: self.keys.len() as u32,
            edits: 0,
            word_start: 0,
            match_end: query.len() as u32,
        });
        Ok(())
    }
}

/// The typos of a pass walked with `dfa`, built for `tail`. Only native builds keep the tail:
/// WebAssembly modules are counted in bytes.
fn automaton_typos<'a>(dfa: &'a Dfa, edits: u8, tail: &'a str) -> Typos<'a> {
    #[cfg(not(any(feature = "lean", target_family = "wasm")))]
    return Typos::Automaton(dfa, edits, tail);
    #[cfg(any(feature = "lean", target_family = "wasm"))]
    {
        let _ = tail;
        Typos::Automaton(dfa, edits)
    }
}

/// Moves a word-start hit to the leftmost later word of its key where the query matches
/// with the pass's edits. A phrase can match at several words with as few edits, all at one
/// cost; which of them a walk meets first depends on the shape of the FST (and on top lists,
/// deltas and compaction), so the reported place would otherwise differ between a stack and
/// its compacted segment.
#[inline]
fn leftmost_word(hit: &mut Hit, keys: &[u8], query: (&str, Option<Typos<'_>>)) {
    // Most hits match the whole phrase: no call for them.
    if hit.word_start > 0 {
        move_to_leftmost_word(hit, keys, query);
    }
}

/// [`leftmost_word`] for a word-start hit. Not inlined: it is rare and the worker's module is
/// counted in bytes.
#[inline(never)]
fn move_to_leftmost_word(hit: &mut Hit, keys: &[u8], query: (&str, Option<Typos<'_>>)) {
    let key = &keys[hit.key_start as usize..hit.key_end as usize];
    let Some(before) = key.get(..hit.word_start as usize) else {
        return;
    };
    let words = before
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b' ')
        .map(|(i, _)| i + 1);
    for at in words {
        if let Some(end) = match_end_at(&key[at..], query) {
            hit.word_start = at as u32;
            hit.match_end = (at + end) as u32;
            return;
        }
    }
}

/// Where the query's match in `text` ends, as the walk finds it: the exact part as a plain
/// prefix, then the first byte after which the automaton is within its edits (`None`: no
/// match).
fn match_end_at(text: &[u8], (exact, typos): (&str, Option<Typos<'_>>)) -> Option<usize> {
    let rest = text.strip_prefix(exact.as_bytes())?;
    let (dfa, edits) = match typos {
        None => return Some(exact.len()),
        Some(Typos::Automaton(dfa, edits, ..)) => (dfa, edits),
        #[cfg(not(any(feature = "lean", target_family = "wasm")))]
        Some(Typos::One(tail)) => {
            let rest = std::str::from_utf8(rest).ok()?;
            return tail.match_end(rest).map(|end| exact.len() + end);
        }
    };
    let within = |state| walk::exact_distance(dfa, state) <= edits;
    let mut state = dfa.initial_state();
    if within(state) {
        return Some(exact.len());
    }
    for (i, &byte) in rest.iter().enumerate() {
        state = dfa.transition(state, byte);
        if state == automaton::SINK_STATE {
            return None;
        }
        if within(state) {
            return Some(exact.len() + i + 1);
        }
    }
    None
}

#[cfg(not(feature = "lean"))]
impl Searcher {
    /// The rank of the key equal to `query` in the base, found by following the query down
    /// its FST: the base's walk in the plain pass starts where this ends, so the query is
    /// followed once for both (see [`Searcher::followed`]).
    fn follow_whole(&mut self, view: &View<'_>, query: &str) -> Result<Option<u32>> {
        let followed = walk::follow_exact(view.fst(), query)?;
        self.followed = Some((query.len(), followed));
        let Some((addr, cost)) = followed else {
            return Ok(None);
        };
        let Some(last) = walk::final_output(view.fst(), addr) else {
            return Ok(None);
        };
        let output = walk::add_cost(cost, last)?;
        view.rank_of_output(output).map(Some)
    }
}

/// The layer and rank of `key` in the newest layer that decides it, or `None` when none
/// holds it or that layer deletes it.
fn newest_holder(views: &[View<'_>], key: &[u8]) -> Result<Option<(usize, u32)>> {
    for (layer, view) in views.iter().enumerate().rev() {
        if let Some(rank) = view.rank_of_key(key)? {
            return Ok(Some((layer, rank)));
        }
        if view.deletes(key) {
            return Ok(None);
        }
    }
    Ok(None)
}

/// Where a match of cost `cost` (or any match below a candidate of that cost) can rank at
/// best: a word start or not, and its score at most. `None` when the cost is no rank (a
/// candidate at the root of a segment without suggestions costs 0): unknown.
fn order_bound(view: &View<'_>, cost: u64) -> Result<Option<RankBound>> {
    let count = view.count();
    let (word_start, rank) = match cost.checked_sub(count) {
        Some(rank) => (true, rank),
        None => (false, cost),
    };
    match u32::try_from(rank).ok().filter(|&r| u64::from(r) < count) {
        Some(rank) => Ok(Some((word_start, std::cmp::Reverse(view.score(rank)?)))),
        None => Ok(None),
    }
}

/// The stream whose next match ranks first: full-phrase matches before word starts, then the
/// higher score, then the key in byte order. That is each segment's own rank order (see the
/// module docs), so it merges segments' streams into the ranking of their merged data.
fn best_head(heads: &[Head], keys: &[u8]) -> Option<usize> {
    let order = |hit: &Hit| {
        (
            hit.word_start > 0,
            std::cmp::Reverse(hit.score),
            &keys[hit.key_start as usize..hit.key_end as usize],
        )
    };
    let mut best: Option<(usize, &Hit)> = None;
    for (i, head) in heads.iter().enumerate() {
        if let Head::Ready(hit) = head {
            if best.map_or(true, |(_, b)| order(hit) < order(b)) {
                best = Some((i, hit));
            }
        }
    }
    best.map(|(i, _)| i)
}

/// The walk of `stream` for a pass.
fn walk_of<'w, 'f>(
    stream: &'w Stream<'f>,
    exact: &'w str,
    typos: Option<Typos<'w>>,
    view: &View<'_>,
    keys: &'w mut Vec<u8>,
) -> walk::Walk<'w, 'f> {
    walk::Walk {
        fst: &stream.fst,
        main: stream.main.as_ref(),
        exact,
        typos,
        count: view.count(),
        layer: stream.layer as u32,
        keys,
        start: None,
        #[cfg(not(feature = "lean"))]
        main_start: None,
    }
}

/// The FSTs a query walks: each layer's main FST, or each requested category's FST in each
/// layer that has it; with how many of them, from the first, a plain pass walks. Deltas whose
/// entries the first delta's run holds come last: a plain pass takes them from the run, and
/// only typo passes walk them.
fn streams_of<'a>(layers: &Layers<'a>, categories: &[String]) -> Result<(Vec<Stream<'a>>, usize)> {
    let views = layers.views();
    let in_run =
        |layer: &usize| categories.is_empty() && layers.runs().is_some_and(|r| r.holds(*layer));
    let walked = (0..views.len()).filter(|l| !in_run(l));
    let order = walked.chain((0..views.len()).filter(in_run));
    let mut streams = Vec::with_capacity(views.len());
    let mut plain = 0;
    for layer in order {
        let view = &views[layer];
        if categories.is_empty() {
            streams.push(Stream {
                layer,
                fst: view.fst().clone(),
                category: MAIN,
                main: None,
            });
        } else {
            category_streams(view, layer, categories, &mut streams)?;
        }
        if !in_run(&layer) {
            plain = streams.len();
        }
    }
    Ok((streams, plain))
}

/// Appends a stream for the FST of each requested category that the segment of `layer` has.
fn category_streams<'a>(
    view: &View<'a>,
    layer: usize,
    names: &[String],
    streams: &mut Vec<Stream<'a>>,
) -> Result<()> {
    for name in names {
        if let Some((category, fst)) = view.category_fst(name)? {
            streams.push(Stream {
                layer,
                fst,
                category,
                main: view.category_cuts().then(|| view.fst().clone()),
            });
        }
    }
    Ok(())
}
