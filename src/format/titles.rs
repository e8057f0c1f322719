//! Display forms that are their key title-cased, marked by rank instead of stored.
//!
//! Most place and product names differ from their normalized key only in the capitals that
//! start their words ("New York" for `new york`): stored, each took its bytes, a rank and an
//! offset in the display table, and a look-up in it cost two scattered reads per suggestion.
//! A mark takes one bit per suggestion, in a table small enough to stay in cache.
//!
//! Layout: one bit per rank, little-endian `u64` words (`ceil(count / 64)` of them, nothing
//! else): bit `r % 64` of word `r / 64` is set when the display form of rank `r` is
//! [`title_case`] of its key. Bits past the last rank are 0.

use super::bytes::{slice, u64_at};
use crate::error::{Error, Result};

/// The section's name, for errors.
const NAME: &str = "display titles";

/// The `display titles` section, parsed (the default: absent, no form is a title).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Titles {
    offset: usize,
    len: usize,
}

impl Titles {
    /// Checks that the section holds exactly one bit per suggestion, in whole words, and no
    /// bit past the last suggestion's: O(1).
    pub(crate) fn parse(
        bytes: &[u8],
        (offset, len): (usize, usize),
        count: usize,
    ) -> Result<Titles> {
        let words = count.div_ceil(64);
        if words.checked_mul(8) != Some(len) || len == 0 {
            return Err(Error::corrupt(
                NAME,
                format!("{len} bytes for {count} suggestions; {words} words of 8 bytes expected"),
            ));
        }
        let last = u64_at(bytes, offset + len - 8, NAME)?;
        if count % 64 != 0 && last >> (count % 64) != 0 {
            return Err(Error::corrupt(
                NAME,
                format!("bits set past rank {}", count - 1),
            ));
        }
        Ok(Titles { offset, len })
    }

    /// Whether the segment has the section.
    #[inline]
    pub(crate) fn is_present(&self) -> bool {
        self.len != 0
    }

    /// Whether the display form of `rank` is its key title-cased.
    #[cfg_attr(not(target_family = "wasm"), inline(always))]
    pub(crate) fn is_title(&self, bytes: &[u8], rank: u32) -> Result<bool> {
        if !self.is_present() {
            return Ok(false);
        }
        // A rank past the last word (a corrupt FST's) reads past the section: an error.
        let words = slice(bytes, self.offset, self.len, NAME)?;
        Ok(u64_at(words, (rank / 64) as usize * 8, NAME)? >> (rank % 64) & 1 == 1)
    }

    /// How many ranks are marked (bits past the last rank are 0, checked at open).
    pub(crate) fn count(&self, bytes: &[u8]) -> u64 {
        let words = slice(bytes, self.offset, self.len, NAME).unwrap_or(&[]);
        words.iter().map(|b| u64::from(b.count_ones())).sum()
    }
}

/// Appends the section: one bit per rank below `count`, set where `is_title(rank)`.
#[cfg(feature = "build")]
pub(crate) fn encode(out: &mut Vec<u8>, count: usize, is_title: impl Fn(usize) -> bool) {
    for word in 0..count.div_ceil(64) {
        let ranks = word * 64..((word + 1) * 64).min(count);
        let bits = ranks
            .filter(|&rank| is_title(rank))
            .fold(0u64, |bits, rank| bits | 1 << (rank % 64));
        out.extend_from_slice(&bits.to_le_bytes());
    }
}

/// Whether byte `b`, just before an ASCII letter, makes that letter start a word: an ASCII
/// byte that is no letter or digit. Bytes of other characters never do, so a key in another
/// script is left as it is.
#[cfg(any(feature = "lean", feature = "build", test))]
#[inline]
fn starts_word_after(b: u8) -> bool {
    b.is_ascii() && !b.is_ascii_alphanumeric()
}

/// The rule, one byte at a time: `b` title-cased, where `after_boundary` says whether a word
/// may start at it (true for a text's first byte); then sets it for the next byte. The
/// builder marks forms by it, and `title_case_bytewise` applies it.
#[cfg(any(feature = "lean", feature = "build", test))]
#[inline]
fn title_byte(b: u8, after_boundary: &mut bool) -> u8 {
    let out = if *after_boundary {
        b.to_ascii_uppercase()
    } else {
        b
    };
    *after_boundary = starts_word_after(b);
    out
}

/// Upper-cases, in place, each ASCII lowercase letter of `text` that starts a word: the first
/// byte, or one after [`starts_word_after`]. Only ASCII bytes change, each into one of the same
/// length, so UTF-8 text stays UTF-8 and keeps its byte offsets (highlights map through it).
/// On bytes: a `str` changes a byte only through a checked sub-slice.
///
/// Eight bytes at a time ([`title_word`]): a query's results are title-cased on every query,
/// and the word loop takes 3.5% off a city-name prefix query's instructions.
#[cfg(not(feature = "lean"))]
pub(crate) fn title_case(text: &mut [u8]) {
    // 0x80 when a word may start at the next byte: at the first, and after a boundary.
    let mut start = 0x80;
    let mut chunks = text.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let (titled, carry) = title_word(u64::from_le_bytes(word), start);
        chunk.copy_from_slice(&titled.to_le_bytes());
        start = carry;
    }
    // The last bytes, padded with zeros: no letter, so nothing changes there. (One helper
    // for both, copying any length, ran 0.3% more instructions on city-name queries.)
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut word = [0; 8];
        word[..rest.len()].copy_from_slice(rest);
        let (titled, _) = title_word(u64::from_le_bytes(word), start);
        rest.copy_from_slice(&titled.to_le_bytes()[..rest.len()]);
    }
}

/// [`title_case`] a byte at a time: the rule as written. Lean builds title-case by it (the
/// worker bundle is counted in bytes, and there a request's HTTP work dwarfs the
/// title-casing), and the tests check the word-at-a-time version against it.
#[cfg(any(feature = "lean", test))]
fn title_case_bytewise(text: &mut [u8]) {
    let mut after_boundary = true;
    for b in text {
        *b = title_byte(*b, &mut after_boundary);
    }
}

/// [`title_case`] in lean builds: see [`title_case_bytewise`].
#[cfg(feature = "lean")]
pub(crate) fn title_case(text: &mut [u8]) {
    title_case_bytewise(text);
}

/// The high bit of every byte of a word.
#[cfg(not(feature = "lean"))]
const HIGHS: u64 = 0x8080_8080_8080_8080;
/// One in every byte of a word.
#[cfg(not(feature = "lean"))]
const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `word` that is ASCII and at least `low` (`low` < 0x80). Each
/// byte's low seven bits are compared with the high bit set, so no borrow crosses a byte.
#[cfg(not(feature = "lean"))]
#[inline(always)]
fn ascii_at_least(word: u64, low: u8) -> u64 {
    (((word & !HIGHS) | HIGHS) - ONES * u64::from(low)) & !word & HIGHS
}

/// The high bit of each byte of `word` that is ASCII and in `low..=high` (`high` < 0x7F).
#[cfg(not(feature = "lean"))]
#[inline(always)]
fn ascii_in(word: u64, low: u8, high: u8) -> u64 {
    ascii_at_least(word, low) & !ascii_at_least(word, high + 1)
}

/// [`title_case`] of eight bytes (little-endian in `word`): `start` holds 0x80 when a word
/// may start at the first of them. Returns the title-cased bytes and, as 0x80 or 0, whether a
/// word may start after the last.
#[cfg(not(feature = "lean"))]
#[inline(always)]
fn title_word(word: u64, start: u64) -> (u64, u64) {
    let lower = ascii_in(word, b'a', b'z');
    let letter_or_digit = lower | ascii_in(word, b'A', b'Z') | ascii_in(word, b'0', b'9');
    let boundary = !word & HIGHS & !letter_or_digit;
    let starts = lower & ((boundary << 8) | start);
    // Each start is a lowercase letter: taking 0x20 off makes it its capital, with no borrow.
    (word - (starts >> 2), boundary >> 56)
}

/// `key` title-cased, as a new string.
#[cfg(feature = "build")]
pub(crate) fn title_cased(key: &str) -> String {
    let mut bytes = key.as_bytes().to_vec();
    title_case(&mut bytes);
    // Only ASCII letters changed: still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| key.to_owned())
}

/// Whether `display` is `key` title-cased and differs from it: what the builder marks instead
/// of storing. Compared byte by byte, without making the title-cased key.
#[cfg(feature = "build")]
pub(crate) fn is_title_of(display: &[u8], key: &[u8]) -> bool {
    let mut after_boundary = true;
    display.len() == key.len()
        && display != key
        && (display.iter().zip(key)).all(|(&d, &k)| d == title_byte(k, &mut after_boundary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titled(key: &str) -> String {
        let mut bytes = key.as_bytes().to_vec();
        title_case(&mut bytes);
        String::from_utf8(bytes).unwrap()
    }

    /// The byte rule, one byte at a time: the reference for the word-at-a-time version.
    fn titled_bytewise(text: &[u8]) -> Vec<u8> {
        let mut out = text.to_vec();
        title_case_bytewise(&mut out);
        out
    }

    proptest::proptest! {
        /// Eight bytes at a time title-case any bytes as the byte rule does, wherever words,
        /// digits, other scripts and the ends of the eight-byte words fall.
        #[test]
        fn words_of_eight_bytes_follow_the_byte_rule(
            text in proptest::collection::vec(proptest::prop_oneof![
                proptest::num::u8::ANY,
                proptest::sample::select(b" -'(./09:@AZ[`az{\x7f".to_vec()),
            ], 0..40),
        ) {
            let mut fast = text.clone();
            title_case(&mut fast);
            proptest::prop_assert_eq!(fast, titled_bytewise(&text));
        }
    }

    #[test]
    fn every_byte_pair_follows_the_byte_rule() {
        for before in 0..=255u8 {
            for b in 0..=255u8 {
                let text = [before, b, b' ', b, before, b, b, before, b, before];
                let mut fast = text;
                title_case(&mut fast);
                assert_eq!(fast.to_vec(), titled_bytewise(&text), "{before:#x} {b:#x}");
            }
        }
    }

    #[test]
    fn words_start_after_ascii_that_is_no_letter_or_digit() {
        assert_eq!(titled("new york"), "New York");
        assert_eq!(titled("saint-petersburg"), "Saint-Petersburg");
        assert_eq!(titled("o'fallon (mo)"), "O'Fallon (Mo)");
        assert_eq!(titled("3rd street 42nd"), "3rd Street 42nd");
        assert_eq!(titled("москва city"), "москва City");
        assert_eq!(titled("zürich"), "Zürich");
        assert_eq!(
            titled("éa"),
            "éa",
            "a letter after another script's starts no word"
        );
        assert_eq!(titled(""), "");
    }

    #[cfg(feature = "build")]
    proptest::proptest! {
        /// The builder's check and the reader's rule agree on any text: a display form is
        /// marked exactly when title-casing its key gives it (and changes the key).
        #[test]
        fn the_mark_and_the_rule_agree(key in "[a-c0-9 '\\-é東]{0,12}", flip in proptest::collection::vec(proptest::bool::ANY, 12)) {
            let title = titled(&key);
            proptest::prop_assert_eq!(is_title_of(title.as_bytes(), key.as_bytes()), title != key);
            // Any other case change of ASCII letters is not a title.
            let mut other = key.clone().into_bytes();
            for (b, f) in other.iter_mut().zip(&flip) {
                if *f && b.is_ascii_lowercase() {
                    b.make_ascii_uppercase();
                }
            }
            let other = String::from_utf8(other).unwrap();
            proptest::prop_assert_eq!(is_title_of(other.as_bytes(), key.as_bytes()), other == title && other != key);
        }
    }
}
