//! `edgesuggest aggregate`: event logs in, rows and/or a change set out, incrementally. A thin
//! layer over `edgesuggest_signals::run`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use edgesuggest_signals::{parse_duration, Params, RunOptions};

/// Turn event logs into scored suggestions, incrementally.
///
/// Reads events (NDJSON, one JSON object a line, plain or gzip; `.parquet` files; `-` reads
/// stdin; schema in docs/EVENTS.md) and adds them to the state in --state DIR. Each key
/// (the normalized text of a search) gets a popularity that decays with --half-life, a
/// count of distinct users, a click-through rate smoothed with a Beta prior, and a score:
///
///   score = round(popularity · (ctr / prior mean)^ctr-weight · score-scale)
///
/// A key becomes a suggestion only if it passes every gate, in order: --min-chars,
/// --max-phrase-bytes, --exclude, --min-users (privacy: a query searched by fewer distinct
/// users is never shown), --min-count (on the decayed popularity), and a non-zero score. One
/// user counts at most once per key per day (the spam cap). The reference time T is --now,
/// else the largest event time seen so far; rows depend only on the events and T, so a chain
/// of small runs writes exactly what one run over everything writes.
///
/// The state (DIR/state.redb) is a database read and written key by key: a run over new
/// events costs the events and the keys they change, not the history. -o and --explain list
/// every key, so they read every key; a run with only --changes does not.
///
/// Outputs (each written atomically, the state last, after every output is in place):
/// -o writes every suggestion as `display<TAB>score` (TSV, for `build`); --changes writes what
/// changed since the last run that wrote a change set (for `build --delta`): a published key
/// stays until its popularity falls below min-count · (1 − hysteresis), and is republished
/// when its score moves by more than --min-change; --explain writes one line per key with its
/// verdict and numbers. A summary goes to stderr.
///
/// Bad lines are reported as `file:line: reason` and skipped; more than --max-errors of them
/// fail the run, which then writes nothing and leaves the state unchanged, so rerunning is
/// safe. An input already aggregated (same path, size and content) is skipped with a
/// message, so a retried batch is not counted twice. Two runs cannot share a state (lock).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  # Whole history at once:
  edgesuggest aggregate logs/*.ndjson.gz --state agg -o rows.tsv --explain explain.tsv
  edgesuggest build rows.tsv -o base.seg

  # Then every minute: the new log file in, a delta out, published over the base:
  edgesuggest aggregate logs/2025-12-02T10-41.ndjson.gz --state agg --changes changes.ndjson
  edgesuggest build --delta changes.ndjson -o delta.seg
  edgesuggest publish base.seg --delta delta.seg --index queries --local

  # Keep some phrases out (one rule a line: /regex/, prefix*, or a phrase):
  edgesuggest aggregate today.ndjson --state agg -o rows.tsv --exclude exclude.txt")]
pub struct AggregateArgs {
    /// Event files (NDJSON, .gz, .parquet); `-` reads stdin.
    #[arg(required = true, value_name = "LOGS")]
    inputs: Vec<PathBuf>,

    /// State directory (created if missing); keep it between runs.
    #[arg(long, value_name = "DIR")]
    state: PathBuf,

    /// Write every suggestion: `display<TAB>score` (.tsv) or Parquet (.parquet).
    #[arg(short, long, value_name = "ROWS")]
    output: Option<PathBuf>,

    /// Write the change set since the last run that wrote one (NDJSON for `build --delta`).
    #[arg(long, value_name = "FILE")]
    changes: Option<PathBuf>,

    /// Write one line per key: INCLUDE or SKIP, with the reason and the numbers.
    #[arg(long, value_name = "FILE")]
    explain: Option<PathBuf>,

    /// Reference time T in milliseconds since the epoch (default: the latest event time).
    #[arg(long, value_name = "MS")]
    now: Option<u64>,

    /// Half-life of popularity, impressions and clicks: 7d, 12h, 30m, 90s, or milliseconds.
    /// Recorded in the state: a later run must use the same.
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    half_life: String,

    /// Fewest distinct users who searched a key before it is shown (privacy).
    #[arg(long, default_value_t = 3, value_name = "N")]
    min_users: u64,

    /// Least decayed popularity of a suggestion.
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    min_count: f64,

    /// Fewest characters of a suggestion.
    #[arg(long, default_value_t = 2, value_name = "N")]
    min_chars: usize,

    /// Longest suggestion, in bytes after normalization (as `build`).
    #[arg(long, default_value_t = edgesuggest::DEFAULT_MAX_PHRASE_BYTES, value_name = "BYTES")]
    max_phrase_bytes: usize,

    /// Keys never to suggest: one rule a line, `/regex/`, `prefix*` or a phrase; `#` comments.
    #[arg(long, value_name = "FILE")]
    exclude: Option<PathBuf>,

    /// Weight of the click-through rate in the score (0 disables it).
    #[arg(
        long,
        default_value_t = 0.5,
        value_name = "W",
        allow_negative_numbers = true
    )]
    ctr_weight: f64,

    /// α of the CTR's Beta prior (prior clicks).
    #[arg(
        long,
        default_value_t = 1.0,
        value_name = "A",
        allow_negative_numbers = true
    )]
    ctr_prior_clicks: f64,

    /// α + β of the CTR's Beta prior (prior impressions).
    #[arg(
        long,
        default_value_t = 20.0,
        value_name = "N",
        allow_negative_numbers = true
    )]
    ctr_prior_impressions: f64,

    /// Multiplier turning the score into the integer `build` reads.
    #[arg(
        long,
        default_value_t = 1000.0,
        value_name = "S",
        allow_negative_numbers = true
    )]
    score_scale: f64,

    /// A published key stays while its popularity is at least min-count · (1 − H); in [0, 1).
    #[arg(
        long,
        default_value_t = 0.25,
        value_name = "H",
        allow_negative_numbers = true
    )]
    hysteresis: f64,

    /// A published key is republished when its score moves by more than this fraction.
    #[arg(
        long,
        default_value_t = 0.1,
        value_name = "F",
        allow_negative_numbers = true
    )]
    min_change: f64,

    /// How many bad lines to skip before failing (0 = any bad line fails the run).
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_errors: u64,
}

impl AggregateArgs {
    fn options(&self) -> Result<RunOptions> {
        let params = Params {
            half_life_ms: parse_duration(&self.half_life)?,
            min_users: self.min_users,
            min_count: self.min_count,
            min_chars: self.min_chars,
            max_phrase_bytes: self.max_phrase_bytes,
            ctr_weight: self.ctr_weight,
            ctr_prior_clicks: self.ctr_prior_clicks,
            ctr_prior_impressions: self.ctr_prior_impressions,
            score_scale: self.score_scale,
            hysteresis: self.hysteresis,
            min_change: self.min_change,
        };
        params.check()?;
        Ok(RunOptions {
            inputs: self.inputs.clone(),
            state_dir: self.state.clone(),
            rows: self.output.clone(),
            changes: self.changes.clone(),
            explain: self.explain.clone(),
            now: self.now,
            exclude: self.exclude.clone(),
            max_errors: self.max_errors,
            params,
        })
    }
}

/// Runs the aggregation, printing messages and the summary on stderr.
pub fn run(args: AggregateArgs) -> Result<()> {
    let options = args.options()?;
    let summary = edgesuggest_signals::run(&options, &mut |message| eprintln!("{message}"))?;
    eprint!("{summary}");
    Ok(())
}
