//! `edgesuggest inspect` and `edgesuggest verify`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use edgesuggest::SegmentInfo;

/// Show a segment's header, counts and section sizes.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The segment file.
    segment: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Check a segment: checksum, then every entry of every section.
///
/// Exits 0 and prints a one-line summary when the segment is sound, 1 with the reason when not.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The segment file.
    segment: PathBuf,
}

/// Prints the segment's header, counts and section sizes, as a table or as JSON.
pub fn run_inspect(args: InspectArgs) -> Result<()> {
    let segment = crate::read_segment(&args.segment)?;
    let info = segment.info();
    if args.json {
        println!("{:#}", info_json(&args.segment, &info));
    } else {
        print_info(&args.segment, &info);
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
        "format_version": info.format_version,
        "normalizer": {"id": info.normalizer.0, "version": info.normalizer.1},
        "suggestions": info.suggestions,
        "source_rows": info.source_rows,
        "display_forms": info.display_forms,
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
    println!("format version   {}", info.format_version);
    println!(
        "normalizer       id {} v{}",
        info.normalizer.0, info.normalizer.1
    );
    println!("suggestions      {}", info.suggestions);
    println!("source rows      {}", info.source_rows);
    println!("display forms    {}", info.display_forms);
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
    for (name, bytes) in &info.sections {
        println!(
            "  {name:<10} {bytes:>12} bytes  {:>6.2}/suggestion",
            per(*bytes)
        );
    }
}

pub fn run_verify(args: VerifyArgs) -> Result<()> {
    let segment = crate::read_segment(&args.segment)?;
    segment
        .verify_deep()
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.segment.display()))?;
    let info = segment.info();
    println!(
        "ok: {} ({} suggestions, {} bytes, format v{})",
        args.segment.display(),
        info.suggestions,
        info.bytes,
        info.format_version
    );
    Ok(())
}
