//! Answers from a segment's precomputed top lists (see `format::top`), and the deep check that
//! each list is what the walk from its node returns first.

use super::walk::{self, follow_exact, rank_of, split_entry, Walk, WalkState};
use super::{Hit, Searcher, Stream};
use crate::error::{Error, Result};
use crate::format::top::NodeAt;
use crate::segment::View;
use crate::stack::Layers;

/// A stream of a merge that takes its first matches from its segment's top list: the entries
/// (cost and byte range in the segment) and the next one to take. Inactive (empty) when the
/// stream walks.
#[derive(Debug, Default, Clone)]
pub(super) struct Listed {
    entries: Vec<(u64, std::ops::Range<usize>)>,
    next: usize,
    /// Where the exact part of the query leads in the stream's FST, once followed this pass
    /// (the walk starts there instead of following it again).
    start: Option<Option<(usize, u64)>>,
}

impl Listed {
    /// Whether the stream still takes its matches from the list.
    pub(super) fn active(&self) -> bool {
        !self.entries.is_empty()
    }

    /// A lower bound of the cost of the stream's next match while the list is active: the
    /// next entry's, or the last one's once all are taken (the walk goes on from there).
    pub(super) fn next_cost(&self) -> Option<u64> {
        let at = self.next.min(self.entries.len().checked_sub(1)?);
        Some(self.entries[at].0)
    }

    /// The list's next entry that `accept` takes, as a match with its score; `None` when the
    /// list is used up.
    pub(super) fn take(
        &mut self,
        view: &View<'_>,
        layer: u32,
        exact: &str,
        keys: &mut String,
        accept: &mut dyn FnMut(&Hit, &str) -> bool,
    ) -> Result<Option<Hit>> {
        while let Some((cost, range)) = self.entries.get(self.next).cloned() {
            self.next += 1;
            let entry = view
                .bytes_at(range)
                .ok_or_else(|| Error::corrupt("top lists", "an entry lies outside the segment"))?;
            let (rank, is_word_start) = rank_of(cost, view.count())?;
            let (head, suffix) = split_entry(entry, is_word_start)?;
            let key_start = keys.len();
            keys.push_str(head);
            keys.push_str(suffix);
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
        }
        Ok(None)
    }

    /// Ends the list (the stream walks from now on); returns how many entries it gave, which
    /// the walk passes over.
    pub(super) fn finish(&mut self) -> usize {
        let taken = self.entries.len();
        self.entries.clear();
        self.next = 0;
        taken
    }

    /// Where the exact part of the query leads, if followed this pass.
    pub(super) fn start(&self) -> Option<Option<(usize, u64)>> {
        self.start
    }
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
        for (listed, stream) in self.listed.iter_mut().zip(streams) {
            listed.finish();
            listed.start = None;
            if !plain {
                continue;
            }
            let followed = follow_exact(&stream.fst, exact)?;
            listed.start = Some(followed.as_ref().map(|(node, cost)| (node.addr(), *cost)));
            let Some((node, cost)) = followed else {
                continue;
            };
            if !stream.main {
                continue;
            }
            let view = &layers.views()[stream.layer];
            let Some(mut list) = view.top_list(NodeAt {
                addr: node.addr(),
                cost,
            }) else {
                continue;
            };
            while let Some(entry) = list.next_range() {
                listed.entries.push(entry);
            }
        }
        Ok(())
    }
}

/// Checks that every list of the segment is, entry for entry, what the walk from its node
/// returns first: the node is found by following the list's first entry from the root, at
/// the cost the list starts with, on a prefix a query can end with.
pub(crate) fn check_top_lists(view: &View<'_>) -> Result<()> {
    let mut walker = Walker::default();
    for (addr, list) in view.top_lists() {
        let listed: Vec<(u64, &[u8])> = list.clone().collect();
        let prefix = prefix_of(view, addr, &listed)?;
        let walked = walker.first(view.fst(), view.count(), prefix, listed.len())?;
        if walked.len() < listed.len() {
            return Err(list_error(
                addr,
                "lists more entries than lie below it".into(),
            ));
        }
        for (i, (&(cost, entry), (walked_cost, walked_entry))) in
            listed.iter().zip(&walked).enumerate()
        {
            if cost != *walked_cost || entry != walked_entry.as_slice() {
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
fn prefix_of<'l>(view: &View<'_>, addr: usize, listed: &[(u64, &'l [u8])]) -> Result<&'l str> {
    let &(first_cost, entry) = listed
        .first()
        .ok_or_else(|| list_error(addr, "empty list".into()))?;
    let fst = view.fst();
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

/// Runs plain walks to list what they return first: how the builder makes each list and how
/// the deep check compares them.
#[derive(Default)]
pub(crate) struct Walker {
    state: WalkState,
    keys: String,
}

impl Walker {
    /// The first `n` entries (cost, FST entry bytes) of a plain walk from `prefix`, in the
    /// walk's order, repeats of a phrase included: equal costs (one phrase's word starts) come
    /// in the order the walk meets them, which a list must keep.
    pub(crate) fn first(
        &mut self,
        fst: &fst::raw::Fst<&[u8]>,
        count: u64,
        prefix: &str,
        n: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut budget = walk::Budget::new(usize::MAX);
        self.keys.clear();
        let mut walk = Walk {
            fst,
            exact: prefix,
            automaton: None,
            count,
            keys: &mut self.keys,
            start: None,
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
        Ok(found
            .iter()
            .map(|hit| entry_of(hit, &self.keys, count))
            .collect())
    }
}

/// The FST entry and cost a match came from: the key, or for a word start "suffix 0xFF head".
fn entry_of(hit: &Hit, keys: &str, count: u64) -> (u64, Vec<u8>) {
    let key = keys
        .as_bytes()
        .get(hit.key_start as usize..hit.key_end as usize)
        .unwrap_or_default();
    let at = (hit.word_start as usize).min(key.len());
    if at == 0 {
        return (u64::from(hit.rank), key.to_vec());
    }
    let mut entry = Vec::with_capacity(key.len() + 1);
    entry.extend_from_slice(&key[at..]);
    entry.push(crate::format::WORD_START_SEPARATOR);
    entry.extend_from_slice(&key[..at]);
    (u64::from(hit.rank) + count, entry)
}

fn list_error(addr: usize, problem: String) -> Error {
    Error::corrupt("top lists", format!("the list of node {addr}: {problem}"))
}
