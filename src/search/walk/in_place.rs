//! Nodes read where `fst` wrote them, one part at a time:
//!
//! - a node's transition on one byte ([`transition_on`]): the one-edit look-ups try a byte at
//!   about a hundred nodes a query, most of which have no transition on it; decoding each
//!   node whole first (`fst::raw::Node`) was a third of their work;
//! - a node's transitions for a greedy descent ([`Branches`]), which prices every transition
//!   by its output but follows or keeps only a few: decoding each one whole was a fifth of
//!   the instructions of npm's slowest exact queries.
//!
//! `fst` 0.4 writes a node backwards from its state byte at the node's address (format
//! version 2 and up; segments hold version 3, checked at open). The state's top two bits
//! give the kind:
//!
//! - `11`, *next*: one transition without output to the node written just before
//!   ([`super::next_node_step`]);
//! - `10`, *one*: one transition; its input among the common ones (the state's low six bits)
//!   or in the byte before; then the pack sizes (address bytes in the high four bits, output
//!   bytes in the low four), the address delta, the output;
//! - otherwise *any*: final when bit 6 is set; the count in the low six bits, or 0 and the
//!   count in the byte before (1 there means 256); the pack sizes; a 256-byte index from
//!   input to transition when there are more than 32; the inputs, the address deltas and the
//!   outputs, each last transition first; the final output.
//!
//! An address is the node's end (its lowest byte) minus the delta; a delta of 0 is the
//! shared empty final node, address 0. Every read is bounds-checked: a layout this does not
//! expect gives `None`, and the caller decodes the node with `fst` instead. The walk's tests
//! check every byte at every node of FSTs of every width against `fst`'s decoder.

use super::{next_node_step, COMMON_INPUTS};

/// The transition on `b` of the node at `addr`: `Some(None)` when it has none,
/// `Some(Some((target, output)))` when it has, `None` when the bytes are not laid out as
/// expected (decode the node with `fst`).
///
/// Inlined whole, with the two readers below, into each caller (the one-edit look-ups and
/// the depth-first typo expansion): with two callers the compiler kept a shared copy, and
/// each look-up paid a call, which made one-edit queries run 5% more instructions.
#[inline(always)]
pub(super) fn transition_on(bytes: &[u8], addr: usize, b: u8) -> Option<Option<(usize, u64)>> {
    if addr == 0 {
        // The empty final node has no transitions, whatever its byte says.
        return Some(None);
    }
    let state = *bytes.get(addr)?;
    match state >> 6 {
        0b11 => {
            let (input, next) = next_node_step(bytes, addr)?;
            Some((input == b).then_some((next, 0)))
        }
        0b10 => one_transition(bytes, addr, state, b),
        _ => any_transitions(bytes, addr, state, b),
    }
}

/// The target and output of the transition on `b` of the node at `addr`: read in place, or
/// decoded with `fst` where the layout is not the expected one. Inlined into each caller, as
/// [`transition_on`] is.
#[inline(always)]
pub(super) fn step(fst: &fst::raw::Fst<&[u8]>, addr: usize, b: u8) -> Option<(usize, u64)> {
    if let Some(read) = transition_on(fst.as_bytes(), addr, b) {
        return read;
    }
    let node = fst.node(addr);
    let t = node.transition(node.find_input(b)?);
    Some((t.addr, t.out.value()))
}

/// Whether the node at `addr` is final, from its state byte alone: the empty final node at
/// 0 is, *next* and *one* nodes never are, an *any* node says so in bit 6. `None` when `addr`
/// is outside the bytes.
#[inline(always)]
pub(super) fn is_final(bytes: &[u8], addr: usize) -> Option<bool> {
    if addr == 0 {
        return Some(true);
    }
    let state = *bytes.get(addr)?;
    Some(match state >> 6 {
        0b11 | 0b10 => false,
        _ => state & 0b0100_0000 != 0,
    })
}

/// The final output of the node at `addr` (`Some(None)`: not final), or `None` when the
/// bytes are not laid out as expected (decode the node with `fst`).
#[inline(always)]
pub(super) fn final_output(bytes: &[u8], addr: usize) -> Option<Option<u64>> {
    if addr == 0 {
        // The empty final node, with no output.
        return Some(Some(0));
    }
    let state = *bytes.get(addr)?;
    match state >> 6 {
        0b11 | 0b10 => Some(None),
        _ => AnyNode::at(bytes, addr, state)?.final_output(bytes),
    }
}

/// The input of the node at `addr` when it has a single transition: `Some(None)` for the
/// empty final node (no transition), `Some(Some(input))` for a *next* or *one* node, `None`
/// for an *any* node or a layout this does not expect. [`step`] then reads the transition.
///
/// A typo expansion whose edits are spent asks this first: most such nodes lie in keys'
/// unshared tails, where one look-up of the node's own input in the automaton replaces one
/// per byte of the query's tail, and most of those inputs lead nowhere, so their target is
/// not decoded.
#[inline(always)]
pub(super) fn lone_input(bytes: &[u8], addr: usize) -> Option<Option<u8>> {
    if addr == 0 {
        return Some(None);
    }
    let state = *bytes.get(addr)?;
    match state >> 6 {
        0b11 => Some(Some(next_node_step(bytes, addr)?.0)),
        0b10 => Some(Some(one_input(bytes, addr, state)?.0)),
        _ => None,
    }
}

/// The *any* node at `addr`, its parts placed, or `None` for another kind of node or a layout
/// this does not expect.
#[inline(always)]
pub(super) fn any_node(bytes: &[u8], addr: usize) -> Option<AnyNode> {
    let state = *bytes.get(addr).filter(|_| addr != 0)?;
    match state >> 6 {
        0b11 | 0b10 => None,
        _ => AnyNode::at(bytes, addr, state),
    }
}

/// A *one* node's transition on `b`.
#[inline(always)]
fn one_transition(bytes: &[u8], addr: usize, state: u8, b: u8) -> Option<Option<(usize, u64)>> {
    let (input, input_len) = one_input(bytes, addr, state)?;
    if input != b {
        return Some(None);
    }
    one_target(bytes, addr, input_len).map(Some)
}

/// A *one* node's input, and how many bytes it takes besides the state byte: 0 when it is
/// among the common ones (the state's low six bits), 1 when it is in the byte before.
#[inline(always)]
fn one_input(bytes: &[u8], addr: usize, state: u8) -> Option<(u8, usize)> {
    Some(match usize::from(state & 0b0011_1111) {
        0 => (*bytes.get(addr.checked_sub(1)?)?, 1),
        common => (*COMMON_INPUTS.get(common - 1)?, 0),
    })
}

/// A *one* node's target and output, below its state byte and `input_len` input bytes.
#[inline(always)]
fn one_target(bytes: &[u8], addr: usize, input_len: usize) -> Option<(usize, u64)> {
    let sizes = Sizes::at(bytes, addr.checked_sub(input_len + 1)?)?;
    let delta_at = addr.checked_sub(input_len + 1 + sizes.address)?;
    let end = delta_at.checked_sub(sizes.output)?;
    let delta = unpack(bytes, delta_at, sizes.address)?;
    let output = unpack(bytes, end, sizes.output)?;
    Some((target(end, delta)?, output))
}

/// An *any* node's transition on `b`. It finds the transition before it places the rest
/// of the node (unlike [`AnyNode::at`]): most look-ups find none, and placing every part
/// first made one-edit queries run 3.5% more instructions.
#[inline(always)]
fn any_transitions(bytes: &[u8], addr: usize, state: u8, b: u8) -> Option<Option<(usize, u64)>> {
    let (count, count_len) = any_count(bytes, addr, state)?;
    let sizes = Sizes::at(bytes, addr.checked_sub(count_len + 1)?)?;
    let index_len = if count > 32 { 256 } else { 0 };
    let index_start = addr.checked_sub(count_len + 1 + index_len)?;
    let inputs_start = index_start.checked_sub(count)?;
    let i = match index_len {
        0 => {
            let inputs = bytes.get(inputs_start..index_start)?;
            match position(inputs, b) {
                Some(p) => count - p - 1,
                None => return Some(None),
            }
        }
        _ => match usize::from(*bytes.get(index_start + usize::from(b))?) {
            i if i >= count => return Some(None),
            i => i,
        },
    };
    let deltas_start = inputs_start.checked_sub(count.checked_mul(sizes.address)?)?;
    let outputs_start = deltas_start.checked_sub(count.checked_mul(sizes.output)?)?;
    let is_final = state & 0b0100_0000 != 0;
    let end = outputs_start.checked_sub(if is_final { sizes.output } else { 0 })?;
    let delta_at = inputs_start.checked_sub((i + 1) * sizes.address)?;
    let output_at = deltas_start.checked_sub((i + 1) * sizes.output)?;
    let delta = unpack(bytes, delta_at, sizes.address)?;
    let output = unpack(bytes, output_at, sizes.output)?;
    Some(Some((target(end, delta)?, output)))
}

/// Where `b` is among `inputs` (a node's, each at most once), read eight at a time. Most
/// look-ups of a typo walk find no transition, so a byte loop read every input of a node of
/// up to 32; this took about 1% off typo and prefix queries' instructions.
#[inline(always)]
pub(super) fn position(inputs: &[u8], b: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = inputs.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        // A byte of `x` is 0 where the input is `b`. The lowest byte flagged here is the first
        // zero byte: a borrow can only flag bytes above a zero one.
        let x = word ^ (ONES * u64::from(b));
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(at + (zeros.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = chunks.remainder().iter().position(|&input| input == b)?;
    Some(at + rest)
}

/// An *any* node's transition count, and how many bytes it takes besides the state byte: in
/// the state's low six bits, or 0 there and the count in the byte before (1 means 256).
#[inline(always)]
fn any_count(bytes: &[u8], addr: usize, state: u8) -> Option<(usize, usize)> {
    Some(match usize::from(state & 0b0011_1111) {
        0 => match *bytes.get(addr.checked_sub(1)?)? {
            1 => (256, 1),
            n => (usize::from(n), 1),
        },
        n => (n, 0),
    })
}

/// A node's pack sizes, in bytes.
struct Sizes {
    address: usize,
    output: usize,
}

impl Sizes {
    fn at(bytes: &[u8], at: usize) -> Option<Sizes> {
        let v = *bytes.get(at)?;
        let (address, output) = (usize::from(v >> 4), usize::from(v & 0b1111));
        (address <= 8 && output <= 8).then_some(Sizes { address, output })
    }
}

/// The little-endian number of `len` bytes at `at` (`len` at most 8, as [`Sizes`] checks).
#[inline(always)]
pub(super) fn unpack(bytes: &[u8], at: usize, len: usize) -> Option<u64> {
    // One load of the eight bytes from `at` where they exist, the extra ones masked off: a
    // loop over the bytes was a tenth of a greedy descent's instructions.
    if let Some(word) = bytes.get(at..at.checked_add(8)?) {
        let word = u64::from_le_bytes(word.try_into().ok()?);
        return Some(match len {
            0..=7 => word & ((1u64 << (8 * len)) - 1),
            _ => word,
        });
    }
    let slice = bytes.get(at..at.checked_add(len)?)?;
    Some(
        slice
            .iter()
            .rev()
            .fold(0u64, |n, &b| (n << 8) | u64::from(b)),
    )
}

/// The address `delta` bytes below a node's `end` (0: the empty final node).
fn target(end: usize, delta: u64) -> Option<usize> {
    match usize::try_from(delta).ok()? {
        0 => Some(0),
        d => end.checked_sub(d),
    }
}

/// A *one* or *any* node whose transitions a greedy descent reads one part at a time: most
/// of them it only prices (their output), and only the one it follows and the few it keeps
/// need their input and target. Decoding each transition whole (`fst::raw::Node`) was most of
/// the descent's work on long keys.
pub(super) enum Branches {
    /// A *one* node: never final, its single transition decoded.
    One {
        input: u8,
        target: usize,
        output: u64,
    },
    /// An *any* node.
    Any(AnyNode),
}

impl Branches {
    /// The node at `addr` (not a *next* node, not the empty final node at 0), or `None` when
    /// its bytes are not laid out as expected.
    #[inline(always)]
    pub(super) fn at(bytes: &[u8], addr: usize) -> Option<Branches> {
        let state = *bytes.get(addr)?;
        match state >> 6 {
            0b11 => None,
            0b10 => {
                let (input, input_len) = one_input(bytes, addr, state)?;
                let (target, output) = one_target(bytes, addr, input_len)?;
                Some(Branches::One {
                    input,
                    target,
                    output,
                })
            }
            _ => AnyNode::at(bytes, addr, state).map(Branches::Any),
        }
    }
}

/// Where an *any* node's parts lie. Every part was checked to lie between the node's end and
/// its state byte, so reading one fails only if the bytes changed underneath.
pub(super) struct AnyNode {
    /// How many transitions it has.
    pub(super) count: usize,
    is_final: bool,
    sizes: Sizes,
    /// The first byte of the inputs (the last transition's input).
    inputs: usize,
    /// The first byte of the address deltas.
    deltas: usize,
    /// The node's lowest byte: targets are deltas below it.
    end: usize,
}

impl AnyNode {
    #[inline(always)]
    fn at(bytes: &[u8], addr: usize, state: u8) -> Option<AnyNode> {
        let (count, count_len) = any_count(bytes, addr, state)?;
        let sizes = Sizes::at(bytes, addr.checked_sub(count_len + 1)?)?;
        let index_len = if count > 32 { 256 } else { 0 };
        let inputs = addr.checked_sub(count_len + 1 + index_len + count)?;
        let deltas = inputs.checked_sub(count.checked_mul(sizes.address)?)?;
        let outputs = deltas.checked_sub(count.checked_mul(sizes.output)?)?;
        let is_final = state & 0b0100_0000 != 0;
        let end = outputs.checked_sub(if is_final { sizes.output } else { 0 })?;
        Some(AnyNode {
            count,
            is_final,
            sizes,
            inputs,
            deltas,
            end,
        })
    }

    /// Its final output, or `None` when it is not final.
    #[inline(always)]
    pub(super) fn final_output(&self, bytes: &[u8]) -> Option<Option<u64>> {
        match self.is_final {
            true => unpack(bytes, self.end, self.sizes.output).map(Some),
            false => Some(None),
        }
    }

    /// Transition `i`'s output (`i` in fst's order, `0..count`).
    #[inline(always)]
    pub(super) fn output(&self, bytes: &[u8], i: usize) -> Option<u64> {
        let at = self.deltas.checked_sub((i + 1) * self.sizes.output)?;
        unpack(bytes, at, self.sizes.output)
    }

    /// Transition `i`'s input.
    #[inline(always)]
    pub(super) fn input(&self, bytes: &[u8], i: usize) -> Option<u8> {
        bytes
            .get(self.inputs + self.count.checked_sub(i + 1)?)
            .copied()
    }

    /// Transition `i`'s target address.
    #[inline(always)]
    pub(super) fn target(&self, bytes: &[u8], i: usize) -> Option<usize> {
        let at = self.inputs.checked_sub((i + 1) * self.sizes.address)?;
        target(self.end, unpack(bytes, at, self.sizes.address)?)
    }
}

/// The transitions of one node as `(input, target, output)`, in `fst`'s order, for walks that
/// skip most of them by their input: read in place, so a skipped one costs one byte's read.
/// A node laid out otherwise is decoded with `fst`.
pub(super) struct Transitions<'f> {
    bytes: &'f [u8],
    node: Layout<'f>,
    /// The next transition to look at.
    i: usize,
}

/// How [`Transitions`] reads its node.
enum Layout<'f> {
    /// The node's only transition (a *next* or *one* node), or none (the empty final node).
    Single(Option<(u8, usize, u64)>),
    Any(AnyNode),
    Decoded(fst::raw::Node<'f>),
}

impl<'f> Transitions<'f> {
    /// The transitions of the node at `addr`.
    #[inline]
    pub(super) fn of(fst: &'f fst::raw::Fst<&'f [u8]>, addr: usize) -> Transitions<'f> {
        let bytes = fst.as_bytes();
        let node = if addr == 0 {
            Layout::Single(None)
        } else if let Some((input, target)) = next_node_step(bytes, addr) {
            Layout::Single(Some((input, target, 0)))
        } else {
            match Branches::at(bytes, addr) {
                Some(Branches::One {
                    input,
                    target,
                    output,
                }) => Layout::Single(Some((input, target, output))),
                Some(Branches::Any(any)) => Layout::Any(any),
                None => Layout::Decoded(fst.node(addr)),
            }
        };
        Transitions { bytes, node, i: 0 }
    }

    /// The next transition whose input `keep` takes; `Some(None)` when there is none left,
    /// `None` when a part of the node lies outside it.
    #[inline]
    pub(super) fn next_where(
        &mut self,
        keep: impl Fn(u8) -> bool,
    ) -> Option<Option<(u8, usize, u64)>> {
        match &self.node {
            Layout::Single(one) => {
                let one = one.filter(|t| self.i == 0 && keep(t.0));
                self.i = 1;
                Some(one)
            }
            Layout::Any(any) => {
                while self.i < any.count {
                    let i = self.i;
                    self.i += 1;
                    let input = any.input(self.bytes, i)?;
                    if keep(input) {
                        let target = any.target(self.bytes, i)?;
                        return Some(Some((input, target, any.output(self.bytes, i)?)));
                    }
                }
                Some(None)
            }
            Layout::Decoded(node) => {
                while self.i < node.len() {
                    let t = node.transition(self.i);
                    self.i += 1;
                    if keep(t.inp) {
                        return Some(Some((t.inp, t.addr, t.out.value())));
                    }
                }
                Some(None)
            }
        }
    }
}
