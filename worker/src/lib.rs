//! The edgesuggest Cloudflare Worker: HTTP, KV, caching and reload policy around the engine.
//! No search logic lives here.
//!
//! - `GET /v1/suggest?q=…&k=…&index=…` → suggestions as JSON
//! - `GET /v1/health` → loaded indexes, versions, bytes held, cache and KV counters
//! - `GET /v1/ping` → `ok` (a trivial route, the baseline for benchmarks)
//! - `POST /v1/events` → events (`docs/EVENTS.md`) validated, stamped and queued; the queue's
//!   consumer in `shim.mjs` writes them to R2 as minute files
//! - `OPTIONS *` → CORS preflight
//!
//! Handlers return `Result<Response, ApiError>`; [`error::ApiError`] alone decides the status
//! and body of a failure. See `worker/README.md` for settings, build and layout.

mod config;
mod digest;
mod error;
mod events;
mod experiment;
mod health;
mod ids;
mod l1;
/// The `/v1/suggest` parameter parser, shared with the native server.
pub use edgesuggest_http::params;
mod store;
mod suggest;

use std::cell::OnceCell;
use std::rc::Rc;

use edgesuggest_http::body;
use worker::{event, Context, Env, Headers, Method, Request, Response, Result};

use config::Config;
use error::ApiError;

thread_local! {
    /// Settings are fixed for the life of an isolate: read `[vars]` once, not per request.
    static CONFIG: OnceCell<Rc<Config>> = const { OnceCell::new() };
}

/// Milliseconds since the epoch. Coarse in production Workers (timers advance only on I/O),
/// precise in local workerd. JavaScript's clock: call it only from code that runs in a worker.
pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// This isolate's settings, read from `env` on first use.
fn config(env: &Env) -> Rc<Config> {
    CONFIG.with(|c| c.get_or_init(|| Rc::new(Config::from_env(env))).clone())
}

/// A 200 response with the JSON `text` as its body.
pub(crate) fn json_response(text: String) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", edgesuggest_http::body::JSON_CONTENT_TYPE)?;
    Ok(Response::ok(text)?.with_headers(headers))
}

/// The Worker's entry point: route, turn a failure into its answer, add CORS headers.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let config = config(&env);
    let origin = req.headers().get("origin").ok().flatten();
    let response = match route(&req, &env, &ctx, &config).await {
        Ok(response) => response,
        Err(e) => e.into_response()?,
    };
    with_cors(response, origin.as_deref(), &config)
}

/// Dispatches on method and path.
async fn route(
    req: &Request,
    env: &Env,
    ctx: &Context,
    config: &Config,
) -> std::result::Result<Response, ApiError> {
    let method = req.method();
    if method == Method::Options {
        return Ok(preflight()?);
    }
    let path = req.path();
    if method == Method::Post && path == "/v1/events" {
        return events::events(req, env, config).await;
    }
    if method != Method::Get && method != Method::Head {
        return Err(ApiError::MethodNotAllowed);
    }
    // The worker crate's path, and the query cut from the request's URL string: parsing it
    // with `Request::url` links the url crate with IDNA and its Unicode tables (190 KB of
    // wasm, 90 KB gzipped) to read two fields of a URL the runtime already parsed and
    // serialized.
    match path.as_str() {
        "/v1/suggest" => {
            let query = raw_query(&req.inner().url());
            suggest::suggest(req, &query, env, ctx, config).await
        }
        "/v1/health" => health::health(config),
        "/v1/ping" => Ok(Response::ok("ok")?),
        "/v1/events" => Err(ApiError::MethodNotAllowed),
        path => Err(ApiError::NotFound {
            path: path.to_string(),
        }),
    }
}

/// The query of a serialized URL (as `Request.url` gives it), as `url::Url::query` reads it:
/// between the first `?` and the fragment, or empty. Serialization (the WHATWG URL standard)
/// percent-encodes `#` everywhere before the fragment and `?` everywhere before the query, so
/// the first `#` starts the fragment and the first `?` before it starts the query.
fn raw_query(url: &str) -> String {
    let before_fragment = url.split_once('#').map_or(url, |(head, _)| head);
    before_fragment
        .split_once('?')
        .map_or("", |(_, query)| query)
        .to_string()
}

/// The answer to a CORS preflight (the origin header is added by [`with_cors`]).
fn preflight() -> Result<Response> {
    let mut r = Response::empty()?.with_status(204);
    let h = r.headers_mut();
    h.set("access-control-allow-methods", body::PREFLIGHT_METHODS)?;
    h.set("access-control-allow-headers", body::PREFLIGHT_HEADERS)?;
    h.set("access-control-max-age", body::PREFLIGHT_MAX_AGE)?;
    Ok(r)
}

/// Adds the CORS headers every answer carries, errors included.
fn with_cors(mut response: Response, origin: Option<&str>, config: &Config) -> Result<Response> {
    let any = config.cors_origins.iter().any(|o| o == "*");
    let allowed = match origin {
        _ if any => Some("*"),
        Some(o) if config.cors_origins.iter().any(|c| c == o) => Some(o),
        _ => None,
    };
    let headers = response.headers_mut();
    if let Some(allowed) = allowed {
        headers.set("access-control-allow-origin", allowed)?;
        headers.set("access-control-expose-headers", body::EXPOSED_HEADERS)?;
    }
    if !any {
        headers.append("vary", "Origin")?;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::raw_query;

    #[test]
    fn the_query_is_cut_from_the_serialized_url() {
        let cases = [
            ("http://127.0.0.1:8787/v1/suggest?q=new&k=3", "q=new&k=3"),
            ("https://x.example/v1/suggest?q=a%3Fb#frag?x", "q=a%3Fb"),
            ("https://x.example/v1/suggest?", ""),
            ("https://x.example/v1/suggest", ""),
            ("https://x.example/v1/suggest#f?q=x", ""),
            ("https://x.example/p%3F?q=%23", "q=%23"),
        ];
        for (url, want) in cases {
            assert_eq!(raw_query(url), want, "{url}");
        }
    }
}
