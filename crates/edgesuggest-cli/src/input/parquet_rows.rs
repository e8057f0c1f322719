//! Parquet rows: columns `phrase`, `score`, optionally `payload` and `categories`, read with
//! the one Parquet codec of `edgesuggest-signals`; this module applies the rules every other
//! format applies to payloads and categories.

use std::path::Path;

use anyhow::Result;
use edgesuggest_signals::parquet::{self as codec, Categories, ScoredRow};

use super::{dispatch, parse_payload, split_categories, Fault, Parsed, Row};

/// Reads every row of a Parquet file, calling `on_row` for good rows and `on_fault` for bad
/// ones, each with its 1-based row number. Errors when the file cannot be read as a whole:
/// not Parquet, truncated, `phrase` or `score` missing or of a type that cannot hold them.
pub(super) fn read_parquet(
    path: &Path,
    progress: &indicatif::ProgressBar,
    on_row: &mut dyn FnMut(Row) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    // Parquet is read by row groups, not as a byte stream: progress moves once, at the end.
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    codec::read_rows(path, &mut |row, read| -> Result<()> {
        dispatch(row, read.and_then(row_fields), on_row, on_fault)
    })?;
    progress.inc(bytes);
    Ok(())
}

/// A decoded row's fields, with the payload checked (a JSON object, as in TSV; empty text is
/// no payload) and text categories split on commas.
fn row_fields(row: ScoredRow) -> Parsed<'static> {
    let payload = match row.payload {
        Some(p) if !p.trim().is_empty() => Some(parse_payload(&p)?),
        _ => None,
    };
    let categories = match row.categories {
        None => Vec::new(),
        Some(Categories::List(list)) => list,
        Some(Categories::Text(text)) => split_categories(&text),
    };
    Ok((row.phrase.into(), row.score, payload, categories))
}
