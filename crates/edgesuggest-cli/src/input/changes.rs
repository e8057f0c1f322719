//! Change sets for `build --delta`: NDJSON, one change a line:
//! `{"op": "upsert", "phrase": "...", "score": N, "payload"?: {...}, "categories"?: [...]}` or
//! `{"op": "delete", "phrase": "..."}`.

use std::io::BufRead;

use anyhow::Result;
use serde_json::{Map, Value};

use super::ndjson::{parse_object, row_fields};
use super::{check_phrase, read_text_lines, Fault, Reading, Row};

/// One good change.
#[derive(Debug)]
pub enum Change {
    /// Set the phrase's suggestion to exactly this row (absolute score).
    Upsert(Row<'static>),
    /// Remove the phrase's suggestion.
    Delete { line: u64, phrase: String },
}

/// Reads every change of `reader`, calling `on_change` for good ones and `on_fault` for bad
/// ones (`file:line` as for rows). Errors only when the input itself cannot be read.
pub fn read_changes(
    reader: Box<dyn BufRead>,
    how: Reading,
    on_change: &mut dyn FnMut(Change) -> Result<()>,
    on_fault: &mut dyn FnMut(Fault) -> Result<()>,
) -> Result<()> {
    read_text_lines(reader, how, &mut |line, text| match text
        .and_then(|text| parse_change(text, line))
    {
        Ok(change) => on_change(change),
        Err(message) => on_fault(Fault { line, message }),
    })
}

/// Parses one change line: an upsert or a delete, by its `"op"`.
fn parse_change(text: &str, line: u64) -> Result<Change, String> {
    let object = parse_object(text)?;
    match object.get("op") {
        Some(Value::String(op)) if op == "upsert" => parse_upsert(&object, line),
        Some(Value::String(op)) if op == "delete" => parse_delete(&object, line),
        Some(other) => Err(format!(
            "\"op\" must be \"upsert\" or \"delete\", not {other}"
        )),
        None => Err(MISSING_OP.to_string()),
    }
}

/// The fault of a change without `"op"`: the two shapes a change takes.
const MISSING_OP: &str = r#"missing "op": each change is {"op":"upsert","phrase":...,"score":...} or {"op":"delete","phrase":...}"#;

/// An upsert: the fields of a row (`phrase`, `score`, optional `payload`, `categories`).
fn parse_upsert(object: &Map<String, Value>, line: u64) -> Result<Change, String> {
    let (phrase, score, payload, categories) = check_phrase(row_fields(object)?)?;
    Ok(Change::Upsert(Row {
        line,
        phrase,
        score,
        payload,
        categories,
    }))
}

/// A delete: a phrase and nothing a row would carry.
fn parse_delete(object: &Map<String, Value>, line: u64) -> Result<Change, String> {
    let phrase = match object.get("phrase") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("\"phrase\" must be a string".to_string()),
        None => return Err("missing \"phrase\"".to_string()),
    };
    if let Some(extra) = ["score", "payload", "categories"]
        .iter()
        .find(|k| object.contains_key(**k))
    {
        return Err(format!(
            "a delete takes only \"op\" and \"phrase\", not {extra:?}: to change a \
             suggestion, upsert it"
        ));
    }
    let (phrase, ..) = check_phrase((phrase.into(), 0, None, Vec::new()))?;
    Ok(Change::Delete {
        line,
        phrase: phrase.into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(text: &str) -> String {
        parse_change(text, 1).unwrap_err()
    }

    #[test]
    fn upserts_and_deletes() {
        match parse_change(
            r#"{"op":"upsert","phrase":"a","score":3,"categories":["x"]}"#,
            4,
        ) {
            Ok(Change::Upsert(row)) => {
                assert_eq!((row.line, &*row.phrase, row.score), (4, "a", 3));
                assert_eq!(row.categories, ["x"]);
            }
            other => panic!("{other:?}"),
        }
        match parse_change(r#"{"op":"delete","phrase":"a"}"#, 2) {
            Ok(Change::Delete { line: 2, phrase }) => assert_eq!(phrase, "a"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_changes_say_why() {
        assert!(fault(r#"{"phrase":"a","score":1}"#).contains("missing \"op\""));
        assert!(fault(r#"{"op":"insert","phrase":"a"}"#).contains("\"upsert\" or \"delete\""));
        assert!(fault(r#"{"op":"upsert","phrase":"a"}"#).contains("missing score"));
        assert!(fault(r#"{"op":"delete"}"#).contains("missing \"phrase\""));
        assert!(fault(r#"{"op":"delete","phrase":"a","score":2}"#).contains("upsert it"));
        assert!(fault(r#"{"op":"delete","op":"upsert","phrase":"a"}"#).contains("duplicate key"));
        assert!(fault(r#"{"op":"delete","phrase":"a\u0000"}"#).contains("NUL"));
        assert!(fault("[1]").contains("expected a JSON object"));
    }
}
