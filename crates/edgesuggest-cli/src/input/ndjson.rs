//! NDJSON rows: one JSON object a line.

use std::fmt;

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::{parse_score, split_categories, Parsed};

/// The smallest value over `u64::MAX` (2^64), as JSON numbers too large for `u64` are read.
const OVER_U64: f64 = 18_446_744_073_709_551_616.0;

/// A row's top-level object. Unlike [`serde_json::Value`], which keeps the last of repeated
/// keys, it refuses an object that names a key twice: `{"score": 1, "score": 9}` has no one
/// meaning.
struct Object(Map<String, Value>);

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Object, D::Error> {
        deserializer.deserialize_any(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object {\"phrase\": ..., \"score\": ...}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Object, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(A::Error::custom(format!(
                    "duplicate key {key:?}: give each key once"
                )));
            }
            let value = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Object(map))
    }
}

/// Parses one NDJSON line into a row.
pub(super) fn parse_ndjson(text: &str) -> Parsed<'static> {
    row_fields(&parse_object(text)?)
}

/// One line's top-level JSON object, refusing repeated keys.
pub(super) fn parse_object(text: &str) -> Result<Map<String, Value>, String> {
    let Object(object) = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => e.to_string(),
        _ => format!("invalid JSON: {e}"),
    })?;
    Ok(object)
}

/// A row's fields from its object: phrase, score, optional payload and categories.
pub(super) fn row_fields(object: &Map<String, Value>) -> Parsed<'static> {
    let phrase = match object.get("phrase") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("\"phrase\" must be a string".to_string()),
        None => return Err("missing \"phrase\"".to_string()),
    };
    let score = match object.get("score") {
        None | Some(Value::Null) => return Err("missing score".to_string()),
        Some(Value::Number(n)) => json_score(n)?,
        Some(Value::String(s)) => parse_score(s)?,
        Some(other) => return Err(format!("score must be an integer, got {other}")),
    };
    let payload = match object.get("payload") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => return Err("\"payload\" must be a JSON object".to_string()),
    };
    let categories = json_categories(object.get("categories"))?;
    Ok((phrase.into(), score, payload, categories))
}

/// A score written as a JSON number: integers from 0 to `u64::MAX`.
fn json_score(n: &Number) -> Result<u64, String> {
    if let Some(v) = n.as_u64() {
        return Ok(v);
    }
    // Not a u64: a negative integer, or read as a float (a point, an exponent, or too large).
    let f = n.as_f64().unwrap_or(f64::NAN);
    if n.is_i64() || f.is_sign_negative() {
        Err(format!(
            "negative score {n}: scores are non-negative integers"
        ))
    } else if f >= OVER_U64 {
        Err(format!("score {n} is over the maximum {}", u64::MAX))
    } else if f.fract() == 0.0 {
        Err(format!(
            "score {n} is written with a decimal point or an exponent: write it as a plain \
             integer ({})",
            f as u64
        ))
    } else {
        Err(format!(
            "non-integer score {n}: scores are non-negative integers"
        ))
    }
}

/// `"categories"`: an array of strings, or one comma-separated string.
fn json_categories(value: Option<&Value>) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|c| match c {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("categories must be strings, got {other}")),
            })
            .collect(),
        Some(Value::String(s)) => Ok(split_categories(s)),
        Some(_) => Err("\"categories\" must be an array of strings".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(text: &str) -> String {
        parse_ndjson(text).unwrap_err()
    }

    #[test]
    fn repeated_keys_are_refused() {
        assert!(fault(r#"{"phrase":"a","score":1,"score":9}"#).contains("duplicate key \"score\""));
        assert!(fault(r#"{"phrase":"a","phrase":"b","score":1}"#).contains("duplicate key"));
        // Inside a payload, serde_json's rule holds: the last one wins.
        assert_eq!(
            parse_ndjson(r#"{"phrase":"a","score":1,"payload":{"u":1,"u":2}}"#),
            Ok(("a".into(), 1, Some("{\"u\":2}".into()), vec![]))
        );
    }

    #[test]
    fn scores_out_of_range_or_not_integers() {
        assert!(
            fault(r#"{"phrase":"a","score":18446744073709551616}"#).contains("over the maximum")
        );
        assert!(fault(r#"{"phrase":"a","score":1e300}"#).contains("over the maximum"));
        assert!(fault(r#"{"phrase":"a","score":-0}"#).contains("negative"));
        assert!(fault(r#"{"phrase":"a","score":-0.5}"#).contains("negative"));
        assert!(fault(r#"{"phrase":"a","score":1e3}"#).contains("plain integer (1000)"));
        assert!(fault(r#"{"phrase":"a","score":2.5}"#).contains("non-integer"));
        assert!(fault(r#"{"phrase":"a","score":NaN}"#).starts_with("invalid JSON"));
        assert!(fault(r#"{"phrase":"a","score":"NaN"}"#).contains("non-integer"));
        assert!(fault(r#"{"phrase":"a","score":true}"#).contains("must be an integer"));
        assert_eq!(
            parse_ndjson(r#"{"phrase":"a","score":18446744073709551615}"#).map(|r| r.1),
            Ok(u64::MAX)
        );
    }

    #[test]
    fn not_an_object() {
        assert!(fault("[1, 2]").contains("expected a JSON object"));
        assert!(fault("\"a\"").contains("expected a JSON object"));
        assert!(fault("{").starts_with("invalid JSON"));
    }
}
