//! One `aggregate` run: lock the state, read the new inputs, write the outputs, then the state.
//! A run that fails writes nothing and leaves the state as it was.

use std::path::{Path, PathBuf};

use crate::aggregate::Aggregator;
use crate::changes::{change_set, Change};
use crate::exclude::Exclude;
use crate::explain::{all_verdicts, explain, rows, rows_tsv, Summary};
use crate::input::{expand_inputs, read_source, Decoded, Source};
use crate::params::Params;
use crate::rows::RowOut;
use crate::state::{write_atomically, Consumed, State, StateLock};
use crate::SignalsError;

/// What to read and write.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Event inputs, in order (`-` = stdin; a directory = the event files under it).
    pub inputs: Vec<PathBuf>,
    /// The state directory.
    pub state_dir: PathBuf,
    /// `-o`: rows (TSV, or Parquet by the `.parquet` extension).
    pub rows: Option<PathBuf>,
    /// `--changes`: the change set.
    pub changes: Option<PathBuf>,
    /// `--explain`: one line per key.
    pub explain: Option<PathBuf>,
    /// `--now`: T; else the watermark.
    pub now: Option<u64>,
    /// `--exclude`.
    pub exclude: Option<PathBuf>,
    /// `--max-errors`.
    pub max_errors: u64,
    /// Scores, gates, hysteresis.
    pub params: Params,
}

/// Runs an aggregation. `report` gets each message meant for the user as it happens (bad
/// lines as `file:line: reason`, skipped inputs); the summary is returned.
pub fn run(options: &RunOptions, report: &mut dyn FnMut(&str)) -> Result<Summary, SignalsError> {
    options.params.check()?;
    let exclude = match &options.exclude {
        Some(path) => Exclude::load(path)?,
        None => Exclude::default(),
    };
    let _lock = StateLock::acquire(&options.state_dir)?;
    let mut state = State::load(&options.state_dir)?;
    check_half_life(&mut state, &options.state_dir, options.params.half_life_ms)?;
    let mut summary = Summary::default();
    read_inputs(options, &mut state, &mut summary, report)?;
    let now = options.now.or(state.watermark).unwrap_or(0);
    summary.now = now;
    write_outputs(options, &mut state, &exclude, &mut summary)?;
    state.save(&options.state_dir)?;
    state.close()?;
    free_in_background(state);
    Ok(summary)
}

/// Frees the state (every key's strings, forms and user sets: a tenth of a second for a week
/// of keys) on another thread, which a command-line run does not wait for.
fn free_in_background(state: State) {
    let freeing = std::thread::Builder::new().name("free-state".into());
    // Without a thread to be had, the state is dropped here, with the closure.
    let _ = freeing.spawn(move || drop(state));
}

/// Records the half-life in a new state; refuses another one for an existing state.
fn check_half_life(state: &mut State, dir: &Path, half_life_ms: u64) -> Result<(), SignalsError> {
    if state.half_life_ms == 0 {
        state.half_life_ms = half_life_ms;
    }
    if state.half_life_ms != half_life_ms {
        return Err(SignalsError::HalfLife {
            dir: dir.to_path_buf(),
            recorded: state.half_life_ms,
            requested: half_life_ms,
        });
    }
    Ok(())
}

/// Aggregates every input not consumed before; fails past `max_errors` bad lines.
fn read_inputs(
    options: &RunOptions,
    state: &mut State,
    summary: &mut Summary,
    report: &mut dyn FnMut(&str),
) -> Result<(), SignalsError> {
    let sources = expand_inputs(&options.inputs)?;
    let mut consumed = Vec::new();
    let mut bad = 0u64;
    let mut agg = Aggregator::new(state, &options.params);
    for source in &sources {
        let identity = identify(source)?;
        if let Some(id) = &identity {
            if already_consumed(agg.state(), &consumed, id)? {
                report(&format!(
                    "skipping {}: already aggregated (same path, size and content)",
                    source.name()
                ));
                summary.inputs.1 += 1;
                continue;
            }
        }
        let name = source.name();
        let hasher = agg.text_hasher();
        let hash = read_source(source, hasher, &mut |line, decoded| {
            match decoded {
                Ok(Decoded::Prepared(batch, event)) => agg.add_prepared(batch, event),
                Err(reason) => {
                    bad += 1;
                    report(&format!("{name}:{line}: {reason}"));
                }
            }
            Ok(())
        })?;
        summary.inputs.0 += 1;
        if let Some(mut id) = identity {
            id.hash = hash;
            consumed.push(id);
        }
    }
    summary.events = agg.counts.clone();
    summary.bad_lines = bad;
    state.check()?;
    if bad > options.max_errors {
        return Err(SignalsError::TooManyBadLines {
            bad,
            max: options.max_errors,
        });
    }
    consumed.into_iter().for_each(|c| state.remember(c));
    Ok(())
}

/// A file's identity for the consumed list: absolute path and size (the content hash is
/// filled in while reading). Stdin has none: it is never skipped.
fn identify(source: &Source) -> Result<Option<Consumed>, SignalsError> {
    let Source::File(path) = source else {
        return Ok(None);
    };
    let absolute = std::fs::canonicalize(path).map_err(|e| SignalsError::io(path, e))?;
    let size = std::fs::metadata(&absolute)
        .map_err(|e| SignalsError::io(path, e))?
        .len();
    Ok(Some(Consumed {
        path: absolute.display().to_string(),
        size,
        hash: 0,
    }))
}

/// Whether an input with this path and size was consumed (by an earlier run or earlier in
/// this one) with the same content: the content is hashed only when path and size match.
fn already_consumed(
    state: &State,
    this_run: &[Consumed],
    id: &Consumed,
) -> Result<bool, SignalsError> {
    let same = |c: &Consumed| c.path == id.path && c.size == id.size;
    if !this_run.iter().any(same) && !state.maybe_consumed(id)? {
        return Ok(false);
    }
    let bytes = std::fs::read(&id.path).map_err(|e| SignalsError::io(&id.path, e))?;
    let hashed = Consumed {
        hash: xxhash_rust::xxh3::xxh3_64(&bytes),
        ..id.clone()
    };
    Ok(this_run.contains(&hashed) || state.was_consumed(&hashed)?)
}

/// Rows, change set and explain, each atomically; the summary's key counts.
fn write_outputs(
    options: &RunOptions,
    state: &mut State,
    exclude: &Exclude,
    summary: &mut Summary,
) -> Result<(), SignalsError> {
    let now = summary.now;
    // Only the outputs listing every key read every key.
    let verdicts = match options.rows.is_some() || options.explain.is_some() {
        true => Some(all_verdicts(state, now, &options.params, exclude)?),
        false => None,
    };
    if let Some(verdicts) = &verdicts {
        summary.count_keys(verdicts);
    }
    if let (Some(path), Some(verdicts)) = (&options.rows, &verdicts) {
        write_rows(path, &rows(verdicts))?;
    }
    if let Some(path) = &options.changes {
        let changes = change_set(state, now, &options.params, exclude)?;
        write_changes(path, &changes)?;
        let upserts = changes
            .iter()
            .filter(|c| matches!(c, Change::Upsert { .. }))
            .count() as u64;
        summary.changes = Some((upserts, changes.len() as u64 - upserts));
    }
    if let (Some(path), Some(verdicts)) = (&options.explain, &verdicts) {
        write_atomically(path, explain(verdicts).as_bytes())?;
    }
    summary.keys = state.key_count();
    summary.keys_loaded = state.keys_loaded();
    Ok(())
}

/// Rows as TSV, or through THE dispatch point for Parquet rows (`parquet::write_rows`).
fn write_rows(path: &Path, rows: &[RowOut]) -> Result<(), SignalsError> {
    let parquet = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if parquet {
        return crate::parquet::write_rows(path, rows);
    }
    write_atomically(path, rows_tsv(rows).as_bytes())
}

fn write_changes(path: &Path, changes: &[Change]) -> Result<(), SignalsError> {
    let mut text = String::new();
    for change in changes {
        text.push_str(&change.to_line());
        text.push('\n');
    }
    write_atomically(path, text.as_bytes())
}
