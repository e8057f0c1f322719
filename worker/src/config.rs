//! Settings from `wrangler.toml` `[vars]`, with defaults.

use worker::Env;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Indexes this worker serves (`INDEXES`, comma-separated); the first is the default.
    pub indexes: Vec<String>,
    /// Minimum milliseconds between manifest checks per index (`REFRESH_SECONDS`, default 30).
    pub refresh_ms: f64,
    /// Bytes of segments held in memory at most (`MEMORY_BUDGET_BYTES`, default 64 MiB).
    pub memory_budget_bytes: u64,
    /// `Cache-Control: max-age` of suggest responses (`CACHE_MAX_AGE`, default 60).
    pub cache_max_age: u32,
    /// Allowed CORS origins (`CORS_ORIGINS`, comma-separated, `*` for any; default `*`).
    pub cors_origins: Vec<String>,
    /// The KV binding holding chunks and manifests (`KV_BINDING`, default `SEGMENTS`).
    pub kv_binding: String,
    /// The queue binding `POST /v1/events` sends to (`EVENTS_QUEUE_BINDING`, default
    /// `EVENTS`); without that binding the endpoint answers 503 `events_off`.
    pub events_queue: String,
    /// The key `edgesuggest publish` attests segments with (secret `SEGMENT_ATTESTATION_KEY`):
    /// segments whose attestation verifies skip walking their FST nodes. Unset: every segment
    /// is validated in full.
    pub attestation_key: Option<String>,
}

impl Config {
    /// Reads the settings; a missing or unparsable value falls back to its default.
    pub fn from_env(env: &Env) -> Config {
        let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
        let list = |v: Option<String>, default: &str| -> Vec<String> {
            v.unwrap_or_else(|| default.to_string())
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        Config {
            indexes: list(var("INDEXES"), "cities"),
            refresh_ms: var("REFRESH_SECONDS")
                // serde_json's number parser: the module has it already, and `str::parse`
                // would add `core`'s (about 14 KB of tables and code).
                .and_then(|v| serde_json::from_str::<f64>(&v).ok())
                .filter(|v| *v >= 0.0)
                .unwrap_or(30.0)
                * 1000.0,
            memory_budget_bytes: var("MEMORY_BUDGET_BYTES")
                .and_then(|v| v.parse().ok())
                .unwrap_or(64 << 20),
            cache_max_age: var("CACHE_MAX_AGE")
                .and_then(|v| v.parse().ok())
                .unwrap_or(60),
            cors_origins: list(var("CORS_ORIGINS"), "*"),
            kv_binding: var("KV_BINDING").unwrap_or_else(|| "SEGMENTS".to_string()),
            events_queue: var("EVENTS_QUEUE_BINDING").unwrap_or_else(|| "EVENTS".to_string()),
            // `wrangler secret put` makes it a plain string binding, as `[vars]` are.
            attestation_key: var("SEGMENT_ATTESTATION_KEY").filter(|k| !k.is_empty()),
        }
    }
}
