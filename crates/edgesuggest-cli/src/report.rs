//! `edgesuggest report`: an experiment's verdict from its event logs, or the size a planned
//! experiment needs. A thin layer over `edgesuggest_signals::report`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use edgesuggest_signals::report::{self, stats, Report, ReportOptions};
use edgesuggest_signals::state::write_atomically;

/// Report an A/B experiment from its event logs: per-arm metrics, each arm against the
/// control, sample-ratio mismatch, guardrails.
///
/// Reads events (NDJSON, plain or gzip; `.parquet`; `-` reads stdin; a directory means every
/// *.ndjson, *.ndjson.gz and *.parquet under it, in path order) and keeps those whose
/// `experiment` is --experiment; their `variant` is the arm. Per arm: users, sessions,
/// impressions, clicks, suggestion CTR (impressions with a click of the same arm carrying
/// their `response_id`), MRR, keystrokes saved, zero-suggestion rate, error share and the
/// server latency p50/p95 (`took_us`). Each arm is compared with the control (--control, else
/// the first arm of --config, else the arm named `control`, else the first by name): CTR
/// difference, 95% Wald interval, two-proportion z-test. Users per arm are checked against
/// the configured weights (chi-square; flagged below p = 0.001). Definitions in
/// docs/EXPERIMENTS.md.
///
/// The exit status is 0 when a guardrail fails: the report says so in capitals.
///
/// --plan instead prints the users each arm needs to detect --mde over --baseline-ctr.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  # The verdict, as a table; the worker's minute files as a directory:
  edgesuggest report r2/events/2026/12/ --experiment ctr-2026-12 --config ctr-2026-12.json

  # As JSON, with the daily CTR chart:
  edgesuggest report logs/*.ndjson.gz --experiment ctr-2026-12 --json --svg ctr.svg > report.json

  # Before starting: users per arm to detect +1 point over a 12.5% CTR (alpha 0.05, power 0.8):
  edgesuggest report --plan --baseline-ctr 0.125 --mde 0.01")]
pub struct ReportArgs {
    /// Event files (NDJSON, .gz, .parquet) or directories of them; `-` reads stdin.
    #[arg(value_name = "EVENTS", required_unless_present = "plan")]
    inputs: Vec<PathBuf>,

    /// The experiment id (the events' `experiment`); default: the one of --config.
    #[arg(long, value_name = "ID")]
    experiment: Option<String>,

    /// The experiment's configuration (docs/EXPERIMENTS.md): its first arm is the control,
    /// its weights the expected split of users.
    #[arg(long, value_name = "EXPERIMENT.json")]
    config: Option<PathBuf>,

    /// The arm the others are compared with.
    #[arg(long, value_name = "NAME")]
    control: Option<String>,

    /// How many bad lines to skip before failing (0 = any bad line fails the run).
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_errors: u64,

    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,

    /// Also write the daily CTR per arm as an SVG line chart (atomically).
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,

    /// Guardrail: highest server latency p95 of an arm, in ms.
    #[arg(long, default_value_t = 35.0, value_name = "MS")]
    max_latency_p95_ms: f64,

    /// Guardrail: highest share of impressions with an error.
    #[arg(long, default_value_t = 0.01, value_name = "SHARE")]
    max_error_share: f64,

    /// Print the users per arm a test needs instead (no EVENTS).
    #[arg(long, requires_all = ["baseline_ctr", "mde"], conflicts_with_all = ["inputs", "json", "svg"])]
    plan: bool,

    /// --plan: the control's CTR, e.g. 0.125.
    #[arg(long, value_name = "P", requires = "plan")]
    baseline_ctr: Option<f64>,

    /// --plan: the smallest absolute CTR change worth detecting, e.g. 0.01 (one point).
    #[arg(long, value_name = "D", requires = "plan")]
    mde: Option<f64>,

    /// --plan: the test's level (two-sided).
    #[arg(long, default_value_t = 0.05, value_name = "A")]
    alpha: f64,

    /// --plan: the chance of detecting a change of --mde.
    #[arg(long, default_value_t = 0.8, value_name = "POWER")]
    power: f64,
}

/// Runs the report (or the plan), printing it on stdout and bad lines on stderr.
pub fn run(args: ReportArgs) -> Result<()> {
    if args.plan {
        return plan(&args);
    }
    let options = options(&args)?;
    let report = report::report(&options, &mut |message| eprintln!("{message}"))?;
    if let Some(path) = &args.svg {
        write_atomically(path, report::render_svg(&report).as_bytes())?;
    }
    if args.json {
        print!("{}", report::render_json(&report));
        warn(&report);
    } else {
        print!("{}", report::render_text(&report));
    }
    Ok(())
}

fn options(args: &ReportArgs) -> Result<ReportOptions> {
    let config = match &args.config {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --config {}", path.display()))?;
            let parsed = edgesuggest_signals::Experiment::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Some(parsed)
        }
    };
    let experiment = match (&args.experiment, &config) {
        (Some(id), _) => id.clone(),
        (None, Some(config)) => config.experiment.clone(),
        (None, None) => bail!("pass --experiment ID (or --config EXPERIMENT.json to take its id)"),
    };
    Ok(ReportOptions {
        inputs: args.inputs.clone(),
        experiment,
        config,
        control: args.control.clone(),
        max_errors: args.max_errors,
        max_latency_p95_ms: args.max_latency_p95_ms,
        max_error_share: args.max_error_share,
    })
}

/// With --json the table's warnings are not seen: the ones that matter go to stderr.
fn warn(report: &Report) {
    let failed = report.failed_guardrails();
    if !failed.is_empty() {
        eprintln!("GUARDRAIL FAILED: {}", failed.join(", "));
    }
    if report.srm.flagged {
        eprintln!("SAMPLE RATIO MISMATCH: see \"srm\"");
    }
    if report.users_in_several_arms > 0 {
        eprintln!(
            "WARNING: {} user(s) appear in more than one arm",
            report.users_in_several_arms
        );
    }
}

fn plan(args: &ReportArgs) -> Result<()> {
    let (Some(baseline), Some(mde)) = (args.baseline_ctr, args.mde) else {
        bail!("--plan needs --baseline-ctr and --mde");
    };
    let users =
        stats::sample_size(baseline, mde, args.alpha, args.power).map_err(anyhow::Error::msg)?;
    print!(
        "{}",
        report::plan_text(users, baseline, mde, args.alpha, args.power)
    );
    Ok(())
}
