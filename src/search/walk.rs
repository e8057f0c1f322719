//! One best-first walk over one FST: the exact-prefix top-k search (see the crate's README,
//! "How it works"), optionally intersected with a Levenshtein prefix automaton.
//!
//! From the node the exact part of the query leads to:
//!
//! 1. pop the cheapest candidate (a node and the cheapest cost below it);
//! 2. an *accepted* candidate (its path already matches the query) descends greedily along
//!    zero-output transitions (each keeps the cheapest cost) until a key ends: that key is the
//!    next match, in exact cost order; every other transition and earlier key end becomes a
//!    candidate with its own cost;
//! 3. a *fuzzy* candidate (its path does not match yet) steps the automaton along each
//!    transition: a dead automaton state drops the subtree, a state within the allowed edits
//!    makes the child accepted, any other state keeps it fuzzy.
//!
//! A one-edit pass natively has no fuzzy candidates: it starts from every minimal path within
//! one edit of the query, each accepted (see `one_edit`). Other typo passes natively expand
//! their fuzzy candidates depth first, all before the first match is taken, and look up only
//! the query's own bytes below a path whose edits are spent (see `region`); WebAssembly builds
//! keep them in the heap below.
//!
//! The accumulated output is a lower bound of every cost below a node whatever the automaton
//! does later, so matches still come out in exact cost order, one per [`WalkState::next`]: a
//! walk is a stream, never a scan of all matches. Every accepted candidate holds at least one
//! match, so when the caller needs `need` more and at most `skippable` will be refused (found
//! already, hidden by a newer segment, repeated), only the cheapest `need - accepted - 1 +
//! skippable` accepted candidates can matter (one fewer while a descent holds a match of its
//! own) and their list is bounded by that (see [`Bound`]); a walk that meets more refusals
//! than that stops before it could skip a dropped candidate and is restarted wider. Fuzzy
//! candidates may hold no match: they wait in an unbounded heap beside the list, and a pop
//! takes the cheaper of the two heads. Bounding the accepted ones matters for typo walks
//! too: each greedy descent offers every sibling along a key, most of which are never
//! needed. Each visited node costs one unit of the query's budget.

use super::automaton::{Dfa, Distance, SINK_STATE};

// WebAssembly builds walk with the automaton: the modules are counted in bytes.
#[cfg(not(any(feature = "lean", target_family = "wasm")))]
mod in_place;
#[cfg(not(any(feature = "lean", target_family = "wasm")))]
mod one_edit;
#[cfg(not(any(feature = "lean", target_family = "wasm")))]
mod region;
#[cfg(not(any(feature = "lean", target_family = "wasm")))]
pub(crate) use one_edit::Tail;

use super::Hit;
use crate::error::{Error, Result};
use crate::format::cuts::KEY_END;
use crate::format::{EntryFault, WORD_START_SEPARATOR};

/// The most candidates a walk keeps pending, 48 bytes each: the heap's capacity, which
/// doubles as it grows, stays within 2^15 entries (1.5 MB). A best-first walk
/// over typos or word starts offers every transition of each node it expands, up to 256, so
/// without this cap a crafted segment of wide nodes would fill memory within the visit budget.
/// When the cap is reached the query stops with the best found so far and
/// [`crate::Suggestions::truncated`] set, as when the budget runs out.
pub const MAX_CANDIDATES: usize = (1 << 15) - 256;

/// The most path steps a walk records, 8 bytes each, within a capacity of 2^17 (1 MB): at
/// most two per visited node, so this bounds memory under a raised
/// [`crate::SuggestOptions::max_visits`] as well.
pub const MAX_ARENA: usize = (1 << 17) - 512;

/// Capacity kept between queries: one outlier query's buffers are released by the next.
pub(crate) const KEEP_CANDIDATES: usize = 4096;
const KEEP_ARENA: usize = 16_384;
/// Paths within one edit kept room for: a query finds a few dozen.
#[cfg(not(any(feature = "lean", target_family = "wasm")))]
const KEEP_PATHS: usize = 256;

/// Sentinel parent index for the node the exact part of the query leads to.
const NO_PARENT: u32 = u32::MAX;

/// Where a candidate's path continues from its parent.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The path is the parent itself.
    Here,
    /// Follow the transition on this byte.
    Byte(u8),
    /// The key ends at the parent (a final node whose final output was not zero).
    End,
}

/// Whether a candidate's path matches the query yet.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Matches: everything below is a match. `match_end` is the key length where it did.
    Accepted { match_end: u32 },
    /// Does not match yet.
    Fuzzy(Fuzzy),
}

/// Where a path that does not match yet stands.
#[derive(Debug, Clone, Copy)]
struct Fuzzy {
    /// The automaton's state after the path.
    state: u32,
    /// The fewest edits seen along it.
    best: u8,
    /// The path's length in bytes.
    depth: u32,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    /// Cheapest cost reachable through this candidate.
    cost: u64,
    /// FST node to continue from (unused for [`Step::End`]).
    addr: usize,
    /// Arena index of the path so far.
    parent: u32,
    step: Step,
    mode: Mode,
    /// Whether `addr` is in the main FST, which a walk over a category's cuts goes on in
    /// below a cut (see [`Walk::main`]).
    main: bool,
}

/// A heap entry: the cheapest cost first, then the earliest inserted.
#[derive(Debug, Clone, Copy)]
struct Queued {
    sequence: u32,
    candidate: Candidate,
}

impl Queued {
    fn key(&self) -> (std::cmp::Reverse<u64>, std::cmp::Reverse<u32>) {
        (
            std::cmp::Reverse(self.candidate.cost),
            std::cmp::Reverse(self.sequence),
        )
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// How a typo pass matches the rest of the query, after its exact part.
#[derive(Clone, Copy)]
pub(crate) enum Typos<'a> {
    /// Within the pass's edits of the automaton's query; natively also that query (the tail
    /// of the normalized query after its exact part), which the depth-first expansion reads.
    Automaton(
        &'a Dfa,
        u8,
        #[cfg(not(any(feature = "lean", target_family = "wasm")))] &'a str,
    ),
    /// Within one edit of the tail: the walk starts from the paths within it, found by
    /// look-ups along the FST (see `one_edit`), and needs no automaton.
    #[cfg(not(any(feature = "lean", target_family = "wasm")))]
    One(&'a Tail<'a>),
}

/// What one walk searches and where its keys go.
pub(crate) struct Walk<'w, 'f> {
    pub(crate) fst: &'w fst::raw::Fst<&'f [u8]>,
    /// The segment's main FST when `fst` holds a category's cuts (format v9): the walk goes
    /// on in it below each cut it reaches.
    pub(crate) main: Option<&'w fst::raw::Fst<&'f [u8]>>,
    /// The part of the normalized query matched exactly (all of it without an automaton).
    pub(crate) exact: &'w str,
    /// How the rest of the query matches in a typo pass (`None`: the plain pass).
    pub(crate) typos: Option<Typos<'w>>,
    /// The segment's suggestion count: word-start entries cost `rank + count`.
    pub(crate) count: u64,
    /// The segment's layer in its stack (0 = the base), which its matches carry.
    pub(crate) layer: u32,
    /// Keys of matches, concatenated; a match's key is appended before it is offered.
    pub(crate) keys: &'w mut Vec<u8>,
    /// Where `exact` leads, when the caller followed it already: the node's address and the
    /// cost on the way, or `None` when no key starts with it.
    pub(crate) start: Option<Option<(usize, u64)>>,
    /// Where `exact` leads in `main`, when the caller followed it already: a walk over cuts
    /// follows each cut it reaches from there.
    #[cfg(not(feature = "lean"))]
    pub(crate) main_start: Option<Option<(usize, u64)>>,
}

/// The work of one query, shared by all its walks (one per segment and searched FST): visits
/// left, and the candidates and path steps all walks hold, capped together.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Budget {
    visits_left: usize,
    /// Candidates pending in every walk.
    pending: usize,
    /// Path steps recorded by every walk.
    steps: usize,
    truncated: bool,
}

impl Budget {
    /// A fresh budget of `max_visits` visits.
    pub(crate) fn new(max_visits: usize) -> Budget {
        Budget {
            visits_left: max_visits,
            ..Budget::default()
        }
    }

    /// True once the budget (or a cap) has cut the query short.
    pub(crate) fn truncated(&self) -> bool {
        self.truncated
    }

    /// The visits not spent yet.
    pub(crate) fn visits_left(&self) -> usize {
        self.visits_left
    }

    /// Spends one visit (a node, or an entry taken from a delta's run); false (and
    /// truncated) when none is left.
    pub(crate) fn spend(&mut self) -> bool {
        match self.visits_left.checked_sub(1) {
            Some(left) => {
                self.visits_left = left;
                true
            }
            None => {
                self.truncated = true;
                false
            }
        }
    }
}

/// How a walk may bound its candidate list: only the cheapest `need - accepted - 1 +
/// skippable` candidates are kept, which is exact when every candidate holds a match and at
/// most `skippable` matches will be refused (see the module docs); `need` is the most matches
/// the caller can still take. When more are refused, a candidate the bound dropped may be
/// needed after all: the walk stops as soon as it would pop a candidate no cheaper than one it
/// dropped, or runs out ([`WalkState::dropped`]), and the caller restarts it with a larger
/// bound. Every match it returned before came out in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    pub(crate) need: usize,
    pub(crate) skippable: usize,
}

/// The buffers of a walk, reused across walks and queries. A walk is resumable: [`WalkState::
/// begin`] positions it, each [`WalkState::next`] returns its next accepted match.
#[derive(Debug, Default, Clone)]
pub(crate) struct WalkState {
    /// Path arena: `(parent index, byte)`.
    arena: Vec<(u32, u8)>,
    /// Accepted candidates when the walk is bounded, by descending cost, equal costs in offer
    /// order: the cheapest (earliest offered) is popped from the end. The bound keeps it a
    /// few entries long.
    candidates: Vec<Queued>,
    /// A min-heap of the other candidates: every one of an unbounded walk (after a top list,
    /// which skips matches it cannot count), and the fuzzy ones of a bounded walk, where the
    /// frontier can hold thousands and sorted insertion would dominate.
    heap: std::collections::BinaryHeap<Queued>,
    /// The bound, when this walk keeps a bounded list.
    bound: Option<Bound>,
    /// Matches accepted and refused so far by this walk.
    accepted: usize,
    refused: usize,
    /// The least cost of a candidate the bound dropped (`u64::MAX`: none); popping one at
    /// least as costly could skip it.
    floor: u64,
    /// Insertion counter: equal costs pop in insertion order, the same on every platform.
    sequence: u32,
    /// Where the accepted path starts: the length of the exact part of the query.
    exact_len: u32,
    /// Matches still to pass over unseen: the ones a top list gave already.
    skip: usize,
    key_scratch: Vec<u8>,
    /// The paths within one edit of a tail, gathered before they are offered.
    #[cfg(not(any(feature = "lean", target_family = "wasm")))]
    neighbours: one_edit::Neighbours,
    /// The fuzzy candidates of a typo pass still to expand, depth first (see `region`).
    #[cfg(not(any(feature = "lean", target_family = "wasm")))]
    region: Vec<Candidate>,
    /// Tests set this to expand fuzzy candidates best first (see `Searcher::best_first_typos`).
    #[cfg(all(test, not(any(feature = "lean", target_family = "wasm"))))]
    pub(crate) best_first: bool,
    /// The query's budget, held during a call.
    budget: Budget,
    /// Whether the candidate being expanded is in the main FST of a walk over cuts: the
    /// candidates it offers are too.
    in_main: bool,
    /// In a walk over cuts, where the exact part leads in the main FST, once a cut needed it
    /// (`None`: not looked up yet): every cut extends the exact part, so each one is followed
    /// from there.
    #[cfg(not(feature = "lean"))]
    exact_in_main: Option<Option<(usize, u64)>>,
    /// In a walk over cuts, by arena index, where the path leads in the main FST, once a cut
    /// below it was followed there ([`UNKNOWN`] before): an index into `crossed_nodes`. The
    /// cuts a query reaches share their first bytes, which are then followed once.
    #[cfg(not(feature = "lean"))]
    crossed: Vec<u32>,
    #[cfg(not(feature = "lean"))]
    crossed_nodes: Vec<(usize, u64)>,
    /// The arena indices of the path being followed into the main FST.
    #[cfg(not(feature = "lean"))]
    crossing: Vec<u32>,
}

/// [`WalkState::crossed`] of a path not followed into the main FST.
#[cfg(not(feature = "lean"))]
const UNKNOWN: u32 = u32::MAX;

/// What one popped candidate led to.
enum Progress {
    /// Nothing to report yet.
    Continue,
    /// A key ends: the arena path, its cost, and where the query's match ends in it.
    Found {
        path: u32,
        cost: u64,
        match_end: u32,
    },
    /// The budget ran out.
    Stop,
}

impl WalkState {
    /// Clears this walk's buffers for a new query, keeping at most `keep` candidates' worth
    /// of capacity from an earlier one.
    pub(crate) fn start_query(&mut self, keep: usize) {
        self.heap.clear();
        self.candidates.clear();
        self.arena.clear();
        self.heap.shrink_to(keep.min(KEEP_CANDIDATES));
        self.candidates.shrink_to(keep.min(KEEP_CANDIDATES));
        self.arena.shrink_to(keep.saturating_mul(4).min(KEEP_ARENA));
        #[cfg(not(feature = "lean"))]
        {
            self.crossed
                .shrink_to(keep.saturating_mul(4).min(KEEP_ARENA));
            self.crossed_nodes.shrink_to(keep.min(KEEP_CANDIDATES));
        }
        #[cfg(not(any(feature = "lean", target_family = "wasm")))]
        {
            self.neighbours.release(keep.min(KEEP_PATHS));
            self.region.shrink_to(keep.min(KEEP_CANDIDATES));
        }
    }

    /// Spends one visit; false (and `truncated`) when the budget is gone or the candidates
    /// or path steps reached their caps. A visit adds at most 256 candidates and 256 steps
    /// (one node's transitions) and two path steps, so the capacities stay within their
    /// powers of two.
    #[inline]
    fn visit(&mut self) -> bool {
        let b = &mut self.budget;
        if b.pending >= MAX_CANDIDATES || b.steps >= MAX_ARENA {
            b.truncated = true;
            return false;
        }
        b.spend()
    }

    /// Positions the walk at the node the exact part of the query leads to. `bound` is set
    /// for plain walks whose every candidate holds a match (no automaton, no word starts,
    /// nothing newer to hide a key).
    pub(crate) fn begin(
        &mut self,
        walk: &Walk<'_, '_>,
        budget: &mut Budget,
        bound: Option<Bound>,
    ) -> Result<()> {
        self.budget = *budget;
        let result = self.seed(walk, bound);
        *budget = self.budget;
        result
    }

    fn seed(&mut self, walk: &Walk<'_, '_>, bound: Option<Bound>) -> Result<()> {
        self.reset(bound);
        let start = match walk.start {
            Some(start) => start.map(|(addr, cost)| (addr, cost, false)),
            None => follow_walk(walk)?,
        };
        let Some((addr, cost, in_main)) = start else {
            return Ok(());
        };
        self.in_main = in_main;
        #[cfg(not(feature = "lean"))]
        {
            self.exact_in_main = walk.main_start;
        }
        self.exact_len = walk.exact.len() as u32;
        #[cfg(not(any(feature = "lean", target_family = "wasm")))]
        if let Some(Typos::One(tail)) = walk.typos {
            if walk.main.is_some() {
                // Its look-ups do not cross cuts: the search gives such walks an automaton.
                return Err(Error::corrupt("categories", "one-edit look-ups over cuts"));
            }
            if !tail.within_one_of_nothing() {
                return self.seed_one_edit(walk.fst, (addr, cost), tail);
            }
        }
        let mode = start_mode(walk.typos, self.exact_len);
        #[cfg(not(any(feature = "lean", target_family = "wasm")))]
        if let (Mode::Fuzzy(_), Some(Typos::Automaton(dfa, edits, tail)), true, None) =
            (mode, walk.typos, self.region_allowed(), walk.main)
        {
            let start = Candidate {
                cost,
                addr,
                parent: NO_PARENT,
                step: Step::Here,
                mode,
                main: false,
            };
            if self.expand_region(walk.fst, (dfa, edits, tail), start)? {
                return Ok(());
            }
        }
        if walk.exact.is_empty() && matches!(mode, Mode::Accepted { .. }) {
            // No byte followed: the root of the walk's own FST.
            self.seed_root_children(&walk.fst.node(addr), mode);
        } else {
            self.offer(usize::MAX, cost, addr, NO_PARENT, Step::Here, mode);
        }
        Ok(())
    }

    /// Clears the buffers for a new walk (returning their share of the budget) and picks the
    /// candidate structure.
    fn reset(&mut self, bound: Option<Bound>) {
        let b = &mut self.budget;
        b.pending -= self.heap.len() + self.candidates.len();
        b.steps -= self.arena.len();
        self.arena.clear();
        self.candidates.clear();
        self.heap.clear();
        #[cfg(not(feature = "lean"))]
        {
            self.crossed.clear();
            self.crossed_nodes.clear();
        }
        self.sequence = 0;
        self.accepted = 0;
        self.refused = 0;
        self.floor = u64::MAX;
        self.bound = bound;
        self.skip = 0;
    }

    /// Makes the walk pass over its first `n` matches without offering them: a walk that
    /// continues a top list (whose entries are the walk's first ones, in its order). Call
    /// right after an unbounded [`WalkState::begin`].
    pub(crate) fn skip_first(&mut self, n: usize) {
        self.skip = n;
    }

    /// The walk's next match that `accept` takes (given the match and its full key), cheapest
    /// first; `None` when the walk is exhausted or the budget ran out (see
    /// [`Budget::truncated`]). A refused match's key is removed from `walk.keys` again.
    pub(crate) fn next(
        &mut self,
        walk: &mut Walk<'_, '_>,
        budget: &mut Budget,
        accept: &mut dyn FnMut(&Hit, &[u8]) -> bool,
    ) -> Result<Option<Hit>> {
        self.budget = *budget;
        let result = self.pull(walk, accept);
        *budget = self.budget;
        result
    }

    /// Pops candidates cheapest first until one leads to an accepted match.
    fn pull(
        &mut self,
        walk: &mut Walk<'_, '_>,
        accept: &mut dyn FnMut(&Hit, &[u8]) -> bool,
    ) -> Result<Option<Hit>> {
        loop {
            let Some(candidate) = self.pop() else {
                return Ok(None);
            };
            if candidate.cost >= self.floor {
                // A dropped candidate may come first: the caller restarts this walk.
                return Ok(None);
            }
            let bound = self.kept_bound(self.accepted);
            self.in_main = candidate.main;
            let fst = fst_of(walk, candidate.main)?;
            let progress = match candidate.mode {
                Mode::Accepted { match_end } => self.descend(fst, candidate, match_end, bound)?,
                Mode::Fuzzy(fuzzy) => {
                    let Some(Typos::Automaton(dfa, edits, ..)) = walk.typos else {
                        return Err(Error::corrupt("fst", "fuzzy candidate without automaton"));
                    };
                    // No descent holds a match of its own here: one more may matter.
                    let bound = bound.saturating_add(1);
                    self.expand(walk, (dfa, edits), (candidate, fuzzy), bound)?
                }
            };
            match progress {
                Progress::Continue => {}
                Progress::Stop => return Ok(None),
                Progress::Found {
                    path,
                    cost,
                    match_end,
                } => {
                    let path = match self.key_or_cut(walk, (path, cost, match_end), bound)? {
                        Ok(path) | Err(Progress::Found { path, .. }) => path,
                        // The budget ran out below the cut.
                        Err(_) => return Ok(None),
                    };
                    if let Some(hit) = self.emit(walk, path, cost, match_end, accept)? {
                        self.accepted += 1;
                        return Ok(Some(hit));
                    }
                }
            }
        }
    }

    /// How many accepted candidates a descent keeps once `accepted` matches were taken: only
    /// the cheapest `still needed - 1` others can matter (plus found ones met again); see the
    /// module docs.
    fn kept_bound(&self, accepted: usize) -> usize {
        self.bound.map_or(usize::MAX, |b| {
            b.need.saturating_sub(accepted + 1) + b.skippable
        })
    }

    /// A lower bound of the cost of this walk's next match: its cheapest pending candidate's,
    /// or a dropped one's if lower. `None` when nothing is pending.
    pub(crate) fn next_cost_bound(&self) -> Option<u64> {
        let heap = self.heap.peek().map(|q| q.candidate.cost);
        let list = self.candidates.last().map(|q| q.candidate.cost);
        let pending = match (heap, list) {
            (Some(h), Some(l)) => Some(h.min(l)),
            (h, l) => h.or(l),
        };
        pending.map(|cost| cost.min(self.floor))
    }

    /// Whether the bound dropped a candidate: a walk that ran out of candidates after that
    /// may have more matches, and must be restarted with [`WalkState::wider_bound`].
    pub(crate) fn dropped(&self) -> bool {
        self.floor != u64::MAX
    }

    /// A bound for restarting this walk once it ran out after dropping candidates: at least
    /// twice the last one, and room for every match it saw again (`found` taken by the caller,
    /// the ones it refused).
    pub(crate) fn wider_bound(&self, need: usize, found: usize) -> Bound {
        let last = self.bound.map_or(0, |b| b.skippable);
        Bound {
            need,
            skippable: (found + self.refused).max(last.saturating_mul(2)).max(1),
        }
    }

    /// The cheapest pending candidate (the earliest offered among equal costs), from the
    /// heap or the list.
    fn pop(&mut self) -> Option<Candidate> {
        let from_list = match (self.heap.peek(), self.candidates.last()) {
            (Some(h), Some(l)) => l.key() > h.key(),
            (None, l) => l.is_some(),
            (Some(_), None) => false,
        };
        let next = match from_list {
            true => self.candidates.pop(),
            false => self.heap.pop(),
        };
        if next.is_some() {
            self.budget.pending -= 1;
        }
        next.map(|q| q.candidate)
    }

    /// Starts from each child of the root: the root has no incoming transition carrying its
    /// subtree's cheapest cost (not 0 in a category FST, whose best suggestion need not be
    /// rank 0), so the greedy descent cannot start there.
    fn seed_root_children(&mut self, root: &fst::raw::Node<'_>, mode: Mode) {
        for t in root.transitions() {
            let step = Step::Byte(t.inp);
            self.offer(usize::MAX, t.out.value(), t.addr, NO_PARENT, step, mode);
        }
        if root.is_final() {
            let cost = root.final_output().value();
            self.offer(usize::MAX, cost, 0, NO_PARENT, Step::End, mode);
        }
    }

    /// Greedy descent from an accepted candidate to its cheapest key. Called from two places;
    /// lean builds keep one copy (the worker bundle is counted in bytes).
    #[cfg_attr(feature = "lean", inline(never))]
    fn descend(
        &mut self,
        fst: &fst::raw::Fst<&[u8]>,
        candidate: Candidate,
        match_end: u32,
        bound: usize,
    ) -> Result<Progress> {
        let mode = Mode::Accepted { match_end };
        let mut path = candidate.parent;
        let cost = candidate.cost;
        let mut addr = candidate.addr;
        match candidate.step {
            Step::Here => {}
            Step::Byte(b) => path = self.push_arena(path, b)?,
            Step::End => {
                return Ok(Progress::Found {
                    path,
                    cost,
                    match_end,
                })
            }
        }
        let bytes = fst.as_bytes();
        loop {
            if !self.visit() {
                return Ok(Progress::Stop);
            }
            if let Some((input, next)) = next_node_step(bytes, addr) {
                // The one way on, at no cost: nothing to offer.
                path = self.push_arena(path, input)?;
                addr = next;
                continue;
            }
            #[cfg(not(any(feature = "lean", target_family = "wasm")))]
            if let Some(step) = self.step_down_in_place(bytes, addr, cost, path, (bound, mode)) {
                let Some((input, target)) = step? else {
                    return Ok(Progress::Found {
                        path,
                        cost,
                        match_end,
                    });
                };
                check_forward(addr, target)?;
                path = self.push_arena(path, input)?;
                addr = target;
                continue;
            }
            let node = fst.node(addr);
            let Some(t) = self.step_down(&node, cost, path, bound, mode)? else {
                return Ok(Progress::Found {
                    path,
                    cost,
                    match_end,
                });
            };
            check_forward(addr, t.addr)?;
            path = self.push_arena(path, t.inp)?;
            addr = t.addr;
        }
    }

    /// One node of a greedy descent: offers every other way on as a candidate, and returns
    /// the transition that keeps the cheapest cost, or `None` when the cheapest key ends here.
    #[inline]
    fn step_down(
        &mut self,
        node: &fst::raw::Node<'_>,
        cost: u64,
        path: u32,
        bound: usize,
        mode: Mode,
    ) -> Result<Option<fst::raw::Transition>> {
        if node.is_final() {
            let final_cost = add_cost(cost, node.final_output().value())?;
            if final_cost == cost {
                for t in node.transitions() {
                    let c = add_cost(cost, t.out.value())?;
                    self.offer(bound, c, t.addr, path, Step::Byte(t.inp), mode);
                }
                return Ok(None);
            }
            self.offer(bound, final_cost, 0, path, Step::End, mode);
        }
        let mut next = None;
        for t in node.transitions() {
            if next.is_none() && t.out.value() == 0 {
                next = Some(t);
                if bound == 0 {
                    // The transitions not looked at cost at least this much.
                    if node.len() > 1 {
                        self.floor = self.floor.min(cost);
                    }
                    break;
                }
            } else {
                let c = add_cost(cost, t.out.value())?;
                self.offer(bound, c, t.addr, path, Step::Byte(t.inp), mode);
            }
        }
        next.map(Some).ok_or_else(no_cheapest_transition)
    }

    /// [`WalkState::step_down`] on the node at `addr` read in place, returning the input and
    /// target of the transition to follow. `None`: the empty final node, or bytes laid out
    /// otherwise; decode the node with `fst` then.
    #[cfg(not(any(feature = "lean", target_family = "wasm")))]
    #[inline]
    fn step_down_in_place(
        &mut self,
        bytes: &[u8],
        addr: usize,
        cost: u64,
        path: u32,
        (bound, mode): (usize, Mode),
    ) -> Option<Result<Option<(u8, usize)>>> {
        if addr == 0 {
            return None;
        }
        Some(match in_place::Branches::at(bytes, addr)? {
            in_place::Branches::One {
                input,
                target,
                output: 0,
            } => Ok(Some((input, target))),
            in_place::Branches::One { output, .. } => {
                add_cost(cost, output).and_then(|_| Err(no_cheapest_transition()))
            }
            in_place::Branches::Any(node) => {
                self.step_down_any(bytes, &node, (cost, path), (bound, mode))
            }
        })
    }

    /// [`WalkState::step_down`] on an *any* node read in place: each transition is priced by
    /// its output alone, and its input and target are read only if it is followed or kept.
    #[cfg(not(any(feature = "lean", target_family = "wasm")))]
    #[inline]
    fn step_down_any(
        &mut self,
        bytes: &[u8],
        node: &in_place::AnyNode,
        (cost, path): (u64, u32),
        (bound, mode): (usize, Mode),
    ) -> Result<Option<(u8, usize)>> {
        let mut follow = None;
        let mut every = false;
        if let Some(final_output) = node.final_output(bytes).ok_or_else(node_outside)? {
            let final_cost = add_cost(cost, final_output)?;
            // The cheapest key ends here: every transition is another way on.
            every = final_cost == cost;
            if !every {
                self.offer(bound, final_cost, 0, path, Step::End, mode);
            }
        }
        for i in 0..node.count {
            let output = node.output(bytes, i).ok_or_else(node_outside)?;
            if !every && follow.is_none() && output == 0 {
                follow = Some(i);
                if bound == 0 {
                    // The transitions not looked at cost at least this much.
                    if node.count > 1 {
                        self.floor = self.floor.min(cost);
                    }
                    break;
                }
                continue;
            }
            let c = add_cost(cost, output)?;
            if self.refuses(bound, c) {
                self.floor = self.floor.min(c);
                continue;
            }
            let input = node.input(bytes, i).ok_or_else(node_outside)?;
            let target = node.target(bytes, i).ok_or_else(node_outside)?;
            self.offer(bound, c, target, path, Step::Byte(input), mode);
        }
        match (every, follow) {
            (true, _) => Ok(None),
            (false, Some(i)) => {
                let input = node.input(bytes, i).ok_or_else(node_outside)?;
                Ok(Some((
                    input,
                    node.target(bytes, i).ok_or_else(node_outside)?,
                )))
            }
            (false, None) => Err(no_cheapest_transition()),
        }
    }

    /// Whether [`WalkState::offer`] would drop an accepted candidate of `cost` at once: the
    /// bounded list is full of candidates no costlier.
    #[cfg(not(any(feature = "lean", target_family = "wasm")))]
    #[inline(always)]
    fn refuses(&self, bound: usize, cost: u64) -> bool {
        self.bound.is_some()
            && self.candidates.len() >= bound
            && !matches!(self.candidates.first(), Some(first) if bound > 0 && cost < first.candidate.cost)
    }

    /// Steps the automaton along every transition of a fuzzy candidate's node; children that
    /// match are kept if among the `bound` cheapest accepted candidates.
    fn expand(
        &mut self,
        walk: &Walk<'_, '_>,
        (dfa, edits): (&Dfa, u8),
        (candidate, Fuzzy { state, best, depth }): (Candidate, Fuzzy),
        bound: usize,
    ) -> Result<Progress> {
        if !self.visit() {
            return Ok(Progress::Stop);
        }
        let exact_len = self.exact_len;
        let path = match candidate.step {
            Step::Here => candidate.parent,
            Step::Byte(b) => self.push_arena(candidate.parent, b)?,
            // A key that ends before matching is not a match.
            Step::End => return Ok(Progress::Continue),
        };
        let (node, cost) = match self.node_or_cut(walk, &candidate, path)? {
            Ok(at) => at,
            Err(progress) => return Ok(progress),
        };
        // A word-start entry's suffix ends at the separator: a match must lie before it.
        let live = |b: u8| b != WORD_START_SEPARATOR && dfa.transition(state, b) != SINK_STATE;
        for t in transitions_where(&node, live) {
            let next = dfa.transition(state, t.inp);
            check_forward(node.addr(), t.addr)?;
            let best = best.min(exact_distance(dfa, next));
            let cost = add_cost(cost, t.out.value())?;
            let mode = if best <= edits {
                Mode::Accepted {
                    match_end: exact_len + depth + 1,
                }
            } else {
                Mode::Fuzzy(Fuzzy {
                    state: next,
                    best,
                    depth: depth + 1,
                })
            };
            self.offer(bound, cost, t.addr, path, Step::Byte(t.inp), mode);
        }
        Ok(Progress::Continue)
    }

    /// Keeps a candidate: a fuzzy one (or any, in an unbounded walk) in the heap, an
    /// accepted one in the bounded list if among the `bound` cheapest accepted ones seen.
    #[inline]
    fn offer(&mut self, bound: usize, cost: u64, addr: usize, parent: u32, step: Step, mode: Mode) {
        self.sequence = self.sequence.wrapping_add(1);
        let queued = Queued {
            sequence: self.sequence,
            candidate: Candidate {
                cost,
                addr,
                parent,
                step,
                mode,
                main: self.in_main,
            },
        };
        if self.bound.is_none() || matches!(mode, Mode::Fuzzy(_)) {
            self.heap.push(queued);
            self.budget.pending += 1;
            return;
        }
        let candidates = &mut self.candidates;
        if candidates.len() >= bound {
            // Sorted by descending cost, equal costs in offer order (the latest first): the
            // first is the one to drop, the new one if it is no cheaper.
            match candidates.first() {
                Some(first) if bound > 0 && cost < first.candidate.cost => {
                    self.floor = self.floor.min(first.candidate.cost);
                    candidates.remove(0);
                    self.budget.pending -= 1;
                }
                _ => {
                    self.floor = self.floor.min(cost);
                    return;
                }
            }
        }
        let at = candidates.partition_point(|c| c.candidate.cost > cost);
        candidates.insert(at, queued);
        self.budget.pending += 1;
    }

    /// Offers the node at `addr`, reached at `cost` by `path` after the exact part, as an
    /// accepted candidate whose match ends where the path does.
    #[cfg(not(any(feature = "lean", target_family = "wasm")))]
    fn offer_path(&mut self, path: &[u8], addr: usize, cost: u64) -> Result<()> {
        let b = &mut self.budget;
        if b.pending >= MAX_CANDIDATES || b.steps.saturating_add(path.len()) >= MAX_ARENA {
            b.truncated = true;
            return Ok(());
        }
        let mut parent = NO_PARENT;
        for &b in path {
            parent = self.push_arena(parent, b)?;
        }
        let match_end = self.exact_len + path.len() as u32;
        let mode = Mode::Accepted { match_end };
        self.offer(usize::MAX, cost, addr, parent, Step::Here, mode);
        Ok(())
    }

    fn push_arena(&mut self, parent: u32, byte: u8) -> Result<u32> {
        let index = u32::try_from(self.arena.len())
            .map_err(|_| Error::corrupt("fst", "search path arena overflow"))?;
        self.arena.push((parent, byte));
        self.budget.steps += 1;
        Ok(index)
    }

    /// The match spelled by the exact part plus the arena path ending at `path`, its key
    /// appended to `walk.keys`, if `accept` takes it; otherwise the key is removed again.
    fn emit(
        &mut self,
        walk: &mut Walk<'_, '_>,
        path: u32,
        cost: u64,
        match_end: u32,
        accept: &mut dyn FnMut(&Hit, &[u8]) -> bool,
    ) -> Result<Option<Hit>> {
        let (rank, is_word_start) = rank_of(cost, walk.count)?;
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(None);
        }
        self.spell(path, walk.exact)?;
        let (head, suffix) = split_entry_bytes(&self.key_scratch, is_word_start)?;
        let key_start = walk.keys.len();
        walk.keys.extend_from_slice(head);
        walk.keys.extend_from_slice(suffix);
        let word_start = head.len() as u32;
        let hit = Hit {
            rank,
            layer: walk.layer,
            score: 0,
            key_start: key_start as u32,
            key_end: walk.keys.len() as u32,
            edits: 0,
            word_start,
            match_end: word_start + match_end.min(suffix.len() as u32),
        };
        if accept(&hit, &walk.keys[key_start..]) {
            Ok(Some(hit))
        } else {
            self.refused += 1;
            walk.keys.truncate(key_start);
            Ok(None)
        }
    }

    /// In a walk over a category's cuts, what a key found in the cut FST stands for: a member
    /// stored whole (its path without [`KEY_END`]), or a cut, below which the greedy descent
    /// goes on in the main FST at the same cost (`Err`: where that led). Other walks' keys are
    /// their own.
    fn key_or_cut(
        &mut self,
        walk: &Walk<'_, '_>,
        (path, cost, match_end): (u32, u64, u32),
        bound: usize,
    ) -> Result<std::result::Result<u32, Progress>> {
        let Some(main) = walk.main.filter(|_| !self.in_main) else {
            return Ok(Ok(path));
        };
        if let Some(&(parent, KEY_END)) = self.arena.get(path as usize) {
            return Ok(Ok(parent));
        }
        let Some(addr) = self.cross(main, path, walk.exact, cost)? else {
            return Ok(Err(Progress::Stop));
        };
        self.in_main = true;
        let below = Candidate {
            cost,
            addr,
            parent: path,
            step: Step::Here,
            mode: Mode::Accepted { match_end },
            main: true,
        };
        Ok(Err(self.descend(main, below, match_end, bound)?))
    }

    /// The node a fuzzy candidate stands at, with the cost reached there: in a walk over cuts,
    /// a cut's leaf becomes the main FST's node for the cut. `Err` when there is nothing to
    /// expand: a member stored whole, which ends before matching, or the budget ran out.
    fn node_or_cut<'w>(
        &mut self,
        walk: &Walk<'w, '_>,
        candidate: &Candidate,
        path: u32,
    ) -> Result<std::result::Result<(fst::raw::Node<'w>, u64), Progress>> {
        let node = fst_of(walk, candidate.main)?.node(candidate.addr);
        let Some(main) = walk.main.filter(|_| !candidate.main && node.is_final()) else {
            return Ok(Ok((node, candidate.cost)));
        };
        if matches!(candidate.step, Step::Byte(KEY_END)) {
            return Ok(Err(Progress::Continue));
        }
        let Some(addr) = self.cross(main, path, walk.exact, candidate.cost)? else {
            return Ok(Err(Progress::Stop));
        };
        self.in_main = true;
        Ok(Ok((main.node(addr), candidate.cost)))
    }

    /// Spends a visit per byte followed into the main FST: a walk over crafted cuts follows no
    /// more than its budget allows. False (and truncated) when it runs out.
    fn charge(&mut self, bytes: usize) -> bool {
        (0..bytes).all(|_| self.visit())
    }

    /// The address of the main FST's node for the cut spelled by `exact` and `path`, which
    /// must be reached at the cut's `cost`: the least below it (`None`: the budget ran out on
    /// the way). Lean builds follow the whole cut from the root: the worker bundle has no room
    /// for remembering the paths followed.
    fn cross(
        &mut self,
        main: &fst::raw::Fst<&[u8]>,
        path: u32,
        exact: &str,
        cost: u64,
    ) -> Result<Option<usize>> {
        #[cfg(feature = "lean")]
        let reached = {
            self.spell(path, exact)?;
            if !self.charge(self.key_scratch.len()) {
                return Ok(None);
            }
            follow_bytes(main, &self.key_scratch)?
        };
        #[cfg(not(feature = "lean"))]
        let reached = match self.follow_remembered(main, path, exact)? {
            Err(()) => return Ok(None),
            Ok(reached) => reached,
        };
        match reached {
            Some((addr, reached)) if reached == cost => Ok(Some(addr)),
            _ => Err(Error::corrupt("category cuts", "a cut the main FST lacks")),
        }
    }

    /// Where the path `path` after `exact` leads in the main FST and the cost there, followed
    /// from its nearest ancestor followed before, each node on the way remembered (`Err`: the
    /// budget ran out).
    #[cfg(not(feature = "lean"))]
    #[allow(clippy::type_complexity)]
    fn follow_remembered(
        &mut self,
        main: &fst::raw::Fst<&[u8]>,
        path: u32,
        exact: &str,
    ) -> Result<std::result::Result<Option<(usize, u64)>, ()>> {
        let Some(mut at_node) = self.crossed_from(main, path, exact)? else {
            return Ok(Ok(None));
        };
        if !self.charge(self.crossing.len()) {
            return Ok(Err(()));
        }
        for i in (0..self.crossing.len()).rev() {
            let byte = self.key_scratch[i];
            let Some((target, output)) = exact_step(main, at_node.0, byte) else {
                return Ok(Ok(None));
            };
            at_node = (target, add_cost(at_node.1, output)?);
            self.crossed[self.crossing[i] as usize] = self.crossed_nodes.len() as u32;
            self.crossed_nodes.push(at_node);
        }
        Ok(Ok(Some(at_node)))
    }

    /// The main FST's node of the nearest ancestor of `path` followed there before (the exact
    /// part's at worst), leaving the path's steps below it in `crossing` and their bytes in
    /// `key_scratch`, last first. `None` when the main FST holds no key there.
    #[cfg(not(feature = "lean"))]
    fn crossed_from(
        &mut self,
        main: &fst::raw::Fst<&[u8]>,
        mut path: u32,
        exact: &str,
    ) -> Result<Option<(usize, u64)>> {
        self.crossed.resize(self.arena.len(), UNKNOWN);
        self.key_scratch.clear();
        self.crossing.clear();
        while path != NO_PARENT {
            let known = self.crossed.get(path as usize).copied().unwrap_or(UNKNOWN);
            if let Some(&node) = self.crossed_nodes.get(known as usize) {
                return Ok(Some(node));
            }
            let (parent, byte) = *self
                .arena
                .get(path as usize)
                .ok_or_else(|| Error::corrupt("fst", "bad search path"))?;
            self.key_scratch.push(byte);
            self.crossing.push(path);
            path = parent;
        }
        if self.exact_in_main.is_none() {
            self.exact_in_main = Some(follow_bytes(main, exact.as_bytes())?);
        }
        Ok(self.exact_in_main.flatten())
    }

    /// Writes the FST entry spelled by `exact` plus the arena path ending at `path` into
    /// `key_scratch`.
    fn spell(&mut self, mut path: u32, exact: &str) -> Result<()> {
        self.key_scratch.clear();
        while path != NO_PARENT {
            let (parent, byte) = *self
                .arena
                .get(path as usize)
                .ok_or_else(|| Error::corrupt("fst", "bad search path"))?;
            self.key_scratch.push(byte);
            path = parent;
        }
        self.key_scratch.extend(exact.bytes().rev());
        self.key_scratch.reverse();
        Ok(())
    }
}

/// The rank an FST output stands for, and whether it is a word-start entry (outputs from
/// `count` up are `rank + count`).
#[inline]
pub(super) fn rank_of(cost: u64, count: u64) -> Result<(u32, bool)> {
    let (rank, is_word_start) = match cost.checked_sub(count) {
        None => (cost, false),
        Some(rank) => (rank, true),
    };
    let rank = u32::try_from(rank)
        .ok()
        .filter(|&r| u64::from(r) < count)
        .ok_or_else(|| Error::corrupt("fst", format!("output {cost} out of range")))?;
    Ok((rank, is_word_start))
}

/// [`crate::format::split_entry_bytes`], its fault as a corrupt-segment error: the search
/// checks the keys of its answer as UTF-8 all at once.
fn split_entry_bytes(entry: &[u8], is_word_start: bool) -> Result<(&[u8], &[u8])> {
    crate::format::split_entry_bytes(entry, is_word_start).map_err(entry_error)
}

/// [`crate::format::split_entry`], its fault as a corrupt-segment error.
pub(super) fn split_entry(entry: &[u8], is_word_start: bool) -> Result<(&str, &str)> {
    crate::format::split_entry(entry, is_word_start).map_err(entry_error)
}

/// An entry's fault as a corrupt-segment error.
fn entry_error(fault: EntryFault) -> Error {
    match fault {
        EntryFault::Kind => Error::corrupt("fst", "word-start entry and output disagree"),
        EntryFault::NotUtf8 => Error::key_not_utf8(),
    }
}

/// The input bytes of a node of several transitions, last transition first, read in place;
/// `None` for other nodes (their one input is as cheap to decode). `fst` 0.4 (format 3)
/// writes such a node, backwards from its state byte: the state (the transition count in its
/// low 6 bits, 0 if it does not fit), the count byte when it did not fit, the pack sizes, a
/// 256-byte index when there are more than 32 transitions, then one input byte per transition
/// (the last first), before their addresses and outputs. Segments' FSTs are validated against
/// this layout when opened (`format::fst_check`); any doubt gives `None`.
#[cfg(not(feature = "lean"))]
fn node_inputs<'n>(node: &'n fst::raw::Node<'_>) -> Option<&'n [u8]> {
    let n = node.len();
    if n < 2 {
        return None;
    }
    let bytes = node.as_slice();
    let state = *bytes.last()?;
    let count_byte = usize::from(state & 0b0011_1111 == 0);
    let index = if n > 32 { 256 } else { 0 };
    let end = bytes.len().checked_sub(2 + count_byte + index)?;
    bytes.get(end.checked_sub(n)?..end)
}

/// The inputs `fst` 0.4 (format 3) writes into a one-transition node's state byte instead of
/// a byte of their own, by index minus one: the first 63 of its `COMMON_INPUTS_INV` (a test
/// checks them against the crate's decoder).
#[cfg(not(feature = "lean"))]
const COMMON_INPUTS: &[u8; 63] = b"te/oasripcnw.hlm-du012g=:bf3y5&_4v9678k%?xCDASFIBEjPTzRNM+LOqHG";

/// The input and target of the node at `addr` if it is a *next* node, read in place; `None`
/// for every other node. `fst` writes most nodes of a key's unshared tail this way: one
/// transition with no output to the node written just before it, not final, in one state
/// byte (its top two bits set, the input's index in [`COMMON_INPUTS`] in the others, or 0 and
/// the input in the byte before). A greedy descent spends most of its nodes here; decoding
/// them as general nodes made npm's prefix queries run 10% more instructions.
#[cfg(not(feature = "lean"))]
#[inline]
fn next_node_step(bytes: &[u8], addr: usize) -> Option<(u8, usize)> {
    // Address 0 is the empty final node whatever its byte says.
    if addr == 0 {
        return None;
    }
    let state = *bytes.get(addr)?;
    if state & 0b1100_0000 != 0b1100_0000 {
        return None;
    }
    match usize::from(state & 0b0011_1111) {
        0 => Some((*bytes.get(addr - 1)?, addr.checked_sub(2)?)),
        index => Some((*COMMON_INPUTS.get(index - 1)?, addr - 1)),
    }
}

/// Lean builds decode every node with `fst`: the worker bundle has no room for the code.
#[cfg(feature = "lean")]
#[inline]
fn next_node_step(_bytes: &[u8], _addr: usize) -> Option<(u8, usize)> {
    None
}

/// The transitions of `node` whose input `keep` takes. Most transitions a typo walk meets
/// lead where the automaton dies: their input byte alone says so, read in place without
/// decoding their address and output.
#[cfg(not(feature = "lean"))]
fn transitions_where<'n>(
    node: &'n fst::raw::Node<'_>,
    keep: impl Fn(u8) -> bool + 'n,
) -> impl Iterator<Item = fst::raw::Transition> + 'n {
    let inputs = node_inputs(node);
    let input = move |i: usize| match inputs {
        Some(inputs) => inputs[inputs.len() - 1 - i],
        None => node.transition(i).inp,
    };
    (0..node.len())
        .filter(move |&i| keep(input(i)))
        .map(|i| node.transition(i))
}

/// Lean builds decode each transition: the worker bundle has no room for the code.
#[cfg(feature = "lean")]
fn transitions_where<'n>(
    node: &'n fst::raw::Node<'_>,
    keep: impl Fn(u8) -> bool + 'n,
) -> impl Iterator<Item = fst::raw::Transition> + 'n {
    node.transitions().filter(move |t| keep(t.inp))
}

/// The node the exact part of the query leads to and the cost accumulated on the way, or
/// `None` when no key starts with it.
pub(crate) fn follow_exact(
    fst: &fst::raw::Fst<&[u8]>,
    exact: &str,
) -> Result<Option<(usize, u64)>> {
    follow_bytes(fst, exact.as_bytes())
}

/// [`follow_exact`] along any bytes (a cut may end inside a character). Returns the node's
/// address: most callers need no more, and decoding the node whole cost about 1% of a
/// prefix query's instructions.
fn follow_bytes(fst: &fst::raw::Fst<&[u8]>, bytes: &[u8]) -> Result<Option<(usize, u64)>> {
    let (mut addr, mut cost) = (fst.root().addr(), 0);
    for &b in bytes {
        let Some((target, output)) = exact_step(fst, addr, b) else {
            return Ok(None);
        };
        cost = add_cost(cost, output)?;
        addr = target;
    }
    Ok(Some((addr, cost)))
}

/// The final output of the node at `addr`, or `None` when it is not final: read in place
/// natively. Not in lean builds, which follow no whole query first.
#[cfg(not(feature = "lean"))]
pub(crate) fn final_output(fst: &fst::raw::Fst<&[u8]>, addr: usize) -> Option<u64> {
    #[cfg(not(target_family = "wasm"))]
    if let Some(read) = in_place::final_output(fst.as_bytes(), addr) {
        return read;
    }
    let node = fst.node(addr);
    node.is_final().then(|| node.final_output().value())
}

/// Where the walk's exact part leads in its FST, the cost on the way, and whether that is in
/// the main FST: when the walk's FST holds a category's cuts, a walk goes on in the main FST
/// from the first cut it meets, as every key below a cut is the category's.
fn follow_walk(walk: &Walk<'_, '_>) -> Result<Option<(usize, u64, bool)>> {
    let (fst, bytes) = (walk.fst, walk.exact.as_bytes());
    let Some(main) = walk.main else {
        return Ok(follow_bytes(fst, bytes)?.map(|(addr, cost)| (addr, cost, false)));
    };
    let in_main = |(addr, cost)| (addr, cost, true);
    Ok(match follow_cuts(fst, bytes)? {
        None => None,
        Some(InCuts::Node(addr, cost)) => Some((addr, cost, false)),
        // The caller may have followed the exact part in the main FST already.
        #[cfg(not(feature = "lean"))]
        Some(InCuts::BelowCut) if walk.main_start.is_some() => {
            walk.main_start.flatten().map(in_main)
        }
        Some(InCuts::BelowCut) => follow_bytes(main, bytes)?.map(in_main),
    })
}

/// Where bytes lead in a category's cut FST (see [`follow_cuts`]).
pub(crate) enum InCuts {
    /// To the node at this address, at this cost.
    Node(usize, u64),
    /// Below a cut (the first final node on the way): every key there is the category's,
    /// and the walk goes on in the main FST.
    BelowCut,
}

/// Where `bytes` lead in the cut FST `fst`, in one pass; `None` when nowhere.
pub(crate) fn follow_cuts(fst: &fst::raw::Fst<&[u8]>, bytes: &[u8]) -> Result<Option<InCuts>> {
    let (mut addr, mut cost) = (fst.root().addr(), 0);
    for &b in bytes {
        let Some((target, output)) = exact_step(fst, addr, b) else {
            return Ok(None);
        };
        if is_final(fst, target) {
            return Ok(Some(InCuts::BelowCut));
        }
        cost = add_cost(cost, output)?;
        addr = target;
    }
    Ok(Some(InCuts::Node(addr, cost)))
}

/// Whether the node at `addr` is final: read from its state byte natively.
#[cfg(not(any(feature = "lean", target_family = "wasm")))]
pub(crate) fn is_final(fst: &fst::raw::Fst<&[u8]>, addr: usize) -> bool {
    in_place::is_final(fst.as_bytes(), addr).unwrap_or_else(|| fst.node(addr).is_final())
}

/// WebAssembly builds decode the node: the modules are counted in bytes.
#[cfg(any(feature = "lean", target_family = "wasm"))]
pub(crate) fn is_final(fst: &fst::raw::Fst<&[u8]>, addr: usize) -> bool {
    fst.node(addr).is_final()
}

/// The FST a candidate's node is in: the walk's own, or the main one below a cut.
fn fst_of<'w, 'f>(walk: &Walk<'w, 'f>, main: bool) -> Result<&'w fst::raw::Fst<&'f [u8]>> {
    match (main, walk.main) {
        (false, _) => Ok(walk.fst),
        (true, Some(main)) => Ok(main),
        (true, None) => Err(Error::corrupt("category cuts", "a cut the main FST lacks")),
    }
}

/// The target and output of the transition on `b` of the node at `addr`, read in place
/// natively (a node decoded whole per byte was a tenth of a short prefix query).
#[cfg(not(any(feature = "lean", target_family = "wasm")))]
use in_place::step as exact_step;

/// WebAssembly builds decode the node: the modules are counted in bytes.
#[cfg(any(feature = "lean", target_family = "wasm"))]
fn exact_step(fst: &fst::raw::Fst<&[u8]>, addr: usize, b: u8) -> Option<(usize, u64)> {
    let node = fst.node(addr);
    let t = node.transition(node.find_input(b)?);
    Some((t.addr, t.out.value()))
}

/// Whether the path spelled by the exact part already matches: always in the plain pass,
/// and in a typo pass when the rest of the query is within its edits of nothing.
fn start_mode(typos: Option<Typos<'_>>, exact_len: u32) -> Mode {
    let accepted = Mode::Accepted {
        match_end: exact_len,
    };
    let (dfa, edits) = match typos {
        None => return accepted,
        Some(Typos::Automaton(dfa, edits, ..)) => (dfa, edits),
        #[cfg(not(any(feature = "lean", target_family = "wasm")))]
        Some(Typos::One(_)) => return accepted,
    };
    let state = dfa.initial_state();
    let best = exact_distance(dfa, state);
    if best <= edits {
        return accepted;
    }
    Mode::Fuzzy(Fuzzy {
        state,
        best,
        depth: 0,
    })
}

/// The edits of an automaton state if the text so far matches within its maximum, else
/// `u8::MAX`.
#[inline]
pub(super) fn exact_distance(dfa: &Dfa, state: u32) -> u8 {
    match dfa.distance(state) {
        Distance::Exact(d) => d,
        Distance::AtLeast(_) => u8::MAX,
    }
}

/// Nodes are written children first, so a well-formed FST always moves to a lower address
/// (0 is the shared empty final node); this also rules out cycles in a malformed one.
#[inline]
fn check_forward(from: usize, to: usize) -> Result<()> {
    if to >= from && to != 0 {
        return Err(Error::corrupt("fst", "transition to a later node"));
    }
    Ok(())
}

#[inline]
pub(super) fn add_cost(a: u64, b: u64) -> Result<u64> {
    a.checked_add(b)
        .ok_or_else(|| Error::corrupt("fst", "output overflow"))
}

/// A node whose outputs do not keep its subtree's cheapest cost on one transition.
fn no_cheapest_transition() -> Error {
    Error::corrupt(
        "fst",
        "no transition keeps the cheapest cost of its subtree",
    )
}

/// A part of a node read in place outside the bytes its layout was checked against.
#[cfg(not(any(feature = "lean", target_family = "wasm")))]
fn node_outside() -> Error {
    Error::corrupt("fst", "a node's transition lies outside the node")
}

// Lean builds read no inputs in place.
#[cfg(all(test, not(feature = "lean")))]
mod tests {
    use super::{next_node_step, node_inputs};
    use crate::format::fst_check::reachable_nodes;
    use crate::fst_writer::FstWriter;
    use proptest::prelude::*;

    /// Checks every node of the FST built from `entries` (sorted, distinct keys): the input
    /// bytes read in place are the decoded transitions' inputs, last first, a node read in
    /// place as a *next* node has the one transition `fst` decodes, and so has the
    /// transition on every byte read in place (`in_place`), and so are whether it is final
    /// and its final output. Returns the inputs of the next nodes.
    fn check_every_node(entries: &[(Vec<u8>, u64)]) -> Vec<u8> {
        let mut writer = FstWriter::new(Vec::new());
        for (key, value) in entries {
            writer.insert(key, *value).unwrap();
        }
        let fst = fst::raw::Fst::new(writer.finish()).unwrap();
        let mut next_inputs = Vec::new();
        for addr in reachable_nodes(&fst) {
            let node = fst.node(addr);
            let mut decoded: Vec<u8> = node.transitions().map(|t| t.inp).collect();
            decoded.reverse();
            match node_inputs(&node) {
                Some(inputs) => assert_eq!(inputs, &decoded[..], "node at {addr}"),
                None => assert!(node.len() < 2, "node at {addr} has {} inputs", node.len()),
            }
            if let Some((input, next)) = next_node_step(fst.as_bytes(), addr) {
                assert!(!node.is_final() && node.len() == 1, "node at {addr}");
                let t = node.transition(0);
                assert_eq!(
                    (t.inp, t.out.value(), t.addr),
                    (input, 0, next),
                    "at {addr}"
                );
                next_inputs.push(input);
            }
            for b in 0..=255u8 {
                let decoded = node.find_input(b).map(|i| {
                    let t = node.transition(i);
                    (t.addr, t.out.value())
                });
                let read = super::in_place::transition_on(fst.as_bytes(), addr, b);
                assert_eq!(read, Some(decoded), "node at {addr}, byte {b}");
            }
            let is_final = super::in_place::is_final(fst.as_bytes(), addr);
            assert_eq!(is_final, Some(node.is_final()), "node at {addr}");
            let last = node.is_final().then(|| node.final_output().value());
            let read = super::in_place::final_output(fst.as_bytes(), addr);
            assert_eq!(read, Some(last), "node at {addr}");
            check_branches(&fst, addr);
            check_transitions(&fst, addr);
            check_lone_input(&fst, addr);
        }
        next_inputs
    }

    /// A node read in place as having a single input, or none, has exactly that transition
    /// in `fst`'s decoding, which [`super::in_place::step`] reads; *next* and *one* nodes are
    /// always read so, and every other node as an *any* node.
    fn check_lone_input(fst: &fst::raw::Fst<Vec<u8>>, addr: usize) {
        let decoded: Vec<_> = fst
            .node(addr)
            .transitions()
            .map(|t| (t.inp, t.out.value(), t.addr))
            .collect();
        let state = fst.as_bytes()[addr] >> 6;
        let fst = fst::raw::Fst::new(fst.as_bytes()).unwrap();
        let lone = super::in_place::lone_input(fst.as_bytes(), addr);
        match lone {
            Some(None) => assert!(addr == 0 && decoded.is_empty(), "node at {addr}"),
            Some(Some(b)) => {
                let (target, output) = super::in_place::step(&fst, addr, b).unwrap();
                assert_eq!(decoded, [(b, output, target)], "node at {addr}");
            }
            None => assert!(addr != 0 && state < 0b10, "node at {addr} not read"),
        }
        // Every node is read either way, and an *any* node with its transitions in order.
        let any = super::in_place::any_node(fst.as_bytes(), addr);
        assert_eq!(any.is_some(), lone.is_none(), "node at {addr}");
        if let Some(any) = any {
            assert_eq!(any_read(&any, fst.as_bytes()), decoded, "node at {addr}");
        }
    }

    /// A node other than a *next* node and the empty final node read in place as a greedy
    /// descent reads it has `fst`'s transitions, in `fst`'s order, and its final output.
    fn check_branches(fst: &fst::raw::Fst<Vec<u8>>, addr: usize) {
        use super::in_place::Branches;
        let node = fst.node(addr);
        let bytes = fst.as_bytes();
        let read = Branches::at(bytes, addr);
        if addr == 0 || next_node_step(bytes, addr).is_some() {
            return;
        }
        let decoded: Vec<_> = node
            .transitions()
            .map(|t| (t.inp, t.out.value(), t.addr))
            .collect();
        let final_output = node.is_final().then(|| node.final_output().value());
        match read {
            Some(Branches::One {
                input,
                target,
                output,
            }) => {
                assert_eq!(decoded, [(input, output, target)], "node at {addr}");
                assert_eq!(final_output, None, "node at {addr}");
            }
            Some(Branches::Any(any)) => {
                assert_eq!(any_read(&any, bytes), decoded, "node at {addr}");
                assert_eq!(
                    any.final_output(bytes),
                    Some(final_output),
                    "node at {addr}"
                );
            }
            None => panic!("node at {addr} not read in place"),
        }
    }

    /// An *any* node's transitions read in place, as `(input, output, target)` in `fst`'s order.
    fn any_read(any: &super::in_place::AnyNode, bytes: &[u8]) -> Vec<(u8, u64, usize)> {
        (0..any.count)
            .map(|i| {
                let input = any.input(bytes, i).unwrap();
                (
                    input,
                    any.output(bytes, i).unwrap(),
                    any.target(bytes, i).unwrap(),
                )
            })
            .collect()
    }

    /// The transitions of the node at `addr` read in place for a walk that skips some by
    /// their input are `fst`'s, in its order, whatever it skips.
    fn check_transitions(fst: &fst::raw::Fst<Vec<u8>>, addr: usize) {
        let bytes = fst.as_bytes();
        let fst = fst::raw::Fst::new(bytes).unwrap();
        let node = fst.node(addr);
        for keep in [|_: u8| true, |b: u8| b % 2 == 0, |b: u8| b >= 0x80] {
            let decoded: Vec<_> = node
                .transitions()
                .filter(|t| keep(t.inp))
                .map(|t| (t.inp, t.addr, t.out.value()))
                .collect();
            let mut transitions = super::in_place::Transitions::of(&fst, addr);
            let mut read = Vec::new();
            while let Some(t) = transitions.next_where(keep).unwrap() {
                read.push(t);
            }
            assert_eq!(read, decoded, "node at {addr}");
        }
    }

    #[test]
    fn numbers_unpacked_at_every_offset_and_width() {
        let bytes: Vec<u8> = (1..=20u8).map(|b| b.wrapping_mul(37)).collect();
        for at in 0..=bytes.len() + 1 {
            for len in 0..=8 {
                let expected = bytes.get(at..at + len).map(|slice| {
                    slice
                        .iter()
                        .rev()
                        .fold(0u64, |n, &b| (n << 8) | u64::from(b))
                });
                let read = super::in_place::unpack(&bytes, at, len);
                assert_eq!(read, expected, "{len} bytes at {at}");
            }
        }
    }

    #[test]
    fn next_nodes_of_every_input() {
        // A lone key is a chain of next nodes: the first byte's is read from the state
        // byte when common, the others' from a byte of their own.
        for b in 0..=255u8 {
            let inputs = check_every_node(&[(vec![b'k', b, b'k'], 7)]);
            assert!(inputs.contains(&b), "no next node read for input {b}");
        }
    }

    /// Keys under `prefix` with `fanout` distinct next bytes (spread over 0..=255), outputs
    /// as large as `output` so that output sizes vary.
    fn fan(prefix: &[u8], fanout: usize, output: u64) -> Vec<(Vec<u8>, u64)> {
        (0..fanout)
            .map(|i| {
                let mut key = prefix.to_vec();
                key.push((i * 256 / fanout) as u8);
                (key, output.wrapping_mul(i as u64 + 1) % (output + 1))
            })
            .collect()
    }

    #[test]
    fn inputs_in_place_at_every_width() {
        // 2..=63 fit the state byte's count, 33 and up carry an index, 64 and up a count
        // byte, 256 is written as 1.
        for fanout in [1, 2, 3, 31, 32, 33, 63, 64, 65, 200, 255, 256] {
            for output in [0, 1, 300, 1 << 40, u64::MAX - 1] {
                check_every_node(&fan(b"ab", fanout, output));
                let mut entries = vec![(b"a".to_vec(), 5)];
                entries.extend(fan(b"a", fanout, output));
                check_every_node(&entries);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn input_positions_are_the_byte_loops(
            inputs in proptest::collection::vec(any::<u8>(), 0..70),
            b in any::<u8>(),
            pick in any::<proptest::sample::Index>(),
        ) {
            let expected = |b: u8| inputs.iter().position(|&input| input == b);
            prop_assert_eq!(super::in_place::position(&inputs, b), expected(b));
            if !inputs.is_empty() {
                // A byte that is there, wherever it is (repeats: the first).
                let present = inputs[pick.index(inputs.len())];
                prop_assert_eq!(super::in_place::position(&inputs, present), expected(present));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn inputs_in_place_match_decoded(
            keys in proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..6), 0u64..100_000, 1..300)
        ) {
            let entries: Vec<(Vec<u8>, u64)> = keys.into_iter().collect();
            check_every_node(&entries);
        }
    }
}
