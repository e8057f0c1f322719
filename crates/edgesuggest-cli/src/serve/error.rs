//! Every way a request to `edgesuggest serve` can fail, and the one place that turns a failure
//! into an answer: status, the shared error body `{"error": {"code", "message"}}`,
//! `cache-control: no-store`, and `retry-after` on 503. Codes are the worker's for the same
//! failures.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use edgesuggest_http::params::{engine_refusal, BadRequest};

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "5";

/// A request that cannot be answered with a result.
#[derive(Debug)]
pub enum ApiError {
    /// A malformed parameter (400, with the parser's code).
    BadRequest(BadRequest),
    /// No `index` parameter, and several indexes served without `--default-index` (400).
    MissingIndex { serves: Vec<String> },
    /// No route at this path (404).
    NotFound { path: String },
    /// The request names an index this server does not serve (404).
    UnknownIndex { index: String, serves: Vec<String> },
    /// A method other than GET, HEAD or OPTIONS (405).
    MethodNotAllowed,
    /// The index's first load has not finished within the wait (503).
    Loading { index: String },
    /// The index has never loaded (503; a bad reload keeps the last good version instead).
    LoadFailed { index: String, detail: String },
    /// A bug (500); `detail` goes to the log, never to the client.
    Internal { detail: String },
}

impl ApiError {
    /// The HTTP status of this failure.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::MissingIndex { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound { .. } | ApiError::UnknownIndex { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Loading { .. } | ApiError::LoadFailed { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(e) => e.code,
            ApiError::MissingIndex { .. } => "missing_index",
            ApiError::NotFound { .. } => "not_found",
            ApiError::UnknownIndex { .. } => "unknown_index",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Loading { .. } => "loading",
            ApiError::LoadFailed { .. } => "load_failed",
            ApiError::Internal { .. } => "internal",
        }
    }

    /// The human-readable message in the body.
    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(e) => e.message.clone(),
            ApiError::MissingIndex { serves } => format!(
                "several indexes are served ({}); name one with `index=` or start the server \
                 with --default-index",
                serves.join(", ")
            ),
            ApiError::NotFound { path } => {
                format!("no route {path}; try /v1/suggest?q=new, /v1/health or /metrics")
            }
            ApiError::UnknownIndex { index, serves } => format!(
                "unknown index `{index}`; this server serves: {}",
                serves.join(", ")
            ),
            ApiError::MethodNotAllowed => "only GET, HEAD and OPTIONS are served".to_string(),
            ApiError::Loading { index } => {
                format!("index `{index}` is still loading; retry in a moment")
            }
            ApiError::LoadFailed { index, detail } => format!(
                "index `{index}` could not be loaded: {detail}; replace its file with a good \
                 one and the server loads it"
            ),
            ApiError::Internal { .. } => "internal error; see the server log".to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal { detail } = &self {
            tracing::error!(error = detail.as_str(), "internal error");
        }
        let body = edgesuggest_http::error_body(self.code(), &self.message(), None);
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(edgesuggest_http::body::JSON_CONTENT_TYPE),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

impl From<BadRequest> for ApiError {
    fn from(e: BadRequest) -> ApiError {
        ApiError::BadRequest(e)
    }
}

/// The engine's refusals are bad requests; anything else it reports on a loaded segment is a
/// bug: an internal error.
impl From<edgesuggest::Error> for ApiError {
    fn from(e: edgesuggest::Error) -> ApiError {
        match engine_refusal(&e) {
            Some(bad) => ApiError::BadRequest(bad),
            None => ApiError::Internal {
                detail: e.to_string(),
            },
        }
    }
}
