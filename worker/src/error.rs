//! Every way a request can fail, and the one place that turns a failure into an HTTP answer.
//!
//! Handlers return `Result<Response, ApiError>` and never pick a status themselves: the status,
//! the machine-readable code, the JSON body `{"error": {"code", "message"}}` and the headers
//! (`cache-control: no-store`, `retry-after` on 503) all come from [`ApiError`], so two routes
//! cannot answer the same failure differently.

use worker::Response;

use crate::events::{EventsError, MAX_BODY_BYTES, MAX_EVENTS};
use crate::json_response;
use crate::params::BadRequest;

/// Seconds a client should wait before retrying a 503: long enough for a load or a KV hiccup
/// to pass, short enough for a typeahead user not to notice a stale box.
const RETRY_AFTER_SECONDS: &str = "5";

/// Why an index could not be loaded into isolate memory. Plain data: it is stored for the
/// requests waiting on a load and tested natively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// No manifest in KV: nothing was published for this index yet.
    NoManifest { index: String },
    /// The index is larger than the whole memory budget.
    TooLarge {
        index: String,
        bytes: u64,
        budget: u64,
    },
    /// KV failed, a chunk is missing, or the bytes are corrupt.
    Failed { index: String, detail: String },
}

impl LoadError {
    /// The machine-readable code of the 503 this error answers with.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::NoManifest { .. } => "not_published",
            LoadError::TooLarge { .. } => "index_too_large",
            LoadError::Failed { .. } => "load_failed",
        }
    }

    /// What went wrong and how to fix it, for people.
    pub fn message(&self) -> String {
        match self {
            LoadError::NoManifest { index } => format!(
                "index `{index}` has no manifest in KV yet; publish it with `edgesuggest publish`"
            ),
            LoadError::TooLarge {
                index,
                bytes,
                budget,
            } => format!(
                "index `{index}` needs {bytes} bytes, more than this worker's memory budget of \
                 {budget} bytes (MEMORY_BUDGET_BYTES); split it or raise the budget"
            ),
            LoadError::Failed { index, detail } => {
                format!("index `{index}` could not be loaded: {detail}")
            }
        }
    }
}

/// A request that cannot be answered with a result.
#[derive(Debug)]
pub enum ApiError {
    /// A malformed parameter (400, with the parser's code).
    BadRequest(BadRequest),
    /// No route at this path (404).
    NotFound { path: String },
    /// The request names an index this worker does not serve (404).
    UnknownIndex { index: String, serves: Vec<String> },
    /// A method other than GET, HEAD or OPTIONS (405).
    MethodNotAllowed,
    /// The KV binding is missing from the environment (503).
    KvUnavailable { binding: String, detail: String },
    /// The index could not be loaded (503).
    Load(LoadError),
    /// A refused body of events (400, or 413 when too large).
    Events(EventsError),
    /// The worker has no events queue binding (503).
    EventsOff { binding: String },
    /// Sending accepted events to the queue failed (503: nothing was accepted, send again).
    QueueFailed { detail: String },
    /// A bug or a runtime failure (500); `detail` goes to the logs, never to the client.
    Internal { detail: String },
}

impl ApiError {
    /// The HTTP status of this failure.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Events(EventsError::TooLarge { .. } | EventsError::TooMany { .. }) => 413,
            ApiError::Events(_) => 400,
            ApiError::NotFound { .. } | ApiError::UnknownIndex { .. } => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::Internal { .. } => 500,
            ApiError::KvUnavailable { .. }
            | ApiError::Load(_)
            | ApiError::EventsOff { .. }
            | ApiError::QueueFailed { .. } => 503,
        }
    }

    /// The machine-readable code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(e) => e.code,
            ApiError::NotFound { .. } => "not_found",
            ApiError::UnknownIndex { .. } => "unknown_index",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::KvUnavailable { .. } => "kv_unavailable",
            ApiError::Load(e) => e.code(),
            ApiError::Events(e) => match e {
                EventsError::TooLarge { .. } => "body_too_large",
                EventsError::TooMany { .. } => "too_many_events",
                EventsError::Empty => "no_events",
                EventsError::Malformed { .. } => "bad_body",
                EventsError::BadEvent { .. } => "bad_event",
            },
            ApiError::EventsOff { .. } => "events_off",
            ApiError::QueueFailed { .. } => "queue_failed",
            ApiError::Internal { .. } => "internal",
        }
    }

    /// The human-readable message in the body.
    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(e) => e.message.clone(),
            ApiError::NotFound { path } => {
                format!("no route {path}; try /v1/suggest?q=new or /v1/health")
            }
            ApiError::UnknownIndex { index, serves } => format!(
                "unknown index `{index}`; this worker serves: {}",
                serves.join(", ")
            ),
            ApiError::MethodNotAllowed => {
                "only GET and OPTIONS are served, and POST on /v1/events".to_string()
            }
            ApiError::Events(e) => events_message(e),
            ApiError::EventsOff { binding } => format!(
                "events are off: this worker has no queue binding `{binding}`; add \
                 [[queues.producers]] to wrangler.toml (see worker/README.md)"
            ),
            ApiError::QueueFailed { detail } => {
                format!("the events queue refused the events ({detail}); nothing was accepted, send them again")
            }
            ApiError::KvUnavailable { binding, detail } => {
                format!("KV binding `{binding}` is not available: {detail}")
            }
            ApiError::Load(e) => e.message(),
            ApiError::Internal { .. } => "internal error; see the worker logs".to_string(),
        }
    }

    /// The answer to send: JSON body, status, `no-store`, and `retry-after` on 503. Internal
    /// errors are logged here (one JSON line) since their detail stays out of the body.
    pub fn into_response(self) -> worker::Result<Response> {
        if let ApiError::Internal { detail } = &self {
            worker::console_log!(
                "{}",
                serde_json::json!({"event": "internal_error", "message": detail})
            );
        }
        let message = self.message();
        let event = match &self {
            ApiError::Events(EventsError::BadEvent { index, .. }) => Some(*index),
            _ => None,
        };
        let text = edgesuggest_http::error_body(self.code(), &message, event);
        let mut response = json_response(text)?.with_status(self.status());
        let headers = response.headers_mut();
        headers.set("cache-control", "no-store")?;
        if self.status() == 503 {
            headers.set("retry-after", RETRY_AFTER_SECONDS)?;
        }
        Ok(response)
    }
}

/// What is wrong with a body of events and what is accepted.
fn events_message(e: &EventsError) -> String {
    match e {
        EventsError::TooLarge { bytes } => format!(
            "the body is {bytes} bytes; at most {MAX_BODY_BYTES} are accepted: send fewer events per request"
        ),
        EventsError::TooMany { events } => format!(
            "{events} events in one request; at most {MAX_EVENTS}: send them in several requests"
        ),
        EventsError::Empty => {
            "no events: send a JSON array of events or one event per line (docs/EVENTS.md)"
                .to_string()
        }
        EventsError::Malformed { reason } => reason.clone(),
        EventsError::BadEvent { index, reason } => {
            format!("event {index}: {reason}; nothing in this request was accepted")
        }
    }
}

impl From<BadRequest> for ApiError {
    fn from(e: BadRequest) -> ApiError {
        ApiError::BadRequest(e)
    }
}

impl From<LoadError> for ApiError {
    fn from(e: LoadError) -> ApiError {
        ApiError::Load(e)
    }
}

/// The engine's refusals of a query or options beyond its limits are bad requests (shared
/// with the native server); anything else it reports is a corrupt segment that passed
/// loading, a bug: an internal error.
impl From<edgesuggest::Error> for ApiError {
    fn from(e: edgesuggest::Error) -> ApiError {
        match crate::params::engine_refusal(&e) {
            Some(bad) => ApiError::BadRequest(bad),
            None => ApiError::Internal {
                detail: e.to_string(),
            },
        }
    }
}

/// Runtime failures (building a response, reading a body) are internal errors.
impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> ApiError {
        ApiError::Internal {
            detail: e.to_string(),
        }
    }
}

/// A value that cannot be serialized is a bug: an internal error.
impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> ApiError {
        ApiError::Internal {
            detail: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(index: &str) -> ApiError {
        ApiError::Load(LoadError::NoManifest {
            index: index.to_string(),
        })
    }

    #[test]
    fn engine_limits_are_bad_requests_and_corruption_is_internal() {
        let too_long = edgesuggest::Error::QueryTooLong {
            what: "the normalized query",
            max: edgesuggest::MAX_QUERY_BYTES,
        };
        let bad_k = edgesuggest::SuggestOptions::with_k(edgesuggest::MAX_K + 1)
            .validate()
            .unwrap_err();
        let corrupt = edgesuggest::Segment::load(&b"not a segment"[..]).unwrap_err();
        for (e, status, code) in [
            (too_long, 400, "q_too_long"),
            (bad_k, 400, "bad_k"),
            (corrupt, 500, "internal"),
        ] {
            let api = ApiError::from(e);
            assert_eq!((api.status(), api.code()), (status, code), "{api:?}");
        }
    }

    #[test]
    fn every_failure_has_its_status_and_code() {
        let bad = BadRequest {
            code: "bad_k",
            message: "`k` must be an integer from 1 to 50".to_string(),
        };
        let cases = [
            (ApiError::BadRequest(bad), 400, "bad_k"),
            (ApiError::NotFound { path: "/x".into() }, 404, "not_found"),
            (
                ApiError::UnknownIndex {
                    index: "nope".into(),
                    serves: vec!["cities".into()],
                },
                404,
                "unknown_index",
            ),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (
                ApiError::KvUnavailable {
                    binding: "SEGMENTS".into(),
                    detail: "unbound".into(),
                },
                503,
                "kv_unavailable",
            ),
            (load("cities"), 503, "not_published"),
            (
                ApiError::Internal {
                    detail: "secret".into(),
                },
                500,
                "internal",
            ),
        ];
        for (e, status, code) in cases {
            assert_eq!((e.status(), e.code()), (status, code), "{e:?}");
            assert!(e.message().len() > 10, "{e:?}");
        }
    }

    #[test]
    fn messages_say_how_to_fix() {
        assert_eq!(
            ApiError::NotFound {
                path: "/nowhere".into()
            }
            .message(),
            "no route /nowhere; try /v1/suggest?q=new or /v1/health"
        );
        let unknown = ApiError::UnknownIndex {
            index: "nope".into(),
            serves: vec!["cities".into(), "towns".into()],
        };
        assert_eq!(
            unknown.message(),
            "unknown index `nope`; this worker serves: cities, towns"
        );
        assert!(load("cities").message().contains("edgesuggest publish"));
        let too_large = LoadError::TooLarge {
            index: "cities".into(),
            bytes: 200_000,
            budget: 100_000,
        };
        assert_eq!(too_large.code(), "index_too_large");
        assert!(too_large
            .message()
            .contains("memory budget of 100000 bytes"));
        let internal = ApiError::Internal {
            detail: "secret".into(),
        };
        assert!(!internal.message().contains("secret"));
    }
}
