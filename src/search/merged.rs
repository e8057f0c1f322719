//! A stack's merged top lists: for each prefix whose base node has a top list, and for the
//! costly prefixes below those along the deltas' keys, the first matches of the stack's
//! exact-prefix pass, made once when the stack is made.
//!
//! A plain prefix query over a stack merges one stream per layer, and every match it takes is
//! checked against the newer layers and the blocklist. For a single segment the nodes with
//! large subtrees (the short prefixes, the most typed) answer from a precomputed list; over a
//! stack those lists are one stream of several. A merged list is the answer of that merge for
//! the prefix itself, so a query with `k` up to [`MERGED_LEN`] and no category filter takes
//! its exact-prefix pass from it: the same matches in the same order, without the merge.
//!
//! Why the answer is unchanged: the merge returns matches in one strict order (full phrase
//! before word start, then score, then key), and a pass only refuses matches found earlier in
//! the query (the exact phrase put first). Refusing a match from a merge of ordered streams
//! removes it from the output and moves nothing else, so the pass returns the merged list
//! minus what is found already, up to `k`. A list holds [`MERGED_LEN`] matches, or every
//! match when there are fewer: enough for `k <= MERGED_LEN` whatever was found before.
//!
//! Below the base's lists, a query walks the base and merges the deltas' entries. Where the
//! deltas hold entries under a prefix the base's walk is long for, that merge is what makes a
//! stack slower than its base. Those prefixes get a list too when their pass costs at least
//! [`FRONTIER_MIN_VISITS`]: the first one without a base list along each delta key, and below
//! each one that got a list, the next ones along the keys, a character at a time (a costly
//! pass is mostly followed by a costly one as the user types on).

// WebAssembly builds make no merged lists (see `Stack`).
#![cfg_attr(target_family = "wasm", allow(dead_code, unused_imports))]

use std::collections::{HashMap, VecDeque};
use std::ops::Range;

use super::{Hit, Searcher};
use crate::format::top::NodeAt;
use crate::format::WORD_START_SEPARATOR;
use crate::segment::View;
use crate::stack::Layers;

/// The matches a merged list holds: the base's lists' length (the default `k`, the exact
/// phrase the query may put first, and one repeat).
pub(crate) const MERGED_LEN: usize = 12;

/// The most prefixes a stack makes merged lists for: bounds the time to make a stack (each
/// costs one merged query) and its memory (about 0.7 KB each).
const MAX_PREFIXES: usize = 1 << 16;

/// Node visits one merged list may cost to make: a list that needs more (crafted segments,
/// a blocklist hiding most of a subtree) is not made, and its queries merge as before.
const MERGED_VISITS: usize = 1 << 14;

/// Node visits all merged lists of a stack may cost to make: bounds the time to make a stack
/// of crafted segments (about a second here). The lists made before it runs out are kept.
/// The bench's stack of every data set with 8 deltas of 10,000 changes needs 93k.
const MERGED_TOTAL_VISITS: usize = 1 << 22;

/// Node visits a pass below the base's lists must cost for its prefix to get a merged list:
/// cheaper passes gain little from one.
const FRONTIER_MIN_VISITS: usize = 48;

/// The most delta keys read for the prefixes below the base's lists: bounds the memory to
/// make a stack (about 16 MB of keys at most for names as long as npm's). Past it, the newer
/// deltas' prefixes get no list and their queries merge as before.
const MAX_DELTA_KEYS: usize = 1 << 18;

/// The merged lists of a stack, by prefix.
#[derive(Debug, Clone, Default)]
pub(crate) struct MergedLists {
    /// Each prefix's matches in `hits`.
    by_prefix: HashMap<Box<str>, Range<u32>>,
    /// Every list's matches, their keys in `keys`.
    hits: Vec<Hit>,
    /// The matches' keys, concatenated (checked as UTF-8 by the query that answers with them).
    keys: Vec<u8>,
}

impl MergedLists {
    /// The merged lists of `layers` (a base with deltas or a blocklist): one for each prefix
    /// whose base node has a top list, up to [`MAX_PREFIXES`]. A list that cannot be made
    /// within [`MERGED_VISITS`] (or meets a corrupt segment) is left out.
    pub(crate) fn of(layers: &Layers<'_>) -> MergedLists {
        MergedLists::within(layers, MERGED_TOTAL_VISITS, FRONTIER_MIN_VISITS)
    }

    /// [`MergedLists::of`] within `total_visits` node visits for all lists, with lists below
    /// the base's for passes of at least `frontier_min_visits`.
    fn within(layers: &Layers<'_>, total_visits: usize, frontier_min_visits: usize) -> MergedLists {
        let mut merged = MergedLists::default();
        let Some(base) = layers.views().first() else {
            return merged;
        };
        let listed = listed_prefixes(base, MAX_PREFIXES);
        let keys = delta_keys(layers);
        let frontier = frontier_prefixes(&keys, &listed, MAX_PREFIXES - listed.len());
        // Each prefix, and whether it lies below the base's lists.
        let mut pending: VecDeque<(String, bool)> =
            listed.into_iter().map(|p| (p, false)).collect();
        pending.extend(frontier.into_iter().map(|p| (p, true)));
        let mut searcher = Searcher::new();
        let (mut visits_left, mut tried) = (total_visits, 0);
        while let Some((prefix, below)) = pending.pop_front() {
            let budget = visits_left.min(MERGED_VISITS);
            if budget == 0 || tried >= MAX_PREFIXES {
                break;
            }
            tried += 1;
            let made = searcher.merged_pass(layers, &prefix, budget);
            let used = budget - searcher.budget.visits_left();
            visits_left -= used;
            let min_visits = if below { frontier_min_visits } else { 0 };
            if let (Ok(true), true) = (made, used >= min_visits) {
                merged.insert(&prefix, (&searcher.hits, &searcher.keys));
                // Below a costly frontier prefix, the next one typed along the deltas' keys
                // is likely costly too.
                if below {
                    queue_longer(&mut pending, &keys, &prefix, tried);
                }
            }
        }
        merged.hits.shrink_to_fit();
        merged.keys.shrink_to_fit();
        merged
    }

    /// Keeps `found` (matches with their keys) as the list of `prefix`.
    fn insert(&mut self, prefix: &str, (hits, keys): (&[Hit], &[u8])) {
        let start = self.hits.len() as u32;
        for hit in hits {
            let key = &keys[hit.key_start as usize..hit.key_end as usize];
            let key_start = self.keys.len() as u32;
            self.keys.extend_from_slice(key);
            self.hits.push(Hit {
                key_start,
                key_end: self.keys.len() as u32,
                ..*hit
            });
        }
        let end = self.hits.len() as u32;
        self.by_prefix.insert(prefix.into(), start..end);
    }

    /// The merged list of the exact-prefix pass for `query`, if the stack made one: its
    /// matches, whose keys are in [`MergedLists::keys`].
    pub(crate) fn get(&self, query: &str) -> Option<&[Hit]> {
        let range = self.by_prefix.get(query)?;
        self.hits.get(range.start as usize..range.end as usize)
    }

    /// The keys the lists' matches point into.
    pub(crate) fn keys(&self) -> &[u8] {
        &self.keys
    }
}

/// The prefixes (whole characters, no word-start separator) whose nodes in the base have a
/// top list, up to `max`: a walk down from the root through listed nodes only (a node
/// without a list has fewer entries below it than any list was made for, and so do its
/// children, but for the few the section's budget left out; the root is passed either way).
/// Nodes inside a character are passed too: lists are made only where a query can end, so
/// "ब" (three bytes) is reached through two nodes that never have one.
fn listed_prefixes(base: &View<'_>, max: usize) -> Vec<String> {
    let fst = base.fst();
    let mut found = Vec::new();
    let mut pending = vec![(fst.root().addr(), 0u64, Vec::<u8>::new())];
    // Paths through partial characters are not counted as prefixes: bound the visits too.
    let mut visits = 0usize;
    while let Some((addr, cost, prefix)) = pending.pop() {
        visits += 1;
        if visits > max.saturating_mul(4) {
            break;
        }
        let listed = base.top_list(NodeAt { addr, cost }).is_some();
        let whole = match std::str::from_utf8(&prefix) {
            Ok(whole) => Some(whole),
            // A character's first bytes: pass on to its end.
            Err(e) if e.error_len().is_none() => None,
            Err(_) => continue,
        };
        // The root may have no list (every query but the empty one passes it).
        if !listed && !prefix.is_empty() && whole.is_some() {
            continue;
        }
        if let (true, Some(whole)) = (listed, whole) {
            if found.len() >= max {
                break;
            }
            found.push(whole.to_owned());
        }
        let node = fst.node(addr);
        for t in node.transitions() {
            if t.inp == WORD_START_SEPARATOR {
                continue;
            }
            let mut longer = prefix.clone();
            longer.push(t.inp);
            pending.push((t.addr, cost.saturating_add(t.out.value()), longer));
        }
    }
    found
}

/// The deltas' keys up to any word-start separator (what a query's prefix can match), whole
/// UTF-8, sorted and distinct; at most [`MAX_DELTA_KEYS`] of them, from the oldest delta.
fn delta_keys(layers: &Layers<'_>) -> Vec<String> {
    let mut keys = Vec::new();
    for delta in layers.views().iter().skip(1) {
        // A delta whose FST holds more keys than it declares stops here: the lists are only a
        // shortcut, and its queries merge as before.
        let _ = crate::segment::for_each_key(delta.fst(), |key| {
            let key = key
                .split(|&b| b == WORD_START_SEPARATOR)
                .next()
                .unwrap_or(key);
            if let (Ok(key), true) = (std::str::from_utf8(key), keys.len() < MAX_DELTA_KEYS) {
                keys.push(key.to_owned());
            }
        });
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The first prefix without a base list along each of `keys` (whole characters), distinct,
/// in key order, up to `max`: the prefixes whose queries walk the base and merge the deltas'
/// entries below the base's lists.
fn frontier_prefixes(keys: &[String], listed: &[String], max: usize) -> Vec<String> {
    let listed: std::collections::HashSet<&str> = listed.iter().map(String::as_str).collect();
    let mut found: Vec<String> = Vec::new();
    for key in keys {
        if found.len() >= max {
            break;
        }
        let first_unlisted = key
            .char_indices()
            .map(|(i, c)| &key[..i + c.len_utf8()])
            .find(|prefix| !listed.contains(prefix));
        // Sorted keys give sorted first prefixes, equal ones next to each other.
        match first_unlisted {
            Some(prefix) if found.last().map(String::as_str) != Some(prefix) => {
                found.push(prefix.to_owned())
            }
            _ => {}
        }
    }
    found
}

/// Queues the prefixes one character longer than `prefix` along `keys`, as lying below the
/// base's lists; never more pending than can still be tried after `tried` (crafted deltas
/// can branch at every character).
fn queue_longer(
    pending: &mut VecDeque<(String, bool)>,
    keys: &[String],
    prefix: &str,
    tried: usize,
) {
    let room = MAX_PREFIXES.saturating_sub(tried + pending.len());
    if room > 0 {
        let longer = longer_prefixes(keys, prefix, room);
        pending.extend(longer.into_iter().map(|p| (p, true)));
    }
}

/// The prefixes one character longer than `prefix` along the sorted `keys` that extend it,
/// in order, up to `max`: where a query goes on from `prefix` toward the deltas' keys.
fn longer_prefixes(keys: &[String], prefix: &str, max: usize) -> Vec<String> {
    let mut found = Vec::new();
    let mut at = keys.partition_point(|k| k.as_str() <= prefix);
    while let Some(key) = keys
        .get(at)
        .filter(|k| k.starts_with(prefix) && found.len() < max)
    {
        let Some(next) = key[prefix.len()..].chars().next() else {
            break;
        };
        let longer = &key[..prefix.len() + next.len_utf8()];
        found.push(longer.to_owned());
        // Past every key that starts with `longer`: they are next to each other.
        at += keys[at..].partition_point(|k| k.as_str() < longer || k.starts_with(longer));
    }
    found
}

impl Searcher {
    /// Finds the first [`MERGED_LEN`] matches of the exact-prefix pass for `prefix` over
    /// `layers` (in `hits`, their keys in `keys`); false when the pass ran out of its
    /// `max_visits`.
    fn merged_pass(
        &mut self,
        layers: &Layers<'_>,
        prefix: &str,
        max_visits: usize,
    ) -> crate::Result<bool> {
        self.budget = super::walk::Budget::new(max_visits);
        let (streams, plain) = super::streams_of(layers, &[])?;
        self.keys.clear();
        self.hits.clear();
        self.followed = None;
        self.shrink_outliers();
        self.prepare_streams(streams.len());
        self.pass(
            layers,
            &streams[..plain],
            prefix,
            prefix.len(),
            0,
            MERGED_LEN,
        )?;
        Ok(!self.budget.truncated())
    }

    /// The exact-prefix pass taken from a merged list: its matches not found yet, in order,
    /// until `k`.
    pub(super) fn take_merged(&mut self, list: &[Hit], keys: &[u8], k: usize) {
        for hit in list {
            if self.hits.len() >= k {
                break;
            }
            if self.is_found(hit.layer, hit.rank) {
                continue;
            }
            let key_start = self.keys.len() as u32;
            self.keys
                .extend_from_slice(&keys[hit.key_start as usize..hit.key_end as usize]);
            self.hits.push(Hit {
                key_start,
                key_end: self.keys.len() as u32,
                edits: 0,
                ..*hit
            });
        }
    }
}

#[cfg(all(test, feature = "build"))]
// Some tests need answers from top lists, which lean builds never give.
#[cfg_attr(feature = "lean", allow(unused_imports, dead_code))]
mod tests {
    use super::*;
    use crate::search::top::tests::{two_letter_base, two_prefix_base};
    use crate::search::SuggestOptions;
    use crate::{BlocklistBuilder, DeltaBuilder, Segment, Stack};

    /// A base whose "a" and "b" nodes have lists (and the root none), a delta that deletes,
    /// rescores and adds under "a", and a blocklist line.
    fn stack() -> Stack<Vec<u8>> {
        let base = two_letter_base();
        let mut delta = DeltaBuilder::new();
        delta.delete("a000").unwrap();
        delta.upsert("a001", 1, None, &[] as &[&str]).unwrap();
        // Ties with "a005" (995): the key decides.
        delta.upsert("a1 new", 995, None, &[] as &[&str]).unwrap();
        let delta = Segment::load(delta.finish().unwrap().bytes).unwrap();
        let mut blocked = BlocklistBuilder::new();
        blocked.add_line("a004").unwrap();
        let blocked = Segment::load(blocked.finish().unwrap().bytes).unwrap();
        Stack::new(base, vec![delta], Some(blocked)).unwrap()
    }

    /// The same data as `stack` with no list at all: a segment compacted from it, searched
    /// with the blocklist as the stack's only other part.
    fn plain_of(stack: &Stack<Vec<u8>>) -> Stack<Vec<u8>> {
        let compacted = crate::compact(
            &Stack::new(stack.base().clone(), stack.deltas().to_vec(), None).unwrap(),
        )
        .unwrap();
        Stack::new(
            Segment::load(compacted.bytes).unwrap(),
            Vec::new(),
            stack.blocklist().cloned(),
        )
        .unwrap()
    }

    /// Every listed prefix gets a merged list: the merge's first matches, the delta's and
    /// the blocklist's changes applied; the others get none.
    // Lean builds answer from no top list, so stacks make no lists from them.
    #[cfg(not(feature = "lean"))]
    #[test]
    fn listed_prefixes_get_the_merges_first_matches() {
        let stack = stack();
        let layers = crate::stack::sealed::Source::layers(&stack).unwrap();
        let keys_of = |query: &str| -> Option<Vec<&str>> {
            let (list, keys) = layers.merged_list(query)?;
            list.iter()
                .map(|h| std::str::from_utf8(&keys[h.key_start as usize..h.key_end as usize]))
                .collect::<Result<_, _>>()
                .ok()
        };
        let a = keys_of("a").expect("a merged list for \"a\"");
        assert_eq!(
            a,
            [
                "a002", "a003", "a005", "a1 new", "a006", "a007", "a008", "a009", "a010", "a011",
                "a012", "a013"
            ]
        );
        assert_eq!(keys_of("b").expect("a list for \"b\"").len(), MERGED_LEN);
        assert!(
            keys_of("a00").is_none(),
            "a00 has too few entries for a list"
        );
        assert!(keys_of("c").is_none());
    }

    /// A prefix of one character of several bytes gets its list too: the walk passes the
    /// nodes inside the character, which never have a list of their own.
    // Lean builds answer from no top list, so stacks make no lists from them.
    #[cfg(not(feature = "lean"))]
    #[test]
    fn prefixes_of_multibyte_characters_get_lists() {
        let base = two_prefix_base("ब", "ι", 100);
        let mut delta = DeltaBuilder::new();
        delta.upsert("ब new", 2_000, None, &[] as &[&str]).unwrap();
        let delta = Segment::load(delta.finish().unwrap().bytes).unwrap();
        let stack = Stack::new(base, vec![delta], None).unwrap();
        let layers = crate::stack::sealed::Source::layers(&stack).unwrap();
        for prefix in ["ब", "ι"] {
            let (list, keys) = layers
                .merged_list(prefix)
                .unwrap_or_else(|| panic!("a merged list for {prefix:?}"));
            let first = &list[0];
            let want = if prefix == "ब" { "ब new" } else { "ι000" };
            assert_eq!(
                &keys[first.key_start as usize..first.key_end as usize],
                want.as_bytes()
            );
        }
    }

    /// The lists stop where the stack's visit budget runs out: none with no budget, some
    /// with a little.
    #[test]
    fn the_total_budget_bounds_the_lists() {
        let stack = stack();
        let layers = crate::stack::sealed::Source::layers(&stack).unwrap();
        assert!(MergedLists::within(&layers, 0, 0).by_prefix.is_empty());
        let all = MergedLists::within(&layers, MERGED_TOTAL_VISITS, 0)
            .by_prefix
            .len();
        let some = MergedLists::within(&layers, 2, 0).by_prefix.len();
        assert!(
            all >= 2 && some < all,
            "{some} of {all} lists within 2 visits"
        );
    }

    /// Answers from a merged list equal the merge's: the exact phrase first or not, every
    /// `k` up to past the list, fuzzy passes after it.
    #[test]
    fn merged_lists_answer_like_the_merge() {
        let stack = stack();
        let plain = plain_of(&stack);
        let mut searcher = Searcher::new();
        for query in ["a", "b", "a1", "a002"] {
            for k in [1, 2, 11, 12, 13] {
                for exact_first in [true, false] {
                    let options = SuggestOptions {
                        k,
                        exact_first,
                        fuzzy: crate::Fuzziness::Edits(1),
                        ..Default::default()
                    };
                    let got = searcher.search(&stack, query, &options).unwrap().to_owned();
                    let want = searcher.search(&plain, query, &options).unwrap().to_owned();
                    let keys = |f: &crate::OwnedSuggestions| -> Vec<(String, u64, u8)> {
                        f.items
                            .iter()
                            .map(|s| (s.key.clone(), s.score, s.edits))
                            .collect()
                    };
                    assert_eq!(keys(&got), keys(&want), "{query:?} k {k} {exact_first}");
                }
            }
        }
    }

    /// Along each delta key, the first prefix without a base list is a frontier prefix; it
    /// gets a list when its pass costs enough, and so do the longer ones along the keys
    /// below it; each list is the plain pass's answer (the oracle: the compacted stack,
    /// searched without lists).
    // Lean builds answer from no top list, so stacks make no lists from them.
    #[cfg(not(feature = "lean"))]
    #[test]
    fn frontier_prefixes_get_lists_equal_to_the_pass() {
        let stack = stack();
        let layers = crate::stack::sealed::Source::layers(&stack).unwrap();
        let listed = listed_prefixes(&layers.views()[0], MAX_PREFIXES);
        // The delta's keys (its tombstone "a000" is none); "a", "a0" and "a1" are listed:
        // "a001" gives "a00", "a1 new" gives "a1 ".
        let keys = delta_keys(&layers);
        assert_eq!(keys, ["a001", "a1 new"]);
        assert_eq!(
            frontier_prefixes(&keys, &listed, MAX_PREFIXES),
            ["a00", "a1 "]
        );
        assert_eq!(frontier_prefixes(&keys, &listed, 1), ["a00"]);
        let all = usize::MAX;
        assert_eq!(longer_prefixes(&keys, "a", all), ["a0", "a1"]);
        assert_eq!(longer_prefixes(&keys, "a", 1), ["a0"]);
        assert_eq!(longer_prefixes(&keys, "a1 ", all), ["a1 n"]);
        assert!(longer_prefixes(&keys, "a001", all).is_empty());
        assert!(longer_prefixes(&keys, "b", all).is_empty());
        let costly_only = MergedLists::within(&layers, MERGED_TOTAL_VISITS, usize::MAX);
        assert!(costly_only.get("a00").is_none() && costly_only.get("a").is_some());
        let all = MergedLists::within(&layers, MERGED_TOTAL_VISITS, 0);
        let plain = plain_of(&stack);
        let options = SuggestOptions {
            k: MERGED_LEN,
            exact_first: false,
            ..Default::default()
        };
        let mut searcher = Searcher::new();
        // Every prefix along the keys below the lists, each one's pass costing enough.
        for prefix in ["a00", "a001", "a1 ", "a1 n", "a1 ne", "a1 new"] {
            let list = all
                .get(prefix)
                .unwrap_or_else(|| panic!("a list for {prefix:?}"));
            let got: Vec<(&str, u64)> = list
                .iter()
                .map(|h| {
                    let key = &all.keys()[h.key_start as usize..h.key_end as usize];
                    (std::str::from_utf8(key).unwrap(), h.score)
                })
                .collect();
            let want = searcher
                .search(&plain, prefix, &options)
                .unwrap()
                .to_owned();
            let want: Vec<(&str, u64)> = want
                .items
                .iter()
                .map(|s| (s.key.as_str(), s.score))
                .collect();
            assert_eq!(got, want, "{prefix:?}");
            assert!(
                got.iter().all(|(k, _)| *k != "a000"),
                "a deleted key in {prefix:?}'s list"
            );
        }
    }
}
