//! Writing generated events: NDJSON (plain or gzip) to a file or stdout, Parquet, or one
//! gzip NDJSON file a minute in the layout the worker's queue consumer writes to storage.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use edgesuggest_signals::{parquet, Event};
use flate2::write::GzEncoder;
use flate2::Compression;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    /// One JSON object a line.
    Ndjson,
    /// NDJSON, gzip-compressed.
    #[value(name = "ndjson.gz")]
    NdjsonGz,
    /// Parquet (Snappy) in the event schema; needs a file, not stdout.
    Parquet,
}

/// Writes `events` as NDJSON lines.
pub fn write_ndjson(out: &mut dyn Write, events: &[Event]) -> io::Result<()> {
    for event in events {
        serde_json::to_writer(&mut *out, event)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes `events` in `format` to `path` (`-`: stdout, NDJSON only).
pub fn write_events(format: OutFormat, path: &Path, events: &[Event]) -> Result<()> {
    if path == Path::new("-") {
        return match format {
            OutFormat::Ndjson => {
                let stdout = io::stdout();
                let mut out = BufWriter::new(stdout.lock());
                write_ndjson(&mut out, events).and_then(|()| out.flush())?;
                Ok(())
            }
            _ => bail!("only --format ndjson goes to stdout (-o -); give a file for {format:?}"),
        };
    }
    match format {
        OutFormat::Parquet => Ok(parquet::write_events(path, events)?),
        OutFormat::Ndjson | OutFormat::NdjsonGz => {
            let gzip = format == OutFormat::NdjsonGz;
            write_file(path, gzip, events)
                .with_context(|| format!("cannot write {}", path.display()))
        }
    }
}

/// Writes NDJSON, gzip-compressed or not, to a new file at `path`.
fn write_file(path: &Path, gzip: bool, events: &[Event]) -> io::Result<()> {
    let file = BufWriter::new(File::create(path)?);
    if gzip {
        let mut gz = GzEncoder::new(file, Compression::default());
        write_ndjson(&mut gz, events)?;
        gz.finish()?.flush()
    } else {
        let mut file = file;
        write_ndjson(&mut file, events)?;
        file.flush()
    }
}

/// Writes one `DIR/events/YYYY/MM/DD/HH/mm/<id>.ndjson.gz` file for each minute (UTC) that
/// has events. `events` must be sorted by `ts`. Returns the number of files.
pub fn write_minute_files(dir: &Path, id: &str, events: &[Event]) -> Result<usize> {
    let mut files = 0;
    for minute in events.chunk_by(|a, b| a.ts / 60_000 == b.ts / 60_000) {
        let path = minute_path(dir, minute[0].ts, id);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        write_file(&path, true, minute)
            .with_context(|| format!("cannot write {}", path.display()))?;
        files += 1;
    }
    Ok(files)
}

/// `DIR/events/YYYY/MM/DD/HH/mm/<id>.ndjson.gz` for the minute holding `ts`.
pub fn minute_path(dir: &Path, ts: u64, id: &str) -> PathBuf {
    let minutes = ts / 60_000;
    let (y, m, d) = civil_from_days((minutes / 1440) as i64);
    let (hh, mm) = ((minutes % 1440) / 60, minutes % 60);
    dir.join(format!(
        "events/{y:04}/{m:02}/{d:02}/{hh:02}/{mm:02}/{id}.ndjson.gz"
    ))
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard
/// Hinnant's `civil_from_days`: exact for every day, no calendar crate needed.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_paths() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let p = minute_path(
            Path::new("d"),
            1_793_491_200_000 + 61 * 60_000 + 59_999,
            "x",
        );
        assert_eq!(p, Path::new("d/events/2026/11/01/01/01/x.ndjson.gz"));
    }
}
