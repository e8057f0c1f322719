//! A key's quantities at time T (popularity, users, impressions, clicks, CTR, score) and the
//! gates, in the order of `docs/SIGNALS.md`.

use crate::exclude::Exclude;
use crate::params::Params;
use crate::state::KeyState;

/// Why a key is not a suggestion: the first gate it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Fewer characters than `--min-chars`.
    MinChars,
    /// Longer than `--max-phrase-bytes`.
    MaxPhraseBytes,
    /// Matches a rule of the exclude file.
    Excluded,
    /// Fewer distinct users than `--min-users` (privacy).
    MinUsers,
    /// popularity(T) below `--min-count`.
    MinCount,
    /// The integer score is 0.
    ZeroScore,
}

impl Gate {
    /// Every gate, in order.
    pub const ALL: [Gate; 6] = [
        Gate::MinChars,
        Gate::MaxPhraseBytes,
        Gate::Excluded,
        Gate::MinUsers,
        Gate::MinCount,
        Gate::ZeroScore,
    ];

    /// The reason's name (`--explain`, summary).
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::MinChars => "min-chars",
            Gate::MaxPhraseBytes => "max-phrase-bytes",
            Gate::Excluded => "excluded",
            Gate::MinUsers => "min-users",
            Gate::MinCount => "min-count",
            Gate::ZeroScore => "zero-score",
        }
    }
}

/// A key's quantities at T.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    /// popularity(T).
    pub popularity: f64,
    /// Distinct users.
    pub users: u64,
    /// impressions(T).
    pub impressions: f64,
    /// clicks(T).
    pub clicks: f64,
    /// Beta-smoothed CTR.
    pub ctr: f64,
    /// `round(score_f · S)`.
    pub score: u64,
}

/// What the gates decided, and the threshold missed (`--explain`).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The quantities.
    pub signals: Signals,
    /// `None` when every gate passed; else the first failed and its threshold as `name=value`.
    pub failed: Option<(Gate, String)>,
}

impl Verdict {
    /// Whether every gate passed.
    pub fn passes(&self) -> bool {
        self.failed.is_none()
    }
}

/// The quantities of `key` at `now`.
pub fn signals(key: &mut KeyState, now: u64, params: &Params) -> Signals {
    let (popularity, impressions, clicks) = key.sums_at(now, params);
    let ctr = (clicks + params.ctr_prior_clicks) / (impressions + params.ctr_prior_impressions);
    Signals {
        popularity,
        users: key.users.count(),
        impressions,
        clicks,
        ctr,
        score: score(popularity, ctr, params),
    }
}

/// `round(popularity · (ctr / m)^w · S)`, saturating (never NaN: the options are checked).
pub fn score(popularity: f64, ctr: f64, params: &Params) -> u64 {
    let score_f = popularity * (ctr / params.prior_ctr()).powf(params.ctr_weight);
    let scaled = (score_f * params.score_scale).round();
    if scaled.is_nan() || scaled <= 0.0 {
        0
    } else {
        scaled as u64
    }
}

/// Runs the gates in order with `min_count` as the popularity threshold (the option, or the
/// relaxed one for a published key).
pub fn evaluate(
    key: &mut KeyState,
    now: u64,
    params: &Params,
    exclude: &Exclude,
    min_count: f64,
) -> Verdict {
    let signals = signals(key, now, params);
    let failed = first_failed(key, &signals, params, exclude, min_count);
    Verdict { signals, failed }
}

fn first_failed(
    key: &KeyState,
    s: &Signals,
    params: &Params,
    exclude: &Exclude,
    min_count: f64,
) -> Option<(Gate, String)> {
    let k = key.key.as_str();
    if k.chars().count() < params.min_chars {
        return Some((Gate::MinChars, format!("min-chars={}", params.min_chars)));
    }
    if k.len() > params.max_phrase_bytes {
        let max = params.max_phrase_bytes;
        return Some((Gate::MaxPhraseBytes, format!("max-phrase-bytes={max}")));
    }
    if let Some(line) = exclude.matching(k) {
        return Some((Gate::Excluded, format!("exclude-line={line}")));
    }
    if s.users < params.min_users {
        return Some((Gate::MinUsers, format!("min-users={}", params.min_users)));
    }
    if s.popularity < min_count {
        return Some((Gate::MinCount, format!("min-count={}", fmt_num(min_count))));
    }
    if s.score == 0 {
        return Some((Gate::ZeroScore, "score=0".to_string()));
    }
    None
}

/// A number for text outputs: shortest exact form, scientific when tiny or huge.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 || (1e-6..1e16).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}
