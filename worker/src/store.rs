//! L1: parsed index versions kept in isolate memory across requests. This module is the thin
//! async layer that reads KV; the bookkeeping (LRU, byte budget, single flight, refresh timing,
//! counters) is the plain [`L1`] it keeps per isolate.
//!
//! - a version is a stack: a base, deltas and a blocklist, each segment by content hash. A new
//!   version takes every segment it shares with a held version (the base under a new delta,
//!   all of them on a rollback) from memory and reads only the others' chunks from KV;
//! - concurrent requests for an index that is loading wait on their own short timers and then
//!   read the outcome. They never drive the loader's KV I/O nor get woken from its context:
//!   Workers forbid one request touching another's I/O objects, and a wake-up sent across
//!   requests can be lost with the request that sent it;
//! - the manifest is re-read at most every `refresh` interval, in the background, while the
//!   loaded version keeps answering; a new version is built whole, then swapped in at once, so
//!   a request answers from one version from start to end;
//! - a failed or corrupt load (a chunk missing, bytes that do not hash to their name or fail
//!   their checksum, segments that do not form a stack) keeps the last good version serving and
//!   logs one JSON line.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use edgesuggest::{Segment, Stack};
use edgesuggest_manifest::{attestation_prefix, manifest_key, Manifest, SegmentEntry, SegmentKind};
use worker::kv::KvStore;

use crate::config::Config;
use crate::digest::check_bytes;
use crate::error::LoadError;
use crate::l1::{check_budget, Held, Lookup, Part, Stats, L1};
use crate::now_ms;
use edgesuggest_http::version::Created;

/// A segment's bytes, shared by every held version that names it: the `Vec` they were read
/// into from KV, held as it is (an `Rc<[u8]>` would copy it once more).
#[derive(Debug, Clone)]
pub struct Shared(Rc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// One loaded index version.
pub struct Loaded {
    /// The index name (`INDEXES`).
    pub index: String,
    /// The manifest version this stack came from.
    pub version: u64,
    /// When that version was published.
    pub created: Created,
    /// The version it was derived from, if any.
    pub parent: Option<u64>,
    /// Its segments in manifest order (base, deltas oldest first, blocklist).
    pub parts: Vec<Part>,
    /// The searchable stack over those segments.
    pub stack: Stack<Shared>,
    /// Milliseconds the load spent reading KV (manifest and chunks) and checking what it read.
    pub kv_ms: f64,
    /// Of `kv_ms`, the milliseconds spent checking fetched segments (SHA-256, structure),
    /// summed over them: what is not the KV read itself.
    pub check_ms: f64,
}

impl Held for Loaded {
    fn index(&self) -> &str {
        &self.index
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn parts(&self) -> &[Part] {
        &self.parts
    }
}

impl Loaded {
    /// The stack's segments in manifest order (the manifest puts the blocklist last, where
    /// the stack keeps it too), beside their parts.
    fn segments(&self) -> impl Iterator<Item = (&Part, &Segment<Shared>)> {
        let segments = self.stack.segments().iter().chain(self.stack.blocklist());
        self.parts.iter().zip(segments)
    }
}

/// How often a waiting request looks whether the load it waits for has finished.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(5);
/// How long a request waits for another request's load before giving up.
const WAIT_LIMIT_MS: f64 = 30_000.0;

thread_local! {
    static STATE: RefCell<L1<Loaded>> = RefCell::new(L1::new());
}

/// Runs `f` on this isolate's L1. Never call it from inside `f`, nor hold it across an await.
fn with_l1<T>(f: impl FnOnce(&mut L1<Loaded>) -> T) -> T {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// Runs `f` on the counters.
pub fn with_stats<T>(f: impl FnOnce(&mut Stats) -> T) -> T {
    with_l1(|l1| f(&mut l1.stats))
}

/// Every loaded index version (by index name) and the bytes held.
pub fn loaded_summary() -> (Vec<Rc<Loaded>>, usize) {
    with_l1(|l1| (l1.held(), l1.bytes_held()))
}

/// The version this isolate serves of `index`, if it holds one (no load is started).
pub fn serving_version(index: &str) -> Option<u64> {
    with_l1(|l1| l1.serving_version(index))
}

/// Marks a load in flight until dropped (finished or cancelled with its request).
struct InflightGuard<'a> {
    index: &'a str,
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        with_l1(|l1| l1.end_load(self.index));
    }
}

/// How a request got its index: from memory, or by waiting for a load.
pub struct Got {
    /// The index version to answer from.
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
        match with_l1(|l1| l1.lookup(index, waited)) {
            Lookup::Hit(loaded) => {
                let load_ms = (now_ms() - started).max(0.0);
                return Ok(Got { loaded, load_ms });
            }
            Lookup::Wait => {
                wait_for_load(index, started).await?;
                waited = true;
            }
            Lookup::Failed(e) => return Err(e),
            Lookup::Load => {
                let loaded = load_and_install(kv, index, config).await?;
                let load_ms = now_ms() - started;
                return Ok(Got { loaded, load_ms });
            }
        }
    }
}

/// Sleeps one poll interval, or fails when the wait for another request's load is too long.
async fn wait_for_load(index: &str, started: f64) -> Result<(), LoadError> {
    if now_ms() - started > WAIT_LIMIT_MS {
        return Err(LoadError::Failed {
            index: index.to_string(),
            detail: "timed out waiting for a concurrent load".to_string(),
        });
    }
    worker::Delay::from(WAIT_POLL).await;
    Ok(())
}

/// Loads the latest version of `index` (this request owns the load) and records the outcome
/// for the requests waiting on it.
async fn load_and_install(
    kv: &KvStore,
    index: &str,
    config: &Config,
) -> Result<Rc<Loaded>, LoadError> {
    let _guard = InflightGuard { index };
    let result = load_latest(kv, index, config).await;
    with_l1(|l1| {
        l1.finish_load(index, &result, config.memory_budget_bytes, now_ms());
        if let Err(e) = &result {
            log_failure(index, e, l1.serving_version(index));
        }
    });
    result
}

/// Starts a background manifest check for `index` when the refresh interval has passed.
pub fn maybe_refresh(ctx: &worker::Context, kv: &KvStore, index: &str, config: &Config) {
    let due = with_l1(|l1| l1.refresh_due(index, now_ms(), config.refresh_ms));
    let Some(current) = due else {
        return;
    };
    let kv = kv.clone();
    let index = index.to_string();
    let config = config.clone();
    ctx.wait_until(async move {
        let result = load_if_newer(&kv, &index, current, &config).await;
        with_l1(|l1| {
            l1.finish_refresh(&index, &result, config.memory_budget_bytes, now_ms());
            match &result {
                Ok(Some(loaded)) => log_swap(&index, current, loaded),
                Ok(None) => {}
                Err(e) => log_failure(&index, e, l1.serving_version(&index)),
            }
        });
    });
}

/// The version the manifest names when it is not `current`, loaded; `None` when it is.
async fn load_if_newer(
    kv: &KvStore,
    index: &str,
    current: u64,
    config: &Config,
) -> Result<Option<Rc<Loaded>>, LoadError> {
    let manifest = read_manifest(kv, index).await?;
    if manifest.version == current {
        return Ok(None);
    }
    load_manifest(kv, index, manifest, config).await.map(Some)
}

/// One structured log line per swapped-in version.
fn log_swap(index: &str, from: u64, to: &Loaded) {
    worker::console_log!(
        "{}",
        serde_json::json!({
            "event": "swap",
            "index": index,
            "from": from,
            "to": to.version,
            "created": to.created.text,
            "segments": to.parts.len(),
        })
    );
}

/// One structured log line per failed load, with the version that keeps serving (if any).
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

/// The value at `key`, counted in the KV read stats.
async fn kv_bytes(kv: &KvStore, key: &str) -> Result<Option<Vec<u8>>, String> {
    with_stats(|st| *st.kv_reads.entry(key.to_string()).or_default() += 1);
    kv.get(key)
        .bytes()
        .await
        .map_err(|e| format!("KV read of `{key}` failed: {e}"))
}

/// The manifest the pointer `manifest/<index>` holds.
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

/// Reads the manifest, then loads the version it names; `kv_ms` covers both.
async fn load_latest(kv: &KvStore, index: &str, config: &Config) -> Result<Rc<Loaded>, LoadError> {
    let started = now_ms();
    let manifest = read_manifest(kv, index).await?;
    let manifest_ms = now_ms() - started;
    let mut loaded = load_manifest(kv, index, manifest, config).await?;
    if let Some(l) = Rc::get_mut(&mut loaded) {
        l.kv_ms += manifest_ms;
    }
    Ok(loaded)
}

/// Builds the stack `manifest` names: segments already held are reused, the others read
/// from KV and verified, then the whole stack is formed (or the load fails).
async fn load_manifest(
    kv: &KvStore,
    index: &str,
    manifest: Manifest,
    config: &Config,
) -> Result<Rc<Loaded>, LoadError> {
    with_stats(|st| st.loads += 1);
    let failed = |detail: String| LoadError::Failed {
        index: index.to_string(),
        detail,
    };
    check_budget(index, manifest.total_bytes(), config.memory_budget_bytes)?;
    let held = held_segments();
    let key = config.attestation_key.as_deref();
    let kv_started = now_ms();
    let check_ms = std::cell::Cell::new(0.0);
    let segments = manifest
        .segments
        .iter()
        .map(|entry| segment_for(kv, entry, &held, (&check_ms, key)));
    let segments = futures::future::try_join_all(segments)
        .await
        .map_err(failed)?;
    let kv_ms = now_ms() - kv_started;
    let parts = manifest.segments.iter().zip(&segments).map(part).collect();
    let stack = Stack::from_segments(segments).map_err(|e| {
        failed(format!(
            "the segments of version {} do not form a stack: {e}; publish a base, deltas \
             built the same way (`--word-starts`) and at most one blocklist",
            manifest.version
        ))
    })?;
    Ok(Rc::new(Loaded {
        index: index.to_string(),
        version: manifest.version,
        created: Created::parse(&manifest.created),
        parent: manifest.parent,
        parts,
        stack,
        kv_ms,
        check_ms: check_ms.get(),
    }))
}

/// What the budget and `/v1/health` know of a segment: its manifest entry's hash and kind
/// (both checked against the bytes) and the bytes actually held.
fn part((entry, segment): (&SegmentEntry, &Segment<Shared>)) -> Part {
    Part {
        bytes: segment.as_bytes().len(),
        hash: entry.hash.clone(),
        kind: entry.kind,
    }
}

/// Every segment held in L1, by content hash (cheap clones sharing the bytes).
fn held_segments() -> HashMap<String, Segment<Shared>> {
    with_l1(|l1| {
        let mut held = HashMap::new();
        for loaded in l1.held() {
            for (part, segment) in loaded.segments() {
                held.insert(part.hash.clone(), segment.clone());
            }
        }
        held
    })
}

/// The segment `entry` names: the held one with its hash, else read from KV and verified
/// (the milliseconds its checks take added to `check_ms`).
async fn segment_for(
    kv: &KvStore,
    entry: &SegmentEntry,
    held: &HashMap<String, Segment<Shared>>,
    (check_ms, key): (&std::cell::Cell<f64>, Option<&str>),
) -> Result<Segment<Shared>, String> {
    if let Some(segment) = held.get(&entry.hash) {
        // Same bytes, but this manifest may list them as another kind.
        check_kind(entry, segment)?;
        with_stats(|st| st.segments_reused += 1);
        return Ok(segment.clone());
    }
    let segment = fetch_segment(kv, entry, (check_ms, key)).await?;
    with_stats(|st| st.segments_fetched += 1);
    Ok(segment)
}

/// Reads a segment's chunks and checks them: the size and SHA-256 the manifest names, then
/// the segment's structure, then its kind. The segment's own checksum is not computed again:
/// bytes with the SHA-256 the manifest names are the bytes `publish` checked, and a cold
/// start would pay a second pass over them. Validation stays unless the entry carries a
/// valid attestation under the worker's `key` (the publisher's HMAC saying its engine, with
/// these validation rules, accepted these bytes): it is what keeps crafted bytes from
/// reaching the search, and the walk over every FST node is most of a cold start's checks.
/// The milliseconds the checks take are added to `check_ms`.
async fn fetch_segment(
    kv: &KvStore,
    entry: &SegmentEntry,
    (check_ms, key): (&std::cell::Cell<f64>, Option<&str>),
) -> Result<Segment<Shared>, String> {
    let bytes = read_chunks(kv, &entry.chunks).await?;
    let read = now_ms();
    if bytes.len() as u64 != entry.size {
        return Err(format!(
            "segment {} is {} bytes in KV, the manifest says {}; republish it",
            entry.hash,
            bytes.len(),
            entry.size
        ));
    }
    let key = key.unwrap_or_default();
    let attestation = entry.attestation.as_deref().unwrap_or_default();
    let prefix = attestation_prefix(edgesuggest::VALIDATION_RULES);
    let checked = check_bytes(&bytes, (key, attestation, &prefix)).await?;
    let hash = checked.sha256;
    if hash != entry.hash {
        return Err(format!(
            "segment {} hashes to {hash} in KV: its chunks are damaged or not its own; \
             republish it",
            entry.hash
        ));
    }
    with_stats(|st| st.segments_attested += u64::from(checked.attested));
    let open = match checked.attested {
        true => Segment::open_attested,
        false => Segment::open,
    };
    let segment =
        open(Shared(Rc::new(bytes))).map_err(|e| format!("segment {}: {e}", entry.hash))?;
    check_kind(entry, &segment)?;
    check_ms.set(check_ms.get() + now_ms() - read);
    Ok(segment)
}

/// Refuses a segment whose header says another kind than its manifest entry.
fn check_kind(entry: &SegmentEntry, segment: &Segment<Shared>) -> Result<(), String> {
    // Named with the engine's names, which are the manifest's spellings: lowercasing the
    // manifest kind's `Debug` form took `str::to_lowercase` into the module (2.8 KB gzip).
    let listed = match entry.kind {
        SegmentKind::Base => edgesuggest::SegmentKind::Base,
        SegmentKind::Delta => edgesuggest::SegmentKind::Delta,
        SegmentKind::Blocklist => edgesuggest::SegmentKind::Blocklist,
    };
    if segment.kind() != listed {
        return Err(format!(
            "segment {} is a {} segment, the manifest lists it as a {}; rebuild the manifest \
             from the segment files",
            entry.hash,
            segment.kind().name(),
            listed.name()
        ));
    }
    Ok(())
}

/// The chunks at `keys`, read concurrently, concatenated in order.
async fn read_chunks(kv: &KvStore, keys: &[String]) -> Result<Vec<u8>, String> {
    let reads = keys.iter().map(|key| async move {
        match kv_bytes(kv, key).await {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(format!("chunk `{key}` is missing from KV")),
            Err(e) => Err(e),
        }
    });
    let mut chunks = futures::future::try_join_all(reads).await?;
    // Most segments are one chunk: no copy to join it.
    Ok(if chunks.len() == 1 {
        chunks.swap_remove(0)
    } else {
        chunks.concat()
    })
}
