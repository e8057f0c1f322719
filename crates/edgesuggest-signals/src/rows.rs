//! One output row of the aggregation: what `build` reads (`phrase`, `score`) plus the signals
//! behind the score, for Parquet output and comparisons with the Spark job.

/// A suggestion the aggregation produced, with the quantities of `docs/SIGNALS.md` at the
/// run's reference time.
#[derive(Debug, Clone, PartialEq)]
pub struct RowOut {
    /// Display form (the most frequent surface form of the key).
    pub phrase: String,
    /// Integer score for `build`: `round(score_f · score_scale)`.
    pub score: u64,
    /// Decayed count of counted searches.
    pub popularity: f64,
    /// Distinct users who searched the key (exact up to 64, then estimated).
    pub users: u64,
    /// Decayed count of impressions.
    pub impressions: f64,
    /// Decayed count of clicks.
    pub clicks: f64,
    /// Beta-smoothed click-through rate.
    pub ctr: f64,
}
