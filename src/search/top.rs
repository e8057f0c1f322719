//! Answers from a segment's precomputed top lists (see `format::top`), and the deep check that
//! each list is what the walk from its node returns first.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::runs::Part;
use super::walk::{self, follow_exact, rank_of, split_entry, Walk, WalkState};
use super::{Hit, Searcher, Stream};
use crate::error::{Error, Result};
use crate::format::top::{EntryTable, ListEntry, NodeAt, TopList};
use crate::segment::View;
use crate::stack::Layers;

/// A stream of a merge that takes its first matches from its segment's top list: the entries
/// (cost and place in the segment's entry table, or the stack's longer lists') and the next
/// one to take. Inactive (empty) when the stream walks. Over a delta whose entries the stack
/// keeps in key order, the stream takes all its matches from their run instead
/// ([`super::runs`]), and never walks.
#[derive(Debug, Default, Clone)]
pub(super) struct Listed {
    /// Each entry's cost and index in its table.
    entries: Vec<(u64, u32)>,
    /// Whether the entries are the stack's longer list's rather than the segment's.
    long: bool,
    /// The category whose lists the entries are from, if not the main FST's.
    #[cfg(not(target_family = "wasm"))]
    category: Option<usize>,
    next: usize,
    /// Where the exact part of the query leads in the stream's FST, once followed this pass
    /// (the walk starts there instead of following it again).
    start: Option<Option<(usize, u64)>>,
    /// Whether the stream takes its matches from `parts`: the run of its delta's entries
    /// under the query's prefix, cheapest part first.
    in_run: bool,
    parts: BinaryHeap<Reverse<Part>>,
}

impl Listed {
    /// Whether the stream still takes its matches from the list or a run.
    pub(super) fn active(&self) -> bool {
        !self.entries.is_empty() || self.in_run
    }

    /// Whether the stream certainly holds no match this pass: its exact part leads nowhere
    /// in its FST, the prefix filter rules its delta out, or its run under the prefix is
    /// empty.
    #[cfg_attr(feature = "lean", allow(dead_code))]
    pub(super) fn holds_none(&self) -> bool {
        !self.active() && self.start == Some(None)
    }

    /// Whether the stream takes every match from a run: once it runs out, so has the stream.
    pub(super) fn in_run(&self) -> bool {
        self.in_run
    }

    /// The run's parts, while the stream takes its matches from a run.
    pub(super) fn parts(&self) -> &BinaryHeap<Reverse<Part>> {
        &self.parts
    }

    /// A lower bound of the cost of the stream's next match while the list is active: the
    /// next entry's, or the last one's once all are taken (the walk goes on from there). Not
    /// for a run, whose entries come from several layers (see `DeltaRuns::bound`).
    pub(super) fn next_cost(&self) -> Option<u64> {
        let at = self.next.min(self.entries.len().checked_sub(1)?);
        Some(self.entries[at].0)
    }

    /// The list's (or run's) next entry that `accept` takes, as a match with its score;
    /// `None` when the list is used up. Each entry taken from a run costs a visit of
    /// `budget`: refused ones (hidden by a blocklist prefix) could be most of a delta.
    #[cfg_attr(not(feature = "lean"), inline(always))]
    pub(super) fn take(
        &mut self,
        layers: &Layers<'_>,
        (layer, exact): (u32, &str),
        keys: &mut Vec<u8>,
        budget: &mut walk::Budget,
        accept: &mut dyn FnMut(&Hit, &[u8]) -> bool,
    ) -> Result<Option<Hit>> {
        if self.in_run {
            while budget.spend() {
                let Some((at, cost, entry)) = layers.runs().and_then(|r| r.next(&mut self.parts))
                else {
                    break;
                };
                let view = layers.views().get(at).ok_or_else(|| {
                    Error::corrupt("runs", "an entry of a layer the stack does not have")
                })?;
                let (_, is_word_start) = rank_of(cost, view.count())?;
                let (head, suffix) = split_entry(entry, is_word_start)?;
                let entry = ListEntry {
                    cost,
                    head,
                    suffix,
                    word_start: is_word_start,
                };
                if let Some(hit) = offer(entry, view, at as u32, exact, keys, accept)? {
                    return Ok(Some(hit));
                }
            }
            return Ok(None);
        }
        let view = &layers.views()[layer as usize];
        let table = match self.long {
            true => layers.long_table(),
            false => view.top_table(),
        };
        #[cfg(not(target_family = "wasm"))]
        let table = match self.category {
            Some(c) => view.category_top_table(c),
            None => table,
        };
        while let Some(&(_, at)) = self.entries.get(self.next) {
            self.next += 1;
            let entry = table
                .get(at as usize)
                .ok_or_else(|| Error::corrupt("top lists", format!("no entry {at}")))?;
            if let Some(hit) = offer(entry, view, layer, exact, keys, accept)? {
                return Ok(Some(hit));
            }
        }
        Ok(None)
    }

    /// Ends the list (the stream walks from now on); returns how many entries it gave, which
    /// the walk passes over.
    pub(super) fn finish(&mut self) -> usize {
        let taken = self.entries.len();
        self.entries.clear();
        self.long = false;
        #[cfg(not(target_family = "wasm"))]
        {
            self.category = None;
        }
        self.next = 0;
        self.in_run = false;
        self.parts.clear();
        taken
    }

    /// Takes the entries of a segment's list.
    fn decode(&mut self, mut list: TopList<'_>) {
        while let Some(entry) = list.next_indexed() {
            self.entries.push(entry);
        }
    }

    /// Takes the entries `range` of the stack's longer lists.
    #[cfg(not(target_family = "wasm"))]
    fn take_long(&mut self, range: std::ops::Range<usize>, table: &EntryTable) {
        self.long = true;
        for at in range {
            if let (Some(cost), Ok(at)) = (table.cost(at), u32::try_from(at)) {
                self.entries.push((cost, at));
            }
        }
    }

    /// Where the exact part of the query leads, if followed this pass.
    pub(super) fn start(&self) -> Option<Option<(usize, u64)>> {
        self.start
    }
}

/// The match of a list or run entry, its key appended to `keys`, if `accept` takes it (the
/// key is removed again if not).
#[cfg_attr(not(feature = "lean"), inline(always))]
fn offer(
    entry: ListEntry<'_>,
    view: &View<'_>,
    layer: u32,
    exact: &str,
    keys: &mut Vec<u8>,
    accept: &mut dyn FnMut(&Hit, &[u8]) -> bool,
) -> Result<Option<Hit>> {
    let (rank, is_word_start) = rank_of(entry.cost, view.count())?;
    if is_word_start != entry.word_start {
        return Err(Error::corrupt(
            "top lists",
            "word-start entry and output disagree",
        ));
    }
    let (head, suffix) = (entry.head, entry.suffix);
    let key_start = keys.len();
    keys.extend_from_slice(head.as_bytes());
    keys.extend_from_slice(suffix.as_bytes());
    let word_start = head.len() as u32;
    let hit = Hit {
        rank,
        layer,
        score: view.score(rank)?,
        key_start: key_start as u32,
        key_end: keys.len() as u32,
        edits: 0,
        word_start,
        match_end: word_start + (exact.len() as u32).min(suffix.len() as u32),
    };
    if accept(&hit, &keys[key_start..]) {
        return Ok(Some(hit));
    }
    keys.truncate(key_start);
    Ok(None)
}

impl Searcher {
    /// Gives each stream of a merge that can use one its top list: a plain pass over a
    /// segment's main FST whose node has a list; clears the others. In a plain pass, also
    /// notes where each stream's exact part leads, for its walk.
    pub(super) fn list_streams(
        &mut self,
        layers: &Layers<'_>,
        streams: &[Stream<'_>],
        exact: &str,
        plain: bool,
    ) -> Result<()> {
        if self.listed.len() < streams.len() {
            self.listed.resize_with(streams.len(), Default::default);
        }
        let probe = if plain { layers.probe(exact) } else { None };
        let before = self.followed;
        for (listed, stream) in self.listed.iter_mut().zip(streams) {
            listed.finish();
            listed.start = None;
            if !plain {
                continue;
            }
            // The first kept delta's run holds every kept delta's entries (the others' are
            // empty), so it comes before the filter of this layer's own prefixes.
            let runs = layers.runs().filter(|_| stream.main());
            if runs.is_some_and(|r| r.start(stream.layer, exact.as_bytes(), &mut listed.parts)) {
                listed.in_run = !listed.parts.is_empty();
                // Nothing under the prefix: the walk, begun, finds nothing at once.
                listed.start = (!listed.in_run).then_some(None);
                continue;
            }
            // The filter knows the main FSTs' entries, not the category FSTs'.
            if stream.main() && !layers.may_hold(stream.layer, probe) {
                listed.start = Some(None);
                continue;
            }
            let followed = match followed_before(before, stream, exact) {
                Some(followed) => followed,
                // Lean builds take no list: their walks follow the prefix themselves.
                None if stream.main.is_some() && cfg!(feature = "lean") => continue,
                None if stream.main.is_some() => match follow_cuts(stream, exact)? {
                    Some(None) => {
                        // Below a cut every key is the category's: the main FST's list
                        // serves, and the walk goes on from the prefix's node there.
                        let view = &layers.views()[stream.layer];
                        let main = main_followed(before, stream, exact);
                        if let Some(list) = main_list(view, main, exact)? {
                            listed.decode(list);
                        }
                        continue;
                    }
                    followed => followed.flatten(),
                },
                None => follow_exact(&stream.fst, exact)?,
            };
            listed.start = Some(followed);
            let Some((addr, cost)) = followed else {
                continue;
            };
            let at = NodeAt { addr, cost };
            if !stream.main() {
                #[cfg(not(target_family = "wasm"))]
                if let Some(list) =
                    layers.views()[stream.layer].category_top_list(stream.category as usize, at)
                {
                    listed.category = Some(stream.category as usize);
                    listed.decode(list);
                }
                continue;
            }
            #[cfg(not(target_family = "wasm"))]
            if let Some(long) = layers.long_list(stream.layer, at) {
                listed.take_long(long, layers.long_table());
                continue;
            }
            if let Some(list) = layers.views()[stream.layer].top_list(at) {
                listed.decode(list);
            }
        }
        Ok(())
    }
}

/// A node's first entries: each one's cost and FST entry bytes, in the walk's order.
pub(crate) type List = Vec<(u64, Vec<u8>)>;

/// Checks that every list of the segment is, entry for entry, what the walk from its node
/// returns first: the node is found by following the list's first entry from the root, at
/// the cost the list starts with, on a prefix a query can end with. The same for each
/// category's lists, against the category's FST.
pub(crate) fn check_top_lists(view: &View<'_>) -> Result<()> {
    // Lean builds answer from no list and keep no decoded entries: a list cannot change
    // their answers, and open has checked each entry.
    if cfg!(feature = "lean") {
        return Ok(());
    }
    let mut walker = Walker::default();
    let main = (view.fst(), None);
    check_lists(&mut walker, main, view.count(), view.top_lists())?;
    #[cfg(not(target_family = "wasm"))]
    for i in 0..view.category_count() {
        let fst = view.category_fst_at(i)?;
        let over = (&fst, view.category_cuts().then_some(view.fst()));
        check_lists(&mut walker, over, view.count(), view.category_top_lists(i))
            .map_err(|e| Error::corrupt("category top lists", format!("category {i}: {e}")))?;
    }
    Ok(())
}

/// Checks `lists` of `fst` against the walks from their nodes.
fn check_lists<'a>(
    walker: &mut Walker,
    over: Over<'_>,
    count: u64,
    lists: impl Iterator<Item = (usize, TopList<'a>)>,
) -> Result<()> {
    for (addr, list) in lists {
        let listed: List = list.collect();
        let prefix = prefix_of(over.0, addr, &listed)?;
        let walked = walker.first(over, count, prefix, listed.len())?;
        if walked.len() < listed.len() {
            return Err(list_error(
                addr,
                "lists more entries than lie below it".into(),
            ));
        }
        for (i, (listed, walked)) in listed.iter().zip(&walked).enumerate() {
            if listed != walked {
                return Err(list_error(
                    addr,
                    format!("entry {i} differs from the walk's"),
                ));
            }
        }
    }
    Ok(())
}

/// The prefix leading to node `addr` at the cost of the list's first entry, found along that
/// entry's bytes.
fn prefix_of<'l>(
    fst: &fst::raw::Fst<&[u8]>,
    addr: usize,
    listed: &'l [(u64, Vec<u8>)],
) -> Result<&'l str> {
    let (first_cost, entry) = listed
        .first()
        .map(|(cost, entry)| (*cost, entry.as_slice()))
        .ok_or_else(|| list_error(addr, "empty list".into()))?;
    let mut node = fst.root();
    let mut cost = 0u64;
    for depth in 0..=entry.len() {
        if node.addr() == addr && cost == first_cost {
            return std::str::from_utf8(&entry[..depth])
                .map_err(|_| list_error(addr, "its prefix is not whole characters".into()));
        }
        let Some(&b) = entry.get(depth) else { break };
        let Some(i) = node.find_input(b) else { break };
        let t = node.transition(i);
        cost = cost.saturating_add(t.out.value());
        node = fst.node(t.addr);
    }
    Err(list_error(
        addr,
        "its first entry does not pass through it".into(),
    ))
}

/// The FST a walk starts in, and the main FST when that one holds a category's cuts.
pub(crate) type Over<'a> = (
    &'a fst::raw::Fst<&'a [u8]>,
    Option<&'a fst::raw::Fst<&'a [u8]>>,
);

/// Runs plain walks to list what they return first: how the builder makes each list and how
/// the deep check compares them.
#[derive(Default)]
pub(crate) struct Walker {
    state: WalkState,
    keys: Vec<u8>,
}

impl Walker {
    /// The first `n` entries (cost, FST entry bytes) of a plain walk from `prefix`, in the
    /// walk's order, repeats of a phrase included: equal costs (one phrase's word starts) come
    /// in the order the walk meets them, which a list must keep.
    pub(crate) fn first(
        &mut self,
        over: Over<'_>,
        count: u64,
        prefix: &str,
        n: usize,
    ) -> Result<List> {
        Ok(self
            .first_within(over, count, prefix, n, usize::MAX)?
            .unwrap_or_default())
    }

    /// [`Walker::first`] within `max_visits` node visits: `None` when they run out.
    pub(crate) fn first_within(
        &mut self,
        (fst, main): Over<'_>,
        count: u64,
        prefix: &str,
        n: usize,
        max_visits: usize,
    ) -> Result<Option<List>> {
        let mut budget = walk::Budget::new(max_visits);
        self.keys.clear();
        let mut walk = Walk {
            fst,
            main,
            exact: prefix,
            typos: None,
            count,
            layer: 0,
            keys: &mut self.keys,
            start: None,
            #[cfg(not(feature = "lean"))]
            main_start: None,
        };
        // A fresh budget: forget the previous walk's candidates without returning them to it.
        self.state.start_query(usize::MAX);
        // Unbounded, as with refusals likely: a bounded walk may stop early and want a restart.
        self.state.begin(&walk, &mut budget, None)?;
        let mut found = Vec::with_capacity(n);
        while found.len() < n {
            let Some(hit) = self.state.next(&mut walk, &mut budget, &mut |_, _| true)? else {
                break;
            };
            found.push(hit);
        }
        if budget.truncated() {
            return Ok(None);
        }
        let keys = crate::format::bytes::utf8(&self.keys).ok_or_else(Error::key_not_utf8)?;
        Ok(Some(
            found.iter().map(|hit| entry_of(hit, keys, count)).collect(),
        ))
    }
}

/// The FST entry and cost a match came from: the key, or for a word start "suffix 0xFF head".
fn entry_of(hit: &Hit, keys: &str, count: u64) -> (u64, Vec<u8>) {
    let key = keys
        .get(hit.key_start as usize..hit.key_end as usize)
        .unwrap_or_default();
    // The walk's word start is where a word begins in the key, a character boundary.
    let (head, suffix) = key
        .split_at_checked(hit.word_start as usize)
        .unwrap_or(("", key));
    let word_start = !head.is_empty();
    let cost = u64::from(hit.rank) + if word_start { count } else { 0 };
    let entry = ListEntry {
        cost,
        head,
        suffix,
        word_start,
    };
    (cost, entry.fst_bytes())
}

fn list_error(addr: usize, problem: String) -> Error {
    Error::corrupt("top lists", format!("the list of node {addr}: {problem}"))
}

/// Longer copies of a base's top lists, for the nodes whose lists a stack thins out.
///
/// A list holds the node's first entries, a few more than the default `k`, so that a query
/// can refuse a couple (the exact phrase met again, a repeat) and still finish from the list.
/// Over a stack, entries whose keys a delta decides or the blocklist hides are refused too;
/// once more are refused than the list has to spare, the query falls back to a walk from the
/// node that passes over every listed entry again, by far the slowest way to answer. For each
/// list with hidden entries, the stack keeps the node's first entries up to as many visible
/// ones as the list had: what the walk returns first, so answers do not change, only where
/// they come from.
#[derive(Debug, Clone, Default)]
#[cfg_attr(target_family = "wasm", allow(dead_code))]
pub(crate) struct LongLists {
    /// Per node with a longer list, in the order made (that of the base's lists, by address):
    /// its address, first cost, and where its entries end in `table` (they start where the
    /// previous node's end).
    nodes: Vec<(usize, u64, usize)>,
    table: EntryTable,
}

/// The most entries a longer list takes: past that (a blocklist prefix hiding most of a
/// node), the walk from the node is as good.
#[cfg(not(target_family = "wasm"))]
const LONG_LIST_MAX: usize = 8 * LONG_LIST_UNIT;
/// Entries a list is first grown by, per hidden one.
#[cfg(not(target_family = "wasm"))]
const LONG_LIST_UNIT: usize = 8;
/// Node visits one longer list may cost to make: bounds the work on crafted segments.
#[cfg(not(target_family = "wasm"))]
const LONG_LIST_VISITS: usize = 1 << 14;
/// The most entries all longer lists of a stack may hold: bounds memory and the time to make
/// a stack.
#[cfg(not(target_family = "wasm"))]
const LONG_LISTS_MAX_ENTRIES: usize = 1 << 18;

impl LongLists {
    /// None in WebAssembly builds: making them takes 3.8 KB gzip of code, which the worker's
    /// bundle budget (250 KB) does not have room for. Answers are the same without them.
    #[cfg(target_family = "wasm")]
    pub(crate) fn of(_layers: &Layers<'_>) -> LongLists {
        LongLists::default()
    }

    /// The longer lists of the base (layer 0) of `layers`. A list that cannot be made longer
    /// within the bounds (or is corrupt) is left as it is: queries then walk, as before.
    #[cfg(not(target_family = "wasm"))]
    pub(crate) fn of(layers: &Layers<'_>) -> LongLists {
        let mut long = LongLists::default();
        let Some(base) = layers.views().first() else {
            return long;
        };
        let mut walker = Walker::default();
        for (addr, list) in base.top_lists() {
            if long.table.len() >= LONG_LISTS_MAX_ENTRIES {
                break;
            }
            let listed: List = list.collect();
            let visible = listed
                .iter()
                .filter(|(cost, entry)| !hidden(layers, base, *cost, entry))
                .count();
            if visible == listed.len() {
                continue;
            }
            let Some(&(first_cost, _)) = listed.first() else {
                continue;
            };
            let Ok(prefix) = prefix_of(base.fst(), addr, &listed) else {
                continue;
            };
            if let Some(entries) = longer(&mut walker, layers, base, prefix, listed.len()) {
                long.insert(addr, first_cost, &entries);
            }
        }
        long
    }

    #[cfg(not(target_family = "wasm"))]
    fn insert(&mut self, addr: usize, first_cost: u64, entries: &[(u64, Vec<u8>)]) {
        let before = self.table.len();
        for (cost, entry) in entries {
            if self.table.push(*cost, entry).is_none() {
                // Not a key: the node keeps its own list.
                self.table.truncate(before);
                return;
            }
        }
        self.nodes.push((addr, first_cost, self.table.len()));
    }

    /// The longer list of the base's node `at`, if the stack has one.
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub(crate) fn get(&self, at: NodeAt) -> Option<std::ops::Range<usize>> {
        let i = self
            .nodes
            .binary_search_by(|&(addr, cost, _)| (addr, cost).cmp(&(at.addr, at.cost)))
            .ok()?;
        let start = i.checked_sub(1).map_or(0, |before| self.nodes[before].2);
        Some(start..self.nodes[i].2)
    }

    /// The entries of every longer list.
    pub(crate) fn table(&self) -> &EntryTable {
        &self.table
    }
}

/// Whether the stack refuses the base's list entry of `cost`: a newer layer decides its key,
/// or the blocklist hides it. A corrupt entry counts as hidden (the list is then remade).
#[cfg(not(target_family = "wasm"))]
fn hidden(layers: &Layers<'_>, base: &View<'_>, cost: u64, entry: &[u8]) -> bool {
    let Ok((rank, is_word_start)) = rank_of(cost, base.count()) else {
        return true;
    };
    let Ok((head, suffix)) = split_entry(entry, is_word_start) else {
        return true;
    };
    if head.is_empty() {
        return layers.hides(0, rank, suffix.as_bytes());
    }
    let mut key = Vec::with_capacity(head.len() + suffix.len());
    key.extend_from_slice(head.as_bytes());
    key.extend_from_slice(suffix.as_bytes());
    layers.hides(0, rank, &key)
}

/// The first entries of the walk from `prefix`, as many as hold `wanted` entries the stack
/// does not refuse (or all there are); `None` past the bounds.
#[cfg(not(target_family = "wasm"))]
fn longer(
    walker: &mut Walker,
    layers: &Layers<'_>,
    base: &View<'_>,
    prefix: &str,
    wanted: usize,
) -> Option<List> {
    let mut n = wanted.saturating_add(LONG_LIST_UNIT);
    loop {
        let entries = walker
            .first_within(
                (base.fst(), None),
                base.count(),
                prefix,
                n,
                LONG_LIST_VISITS,
            )
            .ok()??;
        let mut seen = 0;
        let enough = entries.iter().position(|(cost, entry)| {
            seen += usize::from(!hidden(layers, base, *cost, entry));
            seen == wanted
        });
        if let Some(last) = enough {
            let mut entries = entries;
            entries.truncate(last + 1);
            return Some(entries);
        }
        if entries.len() < n {
            return Some(entries);
        }
        if n >= LONG_LIST_MAX {
            return None;
        }
        n = (n * 2).min(LONG_LIST_MAX);
    }
}

/// Where `exact` leads in `stream`, if the exact-phrase look-up followed it already (`before`
/// is [`Searcher::followed`]).
fn followed_before(
    before: Option<(usize, Option<(usize, u64)>)>,
    stream: &Stream<'_>,
    exact: &str,
) -> Option<Option<(usize, u64)>> {
    stream
        .main()
        .then(|| main_followed(before, stream, exact))
        .flatten()
}

/// Where `exact` leads in the main FST of `stream`'s layer, if the exact-phrase look-up
/// followed it already: the base's, for the whole query.
#[cfg(not(feature = "lean"))]
pub(super) fn main_followed(
    before: Option<(usize, Option<(usize, u64)>)>,
    stream: &Stream<'_>,
    exact: &str,
) -> Option<Option<(usize, u64)>> {
    match before {
        Some((len, followed)) if stream.layer == 0 && len == exact.len() => Some(followed),
        _ => None,
    }
}

/// Where `exact` leads in a stream over a category's cuts: `None` when nowhere, `Some(None)`
/// when below a cut, into the main FST (not followed there).
fn follow_cuts(stream: &Stream<'_>, exact: &str) -> Result<Option<Option<(usize, u64)>>> {
    Ok(
        walk::follow_cuts(&stream.fst, exact.as_bytes())?.map(|to| match to {
            walk::InCuts::Node(addr, cost) => Some((addr, cost)),
            walk::InCuts::BelowCut => None,
        }),
    )
}

/// The main FST's list of the node `exact` leads to, if it has one; `followed` is that node
/// when known already.
fn main_list<'a>(
    view: &View<'a>,
    followed: Option<Option<(usize, u64)>>,
    exact: &str,
) -> Result<Option<TopList<'a>>> {
    let followed = match followed {
        Some(followed) => followed,
        None => follow_exact(view.fst(), exact)?,
    };
    Ok(followed.and_then(|(addr, cost)| view.top_list(NodeAt { addr, cost })))
}

/// Never in lean builds (see `Searcher::exact_phrase`).
#[cfg(feature = "lean")]
fn main_followed(
    _: Option<(usize, Option<(usize, u64)>)>,
    _: &Stream<'_>,
    _: &str,
) -> Option<Option<(usize, u64)>> {
    None
}

#[cfg(all(test, feature = "build"))]
// Some tests need answers from top lists, which lean builds never give.
#[cfg_attr(feature = "lean", allow(unused_imports, dead_code))]
pub(super) mod tests {
    use super::*;
    use crate::search::SuggestOptions;
    use crate::{DeltaBuilder, Searcher, Segment, SegmentBuilder, Stack};

    /// A base of "a000".."a199" (scores 1000 down) and "b000".."b199" (500 down), with lists
    /// at "a" and "b" only (and not at the root: its entries are a list's whole budget).
    pub(in crate::search) fn two_letter_base() -> Segment<Vec<u8>> {
        two_prefix_base("a", "b", 200)
    }

    /// A base of `n` phrases under each of two prefixes, `a` followed by 000, 001… (scores
    /// 1000 down), `b` likewise (500 down), with lists where at least 64 entries lie below.
    pub(in crate::search) fn two_prefix_base(a: &str, b: &str, n: u64) -> Segment<Vec<u8>> {
        let mut base = SegmentBuilder::with_options(crate::BuildOptions {
            top_lists: crate::TopListOptions {
                budget_percent: 1000,
                category_percent: 1000,
                min_entries: 64,
                section_min_entries: 64,
            },
            ..Default::default()
        });
        for i in 0..n {
            base.add(&format!("{a}{i:03}"), 1_000 - i).unwrap();
            base.add(&format!("{b}{i:03}"), 500 - i).unwrap();
        }
        Segment::load(base.finish().unwrap().bytes).unwrap()
    }

    /// A list with more entries hidden than it has to spare gets a longer copy: the walk's
    /// first entries, up to as many visible ones as the list had; a list nothing hides gets
    /// none.
    // Lean builds answer from no top list, so stacks make no lists from them.
    #[cfg(not(feature = "lean"))]
    #[test]
    fn thinned_lists_get_longer_copies() {
        let base = two_letter_base();
        let mut delta = DeltaBuilder::new();
        for i in [0u64, 2, 4, 6] {
            delta.delete(&format!("a{i:03}")).unwrap();
        }
        let delta = Segment::load(delta.finish().unwrap().bytes).unwrap();
        let stack = Stack::new(base, vec![delta], None).unwrap();
        let layers = crate::stack::sealed::Source::layers(&stack).unwrap();
        let view = &layers.views()[0];
        let node = |prefix: &str| {
            let (addr, cost) = follow_exact(view.fst(), prefix).unwrap().unwrap();
            NodeAt { addr, cost }
        };
        let own = view.top_list(node("a")).unwrap().count();
        let long = layers
            .long_list(0, node("a"))
            .expect("a longer list for \"a\"");
        assert_eq!(long.len(), own + 4);
        let mut walker = Walker::default();
        let walked = walker
            .first((view.fst(), None), view.count(), "a", long.len())
            .unwrap();
        assert_eq!(walked.len(), long.len());
        for (at, (walked_cost, entry)) in long.zip(&walked) {
            let listed = layers.long_table().get(at).unwrap();
            assert_eq!(listed.cost, *walked_cost);
            assert_eq!(listed.fst_bytes(), *entry);
        }
        assert!(view.top_list(node("b")).is_some());
        assert!(layers.long_list(0, node("b")).is_none());
        let found = Searcher::new()
            .search(&stack, "a", &SuggestOptions::with_k(10))
            .unwrap()
            .to_owned();
        let keys: Vec<&str> = found.items.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            ["a001", "a003", "a005", "a007", "a008", "a009", "a010", "a011", "a012", "a013"]
        );
    }
}
