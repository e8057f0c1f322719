//! A one-edit pass without an automaton: the paths within one edit of the query's tail are
//! found by exact look-ups along the FST, and the walk starts from them as accepted
//! candidates.
//!
//! A key matches with one edit when one of its prefixes is within one edit (restricted
//! Damerau–Levenshtein, in characters) of the tail `t` of `m` characters: `t` itself, or `t`
//! with one character deleted, substituted, inserted, or two adjacent ones swapped. Its
//! shortest such prefix is where the match ends. Every variant that extends `t[..m-1]` (the
//! last character deleted, substituted or with a character inserted before or after it, and
//! `t` itself) lies below `t[..m-1]`, which is itself a variant, so the walk needs only:
//!
//! - `t[..m-1]`;
//! - for each `i < m-1` where `t[..i]` leads to a node: `t` without `t[i]`, `t` with `t[i]` and
//!   `t[i+1]` swapped, and for each character `c` below that node, `t` with `t[i]` replaced by
//!   `c` and with `c` inserted before `t[i]`.
//!
//! Those that lead to a node are sorted by their bytes, and each one that extends another is
//! dropped, so the ones left hold disjoint subtrees and each key below them lies below
//! exactly one: its shortest prefix within one edit. The automaton's walk expands every node
//! within one edit on the way to the same places; here most variants die at their first
//! look-up, and no automaton is built (at eight characters, building it took a fifth of a
//! query).

use super::in_place::{step, Transitions};
use super::{add_cost, check_forward, node_outside, WalkState, MAX_CANDIDATES};
use crate::error::Result;
use crate::format::WORD_START_SEPARATOR;

/// The fewest paths kept when they are cut to the cheapest: a query finds a few dozen, so
/// most never are. Unit tests keep 2, to cut them in every query they run.
const MIN_KEPT_PATHS: usize = if cfg!(test) { 2 } else { 64 };

/// The most characters a [`Tail`] holds: the automaton covers at most
/// [`crate::MAX_FUZZY_BYTES`] bytes, and every character takes at least one.
const MAX_TAIL_CHARS: usize = crate::MAX_FUZZY_BYTES;

/// The part of a query that one edit may change, split into characters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tail<'a> {
    text: &'a str,
    /// Byte offset of each character's start, then the text's length.
    bounds: [u8; MAX_TAIL_CHARS + 1],
    chars: usize,
}

impl<'a> Tail<'a> {
    /// The tail `text`, or `None` when it holds more than [`MAX_TAIL_CHARS`] bytes (the
    /// automaton then takes the pass).
    pub(crate) fn new(text: &'a str) -> Option<Tail<'a>> {
        if text.len() > MAX_TAIL_CHARS {
            return None;
        }
        let mut bounds = [0u8; MAX_TAIL_CHARS + 1];
        let mut chars = 0;
        for (i, _) in text.char_indices() {
            bounds[chars] = i as u8;
            chars += 1;
        }
        bounds[chars] = text.len() as u8;
        Some(Tail {
            text,
            bounds,
            chars,
        })
    }

    /// Whether deleting the whole tail is one edit at most: then everything below the exact
    /// part matches, from where it ends.
    pub(crate) fn within_one_of_nothing(&self) -> bool {
        self.chars <= 1
    }

    /// The bytes of characters `from..to`.
    fn span(&self, from: usize, to: usize) -> &'a [u8] {
        &self.text.as_bytes()[usize::from(self.bounds[from])..usize::from(self.bounds[to])]
    }

    /// Where the query's match in `text` ends: after its shortest prefix within one edit of
    /// the tail (`None`: no prefix is). Such a prefix has one character fewer than the tail,
    /// as many, or one more.
    pub(crate) fn match_end(&self, text: &str) -> Option<usize> {
        let shortest = self.chars.saturating_sub(1);
        let ends = text
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .skip(shortest)
            .take(self.chars + 2 - shortest);
        ends.into_iter()
            .find(|&end| within_one_edit(&text[..end], self.text))
    }
}

/// Whether `a` and `b` are within one edit: equal, or one character deleted, inserted or
/// substituted, or two adjacent characters swapped. Past their common prefix and suffix,
/// one edit leaves at most two characters of each.
fn within_one_edit(a: &str, b: &str) -> bool {
    let prefix: usize = a
        .chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix: usize = a
        .chars()
        .rev()
        .zip(b.chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    let mut ca = a.chars();
    let mut cb = b.chars();
    match (ca.clone().count(), cb.clone().count()) {
        (0, 0) | (1, 0) | (0, 1) | (1, 1) => true,
        (2, 2) => {
            let (a0, a1) = (ca.next(), ca.next());
            let (b0, b1) = (cb.next(), cb.next());
            a0 == b1 && a1 == b0
        }
        _ => false,
    }
}

/// A path within one edit of the tail that leads to a node: its bytes in
/// [`Neighbours::bytes`], the node and the cost accumulated on the way.
#[derive(Debug, Clone, Copy)]
struct Found {
    start: u32,
    end: u32,
    addr: usize,
    cost: u64,
}

/// The buffers of the look-ups, kept by the walk between queries.
#[derive(Debug, Default, Clone)]
pub(super) struct Neighbours {
    bytes: Vec<u8>,
    found: Vec<Found>,
}

impl Neighbours {
    /// Keeps capacity for `keep` paths: an outlier query's buffers are released by the next.
    pub(super) fn release(&mut self, keep: usize) {
        self.found.clear();
        self.bytes.clear();
        self.found.shrink_to(keep);
        self.bytes.shrink_to(keep.saturating_mul(8));
    }
}

/// Where a look-up stands: a node's address and the cost on the way to it.
type At = (usize, u64);

impl WalkState {
    /// Seeds the walk with the minimal paths within one edit of `tail` below `start`, each an
    /// accepted candidate whose match ends where its path does (see the module docs).
    pub(super) fn seed_one_edit(
        &mut self,
        fst: &fst::raw::Fst<&[u8]>,
        start: At,
        tail: &Tail<'_>,
    ) -> Result<()> {
        self.neighbours.bytes.clear();
        self.neighbours.found.clear();
        let last = tail.chars.saturating_sub(1);
        let mut at = Some(start);
        for i in 0..last {
            let Some(here) = at else { break };
            self.variants_at(fst, here, tail, i)?;
            at = self.follow(fst, here, tail.span(i, i + 1))?;
        }
        if let Some(here) = at {
            self.try_path(fst, here, &[tail.span(0, last)], &[])?;
        }
        self.offer_minimal()
    }

    /// The variants that change character `i` of the tail, from the node `t[..i]` leads to:
    /// its deletion, its swap with the next one, and each character below the node in its
    /// place or inserted before it.
    fn variants_at(
        &mut self,
        fst: &fst::raw::Fst<&[u8]>,
        here: At,
        tail: &Tail<'_>,
        i: usize,
    ) -> Result<()> {
        let before = [tail.span(0, i)];
        let rest = tail.span(i + 1, tail.chars);
        self.try_path(fst, here, &before, &[rest])?;
        let (this, next) = (tail.span(i, i + 1), tail.span(i + 1, i + 2));
        if this != next {
            let swapped = [next, this, tail.span(i + 2, tail.chars)];
            self.try_path(fst, here, &before, &swapped)?;
        }
        self.each_char(fst, here, (&mut [0u8; 4], 0), (tail, i))
    }

    /// Tries each whole character below `at` (its bytes after the `len` of `buf` given) in
    /// place of tail character `i` and before it ([`WalkState::char_variants`]). The
    /// word-start separator and bytes that begin no character are skipped: no match crosses
    /// them.
    fn each_char(
        &mut self,
        fst: &fst::raw::Fst<&[u8]>,
        at: At,
        (buf, len): (&mut [u8; 4], usize),
        (tail, i): (&Tail<'_>, usize),
    ) -> Result<()> {
        let want = match len {
            0 => None,
            _ => Some(utf8_width(buf[0])),
        };
        let mut transitions = Transitions::of(fst, at.0);
        // The word-start separator and bytes of the wrong kind begin or continue no
        // character the tail could hold here.
        let fits = |b: u8| match want {
            None => b != WORD_START_SEPARATOR && utf8_width(b) != 0,
            Some(_) => (0x80..0xC0).contains(&b),
        };
        while let Some((input, target, output)) =
            transitions.next_where(fits).ok_or_else(node_outside)?
        {
            let width = want.unwrap_or_else(|| utf8_width(input));
            if !self.visit() {
                continue;
            }
            check_forward(at.0, target)?;
            buf[len] = input;
            let below = (target, add_cost(at.1, output)?);
            if len + 1 == width {
                self.char_variants(fst, below, &buf[..width], tail, i)?;
            } else {
                self.each_char(fst, below, (buf, len + 1), (tail, i))?;
            }
        }
        Ok(())
    }

    /// Character `c` (reached: `below`) in place of tail character `i`, and inserted before it.
    fn char_variants(
        &mut self,
        fst: &fst::raw::Fst<&[u8]>,
        below: At,
        c: &[u8],
        tail: &Tail<'_>,
        i: usize,
    ) -> Result<()> {
        let before = [tail.span(0, i), c];
        if c != tail.span(i, i + 1) {
            self.try_path(fst, below, &before, &[tail.span(i + 1, tail.chars)])?;
        }
        self.try_path(fst, below, &before, &[tail.span(i, tail.chars)])
    }

    /// Follows the bytes of `pieces` down from `at` and, if a key continues with them,
    /// records the path `before` + `pieces` (`before` leads to where `at` stands).
    fn try_path(
        &mut self,
        fst: &fst::raw::Fst<&[u8]>,
        at: At,
        before: &[&[u8]],
        pieces: &[&[u8]],
    ) -> Result<()> {
        let mut to = Some(at);
        for piece in pieces {
            let Some(here) = to else { break };
            to = self.follow(fst, here, piece)?;
        }
        let Some((addr, cost)) = to else {
            return Ok(());
        };
        if self.neighbours.found.len() >= self.kept_paths().saturating_mul(2) {
            self.keep_cheapest();
        }
        if self.neighbours.found.len() >= MAX_CANDIDATES {
            // An unbounded walk keeps every path, up to as many as it keeps candidates.
            self.budget.truncated = true;
            return Ok(());
        }
        let bytes = &mut self.neighbours.bytes;
        let start = bytes.len() as u32;
        for piece in before.iter().chain(pieces) {
            bytes.extend_from_slice(piece);
        }
        let end = bytes.len() as u32;
        self.neighbours.found.push(Found {
            start,
            end,
            addr,
            cost,
        });
        Ok(())
    }

    /// Follows `bytes` down from `at`: the node they lead to and the cost on the way, or
    /// `None` when no key continues with them (or the budget ran out).
    fn follow(&mut self, fst: &fst::raw::Fst<&[u8]>, at: At, bytes: &[u8]) -> Result<Option<At>> {
        let (mut addr, mut cost) = at;
        for &b in bytes {
            if !self.visit() {
                return Ok(None);
            }
            let Some((next, out)) = step(fst, addr, b) else {
                return Ok(None);
            };
            check_forward(addr, next)?;
            cost = add_cost(cost, out)?;
            addr = next;
        }
        Ok(Some((addr, cost)))
    }

    /// How many of the cheapest paths found must be kept: the walk's bound (each path holds
    /// a match of its own once the ones that extend another are dropped), at least
    /// [`MIN_KEPT_PATHS`].
    fn kept_paths(&self) -> usize {
        self.bound
            .map_or(usize::MAX, |b| b.need.saturating_add(b.skippable))
            .max(MIN_KEPT_PATHS)
    }

    /// Drops all but the cheapest [`WalkState::kept_paths`] paths found, as a bounded walk
    /// drops candidates: a path's prefixes cost no more than it, so the paths kept still
    /// begin with the shortest path within one edit of every match cheaper than the least
    /// cost dropped, and the walk stops before it could skip one (`floor`).
    fn keep_cheapest(&mut self) {
        let keep = self.kept_paths();
        let n = &mut self.neighbours;
        n.found.sort_unstable_by_key(|f| (f.cost, f.start));
        let Some(first_dropped) = n.found.get(keep) else {
            return;
        };
        self.floor = self.floor.min(first_dropped.cost);
        n.found.truncate(keep);
        let mut bytes = Vec::with_capacity(n.bytes.len() / 2);
        for f in &mut n.found {
            let path = &n.bytes[f.start as usize..f.end as usize];
            f.start = bytes.len() as u32;
            bytes.extend_from_slice(path);
            f.end = bytes.len() as u32;
        }
        n.bytes = bytes;
    }

    /// Offers each found path that extends no other (nor repeats one) as an accepted
    /// candidate, the cheapest first and as many as the walk's bound keeps. Sorted by bytes,
    /// a path's shortest prefix among them comes before it, and everything between them
    /// extends that prefix too, so comparing with the last one kept suffices.
    fn offer_minimal(&mut self) -> Result<()> {
        let mut found = std::mem::take(&mut self.neighbours.found);
        let bytes = std::mem::take(&mut self.neighbours.bytes);
        let path_of = |f: &Found| &bytes[f.start as usize..f.end as usize];
        found.sort_unstable_by(|a, b| path_of(a).cmp(path_of(b)));
        let mut kept: Option<&[u8]> = None;
        found.retain(|f| {
            let path = path_of(f);
            let extends = kept.is_some_and(|k| path.starts_with(k));
            if !extends {
                kept = Some(path);
            }
            !extends
        });
        // Each holds a match of its own: beyond the bound, as a bounded walk drops them.
        let bound = self.kept_paths();
        found.sort_unstable_by_key(|f| (f.cost, f.start));
        if let Some(first_dropped) = found.get(bound) {
            self.floor = self.floor.min(first_dropped.cost);
            found.truncate(bound);
        }
        let result = found
            .iter()
            .try_for_each(|f| self.offer_path(path_of(f), f.addr, f.cost));
        self.neighbours.bytes = bytes;
        self.neighbours.found = found;
        result
    }
}

/// The length of the UTF-8 sequence a byte begins, 0 when it begins none.
fn utf8_width(b: u8) -> usize {
    match b {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::{within_one_edit, Tail};
    use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder};
    use proptest::prelude::*;

    /// The automaton's verdict, the oracle: whether `a` is within one edit of `b`.
    fn automaton_within_one(a: &str, b: &str) -> bool {
        let dfa = LevenshteinAutomatonBuilder::new(1, true).build_dfa(b);
        matches!(dfa.eval(a), Distance::Exact(d) if d <= 1)
    }

    /// The automaton's match end in `text`, as the walk finds it: after the first byte at
    /// which the prefix automaton of `tail` is within one edit.
    fn automaton_match_end(text: &str, tail: &str) -> Option<usize> {
        let dfa = LevenshteinAutomatonBuilder::new(1, true).build_prefix_dfa(tail);
        let within = |state| matches!(dfa.distance(state), Distance::Exact(d) if d <= 1);
        let mut state = dfa.initial_state();
        if within(state) {
            return Some(0);
        }
        for (i, &b) in text.as_bytes().iter().enumerate() {
            state = dfa.transition(state, b);
            if within(state) {
                return Some(i + 1);
            }
        }
        None
    }

    /// Phrases over a few characters (one of two bytes, one of three), some of several
    /// words, so that typos collide.
    fn phrase() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop::sample::select(vec!['a', 'b', 'c', 'd', ' ', 'é', '東']),
            1..9,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop::sample::select(vec!['a', 'b', 'c', 'é', '東']), 0..7)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn one_edit_is_the_distance_of_one(a in text(), b in text()) {
            prop_assert_eq!(within_one_edit(&a, &b), automaton_within_one(&a, &b), "{:?} {:?}", a, b);
        }

        /// The look-ups answer every typo query exactly as the automaton's walk does: the
        /// same suggestions in the same order, with the same edits and matched ranges.
        #[cfg(feature = "build")]
        #[test]
        fn look_ups_answer_as_the_automaton(
            rows in proptest::collection::btree_map(phrase(), 1u64..50, 1..80),
            queries in proptest::collection::vec(phrase(), 1..12),
            word_starts in any::<bool>(),
            dense_lists in any::<bool>(),
            k in 1usize..13,
            prefix_length in 0usize..3,
            fuzzy in prop::sample::select(vec![1u8, 2, 0]),
            exact_first in any::<bool>(),
        ) {
            let mut builder = crate::SegmentBuilder::with_options(crate::BuildOptions {
                word_starts,
                // Lists change no answer of a typo pass, but a walk may start below one.
                top_lists: match dense_lists {
                    true => crate::TopListOptions {
                        budget_percent: 1000,
                        category_percent: 1000,
                        min_entries: 1,
                        section_min_entries: 1,
                    },
                    false => crate::TopListOptions::default(),
                },
                ..Default::default()
            });
            for (phrase, score) in &rows {
                let _ = builder.add(phrase, *score);
            }
            let Ok(built) = builder.finish() else { return Ok(()) };
            let segment = crate::Segment::load(built.bytes).unwrap();
            let options = crate::SuggestOptions {
                k,
                prefix_length,
                exact_first,
                fuzzy: match fuzzy {
                    0 => crate::Fuzziness::Auto,
                    n => crate::Fuzziness::Edits(n),
                },
                ..Default::default()
            };
            let mut look_ups = crate::Searcher::new();
            let mut automaton = crate::Searcher::new();
            automaton.always_automaton();
            for query in &queries {
                let got = look_ups.search(&segment, query, &options).unwrap().to_owned();
                let want = automaton.search(&segment, query, &options).unwrap().to_owned();
                prop_assert_eq!(got, want, "query {:?}", query);
            }
        }

        #[test]
        fn match_end_is_the_shortest_prefix_within_one(text in text(), tail in text()) {
            let got = Tail::new(&tail).unwrap().match_end(&text);
            prop_assert_eq!(got, automaton_match_end(&text, &tail), "{:?} {:?}", text, tail);
        }
    }
}
