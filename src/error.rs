//! Error types of the engine.
//!
//! Every error carries the data needed to act on it, and its `Display` says what to do.

/// An error from opening, verifying or searching a segment, or from reading a query option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are too short to hold what the format requires at this point.
    #[error(
        "segment is truncated: {what} needs {needed} bytes at offset {offset}, but the segment \
         has only {len} bytes; re-download or rebuild the segment"
    )]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// How many bytes it needs.
        needed: usize,
        /// How many bytes the segment has.
        len: usize,
    },
    /// The file does not start (or end) with the segment magic bytes.
    #[error(
        "not an edgesuggest segment: expected magic {expected:?} at the {place} of the file, \
         found {found:?}; pass a file written by `edgesuggest build`"
    )]
    BadMagic {
        /// `"start"` or `"end"`.
        place: &'static str,
        /// The expected bytes.
        expected: &'static [u8],
        /// The bytes found.
        found: Vec<u8>,
    },
    /// The segment was written in a format version this engine does not read.
    #[error(
        "segment format version {got} is not supported: this engine reads versions 1 to {expected}; \
         rebuild the segment with a matching `edgesuggest build`, or upgrade the engine"
    )]
    Version {
        /// The newest version this engine reads.
        expected: u32,
        /// The version found in the segment.
        got: u32,
    },
    /// The segment's keys were normalized by another normalizer than this engine's, so queries
    /// normalized here would not match them.
    #[error(
        "segment was built with normalizer {got_id} v{got_version}, but this engine normalizes \
         queries with normalizer {expected_id} v{expected_version}; rebuild the segment with this \
         version of `edgesuggest build`"
    )]
    Normalizer {
        /// This engine's normalizer id.
        expected_id: u32,
        /// This engine's normalizer version.
        expected_version: u32,
        /// The segment's normalizer id.
        got_id: u32,
        /// The segment's normalizer version.
        got_version: u32,
    },
    /// The trailer checksum does not match the contents.
    #[error(
        "segment checksum mismatch: trailer says {expected:#018x}, contents hash to {got:#018x}; \
         the bytes were corrupted in storage or transit, re-download or rebuild the segment"
    )]
    Checksum {
        /// The checksum recorded in the trailer.
        expected: u64,
        /// The checksum computed over the contents.
        got: u64,
    },
    /// A query option has a value the engine does not accept.
    #[error("{option} must be {expected}, not {value:?}")]
    BadOption {
        /// The option's name.
        option: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// The query is longer than the engine accepts (see [`crate::MAX_QUERY_BYTES`]).
    #[error(
        "query is too long: {what} is over {max} bytes; send a shorter query (no suggestion \
         is that long)"
    )]
    QueryTooLong {
        /// `"the query"` (as given) or `"the normalized query"`.
        what: &'static str,
        /// The limit, in bytes.
        max: usize,
    },
    /// Segments that do not form a stack (see [`crate::Stack::new`]).
    #[error("these segments do not form an index: {0}")]
    Stack(String),
    /// A structural inconsistency inside the segment.
    #[error("segment is corrupt: {section}: {detail}; re-download or rebuild the segment")]
    Corrupt {
        /// The section (or header part) where the inconsistency was found.
        section: &'static str,
        /// What is wrong.
        detail: String,
    },
}

impl Error {
    pub(crate) fn corrupt(section: &'static str, detail: impl Into<String>) -> Error {
        Error::Corrupt {
            section,
            detail: detail.into(),
        }
    }

    /// A key read from an FST that is not UTF-8.
    pub(crate) fn key_not_utf8() -> Error {
        Error::corrupt("fst", "a key is not valid UTF-8")
    }
}

/// A shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
