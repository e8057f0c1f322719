//! When `publish --delta` compacts the stack into a new base instead of appending a delta.
//!
//! Every delta costs each query a stream and each hit from an older segment a lookup, so a
//! long or heavy stack is merged into a new base: when there are more than `max_deltas`
//! deltas, when their entries (suggestions plus tombstones) exceed `max_delta_share` of the
//! base's suggestions, or when one change set touches more than `rebase_share` of the base (it
//! is then a new base in all but name).

use std::fmt;

use anyhow::{bail, Result};
use clap::Args;
use edgesuggest::MAX_DELTAS;

/// The compaction policy's thresholds.
#[derive(Debug, Clone, Args)]
pub struct Policy {
    /// Compact when the stack would hold more than N deltas.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_deltas: usize,

    /// Compact when the deltas' entries (suggestions + deletes) exceed this share of the
    /// base's suggestions.
    #[arg(long, default_value_t = 0.10, value_name = "SHARE")]
    pub max_delta_share: f64,

    /// A change set touching more than this share of the base becomes a new base.
    #[arg(long, default_value_t = 0.75, value_name = "SHARE")]
    pub rebase_share: f64,
}

/// Why the publisher compacts.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// One change set touches more than `rebase_share` of the base.
    Rebase {
        /// The change set's suggestions and deletes.
        entries: u64,
        /// The base's suggestions.
        base: u64,
        /// `--rebase-share`.
        limit: f64,
    },
    /// More deltas than `max_deltas`.
    TooManyDeltas {
        /// Deltas the stack would hold.
        count: usize,
        /// `--max-deltas`.
        limit: usize,
    },
    /// The deltas' entries exceed `max_delta_share` of the base.
    DeltaShare {
        /// All deltas' suggestions and deletes.
        entries: u64,
        /// The base's suggestions.
        base: u64,
        /// `--max-delta-share`.
        limit: f64,
    },
}

impl Policy {
    /// Refuses thresholds that make no sense.
    pub fn check(&self) -> Result<()> {
        if self.max_deltas > MAX_DELTAS {
            bail!(
                "--max-deltas {} is over {MAX_DELTAS}, the most a stack can hold",
                self.max_deltas
            );
        }
        for (name, share) in [
            ("--max-delta-share", self.max_delta_share),
            ("--rebase-share", self.rebase_share),
        ] {
            if !(share.is_finite() && share >= 0.0) {
                bail!("{name} {share} must be a share of the base: 0 or more (0.10 is 10%)");
            }
        }
        Ok(())
    }

    /// Whether a stack of a base of `base` suggestions and deltas of `deltas` entries (oldest
    /// first), the last `new` of which are being published, must be compacted, and why.
    pub fn decide(&self, base: u64, deltas: &[u64], new: usize) -> Option<Reason> {
        let fresh = &deltas[deltas.len().saturating_sub(new)..];
        if let Some(&entries) = fresh.iter().find(|&&e| exceeds(e, base, self.rebase_share)) {
            return Some(Reason::Rebase {
                entries,
                base,
                limit: self.rebase_share,
            });
        }
        if deltas.len() > self.max_deltas {
            return Some(Reason::TooManyDeltas {
                count: deltas.len(),
                limit: self.max_deltas,
            });
        }
        let entries = deltas.iter().fold(0u64, |sum, &e| sum.saturating_add(e));
        if exceeds(entries, base, self.max_delta_share) {
            return Some(Reason::DeltaShare {
                entries,
                base,
                limit: self.max_delta_share,
            });
        }
        None
    }
}

/// Whether `entries` is more than `share` of `base`.
fn exceeds(entries: u64, base: u64, share: f64) -> bool {
    entries as f64 > share * base as f64
}

fn percent(share: f64) -> String {
    format!("{}%", (share * 1000.0).round() / 10.0)
}

fn ratio(entries: u64, base: u64) -> String {
    if base == 0 {
        return "all".to_string();
    }
    percent(entries as f64 / base as f64)
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::Rebase {
                entries,
                base,
                limit,
            } => write!(
                f,
                "the change set touches {entries} entries, {} of the base's {base} (over \
                 --rebase-share {}): it becomes a new base",
                ratio(entries, base),
                percent(limit)
            ),
            Reason::TooManyDeltas { count, limit } => {
                write!(f, "{count} deltas would exceed --max-deltas {limit}")
            }
            Reason::DeltaShare {
                entries,
                base,
                limit,
            } => write!(
                f,
                "the deltas hold {entries} entries, {} of the base's {base} (over \
                 --max-delta-share {})",
                ratio(entries, base),
                percent(limit)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            max_deltas: 8,
            max_delta_share: 0.10,
            rebase_share: 0.75,
        }
    }

    #[test]
    fn thresholds() {
        let p = policy();
        assert_eq!(p.decide(1000, &[10; 8], 1), None);
        assert!(matches!(
            p.decide(1000, &[10; 9], 1),
            Some(Reason::TooManyDeltas { count: 9, .. })
        ));
        assert_eq!(p.decide(1000, &[50, 50], 1), None);
        assert!(matches!(
            p.decide(1000, &[50, 51], 1),
            Some(Reason::DeltaShare { entries: 101, .. })
        ));
        assert!(matches!(
            p.decide(1000, &[751], 1),
            Some(Reason::Rebase { entries: 751, .. })
        ));
        // An old heavy delta is a share problem, not a rebase of this change set.
        assert!(matches!(
            p.decide(1000, &[800, 1], 1),
            Some(Reason::DeltaShare { .. })
        ));
        let text = p
            .decide(1000, &[800], 1)
            .map(|r| r.to_string())
            .unwrap_or_default();
        assert!(text.contains("80%") && text.contains("75%"), "{text}");
    }
}
