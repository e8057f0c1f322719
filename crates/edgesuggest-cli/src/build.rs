//! `edgesuggest build`: rows in, one segment out.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use edgesuggest::{
    BlocklistBuilder, BuildError, BuildOptions, BuiltSegment, DeltaBuilder, SegmentBuilder,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::input::{self, Change, Fault, Format, Reading, Row, Source};

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
/// {...}, "categories": ["a", "b"]}`; Parquet files with columns `phrase` (UTF8), `score`
/// (an integer type, or a float holding a whole number), optionally `payload` (UTF8, a JSON
/// object) and `categories` (LIST of UTF8, or comma-separated UTF8), other columns ignored (the
/// rows `edgesuggest aggregate -o rows.parquet` writes). The format comes from the extension
/// (.tsv/.txt, .csv, .ndjson/.jsonl, .parquet), or --format. Gzip input (.gz) is read directly.
///
/// --word-starts also matches queries at the start of every later word ('york' finds 'New
/// York'), after full-phrase matches; it adds one index entry per later word.
///
/// Bad rows (invalid UTF-8, NUL bytes, missing, negative, non-integer or over-u64
/// score, more than 4 TSV columns, a repeated NDJSON key, a line over --max-line-bytes, phrase
/// empty or too long after normalization) are reported as `file:line: reason` (Parquet:
/// `file:row N: reason`). By default any
/// bad row fails the build and nothing is written; --max-errors N skips up to N of them. An
/// input that cannot be read to its end (truncated gzip, a CSV record over --max-line-bytes)
/// fails the build whatever --max-errors says. A UTF-8 byte-order mark at the start of a file
/// and CRLF line endings are accepted.
///
/// --delta builds a delta segment from change sets instead: NDJSON lines
/// `{"op":"upsert","phrase":...,"score":N,"payload"?:{...},"categories"?:[...]}` (the
/// suggestion becomes exactly this: an absolute score, this display form, payload and
/// categories) and `{"op":"delete","phrase":...}`. Later changes to the same normalized key
/// win, across all inputs in order. Layer it over a base with `query --delta` or `publish
/// --delta`; build it with --word-starts exactly when the base was.
///
/// --blocklist builds a blocklist segment from plain text files: one phrase a line (hides the
/// suggestion whose normalized key equals it), or `prefix*` (hides every suggestion whose key
/// starts with the normalized prefix: `new *` hides "new york" but not "newark"); blank lines
/// and `#` comments are skipped.
///
/// The segment appears atomically: it is written to a temporary file in the output's directory,
/// synced, then renamed over SEGMENT, so an existing SEGMENT is only ever replaced by a complete
/// new one, even if the build is killed.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  edgesuggest build queries.tsv -o queries.seg
  edgesuggest build titles.csv.gz more.ndjson -o all.seg --max-errors 100
  edgesuggest build cities.tsv -o cities.seg --word-starts
  edgesuggest build rows.parquet -o rows.seg
  zcat log.tsv.gz | edgesuggest build - --format tsv -o log.seg
  edgesuggest build --delta changes.ndjson -o delta-0001.seg
  edgesuggest build --blocklist blocked.txt -o blocklist.seg")]
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

    /// Longest line (TSV, NDJSON) or CSV record read, in bytes; a longer line is a bad row,
    /// a longer CSV record stops the build.
    #[arg(long, default_value_t = input::DEFAULT_MAX_LINE_BYTES, value_name = "BYTES")]
    max_line_bytes: usize,

    /// Also match at the start of every later word of a phrase ('york' → 'New York').
    #[arg(long)]
    word_starts: bool,

    /// Room for precomputed answers of the prefixes with the most matches (the shortest,
    /// most typed queries), in percent of the segment (not counting its categories). They
    /// make those queries several times faster and change no answer. A segment with them is
    /// format version 5 (the lists front-coded); 0 writes none, and keeps small segments
    /// readable by engines that only know versions 1 to 3.
    #[arg(long, default_value_t = edgesuggest::TopListOptions::default().budget_percent,
          value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(0..=100))]
    top_lists: u32,

    /// Room for each category's own precomputed answers, which filtered queries answer from,
    /// in percent of that category's FST. Categories whose members lie scattered among other
    /// keys (a score band, say) have FSTs of many short cuts, and their short prefixes are
    /// answered by walking those cuts and then the main FST unless listed. On npm with two
    /// categories a row, 10 makes a segment 2.8% smaller than the default and the slowest
    /// filtered medians (score bands at 2–4 characters) 1.2–3.2× slower; 30 makes it 2.8%
    /// larger and some of them up to 2.4× faster. A segment with them is format version 7 or
    /// later; 0 writes none.
    #[arg(long, default_value_t = edgesuggest::TopListOptions::default().category_percent,
          value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(0..=1000))]
    category_lists: u32,

    /// Store every display form, even those that are their key title-cased ('New York' for
    /// 'new york'). By default such forms are marked instead, a bit or two each, where that
    /// is smaller: format version 8, which engines before it cannot read. Use this to build
    /// for engines that only know versions 1 to 7.
    #[arg(long)]
    no_display_titles: bool,

    /// Store a copy of each member's key in each category's FST. By default a category's FST
    /// holds only its cuts (the shortest prefixes under which every key is the category's),
    /// and filtered queries go on in the main FST below them: about half the bytes of a
    /// segment with two categories a row, format version 9, which engines before it cannot
    /// read. Use this, with --no-wide-category-ids, to build for engines that only know
    /// versions 1 to 8.
    #[arg(long)]
    no_category_cuts: bool,

    /// Pack each suggestion's category set number in blocks of 64 suggestions. By default the
    /// block size, 64 to 4,096, is the one that packs them smallest: on npm with two
    /// categories a row 1,024, and 85,863 → 37,175 bytes; format version 10 when it is not
    /// 64, which engines before it cannot read. Use this to build for engines that only know
    /// versions 1 to 9.
    #[arg(long)]
    no_wide_category_ids: bool,

    /// The inputs are change sets (NDJSON upserts and deletes): write a delta segment.
    #[arg(long, conflicts_with = "blocklist")]
    delta: bool,

    /// The inputs are blocklists (phrases and `prefix*` lines): write a blocklist segment.
    #[arg(long, conflicts_with_all = ["word_starts", "format"])]
    blocklist: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

/// What the inputs hold and what is built from them.
enum Builder {
    Rows(SegmentBuilder),
    Changes(DeltaBuilder),
    Blocklist(BlocklistBuilder),
}

impl Builder {
    fn new(args: &BuildArgs) -> Builder {
        let options = BuildOptions {
            max_phrase_bytes: args.max_phrase_bytes,
            word_starts: args.word_starts,
            top_lists: edgesuggest::TopListOptions {
                budget_percent: args.top_lists,
                category_percent: args.category_lists,
                ..edgesuggest::TopListOptions::default()
            },
            display_titles: !args.no_display_titles,
            category_cuts: !args.no_category_cuts,
            wide_category_ids: !args.no_wide_category_ids,
            ..BuildOptions::default()
        };
        if args.delta {
            Builder::Changes(DeltaBuilder::with_options(options))
        } else if args.blocklist {
            Builder::Blocklist(BlocklistBuilder::new())
        } else {
            Builder::Rows(SegmentBuilder::with_options(options))
        }
    }

    /// Rows, changes or entries collected.
    fn len(&self) -> usize {
        match self {
            Builder::Rows(b) => b.rows(),
            Builder::Changes(b) => b.len(),
            Builder::Blocklist(b) => b.len(),
        }
    }

    fn finish(self) -> Result<BuiltSegment, BuildError> {
        match self {
            Builder::Rows(b) => b.finish(),
            Builder::Changes(b) => b.finish(),
            Builder::Blocklist(b) => b.finish(),
        }
    }

    /// Whether an input with nothing in it may still be written: an empty change set (a
    /// quiet minute) or an empty blocklist (everything unblocked) means something.
    fn may_be_empty(&self) -> bool {
        !matches!(self, Builder::Rows(_))
    }
}

/// Reads every input into a builder, refuses the build when too many rows were bad, then
/// writes the segment atomically and prints a summary.
pub fn run(args: BuildArgs) -> Result<()> {
    let started = Instant::now();
    let format = match (args.delta || args.blocklist, args.format) {
        (true, Some(f)) if f != Format::Ndjson || args.blocklist => {
            bail!("--format does not apply to --delta (always NDJSON) or --blocklist (plain text)")
        }
        (true, _) => Some(Format::Ndjson),
        (false, f) => f,
    };
    let sources = resolve_sources(&args.inputs, format)?;
    let total_bytes = check_inputs(&sources)?;
    check_output(&args.output)?;
    let progress = progress_bar(&sources, total_bytes, args.quiet);
    let mut builder = Builder::new(&args);
    let counts = read_all(&sources, args.max_line_bytes, &mut builder, &progress)?;
    let (kept, may_be_empty) = (builder.len(), builder.may_be_empty());
    if let Err(e) = check_counts(&counts, kept, args.max_errors, may_be_empty) {
        progress.finish_and_clear();
        return Err(e);
    }
    progress.set_message("ranking and writing");
    let built = builder.finish()?;
    write_atomically(&args.output, &built.bytes)?;
    progress.finish_and_clear();
    if !args.quiet && args.delta {
        let deletes = kept as u64 - built.suggestions;
        println!(
            "delta: {} upsert(s), {deletes} delete(s)",
            built.suggestions
        );
    } else if !args.quiet && args.blocklist {
        println!(
            "blocklist: {kept} entr{}",
            if kept == 1 { "y" } else { "ies" }
        );
    }
    if !args.quiet {
        print_summary(
            &args.output,
            &built,
            &counts,
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(())
}

/// Rows seen while reading.
#[derive(Debug, Clone, Copy)]
struct Counts {
    /// Rows read, good and bad.
    read: u64,
    /// Bad rows: unreadable, or refused by the builder.
    rejected: u64,
}

/// Each input with its format: `--format`, else the file's extension (stdin: TSV).
fn resolve_sources(inputs: &[PathBuf], format: Option<Format>) -> Result<Vec<(Source, Format)>> {
    let sources: Vec<(Source, Format)> = inputs
        .iter()
        .map(|path| {
            let source = Source::parse(path);
            let format = match (&source, format) {
                (_, Some(f)) => f,
                (Source::Stdin, None) => Format::Tsv,
                (Source::File(p), None) => Format::from_path(p).with_context(|| {
                    format!(
                        "cannot tell the format of {} from its name; pass --format tsv|csv|ndjson|parquet",
                        p.display()
                    )
                })?,
            };
            if matches!((&source, format), (Source::Stdin, Format::Parquet)) {
                bail!(
                    "Parquet cannot be read from stdin (its index is at the end of the file): \
                     save it to a file and pass the file's path"
                );
            }
            Ok((source, format))
        })
        .collect::<Result<_>>()?;
    let stdin_count = sources
        .iter()
        .filter(|(s, _)| matches!(s, Source::Stdin))
        .count();
    if stdin_count > 1 {
        bail!("`-` (stdin) can be given only once");
    }
    Ok(sources)
}

/// Fails on a missing file or a directory before reading anything; returns the total size.
fn check_inputs(sources: &[(Source, Format)]) -> Result<u64> {
    let mut total_bytes = 0u64;
    for (source, _) in sources {
        if let Source::File(path) = source {
            let meta = std::fs::metadata(path)
                .with_context(|| format!("cannot open input {}", path.display()))?;
            if meta.is_dir() {
                bail!("input {} is a directory; pass files", path.display());
            }
            total_bytes += meta.len();
        }
    }
    Ok(total_bytes)
}

/// Adds every good row of every input to `builder`, reporting bad ones as `file:line:
/// reason` (the first [`MAX_FAULTS_SHOWN`], then a count).
fn read_all(
    sources: &[(Source, Format)],
    max_line_bytes: usize,
    builder: &mut Builder,
    progress: &ProgressBar,
) -> Result<Counts> {
    let tally = Tally::default();
    for (source, format) in sources {
        let name = source.name();
        let how = Reading {
            name: &name,
            format: *format,
            max_line_bytes,
        };
        let faults = SourceFaults {
            tally: &tally,
            name: &name,
            // Parquet has rows, not lines: `file:row N`, as docs/EVENTS.md writes it.
            unit: if *format == Format::Parquet {
                "row "
            } else {
                ""
            },
            progress,
        };
        read_source(source, how, builder, &faults, progress)?;
    }
    let rejected = tally.rejected.get();
    if rejected as usize > MAX_FAULTS_SHOWN {
        let more = rejected as usize - MAX_FAULTS_SHOWN;
        progress.suspend(|| eprintln!("... and {more} more bad rows"));
    }
    Ok(Counts {
        read: tally.read.get(),
        rejected,
    })
}

/// Rows read and rows refused, over all inputs. Cells: the good-row and the bad-row callbacks
/// of one reader both count (a good row can still be refused by the builder, e.g. empty after
/// normalization).
#[derive(Default)]
struct Tally {
    read: std::cell::Cell<u64>,
    rejected: std::cell::Cell<u64>,
}

/// Counting and reporting for one input.
struct SourceFaults<'a> {
    tally: &'a Tally,
    name: &'a str,
    unit: &'static str,
    progress: &'a ProgressBar,
}

impl SourceFaults<'_> {
    /// Counts a refused row and shows it while fewer than [`MAX_FAULTS_SHOWN`] were.
    fn report(&self, line: u64, message: &str) {
        let rejected = self.tally.rejected.get() + 1;
        self.tally.rejected.set(rejected);
        if rejected as usize <= MAX_FAULTS_SHOWN {
            let (name, unit) = (self.name, self.unit);
            self.progress
                .suspend(|| eprintln!("bad row: {name}:{unit}{line}: {message}"));
        }
    }

    /// Counts a parsed row and what the builder made of it: a row error is reported, any
    /// other error stops the build.
    fn added(&self, line: u64, result: Result<(), BuildError>) -> Result<()> {
        self.tally.read.set(self.tally.read.get() + 1);
        match result {
            Err(e) if e.is_row_error() => self.report(line, &e.to_string()),
            other => other?,
        }
        Ok(())
    }

    /// Counts and reports a row the reader could not parse.
    fn fault(&self, f: Fault) -> Result<()> {
        self.tally.read.set(self.tally.read.get() + 1);
        self.report(f.line, &f.message);
        Ok(())
    }
}

/// Reads one input into the builder of its kind: rows, change sets or blocklist lines.
fn read_source(
    source: &Source,
    how: Reading,
    builder: &mut Builder,
    faults: &SourceFaults,
    progress: &ProgressBar,
) -> Result<()> {
    let mut on_fault = |f: Fault| faults.fault(f);
    match builder {
        Builder::Rows(b) => input::read_source_rows(
            source,
            how,
            progress,
            &mut |row| faults.added(row.line, add_row(b, &row)),
            &mut on_fault,
        ),
        Builder::Changes(b) => input::read_changes(
            input::open(source, progress)?,
            how,
            &mut |change| match change {
                Change::Upsert(row) => {
                    let payload = row.payload.as_deref();
                    let upserted = b.upsert(&row.phrase, row.score, payload, &row.categories);
                    faults.added(row.line, upserted)
                }
                Change::Delete { line, phrase } => faults.added(line, b.delete(&phrase)),
            },
            &mut on_fault,
        ),
        Builder::Blocklist(b) => input::read_text_lines(
            input::open(source, progress)?,
            how,
            &mut |line, text| match text {
                Ok(text) => faults.added(line, b.add_line(text)),
                Err(message) => faults.fault(Fault { line, message }),
            },
        ),
    }
}

fn add_row(builder: &mut SegmentBuilder, row: &Row) -> Result<(), BuildError> {
    let payload = row.payload.as_deref();
    builder.add_row(&row.phrase, row.score, payload, &row.categories)
}

/// Refuses the build when more rows were bad than `--max-errors` allows, or none was good
/// (unless an empty result means something: a delta or a blocklist).
fn check_counts(counts: &Counts, rows: usize, max_errors: u64, may_be_empty: bool) -> Result<()> {
    let Counts { read, rejected } = *counts;
    if rejected > max_errors {
        bail!(
            "{rejected} bad row(s), more than --max-errors {max_errors}; nothing was written. Fix \
             the rows above, or pass --max-errors {rejected} to skip them"
        );
    }
    if rows == 0 && !may_be_empty {
        bail!("no rows to build from ({read} read, {rejected} rejected); nothing was written");
    }
    Ok(())
}

/// What was written, how fast, and the peak memory.
fn print_summary(output: &Path, built: &BuiltSegment, counts: &Counts, seconds: f64) {
    let bytes = built.bytes.len();
    println!("wrote {}", output.display());
    println!("  rows read        {}", counts.read);
    println!("  rows rejected    {}", counts.rejected);
    println!("  suggestions      {}", built.suggestions);
    println!("  bytes            {bytes}");
    println!(
        "  bytes/suggestion {:.2}",
        bytes as f64 / built.suggestions.max(1) as f64
    );
    println!(
        "  seconds          {seconds:.3} ({:.0} rows/s)",
        counts.read as f64 / seconds.max(1e-9)
    );
    if let Some(peak) = peak_memory_bytes() {
        println!(
            "  peak memory      {:.1} MiB",
            peak as f64 / (1024.0 * 1024.0)
        );
    }
}

/// Refuses, before any work, an output whose directory is missing or which is a directory.
pub(crate) fn check_output(output: &Path) -> Result<()> {
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
    Ok(())
}

/// Writes through a temporary file in the same directory, synced, then renamed over `output`
/// (into it, when it is a device or a pipe such as `/dev/null`): a build killed at any moment
/// leaves either the previous file or the complete new one at `output` (and at worst a hidden
/// `.edgesuggest-*.tmp` beside it).
pub(crate) fn write_atomically(output: &Path, bytes: &[u8]) -> Result<()> {
    edgesuggest_signals::state::write_atomically(output, bytes)
        .context("cannot write the new segment")
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
