//! The incremental state (`DIR/state.bin`): per-key decayed sums, distinct users and forms, the
//! spam-cap dedup sets of the last two days, the published set with its due-time queue, and the
//! inputs already consumed. Versioned, checksummed, written atomically, locked.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use hyperloglogplus::{HyperLogLog, HyperLogLogPlus};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::hash::FastState;
use crate::params::Params;
use crate::SignalsError;

/// First bytes of a state file.
pub const MAGIC: &[u8; 8] = b"ESSIGNAL";
/// Version of the layout after the magic; a file with another is refused.
pub const FORMAT_VERSION: u32 = 1;
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
    /// `normalize_phrase` of the text.
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

/// The whole state, in memory.
#[derive(Debug, Default)]
pub struct State {
    /// Half-life the sums were decayed with (0 = a new state, not yet decided).
    pub half_life_ms: u64,
    /// Largest `ts` of every event accepted so far.
    pub watermark: Option<u64>,
    /// Every key, by id (ids are given in first-seen order).
    pub keys: Vec<KeyState>,
    /// Key → id.
    pub ids: HashMap<String, u32, FastState>,
    /// Day → the (key id, user hash) pairs counted that day; the last two days only.
    pub dedup: BTreeMap<u64, HashSet<(u32, u64), FastState>>,
    /// Key id → published suggestion.
    pub published: HashMap<u32, Published>,
    /// `(due, key id)` of every published key: decay crossings without scanning all keys.
    pub due: BTreeSet<(u64, u32)>,
    /// Keys touched since the last change set.
    pub dirty: BTreeSet<u32>,
    /// The last change set's reference time and options.
    pub changes_mark: Option<ChangesMark>,
    /// Inputs already aggregated, oldest first.
    pub consumed: Vec<Consumed>,
    /// The same, for lookups.
    pub consumed_set: HashSet<Consumed>,
}

/// The state as stored: plain vectors in a fixed order, so equal states have equal bytes.
#[derive(Serialize, Deserialize)]
struct Stored {
    half_life_ms: u64,
    watermark: Option<u64>,
    keys: Vec<KeyState>,
    dedup: Vec<(u64, Vec<(u32, u64)>)>,
    published: Vec<(u32, Published)>,
    dirty: Vec<u32>,
    changes_mark: Option<ChangesMark>,
    consumed: Vec<Consumed>,
}

impl State {
    /// The path of the state file in `dir`.
    pub fn file(dir: &Path) -> PathBuf {
        dir.join("state.bin")
    }

    /// Loads `DIR/state.bin`, or a new empty state when there is none.
    pub fn load(dir: &Path) -> Result<State, SignalsError> {
        let path = State::file(dir);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(SignalsError::io(&path, e)),
        };
        let payload = check_header(&bytes).map_err(|message| SignalsError::State {
            path: path.clone(),
            message,
        })?;
        let stored: Stored = postcard::from_bytes(payload).map_err(|e| SignalsError::State {
            path: path.clone(),
            message: format!(
                "cannot decode the state ({e}); restore a backup or start a new state directory"
            ),
        })?;
        State::from_stored(stored).map_err(|message| SignalsError::State { path, message })
    }

    fn from_stored(stored: Stored) -> Result<State, String> {
        let mut ids = HashMap::with_capacity_and_hasher(stored.keys.len(), FastState::default());
        for (id, k) in stored.keys.iter().enumerate() {
            if ids.insert(k.key.clone(), id as u32).is_some() {
                return Err(format!(
                    "key {:?} is stored twice; start a new state directory",
                    k.key
                ));
            }
        }
        let n = stored.keys.len() as u32;
        let bad_id = stored
            .published
            .iter()
            .map(|(id, _)| *id)
            .chain(stored.dirty.iter().copied())
            .find(|&id| id >= n);
        if let Some(id) = bad_id {
            return Err(format!(
                "key id {id} out of range; start a new state directory"
            ));
        }
        let due = stored
            .published
            .iter()
            .map(|(id, p)| (p.due, *id))
            .collect();
        Ok(State {
            half_life_ms: stored.half_life_ms,
            watermark: stored.watermark,
            keys: stored.keys,
            ids,
            dedup: stored
                .dedup
                .into_iter()
                .map(|(day, set)| (day, set.into_iter().collect()))
                .collect(),
            published: stored.published.into_iter().collect(),
            due,
            dirty: stored.dirty.into_iter().collect(),
            changes_mark: stored.changes_mark,
            consumed_set: stored.consumed.iter().cloned().collect(),
            consumed: stored.consumed,
        })
    }

    /// The state's bytes: header (magic, version, checksum) and the compact encoding.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SignalsError> {
        let mut dedup: Vec<(u64, Vec<(u32, u64)>)> = self
            .dedup
            .iter()
            .map(|(day, set)| (*day, set.iter().copied().collect()))
            .collect();
        dedup.iter_mut().for_each(|(_, set)| set.sort_unstable());
        let mut published: Vec<(u32, Published)> = self
            .published
            .iter()
            .map(|(id, p)| (*id, p.clone()))
            .collect();
        published.sort_unstable_by_key(|(id, _)| *id);
        let stored = StoredRef {
            half_life_ms: self.half_life_ms,
            watermark: self.watermark,
            keys: &self.keys,
            dedup,
            published,
            dirty: self.dirty.iter().copied().collect(),
            changes_mark: &self.changes_mark,
            consumed: &self.consumed,
        };
        let payload = postcard::to_stdvec(&stored).map_err(|e| SignalsError::State {
            path: PathBuf::from("state.bin"),
            message: format!("cannot encode the state: {e}"),
        })?;
        let mut bytes = Vec::with_capacity(payload.len() + 20);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&xxh3_64(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        Ok(bytes)
    }

    /// Writes the state atomically: a temporary file in `dir`, synced, renamed over
    /// `state.bin`, then the directory synced.
    pub fn save(&self, dir: &Path) -> Result<(), SignalsError> {
        write_atomically(&State::file(dir), &self.to_bytes()?)
    }

    /// The id of `key`, adding it (last updated at `ts`) when new.
    pub fn intern(&mut self, key: &str, ts: u64) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(KeyState::new(key.to_string(), ts));
        self.ids.insert(key.to_string(), id);
        id
    }

    /// Remembers an input as aggregated, forgetting the oldest past [`MAX_CONSUMED`].
    pub fn remember(&mut self, input: Consumed) {
        if self.consumed_set.insert(input.clone()) {
            self.consumed.push(input);
        }
        if self.consumed.len() > MAX_CONSUMED {
            let drop = self.consumed.len() - MAX_CONSUMED;
            for old in self.consumed.drain(..drop) {
                self.consumed_set.remove(&old);
            }
        }
    }
}

/// [`Stored`], borrowing what need not be copied to be written.
#[derive(Serialize)]
struct StoredRef<'a> {
    half_life_ms: u64,
    watermark: Option<u64>,
    keys: &'a [KeyState],
    dedup: Vec<(u64, Vec<(u32, u64)>)>,
    published: Vec<(u32, Published)>,
    dirty: Vec<u32>,
    changes_mark: &'a Option<ChangesMark>,
    consumed: &'a [Consumed],
}

/// The payload after a valid header, or why the file cannot be used.
fn check_header(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < 20 || &bytes[..8] != MAGIC {
        return Err("not an edgesuggest aggregate state (bad magic bytes); pass the directory --state used before, or an empty one".to_string());
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != FORMAT_VERSION {
        return Err(format!(
            "state format version {version}, this build reads version {FORMAT_VERSION}; use the edgesuggest that wrote it, or start a new state directory"
        ));
    }
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&bytes[12..20]);
    let payload = &bytes[20..];
    if u64::from_le_bytes(sum) != xxh3_64(payload) {
        return Err("checksum mismatch: the state file is damaged; restore a backup or start a new state directory".to_string());
    }
    Ok(payload)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over `path`; the directory is synced so the rename lasts.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SignalsError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".edgesuggest-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| SignalsError::io(&dir, e))?;
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
