//! `edgesuggest publish`: segments → an immutable manifest version in Workers KV
//! (content-addressed chunks, then `manifest/<index>/<version>`, then the pointer
//! `manifest/<index>`), and the commands that manage versions (`versions`, `rollback`, `gc`).

mod policy;
mod store;
pub mod target;
pub mod versions;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use clap::{ArgGroup, Args};
use edgesuggest::{BlocklistBuilder, Segment, Stack};
use edgesuggest_manifest::{
    attestation_message, chunk_key, valid_index_name, Manifest, SegmentEntry, SegmentKind,
    DEFAULT_CHUNK_BYTES, KV_MAX_VALUE_BYTES, MANIFEST_VERSION,
};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use policy::Policy;
use store::{hex, Store, StoredVersion};
use target::{Chunk, TargetArgs, Writes};

/// Publish an index version to Workers KV for the edge worker.
///
/// Every publish writes an immutable version `manifest/<INDEX>/<VERSION>` (the base, the
/// deltas, the blocklist, each by content hash, with its creation time and parent version),
/// then moves the pointer `manifest/<INDEX>` to it. New chunks (`seg/<sha256>/<chunk-bytes>/<n>`)
/// are written first, the version next and the pointer last, so a worker never sees a manifest
/// pointing at missing data; chunks the live version already has are not written again. Every
/// segment is verified, and the result checked to form a stack, before anything is written.
///
/// Three ways to publish: SEGMENT... (a base, then deltas) replaces the index; --delta appends
/// to the live version (keeping its blocklist), or compacts everything into a new base when the
/// policy says so (more than --max-deltas deltas, deltas over --max-delta-share of the base, or
/// one change set over --rebase-share of it); --blocklist alone replaces the live blocklist.
///
/// The publisher keeps a store (--store) mirroring every entry it wrote; it is how --delta,
/// rollback, gc and versions know the live version without reading KV. With --out-dir, apply
/// the printed commands before the next publish: the store assumes they were.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("input").args(["segments", "delta", "blocklist"]).required(true).multiple(true)),
    group(ArgGroup::new("output").args(["out_dir", "local"]).required(true).multiple(true)),
    after_help = "Examples:
  edgesuggest publish cities.seg --index cities --local
  edgesuggest publish cities.seg --blocklist blocked.txt --index cities --out-dir kv/
  # then, on a Cloudflare account (wrangler login), in this order:
  wrangler kv bulk put kv/chunks.json --binding SEGMENTS --remote
  wrangler kv bulk put kv/version.json --binding SEGMENTS --remote
  wrangler kv bulk put kv/manifest.json --binding SEGMENTS --remote

  edgesuggest build --delta changes.ndjson -o d1.seg --word-starts
  edgesuggest publish --delta d1.seg --index cities --out-dir kv/   # kv/store is the store
  edgesuggest versions --index cities --out-dir kv/
  edgesuggest rollback --index cities --to 1764614400000 --out-dir kv/
  edgesuggest gc --index cities --keep 5 --out-dir kv/")]
pub struct PublishArgs {
    /// Segment files: a base, then deltas, oldest first (replaces the live version).
    #[arg(value_name = "SEGMENT", conflicts_with = "delta")]
    segments: Vec<PathBuf>,

    /// A delta segment to append to the live version (repeat for several, oldest first).
    #[arg(long, value_name = "SEGMENT")]
    delta: Vec<PathBuf>,

    /// The blocklist: a text file (a phrase or `prefix*` a line) or a blocklist segment.
    /// Alone, it replaces the live version's blocklist.
    #[arg(long, value_name = "FILE")]
    blocklist: Option<PathBuf>,

    /// Index name: 1–64 characters of a-z, 0-9, `-`, `_`.
    #[arg(long)]
    index: String,

    /// Version number; must be above every stored version of the index (default:
    /// milliseconds since 1970, or the newest version + 1 if that is larger).
    #[arg(long)]
    version: Option<u64>,

    /// Largest chunk, in bytes (KV values are limited to 25 MiB).
    #[arg(long, default_value_t = DEFAULT_CHUNK_BYTES, value_name = "BYTES")]
    chunk_bytes: usize,

    /// Attest each segment with this key: an HMAC-SHA256 of its hash, written into the
    /// manifest, saying this publisher validated its structure. A worker holding the same key
    /// (its `SEGMENT_ATTESTATION_KEY` secret) then skips walking the FST nodes on load, most
    /// of a cold start's checks. At least 32 bytes; pass it through the environment variable
    /// rather than the command line. Without it, workers validate every segment in full.
    #[arg(
        long,
        env = "EDGESUGGEST_ATTESTATION_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    attestation_key: Option<String>,

    #[command(flatten)]
    target: TargetArgs,

    #[command(flatten)]
    policy: Policy,
}

/// The shortest attestation key taken: HMAC-SHA256's block of security.
const MIN_ATTESTATION_KEY_BYTES: usize = 32;

/// Verifies the segments, plans the version (compacting if the policy says so), then writes
/// its new chunks, the version and the pointer.
pub fn run(args: PublishArgs) -> Result<()> {
    check_args(&args)?;
    let store = args.target.store()?;
    let _lock = store.lock()?;
    let live = store.live(&args.index)?;
    let version = next_version(args.version, newest_version(&store, &args.index)?, &store)?;
    let (stack, parent) = plan_stack(&args, &store, live.as_ref())?;
    let (mut segments, chunks) = publish_entries(&stack, live.as_ref(), args.chunk_bytes)?;
    if let Some(key) = &args.attestation_key {
        attest(&mut segments, key.as_bytes())?;
    }
    let manifest = Manifest {
        manifest_version: MANIFEST_VERSION,
        index: args.index.clone(),
        version,
        created: edgesuggest_http::version::rfc3339(now().as_secs()),
        parent,
        segments,
    };
    let json = serde_json::to_string(&manifest)?;
    print_summary(&manifest, &chunks);
    let writes = Writes {
        chunks,
        version: Some((version, json.clone())),
        pointer: Some(json),
        deletes: Vec::new(),
    };
    target::apply(&args.target, &store, &args.index, &writes)
}

/// Refuses a bad index name, chunk size or policy before reading anything.
fn check_args(args: &PublishArgs) -> Result<()> {
    check_index(&args.index)?;
    if args.chunk_bytes == 0 || args.chunk_bytes > KV_MAX_VALUE_BYTES {
        bail!(
            "--chunk-bytes {} is out of range: 1 to {KV_MAX_VALUE_BYTES} (KV's value limit)",
            args.chunk_bytes
        );
    }
    args.target.require_output()?;
    if let Some(key) = &args.attestation_key {
        if key.len() < MIN_ATTESTATION_KEY_BYTES {
            bail!(
                "the attestation key is {} bytes, at least {MIN_ATTESTATION_KEY_BYTES} are \
                 needed: use random bytes, for example `openssl rand -hex 32`, and give the \
                 worker the same value (`wrangler secret put SEGMENT_ATTESTATION_KEY`)",
                key.len()
            );
        }
    }
    args.policy.check()
}

/// Refuses an invalid index name.
pub(crate) fn check_index(index: &str) -> Result<()> {
    if !valid_index_name(index) {
        bail!("invalid index name {index:?}: use 1–64 characters of a-z, 0-9, `-` and `_`");
    }
    Ok(())
}

/// The highest version number the store knows for `index` (stored or live).
fn newest_version(store: &Store, index: &str) -> Result<Option<u64>> {
    let stored = store.versions(index)?.last().map(|v| v.manifest.version);
    let live = store.live(index)?.map(|v| v.manifest.version);
    Ok(stored.max(live))
}

/// The new version's number: `requested`, or the time in milliseconds; above `newest`.
fn next_version(requested: Option<u64>, newest: Option<u64>, store: &Store) -> Result<u64> {
    let floor = match newest {
        None => 0,
        Some(n) => n
            .checked_add(1)
            .context("the newest version is u64::MAX: use a new index")?,
    };
    match requested {
        Some(v) if v < floor => bail!(
            "--version {v} is not above {}, the newest version of this index in the store {}: \
             versions must increase; pass a larger one or leave --version out",
            floor - 1,
            store.root().display()
        ),
        Some(v) => Ok(v),
        None => Ok((now().as_millis() as u64).max(floor)),
    }
}

fn now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The stack the new version serves, checked, and its parent version.
fn plan_stack(
    args: &PublishArgs,
    store: &Store,
    live: Option<&StoredVersion>,
) -> Result<(Stack<Vec<u8>>, Option<u64>)> {
    if !args.segments.is_empty() {
        let blocklist = args.blocklist.as_deref().map(load_blocklist).transpose()?;
        return Ok((full_stack(&args.segments, blocklist)?, None));
    }
    let live = live.ok_or_else(|| {
        anyhow!(
            "index {} has no live version in the store {}: publish a base first \
             (edgesuggest publish BASE.seg --index {} ...), or pass the --store it was \
             published with",
            args.index,
            store.root().display(),
            args.index
        )
    })?;
    let mut stack = appended_stack(args, store, &live.manifest)?;
    if !args.delta.is_empty() {
        stack = compact_if_needed(stack, &args.policy, args.delta.len())?;
    }
    Ok((stack, Some(live.manifest.version)))
}

/// A base and deltas from files, in that order, with an optional blocklist.
fn full_stack(paths: &[PathBuf], blocklist: Option<Segment<Vec<u8>>>) -> Result<Stack<Vec<u8>>> {
    let mut segments = Vec::with_capacity(paths.len() + 1);
    for (i, path) in paths.iter().enumerate() {
        let segment = crate::read_segment(path)?;
        let (expected, hint) = match i {
            0 => (
                edgesuggest::SegmentKind::Base,
                "the first SEGMENT must be a base (built \
                  without --delta); to append a delta to the live version use --delta",
            ),
            _ => (
                edgesuggest::SegmentKind::Delta,
                "segments after the base must be deltas \
                  (`edgesuggest build --delta`); a blocklist goes in --blocklist",
            ),
        };
        expect_kind(&segment, expected, path, hint)?;
        segments.push(segment);
    }
    segments.extend(blocklist);
    Stack::from_segments(segments).context("the segments do not form a stack")
}

/// The live version's segments (from the store), the new deltas after them, and the new
/// blocklist or the live one.
fn appended_stack(args: &PublishArgs, store: &Store, live: &Manifest) -> Result<Stack<Vec<u8>>> {
    let mut segments = Vec::new();
    for entry in live
        .segments
        .iter()
        .filter(|s| s.kind != SegmentKind::Blocklist)
    {
        segments.push(Segment::load(store.segment_bytes(entry)?).with_context(|| {
            format!(
                "segment {} of version {} in the store",
                entry.hash, live.version
            )
        })?);
    }
    let base_word_starts = segments.first().is_some_and(|b| b.word_starts());
    for path in &args.delta {
        let segment = crate::read_segment(path)?;
        let hint = "--delta takes a delta (edgesuggest build --delta CHANGES.ndjson -o D.seg); \
                    to replace the base, publish it without --delta";
        expect_kind(&segment, edgesuggest::SegmentKind::Delta, path, hint)?;
        check_word_starts(&segment, base_word_starts, path)?;
        segments.push(segment);
    }
    let blocklist = match (&args.blocklist, live.blocklist()) {
        (Some(path), _) => Some(load_blocklist(path)?),
        (None, Some(entry)) => {
            Some(Segment::load(store.segment_bytes(entry)?).with_context(|| {
                format!("the blocklist of version {} in the store", live.version)
            })?)
        }
        (None, None) => None,
    };
    segments.extend(blocklist);
    Stack::from_segments(segments).context("the segments do not form a stack")
}

/// Refuses `segment` (read from `path`) unless it is of `kind`.
fn expect_kind(
    segment: &Segment<Vec<u8>>,
    kind: edgesuggest::SegmentKind,
    path: &Path,
    hint: &str,
) -> Result<()> {
    if segment.kind() != kind {
        bail!(
            "{} is a {} segment, expected a {}: {hint}",
            path.display(),
            segment.kind().name(),
            kind.name()
        );
    }
    Ok(())
}

/// Refuses a delta whose word-start setting differs from the live base's.
fn check_word_starts(delta: &Segment<Vec<u8>>, base: bool, path: &Path) -> Result<()> {
    if delta.word_starts() != base {
        let (with, without) = if base {
            ("with", "without")
        } else {
            ("without", "with")
        };
        bail!(
            "{} was built {without} word starts and the live base {with}: its later words \
             would be missing from word-start queries; rebuild it {with} --word-starts",
            path.display()
        );
    }
    Ok(())
}

/// A blocklist segment, or one built from a text file (one phrase or `prefix*` a line).
fn load_blocklist(path: &Path) -> Result<Segment<Vec<u8>>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read blocklist {}", path.display()))?;
    if bytes.starts_with(b"EDGESUG\0") {
        let segment =
            Segment::load(bytes).with_context(|| format!("cannot load {}", path.display()))?;
        let hint = "--blocklist takes a blocklist segment (edgesuggest build --blocklist) or \
                    a text file of phrases and `prefix*` lines";
        expect_kind(&segment, edgesuggest::SegmentKind::Blocklist, path, hint)?;
        return Ok(segment);
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{}: neither a segment nor UTF-8 text (invalid byte at offset {}): a blocklist \
             is one phrase or `prefix*` a line",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let mut builder = BlocklistBuilder::new();
    for (n, line) in text.lines().enumerate() {
        builder
            .add_line(line.strip_suffix('\r').unwrap_or(line))
            .with_context(|| format!("{}:{}", path.display(), n + 1))?;
    }
    let built = builder
        .finish()
        .with_context(|| format!("blocklist {}", path.display()))?;
    Ok(Segment::load(built.bytes)?)
}

/// Applies the compaction policy to a stack whose last `new` deltas are being published:
/// the stack itself, or a new base (merged with `edgesuggest::compact`) and the blocklist.
fn compact_if_needed(stack: Stack<Vec<u8>>, policy: &Policy, new: usize) -> Result<Stack<Vec<u8>>> {
    let deltas: Vec<u64> = stack.deltas().iter().map(entry_count).collect();
    let base = entry_count(stack.base());
    let Some(reason) = policy.decide(base, &deltas, new) else {
        return Ok(stack);
    };
    let built = edgesuggest::compact(&stack).context("compaction failed; nothing was written")?;
    let merged = Segment::load(built.bytes)?;
    println!(
        "compacting: {reason}; base ({base} suggestions) + {} delta(s) → a new base of {} \
         suggestions (blocklist kept)",
        deltas.len(),
        merged.len()
    );
    Stack::new(merged, Vec::new(), stack.blocklist().cloned())
        .context("the compacted base does not form a stack")
}

/// What the compaction policy weighs: suggestions plus tombstones (a delta) or entries (a
/// blocklist).
fn entry_count(segment: &Segment<Vec<u8>>) -> u64 {
    (segment.len() as u64).saturating_add(segment.extra_entries())
}

/// The manifest entries of the stack's segments (in manifest order) and the chunks to write:
/// a segment the live version already has keeps its entry and writes nothing.
fn publish_entries(
    stack: &Stack<Vec<u8>>,
    live: Option<&StoredVersion>,
    chunk_bytes: usize,
) -> Result<(Vec<SegmentEntry>, Vec<Chunk>)> {
    let live_segments = live.map_or(&[][..], |l| &l.manifest.segments[..]);
    let mut queued: HashSet<String> = live_segments
        .iter()
        .flat_map(|s| s.chunks.iter().cloned())
        .collect();
    let mut entries = Vec::new();
    let mut chunks = Vec::new();
    for segment in stack.segments().iter().chain(stack.blocklist()) {
        let hash = hex(&Sha256::digest(segment.as_bytes()));
        let kind = manifest_kind(segment.kind());
        let published = live_segments
            .iter()
            .find(|e| e.hash == hash && e.kind == kind);
        if let Some(entry) = published {
            entries.push(entry.clone());
            continue;
        }
        let keys = cut_chunks(
            segment.as_bytes(),
            &hash,
            chunk_bytes,
            &mut queued,
            &mut chunks,
        );
        entries.push(SegmentEntry {
            hash,
            size: segment.as_bytes().len() as u64,
            kind,
            entries: entry_count(segment),
            chunks: keys,
            attestation: None,
        });
    }
    Ok((entries, chunks))
}

/// Signs every entry with `key`: each segment of the stack was opened, so validated, by this
/// process's engine (a live one kept from an earlier version too), whose rules the message
/// names.
fn attest(entries: &mut [SegmentEntry], key: &[u8]) -> Result<()> {
    for entry in entries {
        let message = attestation_message(&entry.hash, edgesuggest::VALIDATION_RULES);
        let mut mac = Hmac::<Sha256>::new_from_slice(key)
            .map_err(|e| anyhow!("the attestation key cannot key HMAC-SHA256: {e}"))?;
        mac.update(message.as_bytes());
        entry.attestation = Some(hex(&mac.finalize().into_bytes()));
    }
    Ok(())
}

/// Cuts `bytes` (hashing to `hash`) into chunks: their keys, in order; each chunk not in
/// `queued` (already in KV or already queued) is queued in `chunks`.
fn cut_chunks(
    bytes: &[u8],
    hash: &str,
    chunk_bytes: usize,
    queued: &mut HashSet<String>,
    chunks: &mut Vec<Chunk>,
) -> Vec<String> {
    let mut keys = Vec::new();
    for (n, piece) in bytes.chunks(chunk_bytes).enumerate() {
        let key = chunk_key(hash, chunk_bytes, n);
        if queued.insert(key.clone()) {
            chunks.push(Chunk {
                key: key.clone(),
                bytes: piece.to_vec(),
            });
        }
        keys.push(key);
    }
    keys
}

fn manifest_kind(kind: edgesuggest::SegmentKind) -> SegmentKind {
    match kind {
        edgesuggest::SegmentKind::Base => SegmentKind::Base,
        edgesuggest::SegmentKind::Delta => SegmentKind::Delta,
        edgesuggest::SegmentKind::Blocklist => SegmentKind::Blocklist,
    }
}

/// One line on what is being published.
fn print_summary(manifest: &Manifest, chunks: &[Chunk]) {
    let new_bytes: usize = chunks.iter().map(|c| c.bytes.len()).sum();
    let parent = manifest
        .parent
        .map_or("none".to_string(), |p| p.to_string());
    println!(
        "index {} version {} (parent {parent}): {}, {} bytes; {} new chunk(s), {new_bytes} bytes",
        manifest.index,
        manifest.version,
        versions::describe(manifest),
        manifest.total_bytes(),
        chunks.len()
    );
}

#[cfg(test)]
mod tests {}
