//! Opening an index version from files: a base with deltas and a blocklist, or a manifest whose
//! segments sit beside it. Shared by `query`, `inspect` and `verify`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use edgesuggest::{BlocklistBuilder, Segment, Stack};
use edgesuggest_manifest::{Manifest, SegmentEntry};
use sha2::{Digest, Sha256};

/// A blocklist given on the command line: a blocklist segment, or a plain text list (built in
/// memory; bad lines are reported as `file:line`).
pub fn read_blocklist(path: &Path) -> Result<Segment<Vec<u8>>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read blocklist {}", path.display()))?;
    if bytes.starts_with(edgesuggest::format::MAGIC) {
        return crate::read_segment(&path.to_path_buf());
    }
    let text = String::from_utf8(bytes)
        .with_context(|| format!("blocklist {} is not UTF-8 text", path.display()))?;
    let mut list = BlocklistBuilder::new();
    for (i, line) in text.lines().enumerate() {
        list.add_line(line)
            .with_context(|| format!("{}:{}: {line:?}", path.display(), i + 1))?;
    }
    Ok(Segment::load(list.finish()?.bytes)?)
}

/// A stack of `base`, `deltas` (oldest first) and an optional blocklist file.
pub fn open_files(
    base: &PathBuf,
    deltas: &[PathBuf],
    blocklist: Option<&Path>,
) -> Result<Stack<Vec<u8>>> {
    let base_segment = crate::read_segment(base)?;
    let delta_segments = deltas
        .iter()
        .map(crate::read_segment)
        .collect::<Result<Vec<_>>>()?;
    let list = blocklist.map(read_blocklist).transpose()?;
    Stack::new(base_segment, delta_segments, list).with_context(|| match deltas.len() {
        0 => format!("cannot answer from {}", base.display()),
        n => format!("cannot layer {n} delta(s) over {}", base.display()),
    })
}

/// The manifest at `path` and the stack it names. Each segment is read from `dir` as
/// `<hash>.seg`, or as its chunk files at their KV keys (`seg/<hash>/<bytes>/<n>`), and must
/// hash to the manifest's hash. Without `dir`: the manifest's directory or the nearest of its
/// ancestors that holds the base (a publisher's store keeps versions at
/// `manifest/<index>/<version>.json` and chunks at `seg/...`).
pub fn open_manifest(path: &Path, dir: Option<&Path>) -> Result<(Manifest, Stack<Vec<u8>>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read manifest {}", path.display()))?;
    let manifest =
        Manifest::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => segments_dir(path, &manifest),
    };
    let segments = manifest
        .segments
        .iter()
        .map(|entry| read_entry(&dir, entry))
        .collect::<Result<Vec<_>>>()?;
    let stack = Stack::from_segments(segments)
        .with_context(|| format!("manifest {} names no usable index", path.display()))?;
    Ok((manifest, stack))
}

/// The manifest's directory or the nearest ancestor (three levels at most) holding the base,
/// whole or as its first chunk; the manifest's directory when none does.
fn segments_dir(path: &Path, manifest: &Manifest) -> PathBuf {
    let start = path.parent().unwrap_or(Path::new("."));
    let holds_base = |dir: &Path| {
        manifest.segments.first().is_some_and(|base| {
            dir.join(format!("{}.seg", base.hash)).is_file()
                || base.chunks.first().is_some_and(|c| dir.join(c).is_file())
        })
    };
    start
        .ancestors()
        .take(4)
        .find(|dir| holds_base(dir))
        .unwrap_or(start)
        .to_path_buf()
}

/// One manifest segment's bytes, checked against its size and hash, then loaded.
fn read_entry(dir: &Path, entry: &SegmentEntry) -> Result<Segment<Vec<u8>>> {
    let whole = dir.join(format!("{}.seg", entry.hash));
    let bytes = if whole.is_file() {
        std::fs::read(&whole).with_context(|| format!("cannot read {}", whole.display()))?
    } else {
        read_chunks(dir, entry)?
    };
    if bytes.len() as u64 != entry.size {
        bail!(
            "segment {} is {} bytes, the manifest says {}",
            entry.hash,
            bytes.len(),
            entry.size
        );
    }
    let hash: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if hash != entry.hash {
        bail!(
            "segment {} hashes to {hash}: the file is not the one the manifest names",
            entry.hash
        );
    }
    Segment::load(bytes).with_context(|| format!("cannot load segment {}", entry.hash))
}

/// A segment's chunk files under `dir`, concatenated.
fn read_chunks(dir: &Path, entry: &SegmentEntry) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for key in &entry.chunks {
        let file = dir.join(key);
        let chunk = std::fs::read(&file).with_context(|| {
            format!(
                "segment {} ({}) is missing: neither {}.seg nor its chunk {} is in {}; pass \
                 --segments DIR",
                entry.hash,
                match entry.kind {
                    edgesuggest_manifest::SegmentKind::Base => "base",
                    edgesuggest_manifest::SegmentKind::Delta => "delta",
                    edgesuggest_manifest::SegmentKind::Blocklist => "blocklist",
                },
                entry.hash,
                key,
                dir.display()
            )
        })?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
