//! A node's transition on one byte, read where `fst` wrote it. The one-edit look-ups try a
//! byte at about a hundred nodes a query, most of which have no transition on it; decoding
//! each node whole first (`fst::raw::Node`) was a third of their work.
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
//! expect gives `None`, and the caller decodes the node with `fst` instead.

use super::{next_node_step, COMMON_INPUTS};

/// The transition on `b` of the node at `addr`: `Some(None)` when it has none,
/// `Some(Some((target, output)))` when it has, `None` when the bytes are not laid out as
/// expected (decode the node with `fst`).
#[inline]
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

/// A *one* node's transition on `b`.
fn one_transition(bytes: &[u8], addr: usize, state: u8, b: u8) -> Option<Option<(usize, u64)>> {
    let (input, input_len) = match usize::from(state & 0b0011_1111) {
        0 => (*bytes.get(addr.checked_sub(1)?)?, 1),
        common => (*COMMON_INPUTS.get(common - 1)?, 0),
    };
    if input != b {
        return Some(None);
    }
    let sizes = Sizes::at(bytes, addr.checked_sub(input_len + 1)?)?;
    let delta_at = addr.checked_sub(input_len + 1 + sizes.address)?;
    let end = delta_at.checked_sub(sizes.output)?;
    let delta = unpack(bytes, delta_at, sizes.address)?;
    let output = unpack(bytes, end, sizes.output)?;
    Some(Some((target(end, delta)?, output)))
}

/// An *any* node's transition on `b`.
fn any_transitions(bytes: &[u8], addr: usize, state: u8, b: u8) -> Option<Option<(usize, u64)>> {
    let (count, count_len) = match usize::from(state & 0b0011_1111) {
        0 => match *bytes.get(addr.checked_sub(1)?)? {
            1 => (256, 1),
            n => (usize::from(n), 1),
        },
        n => (n, 0),
    };
    let sizes = Sizes::at(bytes, addr.checked_sub(count_len + 1)?)?;
    let index_len = if count > 32 { 256 } else { 0 };
    let index_start = addr.checked_sub(count_len + 1 + index_len)?;
    let inputs_start = index_start.checked_sub(count)?;
    let i = match index_len {
        0 => {
            let inputs = bytes.get(inputs_start..index_start)?;
            match inputs.iter().position(|&input| input == b) {
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

/// The little-endian number of `len` bytes at `at`.
fn unpack(bytes: &[u8], at: usize, len: usize) -> Option<u64> {
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

#[cfg(test)]
mod tests {
    use super::transition_on;
    use crate::format::fst_check::reachable_nodes;
    use crate::fst_writer::FstWriter;
    use proptest::prelude::*;

    /// Every byte at every node of the FST built from `entries` (sorted, distinct keys):
    /// the transition read in place is the one `fst` decodes. Returns how many lookups
    /// were read in place.
    fn check_every_lookup(entries: &[(Vec<u8>, u64)]) -> usize {
        let mut writer = FstWriter::new(Vec::new());
        for (key, value) in entries {
            writer.insert(key, *value).unwrap();
        }
        let fst = fst::raw::Fst::new(writer.finish()).unwrap();
        let mut in_place = 0;
        for addr in reachable_nodes(&fst) {
            let node = fst.node(addr);
            for b in 0..=255u8 {
                let decoded = node.find_input(b).map(|i| {
                    let t = node.transition(i);
                    (t.addr, t.out.value())
                });
                if let Some(read) = transition_on(fst.as_bytes(), addr, b) {
                    assert_eq!(read, decoded, "node at {addr}, byte {b}");
                    in_place += 1;
                }
            }
        }
        in_place
    }

    /// Keys under `prefix` with `fanout` distinct next bytes, outputs up to `output`.
    fn fan(prefix: &[u8], fanout: usize, output: u64) -> Vec<(Vec<u8>, u64)> {
        (0..fanout)
            .map(|i| {
                let mut key = prefix.to_vec();
                key.push((i * 256 / fanout) as u8);
                key.extend_from_slice(&[b'x'; 3][..i % 4]);
                (key, output.wrapping_mul(i as u64 + 1) % (output + 1))
            })
            .collect()
    }

    #[test]
    fn every_width_and_output_size() {
        for fanout in [1, 2, 3, 31, 32, 33, 63, 64, 65, 200, 255, 256] {
            for output in [0, 1, 300, 1 << 40, u64::MAX - 1] {
                let mut entries = fan(b"ab", fanout, output);
                assert!(check_every_lookup(&entries) > 0);
                entries.insert(0, (b"a".to_vec(), 5));
                entries.insert(1, (b"ab".to_vec(), output / 2));
                assert!(check_every_lookup(&entries) > 0);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn read_in_place_as_fst_decodes(
            keys in proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..6), 0u64..100_000, 1..300)
        ) {
            let entries: Vec<(Vec<u8>, u64)> = keys.into_iter().collect();
            check_every_lookup(&entries);
        }
    }
}
