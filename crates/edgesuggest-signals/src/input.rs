//! Reading event inputs: NDJSON files (plain or gzip), stdin (`-`), and Parquet files through
//! one dispatch point. Every event reaches one callback, good or bad, with its line number.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3;

use crate::event::{EventRef, MAX_LINE_BYTES};
use crate::ndjson::{RawEvent, Str};
use crate::SignalsError;

/// Where events come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input (`-`): NDJSON, plain or gzip.
    Stdin,
    /// A file: Parquet when its name ends in `.parquet`, else NDJSON (plain or gzip).
    File(PathBuf),
}

impl Source {
    /// `-` is stdin, anything else a file.
    pub fn parse(arg: &Path) -> Source {
        if arg == Path::new("-") {
            Source::Stdin
        } else {
            Source::File(arg.to_path_buf())
        }
    }

    /// The name used in `file:line` messages.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_string(),
            Source::File(p) => p.display().to_string(),
        }
    }

    /// Whether this is a Parquet file (by its name).
    pub fn is_parquet(&self) -> bool {
        match self {
            Source::Stdin => false,
            Source::File(p) => p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("parquet")),
        }
    }
}

/// One decoded event, or why its line is bad. Suggestions are borrowed (NDJSON) or owned
/// (Parquet), hence the two string types.
pub enum Decoded<'a, 'b> {
    /// An NDJSON event, borrowing from the line.
    Json(EventRef<'a, Str<'b>>),
    /// A Parquet event.
    Owned(EventRef<'a, String>),
}

/// What an input delivers, one call per line (or Parquet row): its 1-based number and the
/// event or the reason the line is bad.
pub type OnEvent<'f> =
    dyn FnMut(u64, Result<Decoded<'_, '_>, String>) -> Result<(), SignalsError> + 'f;

/// Reads every event of `source`. Returns the xxh3 of the raw bytes read (files only: what
/// the state records to skip a retried input). Errors only when the input cannot be read.
pub fn read_source(source: &Source, on_event: &mut OnEvent) -> Result<u64, SignalsError> {
    if source.is_parquet() {
        return read_parquet(source, on_event);
    }
    let (raw, path): (Box<dyn Read>, PathBuf) = match source {
        Source::Stdin => (Box::new(io::stdin().lock()), PathBuf::from("-")),
        Source::File(path) => (
            Box::new(File::open(path).map_err(|e| SignalsError::io(path, e))?),
            path.clone(),
        ),
    };
    let mut hashing = Hashing {
        inner: raw,
        hasher: Xxh3::new(),
    };
    let reader = open_text(&mut hashing).map_err(|e| SignalsError::io(&path, e))?;
    read_ndjson(reader, on_event).map_err(|e| match e {
        LineError::Io(e) => SignalsError::io(&path, e),
        LineError::Callback(e) => e,
    })?;
    Ok(hashing.hasher.digest())
}

/// Parquet event files: each row through the one Parquet codec (`parquet::read_events`, which
/// validates every event), and the file's xxh3 for the record of consumed inputs.
fn read_parquet(source: &Source, on_event: &mut OnEvent) -> Result<u64, SignalsError> {
    let Source::File(path) = source else {
        return Err(SignalsError::Input {
            path: PathBuf::from("-"),
            message: "standard input cannot be Parquet: pass the file's path".to_string(),
        });
    };
    let digest = hash_file(path)?;
    crate::parquet::read_events(path, &mut |row, event| match event {
        Ok(event) => on_event(row, Ok(Decoded::Owned(event.view()))),
        Err(reason) => on_event(row, Err(reason)),
    })?;
    Ok(digest)
}

/// The xxh3 of a file's bytes, read in chunks.
fn hash_file(path: &Path) -> Result<u64, SignalsError> {
    let file = File::open(path).map_err(|e| SignalsError::io(path, e))?;
    let mut hashing = Hashing {
        inner: file,
        hasher: Xxh3::new(),
    };
    io::copy(&mut hashing, &mut io::sink()).map_err(|e| SignalsError::io(path, e))?;
    Ok(hashing.hasher.digest())
}

/// Hashes every byte read through it (compressed bytes for gzip: the file's own content).
struct Hashing<R> {
    inner: R,
    hasher: Xxh3,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Buffers a raw input, unwrapping gzip when it starts with the gzip magic bytes (so `.gz`
/// files and gzip on stdin both work, whatever the name says).
fn open_text<'r, R: Read + 'r>(raw: R) -> io::Result<Box<dyn BufRead + 'r>> {
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let head = loop {
        match reader.fill_buf() {
            Ok(head) => break head,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(reader);
        Ok(Box::new(BufReader::with_capacity(1 << 16, GzipErrors(gz))))
    } else {
        Ok(Box::new(reader))
    }
}

/// Says that gzip failed when the decoder does: its own words do not.
struct GzipErrors<R>(R);

impl<R: Read> Read for GzipErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            io::Error::new(
                e.kind(),
                format!("truncated or corrupt gzip data ({e}); compress the file again or fetch a complete copy"),
            )
        })
    }
}

/// Why reading lines stopped: the input, or the callback.
enum LineError {
    Io(io::Error),
    Callback(SignalsError),
}

/// What [`read_line`] found.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    End,
    Read,
    /// Over [`MAX_LINE_BYTES`]: read to its end without being kept. Its length.
    TooLong(u64),
}

/// Reads NDJSON events a line at a time into one reused buffer.
fn read_ndjson(mut reader: Box<dyn BufRead + '_>, on_event: &mut OnEvent) -> Result<(), LineError> {
    let mut buf = Vec::with_capacity(512);
    let mut line = 0u64;
    loop {
        let read = read_line(reader.as_mut(), &mut buf, MAX_LINE_BYTES).map_err(LineError::Io)?;
        line += 1;
        let outcome = match read {
            Line::End => return Ok(()),
            Line::TooLong(len) => on_event(line, Err(too_long(len))),
            Line::Read => decode_line(line, &buf, on_event),
        };
        outcome.map_err(LineError::Callback)?;
    }
}

fn too_long(len: u64) -> String {
    format!(
        "line is {len} bytes, over the limit of {MAX_LINE_BYTES} (1 MiB); is a newline missing?"
    )
}

/// Decodes one line and hands it on; empty lines (and a lone `\r`) are not events.
fn decode_line(line: u64, bytes: &[u8], on_event: &mut OnEvent) -> Result<(), SignalsError> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    // A byte-order mark at the start of the file is an editor's, not data.
    let bytes = match line {
        1 => bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes),
        _ => bytes,
    };
    if bytes.is_empty() {
        return Ok(());
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let why = format!(
                "invalid UTF-8 at byte {} of the line; re-encode the log as UTF-8",
                e.valid_up_to()
            );
            return on_event(line, Err(why));
        }
    };
    let raw = match RawEvent::parse(text) {
        Ok(raw) => raw,
        Err(why) => return on_event(line, Err(why)),
    };
    let decoded = raw
        .view()
        .and_then(|view| view.validate().map(|()| view))
        .map(Decoded::Json);
    on_event(line, decoded)
}

/// Reads one line into `buf` (cleared first), keeping at most `max` bytes: a longer line is
/// read to its end without being stored, so memory stays bounded whatever the input.
fn read_line(reader: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    buf.clear();
    let (mut len, mut started) = (0u64, false);
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        started = true;
        let newline = memchr_newline(chunk);
        let take = newline.unwrap_or(chunk.len());
        len += take as u64;
        if len <= max as u64 {
            buf.extend_from_slice(&chunk[..take]);
        }
        reader.consume(take + usize::from(newline.is_some()));
        if newline.is_some() {
            break;
        }
    }
    Ok(match (started, len > max as u64) {
        (false, _) => Line::End,
        (true, true) => Line::TooLong(len),
        (true, false) => Line::Read,
    })
}

fn memchr_newline(chunk: &[u8]) -> Option<usize> {
    chunk.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded() {
        let mut input: &[u8] = b"ab\nabcdef\nxyz";
        let mut buf = Vec::new();
        let mut next = || read_line(&mut input, &mut buf, 4).unwrap();
        assert_eq!(next(), Line::Read);
        assert_eq!(next(), Line::TooLong(6));
        assert_eq!(next(), Line::Read);
        assert_eq!(next(), Line::End);
    }

    #[test]
    fn parquet_is_chosen_by_extension() {
        let source = Source::parse(Path::new("x/events.PARQUET"));
        assert!(source.is_parquet());
        let err = read_source(&source, &mut |_, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("x/events.PARQUET"), "{err}");
    }
}
