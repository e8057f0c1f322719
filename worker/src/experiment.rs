//! The running A/B experiment (`docs/EXPERIMENTS.md`): read from KV (`experiment`, written by
//! `edgesuggest experiment`), checked once, refreshed at most every `REFRESH_SECONDS`; a bad
//! new configuration keeps the last good one. And the user key a request is assigned by.

use std::cell::RefCell;
use std::rc::Rc;

use edgesuggest_events::{Arm, Experiment};
use worker::kv::KvStore;
use worker::Request;

use crate::config::Config;
use crate::now_ms;
use crate::params;

/// The KV key holding the running experiment (absent: none runs).
pub const EXPERIMENT_KEY: &str = "experiment";
/// The cookie holding a user's key.
pub const COOKIE: &str = "es_uid";
/// The cookie's lifetime: a year, the longest an experiment should run.
const COOKIE_MAX_AGE: u32 = 365 * 86_400;
/// Longest user key accepted from the `uid` parameter or the cookie, in bytes.
pub const MAX_USER_KEY_BYTES: usize = 128;

/// What this isolate knows of the experiment.
#[derive(Default)]
struct State {
    /// When KV was last read.
    fetched_ms: f64,
    /// Whether a read has answered yet (the experiment, or that none runs, is known).
    known: bool,
    experiment: Option<Rc<Experiment>>,
    /// Why the configuration in KV was refused, while it is.
    error: Option<String>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// The running experiment, reading KV when the last read is older than the refresh interval.
pub async fn current(kv: &KvStore, config: &Config) -> Option<Rc<Experiment>> {
    let now = now_ms();
    let due = STATE.with(|s| {
        let mut s = s.borrow_mut();
        if !s.known {
            // Until a first read has answered, every request reads: none may be served as if
            // no experiment ran while one does.
            return true;
        }
        let due = now - s.fetched_ms >= config.refresh_ms;
        if due {
            // Concurrent requests do not read KV again while this refresh is in flight.
            s.fetched_ms = now;
        }
        due
    });
    if due {
        let read = kv.get(EXPERIMENT_KEY).text().await;
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            if !s.known {
                s.fetched_ms = now;
            }
            apply_read(&mut s, read, config);
        });
    }
    STATE.with(|s| s.borrow().experiment.clone())
}

/// Takes a KV read into the state: an absent key ends the experiment, a bad one is refused
/// and logged while the last good one runs on.
fn apply_read<E: std::fmt::Display>(
    state: &mut State,
    read: Result<Option<String>, E>,
    config: &Config,
) {
    match read
        .map_err(|e| e.to_string())
        .and_then(|text| check(text, config))
    {
        Ok(experiment) => {
            state.experiment = experiment.map(Rc::new);
            state.error = None;
            state.known = true;
        }
        Err(error) => {
            worker::console_log!(
                "{}",
                serde_json::json!({"event": "experiment_refused", "message": error})
            );
            state.error = Some(error);
            state.known = true;
        }
    }
}

/// Parses the configuration and checks what only the worker knows: every arm's index is
/// served here and its options pass the suggest parameter parser.
pub fn check(text: Option<String>, config: &Config) -> Result<Option<Experiment>, String> {
    let Some(text) = text else { return Ok(None) };
    let experiment = Experiment::parse(&text)?;
    for arm in &experiment.arms {
        if let Some(index) = &arm.index {
            if !config.indexes.contains(index) {
                return Err(format!(
                    "arm {:?} names index {index:?}, which this worker does not serve ({})",
                    arm.name,
                    config.indexes.join(", ")
                ));
            }
        }
        params::arm_options(arm).map_err(|e| format!("arm {:?}: {}", arm.name, e.message))?;
    }
    Ok(Some(experiment))
}

/// The experiment's id and the refusal of the configuration in KV, for `/v1/health`.
pub fn status() -> (Option<String>, Option<String>) {
    STATE.with(|s| {
        let s = s.borrow();
        let id = s.experiment.as_ref().map(|e| e.experiment.clone());
        (id, s.error.clone())
    })
}

/// The arm a request is in: when an experiment runs and the request names no index or the
/// index of one of its arms.
pub fn select<'e>(experiment: &'e Experiment, index: Option<&str>, key: &str) -> Option<&'e Arm> {
    let applies = match index {
        None => true,
        Some(index) => experiment
            .arms
            .iter()
            .any(|a| a.index.as_deref() == Some(index)),
    };
    applies.then(|| experiment.assign(key))
}

/// The user key in the request's `es_uid` cookie, if it holds a valid one.
pub fn cookie_user(req: &Request) -> Option<String> {
    let header = req.headers().get("cookie").ok().flatten()?;
    cookie_value(&header)
}

/// The value of `es_uid` in a `Cookie` header.
pub fn cookie_value(header: &str) -> Option<String> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim_matches('"').to_string())
        .filter(|v| valid_key(v))
}

/// A user key: 1–128 bytes of visible ASCII other than `;`, `,`, `"` and `\` (safe in a
/// cookie and a log).
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_USER_KEY_BYTES
        && key
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'))
}

/// The `Set-Cookie` value giving a new user their key (`Secure` on HTTPS).
pub fn set_cookie(key: &str, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{COOKIE}={key}; Path=/; Max-Age={COOKIE_MAX_AGE}; SameSite=Lax; HttpOnly{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_checked() {
        assert_eq!(
            cookie_value("a=1; es_uid=k-42; b=2").as_deref(),
            Some("k-42")
        );
        assert_eq!(cookie_value("es_uid=\"q\"").as_deref(), Some("q"));
        assert_eq!(cookie_value("xes_uid=1; es_uidx=2"), None);
        assert_eq!(cookie_value("es_uid="), None);
        assert_eq!(cookie_value(&format!("es_uid={}", "x".repeat(129))), None);
        assert!(set_cookie("k", true).ends_with("HttpOnly; Secure"));
        assert!(!set_cookie("k", false).contains("Secure"));
    }

    #[test]
    fn only_requests_for_the_default_or_an_arm_index_are_in_the_experiment() {
        let e = Experiment::parse(
            r#"{"experiment":"x","arms":[{"name":"A","index":"a","weight":1},{"name":"B","index":"b","weight":1}]}"#,
        )
        .unwrap();
        assert!(select(&e, None, "u").is_some());
        assert!(select(&e, Some("b"), "u").is_some());
        assert!(select(&e, Some("other"), "u").is_none());
    }
}
