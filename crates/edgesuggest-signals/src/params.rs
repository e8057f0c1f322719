//! The knobs of `docs/SIGNALS.md` with their defaults, their checks, and the decay function.

use serde::{Deserialize, Serialize};

use crate::SignalsError;

/// One day in milliseconds (`day(ts) = floor(ts / DAY_MS)`).
pub const DAY_MS: u64 = 86_400_000;

/// Everything that decides scores, gates and change sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// `h`, in milliseconds (`--half-life`, default 7 days).
    pub half_life_ms: u64,
    /// `--min-users` (privacy: fewer distinct users never show).
    pub min_users: u64,
    /// `--min-count`: least popularity(T).
    pub min_count: f64,
    /// `--min-chars`: fewest characters of a key.
    pub min_chars: usize,
    /// `--max-phrase-bytes`: longest key, in bytes.
    pub max_phrase_bytes: usize,
    /// `--ctr-weight` (w; 0 disables CTR).
    pub ctr_weight: f64,
    /// `--ctr-prior-clicks` (α).
    pub ctr_prior_clicks: f64,
    /// `--ctr-prior-impressions` (α + β).
    pub ctr_prior_impressions: f64,
    /// `--score-scale` (S).
    pub score_scale: f64,
    /// `--hysteresis`: a published key stays down to `min_count · (1 − hysteresis)`.
    pub hysteresis: f64,
    /// `--min-change`: relative score change that republishes a key.
    pub min_change: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            half_life_ms: 7 * DAY_MS,
            min_users: 3,
            min_count: 1.0,
            min_chars: 2,
            max_phrase_bytes: edgesuggest::DEFAULT_MAX_PHRASE_BYTES,
            ctr_weight: 0.5,
            ctr_prior_clicks: 1.0,
            ctr_prior_impressions: 20.0,
            score_scale: 1000.0,
            hysteresis: 0.25,
            min_change: 0.1,
        }
    }
}

impl Params {
    /// Refuses values the formulas cannot use, naming the option and what it accepts.
    pub fn check(&self) -> Result<(), SignalsError> {
        let bad = |option, value: f64, expected| {
            Err(SignalsError::Option {
                option,
                value: value.to_string(),
                expected,
            })
        };
        if self.half_life_ms == 0 {
            return bad(
                "--half-life",
                0.0,
                "a positive duration, e.g. 7d, 12h, 30m or 60000 (ms)",
            );
        }
        let finite_non_negative = [
            ("--min-count", self.min_count),
            ("--ctr-weight", self.ctr_weight),
            ("--min-change", self.min_change),
        ];
        for (option, value) in finite_non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return bad(option, value, "a finite number ≥ 0");
            }
        }
        if !(self.ctr_prior_clicks.is_finite() && self.ctr_prior_clicks > 0.0) {
            return bad(
                "--ctr-prior-clicks",
                self.ctr_prior_clicks,
                "a finite number > 0 (α of the Beta prior)",
            );
        }
        if !(self.ctr_prior_impressions.is_finite()
            && self.ctr_prior_impressions >= self.ctr_prior_clicks)
        {
            return bad(
                "--ctr-prior-impressions",
                self.ctr_prior_impressions,
                "a finite number ≥ --ctr-prior-clicks (α + β of the Beta prior)",
            );
        }
        if !(self.score_scale.is_finite() && self.score_scale > 0.0) {
            return bad("--score-scale", self.score_scale, "a finite number > 0");
        }
        if !(0.0..1.0).contains(&self.hysteresis) {
            return bad(
                "--hysteresis",
                self.hysteresis,
                "a number in [0, 1), e.g. 0.25",
            );
        }
        Ok(())
    }

    /// `d(Δ) = 2^(−Δ/h)`, the decay over `delta_ms` milliseconds (negative Δ grows).
    pub fn decay(&self, delta_ms: f64) -> f64 {
        (-delta_ms / self.half_life_ms as f64).exp2()
    }

    /// The prior mean CTR, `m = α / (α + β)`.
    pub fn prior_ctr(&self) -> f64 {
        self.ctr_prior_clicks / self.ctr_prior_impressions
    }

    /// The `min-count` a published key must keep: `min_count · (1 − hysteresis)`.
    pub fn relaxed_min_count(&self) -> f64 {
        self.min_count * (1.0 - self.hysteresis)
    }
}

/// Parses a duration: a number with a unit `d`, `h`, `m`, `s` or `ms`, or a plain number of
/// milliseconds (`7d`, `12h`, `30m`, `90s`, `60000`).
pub fn parse_duration(text: &str) -> Result<u64, SignalsError> {
    let invalid = || SignalsError::Option {
        option: "--half-life",
        value: text.to_string(),
        expected:
            "a positive duration: a number with d, h, m, s or ms (7d, 12h, 30m), or milliseconds",
    };
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit_ms = match unit.trim() {
        "" | "ms" => 1.0,
        "s" => 1e3,
        "m" | "min" => 60e3,
        "h" => 3600e3,
        "d" => DAY_MS as f64,
        _ => return Err(invalid()),
    };
    let value: f64 = number.parse().map_err(|_| invalid())?;
    let ms = (value * unit_ms).round();
    if !(ms >= 1.0 && ms < 2f64.powi(63)) {
        return Err(invalid());
    }
    Ok(ms as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d").unwrap(), 7 * DAY_MS);
        assert_eq!(parse_duration("12h").unwrap(), 12 * 3_600_000);
        assert_eq!(parse_duration("30m").unwrap(), 1_800_000);
        assert_eq!(parse_duration("1.5s").unwrap(), 1500);
        assert_eq!(parse_duration("250").unwrap(), 250);
        assert_eq!(parse_duration("250ms").unwrap(), 250);
        for bad in ["", "0", "-1d", "3w", "d", "1e400"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks() {
        assert!(Params::default().check().is_ok());
        let p = |f: fn(&mut Params)| {
            let mut p = Params::default();
            f(&mut p);
            p.check().unwrap_err().to_string()
        };
        assert!(p(|p| p.hysteresis = 1.0).contains("--hysteresis"));
        assert!(p(|p| p.ctr_weight = -0.5).contains("--ctr-weight"));
        assert!(p(|p| p.ctr_prior_clicks = 0.0).contains("--ctr-prior-clicks"));
        assert!(p(|p| p.ctr_prior_impressions = 0.5).contains("--ctr-prior-impressions"));
        assert!(p(|p| p.min_count = f64::NAN).contains("--min-count"));
    }
}
