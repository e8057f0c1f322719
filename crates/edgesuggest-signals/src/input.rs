//! Reading event inputs: NDJSON files (plain or gzip), stdin (`-`), and Parquet files through
//! one dispatch point. Every event reaches one callback, good or bad, with its line number.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

use xxhash_rust::xxh3::Xxh3;

use crate::batch::{Batch, Prepared};
use crate::event::{EventRef, MAX_LINE_BYTES};
use crate::hash::FastState;
use crate::ndjson::RawEvent;
use crate::SignalsError;

/// Decoded batches in flight between the reader thread and the applying thread: enough to
/// smooth out uneven lines, few enough to bound memory.
const BATCHES_IN_FLIGHT: usize = 4;
/// Read buffer of the reader thread.
const READ_BUFFER: usize = 1 << 18;

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

/// One decoded event, or why its line is bad.
pub enum Decoded<'a> {
    /// An NDJSON event, decoded by the reader thread into a batch.
    Prepared(&'a Batch, &'a Prepared),
    /// A Parquet event.
    Owned(EventRef<'a, String>),
}

/// What an input delivers, one call per line (or Parquet row), in input order: its 1-based
/// number and the event or the reason the line is bad.
pub type OnEvent<'f> = dyn FnMut(u64, Result<Decoded<'_>, String>) -> Result<(), SignalsError> + 'f;

/// Reads every event of `source`; NDJSON texts are hashed with `hasher` (see
/// [`crate::aggregate::Aggregator::text_hasher`]). Returns the xxh3 of the raw bytes read
/// (files only: what the state records to skip a retried input). Errors only when the input
/// cannot be read.
pub fn read_source(
    source: &Source,
    hasher: FastState,
    on_event: &mut OnEvent,
) -> Result<u64, SignalsError> {
    if source.is_parquet() {
        return read_parquet(source, on_event);
    }
    let (raw, path): (Box<dyn Read + Send>, PathBuf) = match source {
        Source::Stdin => (Box::new(io::stdin()), PathBuf::from("-")),
        Source::File(path) => (
            Box::new(File::open(path).map_err(|e| SignalsError::io(path, e))?),
            path.clone(),
        ),
    };
    read_ndjson(raw, hasher, on_event).map_err(|e| match e {
        LineError::Io(e) => SignalsError::io(&path, e),
        LineError::Callback(e) => e,
    })
}

/// Reads NDJSON in two stages, so decoding and applying use both cores: a reader thread
/// reads, splits and decodes lines into batches, and this thread hands their events, in
/// order, to `on_event`. Returns the raw input's xxh3.
fn read_ndjson(
    raw: Box<dyn Read + Send>,
    hasher: FastState,
    on_event: &mut OnEvent,
) -> Result<u64, LineError> {
    let (full_tx, full_rx) = sync_channel(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = channel();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || decode_input(raw, hasher, &full_tx, &empty_rx));
        // Returning drops the receiver, which stops the reader at its next batch.
        let applied = apply_batches(full_rx, &empty_tx, on_event);
        let digest = match reader.join() {
            Ok(digest) => digest,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        applied.map(|()| digest)
    })
}

/// What the reader thread sends: a batch, or the error that stopped reading.
type Message = Result<Batch, io::Error>;

/// The applying stage: every line of every batch to `on_event`, the batch then sent back for
/// reuse; stops at the reader's error, or at the first error of `on_event`.
fn apply_batches(
    full: Receiver<Message>,
    empty: &Sender<Batch>,
    on_event: &mut OnEvent,
) -> Result<(), LineError> {
    for message in full {
        let mut batch = message.map_err(LineError::Io)?;
        let mut items = std::mem::take(&mut batch.items);
        for item in &mut items {
            let decoded = match &mut item.outcome {
                Ok(event) => Ok(Decoded::Prepared(&batch, event)),
                Err(why) => Err(std::mem::take(why)),
            };
            on_event(item.line, decoded).map_err(LineError::Callback)?;
        }
        batch.items = items;
        batch.clear();
        // The reader may have finished already: then the batch is simply dropped.
        let _ = empty.send(batch);
    }
    Ok(())
}

/// The reading stage: decodes the whole input into batches sent on `full`, reusing those
/// coming back on `empty`. Returns the raw input's xxh3 (of what was read, if stopped early).
fn decode_input(
    raw: Box<dyn Read + Send>,
    hasher: FastState,
    full: &SyncSender<Message>,
    empty: &Receiver<Batch>,
) -> u64 {
    let mut hashing = Hashing {
        inner: raw,
        hasher: Xxh3::new(),
    };
    let mut batch = Batch::default();
    let outcome = open_text(&mut hashing).and_then(|mut reader| {
        read_lines(reader.as_mut(), &mut |line, bytes| {
            decode_line(line, bytes, &mut batch, &hasher);
            if !batch.is_full() {
                return true;
            }
            let next = empty.try_recv().unwrap_or_default();
            full.send(Ok(std::mem::replace(&mut batch, next))).is_ok()
        })
    });
    // A failed send means the applying stage stopped: nothing is waiting for these. The lines
    // before an error are applied before it, as when reading was one stage.
    if full.send(Ok(batch)).is_ok() {
        if let Err(e) = outcome {
            let _ = full.send(Err(e));
        }
    }
    hashing.hasher.digest()
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
    let mut reader = BufReader::with_capacity(READ_BUFFER, raw);
    let head = loop {
        match reader.fill_buf() {
            Ok(head) => break head,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(reader);
        Ok(Box::new(BufReader::with_capacity(
            READ_BUFFER,
            GzipErrors(gz),
        )))
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
pub enum Line {
    /// The end of the input.
    End,
    /// A line, without its `\n`, is in the buffer.
    Read,
    /// Over the limit: read to its end without being kept. Its length.
    TooLong(u64),
}

/// A line's bytes, or the length of a line over [`MAX_LINE_BYTES`].
type LineBytes<'l> = Result<&'l [u8], u64>;

/// Splits the input into lines, each handed to `on_line` with its 1-based number, until the
/// end or until `on_line` returns false. A line whole in the read buffer is not copied.
fn read_lines(
    reader: &mut dyn BufRead,
    on_line: &mut dyn FnMut(u64, LineBytes) -> bool,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(512);
    let mut line = 0u64;
    loop {
        let chunk = fill(reader)?;
        if let Some(end) = memchr::memchr(b'\n', chunk).filter(|&end| end <= MAX_LINE_BYTES) {
            line += 1;
            let go_on = on_line(line, Ok(&chunk[..end]));
            reader.consume(end + 1);
            if !go_on {
                return Ok(());
            }
            continue;
        }
        // A line across the buffer's end (or the last one): copied, as long as it is bounded.
        let read = read_line(reader, &mut buf, MAX_LINE_BYTES)?;
        line += 1;
        let go_on = match read {
            Line::End => return Ok(()),
            Line::TooLong(len) => on_line(line, Err(len)),
            Line::Read => on_line(line, Ok(&buf)),
        };
        if !go_on {
            return Ok(());
        }
    }
}

/// The reader's buffered bytes, reading more when there are none.
fn fill(reader: &mut dyn BufRead) -> io::Result<&[u8]> {
    loop {
        match reader.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    // Asked again (it reads nothing now): returning the first answer from inside the loop
    // is a borrow the checker cannot yet see ends.
    reader.fill_buf()
}

fn too_long(len: u64) -> String {
    format!(
        "line is {len} bytes, over the limit of {MAX_LINE_BYTES} (1 MiB); is a newline missing?"
    )
}

/// Decodes one line into the batch; empty lines (and a lone `\r`) are not events.
fn decode_line(line: u64, bytes: LineBytes, batch: &mut Batch, hasher: &FastState) {
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(len) => return batch.push_bad(line, too_long(len)),
    };
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    // A byte-order mark at the start of the file is an editor's, not data.
    let bytes = match line {
        1 => bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes),
        _ => bytes,
    };
    if bytes.is_empty() {
        return;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let why = format!(
                "invalid UTF-8 at byte {} of the line; re-encode the log as UTF-8",
                e.valid_up_to()
            );
            return batch.push_bad(line, why);
        }
    };
    let raw = match RawEvent::parse(text) {
        Ok(raw) => raw,
        Err(why) => return batch.push_bad(line, why),
    };
    match raw.view().and_then(|view| view.validate().map(|()| view)) {
        Ok(view) => batch.push_event(line, &view, hasher),
        Err(why) => batch.push_bad(line, why),
    }
}

/// Reads one line into `buf` (cleared first), keeping at most `max` bytes: a longer line is
/// read to its end without being stored, so memory stays bounded whatever the input.
pub fn read_line(reader: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    buf.clear();
    let (mut len, mut started) = (0u64, false);
    loop {
        let chunk = fill(reader)?;
        if chunk.is_empty() {
            break;
        }
        started = true;
        let newline = memchr::memchr(b'\n', chunk);
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
        let err = read_source(&source, FastState::default(), &mut |_, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("x/events.PARQUET"), "{err}");
    }
}
