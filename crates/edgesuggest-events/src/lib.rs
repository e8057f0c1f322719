//! The one event schema of `docs/EVENTS.md` — what the page's widget, the worker's event
//! endpoint and `edgesuggest-loggen` write, and what `edgesuggest aggregate`, `edgesuggest
//! report` and the Spark job read — with its NDJSON decoder and validator, and the experiment
//! configuration with its sticky arm assignment (`docs/EXPERIMENTS.md`). No I/O and no heavy
//! dependencies: the worker links it into its wasm.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod event;
pub mod experiment;
pub mod ndjson;

pub use event::{Event, EventRef, EventType, ExperimentFields};
pub use experiment::{Arm, Experiment};
