//! Where the KV entries of `publish`, `rollback` and `gc` go: always the publisher's store,
//! plus wrangler's local KV (`--local`) and/or bulk files for a remote account (`--out-dir`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use clap::Args;
use edgesuggest_manifest::{manifest_key, version_key};
use serde::Serialize;

use super::store::Store;

/// The bulk files, by the fixed names other tools read, in the order they must be applied.
pub const BULK_FILES: [&str; 4] = [
    "chunks.json",
    "version.json",
    "manifest.json",
    "delete.json",
];

/// Where entries go and where the store is.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Write `wrangler kv bulk` files into DIR (chunks.json, version.json, manifest.json;
    /// delete.json for gc), to apply in that order on an account.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Put (and delete) the entries in wrangler's local KV (what `wrangler dev` serves).
    #[arg(long)]
    pub local: bool,

    /// The publisher's store: a mirror of every entry written, read to find the live version
    /// and its segments [default: with --local, .wrangler/edgesuggest-store beside --config
    /// (wiped with the local KV); otherwise DIR/store of --out-dir].
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,

    /// The wrangler configuration whose KV namespace is written (with --local).
    #[arg(long, default_value = "worker/wrangler.toml", value_name = "FILE")]
    pub config: PathBuf,

    /// The KV binding name in that configuration.
    #[arg(long, default_value = "SEGMENTS")]
    pub binding: String,

    /// The wrangler command (with --local).
    #[arg(long, env = "WRANGLER", default_value = "wrangler")]
    pub wrangler: String,
}

/// One content-addressed chunk to put.
pub struct Chunk {
    /// `seg/<hash>/<chunk_bytes>/<n>`.
    pub key: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What one command writes, applied in this order: chunks, version, pointer, deletes.
#[derive(Default)]
pub struct Writes {
    /// New chunks only.
    pub chunks: Vec<Chunk>,
    /// A new immutable version: its number and JSON.
    pub version: Option<(u64, String)>,
    /// The pointer's new value (a copy of a version's JSON).
    pub pointer: Option<String>,
    /// Keys to delete (versions first, then chunks).
    pub deletes: Vec<String>,
}

#[derive(Serialize)]
struct BulkEntry<'a> {
    key: &'a str,
    value: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    base64: bool,
}

impl TargetArgs {
    /// The store directory: --store, or the default for --local or --out-dir.
    pub fn store(&self) -> Result<Store> {
        if let Some(dir) = &self.store {
            return Ok(Store::new(dir.clone()));
        }
        if self.local {
            return Ok(Store::new(
                self.config_dir().join(".wrangler/edgesuggest-store"),
            ));
        }
        match &self.out_dir {
            Some(dir) => Ok(Store::new(dir.join("store"))),
            None => bail!("say where the entries are: --local, --out-dir DIR or --store DIR"),
        }
    }

    /// Refuses a command that would write nowhere but the store.
    pub fn require_output(&self) -> Result<()> {
        if self.out_dir.is_none() && !self.local {
            bail!(
                "say where to write: --local (wrangler's local KV) or --out-dir DIR (bulk files \
                 for an account)"
            );
        }
        Ok(())
    }

    fn config_dir(&self) -> &Path {
        self.config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }
}

/// Applies `writes` for `index`: the bulk files, the store's chunks, local KV, then the
/// store's versions, pointer and deletes, so that the store never names a version that local
/// KV lacks. Without --local, prints how to apply the files on an account.
pub fn apply(target: &TargetArgs, store: &Store, index: &str, writes: &Writes) -> Result<()> {
    let temporary = tempfile::tempdir()?;
    let dir = files_dir(target, temporary.path())?;
    let files = write_files(&dir, index, writes)?;
    for chunk in &writes.chunks {
        store.put_chunk(&chunk.key, &chunk.bytes)?;
    }
    if target.local {
        for file in files.iter().filter(|f| !f.empty) {
            run_wrangler(target, file)?;
        }
    }
    record(store, index, writes)?;
    if target.local {
        println!(
            "applied to local KV (binding {}, {}); store {}",
            target.binding,
            target.config.display(),
            store.root().display()
        );
    } else {
        print_instructions(&target.binding, &files, store);
    }
    Ok(())
}

/// Puts `value` under `key` (or deletes `key` when `value` is `None`) as the bulk file `name`
/// in --out-dir, and in local KV with --local: for single entries outside an index's
/// versions, such as the running experiment.
pub fn apply_entry(target: &TargetArgs, name: &str, key: &str, value: Option<&str>) -> Result<()> {
    let temporary = tempfile::tempdir()?;
    let dir = match &target.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            dir.clone()
        }
        None => temporary.path().to_path_buf(),
    };
    let file = match value {
        Some(value) => bulk_file(&dir, name, &[text_entry(key, value)], false, false)?,
        None => bulk_file(&dir, name, &[key], false, true)?,
    };
    if target.local {
        run_wrangler(target, &file)?;
        println!(
            "applied to local KV (binding {}, {})",
            target.binding,
            target.config.display()
        );
    } else {
        let verb = if file.delete { "delete" } else { "put" };
        let force = if file.delete { " --force" } else { "" };
        println!("apply it on the account with:");
        println!(
            "  wrangler kv bulk {verb} {} --binding {} --remote{force}",
            file.path.display(),
            target.binding
        );
    }
    Ok(())
}

/// The store's share of `writes`, once KV has them.
fn record(store: &Store, index: &str, writes: &Writes) -> Result<()> {
    if let Some((version, json)) = &writes.version {
        store.put_version(index, *version, json)?;
    }
    if let Some(json) = &writes.pointer {
        store.put_pointer(index, json)?;
    }
    for key in &writes.deletes {
        store.delete(index, key)?;
    }
    Ok(())
}

/// --out-dir (created, its old bulk files removed so none is applied twice), or `temporary`.
fn files_dir(target: &TargetArgs, temporary: &Path) -> Result<PathBuf> {
    let Some(dir) = &target.out_dir else {
        return Ok(temporary.to_path_buf());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for name in BULK_FILES {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => {}
        }
    }
    Ok(dir.clone())
}

/// One bulk file written.
struct BulkFile {
    path: PathBuf,
    delete: bool,
    empty: bool,
}

/// Writes the bulk files `writes` needs, in the order they must be applied.
fn write_files(dir: &Path, index: &str, writes: &Writes) -> Result<Vec<BulkFile>> {
    let mut files = Vec::new();
    if writes.version.is_some() {
        files.push(chunks_file(dir, &writes.chunks)?);
    }
    if let Some((version, json)) = &writes.version {
        let key = version_key(index, *version);
        files.push(bulk_file(
            dir,
            "version.json",
            &[text_entry(&key, json)],
            false,
            false,
        )?);
    }
    if let Some(json) = &writes.pointer {
        let key = manifest_key(index);
        files.push(bulk_file(
            dir,
            "manifest.json",
            &[text_entry(&key, json)],
            false,
            false,
        )?);
    }
    if !writes.deletes.is_empty() {
        files.push(bulk_file(dir, "delete.json", &writes.deletes, false, true)?);
    }
    Ok(files)
}

/// chunks.json: the chunks, base64-encoded (written even when empty: readers expect it).
fn chunks_file(dir: &Path, chunks: &[Chunk]) -> Result<BulkFile> {
    let entries: Vec<BulkEntry> = chunks
        .iter()
        .map(|c| BulkEntry {
            key: &c.key,
            value: base64::engine::general_purpose::STANDARD.encode(&c.bytes),
            base64: true,
        })
        .collect();
    bulk_file(dir, "chunks.json", &entries, entries.is_empty(), false)
}

/// A bulk entry holding text.
fn text_entry<'a>(key: &'a str, json: &str) -> BulkEntry<'a> {
    BulkEntry {
        key,
        value: json.to_owned(),
        base64: false,
    }
}

/// Writes one bulk file; `empty` and `delete` say how to apply it.
fn bulk_file(
    dir: &Path,
    name: &str,
    value: &impl Serialize,
    empty: bool,
    delete: bool,
) -> Result<BulkFile> {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(value)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(BulkFile {
        path,
        delete,
        empty,
    })
}

/// How to apply the files on a Cloudflare account, in the order that keeps readers safe.
fn print_instructions(binding: &str, files: &[BulkFile], store: &Store) {
    println!(
        "store {} updated; apply the files in this order:",
        store.root().display()
    );
    for file in files {
        let verb = if file.delete { "delete" } else { "put" };
        let force = if file.delete { " --force" } else { "" };
        let note = if file.empty {
            "   # empty: every chunk is already in KV"
        } else {
            ""
        };
        println!(
            "  wrangler kv bulk {verb} {} --binding {binding} --remote{force}{note}",
            file.path.display()
        );
    }
}

/// Runs `wrangler kv bulk put|delete FILE --local` with the target's configuration.
fn run_wrangler(target: &TargetArgs, file: &BulkFile) -> Result<()> {
    let config_name = target
        .config
        .file_name()
        .context("--config names no file")?;
    let path = std::fs::canonicalize(&file.path)?;
    let verb = if file.delete { "delete" } else { "put" };
    let mut command = Command::new(&target.wrangler);
    command
        .current_dir(target.config_dir())
        .args(["kv", "bulk", verb])
        .arg(&path)
        .args(["--binding", &target.binding, "--local", "--config"])
        .arg(config_name)
        .env("WRANGLER_SEND_METRICS", "false");
    if file.delete {
        command.arg("--force");
    }
    let status = command.status().with_context(|| {
        format!(
            "cannot run `{}`: install wrangler or pass --wrangler PATH (./build.sh worker \
             installs one)",
            target.wrangler
        )
    })?;
    if !status.success() {
        bail!(
            "`{} kv bulk {verb} {}` failed ({status}); nothing after it was written, and the \
             live version is unchanged",
            target.wrangler,
            path.display()
        );
    }
    Ok(())
}
