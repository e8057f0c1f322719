//! `POST /v1/events`, in named steps: read the body (at most [`MAX_BODY_BYTES`]), split it into
//! events (a JSON array or NDJSON), validate every one with the schema's own decoder (one bad
//! event rejects the whole request: nothing is partially accepted), stamp each with the server
//! time, an id, the experiment arm and the index version, and send them to the events queue as
//! one message. The queue's consumer (`shim.mjs`) writes them to R2 as minute files.

use edgesuggest_events::event::FIELDS;
use edgesuggest_events::ndjson::RawEvent;
use futures::StreamExt;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Env, Request, Response};

use crate::config::Config;
use crate::error::ApiError;
use crate::experiment;
use crate::{ids, json_response, now_ms, store};

/// Largest body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most events in one request.
pub const MAX_EVENTS: usize = 100;

/// Why a body of events is refused (a 400 or 413 through [`ApiError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsError {
    /// The body is larger than [`MAX_BODY_BYTES`].
    TooLarge { bytes: usize },
    /// More than [`MAX_EVENTS`] events.
    TooMany { events: usize },
    /// No event at all.
    Empty,
    /// The body is not UTF-8, or not a JSON array.
    Malformed { reason: String },
    /// Event `index` (0-based, in body order) breaks the schema.
    BadEvent { index: usize, reason: String },
}

/// The experiment, arm and index of a user key: `(experiment, arm, index)`.
pub type ArmOf<'a> = dyn Fn(&str) -> Option<(String, String, Option<String>)> + 'a;

/// What the server adds to every accepted event.
pub struct Stamp<'a> {
    /// Milliseconds since the epoch, now.
    pub received_ts: u64,
    /// This request's id: event ids are `<request id>-<n>`.
    pub request_id: &'a str,
    /// `(experiment, arm, index)` of a user key, when an experiment runs.
    pub arm_of: &'a ArmOf<'a>,
    /// The version this isolate serves of an index, if it holds one.
    pub version_of: &'a dyn Fn(&str) -> Option<u64>,
}

/// The handler: accepted events go to the queue as one NDJSON message; 202 with their count.
pub async fn events(req: &Request, env: &Env, config: &Config) -> Result<Response, ApiError> {
    let kv = crate::suggest::kv_store(env, config)?;
    let queue = events_queue(env, &config.events_queue).ok_or_else(|| ApiError::EventsOff {
        binding: config.events_queue.clone(),
    })?;
    let body = read_bounded(req).await?;
    let texts = split_events(&body)?;
    validate(&texts)?;
    let request_id = ids::random_id();
    let cookie = experiment::cookie_user(req);
    let running = experiment::current(&kv, config).await;
    let arm_of = |user: &str| {
        let running = running.as_ref()?;
        let key = cookie.as_deref().unwrap_or(user);
        let arm = running.assign(key);
        Some((
            running.experiment.clone(),
            arm.name.clone(),
            arm.index.clone(),
        ))
    };
    let stamp = Stamp {
        received_ts: now_ms() as u64,
        request_id: &request_id,
        arm_of: &arm_of,
        version_of: &store::serving_version,
    };
    let lines = stamp_all(&texts, &stamp)?;
    send(&queue, &lines).await?;
    let body = serde_json::json!({"accepted": texts.len(), "request_id": request_id});
    Ok(json_response(body.to_string())?.with_status(202))
}

#[wasm_bindgen]
extern "C" {
    /// A queue producer binding. Bound here rather than through the worker crate's `queue`
    /// feature, whose serde bridge for message bodies costs the module KBs to send one string.
    type EventsQueue;

    /// `queue.send(body)`: a promise settled once the queue has the message.
    #[wasm_bindgen(method, catch)]
    fn send(this: &EventsQueue, body: &str) -> Result<js_sys::Promise, JsValue>;
}

/// The queue binding called `name`, if the worker has one.
fn events_queue(env: &Env, name: &str) -> Option<EventsQueue> {
    let binding = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
    binding.is_object().then(|| binding.unchecked_into())
}

/// Sends one message; a refusal is a 503 (nothing was accepted).
async fn send(queue: &EventsQueue, body: &str) -> Result<(), ApiError> {
    let failed = |e: JsValue| ApiError::QueueFailed {
        detail: e.as_string().unwrap_or_else(|| format!("{e:?}")),
    };
    let promise = queue.send(body).map_err(failed)?;
    JsFuture::from(promise).await.map_err(failed)?;
    Ok(())
}

/// The body, refused as soon as it passes [`MAX_BODY_BYTES`] (by its `content-length`, or
/// while streaming when it has none) and as not UTF-8.
async fn read_bounded(req: &Request) -> Result<String, ApiError> {
    let declared = req.headers().get("content-length").ok().flatten();
    if let Some(bytes) = declared.and_then(|v| v.parse::<usize>().ok()) {
        if bytes > MAX_BODY_BYTES {
            return Err(EventsError::TooLarge { bytes }.into());
        }
    }
    let mut body = Vec::new();
    let mut stream = req.clone()?.stream()?;
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > MAX_BODY_BYTES {
            return Err(EventsError::TooLarge { bytes: body.len() }.into());
        }
    }
    String::from_utf8(body).map_err(|e| {
        EventsError::Malformed {
            reason: format!("the body is not UTF-8 ({e})"),
        }
        .into()
    })
}

/// The events of a body: the elements of a JSON array (a body starting with `[`), else the
/// non-empty lines (NDJSON, what `navigator.sendBeacon` sends as `text/plain`).
pub fn split_events(body: &str) -> Result<Vec<&str>, EventsError> {
    let texts: Vec<&str> = if body.trim_start().starts_with('[') {
        let items: Vec<&serde_json::value::RawValue> =
            serde_json::from_str(body).map_err(|e| EventsError::Malformed {
                reason: format!("not a JSON array of events ({e})"),
            })?;
        items.into_iter().map(|v| v.get()).collect()
    } else {
        body.lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty())
            .collect()
    };
    match texts.len() {
        0 => Err(EventsError::Empty),
        n if n > MAX_EVENTS => Err(EventsError::TooMany { events: n }),
        _ => Ok(texts),
    }
}

/// Every event must pass the schema's checks; the first that does not names the request's
/// fault.
pub fn validate(texts: &[&str]) -> Result<(), EventsError> {
    for (index, text) in texts.iter().enumerate() {
        let checked = RawEvent::parse(text).and_then(|raw| raw.view()?.validate());
        checked.map_err(|reason| EventsError::BadEvent { index, reason })?;
    }
    Ok(())
}

/// The events as stamped NDJSON, one line each.
pub fn stamp_all(texts: &[&str], stamp: &Stamp) -> Result<String, ApiError> {
    let mut out = String::with_capacity(texts.iter().map(|t| t.len() + 160).sum());
    for (n, text) in texts.iter().enumerate() {
        let event = stamp_one(text, n, stamp)?;
        out.push_str(&serde_json::to_string(&event)?);
        out.push('\n');
    }
    Ok(out)
}

/// One validated event with the server's fields: `received_ts` always; `event_id`, the
/// experiment and arm, the index and its version when the client sent none. Fields outside
/// the schema and nulls are dropped, so the stored line holds only what readers read.
fn stamp_one(text: &str, n: usize, stamp: &Stamp) -> Result<Map<String, Value>, ApiError> {
    let mut event: Map<String, Value> = serde_json::from_str(text)?;
    event.retain(|k, v| FIELDS.contains(&k.as_str()) && !v.is_null());
    event.insert("received_ts".into(), stamp.received_ts.into());
    fill(
        &mut event,
        "event_id",
        format!("{}-{n}", stamp.request_id).into(),
    );
    // Validated: `user` is a string.
    let user = event
        .get("user")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some((experiment, arm, index)) = (stamp.arm_of)(&user) {
        fill(&mut event, "experiment", experiment.into());
        fill(&mut event, "variant", arm.into());
        if let Some(index) = index {
            fill(&mut event, "index", index.into());
        }
    }
    let index = event
        .get("index")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(version) = index.and_then(|i| (stamp.version_of)(&i)) {
        fill(&mut event, "version", version.to_string().into());
    }
    Ok(event)
}

/// Sets `key` unless the client did.
fn fill(event: &mut Map<String, Value>, key: &str, value: Value) {
    event.entry(key).or_insert(value);
}

impl From<EventsError> for ApiError {
    fn from(e: EventsError) -> ApiError {
        ApiError::Events(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH: &str = r#"{"ts":1,"type":"search","user":"u1","q":"new york"}"#;

    #[test]
    fn arrays_and_ndjson_split_alike() {
        let array = format!("[{SEARCH}, {SEARCH}]");
        let ndjson = format!("{SEARCH}\r\n\n{SEARCH}\n");
        assert_eq!(split_events(&array).unwrap(), vec![SEARCH, SEARCH]);
        assert_eq!(split_events(&ndjson).unwrap(), vec![SEARCH, SEARCH]);
        assert_eq!(split_events(" \n"), Err(EventsError::Empty));
        assert_eq!(split_events("[]"), Err(EventsError::Empty));
        let many = format!("{SEARCH}\n").repeat(MAX_EVENTS + 1);
        assert_eq!(
            split_events(&many),
            Err(EventsError::TooMany {
                events: MAX_EVENTS + 1
            })
        );
        assert!(matches!(
            split_events("[{\"ts\":1"),
            Err(EventsError::Malformed { .. })
        ));
    }

    #[test]
    fn the_first_bad_event_is_named_by_its_index() {
        let bad = r#"{"ts":1,"type":"click","user":"u1","text":"x"}"#;
        let err = validate(&[SEARCH, bad, "{}"]).unwrap_err();
        match err {
            EventsError::BadEvent { index, reason } => {
                assert_eq!(index, 1);
                assert!(reason.contains("position"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(validate(&[SEARCH, SEARCH]).is_ok());
    }

    #[test]
    fn stamps_fill_what_the_client_left_out_and_drop_the_rest() {
        let arm_of = |user: &str| {
            assert_eq!(user, "u1");
            Some((
                "exp".to_string(),
                "B".to_string(),
                Some("cities".to_string()),
            ))
        };
        let version_of = |index: &str| (index == "cities").then_some(7);
        let stamp = Stamp {
            received_ts: 99,
            request_id: "r1",
            arm_of: &arm_of,
            version_of: &version_of,
        };
        let own = r#"{"ts":1,"type":"search","user":"u1","q":"x","variant":"A","junk":[1],"session":null}"#;
        let lines = stamp_all(&[SEARCH, own], &stamp).unwrap();
        let lines: Vec<Value> = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            serde_json::json!({"ts":1,"type":"search","user":"u1","q":"new york",
                "received_ts":99,"event_id":"r1-0","experiment":"exp","variant":"B",
                "index":"cities","version":"7"})
        );
        assert_eq!(lines[1]["variant"], "A");
        assert_eq!(lines[1]["event_id"], "r1-1");
        assert!(lines[1].get("junk").is_none() && lines[1].get("session").is_none());
    }
}
