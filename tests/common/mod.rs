//! Shared helpers for integration tests: an independent brute-force oracle, real-data
//! loading, and a seeded random number generator.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One expected result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub text: String,
    pub score: u64,
}

/// Brute force over the same rows: merge by normalized key, filter by prefix, sort. Written
/// from the rules in the issue, sharing nothing with the engine but the normalizer (which is
/// the specification of what matches).
pub struct Oracle {
    /// (normalized key, display, score), sorted by score descending then key ascending.
    entries: Vec<(String, String, u64)>,
}

impl Oracle {
    pub fn new<'a>(rows: impl IntoIterator<Item = (&'a str, u64)>) -> Oracle {
        // key -> (total, best single score, best surface)
        let mut merged: BTreeMap<String, (u64, u64, String)> = BTreeMap::new();
        for (phrase, score) in rows {
            let key = edgesuggest::normalize_phrase(phrase);
            if key.is_empty() {
                continue;
            }
            let e = merged.entry(key).or_insert((0, 0, String::new()));
            let first = e.2.is_empty() && e.0 == 0 && e.1 == 0;
            e.0 = e.0.saturating_add(score);
            if first || score > e.1 || (score == e.1 && phrase.as_bytes() < e.2.as_bytes()) {
                e.1 = score;
                e.2 = phrase.to_string();
            }
        }
        let mut entries: Vec<(String, String, u64)> = merged
            .into_iter()
            .map(|(k, (total, _, display))| (k, display, total))
            .collect();
        entries.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
        });
        Oracle { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn suggest(&self, query: &str, k: usize) -> Vec<Expected> {
        let q = edgesuggest::normalize_query(query);
        self.entries
            .iter()
            .filter(|(key, _, _)| key.starts_with(&q))
            .take(k)
            .map(|(_, text, score)| Expected {
                text: text.clone(),
                score: *score,
            })
            .collect()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _, _)| k.as_str())
    }
}

/// splitmix64: a tiny seeded generator, so every run draws the same queries.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// `../shared/data` next to the repository, if present.
pub fn shared_data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    dir.is_dir().then_some(dir)
}

/// Reads a `phrase<TAB>score` file.
pub fn read_tsv(path: &std::path::Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (phrase, score) = line.rsplit_once('\t').expect("phrase<TAB>score");
            (
                phrase.to_string(),
                score.trim().parse().expect("integer score"),
            )
        })
        .collect()
}

/// A query drawn from real phrases: a prefix of 1–8 characters of a random phrase (raw, so
/// case and accents exercise the normalizer), sometimes with a trailing space, and about one
/// in ten that matches nothing.
pub fn random_query(rng: &mut Rng, phrases: &[(String, u64)]) -> String {
    let (phrase, _) = &phrases[rng.below(phrases.len())];
    let chars: Vec<char> = phrase.chars().collect();
    let take = 1 + rng.below(8.min(chars.len()).max(1));
    let mut q: String = chars[..take.min(chars.len())].iter().collect();
    match rng.below(10) {
        0 => q.push_str("\u{1F9A9}zzq"), // matches nothing
        1 => q.push(' '),
        2 => q = q.to_uppercase(),
        _ => {}
    }
    q
}
