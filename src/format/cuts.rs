//! A category's *cut FST* (format v9): instead of a copy of each member's key, the shortest
//! prefix of it under which the main FST holds members of the category only (its **cut**),
//! once per cut, with the least cost below it. A filtered walk follows the cut FST down to a
//! cut, then goes on in the main FST, whose subtree there is the category's. A member that
//! is a prefix of keys outside the category has no cut: it is stored whole, followed by
//! [`KEY_END`], and stands for that one key.

/// The byte closing a member stored whole: never part of UTF-8 nor the word-start separator
/// (0xFF), so no key of the main FST holds it and the two kinds of entry cannot be confused.
pub(crate) const KEY_END: u8 = 0xFE;

/// The cut FST's entries, in key order, for the members at `members` (ascending positions
/// among the main FST's `total` entries in key order, whose bytes `key` and cost `cost` give).
/// A member's cut is one byte longer than it shares with the nearest non-member on either
/// side: the nearest ones share the most, as the keys are sorted.
pub(crate) fn entries<'k>(
    members: &[u32],
    total: usize,
    key: impl Fn(usize) -> &'k [u8],
    cost: impl Fn(usize) -> u64,
) -> Vec<(Vec<u8>, u64)> {
    let mut out: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut i = 0;
    while i < members.len() {
        let run = adjacent_run(&members[i..]);
        let first = members[i] as usize;
        let last = members[i + run - 1] as usize;
        let before = first.checked_sub(1).map(&key);
        let after = (last + 1 < total).then(|| key(last + 1));
        for &at in &members[i..i + run] {
            let k = key(at as usize);
            let shared = [before, after]
                .into_iter()
                .flatten()
                .map(|other| shared_len(k, other))
                .max()
                .unwrap_or(0);
            push(&mut out, k, shared, cost(at as usize));
        }
        i += run;
    }
    // A member stored whole sorts after the cuts that extend it (KEY_END is above any byte
    // UTF-8 starts a character with).
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out
}

/// How many positions at the start of `members` follow one another without a gap.
fn adjacent_run(members: &[u32]) -> usize {
    let mut n = 1;
    while n < members.len() && members[n] == members[n - 1].wrapping_add(1) {
        n += 1;
    }
    n
}

/// Appends the entry of a member `key` sharing `shared` bytes with a non-member: its cut (the
/// same as the previous member's when both lie under it, which then keeps the lesser cost),
/// or the key whole.
fn push(out: &mut Vec<(Vec<u8>, u64)>, key: &[u8], shared: usize, cost: u64) {
    let Some(cut) = key.get(..shared + 1) else {
        let mut whole = key.to_vec();
        whole.push(KEY_END);
        out.push((whole, cost));
        return;
    };
    match out.last_mut() {
        Some((last, least)) if last == cut => *least = (*least).min(cost),
        _ => out.push((cut.to_vec(), cost)),
    }
}

/// Bytes `a` and `b` share at their start.
fn shared_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the cuts must mean, checked by brute force over the sorted keys: each entry is a
    /// member stored whole, or a prefix under which every key is a member and the least cost
    /// is the entry's, no shorter prefix of which would do; and every member is under exactly
    /// one entry.
    fn check(keys: &[Vec<u8>], member: &[bool]) {
        let positions: Vec<u32> = (0..keys.len() as u32)
            .filter(|&i| member[i as usize])
            .collect();
        let cost = |i: usize| (i as u64 * 7919) % 1000;
        let cuts = entries(&positions, keys.len(), |i| &keys[i], cost);
        let under = |p: &[u8]| -> Vec<usize> {
            (0..keys.len())
                .filter(|&i| keys[i].starts_with(p))
                .collect()
        };
        for (entry, least) in &cuts {
            if entry.last() == Some(&KEY_END) {
                let key = &entry[..entry.len() - 1];
                let i = keys.iter().position(|k| k == key).expect("a key");
                assert!(member[i] && *least == cost(i));
                assert!(
                    under(key).iter().any(|&j| !member[j]),
                    "whole only when it must be"
                );
                continue;
            }
            assert!(
                under(entry).iter().all(|&i| member[i]),
                "{entry:?} holds a non-member"
            );
            assert_eq!(under(entry).into_iter().map(cost).min(), Some(*least));
            // At least one byte: the root stays the walk's start.
            let shorter = &entry[..entry.len() - 1];
            let shortest = shorter.is_empty() || under(shorter).iter().any(|&i| !member[i]);
            assert!(shortest, "{entry:?} is not the shortest");
        }
        for (i, key) in keys.iter().enumerate().filter(|(i, _)| member[*i]) {
            let covering = cuts.iter().filter(|(e, _)| {
                e.last() == Some(&KEY_END) && &e[..e.len() - 1] == key.as_slice()
                    || e.last() != Some(&KEY_END) && key.starts_with(e)
            });
            assert_eq!(covering.count(), 1, "member {i} {key:?}");
        }
        assert!(cuts.windows(2).all(|w| w[0].0 < w[1].0), "sorted, distinct");
    }

    proptest! {
        #[test]
        fn cuts_cover_each_member_once_and_no_other_key(
            raw in proptest::collection::btree_set(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0xFFu8)], 1..6),
                1..40,
            ),
            seed in any::<u64>(),
        ) {
            let keys: Vec<Vec<u8>> = raw.into_iter().collect();
            let member: Vec<bool> = (0..keys.len()).map(|i| (seed >> (i % 64)) & 1 == 1).collect();
            check(&keys, &member);
        }
    }

    #[test]
    fn a_member_that_prefixes_a_non_member_is_kept_whole() {
        let keys: Vec<Vec<u8>> = ["a", "aa", "aab", "ab"]
            .iter()
            .map(|k| k.as_bytes().to_vec())
            .collect();
        let member = [true, true, true, false];
        let cuts = entries(&[0, 1, 2], 4, |i| &keys[i], |i| i as u64);
        assert_eq!(cuts, vec![(b"aa".to_vec(), 1), (b"a\xFE".to_vec(), 0)]);
        check(&keys, &member);
    }
}
