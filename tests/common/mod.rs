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

/// One expected result with how it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedMatch {
    pub key: String,
    pub text: String,
    pub score: u64,
    pub edits: u8,
    pub word_start: bool,
    /// Byte offset in the key where the match starts: the leftmost place with the fewest
    /// edits (0 for the phrase start).
    pub start: usize,
}

/// What a query asks the oracle for (mirrors the documented options, README: Search features,
/// not the engine's types).
#[derive(Debug, Clone)]
pub struct Ask {
    pub k: usize,
    /// Edits allowed; `None` = auto (0 under 3 characters, 1 for 3–5, 2 above).
    pub fuzzy: Option<u8>,
    pub prefix_length: usize,
    pub exact_first: bool,
    pub categories: Vec<String>,
}

impl Ask {
    pub fn k(k: usize) -> Ask {
        Ask {
            k,
            fuzzy: Some(0),
            prefix_length: 1,
            exact_first: true,
            categories: Vec::new(),
        }
    }
}

struct Entry {
    key: String,
    display: String,
    score: u64,
    categories: Vec<String>,
}

/// Brute force over the same rows: merge by normalized key, then scan every phrase for each
/// query. Written from the documented rules (README: Search features), sharing nothing with
/// the engine but the normalizer (which is the specification of what matches).
pub struct Oracle {
    /// Sorted by score descending then key ascending.
    entries: Vec<Entry>,
    /// Key → position in `entries`.
    index: std::collections::HashMap<String, usize>,
    word_starts: bool,
}

impl Oracle {
    pub fn new<'a>(rows: impl IntoIterator<Item = (&'a str, u64)>) -> Oracle {
        Oracle::with_categories(rows.into_iter().map(|(p, s)| (p, s, Vec::new())), false)
    }

    /// Rows with categories; `word_starts` as the index was built.
    pub fn with_categories<'a>(
        rows: impl IntoIterator<Item = (&'a str, u64, Vec<String>)>,
        word_starts: bool,
    ) -> Oracle {
        // key -> (total, best single score, best surface, categories)
        let mut merged: BTreeMap<String, (u64, u64, String, Vec<String>)> = BTreeMap::new();
        for (phrase, score, cats) in rows {
            let key = edgesuggest::normalize_phrase(phrase);
            if key.is_empty() {
                continue;
            }
            let e = merged
                .entry(key)
                .or_insert((0, 0, String::new(), Vec::new()));
            let first = e.2.is_empty() && e.0 == 0 && e.1 == 0;
            e.0 = e.0.saturating_add(score);
            if first || score > e.1 || (score == e.1 && phrase.as_bytes() < e.2.as_bytes()) {
                e.1 = score;
                e.2 = phrase.to_string();
            }
            for c in cats {
                if !e.3.contains(&c) {
                    e.3.push(c);
                }
            }
        }
        let mut entries: Vec<Entry> = merged
            .into_iter()
            .map(|(key, (total, _, display, categories))| Entry {
                key,
                display,
                score: total,
                categories,
            })
            .collect();
        entries.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then_with(|| a.key.as_bytes().cmp(b.key.as_bytes()))
        });
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key.clone(), i))
            .collect();
        Oracle {
            entries,
            index,
            word_starts,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Plain prefix search with the exact phrase first (the default options).
    pub fn suggest(&self, query: &str, k: usize) -> Vec<Expected> {
        self.search(query, &Ask::k(k))
            .into_iter()
            .map(|m| Expected {
                text: m.text,
                score: m.score,
            })
            .collect()
    }

    /// The full ranking rule: exact phrase first (if asked), then fewer edits, then full-phrase
    /// before word-start, then score, then key.
    pub fn search(&self, query: &str, ask: &Ask) -> Vec<ExpectedMatch> {
        let q: Vec<char> = edgesuggest::normalize_query(query).chars().collect();
        let max_edits = match ask.fuzzy {
            Some(n) => n,
            None if q.len() < 3 => 0,
            None if q.len() <= 5 => 1,
            None => 2,
        };
        let q_string: String = q.iter().collect();
        let exact_chars = exact_chars(&q, ask.prefix_length);
        let q_exact: String = q.iter().take(exact_chars).collect();
        let needle: &str = if max_edits == 0 { &q_string } else { &q_exact };
        // Entries are in (score, key) order, so each (edits, word-start) class fills in
        // order and never needs more than k members; the exact phrase is looked up apart.
        let exact_index = (ask.exact_first && !q.is_empty())
            .then(|| self.index.get(&q_string).copied())
            .flatten()
            .filter(|&i| self.in_categories(i, ask));
        let mut classes: BTreeMap<(u8, u8), Vec<(usize, usize)>> = BTreeMap::new();
        for (index, e) in self.entries.iter().enumerate() {
            if classes.get(&(0, 0)).is_some_and(|c| c.len() >= ask.k) {
                break;
            }
            if Some(index) == exact_index || !self.in_categories(index, ask) {
                continue;
            }
            // Candidate start positions: the phrase start, then each later word start.
            let key = e.key.as_str();
            let later = key.match_indices(' ').map(|(i, _)| i + 1);
            let starts = if self.word_starts { usize::MAX } else { 1 };
            let mut best: Option<((u8, u8), usize)> = None;
            for (n, at) in std::iter::once(0).chain(later).take(starts).enumerate() {
                // Cheap filter first: the exactly matched characters are a plain prefix.
                if !key[at..].starts_with(needle) {
                    continue;
                }
                let rest: Vec<char> = key[at..].chars().take(q.len() + 3).collect();
                if let Some(d) = prefix_edits(&q, &rest, exact_chars, max_edits) {
                    let class = (d, u8::from(n > 0));
                    if best.map_or(true, |(b, _)| class < b) {
                        best = Some((class, at));
                    }
                }
            }
            if let Some((class, at)) = best {
                let members = classes.entry(class).or_default();
                if members.len() < ask.k {
                    members.push((index, at));
                }
            }
        }
        let exact = exact_index.map(|i| (i, ((0u8, 0u8), 0)));
        let ranked = classes
            .into_iter()
            .flat_map(|(class, members)| members.into_iter().map(move |(i, at)| (i, (class, at))));
        exact
            .into_iter()
            .chain(ranked)
            .take(ask.k)
            .map(|(index, ((edits, ws), start))| ExpectedMatch {
                key: self.entries[index].key.clone(),
                text: self.entries[index].display.clone(),
                score: self.entries[index].score,
                edits,
                word_start: ws == 1,
                start,
            })
            .collect()
    }

    fn in_categories(&self, index: usize, ask: &Ask) -> bool {
        ask.categories.is_empty()
            || self.entries[index]
                .categories
                .iter()
                .any(|c| ask.categories.contains(c))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.key.as_str())
    }
}

/// The fewest edits (optimal string alignment: insert, delete, substitute, swap two adjacent
/// characters, each counting one) turning `query` into some prefix of `text`, when the first
/// How many leading characters of a normalized query must match exactly when typos are
/// allowed, by the engine's documented rule: the first `prefix_length`, and every character
/// that starts more than 32 bytes before the end (typo tolerance covers the last 32 bytes).
pub fn exact_chars(q: &[char], prefix_length: usize) -> usize {
    let total: usize = q.iter().map(|c| c.len_utf8()).sum();
    let mut start = 0;
    let before_tail = q
        .iter()
        .take_while(|c| {
            let exact = total - start > 32;
            start += c.len_utf8();
            exact
        })
        .count();
    before_tail.max(prefix_length)
}

/// `exact` characters of the query match `text` exactly and the rest is within `max_edits`.
pub fn prefix_edits(query: &[char], text: &[char], exact: usize, max_edits: u8) -> Option<u8> {
    let p = exact.min(query.len());
    if text.len() < p || query[..p] != text[..p] {
        return None;
    }
    let a = &query[p..];
    let b = &text[p..];
    if max_edits == 0 || a.is_empty() {
        return b.starts_with(a).then_some(0);
    }
    // Prefixes of b longer than |a| + max_edits are further than max_edits away.
    let b = &b[..b.len().min(a.len() + max_edits as usize)];
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    let best = (0..=m).map(|j| d[n][j]).min().unwrap_or(usize::MAX);
    (best <= max_edits as usize).then_some(best as u8)
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

/// The segment with its FST section replaced: the section table's offsets moved and the
/// checksum recomputed (layout in docs/FORMAT.md).
pub fn replace_fst(bytes: &[u8], fst: &[u8]) -> Vec<u8> {
    replace_section(bytes, edgesuggest::format::SectionKind::Fst, fst)
}

/// The segment with its section of `kind` replaced by `section`: the section table's offsets
/// moved and the checksum recomputed.
pub fn replace_section(
    bytes: &[u8],
    kind: edgesuggest::format::SectionKind,
    section: &[u8],
) -> Vec<u8> {
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap()) as usize;
    let sections = u32::from_le_bytes(bytes[40..44].try_into().unwrap()) as usize;
    let table = |i: usize| 48 + i * 24;
    let entry = (0..sections)
        .find(|&i| bytes[table(i)] == kind as u8)
        .unwrap();
    let (at, len) = (u64_at(table(entry) + 8), u64_at(table(entry) + 16));
    let mut out = [&bytes[..at], section, &bytes[at + len..bytes.len() - 12]].concat();
    let grown = section.len() as i64 - len as i64;
    out[table(entry) + 16..table(entry) + 24]
        .copy_from_slice(&(section.len() as u64).to_le_bytes());
    for i in 0..sections {
        let offset = u64_at(table(i) + 8);
        if offset > at {
            let moved = (offset as i64 + grown) as u64;
            out[table(i) + 8..table(i) + 16].copy_from_slice(&moved.to_le_bytes());
        }
    }
    let sum = xxhash_rust::xxh64::xxh64(&out, 0);
    out.extend_from_slice(&sum.to_le_bytes());
    out.extend_from_slice(&bytes[bytes.len() - 4..]);
    out
}
