//! `edgesuggest query`: answer one query, or a batch of them as JSON lines.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use edgesuggest::{Searcher, Segment, Suggestion};
use serde::Serialize;

/// Ask a segment for suggestions.
///
/// The query is normalized like the phrases were (case, accents, whitespace). A trailing space
/// asks for a word boundary: 'new ' matches 'New York' but not 'Newark'.
///
/// With --batch, reads one query per line (a trailing space on a line is part of the query)
/// and writes one JSON object per line:
/// {"query": "...", "suggestions": [{"text": "...", "score": N}, ...]}
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  edgesuggest query cities.seg 'san'
  edgesuggest query cities.seg 'san' -k 3 --json
  printf 'new\\nlos \\n' | edgesuggest query cities.seg --batch -")]
pub struct QueryArgs {
    /// The segment file.
    segment: PathBuf,

    /// The query (omit with --batch).
    #[arg(required_unless_present = "batch", conflicts_with = "batch")]
    query: Option<String>,

    /// How many suggestions to return.
    #[arg(short, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    k: u32,

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
    suggestions: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Item<'a> {
    text: &'a str,
    score: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<serde_json::Value>,
}

fn items<'a>(hits: &[Suggestion<'a>]) -> Vec<Item<'a>> {
    hits.iter()
        .map(|s| Item {
            text: s.text,
            score: s.score,
            payload: s.payload.and_then(|p| serde_json::from_str(p).ok()),
        })
        .collect()
}

pub fn run(args: QueryArgs) -> Result<()> {
    let segment = crate::read_segment(&args.segment)?;
    let mut searcher = Searcher::new();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let k = args.k as usize;
    if let Some(batch) = &args.batch {
        return run_batch(&segment, &mut searcher, batch, k, &mut out);
    }
    let Some(query) = args.query.as_deref() else {
        bail!("give a QUERY or --batch FILE");
    };
    let hits = searcher.suggest(&segment, query, k)?;
    if args.json {
        let answer = Answer {
            query,
            suggestions: items(&hits),
        };
        serde_json::to_writer(&mut out, &answer)?;
        writeln!(out)?;
    } else if hits.is_empty() {
        writeln!(out, "no suggestions for {query:?}")?;
    } else {
        let width = hits
            .iter()
            .map(|h| h.score.to_string().len())
            .max()
            .unwrap_or(1);
        for hit in &hits {
            writeln!(out, "{:>width$}  {}", hit.score, hit.text)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn run_batch(
    segment: &Segment<Vec<u8>>,
    searcher: &mut Searcher,
    batch: &PathBuf,
    k: usize,
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
    for (i, line) in reader.split(b'\n').enumerate() {
        let line = line.with_context(|| format!("cannot read batch line {}", i + 1))?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        let query = std::str::from_utf8(line)
            .with_context(|| format!("batch line {} is not UTF-8", i + 1))?;
        let hits = searcher.suggest(segment, query, k)?;
        let answer = Answer {
            query,
            suggestions: items(&hits),
        };
        serde_json::to_writer(&mut *out, &answer)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}
