//! Reading scored rows from TSV, CSV and NDJSON inputs, plain or gzip-compressed, from files or
//! stdin, and from Parquet files, with a line (Parquet: row) number on every fault.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};

mod changes;
mod csv_rows;
mod ndjson;
mod parquet_rows;

pub use changes::{read_changes, Change};

use clap::ValueEnum;
use ndjson::parse_ndjson;

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `phrase<TAB>score[<TAB>payload-json][<TAB>categories]`, one row a line; categories
    /// comma-separated; a third column that is not a JSON object is the categories.
    Tsv,
    /// CSV with a header row naming `phrase` and `score` (and optionally `payload`,
    /// `categories`).
    Csv,
    /// One JSON object a line:
    /// `{"phrase": "...", "score": 123, "payload": {...}, "categories": ["a", "b"]}`.
    Ndjson,
    /// A Parquet file (not stdin) with columns `phrase` (UTF8) and `score` (an integer type,
    /// or a float holding a whole number), optionally `payload` (UTF8 holding a JSON object)
    /// and `categories` (LIST of UTF8, or comma-separated UTF8); other columns are ignored.
    /// Bad rows are reported as `file:row N`.
    Parquet,
}

impl Format {
    /// Picks the format from a file name (`.gz` ignored), if it says.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "tsv" | "tab" | "txt" => Some(Format::Tsv),
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }
}

/// Where rows come from: a file or standard input (`-`); the same as where events come from.
pub use edgesuggest_signals::input::Source;

/// One good row. The phrase borrows from the line when it can: a build reads millions of
/// rows, and a copy of each phrase was most of what reading a row allocated.
#[derive(Debug)]
pub struct Row<'a> {
    pub line: u64,
    pub phrase: Cow<'a, str>,
    pub score: u64,
    pub payload: Option<String>,
    pub categories: Vec<String>,
}

/// One bad row.
#[derive(Debug)]
pub struct Fault {
    pub line: u64,
    pub message: String,
}

/// Longest line (TSV, NDJSON) or CSV record read by default, in bytes: far above any real row
/// (a phrase of a few hundred bytes, a payload of at most 1 KB, a few categories), and small
/// enough that a file without newlines cannot fill the memory.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// The UTF-8 byte-order mark some editors put at the start of a file.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Why a row starting with a byte-order mark anywhere but at the start of the file is bad: the
/// invisible character would make a phrase no query reaches.
const LATER_BOM: &str = "byte-order mark (U+FEFF) at the start of the row, not of the file: \
                         were files with byte-order marks concatenated? Remove it";

/// Counts bytes read from the underlying file (compressed bytes for `.gz`), for progress.
struct Counting<R> {
    inner: R,
    progress: indicatif::ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// Says which layer failed when the gzip decoder does: its own words ("incomplete deflate
/// stream", "unexpected end of file") do not.
struct GzipErrors<R>(R);

impl<R: Read> Read for GzipErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            io::Error::new(
                e.kind(),
                format!(
                    "truncated or corrupt gzip data ({e}); compress the file again or fetch a \
                     complete copy"
                ),
            )
        })
    }
}

/// Opens a source: gzip is recognized by its magic bytes, whatever the name.
pub fn open(source: &Source, progress: &indicatif::ProgressBar) -> Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = match source {
        Source::Stdin => Box::new(io::stdin()),
        Source::File(path) => Box::new(
            File::open(path).with_context(|| format!("cannot open input {}", path.display()))?,
        ),
    };
    let mut reader = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: raw,
            progress: progress.clone(),
        },
    );
    let head = reader
        .fill_buf()
        .with_context(|| format!("cannot read {}", source.name()))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = GzipErrors(flate2::bufread::MultiGzDecoder::new(reader));
        Ok(Box::new(BufReader::with_capacity(1 << 16, gz)))
    } else {
        Ok(Box::new(reader))
    }
}

/// How to read one input.
#[derive(Debug, Clone, Copy)]
pub struct Reading<'a> {
    /// The input's name in messages (`file:line`).
    pub name: &'a str,
    /// Its format.
    pub format: Format,
    /// Longest line (or CSV record) read, in bytes.
    pub max_line_bytes: usize,
}

/// Reads every row of `reader`, calling `on_row` for good rows and `on_fault` for bad ones.
/// Errors only when the input itself cannot be read (I/O, broken gzip, bad CSV header, CSV
/// record over the length limit).
pub fn read_rows(
    reader: Box<dyn BufRead>,
    how: Reading,
    on_row: &mut dyn FnMut(Row) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    match how.format {
        Format::Tsv | Format::Ndjson => read_lines(reader, how, on_row, on_fault),
        Format::Csv => csv_rows::read_csv(reader, how, on_row, on_fault),
        Format::Parquet => bail!(
            "{}: Parquet is read from a file, not a stream; pass the file's path",
            how.name
        ),
    }
}

/// Reads every row of a source in any format, as [`read_rows`] does; Parquet needs a file
/// (its index is at the end), so Parquet on stdin is an error.
pub fn read_source_rows(
    source: &Source,
    how: Reading,
    progress: &indicatif::ProgressBar,
    on_row: &mut dyn FnMut(Row) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    match (how.format, source) {
        (Format::Parquet, Source::File(path)) => {
            parquet_rows::read_parquet(path, progress, on_row, on_fault)
        }
        (Format::Parquet, Source::Stdin) => bail!(
            "Parquet cannot be read from stdin (its index is at the end of the file): save it \
             to a file and pass the file's path"
        ),
        _ => read_rows(open(source, progress)?, how, on_row, on_fault),
    }
}

// Lines are read with a bound on their length, as event logs are.
use edgesuggest_signals::input::{read_line, Line};

/// Reads TSV or NDJSON, one row a line. Empty lines are skipped; a line over the limit is a
/// bad row.
fn read_lines(
    reader: Box<dyn BufRead>,
    how: Reading,
    on_row: &mut dyn FnMut(Row) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    read_text_lines(reader, how, &mut |line, text| {
        let parsed = text.and_then(|text| parse_text(text, how.format));
        dispatch(line, parsed, on_row, on_fault)
    })
}

/// One line of a text input, or why it is bad.
pub type TextLine<'a> = std::result::Result<&'a str, String>;

/// Reads a text input a line at a time (rows, change sets, a blocklist), with the checks every
/// line gets: the length limit, UTF-8, no NUL, a byte-order mark only at the start of the
/// file, CRLF endings. `on_line` gets each non-empty line's number and text, or why it is bad.
/// Errors only when the input itself cannot be read.
pub fn read_text_lines(
    mut reader: Box<dyn BufRead>,
    how: Reading,
    on_line: &mut dyn FnMut(u64, TextLine) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::with_capacity(256);
    let mut line = 0u64;
    loop {
        let read = read_line(reader.as_mut(), &mut buf, how.max_line_bytes)
            .with_context(|| format!("cannot read {} after line {line}", how.name))?;
        line += 1;
        match read {
            Line::End => return Ok(()),
            Line::TooLong(len) => on_line(
                line,
                Err(format!(
                    "line is {len} bytes, over the limit of {} (--max-line-bytes); is a newline \
                     missing? Split the line, or raise --max-line-bytes",
                    how.max_line_bytes
                )),
            )?,
            Line::Read => {
                if let Some(bytes) = line_content(&buf, line == 1) {
                    on_line(line, line_text(bytes))?;
                }
            }
        }
    }
}

/// A line without its `\r` (CRLF endings) and, on the first line, without a UTF-8 byte-order
/// mark; `None` when nothing is left.
fn line_content(line: &[u8], first: bool) -> Option<&[u8]> {
    let mut bytes = line.strip_suffix(b"\r").unwrap_or(line);
    if first {
        bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    }
    (!bytes.is_empty()).then_some(bytes)
}

/// Parses one TSV or NDJSON line.
fn parse_text(text: &str, format: Format) -> Parsed<'_> {
    match format {
        Format::Tsv => parse_tsv(text),
        _ => parse_ndjson(text),
    }
}

/// The text of a TSV or NDJSON line. A NUL byte anywhere refuses the line: text never holds
/// one, and it is the first sign of UTF-16 or binary input.
fn line_text(bytes: &[u8]) -> std::result::Result<&str, String> {
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(format!(
            "NUL byte at byte {at} of the line; NUL comes from binary or UTF-16 input: re-encode \
             the input as UTF-8 text, or remove the byte"
        ));
    }
    if bytes.starts_with(UTF8_BOM) {
        return Err(LATER_BOM.to_string());
    }
    std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "invalid UTF-8 at byte {} of the line; re-encode the input as UTF-8",
            e.valid_up_to()
        )
    })
}

/// A row's phrase, score, payload and categories.
type Fields<'a> = (Cow<'a, str>, u64, Option<String>, Vec<String>);

type Parsed<'a> = std::result::Result<Fields<'a>, String>;

/// Hands a parsed line to the row or the fault callback, refusing a phrase that holds NUL.
fn dispatch(
    line: u64,
    parsed: Parsed<'_>,
    on_row: &mut dyn FnMut(Row) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    match parsed.and_then(check_phrase) {
        Ok((phrase, score, payload, categories)) => on_row(Row {
            line,
            phrase,
            score,
            payload,
            categories,
        }),
        Err(message) => on_fault(Fault { line, message }),
    }
}

/// Refuses a phrase holding NUL (a CSV field, or an NDJSON `\u0000` escape): it is never text
/// a user types, and usually means the input is UTF-16 or binary. Refuses one starting with a
/// byte-order mark too (see [`LATER_BOM`]).
fn check_phrase(row: Fields<'_>) -> Parsed<'_> {
    if row.0.starts_with('\u{feff}') {
        return Err(LATER_BOM.to_string());
    }
    match memchr::memchr(0, row.0.as_bytes()) {
        Some(at) => Err(format!(
            "phrase holds a NUL character at byte {at}; NUL comes from binary or UTF-16 input: \
             re-encode the input as UTF-8 text, or remove the character"
        )),
        None => Ok(row),
    }
}

/// Most columns of a TSV row: phrase, score, payload, categories.
const TSV_MAX_COLUMNS: usize = 4;

fn parse_tsv(text: &str) -> Parsed<'_> {
    let (fields, columns) = tsv_fields(text)?;
    let mut fields = fields.into_iter().take(columns);
    let phrase = fields.next().unwrap_or_default();
    let Some(score) = fields.next() else {
        return Err(
            "missing score: expected phrase<TAB>score[<TAB>payload-json[<TAB>categories]]"
                .to_string(),
        );
    };
    let score = parse_score(score).map_err(|e| match columns {
        2 => e,
        _ => format!("{e}; if the phrase holds a tab, replace it with a space"),
    })?;
    let (payload, categories) = tsv_extras(fields.next(), fields.next())?;
    Ok((
        Cow::Borrowed(phrase),
        score,
        payload,
        split_categories(categories),
    ))
}

/// A TSV line's columns and how many there are; more than [`TSV_MAX_COLUMNS`] is a bad row.
/// Every row goes through here, so it allocates nothing and finds the tabs with `memchr`
/// (`str::split` cost more than the rest of the parse).
fn tsv_fields(text: &str) -> std::result::Result<([&str; TSV_MAX_COLUMNS], usize), String> {
    let mut fields = [""; TSV_MAX_COLUMNS];
    let mut columns = 0;
    let mut start = 0;
    for tab in memchr::memchr_iter(b'\t', text.as_bytes()) {
        if columns + 1 == TSV_MAX_COLUMNS {
            let columns = memchr::memchr_iter(b'\t', text.as_bytes()).count() + 1;
            return Err(format!(
                "{columns} tab-separated columns, at most {TSV_MAX_COLUMNS} (phrase, score, \
                 payload, categories); replace tabs inside fields with spaces"
            ));
        }
        fields[columns] = &text[start..tab];
        columns += 1;
        start = tab + 1;
    }
    fields[columns] = &text[start..];
    Ok((fields, columns + 1))
}

/// The optional third and fourth TSV columns: payload and categories.
fn tsv_extras<'t>(
    third: Option<&'t str>,
    fourth: Option<&'t str>,
) -> std::result::Result<(Option<String>, &'t str), String> {
    // A payload is always a JSON object, so a third column that does not start like JSON can
    // only be categories (`phrase<TAB>score<TAB>cat1,cat2` needs no empty payload column).
    match (third, fourth) {
        (None, _) => Ok((None, "")),
        (Some(third), fourth) if third.trim_start().starts_with(['{', '[']) => {
            Ok((Some(parse_payload(third)?), fourth.unwrap_or("")))
        }
        (Some(third), None) => Ok((None, third)),
        (Some(third), Some(fourth)) if third.trim().is_empty() => Ok((None, fourth)),
        (Some(_), Some(_)) => Err(
            "the third column must be a JSON object payload (or empty) when a fourth \
             (categories) follows"
                .to_string(),
        ),
    }
}

/// Parses a score written as text: a non-negative integer, spaces around it allowed.
fn parse_score(raw: &str) -> std::result::Result<u64, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("missing score".to_string());
    }
    if let Ok(v) = s.parse::<u64>() {
        return Ok(v);
    }
    let shown: String = s.chars().take(40).collect();
    if s.starts_with('-') && s.len() > 1 {
        Err(format!(
            "negative score {shown:?}: scores are non-negative integers"
        ))
    } else if is_digits(s.strip_prefix('+').unwrap_or(s)) {
        Err(format!("score {shown:?} is over the maximum {}", u64::MAX))
    } else {
        Err(format!(
            "non-integer score {shown:?}: scores are non-negative integers"
        ))
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits a comma-separated category list, trimming spaces and dropping empty items.
fn split_categories(raw: &str) -> Vec<String> {
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// Validates a payload as a JSON object and returns its compact form.
fn parse_payload(raw: &str) -> std::result::Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| format!("payload is not valid JSON: {e}"))?;
    if !value.is_object() {
        return Err("payload must be a JSON object".to_string());
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores() {
        assert_eq!(parse_score(" 42 "), Ok(42));
        assert!(parse_score("-1").unwrap_err().contains("negative"));
        assert!(parse_score("1.5").unwrap_err().contains("non-integer"));
        assert!(parse_score("").unwrap_err().contains("missing"));
        assert!(parse_score("99999999999999999999")
            .unwrap_err()
            .contains("maximum"));
    }

    #[test]
    fn tsv_rows() {
        assert_eq!(parse_tsv("a b\t3"), Ok(("a b".into(), 3, None, vec![])));
        assert_eq!(
            parse_tsv("x\t1\t{\"u\": 1}"),
            Ok(("x".into(), 1, Some("{\"u\":1}".into()), vec![]))
        );
        assert_eq!(
            parse_tsv("x\t1\t\tcity, capital"),
            Ok(("x".into(), 1, None, vec!["city".into(), "capital".into()]))
        );
        assert_eq!(
            parse_tsv("x\t1\tcity,capital"),
            Ok(("x".into(), 1, None, vec!["city".into(), "capital".into()]))
        );
        assert_eq!(
            parse_tsv("x\t1\t{\"u\":1}\tcity"),
            Ok(("x".into(), 1, Some("{\"u\":1}".into()), vec!["city".into()]))
        );
        assert!(parse_tsv("x\t1\tcity\tcapital")
            .unwrap_err()
            .contains("third column"));
        assert!(parse_tsv("x\t1\t{oops").unwrap_err().contains("JSON"));
        assert!(parse_tsv("x\t1\t[1]").unwrap_err().contains("object"));
        assert!(parse_tsv("x").unwrap_err().contains("missing score"));
    }

    #[test]
    fn ndjson_rows() {
        assert_eq!(
            parse_ndjson(r#"{"phrase":"a","score":7}"#),
            Ok(("a".into(), 7, None, vec![]))
        );
        assert_eq!(
            parse_ndjson(r#"{"phrase":"a","score":7,"categories":["city","x"]}"#),
            Ok(("a".into(), 7, None, vec!["city".into(), "x".into()]))
        );
        assert!(parse_ndjson(r#"{"phrase":"a","score":7,"categories":[1]}"#)
            .unwrap_err()
            .contains("strings"));
        assert!(parse_ndjson(r#"{"phrase":"a","score":-7}"#)
            .unwrap_err()
            .contains("negative"));
        assert!(parse_ndjson(r#"{"phrase":"a","score":1.5}"#)
            .unwrap_err()
            .contains("non-integer"));
        assert!(parse_ndjson(r#"{"phrase":"a"}"#)
            .unwrap_err()
            .contains("missing score"));
        assert!(parse_ndjson(r#"{"score":1}"#)
            .unwrap_err()
            .contains("phrase"));
    }

    #[test]
    fn lines_are_bounded() {
        let mut input: &[u8] = b"ab\nabcdef\nxyz";
        let mut buf = Vec::new();
        let mut next = || read_line(&mut input, &mut buf, 4).unwrap();
        assert_eq!(next(), Line::Read);
        assert_eq!(next(), Line::TooLong(6));
        assert_eq!(next(), Line::Read);
        assert_eq!(next(), Line::End);
        assert_eq!(buf, b"");
    }

    #[test]
    fn bom_and_carriage_return() {
        assert_eq!(
            line_content(b"\xef\xbb\xbfa\t1\r", true),
            Some(&b"a\t1"[..])
        );
        assert_eq!(line_content(b"\xef\xbb\xbf\r", true), None);
        assert_eq!(
            line_content(b"\xef\xbb\xbfa\t1", false),
            Some(&b"\xef\xbb\xbfa\t1"[..])
        );
        assert!(line_text(b"\xef\xbb\xbfa\t1")
            .unwrap_err()
            .contains("byte-order mark"));
        assert!(line_text(b"a\0\t1")
            .unwrap_err()
            .contains("NUL byte at byte 1"));
    }

    #[test]
    fn tsv_columns_past_four() {
        assert!(parse_tsv("a\t1\t{}\tc\td")
            .unwrap_err()
            .contains("5 tab-separated columns"));
        assert!(parse_tsv("New\tYork\t5")
            .unwrap_err()
            .contains("if the phrase holds a tab"));
        assert!(!parse_tsv("a\tb").unwrap_err().contains("tab"));
    }

    #[test]
    fn formats_from_names() {
        assert_eq!(Format::from_path(Path::new("a.TSV.gz")), Some(Format::Tsv));
        assert_eq!(Format::from_path(Path::new("a.csv")), Some(Format::Csv));
        assert_eq!(
            Format::from_path(Path::new("a.jsonl")),
            Some(Format::Ndjson)
        );
        assert_eq!(
            Format::from_path(Path::new("rows.Parquet")),
            Some(Format::Parquet)
        );
        assert_eq!(Format::from_path(Path::new("a.bin")), None);
    }
}
