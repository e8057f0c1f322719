//! The indexes a server holds: found in its directory, loaded off the async threads, swapped
//! whole when a file changes, and kept at their last good version when a new one fails.
//!
//! Each index has one [`watch`] channel holding its state. The poller alone loads, so there is
//! one load per index at a time however many requests want it (requests that arrive before
//! the first load finishes wait on the channel: one load, many waiters); a reload replaces the
//! state in one step, so a request sees the old version or the new one, never a mix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use edgesuggest::Stack;
use edgesuggest_http::version::{rfc3339, rfc3339_ms};
use tokio::sync::watch;

use super::metrics::Metrics;

/// Where an index comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `<index>.seg`: one segment; its version is the file's modification time in ms.
    Segment,
    /// `<index>.json`: a manifest naming a base, deltas and a blocklist by content hash.
    Manifest,
}

/// One index's file, and what it looked like when last read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub path: PathBuf,
    pub kind: SourceKind,
    /// Size, modification time and the file a link points at: a change of any means a new
    /// version to load.
    pub signature: (u64, SystemTime, Option<PathBuf>),
}

/// A loaded index version.
pub struct Loaded {
    pub stack: Stack<Vec<u8>>,
    pub version: u64,
    /// When the version was made, RFC 3339, and in ms since the epoch when known.
    pub created: String,
    pub created_ms: Option<u64>,
    /// Bytes of all its segments.
    pub bytes: usize,
    pub path: PathBuf,
}

impl Loaded {
    /// Whole seconds since the version was made, when known.
    pub fn age_seconds(&self) -> Option<u64> {
        let now = now_ms();
        self.created_ms.map(|c| now.saturating_sub(c) / 1000)
    }
}

/// An index's state, as requests see it.
#[derive(Clone)]
pub enum State {
    /// The first load has not finished.
    Loading,
    /// Serving this version (reloads replace it only with a good one).
    Ready(Arc<Loaded>),
    /// The first load failed, with the reason; the next change to the file is tried again.
    Failed(String),
}

/// One index: its state, and the last reload failure (shown by `/v1/health`).
pub struct Slot {
    state: watch::Sender<State>,
    source: Mutex<Source>,
    last_error: Mutex<Option<String>>,
    /// When the poller last tried a load that failed: failed loads are retried now and then
    /// even if the file did not change (a manifest's segment may arrive later).
    failed_at: Mutex<Option<Instant>>,
}

impl Slot {
    fn new(source: Source) -> Slot {
        Slot {
            state: watch::Sender::new(State::Loading),
            source: Mutex::new(source),
            last_error: Mutex::new(None),
            failed_at: Mutex::new(None),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state.borrow().clone()
    }

    /// The last failed load's reason, if the latest attempt failed.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    /// Waits until the first load has finished (or `timeout` passed: `Loading`).
    pub async fn ready(&self, timeout: Duration) -> State {
        // Once loaded (every request but the first few), no waiting machinery.
        let now = self.state();
        if !matches!(now, State::Loading) {
            return now;
        }
        let mut rx = self.state.subscribe();
        let waited =
            tokio::time::timeout(timeout, rx.wait_for(|s| !matches!(s, State::Loading))).await;
        match waited {
            Ok(Ok(state)) => state.clone(),
            _ => self.state(),
        }
    }
}

/// A poisoned lock only means another thread panicked while holding it; the data (plain
/// values replaced whole) is still consistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every index the server holds, by name.
pub struct Registry {
    dir: PathBuf,
    slots: RwLock<BTreeMap<String, Arc<Slot>>>,
    metrics: Arc<Metrics>,
    retry_failed_after: Duration,
    /// Ignored duplicate files already warned about.
    warned: Mutex<BTreeSet<PathBuf>>,
}

impl Registry {
    /// An empty registry over `dir`.
    pub fn new(dir: PathBuf, metrics: Arc<Metrics>, retry_failed_after: Duration) -> Registry {
        Registry {
            dir,
            slots: RwLock::new(BTreeMap::new()),
            metrics,
            retry_failed_after,
            warned: Mutex::new(BTreeSet::new()),
        }
    }

    /// The directory served.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The index called `name`, if served.
    pub fn get(&self, name: &str) -> Option<Arc<Slot>> {
        self.slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every served index, by name.
    pub fn all(&self) -> Vec<(String, Arc<Slot>)> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        slots.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// The name of the one index served, if exactly one is.
    pub fn sole(&self) -> Option<String> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        match slots.len() {
            1 => slots.keys().next().cloned(),
            _ => None,
        }
    }

    /// The served index names.
    pub fn names(&self) -> Vec<String> {
        self.all().into_iter().map(|(name, _)| name).collect()
    }

    /// Finds the indexes in the directory, before the first load: requests for them then
    /// wait for their load instead of getting `unknown_index`.
    pub fn discover_now(&self) -> Result<usize> {
        let found = self.scan()?;
        for (name, source) in &found {
            self.slot_for(name, source);
        }
        Ok(found.len())
    }

    /// Scans the directory, warning once about each file ignored for naming an index another
    /// file already names.
    fn scan(&self) -> Result<BTreeMap<String, Source>> {
        let discovery = discover(&self.dir)?;
        let mut warned = lock(&self.warned);
        for (name, path) in &discovery.ignored {
            if warned.insert(path.clone()) {
                let serving = discovery
                    .found
                    .get(name)
                    .map(|s| s.path.display().to_string());
                tracing::warn!(index = name.as_str(), serving, ignored = %path.display(),
                    "two files name one index; the other one is served: remove one");
            }
        }
        Ok(discovery.found)
    }

    /// One pass of the poller: finds the indexes in the directory, adds new ones, drops
    /// removed ones, and loads every new or changed version (one at a time, off the async
    /// threads). Returns how many loads it tried.
    pub async fn poll(&self) -> Result<usize> {
        let found = self.scan()?;
        self.drop_removed(&found);
        let mut tried = 0;
        for (name, source) in found {
            let slot = self.slot_for(&name, &source);
            if self.needs_load(&slot, &source) {
                *lock(&slot.source) = source.clone();
                tried += 1;
                self.load_into(&name, &slot, source).await;
            }
        }
        Ok(tried)
    }

    /// The slot of `name`, created in the `Loading` state when new.
    fn slot_for(&self, name: &str, source: &Source) -> Arc<Slot> {
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        slots
            .entry(name.to_string())
            .or_insert_with(|| {
                tracing::info!(index = name, path = %source.path.display(), "index found");
                Arc::new(Slot::new(source.clone()))
            })
            .clone()
    }

    /// Forgets the indexes whose files are gone: requests for them get `unknown_index`.
    fn drop_removed(&self, found: &BTreeMap<String, Source>) {
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        slots.retain(|name, _| {
            let keep = found.contains_key(name);
            if !keep {
                tracing::info!(index = name.as_str(), "index removed: its file is gone");
                self.metrics.forget_index(name);
            }
            keep
        });
    }

    /// True when the slot was never loaded, its file changed, or its last load failed long
    /// enough ago to try again.
    fn needs_load(&self, slot: &Slot, source: &Source) -> bool {
        if matches!(slot.state(), State::Loading) {
            return true;
        }
        if *lock(&slot.source) != *source {
            return true;
        }
        lock(&slot.failed_at).is_some_and(|at| at.elapsed() >= self.retry_failed_after)
    }

    /// Loads `source` and publishes the result: a good version replaces the state; a bad one
    /// keeps the last good version (counted as a reload failure) or marks a first load failed.
    async fn load_into(&self, name: &str, slot: &Slot, source: Source) {
        let started = Instant::now();
        let path = source.path.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&source))
            .await
            .unwrap_or_else(bail_join);
        match loaded {
            Ok(loaded) => {
                tracing::info!(
                    index = name,
                    version = loaded.version,
                    bytes = loaded.bytes,
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "index version loaded"
                );
                self.metrics.loaded(name, &loaded);
                *lock(&slot.last_error) = None;
                *lock(&slot.failed_at) = None;
                slot.state.send_replace(State::Ready(Arc::new(loaded)));
            }
            Err(e) => self.load_failed(name, slot, &path, format!("{e:#}")),
        }
    }

    /// Records a failed load; the last good version, if any, keeps serving.
    fn load_failed(&self, name: &str, slot: &Slot, path: &Path, reason: String) {
        let keeps = match slot.state() {
            State::Ready(old) => Some(old.version),
            _ => None,
        };
        tracing::error!(index = name, path = %path.display(), error = reason.as_str(),
            keeps_serving = keeps, "index load failed");
        self.metrics.load_failed(name);
        *lock(&slot.last_error) = Some(reason.clone());
        *lock(&slot.failed_at) = Some(Instant::now());
        if keeps.is_none() {
            slot.state.send_replace(State::Failed(reason));
        }
    }
}

/// A load task that panicked (a bug): reported as a failed load, never a crashed server.
fn bail_join(e: tokio::task::JoinError) -> Result<Loaded> {
    bail!("the load task failed: {e}")
}

/// What a scan of the directory found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The index files, by index name.
    pub found: BTreeMap<String, Source>,
    /// Files ignored because another file already names the same index.
    pub ignored: Vec<(String, PathBuf)>,
}

/// The indexes in `dir`: `<index>.seg` files and `<index>.json` manifests, and manifests
/// under `dir/manifest/` (a publisher's store served as it is). Other files are ignored.
/// When two files name one index, the choice is fixed: `dir` before `dir/manifest/`, then by
/// file name (`<index>.json` before `<index>.seg`).
pub fn discover(dir: &Path) -> Result<Discovery> {
    let mut discovery = Discovery::default();
    scan_into(dir, &mut discovery)?;
    let store = dir.join("manifest");
    if store.is_dir() {
        scan_into(&store, &mut discovery)?;
    }
    Ok(discovery)
}

/// Adds the index files directly in `dir`, in file-name order. Symbolic links are followed, so
/// `cities.seg -> releases/v5.seg` serves v5 until the link is moved.
fn scan_into(dir: &Path, discovery: &mut Discovery) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Some((name, kind)) = index_file(&path) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if discovery.found.contains_key(&name) {
            discovery.ignored.push((name, path));
            continue;
        }
        let target = std::fs::canonicalize(&path).ok();
        let signature = (meta.len(), meta.modified().unwrap_or(UNIX_EPOCH), target);
        discovery.found.insert(
            name,
            Source {
                path,
                kind,
                signature,
            },
        );
    }
    Ok(())
}

/// The index name and kind of a file, if it is an index file with a valid name.
fn index_file(path: &Path) -> Option<(String, SourceKind)> {
    let kind = match path.extension()?.to_str()? {
        "seg" => SourceKind::Segment,
        "json" => SourceKind::Manifest,
        _ => return None,
    };
    let name = path.file_stem()?.to_str()?;
    edgesuggest_manifest::valid_index_name(name).then(|| (name.to_string(), kind))
}

/// Reads and checks one index version (blocking: file reads and validation).
pub fn load(source: &Source) -> Result<Loaded> {
    let path = &source.path;
    match source.kind {
        SourceKind::Segment => {
            let stack = crate::stack::open_files(path, &[], None)?;
            let created_ms = source
                .signature
                .1
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .ok();
            Ok(Loaded {
                bytes: stack_bytes(&stack),
                stack,
                version: created_ms.unwrap_or(0),
                created: created_ms.map(|ms| rfc3339(ms / 1000)).unwrap_or_default(),
                created_ms,
                path: path.clone(),
            })
        }
        SourceKind::Manifest => {
            let (manifest, stack) = crate::stack::open_manifest(path, None)?;
            Ok(Loaded {
                bytes: stack_bytes(&stack),
                stack,
                version: manifest.version,
                created_ms: rfc3339_ms(&manifest.created).map(|ms| ms as u64),
                created: manifest.created,
                path: path.clone(),
            })
        }
    }
}

/// Bytes of every segment of a stack.
fn stack_bytes(stack: &Stack<Vec<u8>>) -> usize {
    stack.segments().iter().map(|s| s.as_bytes().len()).sum()
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
