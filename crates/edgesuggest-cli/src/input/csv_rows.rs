//! CSV rows: a header naming the columns, then one record per row (a quoted field may span
//! lines; a row's line is the one its record starts on).

use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use anyhow::{bail, Result};

use super::{dispatch, parse_payload, parse_score, split_categories, Fault, Parsed, Reading, Row};

/// Where each known column is.
struct Columns {
    phrase: usize,
    score: usize,
    payload: Option<usize>,
    categories: Option<usize>,
}

/// The error [`RecordLimit`] gives once a record is over the limit.
#[derive(Debug)]
struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("CSV record over the length limit")
    }
}

impl std::error::Error for RecordTooLong {}

/// Counts the bytes handed to the CSV parser since the last record and fails the read once
/// they pass the limit: a quote left open would otherwise pull the whole rest of the input
/// into one field, in memory. (The parser reads ahead by its buffer, a few KiB: the limit is
/// that approximate.)
struct RecordLimit<R> {
    inner: R,
    since_record: Rc<Cell<u64>>,
    max: u64,
}

impl<R: Read> Read for RecordLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.since_record.get() > self.max {
            return Err(io::Error::new(io::ErrorKind::InvalidData, RecordTooLong));
        }
        let n = self.inner.read(buf)?;
        self.since_record.set(self.since_record.get() + n as u64);
        Ok(n)
    }
}

/// Reads a CSV input. A record that cannot be read (I/O, broken gzip, over the length limit)
/// stops the build: the parser cannot find the next record after it.
pub(super) fn read_csv(
    reader: Box<dyn BufRead>,
    how: Reading,
    on_row: &mut dyn FnMut(Row) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    let since_record = Rc::new(Cell::new(0u64));
    let limited = RecordLimit {
        inner: reader,
        since_record: since_record.clone(),
        max: how.max_line_bytes as u64,
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(limited);
    let columns = read_header(&mut csv, how)?;
    let mut record = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => return Err(record_error(&e, &record, how)),
        }
        since_record.set(0);
        let line = record.position().map_or(0, |p| p.line());
        dispatch(line, parse_record(&record, &columns), on_row, on_fault)?;
    }
}

/// Finds the columns by name in the header (case and spaces ignored); each may appear once.
fn read_header<R: Read>(csv: &mut csv::Reader<R>, how: Reading) -> Result<Columns> {
    let name = how.name;
    let headers = match csv.byte_headers() {
        Ok(headers) => headers.clone(),
        Err(e) => return Err(record_error(&e, &csv::ByteRecord::new(), how)),
    };
    let column = |wanted: &str| -> Result<Option<usize>> {
        let mut found = headers.iter().enumerate().filter(|(_, h)| {
            let h = String::from_utf8_lossy(h);
            h.trim_start_matches('\u{feff}')
                .trim()
                .eq_ignore_ascii_case(wanted)
        });
        let first = found.next().map(|(i, _)| i);
        if let (Some(a), Some((b, _))) = (first, found.next()) {
            bail!(
                "{name}:1: the CSV header names `{wanted}` twice (columns {} and {}); keep one",
                a + 1,
                b + 1
            );
        }
        Ok(first)
    };
    let (Some(phrase), Some(score)) = (column("phrase")?, column("score")?) else {
        let hint = if headers.as_slice().contains(&0) {
            "; it holds NUL bytes: is the input UTF-16? Re-encode it as UTF-8"
        } else {
            ""
        };
        bail!(
            "{name}: the CSV header must name the columns `phrase` and `score` (found: {}){hint}",
            String::from_utf8_lossy(headers.as_slice())
        );
    };
    Ok(Columns {
        phrase,
        score,
        payload: column("payload")?,
        categories: column("categories")?,
    })
}

/// The error that stops reading: the record over the length limit, or the I/O failure.
fn record_error(e: &csv::Error, record: &csv::ByteRecord, how: Reading) -> anyhow::Error {
    let line = record.position().map_or(1, |p| p.line().max(1));
    let too_long = match e.kind() {
        csv::ErrorKind::Io(io) => io.get_ref().is_some_and(|i| i.is::<RecordTooLong>()),
        _ => false,
    };
    if too_long {
        anyhow::anyhow!(
            "{}:{line}: CSV record over {} bytes (--max-line-bytes): is a quote left open? Close \
             it, or raise --max-line-bytes",
            how.name,
            how.max_line_bytes
        )
    } else {
        anyhow::anyhow!("cannot read {} at line {line}: {e}", how.name)
    }
}

/// Parses one record into a row.
fn parse_record<'r>(record: &'r csv::ByteRecord, columns: &Columns) -> Parsed<'r> {
    let field = |i: usize| -> std::result::Result<&str, String> {
        let raw = record.get(i).ok_or_else(|| "missing column".to_string())?;
        std::str::from_utf8(raw).map_err(|e| {
            format!(
                "invalid UTF-8 at byte {} of column {}; re-encode the input as UTF-8",
                e.valid_up_to(),
                i + 1
            )
        })
    };
    let present = |c: Option<usize>| c.filter(|&c| record.get(c).is_some());
    let phrase = field(columns.phrase).map_err(|e| format!("phrase: {e}"))?;
    let score = match record.get(columns.score) {
        None => return Err("missing score".to_string()),
        Some(_) => parse_score(field(columns.score)?)?,
    };
    let payload = match present(columns.payload) {
        Some(c) if !field(c)?.trim().is_empty() => Some(parse_payload(field(c)?)?),
        _ => None,
    };
    let categories = match present(columns.categories) {
        Some(c) => split_categories(field(c)?),
        None => Vec::new(),
    };
    Ok((phrase.into(), score, payload, categories))
}
