//! `edgesuggest compact`: a base and its deltas in, one new base out.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

/// Merge a base and its deltas into a new base.
///
/// Streams the segments' keys in order and takes each phrase from the newest segment that
/// holds it; deleted phrases are dropped. No raw input is needed, and the new base is byte for
/// byte what `build` makes from the merged rows (one row per suggestion: its text, score,
/// payload and categories). A blocklist is not applied: publish it beside the new base, so that
/// removing an entry later shows its phrases again.
///
/// The new base appears atomically, like `build`'s output.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  edgesuggest compact base.seg d1.seg d2.seg -o base-2.seg
  edgesuggest query base-2.seg 'par'   # answers as base.seg with d1, d2 did")]
pub struct CompactArgs {
    /// The base segment.
    #[arg(value_name = "BASE")]
    base: PathBuf,

    /// Delta segments, oldest first.
    #[arg(value_name = "DELTA")]
    deltas: Vec<PathBuf>,

    /// Where to write the new base.
    #[arg(short, long, value_name = "NEW_BASE")]
    output: PathBuf,

    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

/// Loads the stack, compacts it and writes the new base.
pub fn run(args: CompactArgs) -> Result<()> {
    let started = Instant::now();
    crate::build::check_output(&args.output)?;
    let stack = crate::stack::open_files(&args.base, &args.deltas, None)?;
    let inputs: usize = stack.segments().iter().map(|s| s.len()).sum();
    let built = edgesuggest::compact(&stack).context("compaction failed")?;
    crate::build::write_atomically(&args.output, &built.bytes)?;
    if !args.quiet {
        let seconds = started.elapsed().as_secs_f64();
        println!("wrote {}", args.output.display());
        println!("  segments merged  {}", stack.segments().len());
        println!("  entries read     {inputs}");
        println!("  suggestions      {}", built.suggestions);
        println!("  bytes            {}", built.bytes.len());
        println!(
            "  seconds          {seconds:.3} ({:.0} suggestions/s)",
            built.suggestions as f64 / seconds.max(1e-9)
        );
    }
    Ok(())
}
