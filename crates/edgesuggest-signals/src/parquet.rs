//! The Parquet codec: events (`docs/EVENTS.md`, section Parquet) and scored rows (what
//! `edgesuggest build` reads, what the aggregation writes: `docs/SIGNALS.md`, Outputs).
//!
//! Readers find columns by name (any order, extra columns ignored), check each column's type
//! once per file, then stream record batches, so memory stays bounded by one batch. A file
//! that cannot be read as a whole (not Parquet, truncated, a required column missing or of the
//! wrong type) is an `Err`; a bad row is handed to the caller with its 1-based row number.

mod columns;
mod pages;
mod read;
mod write;

pub use read::{read_events, read_rows, Categories, ScoredRow};
pub use write::{write_events, write_rows, EventWriter};

#[cfg(test)]
mod tests;
