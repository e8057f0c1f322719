//! Unicode NFKD (compatibility decomposition, then canonical ordering), with exactly the output
//! of `unicode_normalization`'s `nfkd()` (the version pinned as a dev-dependency).
//!
//! Our own instead of the crate's: its decomposition and combining-class tables are perfect
//! hashes of `char` arrays, about 100 KB of the WebAssembly module (half of that gzipped).
//! Here (tables in `nfkd_tables.rs`, generated from the crate by the test below):
//! - decompositions are sorted ranges of code points, either *linear* (each maps to one
//!   character at a fixed offset: fullwidth forms, mathematical alphanumerics) or *listed*
//!   (each maps to a slice of one UTF-8 blob: a listed range of at most 64 code points
//!   stores where its first slice starts, and each code point its slice's length in one byte,
//!   which compresses to a fraction of an offset array);
//! - Hangul syllables decompose arithmetically, as the crate does;
//! - canonical combining classes are sorted ranges, every code point outside them being 0.
//!
//! Canonical ordering stable-sorts each run of non-starters (class ≠ 0) by class. Runs of up
//! to [`PENDING_MARKS`] marks — every run of text in the Stream-Safe Text Format of UAX #15
//! — are sorted in a fixed buffer; a longer run is emitted by rescanning its input once per
//! distinct class in it (at most 255 passes), so memory stays bounded on any input while the
//! output stays the crate's.

use crate::nfkd_tables::{BLOB, CCC_RANGES, DECOMP_LENGTHS, DECOMP_RANGES};

/// The non-starters sorted in place; longer runs are rescanned. 32 covers the 30 that UAX #15's
/// Stream-Safe Text Format allows, in 256 bytes of stack.
const PENDING_MARKS: usize = 32;

/// In [`DECOMP_RANGES`], the value flag of a linear range (the rest is its first target).
const LINEAR: u32 = 1 << 31;
/// In [`DECOMP_RANGES`], a listed range's value packs where its first decomposition starts in
/// [`BLOB`] above this many bits, and the index of its first length in [`DECOMP_LENGTHS`] below.
const INDEX_BITS: u32 = 13;

/// Hangul syllables (the algorithm of Unicode chapter 3.12).
const S_BASE: u32 = 0xAC00;
const L_BASE: u32 = 0x1100;
const V_BASE: u32 = 0x1161;
const T_BASE: u32 = 0x11A7;
const V_COUNT: u32 = 21;
const T_COUNT: u32 = 28;
const S_COUNT: u32 = 19 * V_COUNT * T_COUNT;

/// The index of the range of `table` holding `c`, each entry packing its start above `shift`
/// bits and its length minus one in the `len_bits` bits below.
#[inline]
fn find_range(table: &[u32], c: u32, shift: u32, len_bits: u32) -> Option<usize> {
    let i = table.partition_point(|&e| e >> shift <= c).checked_sub(1)?;
    let e = table[i];
    let last = (e >> shift) + ((e >> (shift - len_bits)) & ((1 << len_bits) - 1));
    (c <= last).then_some(i)
}

/// The canonical combining class of `c` (0 for starters).
#[inline]
pub(crate) fn combining_class(c: char) -> u8 {
    let c = u32::from(c);
    // No character below U+0300 has a class: most text never reaches the search.
    if c < 0x300 {
        return 0;
    }
    // Entries: start << 11 | (length - 1) << 8 | class.
    find_range(CCC_RANGES, c, 11, 3).map_or(0, |i| CCC_RANGES[i] as u8)
}

/// Calls `emit` with each character of the full compatibility decomposition of `c` (`c`
/// itself when it has none), as `unicode_normalization::char::decompose_compatible` does;
/// stops and returns false as soon as `emit` does.
#[inline]
pub(crate) fn decompose(c: char, emit: &mut impl FnMut(char) -> bool) -> bool {
    let code = u32::from(c);
    // Nothing below U+00A0 (NO-BREAK SPACE) decomposes.
    if code < 0xA0 {
        return emit(c);
    }
    if let Some(s) = code.checked_sub(S_BASE).filter(|&s| s < S_COUNT) {
        return decompose_hangul(s, emit);
    }
    match lookup(code) {
        Some(Mapping::One(d)) => emit(d),
        Some(Mapping::Many(s)) => s.chars().all(emit),
        None => emit(c),
    }
}

/// A decomposition from the tables.
enum Mapping {
    /// A linear range's single character.
    One(char),
    /// A listed range's characters.
    Many(&'static str),
}

/// The table decomposition of `code`, if it has one.
#[inline]
fn lookup(code: u32) -> Option<Mapping> {
    // Entries: (start << 11 | (length - 1), value).
    let i = DECOMP_RANGES
        .partition_point(|&(key, _)| key >> 11 <= code)
        .checked_sub(1)?;
    let (key, value) = DECOMP_RANGES[i];
    let offset = code - (key >> 11);
    if offset > key & 0x7FF {
        return None;
    }
    if value & LINEAR != 0 {
        return char::from_u32((value & !LINEAR) + offset).map(Mapping::One);
    }
    // Lengths rather than offsets: a byte each, and they compress far better in a module.
    // Listed ranges are short, so summing the lengths before `code` in its range is cheap.
    let first = (value & ((1 << INDEX_BITS) - 1)) as usize;
    let lengths = DECOMP_LENGTHS.get(first..=first + offset as usize)?;
    let (len, before) = lengths.split_last()?;
    let start =
        (value >> INDEX_BITS) as usize + before.iter().map(|&l| usize::from(l)).sum::<usize>();
    // An empty slice is a gap inside a listed range: no decomposition.
    BLOB.get(start..start + usize::from(*len))
        .filter(|s| !s.is_empty())
        .map(Mapping::Many)
}

/// Emits the leading, vowel and (if any) trailing jamo of syllable number `s`.
fn decompose_hangul(s: u32, emit: &mut impl FnMut(char) -> bool) -> bool {
    let jamo = |code: u32| char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
    let (l, v, t) = (
        s / (V_COUNT * T_COUNT),
        (s / T_COUNT) % V_COUNT,
        s % T_COUNT,
    );
    emit(jamo(L_BASE + l)) && emit(jamo(V_BASE + v)) && (t == 0 || emit(jamo(T_BASE + t)))
}

/// Calls `emit` with each character of the NFKD form of `input`, in order; stops and returns
/// false as soon as `emit` does (the rest is never decomposed).
pub(crate) fn nfkd(input: &str, mut emit: impl FnMut(char) -> bool) -> bool {
    let mut order = Reorder::new(input);
    for (at, c) in input.char_indices() {
        let mut index = 0;
        let fits = decompose(c, &mut |d| {
            index += 1;
            order.push(d, (at, index - 1), &mut emit)
        });
        if !fits {
            return false;
        }
    }
    order.flush(&mut emit)
}

/// Where a decomposed character comes from: the byte offset of its input character and its
/// index in that character's decomposition.
type Position = (usize, usize);

/// Canonical ordering of the decomposed stream: starters pass through, each run of
/// non-starters is released stable-sorted by class when a starter or the end follows it.
struct Reorder<'a> {
    /// The whole input, rescanned for runs longer than the buffer.
    input: &'a str,
    /// The current run, sorted by class (stable) while it fits.
    pending: [(u8, char); PENDING_MARKS],
    /// How many of `pending` are in use.
    len: usize,
    /// Where the current run started (meaningful while `len > 0`).
    start: Position,
    /// The current run outgrew `pending`: it is rescanned from `start` when it ends.
    overflow: bool,
}

impl<'a> Reorder<'a> {
    fn new(input: &'a str) -> Self {
        Reorder {
            input,
            pending: [(0, '\0'); PENDING_MARKS],
            len: 0,
            start: (0, 0),
            overflow: false,
        }
    }

    /// Takes decomposed character `d` found at `position`.
    #[inline]
    fn push(&mut self, d: char, position: Position, emit: &mut impl FnMut(char) -> bool) -> bool {
        let class = combining_class(d);
        if class == 0 {
            return self.flush(emit) && emit(d);
        }
        if self.len == 0 {
            self.start = position;
        }
        if self.len == PENDING_MARKS {
            self.overflow = true;
        } else if !self.overflow {
            // Insertion after every mark of a lower or equal class keeps the sort stable.
            let at = self.pending[..self.len].partition_point(|&(k, _)| k <= class);
            self.pending.copy_within(at..self.len, at + 1);
            self.pending[at] = (class, d);
            self.len += 1;
        }
        true
    }

    /// Emits the pending run, if any, in canonical order.
    fn flush(&mut self, emit: &mut impl FnMut(char) -> bool) -> bool {
        let (len, overflow) = (self.len, self.overflow);
        self.len = 0;
        self.overflow = false;
        if overflow {
            return self.rescan(emit);
        }
        self.pending[..len].iter().all(|&(_, d)| emit(d))
    }

    /// Emits a run too long for the buffer: one pass over its input per class, in increasing
    /// order, each emitting the marks of that class (so text order within a class is kept).
    fn rescan(&self, emit: &mut impl FnMut(char) -> bool) -> bool {
        let mut class = 0;
        loop {
            let mut next: Option<u8> = None;
            let fits = self.each_in_run(|d, k| {
                if k == class {
                    return emit(d);
                }
                if k > class && next.map_or(true, |n| k < n) {
                    next = Some(k);
                }
                true
            });
            match (fits, next) {
                (false, _) => return false,
                (true, None) => return true,
                (true, Some(n)) => class = n,
            }
        }
    }

    /// Calls `f` with each character of the current run and its class, from `start` to the
    /// next starter or the end of the input; false as soon as `f` is.
    fn each_in_run(&self, mut f: impl FnMut(char, u8) -> bool) -> bool {
        let (at, skip) = self.start;
        let rest = self.input.get(at..).unwrap_or("");
        let mut index = 0;
        let mut ended = false;
        for c in rest.chars() {
            let fits = decompose(c, &mut |d| {
                index += 1;
                if index <= skip {
                    return true;
                }
                let class = combining_class(d);
                ended = class == 0;
                !ended && f(d, class)
            });
            if ended {
                return true;
            }
            if !fits {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    fn ours(input: &str) -> String {
        let mut out = String::new();
        nfkd(input, |c| {
            out.push(c);
            true
        });
        out
    }

    #[test]
    fn every_code_point_agrees() {
        let mut buf = [0; 4];
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let input = c.encode_utf8(&mut buf);
            let want: String = input.nfkd().collect();
            assert_eq!(ours(input), want, "U+{:04X}", u32::from(c));
            let mut single = String::new();
            decompose(c, &mut |d| {
                single.push(d);
                true
            });
            let mut theirs = String::new();
            unicode_normalization::char::decompose_compatible(c, |d| theirs.push(d));
            assert_eq!(single, theirs, "U+{:04X}", u32::from(c));
            assert_eq!(
                combining_class(c),
                unicode_normalization::char::canonical_combining_class(c),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn long_runs_of_marks_are_reordered_like_the_crate() {
        // Over the buffer: classes 230, 220, 1, 202, 240 interleaved, plus decompositions that
        // start a run inside a character (U+00E9 = e + U+0301) and continue it (U+0344).
        let marks = [
            '\u{301}', '\u{316}', '\u{334}', '\u{327}', '\u{345}', '\u{344}',
        ];
        for n in [0, 1, 5, 31, 32, 33, 64, 200] {
            let mut input = String::from("\u{e9}");
            input.extend((0..n).map(|i| marks[i % marks.len()]));
            input.push_str("x\u{1e09}\u{323}");
            let want: String = input.nfkd().collect();
            assert_eq!(ours(&input), want, "{n} marks");
        }
    }

    #[test]
    fn stops_when_emit_does() {
        let input = "ﷺ\u{301}\u{316}한";
        let want: Vec<char> = input.nfkd().collect();
        for n in 0..want.len() {
            let mut got = Vec::new();
            let all = nfkd(input, |c| {
                got.push(c);
                got.len() <= n
            });
            assert!(!all);
            assert_eq!(got, want[..=n]);
        }
    }

    /// Characters that exercise every path: ASCII, Latin with accents, combining marks of
    /// several classes, Hangul syllables and jamo, compatibility forms, CJK.
    fn mixed_char() -> impl Strategy<Value = char> {
        prop_oneof![
            1 => proptest::char::range('a', 'z'),
            1 => Just(' '),
            1 => proptest::char::range('\u{c0}', '\u{17f}'),
            // Marks weigh more, for runs of several with different classes.
            3 => proptest::char::range('\u{300}', '\u{36f}'),
            2 => proptest::char::range('\u{591}', '\u{5c7}'),
            2 => proptest::char::range('\u{f71}', '\u{f84}'),
            2 => proptest::char::range('\u{1dc0}', '\u{1dff}'),
            1 => proptest::char::range('\u{1e00}', '\u{1fff}'),
            1 => proptest::char::range('\u{1100}', '\u{11ff}'),
            1 => proptest::char::range('\u{ac00}', '\u{d7a3}'),
            1 => proptest::char::range('\u{3000}', '\u{33ff}'),
            1 => proptest::char::range('\u{f900}', '\u{faff}'),
            1 => proptest::char::range('\u{fb00}', '\u{fdff}'),
            1 => proptest::char::range('\u{fe00}', '\u{ffef}'),
            1 => proptest::char::range('\u{4e00}', '\u{9fff}'),
            1 => proptest::char::range('\u{1d400}', '\u{1d7ff}'),
            1 => proptest::char::range('\u{1f100}', '\u{1f2ff}'),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn strings_agree_with_the_crate(chars in proptest::collection::vec(mixed_char(), 0..60)) {
            let input: String = chars.into_iter().collect();
            let want: String = input.nfkd().collect();
            prop_assert_eq!(ours(&input), want);
        }
    }

    /// Runs `cargo test -p edgesuggest nfkd::tests::tables_match` with this variable set to a
    /// path to write the generated `nfkd_tables.rs` there (after a Unicode update).
    const WRITE_TABLES: &str = "EDGESUGGEST_WRITE_NFKD_TABLES";

    #[test]
    fn tables_match_unicode_normalization() {
        let generated = generate::source();
        if let Ok(path) = std::env::var(WRITE_TABLES) {
            std::fs::write(&path, &generated).expect("writing the tables");
            return;
        }
        assert!(
            generated == include_str!("nfkd_tables.rs"),
            "src/nfkd_tables.rs differs from unicode-normalization; regenerate it with \
             {WRITE_TABLES}=$PWD/src/nfkd_tables.rs cargo test -p edgesuggest nfkd::tests::tables_match"
        );
    }

    /// Builds `nfkd_tables.rs` from `unicode-normalization`.
    mod generate {
        use std::fmt::Write;

        /// A linear range is worth its 8 bytes from this many characters on.
        const MIN_LINEAR: usize = 4;
        /// Code points without a decomposition that a listed range spans (2 bytes each)
        /// rather than starting a new range (8 bytes).
        const MAX_GAP: u32 = 3;
        /// Ranges hold at most this many code points (11 bits of length).
        const MAX_LEN: u32 = 1 << 11;
        /// Listed ranges hold at most this many code points: a look-up sums the lengths before
        /// its code point in its range.
        const MAX_LISTED: u32 = 64;

        /// Every code point with a table decomposition (Hangul syllables are computed), and
        /// that decomposition.
        fn decompositions() -> Vec<(u32, String)> {
            let hangul = 0xAC00..0xAC00 + 11172;
            (0..=u32::from(char::MAX))
                .filter(|c| !hangul.contains(c))
                .filter_map(char::from_u32)
                .filter_map(|c| {
                    let mut d = String::new();
                    unicode_normalization::char::decompose_compatible(c, |x| d.push(x));
                    (d != c.to_string()).then(|| (u32::from(c), d))
                })
                .collect()
        }

        /// How many items from `i` on map consecutive code points to consecutive characters.
        fn linear_run(items: &[(u32, String)], i: usize) -> usize {
            let single = |s: &str| {
                let mut chars = s.chars();
                chars
                    .next()
                    .filter(|_| chars.next().is_none())
                    .map(u32::from)
            };
            let Some(first) = single(&items[i].1) else {
                return 0;
            };
            let (start, mut n) = (items[i].0, 0u32);
            while let Some((c, m)) = items.get(i + n as usize) {
                if n == MAX_LEN || *c != start + n || single(m) != Some(first + n) {
                    break;
                }
                n += 1;
            }
            n as usize
        }

        /// The decomposition tables: ranges, lengths and blob.
        fn decomposition_tables() -> (Vec<(u32, u32)>, Vec<u8>, String) {
            let items = decompositions();
            let (mut ranges, mut lengths, mut blob) = (Vec::new(), Vec::new(), String::new());
            let push = |lengths: &mut Vec<u8>, blob: &mut String, m: &str| {
                blob.push_str(m);
                lengths.push(u8::try_from(m.len()).expect("a decomposition over 255 bytes"));
            };
            let mut i = 0;
            while i < items.len() {
                let (start, ref m) = items[i];
                let linear = linear_run(&items, i);
                if linear >= MIN_LINEAR {
                    let first = u32::from(m.chars().next().unwrap_or_default());
                    ranges.push((start << 11 | (linear as u32 - 1), super::LINEAR | first));
                    i += linear;
                    continue;
                }
                let first_index = u32::try_from(lengths.len()).expect("index");
                let blob_start = u32::try_from(blob.len()).expect("blob start");
                assert!(
                    first_index < 1 << super::INDEX_BITS,
                    "too many listed code points"
                );
                assert!(blob_start < 1 << (31 - super::INDEX_BITS), "blob too long");
                push(&mut lengths, &mut blob, m);
                let mut last = start;
                i += 1;
                while let Some((c, m)) = items.get(i) {
                    let gap = c - last - 1;
                    if gap > MAX_GAP
                        || c - start >= MAX_LISTED
                        || linear_run(&items, i) >= MIN_LINEAR
                    {
                        break;
                    }
                    for _ in 0..gap {
                        push(&mut lengths, &mut blob, "");
                    }
                    push(&mut lengths, &mut blob, m);
                    last = *c;
                    i += 1;
                }
                let value = blob_start << super::INDEX_BITS | first_index;
                ranges.push((start << 11 | (last - start), value));
            }
            (ranges, lengths, blob)
        }

        /// Runs of up to 8 code points with the same nonzero combining class.
        fn class_ranges() -> Vec<u32> {
            let mut runs: Vec<(u32, u32, u8)> = Vec::new();
            for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
                let class = unicode_normalization::char::canonical_combining_class(c);
                let c = u32::from(c);
                match runs.last_mut() {
                    Some((start, last, k)) if class == *k && *last + 1 == c && c - *start < 8 => {
                        *last = c
                    }
                    _ if class != 0 => runs.push((c, c, class)),
                    _ => {}
                }
            }
            runs.iter()
                .map(|&(start, last, k)| start << 11 | (last - start) << 8 | u32::from(k))
                .collect()
        }

        /// `items` formatted `per_line` to a line.
        fn rows<T>(items: &[T], per_line: usize, f: impl Fn(&T) -> String) -> String {
            items
                .chunks(per_line)
                .map(|chunk| {
                    let row: Vec<String> = chunk.iter().map(&f).collect();
                    format!("    {},\n", row.join(", "))
                })
                .collect()
        }

        /// The blob as lines of string literals, every non-ASCII character escaped.
        fn blob_literal(blob: &str) -> String {
            let escaped: Vec<String> = blob
                .chars()
                .map(|c| match c {
                    ' '..='~' => c.escape_default().to_string(),
                    _ => format!("\\u{{{:x}}}", u32::from(c)),
                })
                .collect();
            let mut out = String::new();
            let mut line = String::new();
            for e in escaped {
                if line.len() + e.len() > 90 {
                    let _ = writeln!(out, "    \"{line}\",");
                    line.clear();
                }
                line.push_str(&e);
            }
            let _ = writeln!(out, "    \"{line}\",");
            out
        }

        /// The text of `nfkd_tables.rs`.
        pub(super) fn source() -> String {
            let (ranges, lengths, blob) = decomposition_tables();
            let classes = class_ranges();
            let (a, b, c) = unicode_normalization::UNICODE_VERSION;
            format!(
                "//! NFKD tables of Unicode {a}.{b}.{c}, generated from `unicode-normalization` by \
                 `nfkd::tests::tables_match_unicode_normalization`: do not edit (see `nfkd.rs`).\n\n\
                 /// Decomposing ranges, sorted: `(start << 11 | (length - 1), value)`, the value \
                 either `LINEAR | first target`\n\
                 /// or `blob start << {bits} | index` of the range's first code point in [`BLOB`] and \
                 [`DECOMP_LENGTHS`].\n\
                 pub(crate) const DECOMP_RANGES: &[(u32, u32)] = &[\n{}];\n\n\
                 /// The byte length in [`BLOB`] of each listed code point's decomposition, in code \
                 point order (0: none).\n\
                 pub(crate) const DECOMP_LENGTHS: &[u8] = &[\n{}];\n\n\
                 /// Every listed decomposition, in code point order.\n\
                 pub(crate) const BLOB: &str = concat!(\n{});\n\n\
                 /// Runs of code points with a nonzero canonical combining class, sorted: \
                 `start << 11 | (length - 1) << 8 | class`.\n\
                 pub(crate) const CCC_RANGES: &[u32] = &[\n{}];\n",
                rows(&ranges, 4, |(k, v)| format!("(0x{k:08X}, 0x{v:08X})")),
                rows(&lengths, 24, |l| l.to_string()),
                blob_literal(&blob),
                rows(&classes, 6, |k| format!("0x{k:08X}")),
                bits = super::INDEX_BITS,
            )
        }
    }
}
