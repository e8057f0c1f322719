//! The one normalizer shared by the builder and every query, native and wasm.
//!
//! Steps, in this order:
//! 1. Unicode NFKD (compatibility decomposition: `ﬁ` → `fi`, `①` → `1`, `é` → `e` + U+0301);
//! 2. drop every character of general category `Mn` (non-spacing marks: the accents split off
//!    by step 1);
//! 3. lowercase each character with [`char::to_lowercase`];
//! 4. collapse every run of whitespace ([`char::is_whitespace`]) to one ASCII space;
//! 5. trim whitespace at the start.
//!
//! For **phrases** the end is trimmed too. For **queries** one trailing space is kept when the
//! query ends in whitespace, so `"new "` matches `"new york"` but not `"newark"`.
//!
//! Segments record [`NORMALIZER_ID`] and [`NORMALIZER_VERSION`] in their header; any change to
//! the steps above must bump the version, so old segments are refused instead of silently
//! answering queries normalized differently.

use crate::marks::is_nonspacing_mark;
use crate::nfkd::nfkd;

/// Identifies the normalization algorithm family recorded in segment headers (1 = NFKD, drop
/// `Mn`, lowercase, collapse whitespace).
pub const NORMALIZER_ID: u32 = 1;

/// Version of the normalizer with id [`NORMALIZER_ID`]; bumped on any change of output.
pub const NORMALIZER_VERSION: u32 = 1;

/// Normalizes a phrase (a suggestion being indexed): both ends trimmed.
///
/// ```
/// assert_eq!(edgesuggest::normalize_phrase("  São   Paulo "), "sao paulo");
/// ```
pub fn normalize_phrase(phrase: &str) -> String {
    let mut out = String::with_capacity(phrase.len());
    normalize_into(phrase, &mut out, Trailing::Trim);
    out
}

/// Normalizes a query: the start is trimmed, and one trailing space is kept when the query ends
/// in whitespace.
///
/// ```
/// assert_eq!(edgesuggest::normalize_query("  New\tYork  "), "new york ");
/// assert_eq!(edgesuggest::normalize_query("Zürich"), "zurich");
/// ```
pub fn normalize_query(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    normalize_into(query, &mut out, Trailing::KeepOneSpace);
    out
}

/// What to do with whitespace at the end of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trailing {
    /// Drop it (phrases).
    Trim,
    /// Keep one space (queries).
    KeepOneSpace,
}

/// Normalizes `input` into `out` (cleared first), reusing its allocation.
pub(crate) fn normalize_into(input: &str, out: &mut String, trailing: Trailing) {
    // Without a limit the result always fits.
    let _ = normalize_bounded(input, out, trailing, usize::MAX);
}

/// Normalizes `input` into `out` (cleared first), stopping as soon as the output would exceed
/// `max` bytes: false then, with `out` cut short. NFKD expands some characters up to 18 times
/// (U+FDFA), so the bound is checked on the output as it grows, and the decomposition of the
/// rest of the input is never computed.
pub(crate) fn normalize_bounded(
    input: &str,
    out: &mut String,
    trailing: Trailing,
    max: usize,
) -> bool {
    out.clear();
    let (fits, pending_space) = if input.is_ascii() {
        fold_ascii(input, out, max)
    } else {
        let mut fold = Fold::default();
        let mut emit = |c: char| out.push(c);
        let fits = nfkd(input, |c| fold.feed_within(c, &mut emit, max));
        (fits, fold.pending_space())
    };
    if !fits {
        return false;
    }
    if pending_space && trailing == Trailing::KeepOneSpace {
        if out.len() >= max {
            return false;
        }
        out.push(' ');
    }
    true
}

// The ASCII path: see each function for which build uses which.
#[cfg(feature = "lean")]
use fold_ascii_bytes as fold_ascii;
#[cfg(not(feature = "lean"))]
use fold_ascii_words as fold_ascii;

/// [`Fold`] for ASCII input, a word at a time, with the same output and the same stopping
/// point: ASCII is its own NFKD form, has no marks, lowercases to one byte, and its
/// whitespace ([`char::is_whitespace`]) is tab to carriage return and space. Returns whether
/// the output stayed within `max` bytes, and whether a whitespace run is pending. What all but
/// lean builds use: building npm's segment, it takes less than half the instructions of
/// [`fold_ascii_bytes`].
#[cfg(any(test, not(feature = "lean")))]
fn fold_ascii_words(input: &str, out: &mut String, max: usize) -> (bool, bool) {
    let is_space = |b: u8| matches!(b, b'\t'..=b'\r' | b' ');
    let mut rest = input;
    while let Some(start) = rest.bytes().position(|b| !is_space(b)) {
        // Every word but the first follows whitespace.
        if !out.is_empty() {
            out.push(' ');
        }
        let word = &rest[start..];
        let end = word.bytes().position(is_space).unwrap_or(word.len());
        let from = out.len();
        out.push_str(&word[..end]);
        out[from..].make_ascii_lowercase();
        if out.len() > max {
            cut_after_overflow(out, max);
            return (false, false);
        }
        rest = &word[end..];
    }
    (true, !rest.is_empty() && !out.is_empty())
}

/// [`fold_ascii_words`] a byte at a time: the same output and stopping point in less code.
/// What lean builds (the worker's module) use: there the word-at-a-time loops cost 287 bytes
/// of gzip, more than the worker bundle had to spare.
#[cfg(any(test, feature = "lean"))]
fn fold_ascii_bytes(input: &str, out: &mut String, max: usize) -> (bool, bool) {
    let mut pending_space = false;
    for b in input.bytes() {
        if matches!(b, b'\t'..=b'\r' | b' ') {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(char::from(b.to_ascii_lowercase()));
            if out.len() > max {
                return (false, pending_space);
            }
        }
    }
    (true, pending_space)
}

/// Cuts an output that went over `max` bytes where [`Fold`], which checks after each kept
/// character, stops: after the first character past `max`, so after two bytes when the
/// byte at `max` is a space (spaces are only written before a character).
#[cfg(any(test, not(feature = "lean")))]
fn cut_after_overflow(out: &mut String, max: usize) {
    let past = if out.as_bytes()[max] == b' ' { 2 } else { 1 };
    out.truncate(max + past);
}

/// Steps 2–5 of the normalizer, applied to the NFKD form one character at a time: drop `Mn`,
/// lowercase, collapse whitespace, trim the start. Generic over where kept characters go, so
/// the normalizer (which writes them) and `crate::highlight` (which only counts them) share
/// one definition.
#[derive(Debug, Default)]
pub(crate) struct Fold {
    /// Bytes emitted so far.
    len: usize,
    /// A whitespace run followed some output: it becomes one space before the next kept
    /// character (or at the end, for queries).
    pending_space: bool,
}

impl Fold {
    /// Feeds one character of the NFKD form; `emit` receives each kept character.
    #[inline]
    pub(crate) fn feed(&mut self, decomposed: char, emit: &mut impl FnMut(char)) {
        if decomposed.is_ascii() {
            self.keep(decomposed.to_ascii_lowercase(), emit);
        } else if !is_nonspacing_mark(decomposed) {
            for lower in decomposed.to_lowercase() {
                self.keep(lower, emit);
            }
        }
    }

    #[inline]
    fn keep(&mut self, c: char, emit: &mut impl FnMut(char)) {
        if c.is_whitespace() {
            self.pending_space = self.len > 0;
        } else {
            if self.pending_space {
                emit(' ');
                self.len += 1;
                self.pending_space = false;
            }
            emit(c);
            self.len += c.len_utf8();
        }
    }

    /// [`Fold::feed`], then whether the output is still at most `max` bytes.
    #[inline]
    fn feed_within(&mut self, c: char, emit: &mut impl FnMut(char), max: usize) -> bool {
        self.feed(c, emit);
        self.len <= max
    }

    /// Bytes emitted so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether a whitespace run is waiting to become a space.
    pub(crate) fn pending_space(&self) -> bool {
        self.pending_space
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    macro_rules! cases {
        ($($name:ident: $f:ident($input:expr) => $want:expr;)*) => {
            $(#[test] fn $name() { assert_eq!($f($input), $want); })*
        };
    }

    cases! {
        ascii_lower: normalize_phrase("Hello World") => "hello world";
        accents_dropped: normalize_phrase("São Paulo") => "sao paulo";
        decomposed_input: normalize_phrase("Sa\u{0303}o") => "sao";
        compat_ligature: normalize_phrase("ﬁle") => "file";
        compat_circled_digit: normalize_phrase("①②") => "12";
        fullwidth: normalize_phrase("ＡＢＣ") => "abc";
        nbsp_is_space: normalize_phrase("a\u{a0}b") => "a b";
        whitespace_runs: normalize_phrase(" \t a \n\r b  ") => "a b";
        only_whitespace: normalize_phrase(" \t ") => "";
        cjk_unchanged: normalize_phrase("東京") => "東京";
        cyrillic_lower: normalize_phrase("Москва") => "москва";
        // NFKD splits U+0130 into "I" + U+0307 (Mn), so the dot is dropped before lowercasing.
        dotted_capital_i: normalize_phrase("\u{130}stanbul") => "istanbul";
        // Spacing marks (Mc) are not dropped: only Mn is.
        spacing_mark_kept: normalize_phrase("\u{915}\u{93e}") => "\u{915}\u{93e}";
        final_sigma_is_plain_lowercase: normalize_phrase("ΟΔΟΣ") => "οδοσ";
        query_trailing_space: normalize_query("new  ") => "new ";
        query_no_trailing: normalize_query("new") => "new";
        query_leading: normalize_query("  new york") => "new york";
        query_only_space: normalize_query("   ") => "";
        query_nonascii_trailing: normalize_query("Zürich\u{3000}") => "zurich ";
        query_vertical_tab: normalize_query("a\u{b}") => "a ";
    }

    /// The general path (NFKD and [`Fold`] a character at a time) that the ASCII fast path
    /// must equal, output and stopping point included.
    fn general_bounded(input: &str, out: &mut String, trailing: Trailing, max: usize) -> bool {
        out.clear();
        let mut fold = Fold::default();
        let mut emit = |c: char| out.push(c);
        if !nfkd(input, |c| fold.feed_within(c, &mut emit, max)) {
            return false;
        }
        if fold.pending_space() && trailing == Trailing::KeepOneSpace {
            if fold.len() >= max {
                return false;
            }
            out.push(' ');
        }
        true
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn ascii_fast_path_is_byte_identical(
            input in "[\\x00-\\x7f]{0,40}",
            keep in proptest::bool::ANY,
            max in proptest::prop_oneof![0usize..45, proptest::strategy::Just(usize::MAX)],
        ) {
            let trailing = if keep { Trailing::KeepOneSpace } else { Trailing::Trim };
            let (mut fast, mut general) = (String::new(), String::new());
            let fast_fits = normalize_bounded(&input, &mut fast, trailing, max);
            let general_fits = general_bounded(&input, &mut general, trailing, max);
            proptest::prop_assert_eq!(fast_fits, general_fits);
            proptest::prop_assert_eq!(fast, general);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn ascii_paths_agree(
            input in "[\\x00-\\x7f]{0,40}",
            max in proptest::prop_oneof![0usize..45, proptest::strategy::Just(usize::MAX)],
        ) {
            let (mut words, mut bytes) = (String::new(), String::new());
            let by_words = fold_ascii_words(&input, &mut words, max);
            let by_bytes = fold_ascii_bytes(&input, &mut bytes, max);
            proptest::prop_assert_eq!(by_words, by_bytes);
            proptest::prop_assert_eq!(words, bytes);
        }
    }

    #[test]
    fn ascii_fast_path_matches_general_path() {
        for b in 0u8..128 {
            let s: String = [b'x', b, b'Y', b' ', b]
                .iter()
                .map(|&c| c as char)
                .collect();
            let mut general = String::new();
            let mut pending = false;
            for c in s.nfkd() {
                if is_nonspacing_mark(c) {
                    continue;
                }
                for l in c.to_lowercase() {
                    if l.is_whitespace() {
                        pending = !general.is_empty();
                    } else {
                        if pending {
                            general.push(' ');
                            pending = false;
                        }
                        general.push(l);
                    }
                }
            }
            assert_eq!(normalize_phrase(&s), general, "byte {b:#x}");
        }
    }
}
