//! Change sets for `build --delta`: what changed in the published set since the last run that
//! wrote one, with hysteresis on `min-count` and a relative `min-change` on scores. Only keys
//! touched since then and published keys whose decay may have crossed a threshold (a due-time
//! queue) are looked at, unless time went back or the options changed.

use std::collections::BTreeSet;

use crate::exclude::Exclude;
use crate::gates::{evaluate, Signals};
use crate::params::Params;
use crate::state::{ChangesMark, KeyState, Published, State};
use crate::SignalsError;

/// One line of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `{"op":"upsert","phrase":display,"score":score}`.
    Upsert {
        /// The key (sort order).
        key: String,
        /// Display form.
        display: String,
        /// Score.
        score: u64,
    },
    /// `{"op":"delete","phrase":display}` (the published display).
    Delete {
        /// The key (sort order).
        key: String,
        /// The display form published.
        display: String,
    },
}

impl Change {
    /// The NDJSON line (without newline), as `build --delta` reads it.
    pub fn to_line(&self) -> String {
        let quote = |s: &str| serde_json::Value::from(s).to_string();
        match self {
            Change::Upsert { display, score, .. } => {
                format!(
                    "{{\"op\":\"upsert\",\"phrase\":{},\"score\":{score}}}",
                    quote(display)
                )
            }
            Change::Delete { display, .. } => {
                format!("{{\"op\":\"delete\",\"phrase\":{}}}", quote(display))
            }
        }
    }
}

/// Computes the change set at `now`, applies it to the state's published set, and records
/// the mark for the next run. Lines are sorted by key.
///
/// Loads the keys it must look at: every key when [`needs_every_key`], else the stored dirty
/// and due ones.
pub fn change_set(
    state: &mut State,
    now: u64,
    params: &Params,
    exclude: &Exclude,
) -> Result<Vec<Change>, SignalsError> {
    let mark = ChangesMark {
        now,
        params: params.clone(),
        exclude: exclude.fingerprint(),
    };
    let full = needs_every_key(state, now, &mark);
    if full {
        state.load_all()?;
    } else {
        state.load_pending(now)?;
    }
    let candidates = candidates(state, now, full);
    let mut changes = Vec::new();
    for id in candidates {
        if let Some(change) = update_key(state, id, now, params, exclude) {
            changes.push(change);
        }
    }
    state.dirty.clear();
    state.changes_made();
    state.changes_mark = Some(mark);
    changes.sort_by(|a, b| key_of(a).cmp(key_of(b)));
    Ok(changes)
}

fn key_of(change: &Change) -> &str {
    match change {
        Change::Upsert { key, .. } | Change::Delete { key, .. } => key,
    }
}

/// Whether every key must be looked at: no change set was made yet, or the last one was made
/// with other options or a later T (decay is only monotone forward).
fn needs_every_key(state: &State, now: u64, mark: &ChangesMark) -> bool {
    match &state.changes_mark {
        None => true,
        Some(last) => last.params != mark.params || last.exclude != mark.exclude || now < last.now,
    }
}

/// The keys to look at: every key, or the touched keys and the due ones.
fn candidates(state: &State, now: u64, full: bool) -> BTreeSet<u32> {
    if full {
        return (0..state.keys.len() as u32).collect();
    }
    let mut ids = state.dirty.clone();
    ids.extend(state.due.range(..=(now, u32::MAX)).map(|&(_, id)| id));
    ids
}

/// Decides one key's line, if any, and updates its published entry and due time.
fn update_key(
    state: &mut State,
    id: u32,
    now: u64,
    params: &Params,
    exclude: &Exclude,
) -> Option<Change> {
    let key = &mut state.keys[id as usize];
    let strict = evaluate(key, now, params, exclude, params.min_count);
    let relaxed_pass =
        strict.passes() || evaluate(key, now, params, exclude, params.relaxed_min_count()).passes();
    let display = key.display().to_string();
    let old = state.published.remove(&id);
    if let Some(p) = &old {
        state.due.remove(&(p.due, id));
    }
    let (change, publish) = decide(
        &key.key,
        display,
        &strict.signals,
        strict.passes(),
        relaxed_pass,
        old,
        params,
    );
    if let Some(mut p) = publish {
        p.due = due_time(key, p.score, now, params);
        state.due.insert((p.due, id));
        state.published.insert(id, p);
    }
    change
}

/// The spec's rules: a new key needs every gate; a published one stays while it passes with
/// the relaxed min-count, and is upserted (passing every gate) when its display changed or its
/// score moved by more than `min-change` of the published one.
fn decide(
    key: &str,
    display: String,
    signals: &Signals,
    passes: bool,
    relaxed_pass: bool,
    old: Option<Published>,
    params: &Params,
) -> (Option<Change>, Option<Published>) {
    let upsert = |display: String| {
        let change = Change::Upsert {
            key: key.to_string(),
            display: display.clone(),
            score: signals.score,
        };
        (
            Some(change),
            Some(Published {
                display,
                score: signals.score,
                due: 0,
            }),
        )
    };
    match old {
        None if passes => upsert(display),
        None => (None, None),
        Some(p) if !relaxed_pass => (
            Some(Change::Delete {
                key: key.to_string(),
                display: p.display,
            }),
            None,
        ),
        Some(p) => {
            let moved =
                (signals.score as f64 - p.score as f64).abs() > params.min_change * p.score as f64;
            if passes && (display != p.display || moved) {
                upsert(display)
            } else {
                (None, Some(p))
            }
        }
    }
}

/// The earliest time at which decay alone may change a published key's line: its popularity
/// falling under the relaxed min-count, or its score leaving `published · (1 ± min-change)`
/// (or rounding to 0). The CTR factor `(ctr/m)^w` moves between 1 and its value at the key's
/// last update, so the score is bounded by the popularity times the factor's bounds; a bound
/// that can already be crossed makes the key due now. Conservative: a due key with no change
/// is just scheduled again.
pub fn due_time(key: &KeyState, published: u64, now: u64, params: &Params) -> u64 {
    if now < key.t || key.pop <= 0.0 {
        return now;
    }
    let ctr_at_t = (key.clk + params.ctr_prior_clicks) / (key.imp + params.ctr_prior_impressions);
    let r = ctr_at_t / params.prior_ctr();
    let (lo, hi) = (
        r.min(1.0).powf(params.ctr_weight),
        r.max(1.0).powf(params.ctr_weight),
    );
    let scaled = params.score_scale * key.pop;
    let p = published as f64;
    let d_now = params.decay(now as f64 - key.t as f64);
    // The score may rise past published · (1 + min-change) now: keep looking every run.
    if scaled * d_now * hi >= p * (1.0 + params.min_change) - 0.5 {
        return now;
    }
    let d_count = params.relaxed_min_count() / key.pop;
    let d_score = ((p * (1.0 - params.min_change)).max(0.0) + 0.5) / (scaled * lo);
    let d_star = d_count.max(d_score);
    if d_star.is_nan() || d_star <= 0.0 || d_star.is_infinite() {
        return u64::MAX;
    }
    if d_star >= d_now {
        return now;
    }
    // d(Δ) = d*  ⇔  Δ = h · log2(1/d*); a margin absorbs rounding in the logarithm.
    let delta = params.half_life_ms as f64 * (-d_star.log2());
    let due = key.t as f64 + delta * (1.0 - 1e-9) - 1.0;
    if due >= u64::MAX as f64 {
        u64::MAX
    } else {
        (due.max(now as f64)) as u64
    }
}
