//! Every key's verdict at T: rows (the keys that pass, by score), `--explain` lines (every key,
//! by key) and the run's summary.

use std::fmt::{self, Write as _};

use crate::aggregate::{EventCounts, SkipReason};
use crate::exclude::Exclude;
use crate::gates::{evaluate, fmt_num, Gate, Verdict};
use crate::params::Params;
use crate::rows::RowOut;
use crate::state::State;
use crate::SignalsError;

/// One key's verdict, with what the outputs show.
#[derive(Debug, Clone)]
pub struct KeyVerdict {
    /// The key.
    pub key: String,
    /// Its display form.
    pub display: String,
    /// The gates' verdict.
    pub verdict: Verdict,
}

/// Evaluates every key at `now` (loading every stored key), sorted by key.
pub fn all_verdicts(
    state: &mut State,
    now: u64,
    params: &Params,
    exclude: &Exclude,
) -> Result<Vec<KeyVerdict>, SignalsError> {
    state.load_all()?;
    let mut out: Vec<KeyVerdict> = state
        .keys
        .iter_mut()
        .map(|key| KeyVerdict {
            verdict: evaluate(key, now, params, exclude, params.min_count),
            display: key.display().to_string(),
            key: key.key.clone(),
        })
        .collect();
    out.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// The rows: keys passing every gate, by score descending, then key.
pub fn rows(verdicts: &[KeyVerdict]) -> Vec<RowOut> {
    let mut passing: Vec<&KeyVerdict> = verdicts.iter().filter(|v| v.verdict.passes()).collect();
    passing.sort_by(|a, b| {
        b.verdict
            .signals
            .score
            .cmp(&a.verdict.signals.score)
            .then_with(|| a.key.cmp(&b.key))
    });
    passing
        .into_iter()
        .map(|v| {
            let s = &v.verdict.signals;
            RowOut {
                phrase: v.display.clone(),
                score: s.score,
                popularity: s.popularity,
                users: s.users,
                impressions: s.impressions,
                clicks: s.clicks,
                ctr: s.ctr,
            }
        })
        .collect()
}

/// Rows as TSV: `display<TAB>score` a line.
pub fn rows_tsv(rows: &[RowOut]) -> String {
    let mut out = String::with_capacity(rows.len() * 24);
    for row in rows {
        let _ = writeln!(out, "{}\t{}", row.phrase, row.score);
    }
    out
}

/// `--explain`: `INCLUDE<TAB>display<TAB>score<TAB>details` or
/// `SKIP<TAB>display<TAB>reason<TAB>details threshold`, one line per key, by key.
pub fn explain(verdicts: &[KeyVerdict]) -> String {
    let mut out = String::with_capacity(verdicts.len() * 96);
    for v in verdicts {
        let s = &v.verdict.signals;
        let details = format!(
            "popularity={} users={} impressions={} clicks={} ctr={}",
            fmt_num(s.popularity),
            s.users,
            fmt_num(s.impressions),
            fmt_num(s.clicks),
            fmt_num(s.ctr)
        );
        let _ = match &v.verdict.failed {
            None => writeln!(out, "INCLUDE\t{}\t{}\t{details}", v.display, s.score),
            Some((gate, threshold)) => {
                writeln!(
                    out,
                    "SKIP\t{}\t{}\t{details} {threshold}",
                    v.display,
                    gate.as_str()
                )
            }
        };
    }
    out
}

/// What a run did, for the summary on stderr.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Inputs read, and inputs skipped as already aggregated.
    pub inputs: (u64, u64),
    /// Events read and why some did not count.
    pub events: EventCounts,
    /// Bad lines.
    pub bad_lines: u64,
    /// Keys in the state.
    pub keys: u64,
    /// Keys this run read from the state (the rest stayed on disk).
    pub keys_loaded: u64,
    /// Keys passing every gate (`None` when no output needed every key).
    pub included: Option<u64>,
    /// Keys skipped, by gate (indexed as [`Gate::ALL`]).
    pub skipped_keys: [u64; 6],
    /// Upserts and deletes written, with `--changes`.
    pub changes: Option<(u64, u64)>,
    /// The reference time T.
    pub now: u64,
}

impl Summary {
    /// Counts included and skipped keys.
    pub fn count_keys(&mut self, verdicts: &[KeyVerdict]) {
        let mut included = 0;
        for v in verdicts {
            match &v.verdict.failed {
                None => included += 1,
                Some((gate, _)) => self.skipped_keys[*gate as usize] += 1,
            }
        }
        self.included = Some(included);
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        writeln!(f, "aggregate: T = {} ms", self.now)?;
        writeln!(
            f,
            "  inputs read      {} ({} already aggregated, skipped)",
            self.inputs.0, self.inputs.1
        )?;
        writeln!(f, "  events read      {}", self.events.read)?;
        writeln!(f, "  bad lines        {}", self.bad_lines)?;
        let skipped: Vec<String> = SkipReason::ALL
            .iter()
            .map(|r| format!("{} {}", r.as_str(), self.events.skipped[*r as usize]))
            .collect();
        writeln!(f, "  events skipped   {}", skipped.join(", "))?;
        writeln!(
            f,
            "  keys             {} ({} read from the state)",
            self.keys, self.keys_loaded
        )?;
        if let Some(included) = self.included {
            writeln!(f, "  included         {included}")?;
            let skipped: Vec<String> = Gate::ALL
                .iter()
                .map(|g| format!("{} {}", g.as_str(), self.skipped_keys[*g as usize]))
                .collect();
            writeln!(f, "  keys skipped     {}", skipped.join(", "))?;
        }
        if let Some((upserts, deletes)) = self.changes {
            writeln!(
                f,
                "  changes          {upserts} upsert(s), {deletes} delete(s)"
            )?;
        }
        Ok(())
    }
}
