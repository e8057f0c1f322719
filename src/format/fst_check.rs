//! Structural validation of an FST written by `fst` 0.4 (its format version 3), run before
//! `fst` reads it.
//!
//! `fst`'s node decoder trusts the bytes: node addresses, pack sizes and transition counts
//! index straight into the slice, so a malformed FST that passes the segment checksum (crafted,
//! or corrupted before the checksum was computed) makes it panic, which in wasm kills the
//! instance. This module decodes every node once (all of them, so every node reachable from
//! the root), with its own bounds-checked reads, and accepts the FST only when each is one
//! `fst` decodes without panicking, every transition leads to such a node, and no path's
//! output sum overflows. After that, walking the FST through `fst::raw` (`root`, `node`,
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

/// What is wrong and where: small and `Copy`, so the hot loop returns it cheaply; formatted
/// into the error only when validation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bad {
    /// The node (its last byte) or transition target concerned.
    pub(crate) at: usize,
    pub(crate) what: &'static str,
}

pub(crate) type Check<T> = std::result::Result<T, Bad>;

#[inline]
pub(crate) fn bad<T>(at: usize, what: &'static str) -> Check<T> {
    Err(Bad { at, what })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    EmptyFinal,
    OneTransNext(u8),
    OneTrans(u8),
    AnyTrans,
}

/// One decoded node: where its parts are. Every position lies in the node region once
/// [`decode`] returns it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    kind: Kind,
    /// The node's last byte (its address).
    pub(crate) addr: usize,
    /// The node's first byte.
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

/// A little-endian unsigned integer of at most 8 bytes (none: 0).
#[inline]
fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |n, &b| (n << 8) | u64::from(b))
}

/// The `size`-byte (0..=8) little-endian integer at `at`: one 8-byte load and a mask, since a
/// node is always followed by at least the 20-byte footer.
#[inline]
fn uint(fst: &[u8], at: usize, size: usize) -> u64 {
    let mask = match size {
        8.. => u64::MAX,
        _ => (1u64 << (8 * size)) - 1,
    };
    match at.checked_add(8).and_then(|e| fst.get(at..e)) {
        Some(&[a, b, c, d, e, f, g, h]) => u64::from_le_bytes([a, b, c, d, e, f, g, h]) & mask,
        _ => le(fst.get(at..).unwrap_or(&[]).get(..size).unwrap_or(&[])),
    }
}

/// `bytes[from..from + len]`, or an error about the node at `addr`.
#[inline]
fn part(fst: &[u8], from: usize, len: usize, addr: usize) -> Check<&[u8]> {
    match from.checked_add(len).and_then(|to| fst.get(from..to)) {
        Some(bytes) => Ok(bytes),
        None => bad(addr, "node out of bounds"),
    }
}

#[inline]
fn byte(fst: &[u8], at: usize, addr: usize) -> Check<u8> {
    match fst.get(at) {
        Some(&b) => Ok(b),
        None => bad(addr, "node out of bounds"),
    }
}

/// `at - n`, when that stays in the node region (at or after the header).
#[inline]
fn back(at: usize, n: usize, addr: usize) -> Check<usize> {
    match at.checked_sub(n) {
        Some(p) if p >= HEADER_LEN => Ok(p),
        _ => bad(addr, "node extends before the node region"),
    }
}

/// The input of a one-transition state byte, and the position of the byte before it.
#[inline]
fn one_input(fst: &[u8], state: u8, addr: usize) -> Check<(u8, usize)> {
    match state & 0b0011_1111 {
        0 => {
            let at = back(addr, 1, addr)?;
            Ok((byte(fst, at, addr)?, at))
        }
        common => Ok((COMMON_INPUTS[usize::from(common - 1)], addr)),
    }
}

/// Decodes the node whose last byte is `addr`, checking that all of it lies in the node region
/// `[16, region_end)` and that its pack sizes are ones `fst` reads.
#[inline(always)]
pub(crate) fn decode(fst: &[u8], region_end: usize, addr: usize) -> Check<Node> {
    let mut node = Node {
        kind: Kind::EmptyFinal,
        addr,
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
        return bad(addr, "node outside the node region");
    }
    let state = byte(fst, addr, addr)?;
    node.is_final = false;
    node.len = 1;
    match state >> 6 {
        0b11 => decode_one_trans_next(fst, state, &mut node)?,
        0b10 => decode_one_trans(fst, state, &mut node)?,
        _ => decode_any_trans(fst, state, &mut node)?,
    }
    Ok(node)
}

/// A one-transition node whose target is the node written just before it.
#[inline(always)]
fn decode_one_trans_next(fst: &[u8], state: u8, node: &mut Node) -> Check<()> {
    let addr = node.addr;
    let (input, at) = one_input(fst, state, addr)?;
    // The target is the byte just before the node: the node written before it.
    back(at, 1, addr)?;
    node.kind = Kind::OneTransNext(input);
    node.end = at;
    Ok(())
}

/// A one-transition node with its own packed address and output.
#[inline(always)]
fn decode_one_trans(fst: &[u8], state: u8, node: &mut Node) -> Check<()> {
    let addr = node.addr;
    let (input, at) = one_input(fst, state, addr)?;
    let at = back(at, 1, addr)?;
    (node.tsize, node.osize) = pack_sizes(byte(fst, at, addr)?, 1, addr)?;
    node.kind = Kind::OneTrans(input);
    node.end = back(at, node.tsize + node.osize, addr)?;
    Ok(())
}

/// A node with any number of transitions (and the index above the threshold), possibly final.
#[inline(always)]
fn decode_any_trans(fst: &[u8], state: u8, node: &mut Node) -> Check<()> {
    let addr = node.addr;
    node.is_final = state & 0b0100_0000 != 0;
    let mut at = addr;
    node.len = match usize::from(state & 0b0011_1111) {
        0 => {
            at = back(at, 1, addr)?;
            match byte(fst, at, addr)? {
                1 => 256,
                n => usize::from(n),
            }
        }
        n => n,
    };
    at = back(at, 1, addr)?;
    // A node without transitions stores no addresses: its address size may be 0.
    let min_tsize = usize::from(node.len > 0);
    (node.tsize, node.osize) = pack_sizes(byte(fst, at, addr)?, min_tsize, addr)?;
    if node.len > INDEX_THRESHOLD {
        at = back(at, INDEX_LEN, addr)?;
        node.index = Some(at);
    }
    node.inputs_top = at;
    let final_size = if node.is_final { node.osize } else { 0 };
    // At most 256 × 17 + 8 bytes: no overflow.
    let size = node.len * (1 + node.tsize + node.osize) + final_size;
    at = back(at, size, addr).map_err(|_| Bad {
        at: addr,
        what: "node's transitions do not fit in the node region",
    })?;
    node.kind = Kind::AnyTrans;
    node.end = at;
    node.final_output = uint(fst, at, final_size);
    Ok(())
}

/// The address and output pack sizes of a sizes byte: addresses `min_tsize..=8` bytes,
/// outputs `0..=8`.
#[inline(always)]
fn pack_sizes(sizes: u8, min_tsize: usize, addr: usize) -> Check<(usize, usize)> {
    let (tsize, osize) = (usize::from(sizes >> 4), usize::from(sizes & 15));
    if tsize < min_tsize || tsize > 8 || osize > 8 {
        return bad(
            addr,
            "node's pack sizes outside 1..=8 (address), 0..=8 (output)",
        );
    }
    Ok((tsize, osize))
}

impl Node {
    /// Calls `f` with each transition in input order, after checking that inputs strictly
    /// increase, that each target lies below this node (or is 0) and, for an indexed node,
    /// that the index agrees with the inputs. Returns the node's largest output (transition or
    /// final). One pass over the node's bytes, no allocation.
    #[inline]
    pub(crate) fn transitions(&self, fst: &[u8], mut f: impl FnMut(Transition)) -> Check<u64> {
        let (addr, end) = (self.addr, self.end);
        let target = |delta: u64| -> Check<usize> {
            if delta == 0 {
                return Ok(EMPTY_ADDRESS);
            }
            match usize::try_from(delta).ok().and_then(|d| end.checked_sub(d)) {
                Some(target) => Ok(target),
                None => bad(
                    addr,
                    "node's transition points before address 0 (or, wrapping, forward)",
                ),
            }
        };
        match self.kind {
            Kind::EmptyFinal => Ok(0),
            Kind::OneTransNext(input) => {
                let Some(next) = end.checked_sub(1) else {
                    return bad(addr, "node's transition points before address 0");
                };
                f(Transition {
                    input,
                    output: 0,
                    addr: next,
                });
                Ok(0)
            }
            Kind::OneTrans(input) => {
                let output = uint(fst, end, self.osize);
                let delta = uint(fst, end + self.osize, self.tsize);
                f(Transition {
                    input,
                    output,
                    addr: target(delta)?,
                });
                Ok(output)
            }
            Kind::AnyTrans => {
                let n = self.len;
                if n == 0 {
                    return Ok(self.final_output);
                }
                // Stored last transition first: memory order is reverse input order.
                let inputs = part(fst, self.inputs_top - n, n, addr)?;
                let deltas_at = self.inputs_top - n - n * self.tsize;
                let outputs_at = deltas_at - n * self.osize;
                if inputs.windows(2).any(|w| w[0] <= w[1]) {
                    return bad(addr, "node's inputs not strictly increasing");
                }
                if let Some(index) = self.index {
                    check_index(part(fst, index, INDEX_LEN, addr)?, inputs)
                        .map_err(|what| Bad { at: addr, what })?;
                }
                let mut largest = self.final_output;
                for (k, &input) in inputs.iter().enumerate().rev() {
                    let delta = uint(fst, deltas_at + k * self.tsize, self.tsize);
                    let output = uint(fst, outputs_at + k * self.osize, self.osize);
                    largest = largest.max(output);
                    f(Transition {
                        input,
                        output,
                        addr: target(delta)?,
                    });
                }
                Ok(largest)
            }
        }
    }
}

/// The index maps each transition's input to its position, and every other byte to a value
/// past the last transition (`fst` reads such a value as "no transition"). `inputs` are in
/// memory order (last transition first).
fn check_index(index: &[u8], inputs: &[u8]) -> std::result::Result<(), &'static str> {
    let n = inputs.len();
    for (k, &input) in inputs.iter().enumerate() {
        if index.get(usize::from(input)).map(|&i| usize::from(i)) != Some(n - 1 - k) {
            return Err("node's transition index disagrees with its inputs");
        }
    }
    if index.iter().filter(|&&i| usize::from(i) < n).count() != n {
        return Err("node's transition index names a missing input");
    }
    Ok(())
}

/// Validates the FST's nodes: see [`walk`]. `fst` is the whole FST (header to CRC); its frame
/// (version, root address = last byte of the node region, or 0) is already checked. Memory:
/// one bit per byte of the FST.
pub(crate) fn check_nodes(fst: &[u8], root: usize, section: &'static str) -> Result<()> {
    walk(fst, root, |_| {})
        .map_err(|Bad { at, what }| Error::corrupt(section, format!("address {at}: {what}")))
}

/// `fst` writes nodes back to back, children first and the root last, so the node region is
/// read from the root down, each node decoded exactly once, in one sequential pass (several
/// times faster than following transitions, which jumps around the FST). Bytes that do not
/// decode as a node anywhere in the region are refused, so the nodes tile the region.
///
/// Every transition target must be the last byte of a node, strictly below the node pointing
/// to it (which also rules out cycles). Targets go into a bit set as the pass finds them; since
/// every node pointing into a node lies above it, the pass has seen all of them when it reaches
/// that node, and refuses a target on any of its bytes but the last (its address). With the
/// header's bytes checked at the end, every target is a node's address (or 0, the unwritten
/// empty final node). This covers every node reachable from the root. `visit` sees each node
/// (the tests compare them with `fst`'s decoder).
fn walk(fst: &[u8], root: usize, mut visit: impl FnMut(&Node)) -> Check<()> {
    if root == EMPTY_ADDRESS {
        visit(&decode(fst, 0, root)?);
        return Ok(());
    }
    let region_end = fst.len().saturating_sub(FOOTER_LEN);
    if !(HEADER_LEN..region_end).contains(&root) {
        return bad(root, "root outside the node region");
    }
    let mut targets = vec![0u64; region_end / 64 + 1];
    // An upper bound on the output sum of every path: a path visits each node at most once
    // (addresses strictly decrease) and takes at most its largest output there.
    let (mut bound, mut overflow) = (0u64, false);
    let mut addr = root;
    loop {
        // One-transition-to-the-next-node states are most nodes (about 3 in 4 in a real
        // segment): decode them inline. Their target is the node this pass reads next, a node
        // address by construction, so it needs no mark. `addr` stays in the region: it starts
        // at the root and decreases.
        let state = fst.get(addr).copied().unwrap_or(0);
        if state >= 0b1100_0000 && addr > HEADER_LEN + 1 {
            let end = next_node_end(fst, state, addr, &targets, &mut visit)?;
            addr = end - 1;
            continue;
        }
        if state >> 6 == 0b10 && addr > HEADER_LEN + 2 {
            let (end, output) = one_node(fst, state, addr, &mut targets, &mut visit)?;
            let (sum, over) = bound.overflowing_add(output);
            (bound, overflow) = (sum, overflow | over);
            addr = match end {
                HEADER_LEN => break,
                _ => end - 1,
            };
            continue;
        }
        let node = decode(fst, region_end, addr)?;
        visit(&node);
        no_target_inside(&targets, node.end, addr)?;
        let largest = node.transitions(fst, |t| set(&mut targets, t.addr))?;
        let (sum, over) = bound.overflowing_add(largest);
        (bound, overflow) = (sum, overflow | over);
        if node.end == HEADER_LEN {
            break;
        }
        // `decode` keeps `end` at or past the header.
        addr = node.end - 1;
    }
    no_target_in_header(&targets)?;
    if overflow {
        check_output_sums(fst, region_end, root)?;
    }
    Ok(())
}

/// The first byte of the one-transition-to-the-next node at `addr` (above `HEADER_LEN + 1`),
/// one or two bytes long.
#[inline(always)]
fn next_node_end(
    fst: &[u8],
    state: u8,
    addr: usize,
    targets: &[u64],
    visit: &mut impl FnMut(&Node),
) -> Check<usize> {
    let (input, end) = match state & 0b0011_1111 {
        0 => (fst.get(addr - 1).copied().unwrap_or(0), addr - 1),
        common => (COMMON_INPUTS[usize::from(common - 1)], addr),
    };
    if end < addr && is_set(targets, end) {
        return bad(end, "a transition points inside a node");
    }
    visit(&Node {
        kind: Kind::OneTransNext(input),
        addr,
        end,
        is_final: false,
        final_output: 0,
        len: 1,
        tsize: 0,
        osize: 0,
        inputs_top: 0,
        index: None,
    });
    Ok(end)
}

/// The first byte and the output of the one-transition node at `addr` (above
/// `HEADER_LEN + 2`), its target marked: the second most common kind, decoded inline.
#[inline(always)]
fn one_node(
    fst: &[u8],
    state: u8,
    addr: usize,
    targets: &mut [u64],
    visit: &mut impl FnMut(&Node),
) -> Check<(usize, u64)> {
    let (input, at) = match state & 0b0011_1111 {
        0 => (fst.get(addr - 1).copied().unwrap_or(0), addr - 1),
        common => (COMMON_INPUTS[usize::from(common - 1)], addr),
    };
    // `addr > HEADER_LEN + 2`: `at - 1` is in the region.
    let (tsize, osize) = pack_sizes(fst.get(at - 1).copied().unwrap_or(0), 1, addr)?;
    let end = back(at - 1, tsize + osize, addr)?;
    no_target_inside(targets, end, addr)?;
    let output = uint(fst, end, osize);
    let delta = uint(fst, end + osize, tsize);
    let target = match usize::try_from(delta).ok().and_then(|d| end.checked_sub(d)) {
        Some(_) if delta == 0 => EMPTY_ADDRESS,
        Some(target) => target,
        None => {
            return bad(
                addr,
                "node's transition points before address 0 (or, wrapping, forward)",
            )
        }
    };
    set(targets, target);
    visit(&Node {
        kind: Kind::OneTrans(input),
        addr,
        end,
        is_final: false,
        final_output: 0,
        len: 1,
        tsize,
        osize,
        inputs_top: 0,
        index: None,
    });
    Ok((end, output))
}

/// Refuses a transition target on the bytes `[end, addr)` of the node at `addr`: every node
/// that can point there lies above it and has been read.
#[inline]
fn no_target_inside(targets: &[u64], end: usize, addr: usize) -> Check<()> {
    // Most nodes are short: two words cover them, without a loop.
    if addr - end < 64 {
        let word = end / 64;
        let low = targets.get(word).copied().unwrap_or(0);
        let high = targets.get(word + 1).copied().unwrap_or(0);
        let bits = ((u128::from(high) << 64) | u128::from(low)) >> (end % 64);
        let hits = bits as u64 & ((1u64 << (addr - end)) - 1);
        return match hits {
            0 => Ok(()),
            _ => bad(
                end + hits.trailing_zeros() as usize,
                "a transition points inside a node",
            ),
        };
    }
    let mut at = end;
    while at < addr {
        let (word, bit) = (at / 64, at % 64);
        let span = (addr - at).min(64 - bit);
        let mask = (u64::MAX >> (64 - span)) << bit;
        let hits = targets.get(word).copied().unwrap_or(0) & mask;
        if hits != 0 {
            let inside = word * 64 + hits.trailing_zeros() as usize;
            return bad(inside, "a transition points inside a node");
        }
        at += span;
    }
    Ok(())
}

/// Refuses a transition target in the FST header. Address 0, the unwritten empty final node,
/// is a valid target.
fn no_target_in_header(targets: &[u64]) -> Check<()> {
    let header = targets.first().copied().unwrap_or(0) & ((1u64 << HEADER_LEN) - 2);
    match header {
        0 => Ok(()),
        hits => bad(
            hits.trailing_zeros() as usize,
            "a transition points here, into the FST header",
        ),
    }
}

/// The addresses of the nodes of an FST whose nodes [`check_nodes`] accepted, ascending:
/// 0 (the empty final node) first, the root last; and the end of the node region.
pub(crate) fn node_addresses(fst: &[u8]) -> Check<(Vec<usize>, usize)> {
    let region_end = fst.len().saturating_sub(FOOTER_LEN);
    let root = fst
        .len()
        .checked_sub(12)
        .and_then(|at| fst.get(at..at + 8))
        .map_or(0, le) as usize;
    let mut addrs = if root == EMPTY_ADDRESS {
        Vec::new()
    } else {
        addresses(fst, region_end, root)?
    };
    if addrs.first() != Some(&EMPTY_ADDRESS) {
        addrs.insert(0, EMPTY_ADDRESS);
    }
    Ok((addrs, region_end))
}

/// The key count in the FST's footer.
pub(crate) fn key_count(fst: &[u8]) -> u64 {
    fst.len()
        .checked_sub(FOOTER_LEN)
        .and_then(|at| fst.get(at..at + 8))
        .map_or(0, le)
}

/// The node addresses from `root` down, ascending (the nodes tile the region: checked).
fn addresses(fst: &[u8], region_end: usize, root: usize) -> Check<Vec<usize>> {
    let mut addrs = Vec::new();
    let mut addr = root;
    loop {
        addrs.push(addr);
        let node = decode(fst, region_end, addr)?;
        if node.end <= HEADER_LEN {
            break;
        }
        addr = node.end - 1;
    }
    addrs.reverse();
    Ok(addrs)
}

/// Sets bit `addr`; addresses are below the region end, which sized the set.
#[inline]
fn set(bits: &mut [u64], addr: usize) {
    if let Some(word) = bits.get_mut(addr / 64) {
        *word |= 1u64 << (addr % 64);
    }
}

#[inline]
fn is_set(bits: &[u64], addr: usize) -> bool {
    bits.get(addr / 64)
        .is_some_and(|word| word & (1u64 << (addr % 64)) != 0)
}

/// The exact check behind the cheap bound: the largest output sum of any path from each node,
/// computed children first (ascending addresses), must fit in a `u64`. Only FSTs with outputs
/// near `u64::MAX` get here; this crate's outputs are ranks.
fn check_output_sums(fst: &[u8], region_end: usize, root: usize) -> Check<()> {
    let addrs = addresses(fst, region_end, root)?;
    let mut largest = Vec::with_capacity(addrs.len());
    for &addr in &addrs {
        let node = decode(fst, region_end, addr)?;
        let mut most = Some(node.final_output);
        node.transitions(fst, |t| {
            let below = match t.addr {
                EMPTY_ADDRESS => Some(0),
                a => addrs
                    .binary_search(&a)
                    .ok()
                    .and_then(|k| largest.get(k).copied()),
            };
            let sum = below.and_then(|b| t.output.checked_add(b));
            most = most.zip(sum).map(|(m, s)| m.max(s));
        })?;
        match most {
            Some(most) => largest.push(most),
            None => return bad(addr, "output sums from this node overflow u64"),
        }
    }
    Ok(())
}

/// The address of every node reachable from the root of `fst`, each once (tests compare
/// decoders over them).
#[cfg(test)]
pub(crate) fn reachable_nodes<D: AsRef<[u8]>>(fst: &fst::raw::Fst<D>) -> Vec<usize> {
    let mut stack = vec![fst.root().addr()];
    let mut seen = std::collections::HashSet::new();
    let mut found = Vec::new();
    while let Some(addr) = stack.pop() {
        if seen.insert(addr) {
            found.push(addr);
            stack.extend(fst.node(addr).transitions().map(|t| t.addr));
        }
    }
    found
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
        let mut walked = std::collections::HashMap::new();
        walk(bytes, root_of(bytes), |node| {
            assert!(
                walked.insert(node.addr, *node).is_none(),
                "{} twice",
                node.addr
            );
        })
        .unwrap();
        let done = reachable_nodes(&fst);
        for &addr in &done {
            let theirs = fst.node(addr);
            let ours = match walked.get(&addr) {
                Some(node) => *node,
                None if addr == EMPTY_ADDRESS => decode(bytes, region_end, addr).unwrap(),
                None => panic!("reachable node {addr} not walked"),
            };
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
            if addr != EMPTY_ADDRESS {
                // `as_slice` is the node's bytes, first to last.
                let start = addr + 1 - theirs.as_slice().len();
                assert_eq!(ours.end, start, "start of node {addr}");
            }
        }
        // Every written node is reachable: the walk saw exactly the reachable ones.
        let written = done.iter().filter(|&&a| a != EMPTY_ADDRESS).count();
        assert_eq!(walked.len(), written.max(1));
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
    fn no_target_inside_matches_a_bit_by_bit_check() {
        // Ranges short and long, within one word and across several, against every bit.
        let mut bits = vec![0u64; 8];
        for &at in &[3usize, 63, 64, 130, 191, 200, 320, 511] {
            set(&mut bits, at);
        }
        for end in 0..400 {
            for len in [0usize, 1, 2, 5, 40, 63, 64, 65, 100] {
                let addr = end + len;
                let first = (end..addr).find(|&a| bits[a / 64] >> (a % 64) & 1 == 1);
                let got = no_target_inside(&bits, end, addr).err().map(|b| b.at);
                assert_eq!(got, first, "[{end}, {addr})");
            }
        }
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
