//! Writing events and aggregated rows as Snappy-compressed Parquet, atomically: a temporary
//! file in the target's directory, synced, then renamed over the target, so a reader never
//! sees half a file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use tempfile::NamedTempFile;

use crate::{Event, RowOut, SignalsError};

/// Events buffered before they are handed to the Parquet writer as one record batch.
const BATCH_ROWS: usize = 8192;

/// The event schema of `docs/EVENTS.md`: `ts`, `type` and `user` not null, the rest nullable.
fn event_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let int = |name: &str, nullable: bool| Field::new(name, DataType::Int64, nullable);
    let list = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    Arc::new(Schema::new(vec![
        int("ts", false),
        text("type", false),
        text("user", false),
        text("q", true),
        int("results", true),
        Field::new("suggestions", list, true),
        text("text", true),
        int("position", true),
        text("response_id", true),
        text("variant", true),
        text("index", true),
        text("version", true),
        text("session", true),
        text("experiment", true),
        text("event_id", true),
        int("received_ts", true),
        int("took_us", true),
        text("error", true),
    ]))
}

/// The aggregation's rows schema (`docs/SIGNALS.md`, Outputs).
fn rows_schema() -> SchemaRef {
    let f64_col = |name: &str| Field::new(name, DataType::Float64, false);
    Arc::new(Schema::new(vec![
        Field::new("phrase", DataType::Utf8, false),
        Field::new("score", DataType::Int64, false),
        f64_col("popularity"),
        Field::new("users", DataType::Int64, false),
        f64_col("impressions"),
        f64_col("clicks"),
        f64_col("ctr"),
    ]))
}

/// A Parquet error while writing `path`.
fn write_error(path: &Path, e: impl std::fmt::Display) -> SignalsError {
    SignalsError::Parquet(format!("{}: cannot write Parquet: {e}", path.display()))
}

/// A Parquet writer into a temporary file beside `path`.
fn temp_writer(path: &Path, schema: SchemaRef) -> Result<ArrowWriter<NamedTempFile>, SignalsError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".edgesuggest-")
        .suffix(".parquet.tmp")
        .tempfile_in(dir)
        .map_err(|source| SignalsError::io(dir, source))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    ArrowWriter::try_new(tmp, schema, Some(props)).map_err(|e| write_error(path, e))
}

/// Closes the Parquet writer, syncs the temporary file and renames it to `path`.
fn finish_atomically(path: &Path, writer: ArrowWriter<NamedTempFile>) -> Result<(), SignalsError> {
    let tmp = writer.into_inner().map_err(|e| write_error(path, e))?;
    let io = |source| SignalsError::io(path, source);
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Writes events to a Parquet file a batch at a time (bounded memory, however many events).
/// Nothing appears at the path until [`EventWriter::finish`]; dropping the writer without it
/// leaves no file behind.
pub struct EventWriter {
    path: PathBuf,
    writer: ArrowWriter<NamedTempFile>,
    schema: SchemaRef,
    batch: EventBatch,
}

impl EventWriter {
    /// Starts a file at `path` (created in its directory, which must exist).
    pub fn create(path: &Path) -> Result<Self, SignalsError> {
        let schema = event_schema();
        Ok(EventWriter {
            path: path.to_path_buf(),
            writer: temp_writer(path, schema.clone())?,
            schema,
            batch: EventBatch::default(),
        })
    }

    /// Adds one event. Numbers must fit the schema's INT64 (`Event::validate` ensures `ts`
    /// does).
    pub fn push(&mut self, event: &Event) -> Result<(), SignalsError> {
        self.batch
            .push(event)
            .map_err(|e| write_error(&self.path, e))?;
        if self.batch.rows == BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), SignalsError> {
        let batch = self.batch.finish(self.schema.clone());
        let batch = batch.map_err(|e| write_error(&self.path, e))?;
        self.writer
            .write(&batch)
            .map_err(|e| write_error(&self.path, e))
    }

    /// Writes what is buffered, closes the file and moves it to its path.
    pub fn finish(mut self) -> Result<(), SignalsError> {
        if self.batch.rows > 0 {
            self.flush_batch()?;
        }
        finish_atomically(&self.path, self.writer)
    }
}

/// Column builders for one batch of events.
#[derive(Default)]
struct EventBatch {
    rows: usize,
    ts: Int64Builder,
    kind: StringBuilder,
    user: StringBuilder,
    q: StringBuilder,
    results: Int64Builder,
    suggestions: ListBuilder<StringBuilder>,
    text: StringBuilder,
    position: Int64Builder,
    response_id: StringBuilder,
    variant: StringBuilder,
    index: StringBuilder,
    version: StringBuilder,
    session: StringBuilder,
    experiment: StringBuilder,
    event_id: StringBuilder,
    received_ts: Int64Builder,
    took_us: Int64Builder,
    error: StringBuilder,
}

/// A `u64` for an INT64 column.
fn int64(name: &str, v: u64) -> Result<i64, String> {
    i64::try_from(v).map_err(|_| format!("\"{name}\" {v} does not fit INT64"))
}

impl EventBatch {
    fn push(&mut self, e: &Event) -> Result<(), String> {
        let opt_int = |name: &str, v: Option<u64>| v.map(|v| int64(name, v)).transpose();
        let (results, position) = (
            opt_int("results", e.results)?,
            opt_int("position", e.position)?,
        );
        let (received_ts, took_us) = (
            opt_int("received_ts", e.received_ts)?,
            opt_int("took_us", e.took_us)?,
        );
        self.ts.append_value(int64("ts", e.ts)?);
        self.kind.append_value(e.kind.as_str());
        self.user.append_value(&e.user);
        self.q.append_option(e.q.as_deref());
        self.results.append_option(results);
        match &e.suggestions {
            Some(list) => {
                list.iter()
                    .for_each(|s| self.suggestions.values().append_value(s));
                self.suggestions.append(true);
            }
            None => self.suggestions.append(false),
        }
        self.text.append_option(e.text.as_deref());
        self.position.append_option(position);
        self.response_id.append_option(e.response_id.as_deref());
        self.variant.append_option(e.variant.as_deref());
        self.index.append_option(e.index.as_deref());
        self.version.append_option(e.version.as_deref());
        self.session.append_option(e.session.as_deref());
        self.experiment.append_option(e.experiment.as_deref());
        self.event_id.append_option(e.event_id.as_deref());
        self.received_ts.append_option(received_ts);
        self.took_us.append_option(took_us);
        self.error.append_option(e.error.as_deref());
        self.rows += 1;
        Ok(())
    }

    /// The buffered events as a record batch; the builders start empty again.
    fn finish(&mut self, schema: SchemaRef) -> Result<RecordBatch, arrow_schema::ArrowError> {
        self.rows = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.ts.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.q.finish()),
            Arc::new(self.results.finish()),
            Arc::new(self.suggestions.finish()),
            Arc::new(self.text.finish()),
            Arc::new(self.position.finish()),
            Arc::new(self.response_id.finish()),
            Arc::new(self.variant.finish()),
            Arc::new(self.index.finish()),
            Arc::new(self.version.finish()),
            Arc::new(self.session.finish()),
            Arc::new(self.experiment.finish()),
            Arc::new(self.event_id.finish()),
            Arc::new(self.received_ts.finish()),
            Arc::new(self.took_us.finish()),
            Arc::new(self.error.finish()),
        ];
        RecordBatch::try_new(schema, columns)
    }
}

/// Writes `events` to a Parquet file at `path` in the schema of `docs/EVENTS.md` (Snappy),
/// atomically. For more events than fit in memory, use [`EventWriter`].
pub fn write_events(path: &Path, events: &[Event]) -> Result<(), SignalsError> {
    let mut writer = EventWriter::create(path)?;
    for event in events {
        writer.push(event)?;
    }
    writer.finish()
}

/// Writes the aggregation's rows to a Parquet file at `path` (Snappy), atomically: columns
/// `phrase` UTF8, `score` INT64, `popularity` DOUBLE, `users` INT64, `impressions`, `clicks`,
/// `ctr` DOUBLE, in the order given.
pub fn write_rows(path: &Path, rows: &[RowOut]) -> Result<(), SignalsError> {
    let ints = |name: &str, get: fn(&RowOut) -> u64| -> Result<ArrayRef, SignalsError> {
        let values: Result<Vec<i64>, String> = rows.iter().map(|r| int64(name, get(r))).collect();
        let values = values.map_err(|e| write_error(path, e))?;
        Ok(Arc::new(Int64Array::from(values)))
    };
    let floats = |get: fn(&RowOut) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(
            rows.iter().map(get).collect::<Vec<f64>>(),
        ))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| &r.phrase),
        )),
        ints("score", |r| r.score)?,
        floats(|r| r.popularity),
        ints("users", |r| r.users)?,
        floats(|r| r.impressions),
        floats(|r| r.clicks),
        floats(|r| r.ctr),
    ];
    let schema = rows_schema();
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| write_error(path, e))?;
    let mut writer = temp_writer(path, schema)?;
    writer.write(&batch).map_err(|e| write_error(path, e))?;
    finish_atomically(path, writer)
}
