//! Reading event inputs: NDJSON files (plain or gzip), stdin (`-`), and Parquet files through
//! one dispatch point. Every event reaches one callback, good or bad, with its line number.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

use xxhash_rust::xxh3::Xxh3;

use crate::batch::{Batch, Prepared};
use crate::event::MAX_LINE_BYTES;
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

/// The names a directory argument picks up (case-insensitive): the worker's minute files
/// and what `edgesuggest-loggen` writes.
const EVENT_SUFFIXES: [&str; 3] = [".ndjson", ".ndjson.gz", ".parquet"];

/// The sources of the command-line inputs, in order: `-` is stdin (once at most), a file is
/// itself, and a directory stands for every `*.ndjson`, `*.ndjson.gz` and `*.parquet` under it,
/// recursively, in sorted path order (minute files `events/YYYY/MM/DD/HH/mm/<id>.ndjson.gz`
/// then come in time order). Fails before anything is read on a missing input, a second `-`,
/// or a directory without event files.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<Source>, SignalsError> {
    let mut sources = Vec::new();
    for input in inputs {
        match Source::parse(input) {
            Source::Stdin if sources.contains(&Source::Stdin) => {
                return Err(SignalsError::Input {
                    path: PathBuf::from("-"),
                    message: "`-` (stdin) can be given only once".to_string(),
                });
            }
            Source::Stdin => sources.push(Source::Stdin),
            Source::File(path) => {
                let meta = std::fs::metadata(&path).map_err(|e| SignalsError::io(&path, e))?;
                if !meta.is_dir() {
                    sources.push(Source::File(path));
                    continue;
                }
                let files = event_files_under(&path)?;
                if files.is_empty() {
                    return Err(SignalsError::Input {
                        path,
                        message: "is a directory without *.ndjson, *.ndjson.gz or *.parquet \
                                  files under it; pass the directory that holds the logs"
                            .to_string(),
                    });
                }
                sources.extend(files.into_iter().map(Source::File));
            }
        }
    }
    Ok(sources)
}

/// Every event file under `dir`, recursively, sorted by path. Symbolic links to files count;
/// links to directories are not followed (a link cycle would never end).
fn event_files_under(dir: &Path) -> Result<Vec<PathBuf>, SignalsError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| SignalsError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| SignalsError::io(&dir, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| SignalsError::io(&path, e))?;
            if kind.is_dir() {
                pending.push(path);
            } else if is_event_file(&path) && (kind.is_file() || path.is_file()) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Whether a file name ends in one of [`EVENT_SUFFIXES`].
fn is_event_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    EVENT_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

/// One decoded event, or why its line is bad.
pub enum Decoded<'a> {
    /// An event, decoded by the reader thread into a batch.
    Prepared(&'a Batch, &'a Prepared),
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
        return read_parquet_batches(source, hasher, on_event);
    }
    let decode =
        move |batch: &mut Batch, line: u64, text: &str| decode_event(line, text, batch, &hasher);
    read_ndjson_batches(
        source,
        Decoding::Balanced,
        decode,
        &mut |batch: &mut Batch| apply_items(batch, on_event),
    )
}

/// Every line of a batch to `on_event`, in order, up to the first error.
fn apply_items(batch: &mut Batch, on_event: &mut OnEvent) -> Result<(), SignalsError> {
    let mut items = std::mem::take(&mut batch.items);
    let mut outcome = Ok(());
    for item in &mut items {
        let decoded = match &mut item.outcome {
            Ok(event) => Ok(Decoded::Prepared(batch, event)),
            Err(why) => Err(std::mem::take(why)),
        };
        outcome = on_event(item.line, decoded);
        if outcome.is_err() {
            break;
        }
    }
    batch.items = items;
    outcome
}

/// A Parquet input in the two stages NDJSON has: a reader thread decodes rows (pages, Arrow
/// arrays, the schema's checks) into batches, hashing their texts with `hasher`; this thread
/// applies them in row order. Decoding alone kept one core busy while the other waited.
/// Returns the file's xxh3.
fn read_parquet_batches(
    source: &Source,
    hasher: FastState,
    on_event: &mut OnEvent,
) -> Result<u64, SignalsError> {
    let (full_tx, full_rx) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = channel::<Batch>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || decode_parquet(source, &hasher, &full_tx, &empty_rx));
        let mut applied = Ok(());
        // Returning early drops the receiver, which stops the reader at its next batch.
        for mut batch in full_rx {
            applied = apply_items(&mut batch, on_event);
            if applied.is_err() {
                break;
            }
            batch.clear();
            // The reader may have finished already: then the batch is simply dropped.
            let _ = empty_tx.send(batch);
        }
        let read = match reader.join() {
            Ok(read) => read,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        // An applying error stopped the reader: it is the one to report.
        applied.and(read)
    })
}

/// The reading stage of [`read_parquet_batches`]: the rows before a read error are sent
/// before it, as when reading was one stage.
fn decode_parquet(
    source: &Source,
    hasher: &FastState,
    full: &SyncSender<Batch>,
    empty: &Receiver<Batch>,
) -> Result<u64, SignalsError> {
    let mut batch = Batch::default();
    let read = read_parquet(source, &mut |row, event| {
        match event {
            Ok(event) => batch.push_event(row, &event.view(), hasher),
            Err(why) => batch.push_bad(row, why),
        }
        if batch.is_full() {
            let next = empty.try_recv().unwrap_or_default();
            if full.send(std::mem::replace(&mut batch, next)).is_err() {
                return Err(SignalsError::Parquet(
                    "reading stopped: the events already read were refused".to_string(),
                ));
            }
        }
        Ok(())
    });
    let _ = full.send(batch);
    read
}

/// What the reader thread fills: decoded lines of one input, in order, handed over whole to
/// the applying thread and sent back empty for reuse (so its allocations are kept).
pub trait LineBatch: Default + Send {
    /// Adds a bad line with the reason.
    fn push_bad(&mut self, line: u64, why: String);
    /// Whether the batch should be handed over now.
    fn is_full(&self) -> bool;
    /// Empties the batch, keeping its allocations.
    fn clear(&mut self);
}

impl LineBatch for Batch {
    fn push_bad(&mut self, line: u64, why: String) {
        Batch::push_bad(self, line, why);
    }

    fn is_full(&self) -> bool {
        Batch::is_full(self)
    }

    fn clear(&mut self) {
        Batch::clear(self);
    }
}

/// Who decodes the lines of an NDJSON input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    /// The reader thread decodes, and hands the next batch over as framed lines whenever the
    /// applying thread has taken every batch sent (it is waiting): for an applying stage with
    /// work of its own (the aggregation), where which stage is slower depends on the events
    /// and the machine, so that the faster one takes a share of the decoding.
    Balanced,
    /// The reader thread decodes every other batch and hands the others over as framed lines
    /// for the applying thread to decode: for an applying stage that does little per event
    /// (the report), where decoding alone would keep one core busy and the other idle.
    Shared,
}

/// Reads an NDJSON input (a file, plain or gzip, or stdin) in two stages, so decoding and
/// applying use both cores: a reader thread splits lines, checks their framing (length,
/// UTF-8, empty lines) and `decode`s each into a batch (or, with [`Decoding::Shared`], every
/// other batch is decoded by the applying thread); this thread hands every batch, in input
/// order, to `on_batch`. Returns the xxh3 of the raw bytes read.
pub fn read_ndjson_batches<B, D>(
    source: &Source,
    decoding: Decoding,
    decode: D,
    on_batch: &mut dyn FnMut(&mut B) -> Result<(), SignalsError>,
) -> Result<u64, SignalsError>
where
    B: LineBatch,
    D: Fn(&mut B, u64, &str) + Sync,
{
    let (raw, path): (Box<dyn Read + Send>, PathBuf) = match source {
        Source::Stdin => (Box::new(io::stdin()), PathBuf::from("-")),
        Source::File(path) => (
            Box::new(File::open(path).map_err(|e| SignalsError::io(path, e))?),
            path.clone(),
        ),
    };
    read_ndjson(raw, decoding, &decode, on_batch).map_err(|e| match e {
        LineError::Io(e) => SignalsError::io(&path, e),
        LineError::Callback(e) => e,
    })
}

/// The two stages of [`read_ndjson_batches`].
fn read_ndjson<B, D>(
    raw: Box<dyn Read + Send>,
    decoding: Decoding,
    decode: &D,
    on_batch: &mut dyn FnMut(&mut B) -> Result<(), SignalsError>,
) -> Result<u64, LineError>
where
    B: LineBatch,
    D: Fn(&mut B, u64, &str) + Sync,
{
    let (full_tx, full_rx) = sync_channel(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = channel();
    let in_flight = AtomicUsize::new(0);
    let pipe = Pipe {
        full: full_tx,
        in_flight: &in_flight,
    };
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || decode_input(raw, decoding, decode, &pipe, &empty_rx));
        // Returning drops the receiver, which stops the reader at its next batch.
        let applied = apply_batches(full_rx, &in_flight, &empty_tx, decode, on_batch);
        let digest = match reader.join() {
            Ok(digest) => digest,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        applied.map(|()| digest)
    })
}

/// Lines framed by the reader thread, left for the applying thread to decode: their text
/// in one buffer, each with its number and range, or why its framing is bad.
#[derive(Debug, Default)]
struct RawLines {
    text: String,
    lines: Vec<(u64, Framed)>,
}

/// A framed line: its byte range in [`RawLines`]' buffer, or why its framing is bad.
type Framed = Result<(u32, u32), String>;

/// Lines and bytes of [`RawLines`] past which they are handed over (as a decoded batch's).
const RAW_LINES: usize = crate::batch::BATCH_LINES;
const RAW_BYTES: usize = 1 << 22;

impl RawLines {
    fn push(&mut self, line: u64, text: Result<Option<&str>, String>) {
        match text {
            Ok(None) => {}
            Ok(Some(text)) => {
                let start = self.text.len() as u32;
                self.text.push_str(text);
                self.lines.push((line, Ok((start, self.text.len() as u32))));
            }
            Err(why) => self.lines.push((line, Err(why))),
        }
    }

    fn is_full(&self) -> bool {
        self.lines.len() >= RAW_LINES || self.text.len() >= RAW_BYTES
    }

    /// Decodes every line into `batch`, in order.
    fn decode_into<B: LineBatch>(self, batch: &mut B, decode: &dyn Fn(&mut B, u64, &str)) {
        for (line, framed) in self.lines {
            let text = framed.map(|(start, end)| self.text.get(start as usize..end as usize));
            match text {
                Ok(Some(text)) => decode(batch, line, text),
                // Ranges are the buffer's own: a miss cannot happen, and is not an event.
                Ok(None) => {}
                Err(why) => batch.push_bad(line, why),
            }
        }
    }
}

/// The reader thread's end of the hand-over, counting what the applying thread has not taken.
struct Pipe<'c, B> {
    full: SyncSender<Message<B>>,
    in_flight: &'c AtomicUsize,
}

impl<B> Pipe<'_, B> {
    /// Sends a message; false when the applying stage has stopped.
    fn send(&self, message: Message<B>) -> bool {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.full.send(message).is_ok()
    }

    /// Whether the applying thread has taken every message sent: it is waiting for the next.
    fn caught_up(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0
    }
}

/// What the reader thread sends: a decoded batch, lines to decode, or the error that stopped
/// reading.
enum Message<B> {
    Decoded(B),
    Raw(RawLines),
    Failed(io::Error),
}

/// The applying stage: every batch to `on_batch` (decoding the raw ones first), then sent
/// back for reuse; stops at the reader's error, or at the first error of `on_batch`.
fn apply_batches<B: LineBatch>(
    full: Receiver<Message<B>>,
    in_flight: &AtomicUsize,
    empty: &Sender<B>,
    decode: &dyn Fn(&mut B, u64, &str),
    on_batch: &mut dyn FnMut(&mut B) -> Result<(), SignalsError>,
) -> Result<(), LineError> {
    let mut own = B::default();
    for message in full {
        in_flight.fetch_sub(1, Ordering::Relaxed);
        match message {
            Message::Failed(e) => return Err(LineError::Io(e)),
            Message::Decoded(mut batch) => {
                on_batch(&mut batch).map_err(LineError::Callback)?;
                batch.clear();
                // The reader may have finished already: then the batch is simply dropped.
                let _ = empty.send(batch);
            }
            Message::Raw(lines) => {
                lines.decode_into(&mut own, decode);
                on_batch(&mut own).map_err(LineError::Callback)?;
                own.clear();
            }
        }
    }
    Ok(())
}

/// The reading stage: decodes the whole input into batches sent on `full` (with
/// [`Decoding::Shared`], every other one as framed lines instead, and with
/// [`Decoding::Balanced`] the one after each decoded batch the applying thread was waiting
/// for), reusing the batches coming back on `empty`. Returns the raw input's xxh3 (of what was
/// read, if stopped early).
fn decode_input<B, D>(
    raw: Box<dyn Read + Send>,
    decoding: Decoding,
    decode: &D,
    full: &Pipe<'_, B>,
    empty: &Receiver<B>,
) -> u64
where
    B: LineBatch,
    D: Fn(&mut B, u64, &str),
{
    let mut hashing = Hashing {
        inner: raw,
        hasher: Xxh3::new(),
    };
    let mut batch = B::default();
    let mut lines: Option<RawLines> = None;
    let outcome = open_text(&mut hashing).and_then(|mut reader| {
        read_lines(reader.as_mut(), &mut |line, bytes| {
            let text = line_text(line, bytes);
            if let Some(raw) = &mut lines {
                raw.push(line, text);
                if !raw.is_full() {
                    return true;
                }
                return lines.take().is_some_and(|raw| full.send(Message::Raw(raw)));
            }
            match text {
                Ok(Some(text)) => decode(&mut batch, line, text),
                Ok(None) => {}
                Err(why) => batch.push_bad(line, why),
            }
            if !batch.is_full() {
                return true;
            }
            let hand_over = match decoding {
                Decoding::Shared => true,
                Decoding::Balanced => full.caught_up(),
            };
            lines = hand_over.then(RawLines::default);
            let next = empty.try_recv().unwrap_or_default();
            full.send(Message::Decoded(std::mem::replace(&mut batch, next)))
        })
    });
    // A failed send means the applying stage stopped: nothing is waiting for these. The lines
    // before an error are applied before it, as when reading was one stage.
    let last = match lines {
        Some(raw) => Message::Raw(raw),
        None => Message::Decoded(batch),
    };
    if full.send(last) {
        if let Err(e) = outcome {
            full.send(Message::Failed(e));
        }
    }
    hashing.hasher.digest()
}

/// What a Parquet reader delivers, one call per row: its 1-based number and the event or the
/// reason the row is bad.
pub type OnRow<'f> = dyn FnMut(u64, Result<crate::Event, String>) -> Result<(), SignalsError> + 'f;

/// Parquet event files: each row through the one Parquet codec (`parquet::read_events`, which
/// validates every event), and the file's xxh3 for the record of consumed inputs.
pub fn read_parquet(source: &Source, on_row: &mut OnRow) -> Result<u64, SignalsError> {
    let Source::File(path) = source else {
        return Err(SignalsError::Input {
            path: PathBuf::from("-"),
            message: "standard input cannot be Parquet: pass the file's path".to_string(),
        });
    };
    let digest = hash_file(path)?;
    crate::parquet::read_events(path, on_row)?;
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

/// The text of one line: `None` for an empty line (and a lone `\r`), which is not an event;
/// an error for a line over the limit or not UTF-8.
fn line_text(line: u64, bytes: LineBytes<'_>) -> Result<Option<&str>, String> {
    let bytes = bytes.map_err(too_long)?;
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    // A byte-order mark at the start of the file is an editor's, not data.
    let bytes = match line {
        1 => bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes),
        _ => bytes,
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(e) => Err(format!(
            "invalid UTF-8 at byte {} of the line; re-encode the log as UTF-8",
            e.valid_up_to()
        )),
    }
}

/// Decodes one event line into an aggregation batch.
fn decode_event(line: u64, text: &str, batch: &mut Batch, hasher: &FastState) {
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

    /// Lines as decoded: (number, text or why bad); full at 100 lines.
    #[derive(Default)]
    struct Seen(Vec<(u64, Result<String, String>)>);

    impl LineBatch for Seen {
        fn push_bad(&mut self, line: u64, why: String) {
            self.0.push((line, Err(why)));
        }
        fn is_full(&self) -> bool {
            self.0.len() >= 100
        }
        fn clear(&mut self) {
            self.0.clear();
        }
    }

    #[test]
    fn shared_decoding_keeps_every_line_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.ndjson");
        let mut text = Vec::new();
        for i in 1..=10_000u64 {
            match i % 997 {
                0 => text.extend_from_slice(b"\xff\n"),
                1 => text.extend_from_slice(b"\n"),
                _ => text.extend_from_slice(format!("line {i}\n").as_bytes()),
            }
        }
        std::fs::write(&path, &text).unwrap();
        for decoding in [Decoding::Balanced, Decoding::Shared] {
            let mut seen = Vec::new();
            let decode = |b: &mut Seen, line: u64, text: &str| b.0.push((line, Ok(text.into())));
            let source = Source::File(path.clone());
            read_ndjson_batches(&source, decoding, decode, &mut |b: &mut Seen| {
                seen.append(&mut b.0);
                Ok(())
            })
            .unwrap();
            let expected: Vec<(u64, Result<String, String>)> = (1..=10_000u64)
                .filter(|i| i % 997 != 1)
                .map(|i| match i % 997 {
                    0 => (i, Err(String::new())),
                    _ => (i, Ok(format!("line {i}"))),
                })
                .collect();
            assert_eq!(seen.len(), expected.len(), "{decoding:?}");
            for (got, want) in seen.iter().zip(&expected) {
                assert_eq!(got.0, want.0, "{decoding:?}");
                match (&got.1, &want.1) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b),
                    (Err(why), Err(_)) => assert!(why.contains("UTF-8"), "{why}"),
                    other => panic!("{decoding:?} line {}: {other:?}", got.0),
                }
            }
        }
    }

    #[test]
    fn directories_expand_to_sorted_event_files() {
        let dir = tempfile::tempdir().unwrap();
        let minute = |m: &str| dir.path().join("events/2026/12/01/10").join(m);
        for (m, name) in [
            ("02", "b.ndjson.gz"),
            ("01", "z.ndjson"),
            ("01", "a.PARQUET"),
        ] {
            std::fs::create_dir_all(minute(m)).unwrap();
            std::fs::write(minute(m).join(name), "").unwrap();
        }
        std::fs::write(minute("01").join("notes.txt"), "").unwrap();
        let file = dir.path().join("one.ndjson");
        std::fs::write(&file, "").unwrap();
        let inputs = [file.clone(), dir.path().join("events"), PathBuf::from("-")];
        let sources = expand_inputs(&inputs).unwrap();
        let expected = [
            Source::File(file),
            Source::File(minute("01").join("a.PARQUET")),
            Source::File(minute("01").join("z.ndjson")),
            Source::File(minute("02").join("b.ndjson.gz")),
            Source::Stdin,
        ];
        assert_eq!(sources, expected);
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let err = expand_inputs(&[empty]).unwrap_err().to_string();
        assert!(err.contains("without *.ndjson"), "{err}");
        let twice = [PathBuf::from("-"), PathBuf::from("-")];
        assert!(expand_inputs(&twice).is_err());
    }

    #[test]
    fn parquet_is_chosen_by_extension() {
        let source = Source::parse(Path::new("x/events.PARQUET"));
        assert!(source.is_parquet());
        let err = read_source(&source, FastState::default(), &mut |_, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("x/events.PARQUET"), "{err}");
    }
}
