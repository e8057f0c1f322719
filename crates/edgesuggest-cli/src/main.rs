//! `edgesuggest`: build, query, inspect and verify edgesuggest segments.

mod aggregate;
mod build;
mod compact;
mod docs;
mod experiment;
mod input;
mod inspect;
mod normalize;
mod publish;
mod query;
mod report;
mod serve;
mod stack;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

const AFTER_HELP: &str = "\
Exit status: 0 on success, 1 when the command failed (bad rows, unreadable or corrupt files),
2 on a usage error.

Quick start:
  edgesuggest build cities.tsv -o cities.seg
  edgesuggest aggregate logs.ndjson.gz --state agg -o rows.tsv
  edgesuggest report logs/ --experiment ctr-2026-12 --config ctr-2026-12.json
  edgesuggest query cities.seg 'new y'
  edgesuggest query cities.seg --batch queries.txt > answers.ndjson
  edgesuggest build --delta changes.ndjson -o delta.seg
  edgesuggest query cities.seg 'new y' --delta delta.seg
  edgesuggest compact cities.seg delta.seg -o cities-2.seg
  edgesuggest inspect cities.seg
  edgesuggest publish cities.seg --index cities --local
  edgesuggest experiment ctr.json --local
  edgesuggest serve indexes/            # the worker's API on http://127.0.0.1:8080
  source <(edgesuggest completions bash)";

/// Build and query typeahead segments.
///
/// A segment is one immutable, checksummed file holding scored phrases in a form that answers
/// "the k best phrases starting with this prefix" in microseconds. The same bytes are served
/// natively, by the edge worker and in the browser.
#[derive(Debug, Parser)]
#[command(name = "edgesuggest", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Build(build::BuildArgs),
    Aggregate(aggregate::AggregateArgs),
    Report(report::ReportArgs),
    Query(query::QueryArgs),
    Compact(compact::CompactArgs),
    Inspect(inspect::InspectArgs),
    Verify(inspect::VerifyArgs),
    Publish(publish::PublishArgs),
    Experiment(experiment::ExperimentArgs),
    Versions(publish::versions::VersionsArgs),
    Rollback(publish::versions::RollbackArgs),
    Gc(publish::versions::GcArgs),
    Normalize(normalize::NormalizeArgs),
    Serve(serve::ServeArgs),
    Completions(docs::CompletionsArgs),
    Man(docs::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => build::run(args),
        Command::Aggregate(args) => aggregate::run(args),
        Command::Report(args) => report::run(args),
        Command::Query(args) => query::run(args),
        Command::Compact(args) => compact::run(args),
        Command::Inspect(args) => inspect::run_inspect(args),
        Command::Verify(args) => inspect::run_verify(args),
        Command::Publish(args) => publish::run(args),
        Command::Experiment(args) => experiment::run(&args),
        Command::Versions(args) => publish::versions::run_versions(args),
        Command::Rollback(args) => publish::versions::run_rollback(args),
        Command::Gc(args) => publish::versions::run_gc(args),
        Command::Normalize(args) => normalize::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Completions(args) => docs::run_completions(&args),
        Command::Man(args) => docs::run_man(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                // A closed pipe (`| head`) is not a failure worth a message.
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Reads a whole segment file, naming the file in errors.
pub(crate) fn read_segment(path: &PathBuf) -> anyhow::Result<edgesuggest::Segment<Vec<u8>>> {
    use anyhow::Context;
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read segment {}", path.display()))?;
    edgesuggest::Segment::load(bytes).with_context(|| format!("cannot load {}", path.display()))
}
