//! A map-FST writer that produces exactly the bytes of `fst` 0.4.7's `MapBuilder`, faster.
//!
//! Segments pin the FST bytes (golden files, `docs/FORMAT.md`), so this writer replicates the
//! crate's construction step for step: the same unfinished-node stack and output pushing, the
//! same node encodings, and the same node registry (10,000 buckets of 2 cells, FNV-1a hash,
//! most-recently-used first), because which nodes the registry remembers decides which
//! suffixes are shared and so every address. What differs is only how the work is done:
//!
//! - unfinished nodes are reused in place instead of allocated and freed per node;
//! - the registry keeps each cell's full hash and address in a compact table (320 KB, cache
//!   resident) and compares a cell's node only when the full hash matches, where the crate
//!   compares heap-allocated nodes of every probed cell; a node of at most one transition
//!   (most of them) is stored inline, so replacing one writes no heap memory elsewhere;
//! - nodes are encoded straight into the output buffer, and the CRC-32C is computed once over
//!   the finished bytes instead of per 1-byte write.
//!
//! `tests` checks byte identity against `fst::MapBuilder` on generated key sets.

use fst::raw::Error as RawError;

/// `fst`'s format version, written first.
const VERSION: u64 = 3;
/// The address of the shared final node without transitions or output (never written).
const EMPTY_ADDRESS: usize = 0;
/// No node compiled yet.
const NONE_ADDRESS: usize = 1;
/// Nodes with more transitions than this carry a 256-byte index.
const TRANS_INDEX_THRESHOLD: usize = 32;
/// Registry buckets and cells per bucket, as `fst::raw::Builder` uses.
const REGISTRY_BUCKETS: usize = 10_000;
const REGISTRY_WAYS: usize = 2;
/// The 63 inputs a state byte can name (`fst`'s `COMMON_INPUTS_INV`, first 63).
const COMMON_INPUTS: &[u8; 63] = b"te/oasripcnw.hlm-du012g=:bf3y5&_4v9678k%?xCDASFIBEjPTzRNM+LOqHG";

/// One transition of a node under construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Trans {
    input: u8,
    output: u64,
    addr: usize,
}

/// A node under construction (or remembered by the registry).
#[derive(Debug, Default, PartialEq, Eq)]
struct Node {
    is_final: bool,
    final_output: u64,
    trans: Vec<Trans>,
}

impl Node {
    /// `fst`'s registry hash: FNV-1a over the node's fields, word by word.
    fn hash(&self) -> u64 {
        const PRIME: u64 = 1_099_511_628_211;
        let mut h: u64 = 14_695_981_039_346_656_037;
        let mut mix = |v: u64| h = (h ^ v).wrapping_mul(PRIME);
        mix(u64::from(self.is_final));
        mix(self.final_output);
        for t in &self.trans {
            mix(u64::from(t.input));
            mix(t.output);
            mix(t.addr as u64);
        }
        h
    }

    /// Adds `prefix` to every output of the node (its final output if final).
    fn add_output_prefix(&mut self, prefix: u64, last: &mut Option<(u8, u64)>) {
        if self.is_final {
            self.final_output = prefix.wrapping_add(self.final_output);
        }
        for t in &mut self.trans {
            t.output = prefix.wrapping_add(t.output);
        }
        if let Some((_, out)) = last {
            *out = prefix.wrapping_add(*out);
        }
    }
}

/// A node of the unfinished path (the last key's), with the transition to its child on that
/// path, which gets its address when the child is compiled.
#[derive(Debug, Default)]
struct Unfinished {
    node: Node,
    last: Option<(u8, u64)>,
}

/// The registry: remembers recently compiled nodes, by hash bucket, to share equal ones.
///
/// Each bucket's two cells are split in two places: their tags (full hash, address, and which
/// of the bucket's two node slots holds the node) in one compact table (32 bytes a bucket,
/// 320 KB, mostly cache resident), and the nodes in another, read only when a full hash
/// matches and written when a node is replaced. Most lookups miss, so most touch only the tags;
/// reordering the cells moves tags, never nodes.
struct Registry {
    tags: Vec<Tags>,
    slots: Vec<[Slot; REGISTRY_WAYS]>,
}

/// A bucket's cells, the most recently used first: each one's node hash and address, the
/// address carrying the cell's node slot in its top bit ([`NONE_ADDRESS`] when empty).
#[derive(Clone, Copy)]
struct Tags {
    hash: [u64; REGISTRY_WAYS],
    addr: [usize; REGISTRY_WAYS],
}

/// The bit of a tag's address that names its node slot.
const SLOT_BIT: usize = 1 << (usize::BITS - 1);

impl Tags {
    fn addr(&self, cell: usize) -> usize {
        self.addr[cell] & !SLOT_BIT
    }

    fn slot(&self, cell: usize) -> usize {
        usize::from(self.addr[cell] & SLOT_BIT != 0)
    }

    /// Makes the second cell the first (most recently used).
    fn promote_second(&mut self) {
        self.hash.swap(0, 1);
        self.addr.swap(0, 1);
    }
}

/// A remembered node. One of at most one transition, most of a trie's, is held inline.
#[derive(Clone)]
struct Slot {
    final_output: u64,
    /// The only transition, when `len == 1`.
    one: Trans,
    /// The transitions, when `len > 1`. Sized exactly: kept at the largest size each slot
    /// ever held, they made 3.3 MB of the peak memory of building npm's segment; sized
    /// exactly, 1.7 MB less. A replacement of the same size reuses the allocation.
    many: Box<[Trans]>,
    len: u32,
    is_final: bool,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            final_output: 0,
            one: Trans {
                input: 0,
                output: 0,
                addr: 0,
            },
            many: Box::default(),
            len: 0,
            is_final: false,
        }
    }
}

impl Slot {
    /// Whether the slot holds `node`.
    fn holds(&self, node: &Node) -> bool {
        self.is_final == node.is_final
            && self.final_output == node.final_output
            && self.len as usize == node.trans.len()
            && match node.trans.as_slice() {
                [] => true,
                [t] => self.one == *t,
                many => *self.many == *many,
            }
    }

    /// Replaces the slot's node with `node`.
    fn store(&mut self, node: &Node) {
        self.is_final = node.is_final;
        self.final_output = node.final_output;
        self.len = node.trans.len() as u32;
        match node.trans.as_slice() {
            [] => {}
            [t] => self.one = *t,
            many if self.many.len() == many.len() => self.many.copy_from_slice(many),
            many => self.many = many.into(),
        }
    }
}

impl Registry {
    fn new() -> Registry {
        let empty = Tags {
            hash: [0; REGISTRY_WAYS],
            // Cell 0 uses slot 0, cell 1 slot 1.
            addr: [NONE_ADDRESS, NONE_ADDRESS | SLOT_BIT],
        };
        Registry {
            tags: vec![empty; REGISTRY_BUCKETS],
            slots: vec![Default::default(); REGISTRY_BUCKETS],
        }
    }

    /// Whether cell `cell` of bucket `index` holds `node`, whose hash is `hash`.
    fn holds(&self, index: usize, cell: usize, hash: u64, node: &Node) -> bool {
        let tags = &self.tags[index];
        tags.addr(cell) != NONE_ADDRESS
            && tags.hash[cell] == hash
            && self.slots[index][tags.slot(cell)].holds(node)
    }

    /// The address of a node equal to `node`, or `Err(bucket)`: the bucket whose first cell
    /// now holds a copy of it (replacing the least recently used one), whose address the
    /// caller sets once the node is written.
    fn find(&mut self, node: &Node) -> Result<usize, usize> {
        let hash = node.hash();
        let index = hash as usize % REGISTRY_BUCKETS;
        if self.holds(index, 0, hash, node) {
            return Ok(self.tags[index].addr(0));
        }
        if self.holds(index, 1, hash, node) {
            self.tags[index].promote_second();
            return Ok(self.tags[index].addr(0));
        }
        let tags = &mut self.tags[index];
        let slot = tags.slot(1);
        self.slots[index][slot].store(node);
        tags.hash[1] = hash;
        tags.addr[1] = NONE_ADDRESS | (tags.addr[1] & SLOT_BIT);
        tags.promote_second();
        Err(index)
    }

    /// Sets the address of the node [`Registry::find`] just stored in `bucket`.
    fn set_address(&mut self, bucket: usize, addr: usize) {
        let tags = &mut self.tags[bucket];
        tags.addr[0] = addr | (tags.addr[0] & SLOT_BIT);
    }
}

/// Builds one map FST into a buffer, after whatever the buffer already holds; keys must come
/// in strictly increasing order. [`FstWriter::finish`] returns the buffer.
pub(crate) struct FstWriter {
    nodes: Nodes,
    /// The unfinished path; entries past `depth` are kept only for their allocations.
    stack: Vec<Unfinished>,
    depth: usize,
    last_key: Option<Vec<u8>>,
    len: u64,
}

/// The compiled nodes: the output and the registry. Apart from the unfinished path, so that
/// a node of the path compiles in place, without being moved out of it and back.
struct Nodes {
    out: Vec<u8>,
    /// Where the FST starts in `out`: addresses count from here.
    base: usize,
    registry: Registry,
    last_addr: usize,
}

impl FstWriter {
    /// A writer appending an FST to `out`.
    pub(crate) fn new(mut out: Vec<u8>) -> FstWriter {
        let base = out.len();
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        let mut writer = FstWriter {
            nodes: Nodes {
                out,
                base,
                registry: Registry::new(),
                last_addr: NONE_ADDRESS,
            },
            stack: Vec::with_capacity(64),
            depth: 0,
            last_key: None,
            len: 0,
        };
        writer.push_empty(false);
        writer
    }

    /// Adds `key` with `value`; refuses a key not greater than the previous one, as `fst` does.
    pub(crate) fn insert(&mut self, key: &[u8], value: u64) -> Result<(), fst::Error> {
        self.check_order(key)?;
        if key.is_empty() {
            self.len = 1;
            self.stack[0].node.is_final = true;
            self.stack[0].node.final_output = value;
            return Ok(());
        }
        let (prefix_len, value) = self.common_prefix_and_output(key, value);
        if prefix_len == key.len() {
            return Ok(()); // only a duplicate key, refused above, gets here
        }
        self.len += 1;
        self.compile_from(prefix_len);
        self.add_suffix(&key[prefix_len..], value);
        Ok(())
    }

    /// Compiles the rest and appends the FST's footer: key count, root address, CRC-32C.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.compile_from(0);
        let root_addr = self.nodes.compile(&self.stack[0].node);
        let Nodes { mut out, base, .. } = self.nodes;
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&(root_addr as u64).to_le_bytes());
        let sum = masked_crc32c(&out[base..]);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Refuses a duplicate or out-of-order key and remembers this one.
    fn check_order(&mut self, key: &[u8]) -> Result<(), fst::Error> {
        match &mut self.last_key {
            Some(last) if key == last.as_slice() => {
                Err(RawError::DuplicateKey { got: key.to_vec() }.into())
            }
            Some(last) if key < last.as_slice() => Err(RawError::OutOfOrder {
                previous: last.clone(),
                got: key.to_vec(),
            }
            .into()),
            Some(last) => {
                last.clear();
                last.extend_from_slice(key);
                Ok(())
            }
            None => {
                self.last_key = Some(key.to_vec());
                Ok(())
            }
        }
    }

    /// The length of the prefix `key` shares with the unfinished path, moving outputs along
    /// it so each transition keeps the smallest; returns what is left of `value`.
    fn common_prefix_and_output(&mut self, key: &[u8], mut value: u64) -> (usize, u64) {
        let mut i = 0;
        while i < key.len() && i + 1 < self.depth {
            let add_prefix = match self.stack[i].last.as_mut() {
                Some((input, out)) if *input == key[i] => {
                    let common = (*out).min(value);
                    let add = *out - common;
                    value -= common;
                    *out = common;
                    add
                }
                _ => break,
            };
            i += 1;
            if add_prefix != 0 {
                let Unfinished { node, last } = &mut self.stack[i];
                node.add_output_prefix(add_prefix, last);
            }
        }
        (i, value)
    }

    /// Compiles the unfinished nodes below depth `keep` (deepest first), each into its
    /// parent's pending transition.
    fn compile_from(&mut self, keep: usize) {
        let mut addr = NONE_ADDRESS;
        while keep + 1 < self.depth {
            self.depth -= 1;
            let unfinished = &mut self.stack[self.depth];
            freeze_last(unfinished, addr);
            addr = self.nodes.compile(&unfinished.node);
        }
        freeze_last(&mut self.stack[self.depth - 1], addr);
    }

    /// Appends the nodes of a new key's suffix below the shared prefix.
    fn add_suffix(&mut self, suffix: &[u8], value: u64) {
        let Some((&first, rest)) = suffix.split_first() else {
            return;
        };
        self.stack[self.depth - 1].last = Some((first, value));
        for &b in rest {
            self.push_empty(false);
            self.stack[self.depth - 1].last = Some((b, 0));
        }
        self.push_empty(true);
    }

    /// Pushes an empty node on the unfinished path, reusing a kept allocation.
    fn push_empty(&mut self, is_final: bool) {
        if self.depth == self.stack.len() {
            self.stack.push(Unfinished::default());
        }
        let top = &mut self.stack[self.depth];
        top.node.is_final = is_final;
        top.node.final_output = 0;
        top.node.trans.clear();
        top.last = None;
        self.depth += 1;
    }
}

impl Nodes {
    /// Writes a node unless an equal one is registered; returns its address.
    fn compile(&mut self, node: &Node) -> usize {
        if node.is_final && node.trans.is_empty() && node.final_output == 0 {
            return EMPTY_ADDRESS;
        }
        match self.registry.find(node) {
            Ok(addr) => addr,
            Err(bucket) => {
                let start = self.out.len() - self.base;
                encode_node(&mut self.out, self.last_addr, start, node);
                self.last_addr = self.out.len() - self.base - 1;
                self.registry.set_address(bucket, self.last_addr);
                self.last_addr
            }
        }
    }
}

/// Gives a node's pending transition the address of the child just compiled.
fn freeze_last(unfinished: &mut Unfinished, addr: usize) {
    if let Some((input, output)) = unfinished.last.take() {
        unfinished.node.trans.push(Trans {
            input,
            output,
            addr,
        });
    }
}

/// Encodes a node at address `addr` (its first byte), as `fst`'s `Node::compile` does.
fn encode_node(out: &mut Vec<u8>, last_addr: usize, addr: usize, node: &Node) {
    match node.trans.as_slice() {
        [t] if !node.is_final && t.addr == last_addr && t.output == 0 => {
            encode_one_next(out, t.input)
        }
        [t] if !node.is_final => encode_one(out, addr, *t),
        _ => encode_any(out, addr, node),
    }
}

/// One transition, to the node written just before, without output.
fn encode_one_next(out: &mut Vec<u8>, input: u8) {
    let common = common_index(input);
    if common == 0 {
        out.push(input);
    }
    out.push(0b11_000000 | common);
}

/// One transition, with its address and output.
fn encode_one(out: &mut Vec<u8>, addr: usize, t: Trans) {
    let output_size = if t.output == 0 {
        0
    } else {
        let size = pack_size(t.output);
        pack_into(out, t.output, size);
        size
    };
    let delta = delta_of(addr, t.addr);
    let trans_size = pack_size(delta);
    pack_into(out, delta, trans_size);
    out.push(trans_size << 4 | output_size);
    let common = common_index(t.input);
    if common == 0 {
        out.push(t.input);
    }
    out.push(0b10_000000 | common);
}

/// Any number of transitions, or a final node.
fn encode_any(out: &mut Vec<u8>, addr: usize, node: &Node) {
    let mut trans_size = 0;
    let mut output_size = pack_size(node.final_output);
    let mut any_outputs = node.final_output != 0;
    for t in &node.trans {
        trans_size = trans_size.max(pack_size(delta_of(addr, t.addr)));
        output_size = output_size.max(pack_size(t.output));
        any_outputs |= t.output != 0;
    }
    if any_outputs {
        if node.is_final {
            pack_into(out, node.final_output, output_size);
        }
        for t in node.trans.iter().rev() {
            pack_into(out, t.output, output_size);
        }
    }
    for t in node.trans.iter().rev() {
        pack_into(out, delta_of(addr, t.addr), trans_size);
    }
    out.extend(node.trans.iter().rev().map(|t| t.input));
    if node.trans.len() > TRANS_INDEX_THRESHOLD {
        let mut index = [255u8; 256];
        for (i, t) in node.trans.iter().enumerate() {
            index[usize::from(t.input)] = i as u8;
        }
        out.extend_from_slice(&index);
    }
    out.push(trans_size << 4 | if any_outputs { output_size } else { 0 });
    let count = node.trans.len() as u8; // 256 transitions wrap to 0: a separate byte says 1
    let in_state = if (1..=0b11_1111).contains(&count) {
        count
    } else {
        out.push(if node.trans.len() == 256 { 1 } else { count });
        0
    };
    out.push(if node.is_final { 0b01_000000 } else { 0 } | in_state);
}

/// The distance back to a transition's target, or 0 for the empty final node.
fn delta_of(addr: usize, target: usize) -> u64 {
    if target == EMPTY_ADDRESS {
        EMPTY_ADDRESS as u64
    } else {
        (addr - target) as u64
    }
}

/// The bytes needed for `n` (at least 1).
fn pack_size(n: u64) -> u8 {
    (8 - (n.leading_zeros() / 8) as u8).max(1)
}

/// Appends the low `size` bytes of `n`, little-endian.
fn pack_into(out: &mut Vec<u8>, n: u64, size: u8) {
    out.extend_from_slice(&n.to_le_bytes()[..usize::from(size)]);
}

/// The 1-based position of `input` among the common inputs, or 0.
fn common_index(input: u8) -> u8 {
    COMMON_INDEX[usize::from(input)]
}

const COMMON_INDEX: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < COMMON_INPUTS.len() {
        table[COMMON_INPUTS[i] as usize] = i as u8 + 1;
        i += 1;
    }
    table
};

/// CRC-32C (Castagnoli), masked as `fst` (and Snappy) store it.
fn masked_crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for chunk in bytes.chunks(8) {
        match <[u8; 8]>::try_from(chunk) {
            Ok(word) => {
                let x = u64::from_le_bytes(word) ^ u64::from(crc);
                crc = (0..8).fold(0, |acc, i| {
                    acc ^ CRC_TABLES[7 - i][(x >> (8 * i)) as u8 as usize]
                });
            }
            Err(_) => {
                for &b in chunk {
                    crc = CRC_TABLES[0][((crc as u8) ^ b) as usize] ^ (crc >> 8);
                }
            }
        }
    }
    let sum = !crc;
    sum.rotate_right(15).wrapping_add(0xA282_EAD8)
}

/// Slice-by-8 tables for CRC-32C (reflected polynomial 0x82F63B78).
const CRC_TABLES: [[u32; 256]; 8] = {
    let mut tables = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut t = 1;
    while t < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = tables[t - 1][i];
            tables[t][i] = (prev >> 8) ^ tables[0][(prev & 0xFF) as usize];
            i += 1;
        }
        t += 1;
    }
    tables
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds with both writers, after `prefix` bytes already in the buffer.
    fn both(entries: &[(Vec<u8>, u64)], prefix: usize) -> (Vec<u8>, Vec<u8>) {
        let mut theirs = fst::MapBuilder::new(vec![7u8; prefix]).unwrap();
        let mut ours = FstWriter::new(vec![7u8; prefix]);
        for (k, v) in entries {
            theirs.insert(k, *v).unwrap();
            ours.insert(k, *v).unwrap();
        }
        (theirs.into_inner().unwrap(), ours.finish())
    }

    fn sorted(mut keys: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        keys.sort();
        keys.dedup();
        keys
    }

    #[test]
    fn empty_and_tiny() {
        for entries in [
            vec![],
            vec![(vec![], 0)],
            vec![(vec![], 5)],
            vec![(vec![], 0), (b"a".to_vec(), 0)],
            vec![(b"a".to_vec(), 1 << 40)],
        ] {
            let (theirs, ours) = both(&entries, 0);
            assert_eq!(theirs, ours, "{entries:?}");
        }
    }

    #[test]
    fn wide_nodes() {
        // 256 transitions from the root and from a deeper node; index thresholds.
        for n in [31usize, 32, 33, 63, 64, 65, 255, 256] {
            let mut keys: Vec<Vec<u8>> = (0..n).map(|b| vec![b as u8]).collect();
            keys.extend((0..n).map(|b| vec![b'x', b as u8, b'y']));
            let keys = sorted(keys);
            let entries: Vec<_> = keys
                .into_iter()
                .enumerate()
                .map(|(i, k)| (k, i as u64 % 7))
                .collect();
            let (theirs, ours) = both(&entries, 3);
            assert_eq!(theirs, ours, "{n}");
        }
    }

    #[test]
    fn refuses_what_fst_refuses() {
        let mut w = FstWriter::new(Vec::new());
        w.insert(b"b", 1).unwrap();
        assert!(w.insert(b"b", 2).is_err());
        assert!(w.insert(b"a", 2).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn same_bytes_as_fst(
            keys in prop::collection::vec(prop::collection::vec(prop::sample::select(b"abct \xff\x00e/".to_vec()), 0..12), 0..300),
            values in prop::collection::vec(prop_oneof![0u64..4, 0u64..100_000, any::<u64>().prop_map(|v| v >> 8)], 300),
            prefix in 0usize..40,
        ) {
            let keys = sorted(keys);
            let entries: Vec<_> = keys.into_iter().zip(values).collect();
            let (theirs, ours) = both(&entries, prefix);
            prop_assert_eq!(theirs, ours);
        }

        #[test]
        fn same_bytes_as_fst_on_ranks(
            keys in prop::collection::vec("[a-z0-9 ]{1,10}", 0..2000),
        ) {
            // Registry evictions need many nodes: ranks as outputs, as segments use them.
            let keys = sorted(keys.into_iter().map(String::into_bytes).collect());
            let n = keys.len() as u64;
            let entries: Vec<_> = keys.into_iter().enumerate().map(|(i, k)| (k, (i as u64 * 7919) % n.max(1))).collect();
            let (theirs, ours) = both(&entries, 0);
            prop_assert_eq!(theirs, ours);
        }
    }
}
