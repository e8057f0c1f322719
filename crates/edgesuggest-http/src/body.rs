//! The bodies and headers of the API's answers.

use serde::Serialize;
use serde_json::value::RawValue;

/// The header naming the index version that answered.
pub const VERSION_HEADER: &str = "x-edgesuggest-version";
/// The header giving that version's age in whole seconds (absent when its creation time is
/// unknown).
pub const VERSION_AGE_HEADER: &str = "x-edgesuggest-version-age";
/// Response headers a page on another origin may read: timings and the answering version.
pub const EXPOSED_HEADERS: &str = "server-timing, x-edgesuggest-version, x-edgesuggest-version-age";
/// `access-control-allow-methods` of a CORS preflight answer.
pub const PREFLIGHT_METHODS: &str = "GET, POST, OPTIONS";
/// `access-control-allow-headers` of a CORS preflight answer.
pub const PREFLIGHT_HEADERS: &str = "content-type";
/// `access-control-max-age` of a CORS preflight answer: a day.
pub const PREFLIGHT_MAX_AGE: &str = "86400";
/// The `content-type` of every JSON answer.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The body of a `/v1/suggest` answer. Field order is the order on the wire.
#[derive(Debug, Serialize)]
pub struct SuggestBody<'a> {
    /// The raw query, echoed (a cached answer may have come from another raw query).
    pub query: &'a str,
    /// The index that answered.
    pub index: &'a str,
    /// The index version that answered.
    pub version: u64,
    /// When that version was published (its manifest's `created`, or the segment file's
    /// modification time), RFC 3339.
    pub version_created: &'a str,
    /// How many whole seconds ago that was (`null` when unknown).
    pub version_age_seconds: Option<u64>,
    /// The array of `edgesuggest_json::SuggestionJson` objects, already serialized.
    pub suggestions: &'a RawValue,
    /// True when the engine's work budget cut the search short.
    pub truncated: bool,
    /// Microseconds the answer took on the server.
    pub took_us: u64,
    /// This answer's id, for the impressions and clicks that refer to it.
    pub response_id: &'a str,
    /// The experiment that served it (`null` when none runs).
    pub experiment: Option<&'a str>,
    /// The arm of that experiment (`null` when none runs).
    pub arm: Option<&'a str>,
}

/// The JSON body of every error answer.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

/// `code` for programs, `message` for people.
#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
    /// The 0-based position of the event at fault, for a refused body of events.
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<usize>,
}

/// The error body `{"error": {"code", "message", "event"?}}`.
pub fn error_body(code: &str, message: &str, event: Option<usize>) -> String {
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message,
            event,
        },
    };
    // Strings and a number always serialize.
    serde_json::to_string(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_escape_and_omit_the_event_when_absent() {
        assert_eq!(
            error_body("bad_k", "`k` must be \"1\"–50", None),
            r#"{"error":{"code":"bad_k","message":"`k` must be \"1\"–50"}}"#
        );
        assert_eq!(
            error_body("bad_event", "x", Some(3)),
            r#"{"error":{"code":"bad_event","message":"x","event":3}}"#
        );
    }
}
