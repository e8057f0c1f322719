//! Prometheus metrics of `edgesuggest serve` (`GET /metrics`, text exposition format):
//! requests by route and status, a latency histogram per route, and per index its version,
//! age, size, loads and reload failures.

use std::sync::Mutex;

use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::registry::{Loaded, State};

/// Labels of a request metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `suggest`, `health`, `metrics`, `ping`, `preflight` or `other`.
    pub route: &'static str,
    pub status: u16,
}

/// Labels of a latency observation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

/// Labels of an index metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IndexLabels {
    pub index: String,
}

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    version: Family<IndexLabels, Gauge>,
    age: Family<IndexLabels, Gauge>,
    bytes: Family<IndexLabels, Gauge>,
    loads: Family<IndexLabels, Counter>,
    failures: Family<IndexLabels, Counter>,
    /// Encoding walks the registry; one scrape at a time keeps the text consistent.
    encoding: Mutex<()>,
}

/// Latency buckets: 25 µs to about 0.8 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_025, 2.0, 16))
}

impl Metrics {
    /// The metrics, registered under the `edgesuggest_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("edgesuggest");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let (version, age, bytes) = (Family::default(), Family::default(), Family::default());
        let (loads, failures) = (Family::default(), Family::default());
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response, by route",
            latency.clone(),
        );
        registry.register(
            "index_version",
            "The version each index serves",
            version.clone(),
        );
        registry.register(
            "index_age_seconds",
            "Seconds since the served version of each index was made",
            age.clone(),
        );
        registry.register(
            "index_bytes",
            "Bytes of each index's segments",
            bytes.clone(),
        );
        registry.register("index_loads", "Index versions loaded", loads.clone());
        registry.register(
            "reload_failures",
            "Index loads that failed (the last good version kept serving, if any)",
            failures.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            version,
            age,
            bytes,
            loads,
            failures,
            encoding: Mutex::new(()),
        }
    }

    /// Counts one answered request.
    pub fn request(&self, route: &'static str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
    }

    /// Records a newly loaded version of `index`.
    pub fn loaded(&self, index: &str, loaded: &Loaded) {
        let labels = index_labels(index);
        self.loads.get_or_create(&labels).inc();
        self.version
            .get_or_create(&labels)
            .set(loaded.version as i64);
        self.bytes.get_or_create(&labels).set(loaded.bytes as i64);
    }

    /// Counts a failed load of `index`.
    pub fn load_failed(&self, index: &str) {
        self.failures.get_or_create(&index_labels(index)).inc();
    }

    /// Drops the gauges of an index no longer served.
    pub fn forget_index(&self, index: &str) {
        let labels = index_labels(index);
        self.version.remove(&labels);
        self.age.remove(&labels);
        self.bytes.remove(&labels);
    }

    /// The exposition text, with each index's age brought up to date first.
    pub fn render(&self, indexes: &[(String, State)]) -> String {
        let _one_at_a_time = self.encoding.lock().unwrap_or_else(|e| e.into_inner());
        for (index, state) in indexes {
            if let State::Ready(loaded) = state {
                if let Some(age) = loaded.age_seconds() {
                    self.age.get_or_create(&index_labels(index)).set(age as i64);
                }
            }
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

fn index_labels(index: &str) -> IndexLabels {
    IndexLabels {
        index: index.to_string(),
    }
}
