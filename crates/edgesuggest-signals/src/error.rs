//! What can go wrong in this crate, with the data to say where and how to fix it.

use std::path::PathBuf;

/// An error of the signals crate.
#[derive(Debug, thiserror::Error)]
pub enum SignalsError {
    /// A file could not be opened, read, written or renamed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A Parquet file is unreadable, lacks a column, has a column of the wrong type, or could
    /// not be written. The message names the file and the column.
    #[error("{0}")]
    Parquet(String),
}
