//! `edgesuggest normalize`: the engine's normalizer on each line of a file or stdin.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

/// Print the normalized form of each input line: the key the engine indexes and matches.
///
/// The normalizer, in order: Unicode NFKD (compatibility decomposition: "ﬁ" → "fi",
/// "①" → "1", "é" → "e" + U+0301); drop every non-spacing mark (general category Mn: the
/// accents split off by NFKD); lowercase each character on its own (no context rules, so a
/// final "Σ" becomes "σ", not "ς"); turn each run of Unicode whitespace (White_Space: tab to
/// carriage return, space, U+0085, NBSP, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F,
/// U+205F, U+3000) into one space; trim the start, and the end too for phrases.
///
/// Phrases with the same normalized form are one suggestion (their counts add up in
/// `aggregate`, and `build` keeps one of them). Use it to check what a phrase or an exclude
/// rule becomes, or to compare another implementation against this one.
///
/// One output line per input line, in order (an empty line when nothing is left). A line ends
/// at "\n"; a "\r" before it is dropped too (CRLF files). Input must be UTF-8.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  printf 'São  Paulo\\nＮＥＷ　ＹＯＲＫ\\n' | edgesuggest normalize
      sao paulo
      new york
  printf 'new \\n' | edgesuggest normalize --query    # prints \"new \" (one trailing space kept)
  cut -f1 cities.tsv | edgesuggest normalize | sort | uniq -d    # phrases that collide")]
pub struct NormalizeArgs {
    /// Normalize as a query: keep one trailing space when the line ends in whitespace (so
    /// "new " matches "new york" but not "newark"), as the engine does for what users type.
    #[arg(long)]
    query: bool,
    /// Input file, one phrase a line; "-" or none: stdin.
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,
}

/// Reads lines, prints each one's normalized form.
pub fn run(args: NormalizeArgs) -> Result<()> {
    let (reader, name): (Box<dyn BufRead>, String) = match &args.input {
        Some(path) if path.as_os_str() != "-" => {
            let file =
                File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            (Box::new(BufReader::new(file)), path.display().to_string())
        }
        _ => (Box::new(io::stdin().lock()), "stdin".to_string()),
    };
    let mut out = BufWriter::new(io::stdout().lock());
    normalize_lines(reader, &mut out, &name, args.query)?;
    out.flush()?;
    Ok(())
}

fn normalize_lines(
    mut reader: impl BufRead,
    out: &mut impl Write,
    name: &str,
    query: bool,
) -> Result<()> {
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {name}"))?
            == 0
        {
            return Ok(());
        }
        line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            bail!("{name}:{line_no}: not UTF-8 (convert it first, e.g. with iconv)");
        };
        let normalized = if query {
            edgesuggest::normalize_query(line)
        } else {
            edgesuggest::normalize_phrase(line)
        };
        writeln!(out, "{normalized}")?;
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_lines;

    fn run(input: &[u8], query: bool) -> Result<String, String> {
        let mut out = Vec::new();
        normalize_lines(input, &mut out, "test", query).map_err(|e| e.to_string())?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn phrases_line_by_line() {
        assert_eq!(
            run("São  Paulo\r\n\n  \nΟΔΟΣ".as_bytes(), false).unwrap(),
            "sao paulo\n\n\nοδοσ\n"
        );
    }

    #[test]
    fn queries_keep_one_trailing_space() {
        assert_eq!(run(b"new  \nnew\n", true).unwrap(), "new \nnew\n");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        assert_eq!(
            run(b"ok\n\xff\n", false).unwrap_err(),
            "test:2: not UTF-8 (convert it first, e.g. with iconv)"
        );
    }
}
