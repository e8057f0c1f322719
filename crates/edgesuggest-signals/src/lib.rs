//! From query and click logs to scored suggestions: the event schema (`docs/EVENTS.md`) and
//! the aggregation (`docs/SIGNALS.md`) that turns events into rows or change sets for the
//! builder, incrementally. Native only: nothing here reaches the wasm builds.

pub mod event;

pub use event::{Event, EventType};
pub mod rows;

pub use rows::RowOut;
