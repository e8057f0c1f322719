//! `edgesuggest publish`: segments → Workers KV entries (content-addressed chunks, then the
//! manifest).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use clap::Args;
use edgesuggest_manifest::{
    chunk_key, manifest_key, valid_index_name, Manifest, SegmentEntry, SegmentKind,
    DEFAULT_CHUNK_BYTES, KV_MAX_VALUE_BYTES, MANIFEST_VERSION,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Publish segments to Workers KV for the edge worker.
///
/// Writes content-addressed chunks (`seg/<sha256>/<chunk-bytes>/<n>`) and a
/// manifest (`manifest/<INDEX>`) naming them. Chunks are written first and the manifest last,
/// so a worker never sees a manifest that points at missing data. Segments are verified before
/// anything is written.
///
/// Output: with --out-dir, two `wrangler kv bulk put` files (chunks.json, then manifest.json);
/// with --local, both are put straight into wrangler's local KV (what `wrangler dev` serves).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  edgesuggest publish cities.seg --index cities --local
  edgesuggest publish cities.seg --index cities --out-dir kv/
  # then, on a Cloudflare account (wrangler login), in this order:
  wrangler kv bulk put kv/chunks.json --binding SEGMENTS --remote
  wrangler kv bulk put kv/manifest.json --binding SEGMENTS --remote")]
pub struct PublishArgs {
    /// Segment files (the first is the base, later ones deltas).
    #[arg(required = true, value_name = "SEGMENT")]
    segments: Vec<PathBuf>,

    /// Index name: 1–64 characters of a-z, 0-9, `-`, `_`.
    #[arg(long)]
    index: String,

    /// Manifest version; must increase with every publish (default: milliseconds since 1970).
    #[arg(long)]
    version: Option<u64>,

    /// Largest chunk, in bytes (KV values are limited to 25 MiB).
    #[arg(long, default_value_t = DEFAULT_CHUNK_BYTES, value_name = "BYTES")]
    chunk_bytes: usize,

    /// Write chunks.json and manifest.json (wrangler bulk-put files) into DIR.
    #[arg(long, value_name = "DIR", required_unless_present = "local")]
    out_dir: Option<PathBuf>,

    /// Put the entries into wrangler's local KV (runs `wrangler kv bulk put --local`).
    #[arg(long)]
    local: bool,

    /// The wrangler configuration whose KV namespace is written (with --local).
    #[arg(long, default_value = "worker/wrangler.toml", value_name = "FILE")]
    config: PathBuf,

    /// The KV binding name in that configuration.
    #[arg(long, default_value = "SEGMENTS")]
    binding: String,

    /// The wrangler command (with --local).
    #[arg(long, env = "WRANGLER", default_value = "wrangler")]
    wrangler: String,
}

#[derive(Serialize)]
struct BulkEntry {
    key: String,
    value: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    base64: bool,
}

/// Verifies and chunks every segment, writes the two bulk-put files, then puts them into
/// local KV (`--local`) or says how to put them on an account.
pub fn run(args: PublishArgs) -> Result<()> {
    check_args(&args)?;
    let (chunks, segments) = chunk_segments(&args.segments, args.chunk_bytes)?;
    let manifest = make_manifest(&args.index, args.version, segments);
    let manifest_entry = vec![BulkEntry {
        key: manifest_key(&args.index),
        value: serde_json::to_string(&manifest)?,
        base64: false,
    }];
    // Without --out-dir the files live in a temporary directory, removed on return.
    let temporary = tempfile::tempdir()?;
    let dir = match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            dir.clone()
        }
        None => temporary.path().to_path_buf(),
    };
    let chunks_file = write_json(&dir, "chunks.json", &chunks)?;
    let manifest_file = write_json(&dir, "manifest.json", &manifest_entry)?;
    let total: u64 = manifest.segments.iter().map(|s| s.size).sum();
    println!(
        "index {} version {}: {} segment(s), {total} bytes, {} chunk(s)",
        manifest.index,
        manifest.version,
        manifest.segments.len(),
        chunks.len()
    );
    if args.local {
        put_local(&args, &chunks_file)?;
        put_local(&args, &manifest_file)?;
        println!(
            "published to local KV (binding {}, {})",
            args.binding,
            args.config.display()
        );
    } else {
        print_instructions(&args.binding, &chunks_file, &manifest_file);
    }
    Ok(())
}

/// Refuses a bad index name or chunk size before reading anything.
fn check_args(args: &PublishArgs) -> Result<()> {
    if !valid_index_name(&args.index) {
        bail!(
            "invalid index name {:?}: use 1–64 characters of a-z, 0-9, `-` and `_`",
            args.index
        );
    }
    if args.chunk_bytes == 0 || args.chunk_bytes > KV_MAX_VALUE_BYTES {
        bail!(
            "--chunk-bytes {} is out of range: 1 to {KV_MAX_VALUE_BYTES} (KV's value limit)",
            args.chunk_bytes
        );
    }
    Ok(())
}

/// Verifies each segment and cuts it into content-addressed chunks: the chunks' bulk-put
/// entries, and the manifest's entry for each segment (the first is the base).
fn chunk_segments(
    paths: &[PathBuf],
    chunk_bytes: usize,
) -> Result<(Vec<BulkEntry>, Vec<SegmentEntry>)> {
    let mut chunks = Vec::new();
    let mut entries = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let bytes = crate::read_segment(path)?.into_inner();
        let hash = hex(&Sha256::digest(&bytes));
        let mut keys = Vec::new();
        for (n, chunk) in bytes.chunks(chunk_bytes).enumerate() {
            let key = chunk_key(&hash, chunk_bytes, n);
            chunks.push(BulkEntry {
                key: key.clone(),
                value: base64::engine::general_purpose::STANDARD.encode(chunk),
                base64: true,
            });
            keys.push(key);
        }
        let kind = if i == 0 {
            SegmentKind::Base
        } else {
            SegmentKind::Delta
        };
        entries.push(SegmentEntry {
            hash,
            size: bytes.len() as u64,
            kind,
            entries: 0,
            chunks: keys,
        });
    }
    Ok((chunks, entries))
}

/// The manifest naming `segments`, versioned by `version` or the time in milliseconds.
fn make_manifest(index: &str, version: Option<u64>, segments: Vec<SegmentEntry>) -> Manifest {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Manifest {
        manifest_version: MANIFEST_VERSION,
        index: index.to_owned(),
        version: version.unwrap_or(now.as_millis() as u64),
        created: rfc3339(now.as_secs()),
        parent: None,
        segments,
    }
}

/// Writes `value` as JSON to `dir/name`; returns the path.
fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(value)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// How to put the files on a Cloudflare account, in the order that keeps readers safe.
fn print_instructions(binding: &str, chunks_file: &Path, manifest_file: &Path) {
    println!(
        "wrote {} and {}",
        chunks_file.display(),
        manifest_file.display()
    );
    println!("put them in this order (chunks first, manifest last):");
    for file in [chunks_file, manifest_file] {
        println!(
            "  wrangler kv bulk put {} --binding {binding} --remote",
            file.display()
        );
    }
}

fn put_local(args: &PublishArgs, file: &Path) -> Result<()> {
    let config_dir = args
        .config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let config_name = args.config.file_name().context("--config names no file")?;
    let file = std::fs::canonicalize(file)?;
    let status = Command::new(&args.wrangler)
        .current_dir(config_dir)
        .args(["kv", "bulk", "put"])
        .arg(&file)
        .args(["--binding", &args.binding, "--local", "--config"])
        .arg(config_name)
        .env("WRANGLER_SEND_METRICS", "false")
        .status()
        .with_context(|| {
            format!(
                "cannot run `{}`: install wrangler or pass --wrangler PATH (./build.sh worker \
                 installs one)",
                args.wrangler
            )
        })?;
    if !status.success() {
        bail!(
            "`{} kv bulk put {}` failed ({status}); nothing after it was written",
            args.wrangler,
            file.display()
        );
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since 1970 (civil-from-days, proleptic Gregorian).
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_796_083_200), "2026-12-01T00:00:00Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
