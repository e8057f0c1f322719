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
