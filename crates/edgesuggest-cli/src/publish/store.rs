//! The publisher's local store: a mirror of every KV entry it wrote, so that `publish --delta`,
//! `rollback`, `gc` and `versions` know the live version and can read its segments without
//! reading KV (which a remote account may not allow, and which costs requests).
//!
//! Layout under the store directory (KV key → file):
//!
//! - `seg/<sha256>/<chunk_bytes>/<n>` → `seg/<sha256>/<chunk_bytes>/<n>` (the chunk's raw bytes)
//! - `manifest/<index>/<version>` → `manifest/<index>/<version>.json` (immutable versions)
//! - `manifest/<index>` (the pointer) → `manifest/<index>.json`
//!
//! Files are written atomically (a temporary file, then a rename), so an interrupted command
//! leaves either the old entry or the new one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use edgesuggest_manifest::{Manifest, SegmentEntry};
use sha2::{Digest, Sha256};

/// One version as stored: its parsed manifest and the exact JSON written to KV.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The JSON text, byte for byte as published (the pointer is a copy of it).
    pub json: String,
}

/// A store directory (see the module docs).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The store at `root` (created on the first write).
    pub fn new(root: PathBuf) -> Store {
        Store { root }
    }

    /// Takes the store for one command that writes, so that two publishers never derive two
    /// versions from the same live one; released when the returned guard drops.
    pub fn lock(&self) -> Result<StoreLock> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create the store {}", self.root.display()))?;
        let path = self.root.join(".lock");
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => Ok(StoreLock { path }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
                "another command is writing the store {} (it holds {}); wait for it, or remove \
                 that file if no edgesuggest command is running",
                self.root.display(),
                path.display()
            ),
            Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The live version of `index` (the pointer's copy), if this store published one.
    pub fn live(&self, index: &str) -> Result<Option<StoredVersion>> {
        self.read_version(&self.pointer_path(index))
    }

    /// One version of `index`, if stored.
    pub fn version(&self, index: &str, version: u64) -> Result<Option<StoredVersion>> {
        self.read_version(&self.version_path(index, version))
    }

    /// Every stored version of `index`, oldest (lowest number) first.
    pub fn versions(&self, index: &str) -> Result<Vec<StoredVersion>> {
        let dir = self.root.join("manifest").join(index);
        let mut numbers = Vec::new();
        for name in list_dir(&dir)? {
            if let Some(v) = name
                .strip_suffix(".json")
                .and_then(|v| v.parse::<u64>().ok())
            {
                numbers.push(v);
            }
        }
        numbers.sort_unstable();
        let mut versions = Vec::with_capacity(numbers.len());
        for v in numbers {
            if let Some(found) = self.version(index, v)? {
                versions.push(found);
            }
        }
        Ok(versions)
    }

    /// Every index with a stored version or pointer, sorted.
    pub fn indexes(&self) -> Result<BTreeSet<String>> {
        let names = list_dir(&self.root.join("manifest"))?;
        Ok(names
            .into_iter()
            .filter(|n| !n.starts_with('.'))
            .map(|n| n.strip_suffix(".json").map(str::to_owned).unwrap_or(n))
            .collect())
    }

    /// The chunk keys referenced by any version or pointer of an index other than `index`:
    /// chunks are shared by content, so collecting one index must not delete another's.
    pub fn other_references(&self, index: &str) -> Result<BTreeSet<String>> {
        let mut keys = BTreeSet::new();
        for other in self.indexes()?.iter().filter(|i| i.as_str() != index) {
            let versions = self.versions(other)?.into_iter().chain(self.live(other)?);
            for version in versions {
                keys.extend(version.manifest.chunk_keys().map(str::to_owned));
            }
        }
        Ok(keys)
    }

    /// Whether the chunk `key` is stored.
    pub fn has_chunk(&self, key: &str) -> bool {
        self.root.join(key).is_file()
    }

    /// Every stored chunk key (`seg/<hash>/<chunk_bytes>/<n>`), sorted.
    pub fn chunk_keys(&self) -> Result<BTreeSet<String>> {
        let mut keys = BTreeSet::new();
        let seg = self.root.join("seg");
        for hash in list_dir(&seg)? {
            for size in list_dir(&seg.join(&hash))? {
                for n in list_dir(&seg.join(&hash).join(&size))? {
                    if !n.starts_with('.') {
                        keys.insert(format!("seg/{hash}/{size}/{n}"));
                    }
                }
            }
        }
        Ok(keys)
    }

    /// The bytes of a published segment, from its chunks, checked against its hash.
    pub fn segment_bytes(&self, entry: &SegmentEntry) -> Result<Vec<u8>> {
        // Not sized from `entry.size`: a damaged manifest must not make it allocate.
        let mut bytes = Vec::new();
        for key in &entry.chunks {
            let chunk = std::fs::read(self.root.join(key)).with_context(|| {
                format!(
                    "the store {} lacks chunk {key} of segment {}: it must hold every entry \
                     this publisher wrote; publish a full base again to repair it",
                    self.root.display(),
                    entry.hash
                )
            })?;
            bytes.extend_from_slice(&chunk);
        }
        let hash = hex(&Sha256::digest(&bytes));
        if hash != entry.hash {
            bail!(
                "the chunks of segment {} in the store {} hash to {hash}: the store is damaged; \
                 publish a full base again to repair it",
                entry.hash,
                self.root.display()
            );
        }
        Ok(bytes)
    }

    /// Stores one chunk.
    pub fn put_chunk(&self, key: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.root.join(key), bytes)
    }

    /// Stores an immutable version.
    pub fn put_version(&self, index: &str, version: u64, json: &str) -> Result<()> {
        write_atomic(&self.version_path(index, version), json.as_bytes())
    }

    /// Moves the pointer: `json` is the live version's manifest.
    pub fn put_pointer(&self, index: &str, json: &str) -> Result<()> {
        write_atomic(&self.pointer_path(index), json.as_bytes())
    }

    /// Removes an entry by its KV key (a chunk or a version key of `index`).
    pub fn delete(&self, index: &str, key: &str) -> Result<()> {
        let path = match key.strip_prefix(&edgesuggest_manifest::versions_prefix(index)) {
            Some(version) => self
                .root
                .join("manifest")
                .join(index)
                .join(format!("{version}.json")),
            None => self.root.join(key),
        };
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()));
            }
            _ => {}
        }
        self.remove_empty_parents(&path);
        Ok(())
    }

    /// Removes the directories a deleted chunk leaves empty (`seg/<hash>/<chunk_bytes>`,
    /// `seg/<hash>`); a directory that is not empty stays, which is all `remove_dir` does.
    fn remove_empty_parents(&self, path: &Path) {
        let seg = self.root.join("seg");
        let mut dir = path.parent();
        while let Some(d) = dir.filter(|d| d.starts_with(&seg) && *d != seg) {
            if std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }

    fn pointer_path(&self, index: &str) -> PathBuf {
        self.root.join("manifest").join(format!("{index}.json"))
    }

    fn version_path(&self, index: &str, version: u64) -> PathBuf {
        self.root
            .join("manifest")
            .join(index)
            .join(format!("{version}.json"))
    }

    /// Reads and checks a stored manifest; `None` when the file does not exist.
    fn read_version(&self, path: &Path) -> Result<Option<StoredVersion>> {
        let json = match std::fs::read_to_string(path) {
            Ok(json) => json,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let manifest = Manifest::parse(&json)
            .map_err(|e| anyhow::anyhow!("{}: {e}; the store is damaged", path.display()))?;
        Ok(Some(StoredVersion { manifest, json }))
    }
}

/// Holds a store's lock file; removes it when dropped.
#[derive(Debug)]
pub struct StoreLock {
    path: PathBuf,
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Nothing to do if it is already gone; a leftover file names itself in the next error.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The names in `dir`, sorted; none when it does not exist.
fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename,
/// creating the directory first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    edgesuggest_signals::state::write_atomically(path, bytes).context("cannot write to the store")
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
