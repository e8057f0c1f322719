//! The incremental state (`DIR/state.redb`): per-key decayed sums, distinct users and forms, the
//! spam-cap dedup pairs of the last two days, the published set with its due-time queue, and the
//! inputs already consumed. Versioned, written in one transaction per run, locked; read and
//! written key by key, so a run's cost follows what it changes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use hyperloglogplus::{HyperLogLog, HyperLogLogPlus};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::hash::FastState;
use crate::params::{Params, DAY_MS};
use crate::store::Store;
use crate::SignalsError;

/// The state database in the state directory.
pub const STATE_FILE: &str = "state.redb";
/// Version of the state's tables and records; a state with another is refused.
pub const FORMAT_VERSION: u32 = 2;
/// Users kept exactly before switching to a sketch.
pub const EXACT_USERS: usize = 64;
/// Surface forms tracked per key.
pub const MAX_FORMS: usize = 32;
/// HyperLogLog++ precision (~0.8% standard error).
pub const HLL_PRECISION: u8 = 14;
/// Consumed inputs remembered (the oldest are forgotten past this: retries are recent).
pub const MAX_CONSUMED: usize = 100_000;

/// A fixed-seed hasher for the sketch, so its estimates are the same in every run and after
/// a save and load (std's `RandomState` would change them).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct FixedState;

/// The hasher [`FixedState`] builds: xxh3 with a fixed seed over what is written.
#[derive(Debug, Default)]
pub struct FixedHasher(u64);

const SKETCH_SEED: u64 = 0x5349_474e_414c_5331;

impl Hasher for FixedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxh3_64_with_seed(bytes, self.0 ^ SKETCH_SEED);
    }
}

impl BuildHasher for FixedState {
    type Hasher = FixedHasher;

    fn build_hasher(&self) -> FixedHasher {
        FixedHasher(0)
    }
}

/// The distinct-user sketch.
pub type Sketch = HyperLogLogPlus<u64, FixedState>;

/// Distinct users of a key: exact up to [`EXACT_USERS`], then a sketch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Users {
    /// Sorted 64-bit hashes of the users.
    Exact(Vec<u64>),
    /// More than [`EXACT_USERS`] users.
    Sketch(Box<Sketch>),
}

impl Users {
    /// Adds a user (by hash).
    pub fn add(&mut self, user: u64) {
        match self {
            Users::Exact(list) => match list.binary_search(&user) {
                Ok(_) => {}
                Err(at) if list.len() < EXACT_USERS => list.insert(at, user),
                Err(_) => *self = Users::Sketch(Box::new(to_sketch(list, user))),
            },
            Users::Sketch(sketch) => sketch.insert(&user),
        }
    }

    /// How many distinct users (estimated past [`EXACT_USERS`]). Reading a sketch merges its
    /// pending hashes, which changes its bytes but never its estimate.
    pub fn count(&mut self) -> u64 {
        match self {
            Users::Exact(list) => list.len() as u64,
            Users::Sketch(sketch) => sketch.count().round().max(0.0) as u64,
        }
    }
}

fn to_sketch(list: &[u64], user: u64) -> Sketch {
    let mut sketch = match Sketch::new(HLL_PRECISION, FixedState) {
        Ok(sketch) => sketch,
        // The precision is a constant within the crate's bounds (4..=18).
        Err(_) => unreachable!("HLL_PRECISION is within 4..=18"),
    };
    for u in list.iter().chain([&user]) {
        sketch.insert(u);
    }
    sketch
}

/// A surface form and its counted searches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Form {
    /// `q` with whitespace runs collapsed to one space, trimmed.
    pub text: String,
    /// Counted searches with this form.
    pub count: u64,
}

/// Everything known about one key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyState {
    /// `normalize_phrase` of the text (stored as the record's key, not in it).
    #[serde(skip)]
    pub key: String,
    /// Last update time `t` of the three sums.
    pub t: u64,
    /// Popularity at `t`.
    pub pop: f64,
    /// Impressions at `t`.
    pub imp: f64,
    /// Clicks at `t`.
    pub clk: f64,
    /// Distinct users.
    pub users: Users,
    /// Tracked surface forms (at most [`MAX_FORMS`]).
    pub forms: Vec<Form>,
}

impl KeyState {
    /// A key with nothing counted yet.
    pub fn new(key: String, t: u64) -> KeyState {
        KeyState {
            key,
            t,
            pop: 0.0,
            imp: 0.0,
            clk: 0.0,
            users: Users::Exact(Vec::new()),
            forms: Vec::new(),
        }
    }

    /// The display form: most counted searches, ties to the smallest bytes; the key itself
    /// when no search was counted (a key only seen in impressions or clicks).
    pub fn display(&self) -> &str {
        self.forms
            .iter()
            .max_by(|a, b| a.count.cmp(&b.count).then_with(|| b.text.cmp(&a.text)))
            .map_or(self.key.as_str(), |f| f.text.as_str())
    }

    /// The three sums read at `now`: `s · d(now − t)`.
    pub fn sums_at(&self, now: u64, params: &Params) -> (f64, f64, f64) {
        let d = params.decay(now as f64 - self.t as f64);
        (self.pop * d, self.imp * d, self.clk * d)
    }
}

/// A published suggestion: what the last change sets told `build --delta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Published {
    /// The display form published.
    pub display: String,
    /// The score published.
    pub score: u64,
    /// When its decay may next change it (ms; `u64::MAX`: never by decay alone).
    pub due: u64,
}

/// An input already aggregated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Consumed {
    /// Its path, made absolute.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// xxh3 of its bytes.
    pub hash: u64,
}

/// What decided the last change set: when a later run's differ, every key is looked at again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesMark {
    /// The reference time `T` of that run.
    pub now: u64,
    /// The options then.
    pub params: Params,
    /// The exclude rules then.
    pub exclude: u64,
}

/// The state: a database in `DIR/state.redb` (see [`crate::store`]) and, in memory, the
/// working set of this run: the keys it touched or had to look at, each with its published
/// entry. Keys are loaded on first use, so a run costs O(new events + keys it changes), not
/// O(history); [`State::load_all`] reads every key when an output needs them all.
#[derive(Default)]
pub struct State {
    /// Half-life the sums were decayed with (0 = a new state, not yet decided).
    pub half_life_ms: u64,
    /// Largest `ts` of every event accepted so far.
    pub watermark: Option<u64>,
    /// The keys in memory, by id (ids are given in the order keys are loaded or created, for
    /// this run only).
    pub keys: Vec<KeyState>,
    /// Key → id, for the keys in memory.
    pub ids: HashMap<String, u32, FastState>,
    /// Day → the (key id, user hash) pairs counted that day by this run (and pairs found
    /// counted before); the last two days only.
    pub dedup: BTreeMap<u64, HashSet<(u32, u64), FastState>>,
    /// Key id → published suggestion, for the keys in memory.
    pub published: HashMap<u32, Published>,
    /// `(due, key id)` of every published key in memory: decay crossings.
    pub due: BTreeSet<(u64, u32)>,
    /// Keys touched since the last change set, among those in memory (the stored ones join
    /// before a change set is made: [`State::load_pending`]).
    pub dirty: BTreeSet<u32>,
    /// The last change set's reference time and options.
    pub changes_mark: Option<ChangesMark>,
    /// Inputs aggregated by this run.
    pub consumed: Vec<Consumed>,
    /// The stored state, when there is one.
    store: Option<Store>,
    /// Keys in the state (stored and new).
    key_count: u64,
    /// Keys read from the store by this run.
    keys_loaded: u64,
    /// The published entry each in-memory key had in the store (to tell what changed).
    stored_published: HashMap<u32, Published, FastState>,
    /// Whether this run changed each in-memory key (events, or created), by id: only those and
    /// the keys whose published entry changed are written back. A flag per key, not a set:
    /// every event sets one.
    modified: Vec<bool>,
    /// Whether each in-memory key came from the store (a new one has no stored dedup pairs).
    from_store: Vec<bool>,
    /// Every stored key is in memory.
    all_loaded: bool,
    /// Whether this run made a change set (the stored dirty set is then spent).
    changes_made: bool,
    /// The first error met reading the store where the caller cannot take one (interning a
    /// key in the middle of an event): the run fails with it before writing anything.
    deferred: Option<SignalsError>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("half_life_ms", &self.half_life_ms)
            .field("watermark", &self.watermark)
            .field("keys in memory", &self.keys.len())
            .field("key_count", &self.key_count)
            .finish_non_exhaustive()
    }
}

impl State {
    /// The path of the state database in `dir`.
    pub fn file(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Opens `DIR/state.redb`, or a new empty state when there is none (created on save). Only
    /// the small metadata is read.
    pub fn load(dir: &Path) -> Result<State, SignalsError> {
        let old = dir.join("state.bin");
        if old.exists() && !State::file(dir).exists() {
            return Err(SignalsError::State {
                path: old,
                message: "state format version 1 (a state.bin file); this build keeps its state \
                          in state.redb: start a new state directory, or use the edgesuggest \
                          that wrote it"
                    .to_string(),
            });
        }
        let Some(store) = Store::open(&State::file(dir))? else {
            return Ok(State::default());
        };
        let meta = store.meta()?;
        Ok(State {
            half_life_ms: meta.half_life_ms,
            watermark: meta.watermark,
            changes_mark: meta.changes_mark,
            key_count: meta.key_count,
            store: Some(store),
            ..State::default()
        })
    }

    /// The id of `key`, loading it from the store or adding it (last updated at `ts`) when new.
    pub fn intern(&mut self, key: &str, ts: u64) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let stored = match self.read_key(key) {
            Ok(stored) => stored,
            Err(e) => {
                self.deferred.get_or_insert(e);
                None
            }
        };
        let id = self.keys.len() as u32;
        self.from_store.push(stored.is_some());
        self.modified.push(stored.is_none());
        match stored {
            Some((state, published)) => {
                self.keys_loaded += 1;
                self.keys.push(state);
                if let Some(p) = published {
                    self.stored_published.insert(id, p.clone());
                    self.due.insert((p.due, id));
                    self.published.insert(id, p);
                }
            }
            None => {
                self.key_count += 1;
                self.keys.push(KeyState::new(key.to_string(), ts));
            }
        }
        self.ids.insert(key.to_string(), id);
        id
    }

    /// A stored key and its published entry.
    fn read_key(&self, key: &str) -> Result<Option<(KeyState, Option<Published>)>, SignalsError> {
        match &self.store {
            Some(store) if !self.all_loaded => store.key(key),
            _ => Ok(None),
        }
    }

    /// Counts a search of key `id` by `user` on `day` once: false when that user already
    /// searched that key that day (in this run or an earlier one).
    pub fn first_search(&mut self, day: u64, id: u32, user: u64) -> bool {
        if !self.dedup.entry(day).or_default().insert((id, user)) {
            return false;
        }
        let Some(store) = self.store.as_ref().filter(|_| self.from_store[id as usize]) else {
            return true;
        };
        match store.searched(day, key_hash(&self.keys[id as usize].key), user) {
            Ok(before) => !before,
            Err(e) => {
                self.deferred.get_or_insert(e);
                true
            }
        }
    }

    /// Loads every stored key (for the outputs that list every key, and for a change set that
    /// must look at all of them).
    pub fn load_all(&mut self) -> Result<(), SignalsError> {
        if self.all_loaded {
            return Ok(());
        }
        if let Some(store) = &self.store {
            for key in store.all_keys()? {
                self.intern(&key, 0);
            }
        }
        self.all_loaded = true;
        self.check()
    }

    /// Loads the keys a change set at `now` looks at besides this run's: those touched by
    /// earlier runs since the last change set, and the published ones due by `now`.
    pub fn load_pending(&mut self, now: u64) -> Result<(), SignalsError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let (dirty, due) = (store.dirty_keys()?, store.due_keys(now)?);
        for key in &dirty {
            let id = self.intern(key, 0);
            self.dirty.insert(id);
        }
        for key in &due {
            self.intern(key, 0);
        }
        self.check()
    }

    /// Notes that events changed key `id` (it is written back).
    pub fn modify(&mut self, id: u32) {
        self.modified[id as usize] = true;
    }

    /// Notes that a change set was made: the stored dirty set is spent.
    pub fn changes_made(&mut self) {
        self.changes_made = true;
    }

    /// Fails with the first store error met while interning keys.
    pub fn check(&mut self) -> Result<(), SignalsError> {
        match self.deferred.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Keys in the state (stored and new).
    pub fn key_count(&self) -> u64 {
        self.key_count
    }

    /// Keys this run read from the store.
    pub fn keys_loaded(&self) -> u64 {
        self.keys_loaded
    }

    /// Whether an input with this path and size was aggregated (by this run or a stored one):
    /// then its content is hashed to tell a retry from new content.
    pub fn maybe_consumed(&self, input: &Consumed) -> Result<bool, SignalsError> {
        let here = self
            .consumed
            .iter()
            .any(|c| c.path == input.path && c.size == input.size);
        match &self.store {
            _ if here => Ok(true),
            Some(store) => store.consumed_like(input),
            None => Ok(false),
        }
    }

    /// Whether exactly this input (path, size and hash) was aggregated before.
    pub fn was_consumed(&self, input: &Consumed) -> Result<bool, SignalsError> {
        match &self.store {
            _ if self.consumed.contains(input) => Ok(true),
            Some(store) => store.consumed(input),
            None => Ok(false),
        }
    }

    /// Remembers an input as aggregated by this run.
    pub fn remember(&mut self, input: Consumed) {
        if !self.consumed.contains(&input) {
            self.consumed.push(input);
        }
    }

    /// Writes what this run changed in one transaction (the database is created on the first
    /// save): the keys in memory, their published entries and queue times, the dedup pairs of
    /// the last two days, the dirty set, the inputs and the metadata. All or nothing.
    pub fn save(&mut self, dir: &Path) -> Result<(), SignalsError> {
        self.check()?;
        let mut store = match self.store.take() {
            Some(store) => store,
            None => Store::create(&State::file(dir))?,
        };
        let written = store.write(&Changes { state: self });
        self.store = Some(store);
        written
    }

    /// Closes the stored state (the database file), keeping what is in memory; a database
    /// that cannot be closed is damaged.
    pub fn close(&mut self) -> Result<(), SignalsError> {
        self.store.take().map_or(Ok(()), Store::close)
    }

    /// The whole stored state in a canonical byte form (every table in key order): equal
    /// states give equal bytes, whatever the database's page layout.
    pub fn dump(dir: &Path) -> Result<Vec<u8>, SignalsError> {
        match Store::open(&State::file(dir))? {
            Some(store) => store.dump(),
            None => Ok(Vec::new()),
        }
    }
}

/// What [`Store::write`] writes: a run's in-memory state.
pub(crate) struct Changes<'s> {
    pub(crate) state: &'s State,
}

impl<'s> Changes<'s> {
    /// The keys to write back, in key order (sequential inserts): those the run's events
    /// changed or created, and those whose published entry changed.
    pub(crate) fn keys_to_write(&self) -> Vec<u32> {
        let state = self.state;
        let keys = &state.keys;
        let mut ids: Vec<u32> = (0..keys.len() as u32)
            .filter(|id| {
                state.modified[*id as usize]
                    || state.published.get(id) != state.stored_published.get(id)
            })
            .collect();
        ids.sort_unstable_by(|&a, &b| keys[a as usize].key.cmp(&keys[b as usize].key));
        ids
    }

    /// The published entry key `id` had in the store.
    pub(crate) fn stored_published(&self, id: u32) -> Option<&Published> {
        self.state.stored_published.get(&id)
    }

    /// The first day whose dedup pairs are kept: yesterday's (by the watermark).
    pub(crate) fn oldest_kept_day(&self) -> u64 {
        self.state
            .watermark
            .map_or(0, |w| (w / DAY_MS).saturating_sub(1))
    }

    /// The keys touched since the last change set, among those in memory, sorted.
    pub(crate) fn dirty_keys(&self) -> Vec<&'s str> {
        let keys = &self.state.keys;
        let mut names: Vec<&str> = self
            .state
            .dirty
            .iter()
            .map(|&id| keys[id as usize].key.as_str())
            .collect();
        names.sort_unstable();
        names
    }

    /// The dedup pairs to keep, as `(day, key hash, user)`, sorted.
    pub(crate) fn dedup(&self) -> Vec<(u64, u64, u64)> {
        let keys = &self.state.keys;
        let mut pairs: Vec<(u64, u64, u64)> = self
            .state
            .dedup
            .range(self.oldest_kept_day()..)
            .flat_map(|(&day, set)| {
                set.iter()
                    .map(move |&(id, user)| (day, key_hash(&keys[id as usize].key), user))
            })
            .collect();
        pairs.sort_unstable();
        pairs
    }

    /// Whether this run made a change set.
    pub(crate) fn changes_made(&self) -> bool {
        self.state.changes_made
    }
}

/// The hash a key is stored under in the dedup table.
pub(crate) fn key_hash(key: &str) -> u64 {
    xxh3_64(key.as_bytes())
}

/// The small part of the state read at every start.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) half_life_ms: u64,
    pub(crate) watermark: Option<u64>,
    pub(crate) changes_mark: Option<ChangesMark>,
    pub(crate) key_count: u64,
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over `path`; the directory is synced so the rename lasts.
///
/// When `path` is already something other than a regular file (`/dev/null`, `/dev/stdout`, a
/// named pipe), the bytes are written into it instead: renaming over it would replace the
/// device or pipe with a plain file, which for `/dev/null` breaks every program on the machine
/// that reads it expecting nothing.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SignalsError> {
    if is_special_file(path) {
        return write_into(path, bytes);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = new_file_beside(&dir, path)?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| SignalsError::io(tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| SignalsError::io(path, e.error))?;
    if let Ok(dir) = File::open(&dir) {
        // Makes the rename durable where directories can be synced.
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The temporary file that will replace `path`, in `dir`: with `path`'s permissions when it
/// exists, else those of any new file (`0o666` less the umask), rather than the temporary
/// file's usual owner-only `0o600`, which would keep a segment from a web server reading it.
fn new_file_beside(dir: &Path, path: &Path) -> Result<tempfile::NamedTempFile, SignalsError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".edgesuggest-").suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder
        .tempfile_in(dir)
        .map_err(|e| SignalsError::io(dir, e))?;
    if let Ok(existing) = std::fs::metadata(path) {
        tmp.as_file()
            .set_permissions(existing.permissions())
            .map_err(|e| SignalsError::io(tmp.path(), e))?;
    }
    Ok(tmp)
}

/// Whether `path` exists (after following links) and is neither a regular file nor a
/// directory: a device, a pipe or a socket, which a rename must not replace.
fn is_special_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Writes `bytes` into an existing special file, as a shell's `>` would.
fn write_into(path: &Path, bytes: &[u8]) -> Result<(), SignalsError> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|e| SignalsError::io(path, e))
}

/// An exclusive lock on a state directory, held until dropped.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Creates `dir` if needed and takes `dir/state.lock`, failing at once if another run
    /// holds it.
    pub fn acquire(dir: &Path) -> Result<StateLock, SignalsError> {
        std::fs::create_dir_all(dir).map_err(|e| SignalsError::io(dir, e))?;
        let path = dir.join("state.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| SignalsError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(StateLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(SignalsError::Locked { path }),
            Err(std::fs::TryLockError::Error(e)) => Err(SignalsError::io(&path, e)),
        }
    }
}
