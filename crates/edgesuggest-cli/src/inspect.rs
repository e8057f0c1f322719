//! `edgesuggest inspect` and `edgesuggest verify`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use edgesuggest::{SegmentInfo, SegmentKind, Stack};

/// Show segments' kind (base, delta, blocklist), header, counts and section sizes.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  edgesuggest inspect cities.seg
  edgesuggest inspect cities.seg delta-1.seg blocklist.seg --json")]
pub struct InspectArgs {
    /// Segment files: bases, deltas or blocklists.
    #[arg(required = true, value_name = "SEGMENT")]
    segments: Vec<PathBuf>,
    /// Print JSON (an object for one segment, an array for several).
    #[arg(long)]
    json: bool,
}

/// Check segments: checksum, then every entry of every section.
///
/// Given several (a base, then deltas oldest first, and at most one blocklist), also checks
/// that they form one index: kinds in order, the same word-start setting. Exits 0 and prints a
/// summary line per segment when all are sound, 1 with the reason when not.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  edgesuggest verify cities.seg
  edgesuggest verify cities.seg delta-1.seg delta-2.seg blocklist.seg")]
pub struct VerifyArgs {
    /// Segment files.
    #[arg(required = true, value_name = "SEGMENT")]
    segments: Vec<PathBuf>,
}

/// Prints each segment's header, counts and section sizes, as a table or as JSON.
pub fn run_inspect(args: InspectArgs) -> Result<()> {
    let mut infos = Vec::new();
    for path in &args.segments {
        infos.push((path, crate::read_segment(path)?.info()));
    }
    if args.json {
        let mut all: Vec<serde_json::Value> = infos.iter().map(|(p, i)| info_json(p, i)).collect();
        let value = match all.len() {
            1 => all.remove(0),
            _ => serde_json::Value::Array(all),
        };
        println!("{value:#}");
    } else {
        for (i, (path, info)) in infos.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print_info(path, info);
        }
    }
    Ok(())
}

/// The `--json` form: the same fields as the table, snake_case like every JSON here.
fn info_json(path: &Path, info: &SegmentInfo) -> serde_json::Value {
    let sections: serde_json::Map<String, serde_json::Value> = info
        .sections
        .iter()
        .map(|(name, bytes)| (name.to_string(), (*bytes).into()))
        .collect();
    let categories: Vec<serde_json::Value> = info
        .categories
        .iter()
        .map(|(name, bytes)| serde_json::json!({"name": name, "fst_bytes": bytes}))
        .collect();
    serde_json::json!({
        "file": path.display().to_string(),
        "kind": info.kind.name(),
        "format_version": info.format_version,
        "deletes_or_entries": info.extra_entries,
        "normalizer": {"id": info.normalizer.0, "version": info.normalizer.1},
        "suggestions": info.suggestions,
        "source_rows": info.source_rows,
        "display_forms": info.display_forms,
        "display_titles": info.display_titles,
        "payloads": info.payloads,
        "word_starts": info.word_starts,
        "categories": categories,
        "bytes": info.bytes,
        "sections": sections,
    })
}

/// The table form, with bytes per suggestion for the whole file and each section.
fn print_info(path: &Path, info: &SegmentInfo) {
    let per = |b: u64| b as f64 / info.suggestions.max(1) as f64;
    println!("segment          {}", path.display());
    println!("kind             {}", info.kind.name());
    println!("format version   {}", info.format_version);
    match info.kind {
        SegmentKind::Delta => println!("deletes          {}", info.extra_entries),
        SegmentKind::Blocklist => println!("entries          {}", info.extra_entries),
        SegmentKind::Base => {}
    }
    println!(
        "normalizer       id {} v{}",
        info.normalizer.0, info.normalizer.1
    );
    println!("suggestions      {}", info.suggestions);
    println!("source rows      {}", info.source_rows);
    println!(
        "display forms    {} ({} of them marked as the key title-cased)",
        info.display_forms, info.display_titles
    );
    println!("payloads         {}", info.payloads);
    let word_starts = if info.word_starts { "yes" } else { "no" };
    println!("word starts      {word_starts}");
    if !info.categories.is_empty() {
        let list: Vec<String> = info
            .categories
            .iter()
            .map(|(name, bytes)| format!("{name} ({bytes} B)"))
            .collect();
        println!("categories       {}", list.join(", "));
    }
    println!(
        "bytes            {} ({:.2}/suggestion)",
        info.bytes,
        per(info.bytes)
    );
    println!("sections:");
    let width = info.sections.iter().map(|(name, _)| name.len()).max();
    for (name, bytes) in &info.sections {
        println!(
            "  {name:<width$} {bytes:>10} bytes  {:>6.2}/suggestion",
            per(*bytes),
            width = width.unwrap_or(0)
        );
    }
}

/// Verifies every segment deeply, then (for several) that they form one stack.
pub fn run_verify(args: VerifyArgs) -> Result<()> {
    let mut segments = Vec::new();
    for path in &args.segments {
        let segment = crate::read_segment(path)?;
        segment
            .verify_deep()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let info = segment.info();
        println!(
            "ok: {} ({}, {} suggestions, {} bytes, format v{})",
            path.display(),
            info.kind.name(),
            info.suggestions,
            info.bytes,
            info.format_version
        );
        segments.push(segment);
    }
    if segments.len() > 1 {
        let stack = Stack::from_segments(segments)?;
        println!(
            "ok: one index: a base, {} delta(s){}",
            stack.deltas().len(),
            if stack.blocklist().is_some() {
                " and a blocklist"
            } else {
                ""
            }
        );
    }
    Ok(())
}
