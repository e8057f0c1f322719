//! Shared by the aggregation tests: event lines, runs over temporary files, a seeded random
//! event stream, and a brute-force oracle that computes every key's quantities straight from
//! the event list with the spec's sum formulas (never the lazy update the crate uses).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use edgesuggest_signals::{run, Params, RunOptions};

pub const DAY: u64 = 86_400_000;
pub const HOUR: u64 = 3_600_000;
pub const MIN: u64 = 60_000;
/// 2025-12-02T00:00Z, a day boundary.
pub const T0: u64 = 1_764_633_600_000;

/// One event, as the tests write it.
#[derive(Debug, Clone)]
pub enum Ev {
    Search {
        ts: u64,
        user: String,
        q: String,
        results: Option<u64>,
    },
    Impression {
        ts: u64,
        user: String,
        suggestions: Vec<String>,
    },
    Click {
        ts: u64,
        user: String,
        text: String,
    },
}

pub fn search(ts: u64, user: &str, q: &str) -> Ev {
    Ev::Search {
        ts,
        user: user.into(),
        q: q.into(),
        results: None,
    }
}

pub fn impression(ts: u64, user: &str, list: &[&str]) -> Ev {
    Ev::Impression {
        ts,
        user: user.into(),
        suggestions: list.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn click(ts: u64, user: &str, text: &str) -> Ev {
    Ev::Click {
        ts,
        user: user.into(),
        text: text.into(),
    }
}

impl Ev {
    pub fn ts(&self) -> u64 {
        match self {
            Ev::Search { ts, .. } | Ev::Impression { ts, .. } | Ev::Click { ts, .. } => *ts,
        }
    }

    /// The NDJSON line.
    pub fn line(&self) -> String {
        use serde_json::json;
        let v = match self {
            Ev::Search {
                ts,
                user,
                q,
                results,
            } => match results {
                Some(r) => json!({"ts": ts, "type": "search", "user": user, "q": q, "results": r}),
                None => json!({"ts": ts, "type": "search", "user": user, "q": q}),
            },
            Ev::Impression {
                ts,
                user,
                suggestions,
            } => {
                json!({"ts": ts, "type": "impression", "user": user, "suggestions": suggestions})
            }
            Ev::Click { ts, user, text } => {
                json!({"ts": ts, "type": "click", "user": user, "text": text, "position": 0})
            }
        };
        v.to_string()
    }
}

impl Ev {
    /// The same event in the crate's type (what the Parquet writer takes).
    pub fn event(&self) -> edgesuggest_signals::Event {
        use edgesuggest_signals::{Event, EventType};
        let mut event = Event::new(self.ts(), EventType::Search, "");
        match self {
            Ev::Search {
                user, q, results, ..
            } => {
                event.user = user.clone();
                event.q = Some(q.clone());
                event.results = *results;
            }
            Ev::Impression {
                user, suggestions, ..
            } => {
                event.kind = EventType::Impression;
                event.user = user.clone();
                event.suggestions = Some(suggestions.clone());
            }
            Ev::Click { user, text, .. } => {
                event.kind = EventType::Click;
                event.user = user.clone();
                event.text = Some(text.clone());
                event.position = Some(0);
            }
        }
        event
    }
}

/// Writes events as an NDJSON file.
pub fn write_events(path: &Path, events: &[Ev]) {
    let mut text = String::new();
    for e in events {
        text.push_str(&e.line());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// Runs the aggregation; returns the summary's text and the messages.
pub fn run_with(options: &RunOptions) -> Result<(String, Vec<String>), String> {
    let mut messages = Vec::new();
    let summary = run(options, &mut |m| messages.push(m.to_string())).map_err(|e| e.to_string())?;
    Ok((summary.to_string(), messages))
}

/// Options with outputs in `dir`.
pub fn options(dir: &Path, inputs: Vec<PathBuf>, params: Params) -> RunOptions {
    RunOptions {
        inputs,
        state_dir: dir.join("state"),
        rows: Some(dir.join("rows.tsv")),
        changes: None,
        explain: Some(dir.join("explain.tsv")),
        now: None,
        exclude: None,
        max_errors: 0,
        params,
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Rows as `(display, score)`.
pub fn parse_rows(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .map(|l| {
            let (d, s) = l.split_once('\t').unwrap();
            (d.to_string(), s.parse().unwrap())
        })
        .collect()
}

/// One explain line.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainLine {
    pub verdict: String,
    pub display: String,
    /// The score (INCLUDE) or the reason (SKIP).
    pub third: String,
    pub fields: HashMap<String, String>,
}

pub fn parse_explain(text: &str) -> Vec<ExplainLine> {
    text.lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "{l}");
            let fields = cols[3]
                .split(' ')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect();
            ExplainLine {
                verdict: cols[0].into(),
                display: cols[1].into(),
                third: cols[2].into(),
                fields,
            }
        })
        .collect()
}

/// SplitMix64: a small seeded generator, so the tests need no RNG crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const PHRASES: &[&str] = &[
    "New York",
    "new  york",
    "NEW YORK",
    "Paris",
    "paris",
    "Zürich",
    "zurich",
    "São Paulo",
    "sao paulo",
    "rust",
    "Rust lang",
    "rust  lang",
    "x",
    "tokyo",
    "Tokyo ",
    " berlin",
    "Berlin",
    "weather",
    "weather today",
    "the news",
    "news",
    "café",
    "cafe",
    "",
    "  ",
    "a b",
    "AB",
];

/// A random stream: `n` events over `span` ms from `start`, sorted by time except for a few
/// older ones (some late), with repeats, zero results, empty queries, impressions and clicks.
pub fn random_events(seed: u64, n: usize, start: u64, span: u64, users: u64) -> Vec<Ev> {
    let mut rng = Rng(seed);
    let mut ts: Vec<u64> = (0..n).map(|_| start + rng.below(span)).collect();
    ts.sort_unstable();
    ts.iter()
        .map(|&t| {
            let t = if rng.below(50) == 0 {
                t.saturating_sub(rng.below(3 * DAY))
            } else {
                t
            };
            let user = format!("u{}", rng.below(users));
            match rng.below(10) {
                0..=5 => {
                    let results = match rng.below(12) {
                        0 => Some(0),
                        1 => Some(5),
                        _ => None,
                    };
                    Ev::Search {
                        ts: t,
                        user,
                        q: rng.pick(PHRASES).to_string(),
                        results,
                    }
                }
                6..=8 => {
                    let list = (0..rng.below(5))
                        .map(|_| rng.pick(PHRASES).to_string())
                        .collect();
                    Ev::Impression {
                        ts: t,
                        user,
                        suggestions: list,
                    }
                }
                _ => Ev::Click {
                    ts: t,
                    user,
                    text: rng.pick(PHRASES).to_string(),
                },
            }
        })
        .collect()
}

/// What the oracle knows of a key.
#[derive(Debug, Clone, Default)]
pub struct OracleKey {
    pub searches: Vec<u64>,
    pub impressions: Vec<u64>,
    pub clicks: Vec<u64>,
    pub users: HashSet<String>,
    /// Forms in first-seen order with their counts.
    pub forms: Vec<(String, u64)>,
}

/// The spec, computed directly: which events count, then the sums at T.
pub fn oracle(events: &[Ev]) -> BTreeMap<String, OracleKey> {
    let mut keys: BTreeMap<String, OracleKey> = BTreeMap::new();
    let mut watermark: Option<u64> = None;
    let mut seen: HashSet<(String, String, u64)> = HashSet::new();
    for e in events {
        let ts = e.ts();
        if let Some(w) = watermark {
            if ((ts / DAY) as i64) < (w / DAY) as i64 - 1 {
                continue;
            }
        }
        watermark = Some(watermark.map_or(ts, |w| w.max(ts)));
        match e {
            Ev::Search {
                user, q, results, ..
            } => {
                let key = edgesuggest::normalize_phrase(q);
                if key.is_empty() || *results == Some(0) {
                    continue;
                }
                if !seen.insert((key.clone(), user.clone(), ts / DAY)) {
                    continue;
                }
                let k = keys.entry(key).or_default();
                k.searches.push(ts);
                k.users.insert(user.clone());
                let form = q.split_whitespace().collect::<Vec<_>>().join(" ");
                let tracked = k.forms.len();
                match k.forms.iter_mut().find(|(f, _)| *f == form) {
                    Some(f) => f.1 += 1,
                    None if tracked < 32 => k.forms.push((form, 1)),
                    None => {}
                }
            }
            Ev::Impression { suggestions, .. } => {
                let distinct: HashSet<String> = suggestions
                    .iter()
                    .map(|s| edgesuggest::normalize_phrase(s))
                    .filter(|k| !k.is_empty())
                    .collect();
                for key in distinct {
                    keys.entry(key).or_default().impressions.push(ts);
                }
            }
            Ev::Click { text, .. } => {
                let key = edgesuggest::normalize_phrase(text);
                if !key.is_empty() {
                    keys.entry(key).or_default().clicks.push(ts);
                }
            }
        }
    }
    keys
}

/// The watermark of a stream: the largest ts of every event that is not late.
pub fn watermark(events: &[Ev]) -> u64 {
    events.iter().map(Ev::ts).max().unwrap_or(0)
}

/// A key's verdict by the spec: `(display, popularity, score, first failed gate)`.
pub fn judge(
    key: &str,
    k: &OracleKey,
    now: u64,
    p: &Params,
    min_count: f64,
) -> (String, f64, u64, Option<&'static str>) {
    let sum = |list: &[u64]| -> f64 {
        list.iter()
            .map(|&ts| 2f64.powf(-((now as f64 - ts as f64) / p.half_life_ms as f64)))
            .sum()
    };
    let (pop, imp, clk) = (sum(&k.searches), sum(&k.impressions), sum(&k.clicks));
    let ctr = (clk + p.ctr_prior_clicks) / (imp + p.ctr_prior_impressions);
    let m = p.ctr_prior_clicks / p.ctr_prior_impressions;
    let score = (pop * (ctr / m).powf(p.ctr_weight) * p.score_scale).round() as u64;
    let display = k
        .forms
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map_or(key.to_string(), |f| f.0.clone());
    let gate = if key.chars().count() < p.min_chars {
        Some("min-chars")
    } else if key.len() > p.max_phrase_bytes {
        Some("max-phrase-bytes")
    } else if (k.users.len() as u64) < p.min_users {
        Some("min-users")
    } else if pop < min_count {
        Some("min-count")
    } else if score == 0 {
        Some("zero-score")
    } else {
        None
    };
    (display, pop, score, gate)
}
