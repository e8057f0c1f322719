//! The exclude file: one rule a line, `/regex/` (anywhere in the key), `prefix*` (keys
//! starting with the normalized prefix) or a phrase (the key exactly); blank lines and `#`
//! comments ignored.

use std::path::Path;

use regex::Regex;
use xxhash_rust::xxh3::xxh3_64;

use crate::SignalsError;

/// One rule.
#[derive(Debug)]
enum Rule {
    Regex(Regex),
    Prefix(String),
    Exact(String),
}

/// Compiled exclude rules, each with its 1-based line number (for `--explain`).
#[derive(Debug, Default)]
pub struct Exclude {
    rules: Vec<(Rule, u64)>,
    /// xxh3 of the file's text: a change of rules re-evaluates every key.
    fingerprint: u64,
}

impl Exclude {
    /// Reads and compiles an exclude file; a bad regex is an error naming `file:line`.
    pub fn load(path: &Path) -> Result<Exclude, SignalsError> {
        let text = std::fs::read_to_string(path).map_err(|e| SignalsError::io(path, e))?;
        Exclude::parse(&text).map_err(|(line, message)| SignalsError::Exclude {
            path: path.to_path_buf(),
            line,
            message,
        })
    }

    /// Compiles rules from text; the error is `(1-based line, message)`.
    pub fn parse(text: &str) -> Result<Exclude, (u64, String)> {
        let mut rules = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let rule = parse_rule(line).map_err(|m| (n as u64 + 1, m))?;
            rules.push((rule, n as u64 + 1));
        }
        Ok(Exclude {
            rules,
            fingerprint: xxh3_64(text.as_bytes()),
        })
    }

    /// The line number of the first rule matching `key`, if any.
    pub fn matching(&self, key: &str) -> Option<u64> {
        self.rules
            .iter()
            .find(|(rule, _)| match rule {
                Rule::Regex(re) => re.is_match(key),
                Rule::Prefix(prefix) => key.starts_with(prefix.as_str()),
                Rule::Exact(exact) => key == exact,
            })
            .map(|(_, line)| *line)
    }

    /// Identifies the rules (0 without a file).
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

fn parse_rule(line: &str) -> Result<Rule, String> {
    if let Some(pattern) = line
        .strip_prefix('/')
        .and_then(|rest| rest.strip_suffix('/'))
    {
        return Regex::new(pattern).map(Rule::Regex).map_err(|e| {
            format!("bad regex /{pattern}/: {e}; fix it (Rust regex syntax), or write the phrase without slashes")
        });
    }
    match line.strip_suffix('*') {
        Some(prefix) => Ok(Rule::Prefix(edgesuggest::normalize_phrase(prefix))),
        None => Ok(Rule::Exact(edgesuggest::normalize_phrase(line))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_kinds_of_rules() {
        let ex = Exclude::parse("# comment\n\n/^bad.*word$/\nFree *\nExact  Phrase\n").unwrap();
        assert_eq!(ex.matching("bad cat word"), Some(3));
        assert_eq!(ex.matching("freebies"), Some(4));
        assert_eq!(ex.matching("exact phrase"), Some(5));
        assert_eq!(ex.matching("exact phrase 2"), None);
        assert_eq!(ex.matching("a bad word"), None);
    }

    #[test]
    fn bad_regex_names_the_line() {
        let (line, message) = Exclude::parse("ok\n/(/\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("bad regex"));
    }
}
