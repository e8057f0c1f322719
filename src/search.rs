//! Exact top-k prefix search: best-first over the FST with ranks as outputs.
//!
//! Each key's FST output is its *rank* (0 = best: highest score, ties by key). The FST builder
//! pushes the minimum output of every subtree onto the transition leading into it, so the
//! output accumulated on the way to a node is the best rank below it. From the node reached by
//! the query we therefore:
//!
//! 1. pop the cheapest candidate (a node and the best rank below it);
//! 2. descend greedily along zero-output transitions (each keeps the best rank) until the key
//!    ends: that key is the next result, in exact rank order;
//! 3. on the way, every other transition (and every earlier key end) becomes a candidate with
//!    its own best rank; only the `k - found - 1` cheapest candidates can still matter, so the
//!    candidate list is bounded by that.
//!
//! Each result costs one descent of at most the key's length, so a query costs
//! O(k · depth · fan-out) however many keys match. Paths live in an arena of parent links;
//! every buffer is owned by the [`Searcher`] and reused across queries.

use crate::error::{Error, Result};
use crate::normalize::{normalize_into, Trailing};
use crate::segment::Segment;

/// Sentinel parent index for the node the query prefix leads to.
const NO_PARENT: u32 = u32::MAX;

/// No key in a well-formed segment is this long; a longer descent means a malformed FST.
const MAX_KEY_BYTES: usize = 1 << 16;

/// One suggestion, borrowing from the [`Searcher`] and the [`Segment`] that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suggestion<'a> {
    /// The display form: the most popular surface form of the phrase.
    pub text: &'a str,
    /// The normalized key that matched the query.
    pub key: &'a str,
    /// The (merged) score.
    pub score: u64,
    /// The position in the segment's ranking (0 = best).
    pub rank: u32,
    /// The JSON payload, if the phrase has one.
    pub payload: Option<&'a str>,
    /// The normalized query that matched.
    pub query: &'a str,
}

/// A [`Suggestion`] that owns its strings.
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
}

impl Suggestion<'_> {
    /// The byte range of [`Suggestion::text`] that the query matched (see
    /// [`crate::match_span`]).
    pub fn highlight(&self) -> std::ops::Range<usize> {
        crate::match_span(self.text, self.query)
    }

    /// [`Suggestion::highlight`] in UTF-16 code units, for JavaScript.
    pub fn highlight_utf16(&self) -> (u32, u32) {
        crate::utf16_range(self.text, self.highlight())
    }

    /// Copies the strings out.
    pub fn to_owned(&self) -> OwnedSuggestion {
        OwnedSuggestion {
            text: self.text.to_owned(),
            key: self.key.to_owned(),
            score: self.score,
            rank: self.rank,
            payload: self.payload.map(str::to_owned),
        }
    }
}

/// Where a candidate's path continues from its parent.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The node reached by the query itself.
    Start,
    /// Follow the transition on this byte.
    Byte(u8),
    /// The key ends at the parent (a final node whose final output was not zero).
    End,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    /// Best rank reachable through this candidate.
    cost: u64,
    /// FST node to continue from (unused for [`Step::End`]).
    addr: usize,
    /// Arena index of the path so far.
    parent: u32,
    step: Step,
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    rank: u64,
    key_start: usize,
    key_end: usize,
}

/// Reusable search state: keep one per thread (or per wasm instance) and call
/// [`Searcher::suggest`] for each query. No allocation happens per visited node, and none at
/// all per query once the buffers have grown to the largest query seen.
#[derive(Debug, Default, Clone)]
pub struct Searcher {
    query: String,
    /// Path arena: `(parent index, byte)`.
    arena: Vec<(u32, u8)>,
    /// Candidates sorted by descending cost: the cheapest is popped from the end.
    candidates: Vec<Candidate>,
    /// The found keys, concatenated.
    keys: String,
    key_scratch: Vec<u8>,
    hits: Vec<Hit>,
}

impl Searcher {
    /// A searcher with empty buffers.
    pub fn new() -> Searcher {
        Searcher::default()
    }

    /// The normalized form of the last query passed to [`Searcher::suggest`] (for
    /// [`crate::match_span`]).
    pub fn normalized_query(&self) -> &str {
        &self.query
    }

    /// The `k` highest-scoring suggestions whose normalized key starts with the normalized
    /// `query`, by score descending, ties by normalized key ascending (byte order).
    ///
    /// An empty (or all-whitespace) query matches everything. Errors only on a corrupt segment.
    pub fn suggest<'a, D: AsRef<[u8]>>(
        &'a mut self,
        segment: &'a Segment<D>,
        query: &str,
        k: usize,
    ) -> Result<Vec<Suggestion<'a>>> {
        normalize_into(query, &mut self.query, Trailing::KeepOneSpace);
        self.keys.clear();
        self.hits.clear();
        if k > 0 {
            self.top_k(segment, k)?;
        }
        let bytes = segment.as_bytes();
        let mut out = Vec::with_capacity(self.hits.len());
        for hit in &self.hits {
            let rank = u32::try_from(hit.rank)
                .map_err(|_| Error::corrupt("fst", format!("rank {} too large", hit.rank)))?;
            let key = self
                .keys
                .get(hit.key_start..hit.key_end)
                .ok_or_else(|| Error::corrupt("fst", "a key is not valid UTF-8"))?;
            let score = segment.scores.get(bytes, rank as usize)?;
            let text = segment.display.get(bytes, rank)?.unwrap_or(key);
            let payload = segment.payloads.get(bytes, rank)?;
            out.push(Suggestion {
                text,
                key,
                score,
                rank,
                payload,
                query: &self.query,
            });
        }
        Ok(out)
    }

    fn top_k<D: AsRef<[u8]>>(&mut self, segment: &Segment<D>, k: usize) -> Result<()> {
        let fst = segment.fst()?;
        let mut node = fst.root();
        let mut cost = 0u64;
        for &b in self.query.as_bytes() {
            let Some(i) = node.find_input(b) else {
                return Ok(());
            };
            let t = node.transition(i);
            cost = add_cost(cost, t.out.value())?;
            node = fst.node(t.addr);
        }
        self.arena.clear();
        self.candidates.clear();
        self.candidates.push(Candidate {
            cost,
            addr: node.addr(),
            parent: NO_PARENT,
            step: Step::Start,
        });
        let mut steps_left = k.saturating_add(1).saturating_mul(MAX_KEY_BYTES);
        while self.hits.len() < k {
            let Some(candidate) = self.candidates.pop() else {
                break;
            };
            // Candidates still worth keeping once this descent has produced its result.
            let bound = k - self.hits.len() - 1;
            let mut path = candidate.parent;
            let cost = candidate.cost;
            let mut addr = candidate.addr;
            match candidate.step {
                Step::Start => {}
                Step::Byte(b) => path = self.push_arena(path, b)?,
                Step::End => {
                    self.emit(path, cost)?;
                    continue;
                }
            }
            loop {
                steps_left = steps_left
                    .checked_sub(1)
                    .ok_or_else(|| Error::corrupt("fst", "a key path does not end"))?;
                let node = fst.node(addr);
                if node.is_final() {
                    let final_cost = add_cost(cost, node.final_output().value())?;
                    if final_cost == cost {
                        // The best key below this node ends here.
                        for t in node.transitions() {
                            let c = add_cost(cost, t.out.value())?;
                            self.offer(bound, c, t.addr, path, Step::Byte(t.inp));
                        }
                        self.emit(path, cost)?;
                        break;
                    }
                    self.offer(bound, final_cost, 0, path, Step::End);
                }
                let mut next = None;
                for t in node.transitions() {
                    if next.is_none() && t.out.value() == 0 {
                        next = Some(t);
                        if bound == 0 {
                            break;
                        }
                    } else {
                        let c = add_cost(cost, t.out.value())?;
                        self.offer(bound, c, t.addr, path, Step::Byte(t.inp));
                    }
                }
                let t = next.ok_or_else(|| {
                    Error::corrupt("fst", "no transition keeps the best rank of its subtree")
                })?;
                // Nodes are written children first, so a well-formed FST always moves to a
                // lower address; this also rules out cycles in a malformed one.
                if t.addr >= addr && t.addr != 0 {
                    return Err(Error::corrupt("fst", "transition to a later node"));
                }
                path = self.push_arena(path, t.inp)?;
                addr = t.addr;
            }
        }
        Ok(())
    }

    /// Keeps a candidate if it is among the `bound` cheapest seen.
    #[inline]
    fn offer(&mut self, bound: usize, cost: u64, addr: usize, parent: u32, step: Step) {
        if bound == 0 {
            return;
        }
        let candidates = &mut self.candidates;
        if candidates.len() >= bound {
            // Sorted descending: the most expensive is first.
            if cost >= candidates[0].cost {
                return;
            }
            candidates.remove(0);
        }
        let at = candidates.partition_point(|c| c.cost > cost);
        candidates.insert(
            at,
            Candidate {
                cost,
                addr,
                parent,
                step,
            },
        );
    }

    fn push_arena(&mut self, parent: u32, byte: u8) -> Result<u32> {
        let index = u32::try_from(self.arena.len())
            .map_err(|_| Error::corrupt("fst", "search path arena overflow"))?;
        self.arena.push((parent, byte));
        Ok(index)
    }

    /// Records the key spelled by the query plus the arena path ending at `path`.
    fn emit(&mut self, mut path: u32, rank: u64) -> Result<()> {
        self.key_scratch.clear();
        while path != NO_PARENT {
            let (parent, byte) = *self
                .arena
                .get(path as usize)
                .ok_or_else(|| Error::corrupt("fst", "bad search path"))?;
            self.key_scratch.push(byte);
            path = parent;
        }
        self.key_scratch.reverse();
        let suffix = std::str::from_utf8(&self.key_scratch)
            .map_err(|_| Error::corrupt("fst", "a key is not valid UTF-8"))?;
        let key_start = self.keys.len();
        self.keys.push_str(&self.query);
        self.keys.push_str(suffix);
        self.hits.push(Hit {
            rank,
            key_start,
            key_end: self.keys.len(),
        });
        Ok(())
    }
}

#[inline]
fn add_cost(a: u64, b: u64) -> Result<u64> {
    a.checked_add(b)
        .ok_or_else(|| Error::corrupt("fst", "output overflow"))
}
