//! Choosing and writing the top lists (see `format::top`): while the FST entries stream by in
//! key order, a stack of prefix levels counts the entries below each open prefix; a closed
//! prefix with enough entries becomes a candidate. Once the other sections are written, the
//! candidates with the most entries get a list, largest first, while the section stays within
//! its share of the segment. Each list is what the search's own walk from the node returns
//! first, so a list answers exactly as the walk would.

use std::collections::{HashMap, HashSet};

use crate::format::top::{costs, encode, entry_len, shared_len};
use crate::format::WORD_START_SEPARATOR;
use crate::parallel;
use crate::search::{follow_exact, is_final, List, Over, Walker};

/// How many of a node's cheapest entries a list holds: the default `k` (10), the exact
/// phrase the query may put first, and one repeat (a phrase matched at two words).
pub(crate) const LIST_LEN: usize = 12;

/// Candidates in a row that may fail to fit before the selection stops: past that, the
/// section is full for all practical purposes, and each try costs a walk.
const MAX_MISSES: usize = 256;

/// Which prefixes get a precomputed list, and how much room the lists may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopListOptions {
    /// The most the section may take, in percent of the segment without it and without its
    /// category sections (the main FST's lists do not serve filtered queries). 0: no lists.
    pub budget_percent: u32,
    /// The most each category's lists may take, in percent of that category's own FST (its
    /// cuts, or its members' keys): the lists filtered queries answer from. Cut FSTs are a
    /// fraction of the main FST's bytes, so a larger share buys filtered queries on
    /// categories whose members lie scattered among other keys the speed of unfiltered
    /// ones, at the segment's size. 0: none.
    pub category_percent: u32,
    /// Only prefixes with at least this many entries below them are candidates: with fewer,
    /// the walk is short anyway. The ones with the most entries are listed first.
    pub min_entries: u64,
    /// No section at all unless the base has at least this many entries: a small base keeps
    /// its older format (readable by engines that know no lists), and walks fast anyway.
    pub section_min_entries: u64,
}

impl Default for TopListOptions {
    /// Prefixes with 16 entries or more, in a base of at least 64: a walk that returns ten
    /// of a few dozen long keys was the slowest exact query left (5–6 µs, against about 2
    /// from a list), and the section's budget, not this minimum, bounds its size. Each
    /// category's lists get a fifth of its FST's bytes: on npm with two categories a row,
    /// that took the slowest filtered medians (score bands at 2–4 characters) from 3.2–4.6
    /// µs to 2.5–3.1, for a segment 2.9% larger than with a tenth.
    fn default() -> Self {
        TopListOptions {
            budget_percent: 10,
            category_percent: 20,
            min_entries: 16,
            section_min_entries: 64,
        }
    }
}

impl TopListOptions {
    /// The options a category's lists are chosen with: its own share as the budget.
    pub(crate) fn for_categories(self) -> TopListOptions {
        TopListOptions {
            budget_percent: self.category_percent,
            ..self
        }
    }
}

/// A prefix with enough entries: a node that may get a list. Its bytes are in its
/// [`Candidates`]' pool.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    start: u32,
    len: u32,
    count: u64,
}

/// The candidates, and the bytes of their prefixes in one pool: a build finds tens of
/// thousands (npm: 21,736), and a buffer of its own for each prefix held about a megabyte
/// more at the build's peak, while the FST is written.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    prefixes: Vec<u8>,
    list: Vec<Candidate>,
}

impl Candidates {
    fn push(&mut self, prefix: &[u8], count: u64) {
        let (Ok(start), Ok(len)) = (
            u32::try_from(self.prefixes.len()),
            u32::try_from(prefix.len()),
        ) else {
            // Past 4 GiB of prefixes: the rest are not candidates.
            return;
        };
        self.prefixes.extend_from_slice(prefix);
        self.list.push(Candidate { start, len, count });
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn prefix(&self, c: &Candidate) -> &[u8] {
        c.prefix_in(&self.prefixes)
    }

    /// Sorts them by their entries, most first, ties by prefix.
    fn sort_largest_first(&mut self) {
        let Candidates { prefixes, list } = self;
        list.sort_by(|a, b| {
            let by_prefix = || a.prefix_in(prefixes).cmp(b.prefix_in(prefixes));
            b.count.cmp(&a.count).then_with(by_prefix)
        });
    }
}

impl Candidate {
    fn prefix_in<'p>(&self, prefixes: &'p [u8]) -> &'p [u8] {
        let rest = prefixes.get(self.start as usize..).unwrap_or_default();
        rest.get(..self.len as usize).unwrap_or_default()
    }
}

/// Counts the entries below every prefix of the keys given in key order, and keeps the
/// prefixes with enough of them.
#[derive(Debug)]
pub(crate) struct Collector {
    /// `counts[d]`: entries below the prefix of length `d` of the previous key, `d <= depth`.
    counts: Vec<u64>,
    depth: usize,
    previous: Vec<u8>,
    /// Where the previous key's word-start separator is (its length when none).
    separator: usize,
    min_entries: u64,
    section_min_entries: u64,
    found: Candidates,
}

impl Collector {
    /// A collector keeping prefixes with at least `options.min_entries` entries (none when
    /// the budget is 0).
    pub(crate) fn new(options: TopListOptions) -> Collector {
        let min_entries = if options.budget_percent == 0 {
            u64::MAX
        } else {
            options.min_entries.max(1)
        };
        Collector {
            counts: vec![0],
            depth: 0,
            previous: Vec::new(),
            separator: 0,
            min_entries,
            section_min_entries: options.section_min_entries,
            found: Candidates::default(),
        }
    }

    /// Whether it keeps candidates at all (not when the budget is 0): its caller can skip
    /// the pass over the keys.
    pub(crate) fn collects(&self) -> bool {
        self.min_entries != u64::MAX
    }

    /// The next entry in key order.
    pub(crate) fn push(&mut self, key: &[u8]) {
        if !self.collects() {
            return;
        }
        let common = self
            .previous
            .iter()
            .zip(key)
            .take_while(|(a, b)| a == b)
            .count();
        self.close_to(common);
        self.counts.resize(key.len() + 1, 0);
        self.counts[common + 1..].fill(0);
        self.counts[key.len()] = 1;
        self.depth = key.len();
        self.previous.clear();
        self.previous.extend_from_slice(key);
        self.separator = key
            .iter()
            .position(|&b| b == WORD_START_SEPARATOR)
            .unwrap_or(key.len());
    }

    /// Closes the prefixes longer than `depth`, adding each one's count to its parent's.
    fn close_to(&mut self, depth: usize) {
        while self.depth > depth {
            let d = self.depth;
            let count = self.counts[d];
            if self.is_candidate(d, count) {
                self.found.push(&self.previous[..d], count);
            }
            self.counts[d - 1] += count;
            self.depth -= 1;
        }
    }

    /// Whether the prefix of length `d` of the previous key, with `count` entries, may get a
    /// list: enough entries, and a prefix a query can end with (whole characters, before any
    /// word-start separator).
    fn is_candidate(&self, d: usize, count: u64) -> bool {
        let boundary = self.previous.get(d).map_or(true, |&b| b & 0xC0 != 0x80);
        count >= self.min_entries && boundary && d <= self.separator
    }

    /// Closes every prefix and returns the candidates.
    pub(crate) fn finish(mut self) -> Candidates {
        if !self.collects() {
            return Candidates::default();
        }
        self.close_to(0);
        if self.counts[0] < self.section_min_entries {
            return Candidates::default();
        }
        if self.counts[0] >= self.min_entries {
            self.found.push(&[], self.counts[0]);
        }
        self.found
    }
}

/// The section for an FST of `count` suggestions, or `None` when no candidate fits `budget`
/// bytes: the candidates with the most entries first (ties by prefix), each listing what the
/// walk from its node returns first, kept if the section still fits.
pub(crate) fn section(
    (fst_bytes, main_bytes): (&[u8], Option<&[u8]>),
    count: u64,
    mut candidates: Candidates,
    budget: usize,
) -> Option<Vec<u8>> {
    let fst = fst::raw::Fst::new(fst_bytes).ok()?;
    let main = match main_bytes {
        Some(bytes) => Some(fst::raw::Fst::new(bytes).ok()?),
        None => None,
    };
    u32::try_from(fst_bytes.len()).ok()?;
    candidates.sort_largest_first();
    let mut kept = select((&fst, main.as_ref()), count, &candidates, budget);
    loop {
        if kept.is_empty() {
            return None;
        }
        let section = write(&kept);
        let Some(excess) = section.len().checked_sub(budget).filter(|&e| e > 0) else {
            return Some(section);
        };
        // The estimates may fall short (an entry's neighbours by key change as lists are
        // added): drop the last lists kept until they free the excess, and encode again.
        let mut freed = 0;
        while freed < excess {
            let Some(last) = kept.pop() else { break };
            freed += last.size;
        }
    }
}

/// A list the selection keeps: its node, its entries, and the bytes it was estimated to add.
struct Kept {
    addr: u32,
    list: List,
    size: usize,
}

/// The candidates that fit `budget`, in the order kept, by an estimate of the section's size.
fn select(over: Over<'_>, count: u64, candidates: &Candidates, budget: usize) -> Vec<Kept> {
    let most_entries = candidates.list.len().saturating_mul(LIST_LEN);
    let (header, per_node, per_index) = costs(most_entries);
    let mut size = header;
    let mut kept = Vec::new();
    let mut used: HashSet<Vec<u8>> = HashSet::new();
    let mut walked = Lookahead::new(over, count, candidates);
    let mut misses = 0;
    for (i, candidate) in candidates.list.iter().enumerate() {
        // Once the section is nearly full, the rest rarely fit: stop walking for them.
        if budget.saturating_sub(size) < per_node + per_index || misses >= MAX_MISSES {
            break;
        }
        let Some((addr, list)) = walked.take(i) else {
            continue;
        };
        let prefix = candidate.len as usize;
        let added = per_node + per_index * list.len() + new_entries_len(&used, &list, prefix);
        if list.is_empty() || size + added > budget {
            misses += 1;
            continue;
        }
        misses = 0;
        size += added;
        used.extend(list.iter().map(|(_, entry)| entry.clone()));
        kept.push(Kept {
            addr,
            list,
            size: added,
        });
    }
    kept
}

/// The estimated bytes of the entries of `list` not in `used` yet, each one front-coded among
/// the list's own sorted by key: it shares with one of its neighbours there, or at least the
/// `prefix` of the list's node, which every entry below it has.
fn new_entries_len(used: &HashSet<Vec<u8>>, list: &List, prefix: usize) -> usize {
    let mut new: Vec<&(u64, Vec<u8>)> = list.iter().filter(|(_, e)| !used.contains(e)).collect();
    new.sort_by(|a, b| a.1.cmp(&b.1));
    new.dedup_by(|a, b| a.1 == b.1);
    let mut len = 0;
    for (i, (cost, entry)) in new.iter().enumerate() {
        let mates = [
            i.checked_sub(1).map(|j| &new[j].1),
            new.get(i + 1).map(|n| &n.1),
        ];
        let shared = mates
            .into_iter()
            .flatten()
            .map(|key| shared_len(key, entry))
            .fold(prefix.min(entry.len()), usize::max);
        len += entry_len(*cost, shared, entry.len() - shared);
    }
    len
}

/// Candidates walked per round: the selection may stop anywhere, so walking far ahead would
/// be wasted, while each round costs starting a thread.
const LOOKAHEAD: usize = 256;

/// The candidates' nodes and lists, walked a round ahead of the selection, each round's
/// candidates split over two threads.
struct Lookahead<'a> {
    over: Over<'a>,
    count: u64,
    candidates: &'a Candidates,
    /// The round's first candidate, and each one's node and list (`None`: none to list).
    start: usize,
    walked: Vec<Option<(u32, List)>>,
    walkers: [Walker; 2],
}

impl<'a> Lookahead<'a> {
    fn new(over: Over<'a>, count: u64, candidates: &'a Candidates) -> Self {
        Lookahead {
            over,
            count,
            candidates,
            start: 0,
            walked: Vec::new(),
            walkers: Default::default(),
        }
    }

    /// Candidate `i`'s node and list; `i` counts up from 0, one call each.
    fn take(&mut self, i: usize) -> Option<(u32, List)> {
        if i >= self.start + self.walked.len() {
            self.walk_round(i);
        }
        self.walked.get_mut(i - self.start)?.take()
    }

    /// Walks the round of candidates from `start`, half on each thread.
    fn walk_round(&mut self, start: usize) {
        let candidates = self.candidates;
        let end = (start + LOOKAHEAD).min(candidates.list.len());
        let round = &candidates.list[start..end];
        let (first, second) = round.split_at(round.len() / 2);
        let (over, count) = (self.over, self.count);
        let [w1, w2] = &mut self.walkers;
        let walk_all = |walker: &mut Walker, part: &[Candidate]| -> Vec<Option<(u32, List)>> {
            part.iter()
                .map(|c| walk_candidate(over, count, walker, candidates.prefix(c)))
                .collect()
        };
        let (mut a, b) = parallel::join(|| walk_all(w1, first), || walk_all(w2, second));
        a.extend(b);
        self.start = start;
        self.walked = a;
    }
}

/// The node of a candidate's `prefix` and what the walk from it returns first; `None` when
/// the prefix is not whole characters or leads nowhere, or when no query could find the list:
/// a query finds it by the cost accumulated on the way to the node, which is the list's first
/// cost everywhere but at the root of a category's FST (reached at cost 0, while its cheapest
/// entry costs the category's best rank). In a cut FST, also `None` at or below a cut: a
/// query goes on in the main FST there.
fn walk_candidate(
    over: Over<'_>,
    count: u64,
    walker: &mut Walker,
    prefix: &[u8],
) -> Option<(u32, List)> {
    let prefix = std::str::from_utf8(prefix).ok()?;
    let (addr, cost) = follow_exact(over.0, prefix).ok().flatten()?;
    if over.1.is_some() && is_final(over.0, addr) {
        return None;
    }
    let addr = u32::try_from(addr).ok()?;
    let list = walker.first(over, count, prefix, LIST_LEN).ok()?;
    if list.first().is_some_and(|&(first, _)| first != cost) {
        return None;
    }
    Some((addr, list))
}

/// Encodes the kept nodes, sorted by address then first cost, over the entries they use.
fn write(kept: &[Kept]) -> Vec<u8> {
    let mut nodes: Vec<(u32, &List)> = kept.iter().map(|k| (k.addr, &k.list)).collect();
    nodes.sort_by(|a, b| (a.0, a.1.first()).cmp(&(b.0, b.1.first())));
    // Most entries are in several lists: sort each one once, and number them by hash.
    let mut costs: HashMap<&[u8], u64> = HashMap::new();
    for (cost, entry) in kept.iter().flat_map(|k| &k.list) {
        costs.insert(entry, *cost);
    }
    let mut pool: Vec<(u64, &[u8])> = costs.into_iter().map(|(e, c)| (c, e)).collect();
    pool.sort_unstable_by(|a, b| a.1.cmp(b.1));
    let numbers: HashMap<&[u8], u32> = pool.iter().zip(0..).map(|(&(_, e), i)| (e, i)).collect();
    let index_of = |(_, entry): &(u64, Vec<u8>)| numbers[entry.as_slice()];
    let nodes: Vec<(u32, Vec<u32>)> = nodes
        .iter()
        .map(|(addr, list)| (*addr, list.iter().map(index_of).collect()))
        .collect();
    let mut out = Vec::new();
    encode(&mut out, &nodes, &pool);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::{Collector, TopListOptions};
    use crate::format::WORD_START_SEPARATOR;

    /// The candidates by brute force: every prefix a query can end with (whole characters,
    /// not past a word-start separator) of at least `min` keys, most keys first, ties by
    /// prefix; none when there are fewer than `section_min` keys.
    fn brute(keys: &[Vec<u8>], min: u64, section_min: u64) -> Vec<(Vec<u8>, u64)> {
        if (keys.len() as u64) < section_min {
            return Vec::new();
        }
        let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for key in keys {
            let separator = key.iter().position(|&b| b == WORD_START_SEPARATOR);
            for d in 0..=separator.unwrap_or(key.len()) {
                if key.get(d).map_or(true, |&b| b & 0xC0 != 0x80) {
                    *counts.entry(key[..d].to_vec()).or_default() += 1;
                }
            }
        }
        let mut found: Vec<(Vec<u8>, u64)> = counts.into_iter().filter(|c| c.1 >= min).collect();
        found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        found
    }

    /// Keys over a few bytes, a two-byte character and the separator among them.
    fn keys() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let unit = prop::sample::select(vec![
            b"a".to_vec(),
            b"b".to_vec(),
            " ".as_bytes().to_vec(),
            "é".as_bytes().to_vec(),
            vec![WORD_START_SEPARATOR],
        ]);
        let key = proptest::collection::vec(unit, 1..6).prop_map(|units| units.concat());
        proptest::collection::btree_set(key, 0..80).prop_map(|set| set.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn candidates_are_the_counted_prefixes(keys in keys(), min in 1u64..8, section_min in 0u64..40) {
            let options = TopListOptions {
                budget_percent: 10,
                category_percent: 10,
                min_entries: min,
                section_min_entries: section_min,
            };
            let mut collector = Collector::new(options);
            for key in &keys {
                collector.push(key);
            }
            let mut candidates = collector.finish();
            candidates.sort_largest_first();
            let found: Vec<(Vec<u8>, u64)> = candidates
                .list
                .iter()
                .map(|c| (candidates.prefix(c).to_vec(), c.count))
                .collect();
            prop_assert_eq!(found, brute(&keys, min, section_min));
        }
    }
}
