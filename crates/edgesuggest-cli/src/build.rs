//! `edgesuggest build`: rows in, one segment out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use edgesuggest::{BuildError, BuildOptions, SegmentBuilder};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::input::{self, Fault, Format, Row, Source};

/// Bad rows printed before the rest are only counted.
const MAX_FAULTS_SHOWN: usize = 20;

/// Build a segment from scored phrases.
///
/// Each INPUT row is a phrase and a non-negative integer score, optionally a JSON object
/// payload (at most 1 KB, returned with the suggestion: URL, id, thumbnail...) and categories
/// (queries can filter by them). Phrases that normalize to the same key (case, accents,
/// whitespace) become one suggestion: scores add up, the most popular surface form is displayed
/// with its payload, categories are the union.
///
/// Formats: TSV `phrase<TAB>score[<TAB>payload-json][<TAB>cat1,cat2]` (a third column that
/// is not a JSON object is the categories); CSV with a header naming `phrase,score` (and
/// optionally `payload`, `categories`); NDJSON `{"phrase": "...", "score": N, "payload":
/// {...}, "categories": ["a", "b"]}`. The format comes from the extension (.tsv/.txt, .csv,
/// .ndjson/.jsonl), or --format. Gzip input (.gz) is read directly.
///
/// --word-starts also matches queries at the start of every later word ('york' finds 'New
/// York'), after full-phrase matches; it adds one index entry per later word.
///
/// Bad rows (invalid UTF-8, missing, negative or non-integer score, phrase empty or too long
/// after normalization) are reported with file and line. By default any bad row fails the build
/// and nothing is written; --max-errors N skips up to N of them. The segment appears atomically:
/// an existing SEGMENT is only replaced by a complete new one.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  edgesuggest build queries.tsv -o queries.seg
  edgesuggest build titles.csv.gz more.ndjson -o all.seg --max-errors 100
  edgesuggest build cities.tsv -o cities.seg --word-starts
  zcat log.tsv.gz | edgesuggest build - --format tsv -o log.seg")]
pub struct BuildArgs {
    /// Input files; `-` reads stdin.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,

    /// Where to write the segment.
    #[arg(short, long, value_name = "SEGMENT")]
    output: PathBuf,

    /// Input format, when the file names do not say (stdin defaults to tsv).
    #[arg(long, value_enum)]
    format: Option<Format>,

    /// How many bad rows to skip before failing (0 = any bad row fails the build).
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_errors: u64,

    /// Longest phrase accepted, in bytes after normalization.
    #[arg(long, default_value_t = edgesuggest::DEFAULT_MAX_PHRASE_BYTES, value_name = "BYTES")]
    max_phrase_bytes: usize,

    /// Also match at the start of every later word of a phrase ('york' → 'New York').
    #[arg(long)]
    word_starts: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: BuildArgs) -> Result<()> {
    let started = Instant::now();
    let sources: Vec<(Source, Format)> = args
        .inputs
        .iter()
        .map(|path| {
            let source = Source::parse(path);
            let format = match (&source, args.format) {
                (_, Some(f)) => f,
                (Source::Stdin, None) => Format::Tsv,
                (Source::File(p), None) => Format::from_path(p).with_context(|| {
                    format!(
                        "cannot tell the format of {} from its name; pass --format tsv|csv|ndjson",
                        p.display()
                    )
                })?,
            };
            Ok((source, format))
        })
        .collect::<Result<_>>()?;
    if sources
        .iter()
        .filter(|(s, _)| matches!(s, Source::Stdin))
        .count()
        > 1
    {
        bail!("`-` (stdin) can be given only once");
    }
    // Fail on a missing file before reading the others.
    let mut total_bytes = 0u64;
    for (source, _) in &sources {
        if let Source::File(path) = source {
            let meta = std::fs::metadata(path)
                .with_context(|| format!("cannot open input {}", path.display()))?;
            if meta.is_dir() {
                bail!("input {} is a directory; pass files", path.display());
            }
            total_bytes += meta.len();
        }
    }
    let out_dir = output_dir(&args.output)?;

    let progress = progress_bar(&sources, total_bytes, args.quiet);
    let mut builder = SegmentBuilder::with_options(BuildOptions {
        max_phrase_bytes: args.max_phrase_bytes,
        word_starts: args.word_starts,
        ..BuildOptions::default()
    });
    // Shared by the good-row and the bad-row callbacks: a good row can still be refused by
    // the builder (empty or too long after normalization).
    let rejected = std::cell::Cell::new(0u64);
    let mut read = 0u64;
    for (source, format) in &sources {
        let name = source.name();
        let reader = input::open(source, &progress)?;
        let report = |line: u64, message: &str| {
            rejected.set(rejected.get() + 1);
            if rejected.get() as usize <= MAX_FAULTS_SHOWN {
                progress.suspend(|| eprintln!("bad row: {name}:{line}: {message}"));
            }
        };
        let mut on_row = |row: Row| -> Result<()> {
            read += 1;
            match builder.add_row(
                &row.phrase,
                row.score,
                row.payload.as_deref(),
                &row.categories,
            ) {
                Ok(()) => Ok(()),
                Err(e) if e.is_row_error() => {
                    report(row.line, &e.to_string());
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        };
        let mut faults = 0u64;
        let mut on_fault = |f: Fault| -> Result<()> {
            faults += 1;
            report(f.line, &f.message);
            Ok(())
        };
        input::read_rows(reader, *format, &name, &mut on_row, &mut on_fault)?;
        read += faults;
    }
    let rejected = rejected.get();
    if rejected as usize > MAX_FAULTS_SHOWN {
        progress.suspend(|| {
            eprintln!(
                "... and {} more bad rows",
                rejected as usize - MAX_FAULTS_SHOWN
            )
        });
    }
    if rejected > args.max_errors {
        progress.finish_and_clear();
        bail!(
            "{rejected} bad row(s), more than --max-errors {}; nothing was written. Fix the rows \
             above, or pass --max-errors {rejected} to skip them",
            args.max_errors
        );
    }
    let rows = builder.rows();
    if rows == 0 {
        progress.finish_and_clear();
        bail!(
            "no rows to build from ({} read, {rejected} rejected); nothing was written",
            read
        );
    }
    progress.set_message("ranking and writing");
    let built = builder
        .finish()
        .map_err(|e: BuildError| anyhow::anyhow!(e))?;
    write_atomically(&out_dir, &args.output, &built.bytes)?;
    progress.finish_and_clear();

    if !args.quiet {
        let seconds = started.elapsed().as_secs_f64();
        let bytes = built.bytes.len();
        println!("wrote {}", args.output.display());
        println!("  rows read        {read}");
        println!("  rows rejected    {rejected}");
        println!("  suggestions      {}", built.suggestions);
        println!("  bytes            {bytes}");
        println!(
            "  bytes/suggestion {:.2}",
            bytes as f64 / built.suggestions.max(1) as f64
        );
        println!(
            "  seconds          {seconds:.3} ({:.0} rows/s)",
            read as f64 / seconds.max(1e-9)
        );
        if let Some(peak) = peak_memory_bytes() {
            println!(
                "  peak memory      {:.1} MiB",
                peak as f64 / (1024.0 * 1024.0)
            );
        }
    }
    Ok(())
}

fn output_dir(output: &Path) -> Result<PathBuf> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write {}: directory {} does not exist",
            output.display(),
            dir.display()
        );
    }
    if output.is_dir() {
        bail!("cannot write {}: it is a directory", output.display());
    }
    Ok(dir)
}

/// Writes to a temporary file in the same directory, syncs it, then renames it over `output`.
fn write_atomically(dir: &Path, output: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".edgesuggest-")
        .suffix(".seg.tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    tmp.persist(output)
        .with_context(|| format!("cannot move the new segment to {}", output.display()))?;
    Ok(())
}

/// A bar by input bytes when the input is large enough to take about a second, a spinner on
/// stdin; hidden when stderr is not a terminal or with --quiet.
fn progress_bar(sources: &[(Source, Format)], total_bytes: u64, quiet: bool) -> ProgressBar {
    const ABOUT_A_SECOND: u64 = 8 << 20;
    let stdin = sources.iter().any(|(s, _)| matches!(s, Source::Stdin));
    if quiet || (!stdin && total_bytes < ABOUT_A_SECOND) {
        return ProgressBar::hidden();
    }
    let bar = if stdin {
        ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} read ({bytes_per_sec}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        )
    } else {
        ProgressBar::new(total_bytes).with_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Peak resident memory of this process (Linux), for the summary.
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
