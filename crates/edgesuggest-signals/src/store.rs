//! The state's database: `DIR/state.redb`, a `redb` B-tree file. Every record is reached by
//! key, so a run reads the keys its events name and writes what it changed, in one
//! transaction (all or nothing), whatever the length of the history.
//!
//! Tables: `meta` (format version, half-life, watermark, last change-set mark, key count),
//! `keys` (key → its sums, users and forms, and what the change sets told `build --delta`
//! about it), `due` ((due time, key): the decay queue), `dirty` (keys touched since the
//! last change set), `dedup` ((day, key hash, user hash) counted, the last two days), and
//! `inputs` / `input_order` (the inputs already aggregated, the oldest forgotten past
//! [`MAX_CONSUMED`]). Records are `postcard` bytes.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use redb::{
    Database, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition, WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::state::{Changes, Consumed, KeyState, Meta, Published, FORMAT_VERSION, MAX_CONSUMED};
use crate::SignalsError;

type Str = &'static str;
type Bytes = &'static [u8];

const META: TableDefinition<Str, Bytes> = TableDefinition::new("meta");
const KEYS: TableDefinition<Str, Bytes> = TableDefinition::new("keys");
const DUE: TableDefinition<(u64, Str), ()> = TableDefinition::new("due");
const DIRTY: TableDefinition<Str, ()> = TableDefinition::new("dirty");
const DEDUP: TableDefinition<(u64, u64, u64), ()> = TableDefinition::new("dedup");
const INPUTS: TableDefinition<(Str, u64, u64), u64> = TableDefinition::new("inputs");
const INPUT_ORDER: TableDefinition<u64, (Str, u64, u64)> = TableDefinition::new("input_order");

const FORMAT_KEY: &str = "format";
const META_KEY: &str = "meta";

/// An open state database, with a snapshot to read this run's lookups from.
pub(crate) struct Store {
    /// The open database; `None` once closed. Closing is guarded as every other operation
    /// is: redb commits its free-page bookkeeping on close, reading pages a damaged file may
    /// hold anything in.
    open: Option<Open>,
    path: PathBuf,
    /// A database created by this run: written beside the final path and renamed over it
    /// once the first transaction is committed, so a failed first run leaves no state.
    pending: Option<tempfile::TempPath>,
}

/// An open database and the tables this run reads.
struct Open {
    // Fields drop in order: the tables and their snapshot before the database.
    keys: ReadOnlyTable<Str, Bytes>,
    dedup: ReadOnlyTable<(u64, u64, u64), ()>,
    inputs: ReadOnlyTable<(Str, u64, u64), u64>,
    /// Reads see the state as the run found it.
    _read: ReadTransaction,
    db: Database,
}

impl Drop for Store {
    /// Closes the database if [`Store::close`] did not: a damaged file's error is dropped
    /// with it, as whatever dropped the store has already returned its result or error.
    fn drop(&mut self) {
        let _closed = self.shut();
    }
}

/// A state error naming the database: what failed, why, and what to do.
fn damaged(path: &Path, what: &str, e: impl Display) -> SignalsError {
    SignalsError::State {
        path: path.to_path_buf(),
        message: format!(
            "{what}: {e}; the state is damaged or not an edgesuggest state: restore a backup or \
             start a new state directory"
        ),
    }
}

std::thread_local! {
    /// Set while this thread runs a [`guard`]ed database operation: its panics are errors.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs one database operation, turning a panic inside it into a "damaged" error: `redb`
/// trusts the pages of its file (a damaged page can make it index out of bounds or read bad
/// UTF-8), and a damaged state must be reported, never crash the run. The panic message goes
/// into the error instead of stderr; panics elsewhere reach the usual hook.
fn guard<T>(path: &Path, f: impl FnOnce() -> Result<T, SignalsError>) -> Result<T, SignalsError> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(|g| g.get()) {
                previous(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a page could not be decoded".to_string());
        Err(damaged(path, "cannot read the state", message))
    })
}

fn decode<T: DeserializeOwned>(path: &Path, what: &str, bytes: &[u8]) -> Result<T, SignalsError> {
    postcard::from_bytes(bytes).map_err(|e| damaged(path, what, e))
}

fn encode<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>, SignalsError> {
    postcard::to_stdvec(value).map_err(|e| damaged(path, "cannot encode a record", e))
}

impl Store {
    // The `*_raw` methods below are the unguarded bodies of the methods above.
    /// Opens the database at `path`; `None` when there is none yet.
    pub(crate) fn open(path: &Path) -> Result<Option<Store>, SignalsError> {
        guard(path, || Store::open_raw(path))
    }

    /// Creates an empty database for `path` (in a temporary file beside it until the first
    /// write is committed).
    pub(crate) fn create(path: &Path) -> Result<Store, SignalsError> {
        guard(path, || Store::create_raw(path))
    }

    /// The metadata.
    pub(crate) fn meta(&self) -> Result<Meta, SignalsError> {
        guard(&self.path, || self.meta_raw())
    }

    /// A stored key and its published entry.
    pub(crate) fn key(
        &self,
        key: &str,
    ) -> Result<Option<(KeyState, Option<Published>)>, SignalsError> {
        guard(&self.path, || self.key_raw(key))
    }

    /// Whether the user (hash) searched the key (hash) on that day in an earlier run.
    pub(crate) fn searched(&self, day: u64, key: u64, user: u64) -> Result<bool, SignalsError> {
        guard(&self.path, || self.searched_raw(day, key, user))
    }

    /// Every stored key, in key order.
    pub(crate) fn all_keys(&self) -> Result<Vec<String>, SignalsError> {
        guard(&self.path, || self.all_keys_raw())
    }

    /// The stored dirty keys.
    pub(crate) fn dirty_keys(&self) -> Result<Vec<String>, SignalsError> {
        guard(&self.path, || self.dirty_keys_raw())
    }

    /// The published keys due by `now`.
    pub(crate) fn due_keys(&self, now: u64) -> Result<Vec<String>, SignalsError> {
        guard(&self.path, || self.due_keys_raw(now))
    }

    /// Whether a stored input has this path and size.
    pub(crate) fn consumed_like(&self, input: &Consumed) -> Result<bool, SignalsError> {
        guard(&self.path, || self.consumed_like_raw(input))
    }

    /// Whether this exact input is stored.
    pub(crate) fn consumed(&self, input: &Consumed) -> Result<bool, SignalsError> {
        guard(&self.path, || self.consumed_raw(input))
    }

    /// Writes a run's changes in one transaction, then (for a new database) moves it in place.
    pub(crate) fn write(&mut self, changes: &Changes) -> Result<(), SignalsError> {
        let path = self.path.clone();
        guard(&path, || self.write_raw(changes))
    }

    /// Closes the database, committing redb's own bookkeeping: a damaged file's panic there
    /// is an error, as anywhere else.
    pub(crate) fn close(mut self) -> Result<(), SignalsError> {
        self.shut()
    }

    /// Drops the open database, if still open, under [`guard`].
    fn shut(&mut self) -> Result<(), SignalsError> {
        let open = self.open.take();
        guard(&self.path, || {
            drop(open);
            Ok(())
        })
    }

    /// Every table in key order, as one canonical byte string.
    pub(crate) fn dump(&self) -> Result<Vec<u8>, SignalsError> {
        guard(&self.path, || self.dump_raw())
    }

    fn open_raw(path: &Path) -> Result<Option<Store>, SignalsError> {
        if !path.exists() {
            return Ok(None);
        }
        let db = Database::open(path).map_err(|e| damaged(path, "cannot open the state", e))?;
        Store::with(db, path, None).map(Some)
    }

    fn create_raw(path: &Path) -> Result<Store, SignalsError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".state-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| SignalsError::io(dir, e))?;
        let (file, tmp) = tmp.into_parts();
        let db = redb::backends::FileBackend::new(file)
            .and_then(|backend| Database::builder().create_with_backend(backend))
            .map_err(|e| damaged(path, "cannot create the state", e))?;
        let txn = db
            .begin_write()
            .map_err(|e| damaged(path, "cannot write the state", e))?;
        create_tables(&txn, path)?;
        txn.commit()
            .map_err(|e| damaged(path, "cannot write the state", e))?;
        Store::with(db, path, Some(tmp))
    }

    fn with(
        db: Database,
        path: &Path,
        pending: Option<tempfile::TempPath>,
    ) -> Result<Store, SignalsError> {
        let fail = |e: &dyn Display| damaged(path, "cannot read the state", e);
        let read = db.begin_read().map_err(|e| fail(&e))?;
        let meta = read.open_table(META).map_err(|e| fail(&e))?;
        let format = meta.get(FORMAT_KEY).map_err(|e| fail(&e))?;
        let format = format.map(|v| v.value().to_vec()).unwrap_or_default();
        check_format(path, &format)?;
        let open = Open {
            keys: read.open_table(KEYS).map_err(|e| fail(&e))?,
            dedup: read.open_table(DEDUP).map_err(|e| fail(&e))?,
            inputs: read.open_table(INPUTS).map_err(|e| fail(&e))?,
            _read: read,
            db,
        };
        Ok(Store {
            open: Some(open),
            path: path.to_path_buf(),
            pending,
        })
    }

    fn fail(&self, e: impl Display) -> SignalsError {
        damaged(&self.path, "cannot read the state", e)
    }

    /// The open database: always there until the store is closed, which takes it.
    fn tables(&self) -> Result<&Open, SignalsError> {
        self.open
            .as_ref()
            .ok_or_else(|| self.fail("the database is already closed"))
    }

    fn meta_raw(&self) -> Result<Meta, SignalsError> {
        let read = self.tables()?.db.begin_read().map_err(|e| self.fail(e))?;
        let table = read.open_table(META).map_err(|e| self.fail(e))?;
        match table.get(META_KEY).map_err(|e| self.fail(e))? {
            Some(bytes) => decode(&self.path, "the metadata", bytes.value()),
            None => Ok(Meta::default()),
        }
    }

    fn key_raw(&self, key: &str) -> Result<Option<(KeyState, Option<Published>)>, SignalsError> {
        let Some(bytes) = self.tables()?.keys.get(key).map_err(|e| self.fail(e))? else {
            return Ok(None);
        };
        let (mut state, published): (KeyState, Option<Published>) =
            decode(&self.path, "a key's record", bytes.value())?;
        state.key = key.to_string();
        Ok(Some((state, published)))
    }

    fn searched_raw(&self, day: u64, key: u64, user: u64) -> Result<bool, SignalsError> {
        let found = self
            .tables()?
            .dedup
            .get((day, key, user))
            .map_err(|e| self.fail(e))?;
        Ok(found.is_some())
    }

    fn all_keys_raw(&self) -> Result<Vec<String>, SignalsError> {
        let mut out = Vec::new();
        for entry in self.tables()?.keys.iter().map_err(|e| self.fail(e))? {
            let (key, _) = entry.map_err(|e| self.fail(e))?;
            out.push(key.value().to_string());
        }
        Ok(out)
    }

    fn dirty_keys_raw(&self) -> Result<Vec<String>, SignalsError> {
        let read = self.tables()?.db.begin_read().map_err(|e| self.fail(e))?;
        let table = read.open_table(DIRTY).map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| self.fail(e))? {
            let (key, _) = entry.map_err(|e| self.fail(e))?;
            out.push(key.value().to_string());
        }
        Ok(out)
    }

    fn due_keys_raw(&self, now: u64) -> Result<Vec<String>, SignalsError> {
        let read = self.tables()?.db.begin_read().map_err(|e| self.fail(e))?;
        let table = read.open_table(DUE).map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| self.fail(e))? {
            let (due, _) = entry.map_err(|e| self.fail(e))?;
            let (time, key) = due.value();
            if time > now {
                break;
            }
            out.push(key.to_string());
        }
        Ok(out)
    }

    fn consumed_like_raw(&self, input: &Consumed) -> Result<bool, SignalsError> {
        let (path, size) = (input.path.as_str(), input.size);
        let mut range = self
            .tables()?
            .inputs
            .range((path, size, 0)..=(path, size, u64::MAX))
            .map_err(|e| self.fail(e))?;
        Ok(range.next().is_some())
    }

    fn consumed_raw(&self, input: &Consumed) -> Result<bool, SignalsError> {
        let key = (input.path.as_str(), input.size, input.hash);
        Ok(self
            .tables()?
            .inputs
            .get(key)
            .map_err(|e| self.fail(e))?
            .is_some())
    }

    fn write_raw(&mut self, changes: &Changes) -> Result<(), SignalsError> {
        let path = self.path.clone();
        let fail = |e: &dyn Display| damaged(&path, "cannot write the state", e);
        let txn = self.tables()?.db.begin_write().map_err(|e| fail(&e))?;
        // The dedup pairs and dirty keys are gathered and sorted on a second core while this
        // one writes the keys: sorted, their inserts are sequential.
        let (dirty, pairs) = std::thread::scope(|scope| {
            let sorted = scope.spawn(|| (changes.dirty_keys(), changes.dedup()));
            let written = write_keys(&txn, changes, &path);
            let sorted = sorted
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            written.map(|()| sorted)
        })?;
        write_dirty(&txn, changes.changes_made(), &dirty, &path)?;
        write_dedup(&txn, changes.oldest_kept_day(), &pairs, &path)?;
        write_inputs(&txn, changes, &path)?;
        write_meta(&txn, changes, &path)?;
        txn.commit().map_err(|e| fail(&e))?;
        if let Some(tmp) = self.pending.take() {
            tmp.persist(&path)
                .map_err(|e| SignalsError::io(&path, e.error))?;
            sync_dir(&path);
        }
        Ok(())
    }

    fn dump_raw(&self) -> Result<Vec<u8>, SignalsError> {
        let read = self.tables()?.db.begin_read().map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        let fail = |e: &dyn Display| damaged(&self.path, "cannot read the state", e);
        macro_rules! dump_table {
            ($def:expr) => {{
                let table = read.open_table($def).map_err(|e| fail(&e))?;
                for entry in table.iter().map_err(|e| fail(&e))? {
                    let (k, v) = entry.map_err(|e| fail(&e))?;
                    let pair = (k.value(), v.value());
                    out.extend(encode(&self.path, &pair)?);
                }
                out.push(0xff);
            }};
        }
        dump_table!(META);
        dump_table!(KEYS);
        dump_table!(DUE);
        dump_table!(DIRTY);
        dump_table!(DEDUP);
        dump_table!(INPUTS);
        Ok(out)
    }
}

/// Makes the rename of a new database durable where directories can be synced.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
}

fn check_format(path: &Path, format: &[u8]) -> Result<(), SignalsError> {
    let version = match format {
        [a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]),
        _ => return Err(damaged(path, "no format version", "missing")),
    };
    if version != FORMAT_VERSION {
        return Err(SignalsError::State {
            path: path.to_path_buf(),
            message: format!(
                "state format version {version}, this build reads version {FORMAT_VERSION}; use \
                 the edgesuggest that wrote it, or start a new state directory"
            ),
        });
    }
    Ok(())
}

/// Creates every table and records the format version.
fn create_tables(txn: &WriteTransaction, path: &Path) -> Result<(), SignalsError> {
    let fail = |e: &dyn Display| damaged(path, "cannot create the state", e);
    let mut meta = txn.open_table(META).map_err(|e| fail(&e))?;
    meta.insert(FORMAT_KEY, FORMAT_VERSION.to_le_bytes().as_slice())
        .map_err(|e| fail(&e))?;
    txn.open_table(KEYS).map_err(|e| fail(&e))?;
    txn.open_table(DUE).map_err(|e| fail(&e))?;
    txn.open_table(DIRTY).map_err(|e| fail(&e))?;
    txn.open_table(DEDUP).map_err(|e| fail(&e))?;
    txn.open_table(INPUTS).map_err(|e| fail(&e))?;
    txn.open_table(INPUT_ORDER).map_err(|e| fail(&e))?;
    Ok(())
}

/// Each key to write back: its record (with its published entry), and its queue entry moved
/// when its due time changed.
fn write_keys(txn: &WriteTransaction, changes: &Changes, path: &Path) -> Result<(), SignalsError> {
    let fail = |e: &dyn Display| damaged(path, "cannot write the state", e);
    let state = changes.state;
    let mut keys = txn.open_table(KEYS).map_err(|e| fail(&e))?;
    let mut due = txn.open_table(DUE).map_err(|e| fail(&e))?;
    for id in changes.keys_to_write() {
        let key = &state.keys[id as usize];
        let name = key.key.as_str();
        let published = state.published.get(&id);
        let record = encode(path, &(key, published))?;
        keys.insert(name, record.as_slice()).map_err(|e| fail(&e))?;
        let old = changes.stored_published(id).map(|p| p.due);
        let new = published.map(|p| p.due);
        if old != new {
            if let Some(old) = old {
                due.remove((old, name)).map_err(|e| fail(&e))?;
            }
            if let Some(new) = new {
                due.insert((new, name), ()).map_err(|e| fail(&e))?;
            }
        }
    }
    Ok(())
}

/// The keys touched since the last change set (`dirty`, sorted): the stored ones are spent
/// when this run made a change set.
fn write_dirty(
    txn: &WriteTransaction,
    changes_made: bool,
    dirty: &[&str],
    path: &Path,
) -> Result<(), SignalsError> {
    let fail = |e: &dyn Display| damaged(path, "cannot write the state", e);
    let mut table = txn.open_table(DIRTY).map_err(|e| fail(&e))?;
    if changes_made {
        table.retain(|_, _| false).map_err(|e| fail(&e))?;
    }
    for &key in dirty {
        table.insert(key, ()).map_err(|e| fail(&e))?;
    }
    Ok(())
}

/// The dedup pairs of the last two days: days before `oldest` dropped, this run's `pairs`
/// (sorted) added.
fn write_dedup(
    txn: &WriteTransaction,
    oldest: u64,
    pairs: &[(u64, u64, u64)],
    path: &Path,
) -> Result<(), SignalsError> {
    let fail = |e: &dyn Display| damaged(path, "cannot write the state", e);
    let mut dedup = txn.open_table(DEDUP).map_err(|e| fail(&e))?;
    dedup
        .retain_in(..(oldest, 0u64, 0u64), |_, _| false)
        .map_err(|e| fail(&e))?;
    for &pair in pairs {
        dedup.insert(pair, ()).map_err(|e| fail(&e))?;
    }
    Ok(())
}

/// This run's inputs, the oldest forgotten past [`MAX_CONSUMED`].
fn write_inputs(
    txn: &WriteTransaction,
    changes: &Changes,
    path: &Path,
) -> Result<(), SignalsError> {
    let fail = |e: &dyn Display| damaged(path, "cannot write the state", e);
    let mut inputs = txn.open_table(INPUTS).map_err(|e| fail(&e))?;
    let mut order = txn.open_table(INPUT_ORDER).map_err(|e| fail(&e))?;
    let mut next = match order.last().map_err(|e| fail(&e))? {
        Some((seq, _)) => seq.value() + 1,
        None => 0,
    };
    for c in &changes.state.consumed {
        let key = (c.path.as_str(), c.size, c.hash);
        if inputs.insert(key, next).map_err(|e| fail(&e))?.is_none() {
            order.insert(next, key).map_err(|e| fail(&e))?;
            next += 1;
        }
    }
    while inputs.len().map_err(|e| fail(&e))? > MAX_CONSUMED as u64 {
        let Some((_, oldest)) = order.pop_first().map_err(|e| fail(&e))? else {
            break;
        };
        inputs.remove(oldest.value()).map_err(|e| fail(&e))?;
    }
    Ok(())
}

/// The metadata: half-life, watermark, change-set mark, key count.
fn write_meta(txn: &WriteTransaction, changes: &Changes, path: &Path) -> Result<(), SignalsError> {
    let fail = |e: &dyn Display| damaged(path, "cannot write the state", e);
    let state = changes.state;
    let meta = Meta {
        half_life_ms: state.half_life_ms,
        watermark: state.watermark,
        changes_mark: state.changes_mark.clone(),
        key_count: state.key_count(),
    };
    let mut table = txn.open_table(META).map_err(|e| fail(&e))?;
    table
        .insert(META_KEY, encode(path, &meta)?.as_slice())
        .map_err(|e| fail(&e))?;
    Ok(())
}
