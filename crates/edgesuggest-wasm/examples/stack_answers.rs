//! The native engine's answers over a stack, for the wasm stack parity test
//! (`tests/parity.rs`): the same JSON lines as `edgesuggest query --batch`, one per query.
//!
//! ```sh
//! cargo run --release -p edgesuggest-wasm --example stack_answers -- \
//!     QUERIES OPTIONS SEGMENT... > expected.ndjson
//! ```
//!
//! QUERIES holds one query a line; OPTIONS is `plain` (k 10) or `fuzzy` (k 10, fuzzy auto);
//! the segments come in manifest order (base, deltas oldest first, blocklist).

use std::io::Write;
use std::process::ExitCode;

use edgesuggest::{Fuzziness, Searcher, Segment, Stack, SuggestOptions};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stack_answers: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The options named on the command line.
fn options(name: &str) -> Result<SuggestOptions, String> {
    let mut options = SuggestOptions {
        k: 10,
        ..SuggestOptions::default()
    };
    match name {
        "plain" => {}
        "fuzzy" => options.fuzzy = Fuzziness::parse("auto").map_err(|e| e.to_string())?,
        other => return Err(format!("options {other:?}: expected plain or fuzzy")),
    }
    Ok(options)
}

fn run(args: Vec<String>) -> Result<(), String> {
    let [queries, options_name, segments @ ..] = &args[..] else {
        return Err("usage: stack_answers QUERIES plain|fuzzy SEGMENT...".into());
    };
    let options = options(options_name)?;
    let mut loaded = Vec::new();
    for path in segments {
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        loaded.push(Segment::load(bytes).map_err(|e| format!("{path}: {e}"))?);
    }
    let stack = Stack::from_segments(loaded).map_err(|e| e.to_string())?;
    let queries = std::fs::read_to_string(queries).map_err(|e| format!("{queries}: {e}"))?;
    let mut searcher = Searcher::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for query in queries.split('\n') {
        let found = searcher
            .search(&stack, query, &options)
            .map_err(|e| format!("query {query:?}: {e}"))?;
        // The CLI's `--batch` line: query, suggestions (the shared JSON shape), truncated.
        let query_json = serde_json::to_string(query).map_err(|e| e.to_string())?;
        writeln!(
            out,
            "{{\"query\":{query_json},\"suggestions\":{},\"truncated\":{}}}",
            edgesuggest_json::suggestions_json(&found.items),
            found.truncated
        )
        .map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}
