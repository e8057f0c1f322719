//! From query and click logs to scored suggestions: the event schema (`docs/EVENTS.md`) and
//! the aggregation (`docs/SIGNALS.md`) that turns events into rows or change sets for the
//! builder, incrementally. Native only: nothing here reaches the wasm builds.

pub mod error;
pub mod event;
pub mod parquet;
pub mod rows;

pub use error::SignalsError;
pub use event::{Event, EventType};
pub use rows::RowOut;
