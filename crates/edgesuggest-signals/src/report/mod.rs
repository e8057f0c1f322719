//! `edgesuggest report`: the verdict of an A/B experiment from its event logs — per-arm
//! metrics, each arm against the control, the sample-ratio check and the guardrails
//! (definitions in `docs/EXPERIMENTS.md`, "Report"), as a table, JSON or an SVG chart; and
//! the sample size a planned experiment needs.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod analysis;
mod metrics;
mod read;
mod render;
pub mod stats;
mod svg;

use std::path::PathBuf;

use edgesuggest_events::Experiment;

pub use analysis::{Comparison, Guardrail, GuardrailStatus, Report, Skipped, Srm};
pub use metrics::{civil_date, ArmMetrics, DayCtr};
pub use render::{plan_text, render_json, render_text};
pub use svg::render_svg;

use crate::input::{expand_inputs, Source};
use crate::SignalsError;
use metrics::Tally;

/// What to report on, and the thresholds of the guardrails.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Event inputs (files, `-`, directories), in order.
    pub inputs: Vec<PathBuf>,
    /// The experiment id (`experiment` of the events).
    pub experiment: String,
    /// The experiment's configuration, for the control and the SRM weights.
    pub config: Option<Experiment>,
    /// `--control`: the arm the others are compared with.
    pub control: Option<String>,
    /// Bad lines skipped before the run fails.
    pub max_errors: u64,
    /// Guardrail: highest latency p95, in ms.
    pub max_latency_p95_ms: f64,
    /// Guardrail: highest error share.
    pub max_error_share: f64,
}

/// Reads the inputs and computes the report. `message` gets each bad line as
/// `file:line: reason` as it is met.
pub fn report(
    options: &ReportOptions,
    message: &mut dyn FnMut(&str),
) -> Result<Report, SignalsError> {
    check_options(options)?;
    let sources = expand_inputs(&options.inputs)?;
    let mut tally = Tally::default();
    let mut bad = 0u64;
    for source in &sources {
        read_one(source, options, &mut tally, &mut bad, message)?;
    }
    if bad > options.max_errors {
        return Err(SignalsError::BadReportLines {
            bad,
            max: options.max_errors,
        });
    }
    if tally.events == 0 {
        return Err(no_events(options, &tally));
    }
    let skipped = Skipped {
        other_experiment: tally.other_experiment,
        no_variant: tally.no_variant,
        bad_lines: bad,
    };
    analysis::analyse(options, tally, skipped, sources.len() as u64)
}

/// Tallies one input, counting and reporting its bad lines.
fn read_one(
    source: &Source,
    options: &ReportOptions,
    tally: &mut Tally,
    bad: &mut u64,
    message: &mut dyn FnMut(&str),
) -> Result<(), SignalsError> {
    let name = source.name();
    read::read_input(source, &options.experiment, &mut |batch| {
        tally.add_skipped(batch);
        for item in &batch.items {
            match &item.outcome {
                Ok(event) => tally.add(batch, event),
                Err(why) => {
                    *bad += 1;
                    message(&format!("{name}:{}: {why}", item.line));
                }
            }
        }
        Ok(())
    })
}

/// Thresholds must be numbers a comparison can use.
fn check_options(options: &ReportOptions) -> Result<(), SignalsError> {
    if !(options.max_latency_p95_ms.is_finite() && options.max_latency_p95_ms >= 0.0) {
        return Err(SignalsError::Option {
            option: "--max-latency-p95-ms",
            value: options.max_latency_p95_ms.to_string(),
            expected: "milliseconds, a finite number ≥ 0",
        });
    }
    if let Some(config) = options
        .config
        .as_ref()
        .filter(|c| c.experiment != options.experiment)
    {
        return Err(SignalsError::ExperimentMismatch {
            config: config.experiment.clone(),
            asked: options.experiment.clone(),
        });
    }
    if !(0.0..=1.0).contains(&options.max_error_share) {
        return Err(SignalsError::Option {
            option: "--max-error-share",
            value: options.max_error_share.to_string(),
            expected: "a share from 0 to 1, e.g. 0.01",
        });
    }
    Ok(())
}

/// Nothing of the experiment was read: say which experiments the logs do hold.
fn no_events(options: &ReportOptions, tally: &Tally) -> SignalsError {
    let seen = match tally.others_seen.is_empty() {
        true => "none".to_string(),
        false => tally.others_seen.join(", "),
    };
    SignalsError::NoExperimentEvents {
        experiment: options.experiment.clone(),
        other: tally.other_experiment,
        no_variant: tally.no_variant,
        seen,
    }
}
