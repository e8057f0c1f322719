//! `edgesuggest experiment`: start, change or stop the A/B experiment the edge worker runs
//! (`docs/EXPERIMENTS.md`), by writing its configuration to the KV key the worker reads.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{ArgGroup, Args};
use edgesuggest_events::Experiment;

use crate::publish::target::{apply_entry, TargetArgs};

/// The KV key the worker reads the running experiment from.
const EXPERIMENT_KEY: &str = "experiment";

/// Start, ramp or stop the A/B experiment the edge worker runs.
///
/// FILE is `{"experiment": ID, "arms": [{"name", "index", "options"?, "weight", "holdout"?}]}`
/// (docs/EXPERIMENTS.md). It is checked, then written to the KV key `experiment`; workers
/// pick it up within REFRESH_SECONDS. Users keep their arm while the experiment id and arm
/// names stay the same; changing weights moves only the users that must move. --stop deletes
/// the key: every request is served as if no experiment ran. A configuration a worker refuses
/// (an arm index it does not serve, a bad option value) leaves the previous one running and is
/// shown by its /v1/health as `experiment_error`.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("what").args(["file", "stop"]).required(true)),
    group(ArgGroup::new("output").args(["out_dir", "local"]).required(true).multiple(true)),
    // One KV entry outside any index's versions: no publisher's store is involved.
    mut_arg("store", |a| a.hide(true)),
    mut_arg("out_dir", |a| a.help(
        "Write the `wrangler kv bulk` file into DIR (experiment.json; experiment-stop.json \
         with --stop), to apply on an account")),
    after_help = "Examples:
  edgesuggest experiment ctr.json --local              # start (or ramp) in wrangler dev
  edgesuggest experiment ctr.json --out-dir kv/        # then: wrangler kv bulk put kv/experiment.json ...
  edgesuggest experiment --stop --local
  edgesuggest report events/ --experiment ctr-2026-12 --config ctr.json")]
pub struct ExperimentArgs {
    /// The experiment configuration (JSON).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,

    /// Stop the running experiment.
    #[arg(long)]
    stop: bool,

    #[command(flatten)]
    target: TargetArgs,
}

/// Checks the configuration and writes (or deletes) the KV entry.
pub fn run(args: &ExperimentArgs) -> Result<()> {
    match &args.file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let experiment =
                Experiment::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let json = serde_json::to_string(&experiment)?;
            apply_entry(&args.target, "experiment.json", EXPERIMENT_KEY, Some(&json))?;
            let arms: Vec<String> = experiment
                .arms
                .iter()
                .map(|a| format!("{} ({})", a.name, a.weight))
                .collect();
            eprintln!(
                "experiment {}: arms {}",
                experiment.experiment,
                arms.join(", ")
            );
        }
        None => {
            apply_entry(&args.target, "experiment-stop.json", EXPERIMENT_KEY, None)?;
            eprintln!("experiment stopped");
        }
    }
    Ok(())
}
