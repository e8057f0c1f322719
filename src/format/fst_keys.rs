//! The key-level checks of `Segment::verify_deep` for one FST, in one pass over its nodes:
//! each node is decoded once, however many paths run through it (an FST of 64 shared nodes
//! can hold 2^64 keys, which enumerating would never finish).
//!
//! What holds for every key once this passes, which is what search relies on:
//! - a full key is UTF-8 and its output (its rank) is below the suggestion count;
//! - a word-start entry (`suffix 0xFF head`, only in segments built with word starts) has one
//!   separator, UTF-8 on both sides, and an output in `count..2 × count`;
//! - below the root, every node keeps its subtree's cheapest cost: it is final with output
//!   0, or has a transition with output 0 (the greedy descent follows it);
//! - with `each_rank_once` (the main FST): there are exactly `count` full keys and their
//!   outputs are `0..count`, each once. The number of keys is counted exactly; that the
//!   outputs are a permutation is checked with a polynomial fingerprint, the sum of `r^output`
//!   over all keys modulo the prime 2^61 − 1, for an `r` drawn from the FST's own bytes: two
//!   different multisets of `count` outputs agree for at most `2 × count` of the 2^61 values
//!   of `r`.
//!
//! Nodes are visited from the root down (descending addresses: `fst` writes children first),
//! so every path into a node has been seen when the pass reaches it. Per node it keeps, for
//! paths without and with a separator: the UTF-8 decoder states they arrive in, the least and
//! the largest output sum, the number of paths and their fingerprint sum.

use super::fst_check::{self, Bad, Check};
use super::WORD_START_SEPARATOR;
use crate::error::{Error, Result};

/// What the keys of one FST must satisfy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expect {
    /// The segment's suggestion count.
    pub(crate) count: u64,
    /// Whether word-start entries may appear.
    pub(crate) word_starts: bool,
    /// Whether the full keys must hold each rank exactly once (the main FST).
    pub(crate) each_rank_once: bool,
}

/// The Mersenne prime 2^61 − 1: the fingerprint's modulus.
const PRIME: u64 = (1 << 61) - 1;

/// A UTF-8 decoder state: at a character boundary, or inside a character with what the next
/// bytes must be.
const BOUNDARY: u8 = 0;
const STATES: usize = 8;

/// The decoder state after `byte`, or `None` when the bytes so far are not UTF-8. States: 0 at
/// a boundary; 1, 2, 3 that many continuation bytes to go; 4 after E0 (A0..BF next), 5 after ED
/// (80..9F), 6 after F0 (90..BF), 7 after F4 (80..8F), each with 1 (4, 5) or 2 (6, 7) to go.
#[inline]
fn utf8_step(state: u8, byte: u8) -> Option<u8> {
    let (low, high, next) = match state {
        BOUNDARY => {
            return match byte {
                0x00..=0x7F => Some(BOUNDARY),
                0xC2..=0xDF => Some(1),
                0xE0 => Some(4),
                0xE1..=0xEC | 0xEE..=0xEF => Some(2),
                0xED => Some(5),
                0xF0 => Some(6),
                0xF1..=0xF3 => Some(3),
                0xF4 => Some(7),
                _ => None,
            }
        }
        1 => (0x80, 0xBF, BOUNDARY),
        2 => (0x80, 0xBF, 1),
        3 => (0x80, 0xBF, 2),
        4 => (0xA0, 0xBF, 1),
        5 => (0x80, 0x9F, 1),
        6 => (0x90, 0xBF, 2),
        _ => (0x80, 0x8F, 2),
    };
    (low..=high).contains(&byte).then_some(next)
}

/// The paths of one phase (before or after a word-start separator) that reach a node.
#[derive(Debug, Clone, Copy, Default)]
struct Paths {
    /// Bit `s`: some path arrives in UTF-8 decoder state `s`.
    states: u8,
    least: u64,
    most: u64,
    /// How many paths (saturating).
    count: u64,
    /// The sum of `r^output` over them, modulo [`PRIME`].
    fingerprint: u64,
}

impl Paths {
    fn reached(&self) -> bool {
        self.states != 0
    }

    /// Adds the paths of `from` extended by a transition with `output`, arriving in `states`.
    fn add(&mut self, from: &Paths, output: u64, states: u8, power: u64) {
        let (least, most) = (from.least + output, from.most + output);
        if self.reached() {
            self.least = self.least.min(least);
            self.most = self.most.max(most);
        } else {
            (self.least, self.most) = (least, most);
        }
        self.states |= states;
        self.count = self.count.saturating_add(from.count);
        self.fingerprint = (self.fingerprint + mul_mod(from.fingerprint, power)) % PRIME;
    }
}

/// `a × b mod PRIME` for `a, b < PRIME`, without a division: 2^61 ≡ 1, so the high part of
/// the product folds onto the low part.
#[inline]
fn mul_mod(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    let folded = (product as u64 & PRIME) + (product >> 61) as u64;
    let folded = (folded & PRIME) + (folded >> 61);
    if folded >= PRIME {
        folded - PRIME
    } else {
        folded
    }
}

/// `r^e` for every output a segment's keys can have (below `2 × count`) from a table, any
/// other by squaring.
struct Powers {
    r: u64,
    table: Vec<u64>,
}

impl Powers {
    fn new(r: u64, count: u64) -> Powers {
        let len = usize::try_from(count.saturating_mul(2)).unwrap_or(usize::MAX);
        // Bounded by the suggestion count, which the scores section backs with real bytes.
        let mut table = Vec::with_capacity(len.min(1 << 24));
        let mut power = 1;
        for _ in 0..len.min(1 << 24) {
            table.push(power);
            power = mul_mod(power, r);
        }
        Powers { r, table }
    }

    #[inline]
    fn of(&self, e: u64) -> u64 {
        match usize::try_from(e).ok().and_then(|i| self.table.get(i)) {
            Some(&p) => p,
            None => pow_mod(self.r, e),
        }
    }
}

fn pow_mod(mut base: u64, mut exp: u64) -> u64 {
    let mut out = 1;
    while exp > 0 {
        if exp & 1 == 1 {
            out = mul_mod(out, base);
        }
        base = mul_mod(base, base);
        exp >>= 1;
    }
    out
}

/// Totals over the keys seen so far.
#[derive(Debug, Default)]
struct Keys {
    full: u64,
    word_start: u64,
    fingerprint: u64,
}

/// Checks every key of the FST `fst` (header to CRC, its nodes already validated by
/// `fst_check`) against `expect`. `section` names it in errors.
pub(crate) fn check_keys(fst: &[u8], expect: Expect, section: &'static str) -> Result<()> {
    let corrupt = |Bad { at, what }| Error::corrupt(section, format!("address {at}: {what}"));
    let (addrs, region_end) = fst_check::node_addresses(fst).map_err(corrupt)?;
    let r = 2 + xxhash_rust::xxh64::xxh64(fst, 0) % (PRIME - 2);
    // Only the main FST's ranks are fingerprinted.
    let powers = expect.each_rank_once.then(|| Powers::new(r, expect.count));
    let keys = walk(fst, &addrs, region_end, expect, powers.as_ref()).map_err(corrupt)?;
    check_totals(fst, &keys, expect, r).map_err(|what| Error::corrupt(section, what))
}

/// Checks that every node of the FST `fst` below its root keeps its subtree's cheapest cost,
/// as search's greedy descent needs: what [`check_keys`] checks of nodes, for an FST whose
/// keys are not suggestions' (a category's cuts, whose entries are compared apart).
pub(crate) fn check_cheapest(fst: &[u8], section: &'static str) -> Result<()> {
    let corrupt = |Bad { at, what }| Error::corrupt(section, format!("address {at}: {what}"));
    let (addrs, region_end) = fst_check::node_addresses(fst).map_err(corrupt)?;
    let mut out = Vec::with_capacity(256);
    for &addr in addrs.iter().rev().skip(1) {
        let node = fst_check::decode(fst, region_end, addr).map_err(corrupt)?;
        out.clear();
        node.transitions(fst, |t| out.push(t)).map_err(corrupt)?;
        keeps_cheapest(&node, &out).map_err(corrupt)?;
    }
    Ok(())
}

/// One pass from the root down (the last address) to the empty final node (address 0, the
/// first); returns the key totals.
fn walk(
    fst: &[u8],
    addrs: &[usize],
    region_end: usize,
    expect: Expect,
    powers: Option<&Powers>,
) -> Check<Keys> {
    let mut paths = vec![[Paths::default(); 2]; addrs.len()];
    let mut keys = Keys::default();
    let root = addrs.len() - 1;
    paths[root][0] = Paths {
        states: 1 << BOUNDARY,
        count: 1,
        fingerprint: 1,
        ..Paths::default()
    };
    // Node index by address, for following transitions without a search (4 bytes per FST
    // byte: this is a tool, not the serving path).
    let mut index = vec![u32::MAX; region_end.max(1)];
    for (i, &addr) in addrs.iter().enumerate() {
        index[addr] = i as u32;
    }
    let mut out = Vec::with_capacity(256);
    for i in (0..addrs.len()).rev() {
        let here = paths[i];
        if !here[0].reached() && !here[1].reached() {
            continue;
        }
        let node = fst_check::decode(fst, region_end, addrs[i])?;
        out.clear();
        node.transitions(fst, |t| out.push(t))?;
        if i != root {
            keeps_cheapest(&node, &out)?;
        }
        if node.is_final {
            end_keys(&node, &here, expect, powers, &mut keys)?;
        }
        for t in &out {
            let child = match index.get(t.addr) {
                Some(&child) if child != u32::MAX => child as usize,
                _ => return fst_check::bad(node.addr, "transition to no node"),
            };
            let power = match powers {
                Some(powers) if t.output != 0 => powers.of(t.output),
                _ => 1,
            };
            for (phase, from) in here.iter().enumerate().filter(|(_, p)| p.reached()) {
                let (next_phase, states) = step(from.states, phase, t.input, expect, node.addr)?;
                paths[child][next_phase].add(from, t.output, states, power);
            }
        }
    }
    Ok(keys)
}

/// Search's greedy descent needs, below the root, a way on that keeps the subtree's cheapest
/// cost.
fn keeps_cheapest(node: &fst_check::Node, out: &[fst_check::Transition]) -> Check<()> {
    if (node.is_final && node.final_output == 0) || out.iter().any(|t| t.output == 0) {
        return Ok(());
    }
    fst_check::bad(
        node.addr,
        "no transition keeps the cheapest cost of its subtree",
    )
}

/// The phase and decoder states after `input`, from paths in `phase` arriving in `states`.
fn step(states: u8, phase: usize, input: u8, expect: Expect, at: usize) -> Check<(usize, u8)> {
    if input == WORD_START_SEPARATOR {
        if !expect.word_starts {
            return fst_check::bad(
                at,
                "a word-start separator in a segment without word starts",
            );
        }
        if phase == 1 {
            return fst_check::bad(at, "two word-start separators in one entry");
        }
        if states != 1 << BOUNDARY {
            return fst_check::bad(at, "a word-start separator inside a UTF-8 character");
        }
        return Ok((1, 1 << BOUNDARY));
    }
    let mut next = 0u8;
    for s in (0..STATES as u8).filter(|s| states & (1 << s) != 0) {
        match utf8_step(s, input) {
            Some(n) => next |= 1 << n,
            None => return fst_check::bad(at, "a key is not valid UTF-8"),
        }
    }
    Ok((phase, next))
}

/// Counts the keys ending at a final node and checks their outputs.
fn end_keys(
    node: &fst_check::Node,
    here: &[Paths; 2],
    expect: Expect,
    powers: Option<&Powers>,
    keys: &mut Keys,
) -> Check<()> {
    let at = node.addr;
    let count = expect.count;
    for (phase, p) in here.iter().enumerate().filter(|(_, p)| p.reached()) {
        if p.states != 1 << BOUNDARY {
            return fst_check::bad(at, "a key ends inside a UTF-8 character");
        }
        let (Some(least), Some(most)) = (
            p.least.checked_add(node.final_output),
            p.most.checked_add(node.final_output),
        ) else {
            return fst_check::bad(at, "a key's output overflows");
        };
        if phase == 0 {
            if most >= count {
                return fst_check::bad(at, "a key's rank is not below the suggestion count");
            }
            keys.full = keys.full.saturating_add(p.count);
            if let Some(powers) = powers {
                let power = powers.of(node.final_output);
                keys.fingerprint = (keys.fingerprint + mul_mod(p.fingerprint, power)) % PRIME;
            }
        } else {
            if least < count || most >= count.saturating_mul(2) {
                return fst_check::bad(at, "a word-start entry's output is out of range");
            }
            keys.word_start = keys.word_start.saturating_add(p.count);
        }
    }
    Ok(())
}

/// The totals against the FST's footer and, for the main FST, against one key per rank.
fn check_totals(fst: &[u8], keys: &Keys, expect: Expect, r: u64) -> Result<(), String> {
    let footer = fst_check::key_count(fst);
    let paths = keys.full.saturating_add(keys.word_start);
    if footer != paths {
        return Err(format!(
            "the FST says it holds {footer} keys, its paths spell {paths}"
        ));
    }
    if !expect.each_rank_once {
        return Ok(());
    }
    if keys.full != expect.count {
        return Err(format!(
            "{} full keys for {} suggestions: each must have exactly one",
            keys.full, expect.count
        ));
    }
    let (mut want, mut power) = (0, 1);
    for _ in 0..expect.count {
        want = (want + power) % PRIME;
        power = mul_mod(power, r);
    }
    if keys.fingerprint != want {
        return Err("the full keys' ranks are not 0..count, each once".to_owned());
    }
    Ok(())
}
