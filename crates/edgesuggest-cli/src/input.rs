//! Reading scored rows from TSV, CSV and NDJSON inputs, plain or gzip-compressed, from files or
//! stdin, with a line number on every fault.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;

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
            _ => None,
        }
    }
}

/// Where rows come from.
#[derive(Debug, Clone)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    pub fn parse(arg: &Path) -> Source {
        if arg == Path::new("-") {
            Source::Stdin
        } else {
            Source::File(arg.to_path_buf())
        }
    }

    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_string(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// One good row.
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    pub phrase: String,
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
        let gz = flate2::bufread::MultiGzDecoder::new(reader);
        Ok(Box::new(BufReader::with_capacity(1 << 16, gz)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Reads every row of `reader`, calling `on_row` for good rows and `on_fault` for bad ones.
/// Errors only when the input itself cannot be read (I/O, broken gzip, bad CSV header).
pub fn read_rows(
    reader: Box<dyn BufRead>,
    format: Format,
    name: &str,
    on_row: &mut dyn FnMut(Row) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    match format {
        Format::Tsv | Format::Ndjson => read_lines(reader, format, name, on_row, on_fault),
        Format::Csv => read_csv(reader, name, on_row, on_fault),
    }
}

fn read_lines(
    mut reader: Box<dyn BufRead>,
    format: Format,
    name: &str,
    on_row: &mut dyn FnMut(Row) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::with_capacity(256);
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {name} after line {line}"))?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        let mut bytes = buf.as_slice();
        bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.is_empty() {
            continue;
        }
        let parsed = match std::str::from_utf8(bytes) {
            Err(e) => Err(format!(
                "invalid UTF-8 at byte {} of the line; re-encode the input as UTF-8",
                e.valid_up_to()
            )),
            Ok(text) => match format {
                Format::Tsv => parse_tsv(text),
                _ => parse_ndjson(text),
            },
        };
        dispatch(line, parsed, on_row, on_fault)?;
    }
}

type Parsed = std::result::Result<(String, u64, Option<String>, Vec<String>), String>;

/// Hands a parsed line to the row or the fault callback.
fn dispatch(
    line: u64,
    parsed: Parsed,
    on_row: &mut dyn FnMut(Row) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    match parsed {
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

fn parse_tsv(text: &str) -> Parsed {
    let mut fields = text.splitn(4, '\t');
    let phrase = fields.next().unwrap_or_default();
    let Some(score) = fields.next() else {
        return Err(
            "missing score: expected phrase<TAB>score[<TAB>payload-json[<TAB>categories]]"
                .to_string(),
        );
    };
    let score = parse_score(score)?;
    // A payload is always a JSON object, so a third column that does not start like JSON can
    // only be categories (`phrase<TAB>score<TAB>cat1,cat2` needs no empty payload column).
    let (payload, categories) = match (fields.next(), fields.next()) {
        (None, _) => (None, ""),
        (Some(third), fourth) if third.trim_start().starts_with(['{', '[']) => {
            (Some(parse_payload(third)?), fourth.unwrap_or(""))
        }
        (Some(third), None) => (None, third),
        (Some(third), Some(fourth)) if third.trim().is_empty() => (None, fourth),
        (Some(_), Some(_)) => {
            return Err(
                "the third column must be a JSON object payload (or empty) when a fourth \
                 (categories) follows"
                    .to_string(),
            )
        }
    };
    Ok((
        phrase.to_string(),
        score,
        payload,
        split_categories(categories),
    ))
}

fn parse_ndjson(text: &str) -> Parsed {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Some(object) = value.as_object() else {
        return Err("expected a JSON object {\"phrase\": ..., \"score\": ...}".to_string());
    };
    let phrase = match object.get("phrase") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(_) => return Err("\"phrase\" must be a string".to_string()),
        None => return Err("missing \"phrase\"".to_string()),
    };
    let score = match object.get("score") {
        None | Some(serde_json::Value::Null) => return Err("missing score".to_string()),
        Some(serde_json::Value::Number(n)) => {
            if let Some(v) = n.as_u64() {
                v
            } else if n.as_i64().is_some() || n.as_f64().is_some_and(|f| f < 0.0) {
                return Err(format!(
                    "negative score {n}: scores are non-negative integers"
                ));
            } else {
                return Err(format!(
                    "non-integer score {n}: scores are non-negative integers"
                ));
            }
        }
        Some(serde_json::Value::String(s)) => parse_score(s)?,
        Some(other) => return Err(format!("score must be an integer, got {other}")),
    };
    let payload = match object.get("payload") {
        None | Some(serde_json::Value::Null) => None,
        Some(v @ serde_json::Value::Object(_)) => Some(v.to_string()),
        Some(_) => return Err("\"payload\" must be a JSON object".to_string()),
    };
    let categories = match object.get("categories") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|c| match c {
                serde_json::Value::String(s) => Ok(s.clone()),
                other => Err(format!("categories must be strings, got {other}")),
            })
            .collect::<std::result::Result<_, _>>()?,
        Some(serde_json::Value::String(s)) => split_categories(s),
        Some(_) => return Err("\"categories\" must be an array of strings".to_string()),
    };
    Ok((phrase, score, payload, categories))
}

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
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        Err(format!("score {shown:?} is over the maximum {}", u64::MAX))
    } else {
        Err(format!(
            "non-integer score {shown:?}: scores are non-negative integers"
        ))
    }
}

/// Splits a comma-separated category list, trimming spaces and dropping empty items.
fn split_categories(raw: &str) -> Vec<String> {
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

fn read_csv(
    reader: Box<dyn BufRead>,
    name: &str,
    on_row: &mut dyn FnMut(Row) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let headers = csv
        .byte_headers()
        .with_context(|| format!("cannot read the CSV header of {name}"))?
        .clone();
    let column = |wanted: &str| {
        headers.iter().position(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .eq_ignore_ascii_case(wanted)
        })
    };
    let (Some(phrase_col), Some(score_col)) = (column("phrase"), column("score")) else {
        bail!(
            "{name}: the CSV header must name the columns `phrase` and `score` (found: {})",
            String::from_utf8_lossy(headers.as_slice())
        );
    };
    let payload_col = column("payload");
    let categories_col = column("categories");
    let mut record = csv::ByteRecord::new();
    loop {
        let more = match csv.read_byte_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                on_fault(Fault {
                    line,
                    message: format!("malformed CSV: {e}"),
                })?;
                continue;
            }
        };
        if !more {
            return Ok(());
        }
        let line = record.position().map_or(0, |p| p.line());
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
        let parsed = (|| -> Parsed {
            let phrase = field(phrase_col).map_err(|e| format!("phrase: {e}"))?;
            let score = match record.get(score_col) {
                None => return Err("missing score".to_string()),
                Some(_) => parse_score(field(score_col)?)?,
            };
            let payload = match payload_col.and_then(|c| record.get(c).map(|_| c)) {
                Some(c) if !field(c)?.trim().is_empty() => Some(parse_payload(field(c)?)?),
                _ => None,
            };
            let categories = match categories_col.and_then(|c| record.get(c).map(|_| c)) {
                Some(c) => split_categories(field(c)?),
                None => Vec::new(),
            };
            Ok((phrase.to_string(), score, payload, categories))
        })();
        dispatch(line, parsed, on_row, on_fault)?;
    }
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
    fn formats_from_names() {
        assert_eq!(Format::from_path(Path::new("a.TSV.gz")), Some(Format::Tsv));
        assert_eq!(Format::from_path(Path::new("a.csv")), Some(Format::Csv));
        assert_eq!(
            Format::from_path(Path::new("a.jsonl")),
            Some(Format::Ndjson)
        );
        assert_eq!(Format::from_path(Path::new("a.bin")), None);
    }
}
