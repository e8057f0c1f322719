//! `GET /v1/health`: what this isolate serves and holds, and its counters.

use serde::Serialize;
use worker::Response;

use crate::config::Config;
use crate::error::ApiError;
use crate::json_response;
use crate::l1::{Held, Part, Stats};
use crate::{now_ms, store};

/// The health body. Fields (here and in [`HealthIndex`]) in alphabetical order: the order
/// this body has always had, so scripts diffing it see no change.
#[derive(Serialize)]
struct HealthBody<'a> {
    bytes_held: usize,
    /// The running experiment's id, and why the configuration in KV is refused, if it is.
    experiment: Option<String>,
    experiment_error: Option<String>,
    loaded: Vec<HealthIndex<'a>>,
    memory_budget_bytes: u64,
    refresh_seconds: f64,
    serves: &'a [String],
    stats: Stats,
    status: &'static str,
    wasm_memory_bytes: usize,
}

/// One loaded index version. `bytes` counts all its segments, shared or not;
/// `suggestions` is its base's count (deltas and the blocklist change what answers, not it).
#[derive(Serialize)]
struct HealthIndex<'a> {
    age_seconds: Option<u64>,
    bytes: usize,
    created: &'a str,
    index: &'a str,
    parent: Option<u64>,
    segments: &'a [Part],
    suggestions: usize,
    version: u64,
}

/// The health answer (never cached).
pub fn health(config: &Config) -> Result<Response, ApiError> {
    let (held, bytes_held) = store::loaded_summary();
    let now = now_ms();
    let loaded = held
        .iter()
        .map(|l| HealthIndex {
            age_seconds: l.created.age_seconds(now),
            bytes: l.bytes(),
            created: &l.created.text,
            index: &l.index,
            parent: l.parent,
            segments: &l.parts,
            suggestions: l.stack.base().len(),
            version: l.version,
        })
        .collect();
    let (experiment, experiment_error) = crate::experiment::status();
    let body = HealthBody {
        bytes_held,
        experiment,
        experiment_error,
        loaded,
        memory_budget_bytes: config.memory_budget_bytes,
        refresh_seconds: config.refresh_ms / 1000.0,
        serves: &config.indexes,
        stats: store::with_stats(|s| s.clone()),
        status: "ok",
        wasm_memory_bytes: wasm_memory_bytes(),
    };
    let mut response = json_response(serde_json::to_string(&body)?)?;
    response.headers_mut().set("cache-control", "no-store")?;
    Ok(response)
}

/// Bytes of this isolate's WebAssembly memory: the loaded segments, what is being loaded,
/// and the allocator's free space. It only grows (a wasm memory never shrinks), so it is also
/// this isolate's peak.
#[cfg(target_arch = "wasm32")]
fn wasm_memory_bytes() -> usize {
    const WASM_PAGE_BYTES: usize = 65_536;
    core::arch::wasm32::memory_size::<0>() * WASM_PAGE_BYTES
}

/// No wasm memory outside WebAssembly (native tests).
#[cfg(not(target_arch = "wasm32"))]
fn wasm_memory_bytes() -> usize {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_lists_its_fields_alphabetically() {
        let serves = vec!["cities".to_string()];
        let parts = [Part {
            bytes: 120,
            hash: "ab".repeat(32),
            kind: edgesuggest_manifest::SegmentKind::Base,
        }];
        let body = HealthBody {
            bytes_held: 120,
            experiment: Some("x".to_string()),
            experiment_error: None,
            loaded: vec![HealthIndex {
                age_seconds: Some(5),
                bytes: 120,
                created: "2026-12-01T00:00:00Z",
                index: "cities",
                parent: None,
                segments: &parts,
                suggestions: 7,
                version: 3,
            }],
            memory_budget_bytes: 1000,
            refresh_seconds: 30.0,
            serves: &serves,
            stats: Stats::default(),
            status: "ok",
            wasm_memory_bytes: 2_097_152,
        };
        let text = serde_json::to_string(&body).unwrap();
        assert!(
            text.starts_with(
                &format!(r#"{{"bytes_held":120,"experiment":"x","experiment_error":null,"loaded":[{{"age_seconds":5,"bytes":120,"created":"2026-12-01T00:00:00Z","index":"cities","parent":null,"segments":[{{"bytes":120,"hash":"{}","kind":"base"}}],"suggestions":7,"version":3}}],"memory_budget_bytes":1000,"refresh_seconds":30.0,"serves":["cities"],"stats":{{"evictions":0,"#, "ab".repeat(32))
            ),
            "{text}"
        );
        assert!(
            text.ends_with(r#""swaps":0},"status":"ok","wasm_memory_bytes":2097152}"#),
            "{text}"
        );
    }
}
