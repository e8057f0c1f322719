//! The phrases users look for: read from `phrase<TAB>score` lines, ranked by score, with a
//! prefix index that plays the suggest service (the best phrases starting with what was typed).

use anyhow::{bail, Result};

/// Longest phrase accepted, in bytes: typos and case variants stay far below the event
/// schema's 4,096-byte limit on `q` (upper case can grow a phrase).
const MAX_PHRASE_BYTES: usize = 1024;

/// Phrases ranked by score (rank 0 = most popular), with a prefix index.
#[derive(Debug)]
pub struct Phrases {
    /// Phrases, best first.
    ranked: Vec<String>,
    /// `(lowercased phrase, rank)`, sorted by the lowercased text: the phrases starting with a
    /// prefix are one contiguous range.
    by_text: Vec<(String, usize)>,
}

impl Phrases {
    /// Parses `phrase<TAB>score[<TAB>...]` lines (more columns ignored, blank lines skipped) and
    /// ranks them by score, then phrase. `name` is the source's name in errors.
    pub fn parse(text: &str, name: &str) -> Result<Phrases> {
        let mut scored = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            let phrase = fields.next().unwrap_or_default().trim();
            let score = fields.next().map(|s| s.trim().parse::<u64>());
            match score {
                Some(Ok(_)) if phrase.len() > MAX_PHRASE_BYTES => bail!(
                    "{name}:{}: phrase of {} bytes, at most {MAX_PHRASE_BYTES}",
                    i + 1,
                    phrase.len()
                ),
                Some(Ok(score)) if !phrase.is_empty() => scored.push((score, phrase.to_string())),
                _ => bail!(
                    "{name}:{}: expected `phrase<TAB>score` with a non-negative integer score",
                    i + 1
                ),
            }
        }
        if scored.is_empty() {
            bail!("{name}: no phrases; give a file of `phrase<TAB>score` lines");
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let ranked: Vec<String> = scored.into_iter().map(|(_, p)| p).collect();
        let mut by_text: Vec<(String, usize)> = ranked
            .iter()
            .enumerate()
            .map(|(rank, p)| (p.to_lowercase(), rank))
            .collect();
        by_text.sort();
        Ok(Phrases { ranked, by_text })
    }

    /// How many phrases there are.
    pub fn count(&self) -> usize {
        self.ranked.len()
    }

    /// The phrase of a rank.
    pub fn get(&self, rank: usize) -> &str {
        &self.ranked[rank]
    }

    /// The ranks of the `k` best phrases whose lowercased text starts with `prefix` (already
    /// lowercase), best first: what a suggest service would answer.
    pub fn suggest(&self, prefix: &str, k: usize) -> Vec<usize> {
        let start = self.by_text.partition_point(|(t, _)| t.as_str() < prefix);
        let mut best: Vec<usize> = Vec::with_capacity(k + 1);
        for (text, rank) in &self.by_text[start..] {
            if !text.starts_with(prefix) {
                break;
            }
            // A small sorted top-k: k is at most a dozen.
            let at = best.partition_point(|&r| r < *rank);
            if at < k {
                best.insert(at, *rank);
                best.truncate(k);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_suggests() {
        let p = Phrases::parse("Newark\t5\nNew York\t9\nParis\t7\n\nnew delhi\t1\n", "t").unwrap();
        assert_eq!(p.get(0), "New York");
        assert_eq!(p.suggest("new", 2), vec![0, 2]);
        assert_eq!(p.suggest("new ", 5), vec![0, 3]);
        assert!(p.suggest("x", 5).is_empty());
        assert!(Phrases::parse("a\t-1\n", "t")
            .unwrap_err()
            .to_string()
            .contains("t:1"));
    }
}
