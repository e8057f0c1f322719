//! From query and click logs to scored suggestions: the event schema (`docs/EVENTS.md`) and
//! the aggregation (`docs/SIGNALS.md`) that turns events into rows or change sets for the
//! builder, incrementally. Native only: nothing here reaches the wasm builds.

/// The event schema and its NDJSON decoder live in `edgesuggest-events` (the worker shares them).
pub use edgesuggest_events::{event, ndjson, Experiment};

pub mod aggregate;
pub mod batch;
pub mod changes;
pub mod error;
pub mod exclude;
pub mod explain;
pub mod gates;
pub mod hash;
pub mod input;
pub mod params;
pub mod parquet;
pub mod report;
pub mod rows;
pub mod run;
pub mod state;
mod store;

pub use error::SignalsError;
pub use event::{Event, EventRef, EventType};
pub use params::{parse_duration, Params};
pub use rows::RowOut;
pub use run::{run, RunOptions};
