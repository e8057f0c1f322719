//! From per-arm metrics to the verdict: the control, each arm against it, the sample-ratio
//! check, and the guardrails.

use serde::Serialize;

use super::metrics::{ArmMetrics, DayCtr, Tally};
use super::stats::{chi_square_sf, two_proportions, Proportion};
use super::ReportOptions;
use crate::SignalsError;

/// An SRM p-value below this flags the experiment (the usual threshold: a real mismatch is
/// almost always far below it, and a false alarm is rare).
pub const SRM_ALPHA: f64 = 0.001;

/// Events read but left out of the report.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Skipped {
    /// Events of another experiment, or of none.
    pub other_experiment: u64,
    /// Events of the experiment without `variant`.
    pub no_variant: u64,
    /// Bad lines (skipped under `--max-errors`).
    pub bad_lines: u64,
}

/// One arm against the control: CTR difference, its 95% interval, the z-test's p-value.
/// The statistics are `None` when either arm has no impressions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
    /// The treatment arm.
    pub arm: String,
    /// The control arm.
    pub control: String,
    /// CTR(arm) − CTR(control).
    pub diff: Option<f64>,
    /// Lower bound of the 95% Wald interval of `diff`.
    pub ci_low: Option<f64>,
    /// Upper bound.
    pub ci_high: Option<f64>,
    /// z of the pooled two-proportion test.
    pub z: Option<f64>,
    /// Its two-sided p-value.
    pub p_value: Option<f64>,
}

/// One arm in the sample-ratio check.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SrmArm {
    /// The arm.
    pub arm: String,
    /// Its configured weight (1 for every arm without `--config`).
    pub weight: f64,
    /// Distinct users seen.
    pub users: u64,
    /// Users expected from the weights (`None` for a weight of 0: not in the test).
    pub expected: Option<f64>,
}

/// Sample-ratio mismatch: users per arm against the configured weights.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Srm {
    /// The arms and their counts.
    pub arms: Vec<SrmArm>,
    /// Σ (observed − expected)² / expected over the arms of positive weight.
    pub chi_square: Option<f64>,
    /// Degrees of freedom: arms of positive weight − 1.
    pub df: u32,
    /// P(χ²_df > chi_square).
    pub p_value: Option<f64>,
    /// Arms of weight 0 (or not configured) that have users: they should have none.
    pub unexpected_arms: Vec<String>,
    /// p < 0.001, or users in an arm that should have none.
    pub flagged: bool,
}

/// A guardrail's outcome for one arm.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum GuardrailStatus {
    /// Within the threshold.
    #[serde(rename = "pass")]
    Pass,
    /// Over the threshold.
    #[serde(rename = "fail")]
    Fail,
    /// No data to judge (not a pass).
    #[serde(rename = "n/a")]
    NotAvailable,
}

impl GuardrailStatus {
    fn of(value: Option<f64>, max: f64) -> GuardrailStatus {
        match value {
            None => GuardrailStatus::NotAvailable,
            Some(v) if v <= max => GuardrailStatus::Pass,
            Some(_) => GuardrailStatus::Fail,
        }
    }

    /// How it is printed: `pass`, `FAIL`, `n/a`.
    pub fn label(self) -> &'static str {
        match self {
            GuardrailStatus::Pass => "pass",
            GuardrailStatus::Fail => "FAIL",
            GuardrailStatus::NotAvailable => "n/a",
        }
    }
}

/// The guardrails of one arm.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Guardrail {
    /// The arm.
    pub arm: String,
    /// Latency p95 ≤ the maximum.
    pub latency_p95: GuardrailStatus,
    /// Error share ≤ the maximum.
    pub error_share: GuardrailStatus,
}

impl Guardrail {
    /// Whether any guardrail of the arm failed.
    pub fn failed(&self) -> bool {
        [self.latency_p95, self.error_share].contains(&GuardrailStatus::Fail)
    }
}

/// The daily CTR of one arm.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ArmDaily {
    /// The arm.
    pub arm: String,
    /// Its days, in order.
    pub days: Vec<DayCtr>,
}

/// The whole report: what `--json` prints.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// The experiment id.
    pub experiment: String,
    /// Input files read.
    pub inputs: u64,
    /// Events of the experiment counted.
    pub events: u64,
    /// Events left out.
    pub skipped: Skipped,
    /// The control arm.
    pub control: String,
    /// Every arm (configured arms first, in their order; then the others by name).
    pub arms: Vec<ArmMetrics>,
    /// Every other arm against the control.
    pub comparisons: Vec<Comparison>,
    /// The sample-ratio check.
    pub srm: Srm,
    /// Users seen in more than one arm (sticky assignment should make this 0).
    pub users_in_several_arms: u64,
    /// Guardrail thresholds: latency p95 in ms.
    pub max_latency_p95_ms: f64,
    /// Guardrail thresholds: error share.
    pub max_error_share: f64,
    /// The guardrails per arm.
    pub guardrails: Vec<Guardrail>,
    /// CTR per UTC day and arm.
    pub daily: Vec<ArmDaily>,
}

impl Report {
    /// The arms whose guardrails failed, in arm order.
    pub fn failed_guardrails(&self) -> Vec<&str> {
        self.guardrails
            .iter()
            .filter(|g| g.failed())
            .map(|g| g.arm.as_str())
            .collect()
    }
}

/// Computes the report from the tallies.
pub fn analyse(
    options: &ReportOptions,
    tally: Tally,
    skipped: Skipped,
    inputs: u64,
) -> Result<Report, SignalsError> {
    let users_in_several_arms = tally.users_in_several_arms();
    let events = tally.events;
    let arms = ordered_arms(options, tally.finish());
    let control = choose_control(options, &arms)?;
    Ok(Report {
        experiment: options.experiment.clone(),
        inputs,
        events,
        skipped,
        comparisons: compare(&arms, &control),
        srm: srm(options, &arms),
        users_in_several_arms,
        max_latency_p95_ms: options.max_latency_p95_ms,
        max_error_share: options.max_error_share,
        guardrails: guardrails(options, &arms),
        daily: arms
            .iter()
            .map(|a| ArmDaily {
                arm: a.name.clone(),
                days: a.daily.clone(),
            })
            .collect(),
        control,
        arms,
    })
}

/// Configured arms first, in their order (those without events too, with zeros), then the
/// others by name.
fn ordered_arms(options: &ReportOptions, mut seen: Vec<ArmMetrics>) -> Vec<ArmMetrics> {
    seen.sort_by(|a, b| a.name.cmp(&b.name));
    let Some(config) = &options.config else {
        return seen;
    };
    let mut arms = Vec::with_capacity(seen.len() + config.arms.len());
    for arm in &config.arms {
        match seen.iter().position(|a| a.name == arm.name) {
            Some(i) => arms.push(seen.remove(i)),
            None => arms.push(ArmMetrics::empty(&arm.name)),
        }
    }
    arms.extend(seen);
    arms
}

/// `--control`, else the configuration's first arm, else `control`, else the first by name.
fn choose_control(options: &ReportOptions, arms: &[ArmMetrics]) -> Result<String, SignalsError> {
    let named = |name: &str| arms.iter().any(|a| a.name == name);
    if let Some(control) = &options.control {
        if !named(control) {
            let names: Vec<&str> = arms.iter().map(|a| a.name.as_str()).collect();
            return Err(SignalsError::UnknownControl {
                control: control.clone(),
                arms: names.join(", "),
            });
        }
        return Ok(control.clone());
    }
    if let Some(first) = options.config.as_ref().and_then(|c| c.arms.first()) {
        return Ok(first.name.clone());
    }
    if named("control") {
        return Ok("control".to_string());
    }
    let first = arms.iter().map(|a| a.name.as_str()).min().unwrap_or("");
    Ok(first.to_string())
}

/// Every arm but the control, against it.
fn compare(arms: &[ArmMetrics], control: &str) -> Vec<Comparison> {
    let proportion = |a: &ArmMetrics| Proportion {
        hits: a.clicked_impressions,
        n: a.impressions,
    };
    let Some(base) = arms.iter().find(|a| a.name == control) else {
        return Vec::new();
    };
    arms.iter()
        .filter(|a| a.name != control)
        .map(|arm| {
            let test = two_proportions(proportion(arm), proportion(base));
            Comparison {
                arm: arm.name.clone(),
                control: control.to_string(),
                diff: test.map(|t| t.diff),
                ci_low: test.map(|t| t.ci_low),
                ci_high: test.map(|t| t.ci_high),
                z: test.map(|t| t.z),
                p_value: test.map(|t| t.p_value),
            }
        })
        .collect()
}

/// The weight of each arm: configured (0 for an arm the configuration lacks), else equal.
fn weights(options: &ReportOptions, arms: &[ArmMetrics]) -> Vec<f64> {
    arms.iter()
        .map(|a| match &options.config {
            None => 1.0,
            Some(config) => config.arm(&a.name).map_or(0.0, |arm| arm.weight),
        })
        .collect()
}

/// Chi-square goodness of fit of users per arm against the weights (arms of weight 0 out of
/// the test, but flagged when they have users).
fn srm(options: &ReportOptions, arms: &[ArmMetrics]) -> Srm {
    let weights = weights(options, arms);
    let total_weight: f64 = weights.iter().filter(|&&w| w > 0.0).sum();
    let total_users: u64 = arms
        .iter()
        .zip(&weights)
        .filter(|(_, &w)| w > 0.0)
        .map(|(a, _)| a.users)
        .sum();
    let rows: Vec<SrmArm> = arms
        .iter()
        .zip(&weights)
        .map(|(a, &w)| SrmArm {
            arm: a.name.clone(),
            weight: w,
            users: a.users,
            expected: (w > 0.0).then(|| total_users as f64 * w / total_weight),
        })
        .collect();
    let unexpected_arms: Vec<String> = rows
        .iter()
        .filter(|r| r.expected.is_none() && r.users > 0)
        .map(|r| r.arm.clone())
        .collect();
    let tested = rows.iter().filter(|r| r.expected.is_some()).count() as u32;
    let df = tested.saturating_sub(1);
    let chi_square = (df > 0 && total_users > 0).then(|| chi_square_statistic(&rows));
    let p_value = chi_square.and_then(|x| chi_square_sf(x, df));
    Srm {
        flagged: p_value.is_some_and(|p| p < SRM_ALPHA) || !unexpected_arms.is_empty(),
        arms: rows,
        chi_square,
        df,
        p_value,
        unexpected_arms,
    }
}

fn chi_square_statistic(rows: &[SrmArm]) -> f64 {
    rows.iter()
        .filter_map(|r| {
            let e = r.expected?;
            let d = r.users as f64 - e;
            Some(d * d / e)
        })
        .sum()
}

/// Latency p95 and error share of every arm against the thresholds.
fn guardrails(options: &ReportOptions, arms: &[ArmMetrics]) -> Vec<Guardrail> {
    arms.iter()
        .map(|a| Guardrail {
            arm: a.name.clone(),
            latency_p95: GuardrailStatus::of(a.latency_p95_ms, options.max_latency_p95_ms),
            error_share: GuardrailStatus::of(a.error_share, options.max_error_share),
        })
        .collect()
}
