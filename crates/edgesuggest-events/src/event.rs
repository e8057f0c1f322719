//! The one event schema (`docs/EVENTS.md`): what every reader (NDJSON, Parquet) produces and
//! every writer (the log generator, the worker's endpoint) emits.

use serde::Serialize;

/// Longest `user`, in bytes.
pub const MAX_USER_BYTES: usize = 256;
/// Longest `q`, `text` or suggestion, in bytes.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Most `suggestions` in one impression.
pub const MAX_SUGGESTIONS: usize = 100;
/// Longest NDJSON line, in bytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// `ts` must be below this (2^53: exact in a JavaScript number and a JSON double).
pub const MAX_TS: u64 = 1 << 53;

/// Every field of the schema, in the order writers emit them.
pub const FIELDS: [&str; 18] = [
    "ts",
    "type",
    "user",
    "q",
    "results",
    "suggestions",
    "text",
    "position",
    "response_id",
    "variant",
    "index",
    "version",
    "session",
    "experiment",
    "event_id",
    "received_ts",
    "took_us",
    "error",
];

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// A committed query: Enter, a submit, or a picked suggestion.
    Search,
    /// The list of suggestions a user was shown.
    Impression,
    /// A picked suggestion.
    Click,
}

impl EventType {
    /// Parses the `type` field.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "search" => Ok(Self::Search),
            "impression" => Ok(Self::Impression),
            "click" => Ok(Self::Click),
            other => Err(format!(
                "unknown \"type\" {other:?}: expected \"search\", \"impression\" or \"click\""
            )),
        }
    }

    /// The name written in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Search => "search",
            Self::Impression => "impression",
            Self::Click => "click",
        }
    }
}

/// One event, as read from any log format. Optional fields absent in the log are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Milliseconds since the Unix epoch (UTC).
    pub ts: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Opaque user id.
    pub user: String,
    /// Text typed (required for searches).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Hits of a search; `Some(0)` marks a zero-result search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<u64>,
    /// Suggestions shown, in order (required for impressions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<Vec<String>>,
    /// The picked suggestion (required for clicks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Index of the picked suggestion in the list shown, 0 = first (required for clicks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// The suggest answer this event refers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// The experiment arm that served the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The index name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// The index version that answered, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Opaque session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The experiment whose arm (`variant`) served the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// A unique id of this event; the worker's endpoint assigns one when it is absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Milliseconds since the epoch when the worker's endpoint accepted the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_ts: Option<u64>,
    /// Server time of the suggest answer behind an impression, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub took_us: Option<u64>,
    /// Why the suggest request behind an impression failed (an impression with no answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Event {
    /// An event with only the fields every event has; set the others as its type needs.
    pub fn new(ts: u64, kind: EventType, user: &str) -> Event {
        Event {
            ts,
            kind,
            user: user.to_string(),
            q: None,
            results: None,
            suggestions: None,
            text: None,
            position: None,
            response_id: None,
            variant: None,
            index: None,
            version: None,
            session: None,
            experiment: None,
            event_id: None,
            received_ts: None,
            took_us: None,
            error: None,
        }
    }

    /// Checks the rules of `docs/EVENTS.md` that every reader applies after decoding: limits,
    /// and the fields each type requires. The error says what is wrong and how to fix it.
    pub fn validate(&self) -> Result<(), String> {
        self.view().validate()
    }

    /// The fields an experiment report reads beyond [`Event::view`].
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

    /// A borrowed view of the event: what the aggregation reads.
    pub fn view(&self) -> EventRef<'_, String> {
        EventRef {
            ts: self.ts,
            kind: self.kind,
            user: &self.user,
            q: self.q.as_deref(),
            results: self.results,
            suggestions: self.suggestions.as_deref(),
            text: self.text.as_deref(),
            position: self.position,
        }
    }
}

/// The fields of an event an experiment report reads beyond [`EventRef`], borrowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExperimentFields<'a> {
    /// The experiment whose arm served the answer.
    pub experiment: Option<&'a str>,
    /// The arm that served the answer.
    pub variant: Option<&'a str>,
    /// The suggest answer the event refers to (joins impressions and clicks).
    pub response_id: Option<&'a str>,
    /// Opaque session id.
    pub session: Option<&'a str>,
    /// Server time of the answer behind an impression, in µs.
    pub took_us: Option<u64>,
    /// Why the suggest request behind an impression failed.
    pub error: Option<&'a str>,
}

/// The fields of an event the aggregation reads, borrowed from wherever it was decoded (an
/// NDJSON line without copying, or an owned [`Event`]). `S` is the suggestions' string type.
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a, S: AsRef<str>> {
    /// Milliseconds since the Unix epoch (UTC).
    pub ts: u64,
    /// What happened.
    pub kind: EventType,
    /// Opaque user id.
    pub user: &'a str,
    /// Text typed.
    pub q: Option<&'a str>,
    /// Hits of a search.
    pub results: Option<u64>,
    /// Suggestions shown.
    pub suggestions: Option<&'a [S]>,
    /// The picked suggestion.
    pub text: Option<&'a str>,
    /// Index of the picked suggestion.
    pub position: Option<u64>,
}

impl<S: AsRef<str>> EventRef<'_, S> {
    /// Checks the limits and required fields of `docs/EVENTS.md` (see [`Event::validate`]).
    pub fn validate(&self) -> Result<(), String> {
        if self.ts >= MAX_TS {
            return Err(format!(
                "\"ts\" {} is out of range: milliseconds since the epoch, below 2^53",
                self.ts
            ));
        }
        check_len("user", self.user, 1, MAX_USER_BYTES)?;
        for (name, value) in [("q", self.q), ("text", self.text)] {
            if let Some(value) = value {
                check_len(name, value, 0, MAX_TEXT_BYTES)?;
            }
        }
        if let Some(list) = self.suggestions {
            if list.len() > MAX_SUGGESTIONS {
                return Err(format!(
                    "{} \"suggestions\", at most {MAX_SUGGESTIONS}",
                    list.len()
                ));
            }
            for s in list {
                check_len("a suggestion", s.as_ref(), 0, MAX_TEXT_BYTES)?;
            }
        }
        self.check_required()
    }

    /// The fields each type cannot do without.
    fn check_required(&self) -> Result<(), String> {
        let missing = match self.kind {
            EventType::Search if self.q.is_none() => Some("\"q\" (the committed query)"),
            EventType::Impression if self.suggestions.is_none() => {
                Some("\"suggestions\" (the list shown; [] when none was)")
            }
            EventType::Click if self.text.is_none() => Some("\"text\" (the picked suggestion)"),
            EventType::Click if self.position.is_none() => {
                Some("\"position\" (index of the pick in the list shown, 0 = first)")
            }
            _ => None,
        };
        match missing {
            Some(field) => Err(format!("a {} event needs {field}", self.kind.as_str())),
            None => Ok(()),
        }
    }
}

/// A string field's length in bytes must be within `min..=max`.
fn check_len(name: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    if value.len() < min {
        return Err(format!("{name} is empty"));
    }
    if value.len() > max {
        return Err(format!("{name} is {} bytes, at most {max}", value.len()));
    }
    Ok(())
}
