//! Structural validation of an FST written by `fst` 0.4 (its format version 3), run before
//! `fst` reads it.
//!
//! `fst`'s node decoder trusts the bytes: node addresses, pack sizes and transition counts
//! index straight into the slice, so a malformed FST that passes the segment checksum (crafted,
//! or corrupted before the checksum was computed) makes it panic, which in wasm kills the
//! instance. This module decodes every node reachable from the root once, with its own
//! bounds-checked reads, and accepts the FST only when every such node is one `fst` decodes
//! without panicking. After that, walking the FST through `fst::raw` (`root`, `node`,
//! `transitions`, `transition`, `find_input`, `final_output`, `get`, `stream`) cannot panic.
//!
//! Node encoding (see `fst`'s `raw/node.rs`): a node's address is its *last* byte (its state
//! byte) and the node is read backwards from there. The top two bits of the state byte pick
//! the kind:
//!
//! - `11` one transition to the node written just before (no output); low 6 bits: a common
//!   input, or 0 when the input byte precedes the state byte.
//! - `10` one transition: `[output: osize][delta: tsize][pack sizes][input?][state]`.
//! - `0f` any number of transitions, `f` = final; low 6 bits: the count, or 0 when a count byte
//!   precedes the state byte (1 there means 256). Layout, ascending:
//!   `[final output: osize if final][outputs: n × osize][deltas: n × tsize][inputs: n]`
//!   `[index: 256 when n > 32][pack sizes][count?][state]`, transitions stored last first.
//!
//! Pack sizes hold the delta size in the high nibble and the output size in the low one; an
//! output size of 0 means every output is zero. A transition's target is the node's first byte
//! minus the delta, or address 0 (the shared final node without transitions or output, never
//! written) when the delta is 0. Nodes are written children first, so a target always lies
//! below the node that points to it: that is what rules out cycles.

use crate::error::{Error, Result};

/// Version and type, before the first node.
const HEADER_LEN: usize = 16;
/// Key count, root address and CRC-32C, after the last node.
const FOOTER_LEN: usize = 20;
/// The shared empty final node.
const EMPTY_ADDRESS: usize = 0;
/// Nodes with more transitions than this carry a 256-byte index from input byte to transition.
const INDEX_THRESHOLD: usize = 32;
const INDEX_LEN: usize = 256;

/// The inputs a one-transition state byte can name (its low 6 bits, minus one): `fst`'s
/// `COMMON_INPUTS_INV`, of which a 6-bit field reaches the first 63.
const COMMON_INPUTS: [u8; 63] = *b"te/oasripcnw.hlm-du012g=:bf3y5&_4v9678k%?xCDASFIBEjPTzRNM+LOqHG";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    EmptyFinal,
    OneTransNext(u8),
    OneTrans(u8),
    AnyTrans,
}

/// One decoded node: where its parts are, so its transitions read in O(1) each. Every position
/// lies in the node region once [`decode`] returns it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    kind: Kind,
    /// First byte of the node.
    end: usize,
    pub(crate) is_final: bool,
    pub(crate) final_output: u64,
    pub(crate) len: usize,
    tsize: usize,
    osize: usize,
    /// One past the highest input byte (`AnyTrans`).
    inputs_top: usize,
    /// Start of the transition index, if any.
    index: Option<usize>,
}

/// One transition: input byte, output, target address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) input: u8,
    pub(crate) output: u64,
    pub(crate) addr: usize,
}

/// Reads a `size`-byte little-endian unsigned integer at `at` (size 0 reads 0).
#[inline]
fn uint(fst: &[u8], at: usize, size: usize) -> Result<u64, String> {
    let bytes = at
        .checked_add(size)
        .and_then(|e| fst.get(at..e))
        .filter(|b| b.len() <= 8)
        .ok_or_else(|| format!("{size}-byte integer at {at} out of bounds"))?;
    Ok(bytes
        .iter()
        .rev()
        .fold(0u64, |n, &b| (n << 8) | u64::from(b)))
}

#[inline]
fn byte(fst: &[u8], at: usize) -> Result<u8, String> {
    fst.get(at)
        .copied()
        .ok_or_else(|| format!("byte {at} out of bounds"))
}

/// `at - n`, when that stays in the node region (at or after the header).
#[inline]
fn back(at: usize, n: usize, addr: usize) -> Result<usize, String> {
    at.checked_sub(n)
        .filter(|&p| p >= HEADER_LEN)
        .ok_or_else(|| format!("node at {addr} extends before the node region"))
}

/// Decodes the node whose last byte is `addr`, checking that all of it lies in the node region
/// `[16, region_end)` and that its pack sizes are ones `fst` reads.
pub(crate) fn decode(fst: &[u8], region_end: usize, addr: usize) -> Result<Node, String> {
    let mut node = Node {
        kind: Kind::EmptyFinal,
        end: EMPTY_ADDRESS,
        is_final: true,
        final_output: 0,
        len: 0,
        tsize: 0,
        osize: 0,
        inputs_top: 0,
        index: None,
    };
    if addr == EMPTY_ADDRESS {
        return Ok(node);
    }
    if addr < HEADER_LEN || addr >= region_end {
        return Err(format!(
            "node address {addr} outside the node region {HEADER_LEN}..{region_end}"
        ));
    }
    let state = byte(fst, addr)?;
    node.is_final = false;
    match state >> 6 {
        0b11 | 0b10 => {
            let (input, mut at) = match state & 0b0011_1111 {
                0 => {
                    let at = back(addr, 1, addr)?;
                    (byte(fst, at)?, at)
                }
                common => (COMMON_INPUTS[usize::from(common - 1)], addr),
            };
            node.len = 1;
            if state >> 6 == 0b11 {
                // The target is the byte before the node: the node written just before it.
                back(at, 1, addr)?;
                node.kind = Kind::OneTransNext(input);
            } else {
                at = back(at, 1, addr)?;
                let sizes = byte(fst, at)?;
                (node.tsize, node.osize) = (usize::from(sizes >> 4), usize::from(sizes & 15));
                if !(1..=8).contains(&node.tsize) || node.osize > 8 {
                    return Err(format!(
                        "node at {addr}: pack sizes {}/{} (address/output), expected 1..=8/0..=8",
                        node.tsize, node.osize
                    ));
                }
                at = back(at, node.tsize + node.osize, addr)?;
                node.kind = Kind::OneTrans(input);
            }
            node.end = at;
        }
        _ => {
            node.is_final = state & 0b0100_0000 != 0;
            let mut at = addr;
            node.len = match usize::from(state & 0b0011_1111) {
                0 => {
                    at = back(at, 1, addr)?;
                    match byte(fst, at)? {
                        1 => 256,
                        n => usize::from(n),
                    }
                }
                n => n,
            };
            at = back(at, 1, addr)?;
            let sizes = byte(fst, at)?;
            (node.tsize, node.osize) = (usize::from(sizes >> 4), usize::from(sizes & 15));
            if node.tsize > 8 || (node.tsize == 0 && node.len > 0) || node.osize > 8 {
                return Err(format!(
                    "node at {addr}: pack sizes {}/{} (address/output) with {} transitions",
                    node.tsize, node.osize, node.len
                ));
            }
            if node.len > INDEX_THRESHOLD {
                at = back(at, INDEX_LEN, addr)?;
                node.index = Some(at);
            }
            node.inputs_top = at;
            let final_size = if node.is_final { node.osize } else { 0 };
            // At most 256 × 17 + 8 bytes: no overflow.
            at = back(
                at,
                node.len * (1 + node.tsize + node.osize) + final_size,
                addr,
            )
            .map_err(|_| {
                format!(
                    "node at {addr}: {} transitions with pack sizes {}/{} do not fit",
                    node.len, node.tsize, node.osize
                )
            })?;
            node.kind = Kind::AnyTrans;
            node.end = at;
            if final_size > 0 {
                node.final_output = uint(fst, at, final_size)?;
            }
        }
    }
    Ok(node)
}

impl Node {
    /// Calls `f` with each transition in input order, after checking that inputs strictly
    /// increase and that each target lies below this node (or is 0). Returns the node's largest
    /// output (transition or final). One pass over the node's bytes, no allocation.
    #[inline]
    pub(crate) fn transitions(
        &self,
        fst: &[u8],
        mut f: impl FnMut(Transition),
    ) -> Result<u64, String> {
        let end = self.end;
        let target = |delta: u64| -> Result<usize, String> {
            if delta == 0 {
                return Ok(EMPTY_ADDRESS);
            }
            usize::try_from(delta)
                .ok()
                .and_then(|d| end.checked_sub(d))
                .ok_or_else(|| {
                    format!("node starting at {end}: a transition points before the FST")
                })
        };
        match self.kind {
            Kind::EmptyFinal => Ok(0),
            Kind::OneTransNext(input) => {
                let addr = end.checked_sub(1).ok_or("next node before the FST")?;
                f(Transition {
                    input,
                    output: 0,
                    addr,
                });
                Ok(0)
            }
            Kind::OneTrans(input) => {
                let output = uint(fst, end, self.osize)?;
                let addr = target(uint(fst, end + self.osize, self.tsize)?)?;
                f(Transition {
                    input,
                    output,
                    addr,
                });
                Ok(output)
            }
            Kind::AnyTrans => {
                let n = self.len;
                if n == 0 {
                    return Ok(self.final_output);
                }
                // Stored last transition first: reverse the memory order.
                let inputs = self.inputs_top - n;
                let deltas = inputs - n * self.tsize;
                let outputs = deltas - n * self.osize;
                let part = |from: usize, to: usize| {
                    fst.get(from..to)
                        .ok_or_else(|| format!("node starting at {end} out of bounds"))
                };
                let inputs = part(inputs, self.inputs_top)?;
                if inputs.windows(2).any(|w| w[0] <= w[1]) {
                    return Err(format!(
                        "node starting at {end}: inputs not strictly increasing"
                    ));
                }
                let deltas = part(deltas, self.inputs_top - n)?;
                let outputs = part(outputs, self.inputs_top - n - n * self.tsize)?;
                let mut largest = self.final_output;
                for (i, &input) in inputs.iter().enumerate().rev() {
                    let at = i * self.tsize;
                    let addr = target(le(deltas.get(at..at + self.tsize).unwrap_or(&[])))?;
                    let at = i * self.osize;
                    let output = le(outputs.get(at..at + self.osize).unwrap_or(&[]));
                    largest = largest.max(output);
                    f(Transition {
                        input,
                        output,
                        addr,
                    });
                }
                Ok(largest)
            }
        }
    }
}

/// A little-endian unsigned integer of at most 8 bytes.
#[inline]
fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |n, &b| (n << 8) | u64::from(b))
}

/// Validates every node reachable from `root`, each decoded once: see the module docs. `fst`
/// is the whole FST (header to CRC); its frame (version, root address) is already checked.
/// Memory: one bit per byte of the FST plus a stack of node addresses.
pub(crate) fn check_nodes(fst: &[u8], root: usize, section: &'static str) -> Result<()> {
    walk(fst, root).map_err(|detail| Error::corrupt(section, detail))
}

fn walk(fst: &[u8], root: usize) -> Result<(), String> {
    if root == EMPTY_ADDRESS {
        return Ok(());
    }
    let region_end = fst
        .len()
        .checked_sub(FOOTER_LEN)
        .ok_or("shorter than its footer")?;
    let mut seen = vec![0u64; region_end / 64 + 1];
    let mut stack = vec![root];
    mark(&mut seen, root);
    // An upper bound on the output sum of every path: a path visits each node at most once
    // (addresses strictly decrease) and takes at most its largest output there.
    let mut bound = Some(0u64);
    while let Some(addr) = stack.pop() {
        let node = decode(fst, region_end, addr)?;
        let largest = node.transitions(fst, |t| {
            if t.addr != EMPTY_ADDRESS && !mark(&mut seen, t.addr) {
                stack.push(t.addr);
            }
        })?;
        if let Some(index) = node.index {
            check_index(fst, &node, index).map_err(|e| format!("node at {addr}: {e}"))?;
        }
        bound = bound.and_then(|b| b.checked_add(largest));
    }
    if bound.is_none() {
        check_output_sums(fst, region_end, &seen)?;
    }
    Ok(())
}

/// Marks `addr` as seen; returns whether it already was. `addr` is below the region end.
#[inline]
fn mark(seen: &mut [u64], addr: usize) -> bool {
    match seen.get_mut(addr / 64) {
        Some(word) => {
            let bit = 1u64 << (addr % 64);
            let was = *word & bit != 0;
            *word |= bit;
            was
        }
        // Unreachable: every target lies below the node pointing to it.
        None => true,
    }
}

/// The index maps each transition's input to its position, and every other byte to a value
/// past the last transition (`fst` reads such a value as "no transition").
fn check_index(fst: &[u8], node: &Node, index: usize) -> Result<(), String> {
    let table = fst
        .get(index..index + INDEX_LEN)
        .ok_or("index out of bounds")?;
    for i in 0..node.len {
        let input = byte(fst, node.inputs_top - 1 - i)?;
        if usize::from(table[usize::from(input)]) != i {
            return Err(format!("index entry of input {input} is not {i}"));
        }
    }
    let present = table.iter().filter(|&&v| usize::from(v) < node.len).count();
    if present != node.len {
        return Err(format!(
            "index names {present} transitions, the node has {}",
            node.len
        ));
    }
    Ok(())
}

/// The exact check behind the cheap bound: the largest output sum of any path from each node,
/// computed children first (ascending addresses), must fit in a `u64`. Only FSTs with outputs
/// near `u64::MAX` get here; this crate's outputs are ranks.
fn check_output_sums(fst: &[u8], region_end: usize, seen: &[u64]) -> Result<(), String> {
    let addrs: Vec<usize> = seen
        .iter()
        .enumerate()
        .flat_map(|(w, &bits)| {
            (0..64)
                .filter(move |b| bits & (1u64 << b) != 0)
                .map(move |b| w * 64 + b)
        })
        .collect();
    let mut largest = Vec::with_capacity(addrs.len());
    for &addr in &addrs {
        let node = decode(fst, region_end, addr)?;
        let mut most = node.final_output;
        let mut missing = None;
        node.transitions(fst, |t| {
            let below = match t.addr {
                EMPTY_ADDRESS => Some(0),
                a => addrs
                    .binary_search(&a)
                    .ok()
                    .and_then(|k| largest.get(k).copied()),
            };
            match below.and_then(|b| t.output.checked_add(b)) {
                Some(sum) => most = most.max(sum),
                None => missing = Some(t.addr),
            }
        })?;
        if let Some(target) = missing {
            return Err(format!(
                "node at {addr}: output sums through {target} overflow"
            ));
        }
        largest.push(most);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An FST mapping `keys` (sorted, deduplicated here) to their values.
    fn build(mut entries: Vec<(Vec<u8>, u64)>) -> Vec<u8> {
        entries.sort();
        entries.dedup_by(|a, b| a.0 == b.0);
        let mut builder = fst::MapBuilder::memory();
        for (key, value) in entries {
            builder.insert(key, value).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn root_of(bytes: &[u8]) -> usize {
        fst::raw::Fst::new(bytes).unwrap().root().addr()
    }

    /// Walks every node reachable from the root with `fst`'s decoder and requires this module's
    /// decoder to see the same node; then requires the whole FST to validate. Returns the
    /// number of nodes compared.
    fn agrees(bytes: &[u8]) -> usize {
        let fst = fst::raw::Fst::new(bytes).unwrap();
        let region_end = bytes.len() - FOOTER_LEN;
        let mut stack = vec![fst.root().addr()];
        let mut done = std::collections::HashSet::new();
        while let Some(addr) = stack.pop() {
            if !done.insert(addr) {
                continue;
            }
            let theirs = fst.node(addr);
            let ours = decode(bytes, region_end, addr).unwrap();
            assert_eq!(ours.is_final, theirs.is_final(), "final at {addr}");
            assert_eq!(
                ours.final_output,
                theirs.final_output().value(),
                "at {addr}"
            );
            assert_eq!(ours.len, theirs.len(), "transitions at {addr}");
            assert_eq!(ours.index.is_some(), theirs.len() > INDEX_THRESHOLD);
            let mut mine = Vec::new();
            let largest = ours.transitions(bytes, |t| mine.push(t)).unwrap();
            let want: Vec<Transition> = theirs
                .transitions()
                .map(|t| Transition {
                    input: t.inp,
                    output: t.out.value(),
                    addr: t.addr,
                })
                .collect();
            assert_eq!(mine, want, "transitions at {addr}");
            let most = want.iter().map(|t| t.output).max().unwrap_or(0);
            assert_eq!(
                largest,
                most.max(ours.final_output),
                "largest output at {addr}"
            );
            stack.extend(want.iter().map(|t| t.addr));
            if addr != EMPTY_ADDRESS {
                // `as_slice` is the node's bytes, first to last.
                let start = addr + 1 - theirs.as_slice().len();
                assert_eq!(ours.end, start, "start of node {addr}");
            }
        }
        walk(bytes, root_of(bytes)).unwrap();
        done.len()
    }

    fn keys(words: &[&str]) -> Vec<(Vec<u8>, u64)> {
        words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_bytes().to_vec(), i as u64))
            .collect()
    }

    #[test]
    fn agrees_with_fst_on_small_shapes() {
        // Empty, the empty key alone (root is the empty final node, or final with an output),
        // one key, keys sharing suffixes, uncommon input bytes.
        agrees(&build(vec![]));
        agrees(&build(vec![(vec![], 0)]));
        agrees(&build(vec![(vec![], 7)]));
        agrees(&build(vec![(b"a".to_vec(), 0)]));
        agrees(&build(vec![(b"\xffz".to_vec(), u64::MAX)]));
        agrees(&build(keys(&[
            "running", "jumping", "walking", "nation", "station", "ration", "run", "jump",
        ])));
        agrees(&build(vec![
            (b"new york".to_vec(), 0),
            (b"york\xffnew ".to_vec(), 1005),
            (b"new\x00\x01".to_vec(), 3),
        ]));
        // Every input byte on one-transition nodes (common inputs come from the state byte).
        for b in 0..=255u8 {
            agrees(&build(vec![(vec![b, b, b'.'], u64::from(b))]));
        }
    }

    #[test]
    fn agrees_with_fst_on_wide_nodes() {
        // Around the index threshold, and every byte (256 transitions, count byte 1).
        for width in [2, 31, 32, 33, 63, 64, 100, 255, 256] {
            let entries: Vec<(Vec<u8>, u64)> = (0..width)
                .map(|b| (vec![b as u8, b"xyz"[b % 3]], (b as u64 * 7919) % 1000))
                .collect();
            agrees(&build(entries.clone()));
            // The same below a shared prefix, and final at the wide node.
            let mut nested: Vec<(Vec<u8>, u64)> = entries
                .into_iter()
                .map(|(k, v)| ([b"p".as_slice(), &k].concat(), v + 1))
                .collect();
            nested.push((b"p".to_vec(), 5));
            agrees(&build(nested));
        }
    }

    #[test]
    fn agrees_with_fst_on_large_outputs() {
        // Outputs of every pack size, and sums near u64::MAX in several subtrees (past the
        // cheap bound, so the exact check runs and accepts).
        let mut entries = Vec::new();
        for shift in 0..64 {
            entries.push((format!("k{shift:02}").into_bytes(), 1u64 << shift));
        }
        agrees(&build(entries));
        let near = u64::MAX - 3;
        let big = build(vec![
            (b"xa".to_vec(), 0),
            (b"xb".to_vec(), near),
            (b"yc".to_vec(), 0),
            (b"yd".to_vec(), near),
            (b"ze".to_vec(), 1),
            (b"zf".to_vec(), u64::MAX),
        ]);
        agrees(&big);
    }

    #[test]
    fn agrees_with_fst_on_random_sets() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut nodes = 0;
        for round in 0..60 {
            let alphabet = [2u64, 4, 26, 200][round % 4];
            let count = 1 + next() % 400;
            let entries: Vec<(Vec<u8>, u64)> = (0..count)
                .map(|_| {
                    let len = next() % 9;
                    let key = (0..len).map(|_| (next() % alphabet) as u8 + 40).collect();
                    let value = match round % 3 {
                        0 => next() % 50,
                        1 => next() % 1_000_000,
                        _ => next() >> (next() % 64),
                    };
                    (key, value)
                })
                .collect();
            nodes += agrees(&build(entries));
        }
        assert!(nodes > 5_000, "{nodes}");
    }
}
