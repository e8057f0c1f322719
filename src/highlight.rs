//! Where a query matched inside a display text, under the same folding as the normalizer.
//!
//! A suggestion's key is the normalized form of its display text, and the query matched a
//! prefix of the key. The matched span of the *text* is therefore the shortest prefix of the
//! text whose normalization covers the normalized query (starting after leading whitespace):
//! query "sao" on "São Paulo" spans "São", 3 characters.

use crate::nfkd::decompose;
use crate::normalize::Fold;

/// The byte range of `text` matched by `normalized_query` (the output of
/// `normalize_query`), assuming the normalized `text` starts with it. A character
/// that folds into several (the ligature `ﬁ`) is covered whole even if the query ends inside
/// it. An empty query gives an empty range at the start of the text. Only the tests use it:
/// search knows the matched key range and calls [`key_range_span`].
#[cfg(test)]
pub(crate) fn match_span(text: &str, normalized_query: &str) -> std::ops::Range<usize> {
    key_range_span(text, 0..normalized_query.len())
}

/// The byte range of `text` whose normalization covers the byte range `key_range` of its
/// normalized key: where a query matched, mapped back to what the user sees. Characters that
/// fold into several are covered whole; an empty range maps to an empty range where the
/// covered text would start. For example "york", bytes 4..8 of the key "new york", is bytes
/// 5..9 of the text "New  York".
pub(crate) fn key_range_span(
    text: &str,
    key_range: std::ops::Range<usize>,
) -> std::ops::Range<usize> {
    // The normalizer's own folding, one character of the text at a time, counting bytes.
    let mut fold = Fold::default();
    let mut start = None;
    let mut count_only = |_: char| {};
    for (i, c) in text.char_indices() {
        let before = fold.len();
        if c.is_ascii() {
            fold.feed(c, &mut count_only);
        } else {
            decompose(c, &mut |d| {
                fold.feed(d, &mut count_only);
                true
            });
        }
        if start.is_none() && fold.len() > before && fold.len() > key_range.start {
            start = Some(i);
            if key_range.is_empty() {
                return i..i;
            }
        }
        if start.is_some() && fold.len() + usize::from(fold.pending_space()) >= key_range.end {
            return start.unwrap_or(i)..i + c.len_utf8();
        }
    }
    let start = start.unwrap_or(text.len());
    start..text.len()
}

/// Converts a byte range of `text` to UTF-16 code units (what JavaScript strings index by).
pub(crate) fn utf16_range(text: &str, range: std::ops::Range<usize>) -> (u32, u32) {
    // ASCII text (most of it) counts one unit per byte: no per-character count, which in
    // WebAssembly was a visible part of handing each result to JavaScript. Not in the
    // worker's `lean` build, whose module size is what counts (350 bytes of gzip).
    #[cfg(not(feature = "lean"))]
    if text.is_ascii() {
        let start = range.start.min(text.len());
        let len = text.get(range).map_or(0, str::len);
        return (start as u32, (start + len) as u32);
    }
    utf16_range_by_chars(text, range)
}

/// [`utf16_range`] for any text, counting each character's units.
fn utf16_range_by_chars(text: &str, range: std::ops::Range<usize>) -> (u32, u32) {
    let units = |end: usize| -> u32 {
        text.get(..end)
            .unwrap_or(text)
            .chars()
            .map(|c| c.len_utf16() as u32)
            .sum()
    };
    let start = units(range.start);
    let len: u32 = text
        .get(range.clone())
        .unwrap_or("")
        .chars()
        .map(|c| c.len_utf16() as u32)
        .sum();
    (start, start + len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize_query;

    fn span16(text: &str, query: &str) -> (u32, u32) {
        utf16_range(text, match_span(text, &normalize_query(query)))
    }

    #[test]
    fn maps_a_key_range_back_to_the_text() {
        assert_eq!(match_span("São Paulo", &normalize_query("SAO")), 0..4); // "São" is 4 bytes
                                                                            // "york" is bytes 4..8 of the key "new york".
        assert_eq!(key_range_span("New  York", 4..8), 5..9);
    }

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(span16("São Paulo", "sao"), (0, 3));
        assert_eq!(span16("São Paulo", "SÃO P"), (0, 5));
        assert_eq!(span16("Zürich", "zu"), (0, 2));
    }

    #[test]
    fn decomposed_text_covers_the_marks_of_the_last_letter() {
        // "Sa" + U+0303 + "o": the query "sa" ends on the "a", whose mark follows it; the span
        // stops before the mark only if nothing else is needed. Matching stops at "a".
        assert_eq!(span16("Sa\u{303}o", "sa"), (0, 2));
        assert_eq!(span16("Sa\u{303}o", "sao"), (0, 4));
    }

    #[test]
    fn trailing_space_and_whitespace_runs() {
        assert_eq!(span16("New York", "new "), (0, 4));
        assert_eq!(span16("New   York", "new y"), (0, 7));
        assert_eq!(span16("  Paris", "pa"), (2, 4));
    }

    #[test]
    fn expansions_and_astral_characters() {
        assert_eq!(span16("ﬁnance", "f"), (0, 1));
        assert_eq!(span16("ﬁnance", "fin"), (0, 2));
        // U+1D518 MATHEMATICAL FRAKTUR CAPITAL U folds to "u"; it is 2 UTF-16 units.
        assert_eq!(span16("\u{1d518}ber", "ub"), (0, 3));
        assert_eq!(span16("東京", "東"), (0, 1));
    }

    #[test]
    fn empty_query() {
        assert_eq!(span16("abc", ""), (0, 0));
        assert_eq!(span16("  abc", ""), (2, 2));
    }

    proptest::proptest! {
        /// The ASCII shortcut counts as the general path, for any range (out of bounds,
        /// reversed, or not on a character boundary of a non-ASCII text included).
        #[test]
        fn ascii_shortcut_counts_as_every_character(
            text in "[a-z A-Z0-9é東😀-]{0,12}",
            start in 0usize..16,
            end in 0usize..16,
        ) {
            proptest::prop_assert_eq!(
                utf16_range(&text, start..end),
                utf16_range_by_chars(&text, start..end)
            );
        }
    }

    #[test]
    fn agrees_with_the_normalizer_on_every_prefix() {
        let texts = [
            "São Paulo",
            "  Ærøskøbing  Kommune",
            "Москва-Сити",
            "ﬁ ﬂ ①",
            "İstanbul",
            "東京 都",
        ];
        for text in texts {
            let key = crate::normalize_phrase(text);
            for (end, _) in key.char_indices().skip(1).chain([(key.len(), ' ')]) {
                let q = &key[..end];
                let span = match_span(text, q);
                let covered = normalize_query(&text[..span.end]);
                assert!(
                    covered.starts_with(q),
                    "{text:?} {q:?} {span:?} {covered:?}"
                );
                // Shortest: one character less no longer covers the query.
                let shorter = text[..span.end].char_indices().last().map_or(0, |(i, _)| i);
                assert!(!normalize_query(&text[..shorter]).starts_with(q) || shorter < span.start);
            }
        }
    }
}
