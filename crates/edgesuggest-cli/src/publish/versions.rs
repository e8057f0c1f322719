//! `edgesuggest versions`, `rollback` and `gc`: the published versions of an index, as the
//! publisher's store records them.

use std::collections::BTreeSet;
use std::io::Write as _;

use anyhow::{bail, Result};
use clap::{ArgGroup, Args};
use edgesuggest_manifest::{version_key, Manifest};
use serde::Serialize;

use super::store::{Store, StoredVersion};
use super::target::{self, TargetArgs, Writes};

/// List the published versions of an index.
///
/// Reads the publisher's store (see `edgesuggest publish --help`): every version with its
/// creation time, parent, segments and size; `live` marks the one the pointer names.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("where").args(["out_dir", "local", "store"]).required(true).multiple(true)),
    after_help = "Examples:
  edgesuggest versions --index cities --local
  edgesuggest versions --index cities --out-dir kv/ --json")]
pub struct VersionsArgs {
    /// Index name.
    #[arg(long)]
    index: String,

    /// One JSON array instead of a table.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    target: TargetArgs,
}

/// Move an index's pointer back to an earlier version.
///
/// One write, no rebuild: the pointer `manifest/<INDEX>` becomes a copy of version VERSION's
/// manifest, whose chunks are still in KV (gc never deletes what a kept version references).
/// With --out-dir, only manifest.json is written.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("output").args(["out_dir", "local"]).required(true).multiple(true)),
    after_help = "Examples:
  edgesuggest versions --index cities --local            # find the version to go back to
  edgesuggest rollback --index cities --to 1764614400000 --local
  edgesuggest rollback --index cities --to 1764614400000 --out-dir kv/
  wrangler kv bulk put kv/manifest.json --binding SEGMENTS --remote")]
pub struct RollbackArgs {
    /// Index name.
    #[arg(long)]
    index: String,

    /// The version to serve again (see `edgesuggest versions`).
    #[arg(long, value_name = "VERSION")]
    to: u64,

    #[command(flatten)]
    target: TargetArgs,
}

/// Delete old versions and the chunks only they reference.
///
/// Keeps the N newest versions and the live one; deletes the other version keys and every
/// chunk no kept version references. Nothing the live version references is ever deleted.
/// With --out-dir, writes delete.json (a JSON array of keys for `wrangler kv bulk delete`).
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("output").args(["out_dir", "local"]).required(true).multiple(true)),
    after_help = "Examples:
  edgesuggest gc --index cities --keep 5 --local --dry-run
  edgesuggest gc --index cities --keep 5 --out-dir kv/
  wrangler kv bulk delete kv/delete.json --binding SEGMENTS --remote --force")]
pub struct GcArgs {
    /// Index name.
    #[arg(long)]
    index: String,

    /// How many of the newest versions to keep (the live one is kept as well).
    #[arg(long, value_name = "N")]
    keep: usize,

    /// Print what would be deleted; write and delete nothing.
    #[arg(long)]
    dry_run: bool,

    #[command(flatten)]
    target: TargetArgs,
}

/// A version as `versions --json` prints it.
#[derive(Serialize)]
struct VersionRow<'a> {
    version: u64,
    created: &'a str,
    parent: Option<u64>,
    live: bool,
    deltas: usize,
    blocklist: bool,
    bytes: u64,
    segments: Vec<SegmentRow<'a>>,
}

#[derive(Serialize)]
struct SegmentRow<'a> {
    kind: edgesuggest_manifest::SegmentKind,
    hash: &'a str,
    size: u64,
    entries: u64,
}

/// "base + 2 deltas + blocklist".
pub fn describe(manifest: &Manifest) -> String {
    let mut text = "base".to_string();
    match manifest.deltas().count() {
        0 => {}
        1 => text.push_str(" + 1 delta"),
        n => text.push_str(&format!(" + {n} deltas")),
    }
    if manifest.blocklist().is_some() {
        text.push_str(" + blocklist");
    }
    text
}

/// Prints the versions of an index.
pub fn run_versions(args: VersionsArgs) -> Result<()> {
    super::check_index(&args.index)?;
    let store = args.target.store()?;
    let versions = known_versions(&store, &args.index)?;
    let live = store.live(&args.index)?.map(|l| l.manifest.version);
    let mut out = std::io::stdout().lock();
    if args.json {
        let rows: Vec<VersionRow> = versions.iter().map(|v| row(&v.manifest, live)).collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<15} {:<20} {:<15} {:<28} {:>12}",
        "version", "created", "parent", "segments", "bytes"
    )?;
    for v in &versions {
        let m = &v.manifest;
        writeln!(
            out,
            "{:<15} {:<20} {:<15} {:<28} {:>12}{}",
            m.version,
            m.created,
            m.parent.map_or("-".to_string(), |p| p.to_string()),
            describe(m),
            m.total_bytes(),
            if Some(m.version) == live {
                "  live"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

fn row(m: &Manifest, live: Option<u64>) -> VersionRow<'_> {
    VersionRow {
        version: m.version,
        created: &m.created,
        parent: m.parent,
        live: Some(m.version) == live,
        deltas: m.deltas().count(),
        blocklist: m.blocklist().is_some(),
        bytes: m.total_bytes(),
        segments: m
            .segments
            .iter()
            .map(|s| SegmentRow {
                kind: s.kind,
                hash: &s.hash,
                size: s.size,
                entries: s.entries,
            })
            .collect(),
    }
}

/// The stored versions of `index`; refuses an index the store has never published.
fn known_versions(store: &Store, index: &str) -> Result<Vec<StoredVersion>> {
    let versions = store.versions(index)?;
    if versions.is_empty() {
        bail!(
            "the store {} holds no version of index {index}: publish one first, or pass the \
             --store (or --local / --out-dir) it was published with",
            store.root().display()
        );
    }
    Ok(versions)
}

/// Moves the pointer to a stored version.
pub fn run_rollback(args: RollbackArgs) -> Result<()> {
    super::check_index(&args.index)?;
    args.target.require_output()?;
    let store = args.target.store()?;
    let _lock = store.lock()?;
    let chosen = find_version(&store, &args.index, args.to)?;
    if let Some(missing) = chosen.manifest.chunk_keys().find(|k| !store.has_chunk(k)) {
        bail!(
            "version {} references chunk {missing}, which the store {} lacks: it may have been \
             deleted; publish it again instead",
            args.to,
            store.root().display()
        );
    }
    let live = store.live(&args.index)?.map(|l| l.manifest.version);
    println!(
        "index {}: pointer {} → version {} ({})",
        args.index,
        live.map_or("unset".to_string(), |v| format!("version {v}")),
        args.to,
        describe(&chosen.manifest)
    );
    let writes = Writes {
        pointer: Some(chosen.json.clone()),
        ..Writes::default()
    };
    target::apply(&args.target, &store, &args.index, &writes)
}

/// Version `to` of `index`; refuses an unknown one, listing the known versions.
fn find_version(store: &Store, index: &str, to: u64) -> Result<StoredVersion> {
    let versions = known_versions(store, index)?;
    let known: Vec<String> = versions
        .iter()
        .map(|v| v.manifest.version.to_string())
        .collect();
    versions
        .into_iter()
        .find(|v| v.manifest.version == to)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "index {index} has no version {to} in the store {}; known versions: {} (see \
                 edgesuggest versions --index {index})",
                store.root().display(),
                known.join(", ")
            )
        })
}

/// Deletes versions beyond the N newest (never the live one) and unreferenced chunks.
pub fn run_gc(args: GcArgs) -> Result<()> {
    super::check_index(&args.index)?;
    args.target.require_output()?;
    let store = args.target.store()?;
    let _lock = store.lock()?;
    let versions = known_versions(&store, &args.index)?;
    let live = store.live(&args.index)?;
    let (kept, dropped) = split_kept(&versions, live.as_ref(), args.keep);
    let referenced: BTreeSet<&str> = kept
        .iter()
        .flat_map(|m| m.chunk_keys())
        .chain(live.iter().flat_map(|l| l.manifest.chunk_keys()))
        .collect();
    let shared = store.other_references(&args.index)?;
    let chunks: Vec<String> = store
        .chunk_keys()?
        .into_iter()
        .filter(|k| !referenced.contains(k.as_str()) && !shared.contains(k))
        .collect();
    let mut deletes: Vec<String> = dropped
        .iter()
        .map(|m| version_key(&args.index, m.version))
        .collect();
    let version_count = deletes.len();
    deletes.extend(chunks);
    print_gc_plan(&args, &kept, version_count, &deletes);
    if args.dry_run || deletes.is_empty() {
        return Ok(());
    }
    let writes = Writes {
        deletes,
        ..Writes::default()
    };
    target::apply(&args.target, &store, &args.index, &writes)
}

/// The manifests to keep (the `keep` newest and the live one) and those to drop.
fn split_kept<'a>(
    versions: &'a [StoredVersion],
    live: Option<&StoredVersion>,
    keep: usize,
) -> (Vec<&'a Manifest>, Vec<&'a Manifest>) {
    let live = live.map(|l| l.manifest.version);
    let newest_kept = versions.len().saturating_sub(keep);
    versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                i >= newest_kept || Some(v.manifest.version) == live,
                &v.manifest,
            )
        })
        .fold(
            (Vec::new(), Vec::new()),
            |(mut kept, mut dropped), (keep, m)| {
                if keep {
                    kept.push(m)
                } else {
                    dropped.push(m)
                }
                (kept, dropped)
            },
        )
}

fn print_gc_plan(args: &GcArgs, kept: &[&Manifest], versions: usize, deletes: &[String]) {
    let kept: Vec<String> = kept.iter().map(|m| m.version.to_string()).collect();
    println!(
        "index {}: keeping version(s) {}; {} {versions} version(s) and {} chunk(s)",
        args.index,
        kept.join(", "),
        if args.dry_run {
            "would delete"
        } else {
            "deleting"
        },
        deletes.len() - versions
    );
    if args.dry_run {
        for key in deletes {
            println!("  {key}");
        }
    } else if deletes.is_empty() {
        println!("nothing to delete");
    }
}
