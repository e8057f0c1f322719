//! `edgesuggest query`: answer one query, or a batch of them as JSON lines.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use edgesuggest::{Fuzziness, Searcher, Stack, SuggestOptions, Suggestion, Suggestions};
use edgesuggest_json::SuggestionJson;
use serde::Serialize;

/// Ask a segment, or a base with its deltas and blocklist, for suggestions.
///
/// --delta layers delta segments (from `build --delta`, oldest first) over the base: for each
/// phrase the newest segment that holds it decides its score and text, or deletes it.
/// --blocklist hides phrases and `prefix*` matches (a blocklist file or segment).
/// --manifest answers from a published index version instead (a manifest file, such as one the
/// publisher's store keeps: its segments are read from --segments DIR, by default the nearest
/// directory above the manifest that holds them); the only positional argument is then the
/// query.
///
/// The query is normalized like the phrases were (case, accents, whitespace). A trailing space
/// asks for a word boundary: 'new ' matches 'New York' but not 'Newark'.
///
/// Ranking: the phrase equal to the whole query first (unless --no-exact-first), then fewer
/// typos (an exact prefix always beats a fuzzy match), then full-phrase matches before
/// word-start matches, then score.
///
/// With --batch, reads one query per line (a trailing space on a line is part of the query)
/// and writes one JSON object per line:
/// {"query": "...", "suggestions": [{"text": "...", "score": N, ...}, ...], "truncated": false}
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  edgesuggest query cities.seg 'san'
  edgesuggest query cities.seg 'san' -k 3 --json
  edgesuggest query cities.seg 'sna fran' --fuzzy auto
  edgesuggest query cities.seg 'par' --cat capital,city
  printf 'new\\nlos \\n' | edgesuggest query cities.seg --batch -
  edgesuggest query cities.seg 'par' --delta d1.seg --delta d2.seg --blocklist blocked.txt
  edgesuggest query --manifest kv/store/manifest/cities.json 'par'   # the live version")]
pub struct QueryArgs {
    /// The (base) segment file; omit with --manifest.
    #[arg(value_name = "SEGMENT", required_unless_present = "manifest")]
    segment: Option<String>,

    /// The query (omit with --batch).
    query: Option<String>,

    /// A delta segment to layer over the base; repeat, oldest first.
    #[arg(long = "delta", value_name = "DELTA.seg", conflicts_with = "manifest")]
    deltas: Vec<PathBuf>,

    /// Hide the phrases and `prefix*` lines of this blocklist (text file or segment).
    #[arg(long, value_name = "FILE", conflicts_with = "manifest")]
    blocklist: Option<PathBuf>,

    /// Answer from the index version this manifest names.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,

    /// Where the manifest's segments are (`<hash>.seg` or chunk files at their KV keys).
    #[arg(long, value_name = "DIR", requires = "manifest")]
    segments: Option<PathBuf>,

    /// How many suggestions to return (at most 1000, the engine's limit).
    #[arg(short, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=edgesuggest::MAX_K as i64))]
    k: u32,

    /// Typos allowed: auto (0 under 3 characters, 1 for 3-5, 2 above), 0, 1 or 2. Counted in
    /// characters after normalization; a swap of two neighbours is one.
    #[arg(long, default_value = "0", value_parser = Fuzziness::parse, value_name = "auto|0|1|2")]
    fuzzy: Fuzziness,

    /// Leading characters that must match exactly when --fuzzy is on.
    #[arg(long, default_value_t = 1, value_name = "N")]
    prefix_length: usize,

    /// Only suggestions in at least one of these categories (comma-separated).
    #[arg(long = "cat", value_name = "CAT[,CAT...]", value_delimiter = ',')]
    categories: Vec<String>,

    /// Rank the phrase equal to the query by score like the others instead of first.
    #[arg(long)]
    no_exact_first: bool,

    /// Work budget per query in visited index nodes (at most 1000000); a query that runs out
    /// answers with the best found and "truncated": true.
    #[arg(long, default_value_t = edgesuggest::DEFAULT_MAX_VISITS as u64, value_name = "N",
        value_parser = clap::value_parser!(u64).range(0..=edgesuggest::MAX_VISITS as u64))]
    max_visits: u64,

    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,

    /// Read queries from FILE (`-` = stdin), one per line; write JSON lines.
    #[arg(long, value_name = "FILE")]
    batch: Option<PathBuf>,
}

#[derive(Serialize)]
struct Answer<'a> {
    query: &'a str,
    suggestions: Vec<SuggestionJson<'a>>,
    truncated: bool,
}

/// The same objects as the worker's `/v1/suggest` answers.
fn items<'a>(hits: &[Suggestion<'a>]) -> Vec<SuggestionJson<'a>> {
    hits.iter().map(SuggestionJson::new).collect()
}

/// Answers one query (a table, or JSON with `--json`) or a batch of them (JSON lines).
pub fn run(args: QueryArgs) -> Result<()> {
    let (stack, query) = open(&args)?;
    let mut searcher = Searcher::new();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let options = suggest_options(&args);
    if let Some(batch) = &args.batch {
        if query.is_some() {
            bail!("give either a QUERY or --batch FILE, not both");
        }
        return run_batch(&stack, &mut searcher, batch, &options, &mut out);
    }
    let Some(query) = query else {
        bail!("give a QUERY or --batch FILE");
    };
    let found = searcher.search(&stack, &query, &options)?;
    let query = query.as_str();
    if args.json {
        write_answer(&mut out, query, &found)?;
    } else {
        write_table(&mut out, query, &found)?;
    }
    out.flush()?;
    Ok(())
}

/// The stack to answer from and the query: with --manifest, the only positional argument is
/// the query.
fn open(args: &QueryArgs) -> Result<(Stack<Vec<u8>>, Option<String>)> {
    if let Some(manifest) = &args.manifest {
        if args.query.is_some() {
            bail!("with --manifest, give only the query (the manifest names the segments)");
        }
        let (_, stack) = crate::stack::open_manifest(manifest, args.segments.as_deref())?;
        return Ok((stack, args.segment.clone()));
    }
    let Some(base) = &args.segment else {
        bail!("give a SEGMENT (or --manifest FILE)");
    };
    let stack = crate::stack::open_files(
        &PathBuf::from(base),
        &args.deltas,
        args.blocklist.as_deref(),
    )?;
    Ok((stack, args.query.clone()))
}

/// The engine's options from the command line.
fn suggest_options(args: &QueryArgs) -> SuggestOptions {
    SuggestOptions {
        k: args.k as usize,
        fuzzy: args.fuzzy,
        prefix_length: args.prefix_length,
        exact_first: !args.no_exact_first,
        categories: args.categories.clone(),
        max_visits: args.max_visits as usize,
    }
}

/// One JSON line: the query, its suggestions and whether the budget cut it short.
fn write_answer(out: &mut impl Write, query: &str, found: &Suggestions<'_>) -> Result<()> {
    let answer = Answer {
        query,
        suggestions: items(&found.items),
        truncated: found.truncated,
    };
    serde_json::to_writer(&mut *out, &answer)?;
    writeln!(out)?;
    Ok(())
}

/// Scores right-aligned, then each suggestion with notes (typos, word start, categories).
fn write_table(out: &mut impl Write, query: &str, found: &Suggestions<'_>) -> Result<()> {
    let hits = &found.items;
    if hits.is_empty() {
        writeln!(out, "no suggestions for {query:?}")?;
    }
    let width = hits
        .iter()
        .map(|h| h.score.to_string().len())
        .max()
        .unwrap_or(1);
    for hit in hits {
        writeln!(out, "{:>width$}  {}{}", hit.score, hit.text, notes(hit))?;
    }
    if found.truncated {
        writeln!(
            out,
            "(truncated: the work budget ran out; raise --max-visits)"
        )?;
    }
    Ok(())
}

/// `  (1 typo, word start, [a,b])`, or nothing when there is nothing to say.
fn notes(hit: &Suggestion<'_>) -> String {
    let mut notes = Vec::new();
    if hit.edits > 0 {
        let plural = if hit.edits > 1 { "s" } else { "" };
        notes.push(format!("{} typo{plural}", hit.edits));
    }
    if hit.word_start {
        notes.push("word start".to_string());
    }
    if let Some(c) = hit.categories {
        notes.push(format!("[{c}]"));
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!("  ({})", notes.join(", "))
    }
}

fn run_batch(
    stack: &Stack<Vec<u8>>,
    searcher: &mut Searcher,
    batch: &PathBuf,
    options: &SuggestOptions,
    out: &mut impl Write,
) -> Result<()> {
    let reader: Box<dyn BufRead> = if batch.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(batch)
                .with_context(|| format!("cannot open batch file {}", batch.display()))?,
        ))
    };
    let mut reader = reader;
    let mut line = Vec::new();
    for number in 1.. {
        if !read_batch_line(&mut reader, &mut line, number)? {
            break;
        }
        let query = std::str::from_utf8(&line)
            .with_context(|| format!("batch line {number} is not UTF-8"))?;
        let found = searcher
            .search(stack, query, options)
            .with_context(|| format!("batch line {number}"))?;
        write_answer(out, query, &found)?;
    }
    out.flush()?;
    Ok(())
}

/// Reads one line (without its `\n` or `\r\n`) into `line`, reading at most one byte more
/// than the engine accepts in a query, so a huge line is refused without being held in
/// memory. False at the end of the input.
fn read_batch_line<R: BufRead>(reader: &mut R, line: &mut Vec<u8>, number: u64) -> Result<bool> {
    let limit = edgesuggest::MAX_QUERY_INPUT_BYTES;
    line.clear();
    let read = std::io::Read::take(reader, limit as u64 + 2)
        .read_until(b'\n', line)
        .with_context(|| format!("cannot read batch line {number}"))?;
    if read == 0 {
        return Ok(false);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    if line.len() > limit {
        bail!(
            "batch line {number} is longer than {limit} bytes, the longest query the engine \
             accepts; split the batch file into one query per line"
        );
    }
    Ok(true)
}
