//! The HTTP surface of `edgesuggest serve`: the worker's `/v1/suggest` and `/v1/health`, plus
//! `/v1/ping` and Prometheus `/metrics`. Parameters are parsed and answers shaped by the same
//! crates the worker uses.

use std::cell::RefCell;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use edgesuggest::Searcher;
use edgesuggest_http::body::{self, SuggestBody};
use edgesuggest_http::params::{parse_suggest, SuggestParams};
use edgesuggest_json::SuggestionJson;
use serde::Serialize;
use serde_json::value::RawValue;

use super::error::ApiError;
use super::metrics::Metrics;
use super::registry::{Loaded, Registry, Slot, State as IndexState};

thread_local! {
    /// One searcher per server thread: it reuses its buffers across queries.
    static SEARCHER: RefCell<Searcher> = RefCell::new(Searcher::new());
}

/// Settings of the HTTP surface.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The index a request without `index=` gets (by default the only one served).
    pub default_index: Option<String>,
    /// `Cache-Control: max-age` of suggest answers.
    pub cache_max_age: u32,
    /// Allowed CORS origins (`*` for any).
    pub cors_origins: Vec<String>,
    /// How long a request waits for an index's first load before a 503.
    pub load_wait: Duration,
}

/// Everything a handler needs.
pub struct App {
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    ids: ResponseIds,
}

impl App {
    /// The app over `registry`.
    pub fn new(registry: Arc<Registry>, metrics: Arc<Metrics>, settings: Settings) -> App {
        App {
            registry,
            metrics,
            settings,
            ids: ResponseIds::new(),
        }
    }
}

/// The router: routes, a JSON 404 for the rest, and the layer that answers preflights,
/// refuses other methods, adds CORS headers and counts every request.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/suggest", get(suggest))
        .route("/v1/health", get(health))
        .route("/v1/ping", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), edge))
        .with_state(app)
}

/// Answers OPTIONS and refuses other methods before routing, then adds CORS headers,
/// counts the request and logs it (at debug level: one line per request).
async fn edge(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_name(req.uri().path());
    let origin = req.headers().get(header::ORIGIN).cloned();
    let method = req.method().clone();
    // Only the per-request log line needs the path: no copy when it is off.
    let path = tracing::enabled!(tracing::Level::DEBUG).then(|| req.uri().path().to_string());
    let mut response = match method {
        Method::OPTIONS => preflight(),
        Method::GET | Method::HEAD => next.run(req).await,
        _ => ApiError::MethodNotAllowed.into_response(),
    };
    add_cors(response.headers_mut(), origin.as_ref(), &app.settings);
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    app.metrics.request(route, status, seconds);
    if let Some(path) = path {
        tracing::debug!(method = %method, path, status, us = (seconds * 1e6) as u64, "request");
    }
    response
}

/// The metrics label of a path.
fn route_name(path: &str) -> &'static str {
    match path {
        "/v1/suggest" => "suggest",
        "/v1/health" => "health",
        "/v1/ping" => "ping",
        "/metrics" => "metrics",
        _ => "other",
    }
}

/// The answer to a CORS preflight (the origin header is added by [`add_cors`]).
fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(body::PREFLIGHT_METHODS),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(body::PREFLIGHT_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(body::PREFLIGHT_MAX_AGE),
    );
    response
}

/// The CORS headers every answer carries, errors included, as the worker sends them.
fn add_cors(headers: &mut HeaderMap, origin: Option<&HeaderValue>, settings: &Settings) {
    let any = settings.cors_origins.iter().any(|o| o == "*");
    let allowed = match origin {
        _ if any => Some(HeaderValue::from_static("*")),
        Some(o)
            if settings
                .cors_origins
                .iter()
                .any(|c| c.as_bytes() == o.as_bytes()) =>
        {
            Some(o.clone())
        }
        _ => None,
    };
    if let Some(allowed) = allowed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(body::EXPOSED_HEADERS),
        );
    }
    if !any {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// `GET /v1/suggest`: parse, resolve the index, wait for its first load if needed, search,
/// answer.
async fn suggest(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let params = parse_suggest(raw.as_deref().unwrap_or(""))?;
    let (index, slot) = resolve_index(&app, params.index.as_deref())?;
    let loaded = ready(&index, &slot, app.settings.load_wait).await?;
    let searched = Instant::now();
    let (suggestions, truncated) = search(&loaded, &params)?;
    let search_ms = searched.elapsed().as_secs_f64() * 1e3;
    let response_id = app.ids.next();
    let body = SuggestBody {
        query: &params.query,
        index: &index,
        version: loaded.version,
        version_created: &loaded.created,
        version_age_seconds: loaded.age_seconds(),
        suggestions: &suggestions,
        truncated,
        took_us: started.elapsed().as_micros() as u64,
        response_id: &response_id,
        experiment: None,
        arm: None,
    };
    Ok(respond(&body, search_ms, &app.settings))
}

/// The index asked for, or the default one; 404 when not served here.
fn resolve_index(app: &App, requested: Option<&str>) -> Result<(String, Arc<Slot>), ApiError> {
    let serves = || app.registry.names();
    let index = match (requested, &app.settings.default_index) {
        (Some(index), _) => index.to_string(),
        (None, Some(default)) => default.clone(),
        (None, None) => app
            .registry
            .sole()
            .ok_or_else(|| ApiError::MissingIndex { serves: serves() })?,
    };
    match app.registry.get(&index) {
        Some(slot) => Ok((index, slot)),
        None => Err(ApiError::UnknownIndex {
            index,
            serves: serves(),
        }),
    }
}

/// The version an index serves, waiting (up to `wait`) for its first load.
async fn ready(index: &str, slot: &Slot, wait: Duration) -> Result<Arc<Loaded>, ApiError> {
    match slot.ready(wait).await {
        IndexState::Ready(loaded) => Ok(loaded),
        IndexState::Loading => Err(ApiError::Loading {
            index: index.to_string(),
        }),
        IndexState::Failed(detail) => Err(ApiError::LoadFailed {
            index: index.to_string(),
            detail,
        }),
    }
}

/// Searches the loaded version: the suggestions as their JSON array, and whether the engine's
/// budget cut the search short.
fn search(loaded: &Loaded, params: &SuggestParams) -> Result<(Box<RawValue>, bool), ApiError> {
    SEARCHER.with(|searcher| {
        let mut searcher = searcher.borrow_mut();
        let found = searcher.search(&loaded.stack, &params.query, &params.options)?;
        let items: Vec<SuggestionJson> = found.items.iter().map(SuggestionJson::new).collect();
        let json = serde_json::value::to_raw_value(&items).map_err(|e| ApiError::Internal {
            detail: e.to_string(),
        })?;
        Ok((json, found.truncated))
    })
}

/// The 200 answer: JSON, cacheable for `--cache-max-age`, with `Server-Timing` and the
/// version headers.
fn respond(body: &SuggestBody, search_ms: f64, settings: &Settings) -> Response {
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(
        "cache-control",
        format!("public, max-age={}", settings.cache_max_age),
    );
    set("server-timing", format!("search;dur={search_ms:.3}"));
    set(body::VERSION_HEADER, body.version.to_string());
    if let Some(age) = body.version_age_seconds {
        set(body::VERSION_AGE_HEADER, age.to_string());
    }
    json(serde_json::to_string(body).unwrap_or_default(), headers)
}

/// A 200 JSON answer with `headers`.
fn json(text: String, mut headers: HeaderMap) -> Response {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(body::JSON_CONTENT_TYPE),
    );
    (StatusCode::OK, headers, text).into_response()
}

/// The health body: what this server serves, each index's version and state.
#[derive(Serialize)]
struct HealthBody {
    status: &'static str,
    dir: String,
    serves: Vec<String>,
    indexes: Vec<HealthIndex>,
}

/// One index in the health body.
#[derive(Serialize)]
struct HealthIndex {
    index: String,
    /// `ready`, `loading` or `failed`.
    state: &'static str,
    version: Option<u64>,
    created: Option<String>,
    age_seconds: Option<u64>,
    bytes: Option<usize>,
    suggestions: Option<usize>,
    segments: Option<usize>,
    path: Option<String>,
    /// Why the latest load failed (the served version, if any, is the last good one).
    last_error: Option<String>,
}

/// `GET /v1/health` (never cached). `status` is `ok` when every index serves, else
/// `degraded`.
async fn health(State(app): State<Arc<App>>) -> Response {
    let indexes: Vec<HealthIndex> = app
        .registry
        .all()
        .into_iter()
        .map(|(index, slot)| health_index(index, &slot))
        .collect();
    let all_ready = indexes.iter().all(|i| i.state == "ready");
    let body = HealthBody {
        status: if all_ready { "ok" } else { "degraded" },
        dir: app.registry.dir().display().to_string(),
        serves: indexes.iter().map(|i| i.index.clone()).collect(),
        indexes,
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    json(serde_json::to_string(&body).unwrap_or_default(), headers)
}

/// The health entry of one index.
fn health_index(index: String, slot: &Slot) -> HealthIndex {
    let state = slot.state();
    let loaded = match &state {
        IndexState::Ready(l) => Some(l.clone()),
        _ => None,
    };
    HealthIndex {
        index,
        state: match state {
            IndexState::Ready(_) => "ready",
            IndexState::Loading => "loading",
            IndexState::Failed(_) => "failed",
        },
        version: loaded.as_ref().map(|l| l.version),
        created: loaded.as_ref().map(|l| l.created.clone()),
        age_seconds: loaded.as_ref().and_then(|l| l.age_seconds()),
        bytes: loaded.as_ref().map(|l| l.bytes),
        suggestions: loaded.as_ref().map(|l| l.stack.base().len()),
        segments: loaded.as_ref().map(|l| l.stack.segments().len()),
        path: loaded.as_ref().map(|l| l.path.display().to_string()),
        last_error: slot.last_error(),
    }
}

/// `GET /metrics`: Prometheus text exposition.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let states: Vec<_> = app
        .registry
        .all()
        .into_iter()
        .map(|(name, slot)| (name, slot.state()))
        .collect();
    let text = app.metrics.render(&states);
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// Everything else: a JSON 404.
async fn not_found(req: Request) -> ApiError {
    ApiError::NotFound {
        path: req.uri().path().to_string(),
    }
}

/// Answer ids: a random per-process prefix and a counter, unique without a random source per
/// request.
struct ResponseIds {
    prefix: u64,
    next: AtomicU64,
}

impl ResponseIds {
    fn new() -> ResponseIds {
        // std's RandomState is seeded from the OS's randomness for each process.
        let prefix = RandomState::new().hash_one(std::process::id());
        ResponseIds {
            prefix,
            next: AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}{n:016x}", self.prefix)
    }
}
