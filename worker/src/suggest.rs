//! `GET /v1/suggest`, in named steps: parse the parameters, resolve the index, get it from L1
//! (loading it from KV when absent), take the answer from L2 or search, respond.

use std::cell::RefCell;

use edgesuggest::Searcher;
use edgesuggest_http::body::{SuggestBody, VERSION_AGE_HEADER, VERSION_HEADER};
use edgesuggest_json::SuggestionJson;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use worker::kv::KvStore;
use worker::{Cache, Context, Env, Request, Response};

use crate::config::Config;
use crate::error::ApiError;
use crate::params::{self, SuggestParams};
use crate::store::{self, Loaded};
use crate::{experiment, ids, json_response, now_ms};

thread_local! {
    /// One searcher per isolate: it reuses its buffers across queries.
    static SEARCHER: RefCell<Searcher> = RefCell::new(Searcher::new());
}

/// One search's answer, as L2 stores it (JSON) and the body embeds it. The suggestions stay
/// serialized: a cache hit passes them through without rebuilding each object.
#[derive(Serialize, Deserialize)]
struct Answer {
    /// The array of `edgesuggest_json::SuggestionJson` objects.
    suggestions: Box<RawValue>,
    /// True when the engine's work budget cut the search short.
    truncated: bool,
}

impl Answer {
    /// No suggestions: a holdout arm's answer.
    fn empty() -> Answer {
        Answer {
            suggestions: RawValue::from_string("[]".to_string()).unwrap_or_default(),
            truncated: false,
        }
    }
}

/// Where the answer came from and what each step cost, for `Server-Timing`.
struct Timing {
    kv_ms: f64,
    /// Of `kv_ms`, checking the fetched segments.
    check_ms: f64,
    load_ms: f64,
    search_ms: f64,
    /// `hit`, `miss` or `off`.
    cache: &'static str,
    cache_ms: f64,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            kv_ms: 0.0,
            check_ms: 0.0,
            load_ms: 0.0,
            search_ms: 0.0,
            cache: "off",
            cache_ms: 0.0,
        }
    }
}

impl Timing {
    /// The `Server-Timing` header value.
    fn header(&self) -> String {
        format!(
            "kv;dur={}, check;dur={}, load;dur={}, search;dur={}, cache;desc={};dur={}",
            Millis(self.kv_ms),
            Millis(self.check_ms),
            Millis(self.load_ms),
            Millis(self.search_ms),
            self.cache,
            Millis(self.cache_ms)
        )
    }
}

/// A duration in milliseconds shown to the microsecond (`1.250`), as `{:.3}` would show a
/// non-negative one, from whole microseconds: `core`'s float formatting (its tables and
/// algorithms) would cost the module about 15 KB for this one header. Negative and NaN
/// durations, which a clock going back could produce, show as `0.000`.
struct Millis(f64);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Saturating: NaN and negatives become 0, absurdly large values u64::MAX.
        let micros = (self.0 * 1000.0).round() as u64;
        write!(f, "{}.{:03}", micros / 1000, micros % 1000)
    }
}

/// The suggest handler.
pub async fn suggest(
    req: &Request,
    raw_query: &str,
    env: &Env,
    ctx: &Context,
    config: &Config,
) -> Result<Response, ApiError> {
    let started = now_ms();
    let mut params = params::parse_suggest(raw_query)?;
    let kv = kv_store(env, config)?;
    let assigned = assign_arm(req, &mut params, &kv, config).await?;
    let index = resolve_index(params.index.as_deref(), config)?;
    let got = store::get_or_load(&kv, &index, config).await?;
    store::maybe_refresh(ctx, &kv, &index, config);
    let loaded = got.loaded;
    let (answer, mut timing) = match &assigned {
        Some(a) if a.holdout => (Answer::empty(), Timing::default()),
        _ => cached_or_search(&params, &index, &loaded, ctx, config).await?,
    };
    // KV time is only this request's when it waited for the load.
    if got.load_ms > 0.0 {
        (timing.kv_ms, timing.check_ms) = (loaded.kv_ms, loaded.check_ms);
    }
    timing.load_ms = got.load_ms;
    let response_id = ids::random_id();
    let body = SuggestBody {
        query: &params.query,
        index: &index,
        version: loaded.version,
        version_created: &loaded.created.text,
        version_age_seconds: loaded.created.age_seconds(now_ms()),
        suggestions: &answer.suggestions,
        truncated: answer.truncated,
        took_us: ((now_ms() - started) * 1000.0).max(0.0) as u64,
        response_id: &response_id,
        experiment: assigned.as_ref().map(|a| a.experiment.as_str()),
        arm: assigned.as_ref().map(|a| a.arm.as_str()),
    };
    respond(&body, &timing, assigned.as_ref(), config)
}

/// The arm a request is in, when an experiment runs and applies to it.
pub struct Assigned {
    experiment: String,
    arm: String,
    holdout: bool,
    /// The new user's key, to set as a cookie (the request had neither `uid` nor cookie).
    new_key: Option<String>,
    https: bool,
}

/// Puts the request in its arm: the arm's index and options replace the request's. The user
/// key is `uid`, else the cookie, else a new key the answer sets as the cookie.
async fn assign_arm(
    req: &Request,
    params: &mut SuggestParams,
    kv: &KvStore,
    config: &Config,
) -> Result<Option<Assigned>, ApiError> {
    let Some(running) = experiment::current(kv, config).await else {
        return Ok(None);
    };
    let known = params.uid.clone().or_else(|| experiment::cookie_user(req));
    let key = known.clone().unwrap_or_else(ids::random_id);
    let Some(arm) = experiment::select(&running, params.index.as_deref(), &key) else {
        return Ok(None);
    };
    if let Some(index) = &arm.index {
        params.index = Some(index.clone());
    }
    params::arm_options(arm)?.apply(&mut params.options);
    let https = req.inner().url().starts_with("https:");
    Ok(Some(Assigned {
        experiment: running.experiment.clone(),
        arm: arm.name.clone(),
        holdout: arm.holdout,
        new_key: known.is_none().then_some(key),
        https,
    }))
}

/// The index asked for, or the first one served when none was; 404 when not served here.
fn resolve_index(requested: Option<&str>, config: &Config) -> Result<String, ApiError> {
    let index = match requested {
        Some(index) => index.to_string(),
        None => config.indexes.first().cloned().unwrap_or_default(),
    };
    if !config.indexes.contains(&index) {
        return Err(ApiError::UnknownIndex {
            index,
            serves: config.indexes.clone(),
        });
    }
    Ok(index)
}

/// The KV namespace holding manifests and chunks.
pub fn kv_store(env: &Env, config: &Config) -> Result<KvStore, ApiError> {
    env.kv(&config.kv_binding)
        .map_err(|e| ApiError::KvUnavailable {
            binding: config.kv_binding.clone(),
            detail: e.to_string(),
        })
}

/// The answer from L2 when it holds one, else a search (stored in L2 in the background),
/// with the time each took.
async fn cached_or_search(
    params: &SuggestParams,
    index: &str,
    loaded: &Loaded,
    ctx: &Context,
    config: &Config,
) -> Result<(Answer, Timing), ApiError> {
    let key = l2_key(params, index, loaded.version, config);
    let cache_started = now_ms();
    let cached = match &key {
        Some(key) => read_l2(key).await?,
        None => None,
    };
    let cache_ms = now_ms() - cache_started;
    let search_started = now_ms();
    let (answer, cache) = match (cached, key) {
        (Some(answer), _) => {
            store::with_stats(|s| s.l2_hits += 1);
            (answer, "hit")
        }
        (None, Some(key)) => {
            store::with_stats(|s| s.l2_misses += 1);
            let answer = search(loaded, params)?;
            write_l2(ctx, key, &answer, config)?;
            (answer, "miss")
        }
        (None, None) => (search(loaded, params)?, "off"),
    };
    let search_ms = now_ms() - search_started;
    let timing = Timing {
        search_ms,
        cache,
        cache_ms,
        ..Timing::default()
    };
    Ok((answer, timing))
}

/// The L2 (Cache API) key: index, version, options and the normalized query; `None` when
/// `CACHE_MAX_AGE=0` turns L2 off. With the index in isolate memory a search costs
/// microseconds, less than a Cache API round trip. The key holds the normalized query, not
/// the raw one: the same answer serves every spelling that normalizes alike, and the
/// response echoes each request's own raw query.
fn l2_key(params: &SuggestParams, index: &str, version: u64, config: &Config) -> Option<String> {
    (config.cache_max_age > 0).then(|| {
        format!(
            "https://edgesuggest.cache/v1/suggest?index={index}&v={version}&{}&q={}",
            encode_component(&params.options_key()),
            encode_component(&edgesuggest::normalize_query(&params.query))
        )
    })
}

/// The answer stored in L2 under `key`, if any. An entry that does not read back as an
/// [`Answer`] (say, one written by an older deploy in another shape) counts as absent: the
/// fresh answer then overwrites it.
async fn read_l2(key: &str) -> Result<Option<Answer>, ApiError> {
    let Some(mut hit) = Cache::default().get(key, false).await.ok().flatten() else {
        return Ok(None);
    };
    // Read as text rather than `from_slice`: every other JSON reader here reads text, and
    // a second reader type would duplicate serde_json's parser in the module.
    let bytes = hit.bytes().await?;
    let text = String::from_utf8(bytes).ok();
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Stores `answer` in L2 under `key` once this request has been answered.
fn write_l2(ctx: &Context, key: String, answer: &Answer, config: &Config) -> Result<(), ApiError> {
    let mut entry = json_response(serde_json::to_string(answer)?)?;
    entry
        .headers_mut()
        .set("cache-control", &public_max_age(config))?;
    ctx.wait_until(async move {
        let _ = Cache::default().put(key.as_str(), entry).await;
    });
    Ok(())
}

/// Searches the loaded version's stack.
fn search(loaded: &Loaded, params: &SuggestParams) -> Result<Answer, ApiError> {
    SEARCHER.with(|searcher| {
        let mut searcher = searcher.borrow_mut();
        let found = searcher.search(&loaded.stack, &params.query, &params.options)?;
        let items: Vec<SuggestionJson> = found.items.iter().map(SuggestionJson::new).collect();
        Ok(Answer {
            suggestions: serde_json::value::to_raw_value(&items)?,
            truncated: found.truncated,
        })
    })
}

/// The 200 answer: the body as JSON, cacheable for `CACHE_MAX_AGE`, with `Server-Timing` and
/// the version headers.
fn respond(
    body: &SuggestBody,
    timing: &Timing,
    assigned: Option<&Assigned>,
    config: &Config,
) -> Result<Response, ApiError> {
    let mut response = json_response(serde_json::to_string(body)?)?;
    let headers = response.headers_mut();
    // An answer that depends on the user's arm must not be shared by caches between users.
    let cache_control = match assigned {
        Some(_) => format!("private, max-age={}", config.cache_max_age),
        None => public_max_age(config),
    };
    headers.set("cache-control", &cache_control)?;
    headers.set("server-timing", &timing.header())?;
    headers.set(VERSION_HEADER, &body.version.to_string())?;
    if let Some(age) = body.version_age_seconds {
        headers.set(VERSION_AGE_HEADER, &age.to_string())?;
    }
    if let Some(Assigned {
        new_key: Some(key),
        https,
        ..
    }) = assigned
    {
        headers.set("set-cookie", &experiment::set_cookie(key, *https))?;
    }
    Ok(response)
}

/// `Cache-Control` of suggest answers (and of their L2 entries).
fn public_max_age(config: &Config) -> String {
    format!("public, max-age={}", config.cache_max_age)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_round_trips_through_its_l2_form() {
        let answer = Answer {
            suggestions: RawValue::from_string(r#"[{"text":"New York","score":9}]"#.into())
                .unwrap(),
            truncated: true,
        };
        let stored = serde_json::to_string(&answer).unwrap();
        assert_eq!(
            stored,
            r#"{"suggestions":[{"text":"New York","score":9}],"truncated":true}"#
        );
        let back: Answer = serde_json::from_slice(stored.as_bytes()).unwrap();
        assert_eq!(back.suggestions.get(), answer.suggestions.get());
        assert!(back.truncated);
        // The fragment an older deploy stored is not an answer: it reads as a miss.
        let old = br#""suggestions":[],"truncated":false"#;
        assert!(serde_json::from_slice::<Answer>(old).is_err());
    }

    #[test]
    fn the_body_keeps_its_field_order() {
        let suggestions = RawValue::from_string("[]".into()).unwrap();
        let body = SuggestBody {
            query: "Mün \"x\"",
            index: "cities",
            version: 3,
            version_created: "2026-12-01T00:00:00Z",
            version_age_seconds: Some(41),
            suggestions: &suggestions,
            truncated: false,
            took_us: 42,
            response_id: "r1",
            experiment: None,
            arm: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"query":"Mün \"x\"","index":"cities","version":3,"version_created":"2026-12-01T00:00:00Z","version_age_seconds":41,"suggestions":[],"truncated":false,"took_us":42,"response_id":"r1","experiment":null,"arm":null}"#
        );
    }

    #[test]
    fn cache_keys_encode_everything_but_unreserved_characters() {
        assert_eq!(encode_component("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(encode_component("k=5&q=ü /"), "k%3D5%26q%3D%C3%BC%20%2F");
    }

    #[test]
    fn server_timing_lists_every_step() {
        let timing = Timing {
            kv_ms: 1.0,
            check_ms: 0.75,
            load_ms: 2.5,
            search_ms: 0.0126,
            cache: "miss",
            cache_ms: 0.25,
        };
        assert_eq!(
            timing.header(),
            "kv;dur=1.000, check;dur=0.750, load;dur=2.500, search;dur=0.013, \
             cache;desc=miss;dur=0.250"
        );
    }

    #[test]
    fn millis_show_like_three_decimals() {
        for ms in [
            0.0,
            0.0004,
            0.0006,
            0.001,
            0.5,
            1.25,
            12.3456,
            999.9994,
            123_456.789,
        ] {
            assert_eq!(Millis(ms).to_string(), format!("{ms:.3}"), "{ms}");
        }
        assert_eq!(Millis(-2.0).to_string(), "0.000");
        assert_eq!(Millis(f64::NAN).to_string(), "0.000");
    }
}
