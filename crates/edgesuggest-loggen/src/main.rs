//! `edgesuggest-loggen`: deterministic synthetic search logs for tests, demos and benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use edgesuggest_loggen::model::{self, Config, EXCLUDED_TERMS};
use edgesuggest_loggen::output::{self, OutFormat};
use edgesuggest_loggen::phrases::Phrases;
use edgesuggest_loggen::BUNDLED_PHRASES;
use edgesuggest_signals::event::MAX_TS;
use edgesuggest_signals::{Event, EventType};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// 2026-11-01T00:00:00Z in milliseconds.
const DEFAULT_START_MS: u64 = 1_793_491_200_000;
const DAY_MS: u64 = 86_400_000;
/// Runs at least this large show a progress bar.
const PROGRESS_EVENTS: u64 = 1_000_000;

const AFTER_HELP: &str = "\
What the logs hold (docs/EVENTS.md has the schema):
  - sessions: a user types a prefix of a target phrase (drawn by Zipf over the phrases ranked
    by score), gets an `impression` of 5-10 phrases sharing the prefix (the target most of the
    time), clicks position i with probability 1/(i+1) when it is the target (`click`, then a
    `search` for it), or types on and commits a `search` of the whole phrase;
  - typos (a swapped or dropped letter; most find nothing: `results: 0`), case and spacing
    variants (\"new york\", \"New  York\"), abandoned boxes (an impression, no search);
  - --spam-users users who search one phrase hundreds of times;
  - searches of the excluded terms badword1, badword2, badword3, by many users;
  - `variant` A or B per user (B ranks the target a little higher), `response_id` joining
    impressions and clicks, `session`, `index`, `version`.
Events are sorted by ts. The same arguments and --seed give the same bytes.

Examples:
  edgesuggest-loggen -o events.ndjson
  edgesuggest-loggen --events 1000000 --days 30 --format parquet -o events.parquet
  edgesuggest-loggen --rate 50 --minutes 60 --minute-files logs/
  edgesuggest-loggen --phrases queries.tsv --seed 7 -o - | head";

/// Generate synthetic search, impression and click logs.
///
/// Users search the phrases of --phrases (default: the bundled 10,000 cities) with a Zipf
/// popularity, see suggestion lists, click with a position bias and commit searches, with
/// typos, spam, excluded terms and case variants mixed in: the input `edgesuggest aggregate`
/// and the Spark job are tested and demonstrated on.
#[derive(Debug, Parser)]
#[command(name = "edgesuggest-loggen", version, after_help = AFTER_HELP)]
struct Args {
    /// Phrases users look for: `phrase<TAB>score` lines (more columns ignored); the score
    /// ranks them. Default: the bundled data/cities-10k.tsv.
    #[arg(long, value_name = "FILE")]
    phrases: Option<PathBuf>,

    /// Seed of the random stream: the same seed and arguments give the same output bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Ordinary users (spam users come on top). A few use the box often, most rarely.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    users: u32,

    /// Days the timestamps span, from --start.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    days: u64,

    /// First timestamp, in milliseconds since the epoch (default 2026-11-01T00:00Z; `date -d
    /// 2026-12-01Z +%s000` gives another).
    #[arg(long, default_value_t = DEFAULT_START_MS, value_name = "MS")]
    start: u64,

    /// Events in total.
    #[arg(
        long,
        default_value_t = 100_000,
        value_name = "N",
        conflicts_with = "rate"
    )]
    events: u64,

    /// Events per second, instead of --events and --days: --rate R --minutes M makes
    /// R × 60 × M events over M minutes.
    #[arg(long, value_name = "EV_PER_S", requires = "minutes")]
    rate: Option<f64>,

    /// Minutes the timestamps span, with --rate.
    #[arg(long, value_name = "M", requires = "rate", value_parser = clap::value_parser!(u64).range(1..))]
    minutes: Option<u64>,

    /// Zipf exponent of popularity by rank: 1.0 is typical of query logs; 0 makes every
    /// phrase equally popular, larger values concentrate searches on the top phrases.
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,

    /// Users who each search one phrase hundreds of times (the per-user cap's test).
    #[arg(long, default_value_t = 3)]
    spam_users: u32,

    /// Share of typed (not picked) searches with a typo.
    #[arg(long, default_value_t = 0.05, value_name = "SHARE")]
    typo_rate: f64,

    /// The `index` field of impressions and clicks.
    #[arg(long, default_value = "cities")]
    index: String,

    /// Write `"experiment": ID` on impressions and clicks (the events with a `variant`) and a
    /// `took_us` on impressions: the input of `edgesuggest report --experiment ID`.
    #[arg(long, value_name = "ID")]
    experiment: Option<String>,

    /// Output format of -o.
    #[arg(long, value_enum, default_value_t = OutFormat::Ndjson)]
    format: OutFormat,

    /// Where to write the events; `-` is stdout (NDJSON only).
    #[arg(
        short,
        long,
        value_name = "PATH",
        required_unless_present = "minute_files",
        conflicts_with = "minute_files"
    )]
    output: Option<PathBuf>,

    /// Write one gzip NDJSON file per minute instead, as
    /// DIR/events/YYYY/MM/DD/HH/mm/loggen-SEED.ndjson.gz (the worker's log layout).
    #[arg(long, value_name = "DIR")]
    minute_files: Option<PathBuf>,

    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let config = config(&args)?;
    let phrases = load_phrases(&args)?;
    let bar = progress_bar(config.events, args.quiet);
    let events = model::generate(&phrases, &config, &|n| bar.set_position(n));
    bar.set_message("writing");
    let written = match (&args.minute_files, &args.output) {
        (Some(dir), _) => {
            let files = output::write_minute_files(dir, &format!("loggen-{}", args.seed), &events)?;
            format!(
                "{files} minute file(s) under {}",
                dir.join("events").display()
            )
        }
        (None, Some(path)) => {
            output::write_events(args.format, path, &events)?;
            path.display().to_string()
        }
        (None, None) => bail!("give -o PATH or --minute-files DIR"),
    };
    bar.finish_and_clear();
    if !args.quiet {
        eprintln!(
            "{} → {written} in {:.1}s",
            summary(&events),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The generator's settings from the arguments, checked.
fn config(args: &Args) -> Result<Config> {
    let (events, span_ms) = match (args.rate, args.minutes) {
        (Some(rate), Some(minutes)) => {
            if !(rate.is_finite() && rate > 0.0) {
                bail!("--rate {rate}: give a positive number of events per second");
            }
            (
                (rate * 60.0 * minutes as f64).round() as u64,
                minutes * 60_000,
            )
        }
        _ => (args.events, args.days * DAY_MS),
    };
    if !(args.zipf.is_finite() && (0.0..=10.0).contains(&args.zipf)) {
        bail!(
            "--zipf {}: give an exponent from 0 to 10 (1.0 is typical)",
            args.zipf
        );
    }
    if !(0.0..=1.0).contains(&args.typo_rate) {
        bail!("--typo-rate {}: give a share from 0 to 1", args.typo_rate);
    }
    if args.start.saturating_add(span_ms) >= MAX_TS {
        bail!(
            "--start {} plus the span passes 2^53 ms, the schema's limit",
            args.start
        );
    }
    if args.format == OutFormat::Parquet && args.minute_files.is_some() {
        bail!("--minute-files always writes gzip NDJSON; drop --format parquet");
    }
    Ok(Config {
        seed: args.seed,
        users: args.users,
        start_ms: args.start,
        span_ms,
        events,
        zipf: args.zipf,
        spam_users: args.spam_users,
        typo_rate: args.typo_rate,
        index: args.index.clone(),
        experiment: args.experiment.clone(),
    })
}

fn load_phrases(args: &Args) -> Result<Phrases> {
    match &args.phrases {
        None => Phrases::parse(BUNDLED_PHRASES, "data/cities-10k.tsv"),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --phrases {}", path.display()))?;
            Phrases::parse(&text, &path.display().to_string())
        }
    }
}

/// A bar for runs large enough to take a while; hidden otherwise and when stderr is not a
/// terminal.
fn progress_bar(events: u64, quiet: bool) -> ProgressBar {
    if quiet || events < PROGRESS_EVENTS {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}) {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(events).with_style(style);
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar
}

/// Counts by type, for the closing line.
fn summary(events: &[Event]) -> String {
    let count = |kind| events.iter().filter(|e| e.kind == kind).count();
    let excluded = events
        .iter()
        .filter(|e| e.q.as_deref().is_some_and(|q| EXCLUDED_TERMS.contains(&q)))
        .count();
    format!(
        "{} events ({} searches, {} impressions, {} clicks, {excluded} excluded-term searches)",
        events.len(),
        count(EventType::Search),
        count(EventType::Impression),
        count(EventType::Click)
    )
}
