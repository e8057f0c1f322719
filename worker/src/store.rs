//! L1: parsed segments kept in isolate memory across requests.
//!
//! - bounded by a byte budget, least-recently-used index evicted first;
//! - one load per index at a time: the first request loads it; concurrent requests wait on
//!   their own short timers and then read the outcome. They never drive the loader's KV I/O
//!   nor get woken from its context: Workers forbid one request touching another's I/O
//!   objects, and a wake-up sent across requests can be lost with the request that sent it;
//! - the manifest is re-read at most every `refresh` interval, in the background, while the
//!   loaded version keeps answering; a new version is swapped in whole;
//! - a failed or corrupt load keeps the last good version serving and logs one JSON line.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use edgesuggest::Segment;
use edgesuggest_manifest::{manifest_key, Manifest};
use worker::kv::KvStore;

use crate::config::Config;
use crate::now_ms;

/// One loaded index version.
pub struct Loaded {
    pub index: String,
    pub version: u64,
    pub segment: Segment<Vec<u8>>,
    pub bytes: usize,
    /// Milliseconds the load spent reading KV (manifest and chunks).
    pub kv_ms: f64,
}

/// Why an index could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// No manifest in KV: nothing was published for this index yet.
    NoManifest { index: String },
    /// The index is larger than the whole memory budget.
    TooLarge {
        index: String,
        bytes: u64,
        budget: u64,
    },
    /// KV failed, a chunk is missing, or the bytes are corrupt.
    Failed { index: String, detail: String },
}

impl LoadError {
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::NoManifest { .. } => "not_published",
            LoadError::TooLarge { .. } => "index_too_large",
            LoadError::Failed { .. } => "load_failed",
        }
    }

    pub fn message(&self) -> String {
        match self {
            LoadError::NoManifest { index } => format!(
                "index `{index}` has no manifest in KV yet; publish it with `edgesuggest publish`"
            ),
            LoadError::TooLarge {
                index,
                bytes,
                budget,
            } => format!(
                "index `{index}` needs {bytes} bytes, more than this worker's memory budget of \
                 {budget} bytes (MEMORY_BUDGET_BYTES); split it or raise the budget"
            ),
            LoadError::Failed { index, detail } => {
                format!("index `{index}` could not be loaded: {detail}")
            }
        }
    }
}

struct Slot {
    loaded: Rc<Loaded>,
    last_used: u64,
    checked_ms: f64,
    refreshing: bool,
}

/// Counters for `/v1/health`.
#[derive(Default, serde::Serialize)]
pub struct Stats {
    pub kv_reads: BTreeMap<String, u64>,
    pub l1_hits: u64,
    pub l2_hits: u64,
    pub l2_misses: u64,
    pub loads: u64,
    pub load_failures: u64,
    pub swaps: u64,
    pub evictions: u64,
}

#[derive(Default)]
struct State {
    slots: HashMap<String, Slot>,
    /// Indexes being loaded.
    inflight: std::collections::HashSet<String>,
    /// The outcome of the last finished load attempt per index, for waiters to read.
    last_error: HashMap<String, LoadError>,
    tick: u64,
    stats: Stats,
}

/// Marks a load in flight until dropped (finished or cancelled with its request).
struct InflightGuard {
    index: String,
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        STATE.with(|s| s.borrow_mut().inflight.remove(&self.index));
    }
}

/// How often a waiting request looks whether the load it waits for has finished.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(5);
/// How long a request waits for another request's load before giving up.
const WAIT_LIMIT_MS: f64 = 30_000.0;

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Runs `f` on the counters.
pub fn with_stats<T>(f: impl FnOnce(&mut Stats) -> T) -> T {
    STATE.with(|s| f(&mut s.borrow_mut().stats))
}

/// `(index, version, bytes, suggestions)` of every loaded index, and the bytes held.
pub fn loaded_summary() -> (Vec<(String, u64, usize, usize)>, usize) {
    STATE.with(|s| {
        let s = s.borrow();
        let mut list: Vec<_> = s
            .slots
            .values()
            .map(|slot| {
                let l = &slot.loaded;
                (l.index.clone(), l.version, l.bytes, l.segment.len())
            })
            .collect();
        list.sort();
        let held = list.iter().map(|(_, _, b, _)| b).sum();
        (list, held)
    })
}

/// How a request got its index: from memory, or by waiting for a load.
pub struct Got {
    pub loaded: Rc<Loaded>,
    /// Milliseconds spent waiting for KV and parsing (0 on an L1 hit).
    pub load_ms: f64,
}

/// The loaded index, loading it when absent: once per index at a time, concurrent callers wait
/// for that load and share its outcome.
pub async fn get_or_load(kv: &KvStore, index: &str, config: &Config) -> Result<Got, LoadError> {
    let started = now_ms();
    let mut waited = false;
    loop {
        enum Next {
            Hit(Rc<Loaded>),
            Wait,
            Failed(LoadError),
            Load,
        }
        let next = STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.tick += 1;
            let tick = s.tick;
            if let Some(slot) = s.slots.get_mut(index) {
                slot.last_used = tick;
                let loaded = slot.loaded.clone();
                s.stats.l1_hits += 1;
                return Next::Hit(loaded);
            }
            if s.inflight.contains(index) {
                return Next::Wait;
            }
            if waited {
                // The load this request waited for finished without installing anything.
                if let Some(e) = s.last_error.get(index) {
                    return Next::Failed(e.clone());
                }
            }
            s.inflight.insert(index.to_string());
            s.last_error.remove(index);
            Next::Load
        });
        match next {
            Next::Hit(loaded) => {
                let waited = now_ms() - started;
                return Ok(Got {
                    loaded,
                    load_ms: if waited > 0.0 { waited } else { 0.0 },
                });
            }
            Next::Wait => {
                if now_ms() - started > WAIT_LIMIT_MS {
                    return Err(LoadError::Failed {
                        index: index.to_string(),
                        detail: "timed out waiting for a concurrent load".to_string(),
                    });
                }
                worker::Delay::from(WAIT_POLL).await;
                waited = true;
            }
            Next::Failed(e) => return Err(e),
            Next::Load => {
                let _guard = InflightGuard {
                    index: index.to_string(),
                };
                let result = load_latest(kv, index, config.memory_budget_bytes).await;
                STATE.with(|s| {
                    let mut s = s.borrow_mut();
                    match &result {
                        Ok(loaded) => install(&mut s, loaded.clone(), config.memory_budget_bytes),
                        Err(e) => {
                            s.stats.load_failures += 1;
                            s.last_error.insert(index.to_string(), e.clone());
                            let serving = s.slots.get(index).map(|x| x.loaded.version);
                            log_failure(index, e, serving);
                        }
                    }
                });
                return result.map(|loaded| Got {
                    loaded,
                    load_ms: now_ms() - started,
                });
            }
        }
    }
}

/// Starts a background manifest check for `index` when the refresh interval has passed.
pub fn maybe_refresh(ctx: &worker::Context, kv: &KvStore, index: &str, config: &Config) {
    let now = now_ms();
    let due = STATE.with(|s| {
        let mut s = s.borrow_mut();
        match s.slots.get_mut(index) {
            Some(slot) if !slot.refreshing && now - slot.checked_ms >= config.refresh_ms => {
                slot.refreshing = true;
                slot.checked_ms = now;
                Some(slot.loaded.version)
            }
            _ => None,
        }
    });
    let Some(current) = due else {
        return;
    };
    let kv = kv.clone();
    let index = index.to_string();
    let budget = config.memory_budget_bytes;
    ctx.wait_until(async move {
        let result = match read_manifest(&kv, &index).await {
            Ok(m) if m.version == current => Ok(None),
            Ok(m) => load_manifest(&kv, &index, m, budget).await.map(Some),
            Err(e) => Err(e),
        };
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            match result {
                Ok(Some(loaded)) => {
                    let (from, to) = (current, loaded.version);
                    install(&mut s, loaded, budget);
                    s.stats.swaps += 1;
                    worker::console_log!(
                        "{}",
                        serde_json::json!({"event": "swap", "index": index, "from": from, "to": to})
                    );
                }
                Ok(None) => {}
                Err(e) => {
                    s.stats.load_failures += 1;
                    let serving = s.slots.get(&index).map(|x| x.loaded.version);
                    log_failure(&index, &e, serving);
                }
            }
            if let Some(slot) = s.slots.get_mut(&index) {
                slot.refreshing = false;
            }
        });
    });
}

/// One structured log line per failed load. Takes the serving version as an argument: it is
/// called while the state is borrowed.
fn log_failure(index: &str, e: &LoadError, keeps_serving: Option<u64>) {
    worker::console_log!(
        "{}",
        serde_json::json!({
            "event": "load_failed",
            "index": index,
            "code": e.code(),
            "message": e.message(),
            "keeps_serving": keeps_serving,
        })
    );
}

/// Puts a loaded version in place (replacing any older one whole), evicting least recently
/// used indexes until the budget holds.
fn install(s: &mut State, loaded: Rc<Loaded>, budget: u64) {
    let index = loaded.index.clone();
    s.tick += 1;
    let tick = s.tick;
    let now = now_ms();
    s.slots.remove(&index);
    loop {
        let held: u64 = s.slots.values().map(|x| x.loaded.bytes as u64).sum();
        if held + loaded.bytes as u64 <= budget {
            break;
        }
        let Some(oldest) = s
            .slots
            .iter()
            .min_by_key(|(_, x)| x.last_used)
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        s.slots.remove(&oldest);
        s.stats.evictions += 1;
    }
    s.slots.insert(
        index,
        Slot {
            loaded,
            last_used: tick,
            checked_ms: now,
            refreshing: false,
        },
    );
}

async fn kv_bytes(kv: &KvStore, key: &str) -> Result<Option<Vec<u8>>, String> {
    with_stats(|st| *st.kv_reads.entry(key.to_string()).or_default() += 1);
    kv.get(key)
        .bytes()
        .await
        .map_err(|e| format!("KV read of `{key}` failed: {e}"))
}

async fn read_manifest(kv: &KvStore, index: &str) -> Result<Manifest, LoadError> {
    let key = manifest_key(index);
    let failed = |detail: String| LoadError::Failed {
        index: index.to_string(),
        detail,
    };
    let Some(bytes) = kv_bytes(kv, &key).await.map_err(failed)? else {
        return Err(LoadError::NoManifest {
            index: index.to_string(),
        });
    };
    let text = String::from_utf8(bytes).map_err(|_| failed(format!("`{key}` is not UTF-8")))?;
    Manifest::parse(&text).map_err(|e| failed(format!("`{key}`: {e}")))
}

async fn load_latest(kv: &KvStore, index: &str, budget: u64) -> Result<Rc<Loaded>, LoadError> {
    let started = now_ms();
    let manifest = read_manifest(kv, index).await?;
    let manifest_ms = now_ms() - started;
    let mut loaded = load_manifest(kv, index, manifest, budget).await?;
    if let Some(l) = Rc::get_mut(&mut loaded) {
        l.kv_ms += manifest_ms;
    }
    Ok(loaded)
}

async fn load_manifest(
    kv: &KvStore,
    index: &str,
    manifest: Manifest,
    budget: u64,
) -> Result<Rc<Loaded>, LoadError> {
    with_stats(|st| st.loads += 1);
    let failed = |detail: String| LoadError::Failed {
        index: index.to_string(),
        detail,
    };
    let total = manifest.total_bytes();
    if total > budget {
        return Err(LoadError::TooLarge {
            index: index.to_string(),
            bytes: total,
            budget,
        });
    }
    let [entry] = manifest.segments.as_slice() else {
        return Err(failed(format!(
            "manifest v{} names {} segments; this worker serves exactly one segment per index",
            manifest.version,
            manifest.segments.len()
        )));
    };
    let reads = entry.chunks.iter().map(|key| async move {
        match kv_bytes(kv, key).await {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(format!("chunk `{key}` is missing from KV")),
            Err(e) => Err(e),
        }
    });
    let kv_started = now_ms();
    let chunks = futures::future::try_join_all(reads).await.map_err(failed)?;
    let kv_ms = now_ms() - kv_started;
    let mut bytes = Vec::with_capacity(entry.size as usize);
    for chunk in chunks {
        bytes.extend_from_slice(&chunk);
    }
    if bytes.len() as u64 != entry.size {
        return Err(failed(format!(
            "segment {} is {} bytes in KV, the manifest says {}",
            entry.hash,
            bytes.len(),
            entry.size
        )));
    }
    let size = bytes.len();
    let segment =
        Segment::load(bytes).map_err(|e| failed(format!("segment {}: {e}", entry.hash)))?;
    Ok(Rc::new(Loaded {
        index: index.to_string(),
        version: manifest.version,
        segment,
        bytes: size,
        kv_ms,
    }))
}
