//! The edgesuggest Cloudflare Worker: HTTP, KV, caching and reload policy around the engine.
//! No search logic lives here.
//!
//! - `GET /v1/suggest?q=…&k=…&index=…` → suggestions as JSON
//! - `GET /v1/health` → loaded indexes, versions, bytes held, cache and KV counters
//! - `GET /v1/ping` → `ok` (a trivial route, the baseline for benchmarks)
//! - `OPTIONS *` → CORS preflight

mod config;
mod error;
mod l1;
pub mod params;
mod store;

use std::cell::RefCell;

use edgesuggest::Searcher;
use serde::Serialize;
use worker::{event, Cache, Context, Env, Headers, Method, Request, Response, Result};

use config::Config;
use error::LoadError;
use store::Loaded;

thread_local! {
    static SEARCHER: RefCell<Searcher> = RefCell::new(Searcher::new());
    /// Settings are fixed for the life of an isolate: read `[vars]` once, not per request.
    static CONFIG: std::cell::OnceCell<std::rc::Rc<Config>> = const { std::cell::OnceCell::new() };
}

/// Milliseconds since the epoch. Coarse in production Workers (timers advance only on I/O),
/// precise in local workerd.
pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

fn json_response(status: u16, body: &impl Serialize) -> Result<Response> {
    let text = serde_json::to_string(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    Ok(Response::ok(text)?
        .with_status(status)
        .with_headers(headers))
}

fn error_response(status: u16, code: &str, message: &str) -> Result<Response> {
    let mut response = json_response(
        status,
        &ErrorBody {
            error: ErrorDetail { code, message },
        },
    )?;
    response.headers_mut().set("cache-control", "no-store")?;
    if status == 503 {
        response.headers_mut().set("retry-after", "5")?;
    }
    Ok(response)
}

fn load_error_response(e: &LoadError) -> Result<Response> {
    error_response(503, e.code(), &e.message())
}

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let config = CONFIG.with(|c| {
        c.get_or_init(|| std::rc::Rc::new(Config::from_env(&env)))
            .clone()
    });
    let origin = req.headers().get("origin").ok().flatten();
    let response = match route(&req, &env, &ctx, &config).await {
        Ok(r) => r,
        Err(e) => {
            worker::console_log!(
                "{}",
                serde_json::json!({"event": "internal_error", "message": e.to_string()})
            );
            error_response(500, "internal", "internal error; see the worker logs")?
        }
    };
    with_cors(response, origin.as_deref(), &config)
}

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
        headers.set("access-control-expose-headers", "server-timing")?;
    }
    if !any {
        headers.append("vary", "Origin")?;
    }
    Ok(response)
}

async fn route(req: &Request, env: &Env, ctx: &Context, config: &Config) -> Result<Response> {
    let url = req.url()?;
    let method = req.method();
    if method == Method::Options {
        let mut r = Response::empty()?.with_status(204);
        let h = r.headers_mut();
        h.set("access-control-allow-methods", "GET, OPTIONS")?;
        h.set("access-control-allow-headers", "content-type")?;
        h.set("access-control-max-age", "86400")?;
        return Ok(r);
    }
    if method != Method::Get && method != Method::Head {
        return error_response(405, "method_not_allowed", "only GET and OPTIONS are served");
    }
    match url.path() {
        "/v1/suggest" => suggest(url.query().unwrap_or(""), env, ctx, config).await,
        "/v1/health" => health(config),
        "/v1/ping" => Response::ok("ok"),
        path => error_response(
            404,
            "not_found",
            &format!("no route {path}; try /v1/suggest?q=new or /v1/health"),
        ),
    }
}

async fn suggest(raw_query: &str, env: &Env, ctx: &Context, config: &Config) -> Result<Response> {
    let started = now_ms();
    let params = match params::parse_suggest(raw_query) {
        Ok(p) => p,
        Err(e) => return error_response(400, e.code, &e.message),
    };
    let index = params
        .index
        .clone()
        .unwrap_or_else(|| config.indexes.first().cloned().unwrap_or_default());
    if !config.indexes.contains(&index) {
        let message = format!(
            "unknown index `{index}`; this worker serves: {}",
            config.indexes.join(", ")
        );
        return error_response(404, "unknown_index", &message);
    }
    let kv = match env.kv(&config.kv_binding) {
        Ok(kv) => kv,
        Err(e) => {
            let message = format!("KV binding `{}` is not available: {e}", config.kv_binding);
            return error_response(503, "kv_unavailable", &message);
        }
    };
    let got = match store::get_or_load(&kv, &index, config).await {
        Ok(got) => got,
        Err(e) => return load_error_response(&e),
    };
    store::maybe_refresh(ctx, &kv, &index, config);
    let loaded = got.loaded;
    // KV time is only this request's when it waited for the load.
    let kv_ms = if got.load_ms > 0.0 { loaded.kv_ms } else { 0.0 };

    // L2: the Cache API, keyed by index, version, normalized query and k. CACHE_MAX_AGE=0
    // turns it off: with the index in isolate memory a search costs microseconds, less than a
    // Cache API round trip. The cache holds only the suggestions array: the same normalized
    // query can come from different raw queries, and the response echoes the raw one.
    let l2_key = (config.cache_max_age > 0).then(|| {
        format!(
            "https://edgesuggest.cache/v1/suggest?index={index}&v={}&{}&q={}",
            loaded.version,
            encode_component(&params.options_key()),
            encode_component(&edgesuggest::normalize_query(&params.query))
        )
    });
    let cache_started = now_ms();
    let cached = match &l2_key {
        Some(key) => cached_suggestions(key).await?,
        None => None,
    };
    let cache_ms = now_ms() - cache_started;
    let search_started = now_ms();
    let (suggestions_json, cache_desc) = match (cached, l2_key) {
        (Some(json), _) => {
            store::with_stats(|s| s.l2_hits += 1);
            (json, "hit")
        }
        (None, Some(key)) => {
            store::with_stats(|s| s.l2_misses += 1);
            let json = search_suggestions(&loaded, &params)?;
            let mut entry = Response::ok(json.clone())?;
            entry.headers_mut().set(
                "cache-control",
                &format!("public, max-age={}", config.cache_max_age),
            )?;
            ctx.wait_until(async move {
                let _ = Cache::default().put(key.as_str(), entry).await;
            });
            (json, "miss")
        }
        (None, None) => (search_suggestions(&loaded, &params)?, "off"),
    };
    let search_ms = now_ms() - search_started;
    let body = format!(
        "{{\"query\":{},\"index\":{},\"version\":{},{suggestions_json},\"took_us\":{}}}",
        serde_json::to_string(&params.query).unwrap_or_default(),
        serde_json::to_string(&index).unwrap_or_default(),
        loaded.version,
        ((now_ms() - started) * 1000.0).max(0.0) as u64
    );
    let mut response = Response::ok(body)?;
    let h = response.headers_mut();
    h.set("content-type", "application/json; charset=utf-8")?;
    h.set(
        "cache-control",
        &format!("public, max-age={}", config.cache_max_age),
    )?;
    h.set(
        "server-timing",
        &format!(
            "kv;dur={kv_ms:.3}, load;dur={:.3}, search;dur={search_ms:.3}, \
             cache;desc={cache_desc};dur={cache_ms:.3}",
            got.load_ms
        ),
    )?;
    Ok(response)
}

/// The suggestions array stored in L2 under `key`, if any.
async fn cached_suggestions(key: &str) -> Result<Option<String>> {
    let Some(mut hit) = Cache::default().get(key, false).await.ok().flatten() else {
        return Ok(None);
    };
    let bytes = hit.bytes().await?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| worker::Error::RustError("cached body is not UTF-8".into()))
}

/// The answer as a JSON object body fragment: `"suggestions":[...],"truncated":bool`.
fn search_suggestions(loaded: &Loaded, params: &params::SuggestParams) -> Result<String> {
    SEARCHER.with(|searcher| {
        let mut searcher = searcher.borrow_mut();
        let found = searcher
            .search(&loaded.segment, &params.query, &params.options)
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        let items = edgesuggest_json::suggestions_json(&found.items);
        Ok(format!(
            "\"suggestions\":{items},\"truncated\":{}",
            found.truncated
        ))
    })
}

#[derive(Serialize)]
struct HealthIndex {
    index: String,
    version: u64,
    bytes: usize,
    suggestions: usize,
}

fn health(config: &Config) -> Result<Response> {
    let (loaded, held) = store::loaded_summary();
    let indexes: Vec<HealthIndex> = loaded
        .iter()
        .map(|l| HealthIndex {
            index: l.index.clone(),
            version: l.version,
            bytes: l.bytes,
            suggestions: l.segment.len(),
        })
        .collect();
    let stats = store::with_stats(|s| serde_json::to_value(&*s))
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut r = json_response(
        200,
        &serde_json::json!({
            "status": "ok",
            "serves": config.indexes,
            "loaded": indexes,
            "bytes_held": held,
            "memory_budget_bytes": config.memory_budget_bytes,
            "refresh_seconds": config.refresh_ms / 1000.0,
            "stats": stats,
        }),
    )?;
    r.headers_mut().set("cache-control", "no-store")?;
    Ok(r)
}

/// Percent-encodes everything but unreserved characters (for cache keys).
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
