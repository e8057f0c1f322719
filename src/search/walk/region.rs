//! A typo pass's fuzzy candidates expanded depth first, before the walk takes any match.
//!
//! In a best-first walk every fuzzy candidate goes through the heap: pushed when its parent
//! is expanded, popped when it is the cheapest pending. A pass of two edits expands hundreds
//! of them per query (every node within two characters below the exact part is live, and most
//! die a byte or two further), and the heap's sift moves were a fifth of its instructions.
//!
//! Here the fuzzy nodes are expanded from a stack instead, the cheapest child of each node
//! first, and every accepted child is offered to the walk's bounded list as the best-first
//! expansion would offer it. The set of accepted candidates, and their costs, are the same;
//! the walk then pops them cheapest first, so matches come out in the same cost order. A
//! fuzzy node is skipped when the bounded list is full of candidates no costlier than it:
//! every accepted candidate below it costs at least as much, and the list would drop it
//! (the skip records its cost as dropped, as the list would). Unlike the best-first walk,
//! this one cannot stop once the first matches are found; where a pass finds few matches (the
//! common case for a pass of two edits), the best-first walk expands the whole region too.

use crate::search::automaton::{Dfa, SINK_STATE};

use super::in_place::{any_node, lone_input, step, Transitions};
use super::{
    add_cost, check_forward, exact_distance, node_outside, Candidate, Fuzzy, Mode, Progress, Step,
    WalkState,
};
use crate::error::Result;
use crate::format::WORD_START_SEPARATOR;

/// What a child reached in automaton state `next` is, after a path of `depth` bytes whose
/// fewest edits so far were `best`: accepted once within the pass's edits (its match ends
/// after the exact part and the path), fuzzy otherwise.
fn child_of((next, best, depth): (u32, u8, u32), (dfa, edits): (&Dfa, u8), exact_len: u32) -> Mode {
    let best = best.min(exact_distance(dfa, next));
    if best <= edits {
        Mode::Accepted {
            match_end: exact_len + depth + 1,
        }
    } else {
        Mode::Fuzzy(Fuzzy {
            state: next,
            best,
            depth: depth + 1,
        })
    }
}

/// The automaton of a pass, its edits, and the query's tail it was built for.
type Typos<'t> = (&'t Dfa, u8, &'t str);

/// The most transitions of a closed node whose inputs are looked up among the tail's bytes,
/// rather than the tail's bytes in the node: most closed nodes have two to four.
const FEW_TRANSITIONS: usize = 8;

/// A closed node's live child: its input's index among the tail's bytes, its transition, and
/// its automaton state.
type LiveChild = (u8, usize, u32);

/// Puts `item` into `sorted` (its last slot spare), after every entry whose index among the
/// tail's bytes is no greater.
fn insert_by_first(sorted: &mut [LiveChild], item: LiveChild) {
    let mut j = sorted.len() - 1;
    while j > 0 && sorted[j - 1].0 > item.0 {
        sorted[j] = sorted[j - 1];
        j -= 1;
    }
    sorted[j] = item;
}

/// What expanding a node reads besides the node: the FST, the pass's automaton and edits,
/// the tail's bytes, and the bound of the walk's list.
struct Pass<'p> {
    fst: &'p fst::raw::Fst<&'p [u8]>,
    typos: (&'p Dfa, u8),
    tail: &'p TailBytes,
    bound: usize,
}

/// A fuzzy node whose edits are spent, and its path in the arena once recorded.
type ClosedNode<'n> = (&'n Candidate, Fuzzy, &'n mut Option<u32>);

/// The bytes that can continue a path whose edits are spent: the tail's own.
struct TailBytes {
    /// Each distinct byte of the tail but the word-start separator (a match must lie before
    /// it), at most [`crate::MAX_FUZZY_BYTES`].
    bytes: [u8; crate::MAX_FUZZY_BYTES],
    len: usize,
    /// Each byte's class in the pass's automaton: its transitions are read without looking
    /// the class up again at every node.
    classes: [u8; crate::MAX_FUZZY_BYTES],
    /// An ASCII byte the tail does not hold: the automaton treats every such byte alike, so
    /// its transition says whether a state still has an edit to spend on any byte.
    probe: u8,
    /// Each byte's index in `bytes`, [`TailBytes::NONE`] for bytes it does not hold.
    index: [u8; 256],
}

impl TailBytes {
    fn new(tail: &str, dfa: &Dfa) -> Option<TailBytes> {
        let mut index = [Self::NONE; 256];
        let mut bytes = [0u8; crate::MAX_FUZZY_BYTES];
        let mut len = 0;
        for &b in tail.as_bytes() {
            if index[usize::from(b)] == Self::NONE && b != WORD_START_SEPARATOR {
                *bytes.get_mut(len)? = b;
                index[usize::from(b)] = len as u8;
                len += 1;
            }
        }
        // The separator is not ASCII: an ASCII byte without an index is not in the tail.
        let probe = (0u8..0x80).find(|&b| index[usize::from(b)] == Self::NONE)?;
        let classes = bytes.map(|b| dfa.class_of(b));
        Some(TailBytes {
            bytes,
            classes,
            len,
            probe,
            index,
        })
    }

    /// No index: a byte the tail does not hold (there are at most
    /// [`crate::MAX_FUZZY_BYTES`], fewer than this).
    const NONE: u8 = u8::MAX;

    /// `b`'s index among the tail's bytes, and its class, if the tail holds it (a closed state
    /// can go on with it).
    fn find(&self, b: u8) -> Option<(u8, u8)> {
        let i = self.index[usize::from(b)];
        Some((i, *self.classes.get(usize::from(i))?))
    }

    /// Each byte with its class in the automaton.
    fn bytes(&self) -> impl Iterator<Item = (u8, u8)> + '_ {
        let classes = self.classes.iter().copied();
        self.bytes[..self.len].iter().copied().zip(classes)
    }

    /// Whether `state` has no edit left to spend: only the tail's bytes can continue it.
    fn closed(&self, dfa: &Dfa, state: u32) -> bool {
        dfa.transition(state, self.probe) == SINK_STATE
    }
}

impl WalkState {
    /// Expands every fuzzy candidate below `start` (itself fuzzy) that may lead to a kept
    /// accepted candidate, offering those to the list; stops early only when the budget runs
    /// out. False when it did not start: a tail that holds no byte to probe its automaton
    /// with (none can: it would take every ASCII byte) is left to the best-first walk.
    pub(super) fn expand_region(
        &mut self,
        fst: &fst::raw::Fst<&[u8]>,
        typos: Typos<'_>,
        start: Candidate,
    ) -> Result<bool> {
        let Some(tail) = TailBytes::new(typos.2, typos.0) else {
            return Ok(false);
        };
        self.region.clear();
        self.push_region(start);
        let result = self.drain_region(fst, typos, &tail);
        self.budget.pending -= self.region.len();
        self.region.clear();
        result.map(|()| true)
    }

    /// Keeps a fuzzy candidate for the depth-first expansion.
    fn push_region(&mut self, candidate: Candidate) {
        self.region.push(candidate);
        self.budget.pending += 1;
    }

    /// Offers a child: an accepted one to the walk's list, a fuzzy one to the stack.
    fn offer_child(&mut self, bound: usize, child: Candidate) {
        match child.mode {
            Mode::Fuzzy(_) => self.push_region(child),
            mode => self.offer(
                bound,
                child.cost,
                child.addr,
                child.parent,
                child.step,
                mode,
            ),
        }
    }

    /// Pops the stack until it is empty or the budget ran out.
    fn drain_region(
        &mut self,
        fst: &fst::raw::Fst<&[u8]>,
        (dfa, edits, _): Typos<'_>,
        tail: &TailBytes,
    ) -> Result<()> {
        // What `pull` gives a fuzzy expansion before any match is accepted.
        let bound = self.kept_bound(0).saturating_add(1);
        let pass = Pass {
            fst,
            typos: (dfa, edits),
            tail,
            bound,
        };
        while let Some(candidate) = self.region.pop() {
            self.budget.pending -= 1;
            let Mode::Fuzzy(fuzzy) = candidate.mode else {
                continue;
            };
            if self.list_full_below(candidate.cost, bound) {
                self.floor = self.floor.min(candidate.cost);
                continue;
            }
            let pushed = self.region.len();
            let node = (candidate, fuzzy);
            let progress = match tail.closed(dfa, fuzzy.state) {
                true => self.expand_closed(&pass, node)?,
                false => self.expand_open(&pass, node)?,
            };
            if let Progress::Stop = progress {
                return Ok(());
            }
            self.cheapest_on_top(pushed);
        }
        Ok(())
    }

    /// [`WalkState::expand`] for a state whose edits are spent: only the tail's own bytes can
    /// continue it. Any other byte leads the automaton to its sink, or, for the first byte of
    /// a character the tail does not hold, to a state that dies on the next byte. A node with
    /// a single transition has its input tried alone, and its target read only when the
    /// automaton survives it; one with several goes to [`WalkState::expand_closed_any`].
    fn expand_closed(
        &mut self,
        pass: &Pass<'_>,
        (candidate, fuzzy): (Candidate, Fuzzy),
    ) -> Result<Progress> {
        if !self.visit() {
            return Ok(Progress::Stop);
        }
        // Most such nodes have no way on: their path is recorded once one is found.
        let mut path = match candidate.step {
            Step::Here => Some(candidate.parent),
            Step::Byte(_) => None,
            Step::End => return Ok(Progress::Continue),
        };
        let node = (&candidate, fuzzy, &mut path);
        match lone_input(pass.fst.as_bytes(), candidate.addr) {
            Some(None) => {}
            Some(Some(b)) => {
                let Some((_, class)) = pass.tail.find(b) else {
                    return Ok(Progress::Continue);
                };
                let next = pass.typos.0.transition_at(fuzzy.state, class);
                let found = (next != SINK_STATE).then(|| step(pass.fst, candidate.addr, b));
                if let Some(Some((addr, out))) = found {
                    self.offer_closed_child(pass, node, (b, next, addr, out))?;
                }
            }
            None => self.expand_closed_any(pass, node)?,
        }
        Ok(Progress::Continue)
    }

    /// [`WalkState::expand_closed`] for a node with several transitions. A node with few
    /// has each input looked up among the tail's bytes, and the children the automaton
    /// survives are offered in the tail's order (the order of a look-up per tail byte, which
    /// sets the order of equal costs and of a budget's cut); a larger one has each of the
    /// tail's bytes that the automaton survives looked up in it.
    fn expand_closed_any(&mut self, pass: &Pass<'_>, node: ClosedNode<'_>) -> Result<()> {
        let (candidate, fuzzy, path) = node;
        let bytes = pass.fst.as_bytes();
        let few = any_node(bytes, candidate.addr).filter(|any| any.count <= FEW_TRANSITIONS);
        let Some(any) = few else {
            return self.expand_closed_each(pass, (candidate, fuzzy, path));
        };
        // By index among the tail's bytes.
        let mut live: [LiveChild; FEW_TRANSITIONS] = [(0, 0, 0); FEW_TRANSITIONS];
        let mut n = 0;
        for i in 0..any.count {
            let input = any.input(bytes, i).ok_or_else(node_outside)?;
            let Some((at, class)) = pass.tail.find(input) else {
                continue;
            };
            let next = pass.typos.0.transition_at(fuzzy.state, class);
            if next != SINK_STATE {
                insert_by_first(&mut live[..=n], (at, i, next));
                n += 1;
            }
        }
        for &(at, i, next) in &live[..n] {
            let b = pass.tail.bytes[usize::from(at)];
            let addr = any.target(bytes, i).ok_or_else(node_outside)?;
            let out = any.output(bytes, i).ok_or_else(node_outside)?;
            let node = (candidate, fuzzy, &mut *path);
            self.offer_closed_child(pass, node, (b, next, addr, out))?;
        }
        Ok(())
    }

    /// [`WalkState::expand_closed_any`] for a node with many transitions.
    fn expand_closed_each(&mut self, pass: &Pass<'_>, node: ClosedNode<'_>) -> Result<()> {
        let (candidate, fuzzy, path) = node;
        for (b, class) in pass.tail.bytes() {
            let next = pass.typos.0.transition_at(fuzzy.state, class);
            if next == SINK_STATE {
                continue;
            }
            let Some((addr, out)) = step(pass.fst, candidate.addr, b) else {
                continue;
            };
            let node = (candidate, fuzzy, &mut *path);
            self.offer_closed_child(pass, node, (b, next, addr, out))?;
        }
        Ok(())
    }

    /// Offers the child of a closed node that its transition on `b` (to `addr`, with output
    /// `out`) reaches in automaton state `next` (not the sink); records the node's path in the
    /// arena the first time one of its children is offered.
    fn offer_closed_child(
        &mut self,
        pass: &Pass<'_>,
        (candidate, Fuzzy { best, depth, .. }, path): ClosedNode<'_>,
        (b, next, addr, out): (u8, u32, usize, u64),
    ) -> Result<()> {
        check_forward(candidate.addr, addr)?;
        let here = match (*path, candidate.step) {
            (Some(here), _) => here,
            (None, Step::Byte(byte)) => self.push_arena(candidate.parent, byte)?,
            (None, _) => candidate.parent,
        };
        *path = Some(here);
        let mode = child_of((next, best, depth), pass.typos, self.exact_len);
        let child = Candidate {
            cost: add_cost(candidate.cost, out)?,
            addr,
            parent: here,
            step: Step::Byte(b),
            mode,
            main: false,
        };
        self.offer_child(pass.bound, child);
        Ok(())
    }

    /// [`WalkState::expand`] for a state with an edit left: every transition the automaton
    /// survives is a child, and a child whose edits are then spent is expanded at once by
    /// [`WalkState::expand_closed`] rather than going through the stack.
    fn expand_open(
        &mut self,
        pass: &Pass<'_>,
        (candidate, Fuzzy { state, best, depth }): (Candidate, Fuzzy),
    ) -> Result<Progress> {
        let (fst, (dfa, edits), tail, bound) = (pass.fst, pass.typos, pass.tail, pass.bound);
        if !self.visit() {
            return Ok(Progress::Stop);
        }
        let path = match candidate.step {
            Step::Here => candidate.parent,
            Step::Byte(b) => self.push_arena(candidate.parent, b)?,
            Step::End => return Ok(Progress::Continue),
        };
        let mut transitions = Transitions::of(fst, candidate.addr);
        let live = |b: u8| b != WORD_START_SEPARATOR && dfa.transition(state, b) != SINK_STATE;
        while let Some((input, target, output)) =
            transitions.next_where(live).ok_or_else(node_outside)?
        {
            let next = dfa.transition(state, input);
            check_forward(candidate.addr, target)?;
            let mode = child_of((next, best, depth), (dfa, edits), self.exact_len);
            let cost = add_cost(candidate.cost, output)?;
            let step = Step::Byte(input);
            let child = Candidate {
                cost,
                addr: target,
                parent: path,
                step,
                mode,
                main: false,
            };
            match mode {
                Mode::Fuzzy(fuzzy) if tail.closed(dfa, next) => {
                    if self.list_full_below(cost, bound) {
                        self.floor = self.floor.min(cost);
                        continue;
                    }
                    let progress = self.expand_closed(pass, (child, fuzzy))?;
                    if let Progress::Stop = progress {
                        return Ok(Progress::Stop);
                    }
                }
                _ => self.offer_child(bound, child),
            }
        }
        Ok(Progress::Continue)
    }

    /// Whether typo passes expand their fuzzy candidates here (always, but in tests that
    /// take the best-first expansion as the oracle).
    pub(super) fn region_allowed(&self) -> bool {
        #[cfg(test)]
        return !self.best_first;
        #[cfg(not(test))]
        true
    }

    /// Whether the bounded list holds `bound` candidates, each no costlier than `cost`: it
    /// would drop every candidate of `cost` or more.
    fn list_full_below(&self, cost: u64, bound: usize) -> bool {
        self.bound.is_some()
            && self.candidates.len() >= bound
            && self
                .candidates
                .first()
                .is_some_and(|most| most.candidate.cost <= cost)
    }

    /// Moves the cheapest of the children pushed from `from` on to the top of the stack, so
    /// the greedy path is taken first and fills the list with cheap candidates early.
    fn cheapest_on_top(&mut self, from: usize) {
        let children = &mut self.region[from..];
        let cheapest = children
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.cost)
            .map(|(i, _)| i);
        if let Some(i) = cheapest {
            let last = children.len() - 1;
            children.swap(i, last);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// Phrases over a few characters (one of two bytes, one of three), some of several
    /// words, so that typos collide and edits run out inside multi-byte characters.
    fn phrase() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop::sample::select(vec!['a', 'b', 'c', 'd', ' ', 'é', 'è', '東', '京']),
            1..10,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        /// The depth-first expansion answers every typo query exactly as the best-first
        /// one (the WebAssembly builds' walk): the same suggestions in the same order, with
        /// the same edits, matched ranges and truncation, with and without a category filter
        /// (whose walks run over the categories' FSTs).
        #[cfg(feature = "build")]
        #[test]
        fn depth_first_answers_as_best_first(
            rows in proptest::collection::btree_map(phrase(), 1u64..50, 1..120),
            queries in proptest::collection::vec(phrase(), 1..12),
            word_starts in any::<bool>(),
            k in 1usize..13,
            prefix_length in 0usize..3,
            fuzzy in prop::sample::select(vec![2u8, 1, 0]),
            exact_first in any::<bool>(),
            filter in prop::sample::select(vec![vec![], vec!["odd"], vec!["odd", "even"]]),
        ) {
            let mut builder = crate::SegmentBuilder::with_options(crate::BuildOptions {
                word_starts,
                ..Default::default()
            });
            for (phrase, score) in &rows {
                let category = if score % 2 == 1 { "odd" } else { "even" };
                let _ = builder.add_row(phrase, *score, None, &[category]);
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
                categories: filter.iter().map(|c| c.to_string()).collect(),
                ..Default::default()
            };
            let mut depth_first = crate::Searcher::new();
            let mut best_first = crate::Searcher::new();
            best_first.best_first_typos();
            // Both with the automaton for every typo pass, so that passes of one edit take
            // the region too.
            depth_first.always_automaton();
            best_first.always_automaton();
            for query in &queries {
                let got = depth_first.search(&segment, query, &options).unwrap().to_owned();
                let want = best_first.search(&segment, query, &options).unwrap().to_owned();
                prop_assert_eq!(got, want, "query {:?}", query);
            }
        }
    }
}
