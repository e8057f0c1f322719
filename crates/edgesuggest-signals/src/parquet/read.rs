//! Reading events and scored rows from Parquet, a record batch at a time.

use std::fs::File;
use std::path::Path;

use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use super::columns::{Floats, Ints, Kind, StrLists, Strs, Text};
use super::pages;
use crate::{Event, EventType, SignalsError};

/// Rows decoded at a time: large enough to amortize the per-batch work, small enough that a
/// batch of long strings stays a few MB.
const BATCH_ROWS: usize = 8192;

/// A column a reader looks for.
struct Want {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn want(name: &'static str, kind: Kind, required: bool) -> Want {
    Want {
        name,
        kind,
        required,
    }
}

/// The event columns of `docs/EVENTS.md`.
const EVENT_COLUMNS: &[Want] = &[
    want("ts", Kind::Int, true),
    want("type", Kind::Text, true),
    want("user", Kind::Text, true),
    want("q", Kind::Text, false),
    want("results", Kind::Int, false),
    want("suggestions", Kind::TextList, false),
    want("text", Kind::Text, false),
    want("position", Kind::Int, false),
    want("response_id", Kind::Text, false),
    want("variant", Kind::Text, false),
    want("index", Kind::Text, false),
    want("version", Kind::TextOrInt, false),
    want("session", Kind::Text, false),
    want("experiment", Kind::Text, false),
    want("event_id", Kind::Text, false),
    want("received_ts", Kind::Int, false),
    want("took_us", Kind::Int, false),
    want("error", Kind::Text, false),
];

/// The columns `edgesuggest build` reads from a Parquet rows file.
const ROW_COLUMNS: &[Want] = &[
    want("phrase", Kind::Text, true),
    want("score", Kind::Score, true),
    want("payload", Kind::Text, false),
    want("categories", Kind::TextOrTextList, false),
];

/// Opens `path`, checks the wanted columns' presence and types, and returns a reader of just
/// those columns.
fn open(path: &Path, wants: &[Want]) -> Result<ParquetRecordBatchReader, SignalsError> {
    let file = File::open(path).map_err(|source| SignalsError::io(path, source))?;
    let io = |source| SignalsError::io(path, source);
    let builder = ParquetRecordBatchReaderBuilder::try_new(file.try_clone().map_err(io)?);
    let builder = builder.map_err(|e| {
        SignalsError::Parquet(format!(
            "{}: not a readable Parquet file ({e}); is it truncated or in another format? \
             Write it again, or pass the right file",
            path.display()
        ))
    })?;
    let roots = find_columns(path, builder.schema().fields(), wants)?;
    pages::check(path, &file, builder.metadata(), &roots)?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| SignalsError::Parquet(format!("{}: cannot read: {e}", path.display())))
}

/// The indices of the wanted columns that are present, after checking that each required one
/// is, that none is named twice, and that each has a type its role accepts.
fn find_columns(
    path: &Path,
    fields: &arrow_schema::Fields,
    wants: &[Want],
) -> Result<Vec<usize>, SignalsError> {
    let mut roots = Vec::new();
    for w in wants {
        let mut found = fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name() == w.name);
        let Some((at, field)) = found.next() else {
            if w.required {
                return Err(column_error(path, w, "is missing", fields));
            }
            continue;
        };
        if found.next().is_some() {
            return Err(column_error(path, w, "is named twice", fields));
        }
        if !w.kind.accepts(field.data_type()) {
            let what = format!("has type {}", field.data_type());
            return Err(column_error(path, w, &what, fields));
        }
        roots.push(at);
    }
    Ok(roots)
}

fn column_error(path: &Path, w: &Want, what: &str, fields: &arrow_schema::Fields) -> SignalsError {
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    SignalsError::Parquet(format!(
        "{}: column `{}` {what}; expected a column `{}` of type {} (the file has: {})",
        path.display(),
        w.name,
        w.name,
        w.kind.expected(),
        names.join(", ")
    ))
}

/// Hands each record batch of `reader` to `on_batch`, turning a read failure into an error
/// that names the file and the last good row.
fn for_each_batch<E: From<SignalsError>>(
    path: &Path,
    reader: ParquetRecordBatchReader,
    on_batch: &mut dyn FnMut(&Batch) -> Result<u64, E>,
) -> Result<(), E> {
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| {
            SignalsError::Parquet(format!(
                "{}: cannot read past row {rows}: {e}; the file is corrupt or truncated",
                path.display()
            ))
        })?;
        rows += on_batch(&Batch {
            batch: &batch,
            path,
        })?;
    }
    Ok(())
}

/// One batch's columns by name.
struct Batch<'a> {
    batch: &'a RecordBatch,
    path: &'a Path,
}

impl<'a> Batch<'a> {
    /// Column `name` through `view`: `Ok(None)` when the file has no such column, an error
    /// when the batch's array is not of the type the schema promised.
    fn column<T>(
        &self,
        name: &str,
        view: impl Fn(&'a dyn Array) -> Option<T>,
    ) -> Result<Option<T>, SignalsError> {
        let Some(array) = self.batch.column_by_name(name) else {
            return Ok(None);
        };
        view(array.as_ref()).map(Some).ok_or_else(|| {
            SignalsError::Parquet(format!(
                "{}: column `{name}` holds {} values, not the type its schema declares",
                self.path.display(),
                array.data_type()
            ))
        })
    }

    /// A column the reader checked is present.
    fn required<T>(
        &self,
        name: &str,
        view: impl Fn(&'a dyn Array) -> Option<T>,
    ) -> Result<T, SignalsError> {
        self.column(name, view)?.ok_or_else(|| {
            SignalsError::Parquet(format!(
                "{}: column `{name}` is missing from a record batch",
                self.path.display()
            ))
        })
    }
}

/// Reads a Parquet event file (`docs/EVENTS.md`), calling `on_event` with each row's 1-based
/// number and its event, or the reason the row is bad (a null in a required column, a
/// negative number, a rule of [`Event::validate`]). A file-level problem (unreadable, a
/// required column missing or of the wrong type) is an `Err`; so is an `Err` of `on_event`,
/// which stops the reading.
pub fn read_events(
    path: &Path,
    on_event: &mut dyn FnMut(u64, Result<Event, String>) -> Result<(), SignalsError>,
) -> Result<(), SignalsError> {
    let reader = open(path, EVENT_COLUMNS)?;
    let mut row = 0u64;
    for_each_batch(path, reader, &mut |b| {
        let columns = EventColumns::new(b)?;
        for i in 0..b.batch.num_rows() {
            row += 1;
            on_event(row, columns.event(i))?;
        }
        Ok(b.batch.num_rows() as u64)
    })
}

/// The event columns of one batch.
struct EventColumns<'a> {
    ts: Ints,
    kind: Strs<'a>,
    user: Strs<'a>,
    q: Option<Strs<'a>>,
    results: Option<Ints>,
    suggestions: Option<StrLists<'a>>,
    text: Option<Strs<'a>>,
    position: Option<Ints>,
    response_id: Option<Strs<'a>>,
    variant: Option<Strs<'a>>,
    index: Option<Strs<'a>>,
    version: Option<Text<'a>>,
    session: Option<Strs<'a>>,
    experiment: Option<Strs<'a>>,
    event_id: Option<Strs<'a>>,
    received_ts: Option<Ints>,
    took_us: Option<Ints>,
    error: Option<Strs<'a>>,
}

impl<'a> EventColumns<'a> {
    fn new(b: &Batch<'a>) -> Result<Self, SignalsError> {
        Ok(EventColumns {
            ts: b.required("ts", Ints::new)?,
            kind: b.required("type", Strs::new)?,
            user: b.required("user", Strs::new)?,
            q: b.column("q", Strs::new)?,
            results: b.column("results", Ints::new)?,
            suggestions: b.column("suggestions", StrLists::new)?,
            text: b.column("text", Strs::new)?,
            position: b.column("position", Ints::new)?,
            response_id: b.column("response_id", Strs::new)?,
            variant: b.column("variant", Strs::new)?,
            index: b.column("index", Strs::new)?,
            version: b.column("version", Text::new)?,
            session: b.column("session", Strs::new)?,
            experiment: b.column("experiment", Strs::new)?,
            event_id: b.column("event_id", Strs::new)?,
            received_ts: b.column("received_ts", Ints::new)?,
            took_us: b.column("took_us", Ints::new)?,
            error: b.column("error", Strs::new)?,
        })
    }

    /// Row `i` as a valid event, or why it is bad.
    fn event(&self, i: usize) -> Result<Event, String> {
        let ts = count(Some(&self.ts), i, "ts")?
            .ok_or("\"ts\" is null: every event needs its time (milliseconds since the epoch)")?;
        let kind = self
            .kind
            .get(i)
            .ok_or("\"type\" is null: every event needs one (search, impression or click)")?;
        let user = self
            .user
            .get(i)
            .ok_or("\"user\" is null: every event needs one")?;
        let suggestions = match &self.suggestions {
            Some(lists) => lists.get(i, "suggestions").transpose()?,
            None => None,
        };
        let event = Event {
            ts,
            kind: EventType::parse(kind)?,
            user: user.to_string(),
            q: text(&self.q, i),
            results: count(self.results.as_ref(), i, "results")?,
            suggestions,
            text: text(&self.text, i),
            position: count(self.position.as_ref(), i, "position")?,
            response_id: text(&self.response_id, i),
            variant: text(&self.variant, i),
            index: text(&self.index, i),
            version: self.version.as_ref().and_then(|v| v.get(i)),
            session: text(&self.session, i),
            experiment: text(&self.experiment, i),
            event_id: text(&self.event_id, i),
            received_ts: count(self.received_ts.as_ref(), i, "received_ts")?,
            took_us: count(self.took_us.as_ref(), i, "took_us")?,
            error: text(&self.error, i),
        };
        event.validate()?;
        Ok(event)
    }
}

/// An optional text column's value at row `i`.
fn text(column: &Option<Strs>, i: usize) -> Option<String> {
    column.and_then(|c| c.get(i)).map(str::to_string)
}

/// An optional non-negative integer column's value at row `i`.
fn count(column: Option<&Ints>, i: usize, name: &str) -> Result<Option<u64>, String> {
    match column.and_then(|c| c.get(i)) {
        None => Ok(None),
        Some(v) => u64::try_from(v)
            .map(Some)
            .map_err(|_| format!("negative \"{name}\" {v}: it must be 0 or more")),
    }
}

/// One row of a Parquet rows file, as `edgesuggest build` reads it. The payload and the
/// categories are handed over as stored: the caller applies the same rules as to its other
/// formats (a payload is a JSON object; text categories are comma-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoredRow {
    /// The phrase.
    pub phrase: String,
    /// Its score.
    pub score: u64,
    /// The `payload` column's text, when present and not null.
    pub payload: Option<String>,
    /// The `categories` column, when present and not null.
    pub categories: Option<Categories>,
}

/// A row's categories as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Categories {
    /// A LIST of UTF8: one category an item.
    List(Vec<String>),
    /// A UTF8 value: comma-separated categories, as in TSV.
    Text(String),
}

/// Reads a Parquet rows file: columns `phrase` (UTF8) and `score` (any integer type, or a
/// float holding a non-negative whole number), optionally `payload` (UTF8) and `categories`
/// (LIST of UTF8, or UTF8); other columns are ignored. Calls `on_row` with each row's 1-based
/// number and the row or why it is bad (null phrase or score, negative or fractional score,
/// a null category in a list). A file-level problem is an `Err`, as is an `Err` of `on_row`.
pub fn read_rows<E: From<SignalsError>>(
    path: &Path,
    on_row: &mut dyn FnMut(u64, Result<ScoredRow, String>) -> Result<(), E>,
) -> Result<(), E> {
    let reader = open(path, ROW_COLUMNS)?;
    let mut row = 0u64;
    for_each_batch(path, reader, &mut |b| {
        let columns = RowColumns::new(b)?;
        for i in 0..b.batch.num_rows() {
            row += 1;
            on_row(row, columns.row(i))?;
        }
        Ok(b.batch.num_rows() as u64)
    })
}

/// The row columns of one batch.
struct RowColumns<'a> {
    phrase: Strs<'a>,
    score: Scores,
    payload: Option<Strs<'a>>,
    categories: Option<CategoryColumn<'a>>,
}

/// A score column: integers or floats.
enum Scores {
    Int(Ints),
    Float(Floats),
}

/// A categories column: lists, or comma-separated text.
enum CategoryColumn<'a> {
    List(StrLists<'a>),
    Text(Strs<'a>),
}

impl<'a> RowColumns<'a> {
    fn new(b: &Batch<'a>) -> Result<Self, SignalsError> {
        let score = |a: &'a dyn Array| {
            Ints::new(a)
                .map(Scores::Int)
                .or_else(|| Floats::new(a).map(Scores::Float))
        };
        let categories = |a: &'a dyn Array| {
            StrLists::new(a)
                .map(CategoryColumn::List)
                .or_else(|| Strs::new(a).map(CategoryColumn::Text))
        };
        Ok(RowColumns {
            phrase: b.required("phrase", Strs::new)?,
            score: b.required("score", score)?,
            payload: b.column("payload", Strs::new)?,
            categories: b.column("categories", categories)?,
        })
    }

    /// Row `i`, or why it is bad.
    fn row(&self, i: usize) -> Result<ScoredRow, String> {
        let phrase = self.phrase.get(i).ok_or("\"phrase\" is null")?;
        let score = match &self.score {
            Scores::Int(ints) => ints.get(i).map(int_score),
            Scores::Float(floats) => floats.get(i).map(float_score),
        };
        let categories = match &self.categories {
            Some(CategoryColumn::List(lists)) => lists
                .get(i, "categories")
                .transpose()?
                .map(Categories::List),
            Some(CategoryColumn::Text(text)) => {
                text.get(i).map(|t| Categories::Text(t.to_string()))
            }
            None => None,
        };
        Ok(ScoredRow {
            phrase: phrase.to_string(),
            score: score.ok_or("missing score (null)")??,
            payload: text(&self.payload, i),
            categories,
        })
    }
}

/// A score stored as an integer: non-negative.
fn int_score(v: i128) -> Result<u64, String> {
    u64::try_from(v).map_err(|_| {
        if v < 0 {
            format!("negative score {v}: scores are non-negative integers")
        } else {
            format!("score {v} is over the maximum {}", u64::MAX)
        }
    })
}

/// The smallest value over `u64::MAX` (2^64).
const OVER_U64: f64 = 18_446_744_073_709_551_616.0;

/// A score stored as a float: a non-negative whole number below 2^64.
fn float_score(v: f64) -> Result<u64, String> {
    if v.is_nan() || (v.is_finite() && v.fract() != 0.0) {
        Err(format!(
            "non-integer score {v}: scores are non-negative integers"
        ))
    } else if v < 0.0 {
        Err(format!(
            "negative score {v}: scores are non-negative integers"
        ))
    } else if v >= OVER_U64 {
        Err(format!("score {v} is over the maximum {}", u64::MAX))
    } else {
        // Exact: a whole number in 0..2^64.
        Ok(v as u64)
    }
}
