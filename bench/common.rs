//! What the native benchmarks share: a seeded random number generator and the data reader.

use std::path::Path;

/// SplitMix64: the same numbers on every machine, for fixed-seed query draws.
pub struct Rng(pub u64);

impl Rng {
    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// `phrase<TAB>score[<TAB>...]` rows (extra columns ignored).
pub fn read_rows(path: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(path).expect("read data");
    text.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let phrase = f.next()?;
            let score = f.next()?.trim().parse().ok()?;
            Some((phrase.to_string(), score))
        })
        .collect()
}

/// Categories derived from the row for the size figures (as in the tests): the order of
/// magnitude of the score and the script class of the first character.
#[allow(dead_code)] // the freshness bench builds no categories
pub fn derived_categories(phrase: &str, score: u64) -> [String; 2] {
    let script = match phrase.chars().next().unwrap_or(' ') {
        c if c.is_ascii_alphabetic() => "latin",
        c if c.is_ascii() => "ascii-other",
        '\u{0400}'..='\u{04FF}' => "cyrillic",
        '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' => "cjk",
        _ => "other",
    };
    [
        format!("m{}", score.checked_ilog10().unwrap_or(0)),
        script.to_string(),
    ]
}
