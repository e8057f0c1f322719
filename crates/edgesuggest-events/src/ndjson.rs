//! Decoding one NDJSON line into an [`EventRef`] without copying its strings (the fast path),
//! and, for a line that does not decode, a second look that names the field at fault.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::event::{EventRef, EventType, ExperimentFields};

/// The fields of an event line, borrowed from the line where JSON escapes allow. Fields only
/// checked for their type (`index`, `version`...) are decoded to nothing; so are the
/// experiment's (`response_id`, `variant`, `session`, `experiment`, `error`) when `X` is
/// [`AnyStr`] ([`RawEvent`], what the aggregation reads), and they are kept borrowed when `X`
/// is [`Str`] ([`RawExperimentEvent`], what the report reads). Two types rather than one:
/// keeping five more strings makes the struct 120 bytes larger, and moving it costs the
/// aggregation 5% of its time.
#[derive(Deserialize)]
#[serde(bound(deserialize = "X: Deserialize<'de>"))]
pub struct RawLine<'a, X> {
    ts: Option<u64>,
    #[serde(rename = "type", borrow)]
    kind: Option<Str<'a>>,
    #[serde(borrow)]
    user: Option<Str<'a>>,
    #[serde(borrow)]
    q: Option<Str<'a>>,
    results: Option<u64>,
    #[serde(borrow)]
    suggestions: Option<Vec<Str<'a>>>,
    #[serde(borrow)]
    text: Option<Str<'a>>,
    position: Option<u64>,
    response_id: Option<X>,
    variant: Option<X>,
    #[allow(dead_code)]
    index: Option<AnyStr>,
    session: Option<X>,
    #[allow(dead_code)]
    version: Option<StrOrInt>,
    experiment: Option<X>,
    #[allow(dead_code)]
    event_id: Option<AnyStr>,
    #[allow(dead_code)]
    received_ts: Option<u64>,
    took_us: Option<u64>,
    error: Option<X>,
}

/// An event line with the experiment's fields only type-checked: the aggregation's decoder.
pub type RawEvent<'a> = RawLine<'a, AnyStr>;

/// An event line with the experiment's fields kept (borrowed): the report's decoder.
pub type RawExperimentEvent<'a> = RawLine<'a, Str<'a>>;

impl<'a, X: Deserialize<'a>> RawLine<'a, X> {
    /// Decodes a line. The error names the field at fault when one is.
    pub fn parse(line: &'a str) -> Result<RawLine<'a, X>, String> {
        // A struct also decodes from a JSON array (positionally): only an object is an event.
        if !line.trim_start().starts_with('{') {
            return Err(not_an_object(line));
        }
        serde_json::from_str(line).map_err(|e| explain_error(line, e))
    }

    /// The event, once the required fields are there; the caller still validates limits.
    pub fn view(&self) -> Result<EventRef<'_, Str<'a>>, String> {
        let ts = self
            .ts
            .ok_or("missing \"ts\" (milliseconds since the epoch)")?;
        let kind = self
            .kind
            .as_deref()
            .ok_or("missing \"type\" (\"search\", \"impression\" or \"click\")")?;
        let kind = EventType::parse(kind)?;
        let user = self
            .user
            .as_deref()
            .ok_or("missing \"user\" (opaque user id)")?;
        Ok(EventRef {
            ts,
            kind,
            user,
            q: self.q.as_deref(),
            results: self.results,
            suggestions: self.suggestions.as_deref(),
            text: self.text.as_deref(),
            position: self.position,
        })
    }
}

impl<'a> RawExperimentEvent<'a> {
    /// The fields an experiment report reads (no checks: they have none beyond their type).
    pub fn experiment_fields(&self) -> ExperimentFields<'_> {
        ExperimentFields {
            experiment: self.experiment.as_deref(),
            variant: self.variant.as_deref(),
            response_id: self.response_id.as_deref(),
            session: self.session.as_deref(),
            took_us: self.took_us,
            error: self.error.as_deref(),
        }
    }
}

/// A JSON string, borrowed from the line unless it holds escapes. (serde's own `Cow<str>`
/// inside an `Option` always copies: this one borrows whenever it can.)
#[derive(Debug, Clone)]
pub struct Str<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Str<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Str<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
        Ok(Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
        Ok(Str(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
        Ok(Str(Cow::Owned(v)))
    }
}

/// Any JSON string, not kept.
pub struct AnyStr;

impl<'de> Deserialize<'de> for AnyStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Ignore("a string")).map(|()| AnyStr)
    }
}

/// A JSON string or integer (`version`), not kept.
pub struct StrOrInt;

impl<'de> Deserialize<'de> for StrOrInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Ignore("a string or an integer"))
            .map(|()| StrOrInt)
    }
}

/// Accepts strings (and, unless `expecting` is only strings, integers) and keeps nothing.
struct Ignore(&'static str);

impl Visitor<'_> for Ignore {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.integer(de::Unexpected::Unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.integer(de::Unexpected::Signed(v))
    }
}

impl Ignore {
    fn integer<E: de::Error>(&self, v: de::Unexpected) -> Result<(), E> {
        match self.0 {
            "a string" => Err(E::invalid_type(v, self)),
            _ => Ok(()),
        }
    }
}

fn not_an_object(line: &str) -> String {
    match serde_json::from_str::<Value>(line) {
        Err(e) => format!("not valid JSON ({e}); each line must be one JSON object"),
        Ok(_) => "expected a JSON object ({\"ts\":...,\"type\":...,\"user\":...})".to_string(),
    }
}

/// Turns a decoding error into one naming the field, by looking at the line again as a
/// generic JSON value: only bad lines pay for this.
fn explain_error(line: &str, error: serde_json::Error) -> String {
    let object = match serde_json::from_str::<Value>(line) {
        Err(e) => return format!("not valid JSON ({e}); each line must be one JSON object"),
        Ok(Value::Object(object)) => object,
        Ok(_) => return not_an_object(line),
    };
    for (field, value) in &object {
        if let Some(message) = field_type_error(field, value) {
            return message;
        }
    }
    // A duplicate field, or something serde saw and the generic value did not.
    error.to_string()
}

/// Why a known field's value has the wrong type; `None` when it is fine (or unknown).
fn field_type_error(field: &str, value: &Value) -> Option<String> {
    let ok = match field {
        "ts" | "results" | "position" | "received_ts" | "took_us" => {
            value.is_null() || value.is_u64()
        }
        "type" | "user" | "q" | "text" | "response_id" | "variant" | "index" | "session"
        | "experiment" | "event_id" | "error" => value.is_null() || value.is_string(),
        "version" => value.is_null() || value.is_string() || value.is_i64() || value.is_u64(),
        "suggestions" => match value {
            Value::Null => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            _ => false,
        },
        _ => true,
    };
    let expected = match field {
        "ts" | "received_ts" => "an integer ≥ 0 (milliseconds since the epoch)",
        "results" | "position" | "took_us" => "an integer ≥ 0",
        "version" => "a string or an integer",
        "suggestions" => "an array of strings",
        _ => "a string",
    };
    (!ok).then(|| format!("\"{field}\" must be {expected}, not {}", shown(value)))
}

/// A value, shortened for a message.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(line: &str) -> String {
        match RawEvent::parse(line) {
            Err(e) => e,
            Ok(raw) => match raw.view() {
                Err(e) => e,
                Ok(v) => v.validate().unwrap_err(),
            },
        }
    }

    #[test]
    fn good_lines_decode() {
        let line = r#"{"ts":5,"type":"impression","user":"u\"1","suggestions":["a","b"],"version":3,"x":[1,{}],"q":null}"#;
        let raw = RawEvent::parse(line).unwrap();
        let view = raw.view().unwrap();
        assert_eq!(
            (view.ts, view.kind, view.user),
            (5, EventType::Impression, "u\"1")
        );
        assert_eq!(view.q, None);
        assert_eq!(view.suggestions.unwrap().len(), 2);
        assert!(view.validate().is_ok());
        let line = r#"{"ts":5,"type":"search","user":"u","q":"x","version":"v2"}"#;
        assert!(RawEvent::parse(line).is_ok());
    }

    #[test]
    fn experiment_fields_are_kept() {
        let line = r#"{"ts":5,"type":"impression","user":"u","suggestions":[],"experiment":"e\u0031","variant":"B","response_id":"r1","session":null,"took_us":1200,"error":"timeout"}"#;
        let raw = RawExperimentEvent::parse(line).unwrap();
        let fields = raw.experiment_fields();
        assert_eq!(fields.experiment, Some("e1"));
        assert_eq!(fields.variant, Some("B"));
        assert_eq!(fields.response_id, Some("r1"));
        assert_eq!(fields.session, None);
        assert_eq!(fields.took_us, Some(1200));
        assert_eq!(fields.error, Some("timeout"));
    }

    #[test]
    fn bad_lines_name_the_field() {
        assert!(fault(r#"{"ts":"5","type":"search","user":"u","q":"x"}"#).contains("\"ts\" must"));
        assert!(fault(r#"{"ts":-5,"type":"search","user":"u","q":"x"}"#).contains("\"ts\" must"));
        assert!(fault(r#"{"ts":1.5,"type":"search","user":"u","q":"x"}"#).contains("\"ts\""));
        assert!(fault(r#"{"ts":5,"type":"search","user":"u","q":1}"#).contains("\"q\" must"));
        assert!(
            fault(r#"{"ts":5,"type":"search","user":"u","q":"x","version":1.5}"#)
                .contains("\"version\" must")
        );
        assert!(
            fault(r#"{"ts":5,"type":"impression","user":"u","suggestions":[1]}"#)
                .contains("\"suggestions\" must")
        );
        assert!(fault(r#"{"ts":5,"type":"search","user":"u","session":7}"#).contains("session"));
        assert!(fault(r#"{"ts":5,"type":"searc","user":"u","q":"x"}"#).contains("unknown"));
        assert!(fault(r#"{"ts":5,"type":"search","user":"u"}"#).contains("needs \"q\""));
        assert!(fault(r#"{"type":"search","user":"u","q":"x"}"#).contains("missing \"ts\""));
        assert!(fault(r#"{"ts":5,"type":"search","user":"","q":"x"}"#).contains("empty"));
        assert!(
            fault(r#"{"ts":5,"ts":6,"type":"search","user":"u","q":"x"}"#).contains("duplicate")
        );
        assert!(fault(r#"[5,"search","u"]"#).contains("JSON object"));
        assert!(fault(r#"{"ts":5,"#).contains("not valid JSON"));
        assert!(
            fault(r#"{"ts":9007199254740992,"type":"search","user":"u","q":"x"}"#)
                .contains("out of range")
        );
    }
}
