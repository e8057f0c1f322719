//! The segment file format, version 1. The normative description is `docs/FORMAT.md`; this
//! module is its one implementation, shared by the writer and every reader.

pub(crate) mod bytes;
pub mod header;
pub(crate) mod scores;
pub(crate) mod strings;

/// Magic bytes at the start of every segment.
pub const MAGIC: &[u8; 8] = b"EDGESUG\x00";

/// Magic bytes closing every segment, after the checksum: a cheap truncation check.
pub const END_MAGIC: &[u8; 4] = b"ESEG";

/// The segment format version this engine writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Size of the trailer: XXH64 checksum (8 bytes) then [`END_MAGIC`].
pub(crate) const TRAILER_LEN: usize = 12;

/// The checksum over everything before the trailer: XXH64 with seed 0.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(bytes, 0)
}

/// Section kinds in the section table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum SectionKind {
    /// The FST mapping each normalized key to its rank (0 = best).
    Fst = 1,
    /// Scores by rank, bit-packed per block.
    Scores = 2,
    /// Display forms that differ from their normalized key, by rank.
    Display = 3,
    /// Optional JSON payloads, by rank.
    Payloads = 4,
}

impl SectionKind {
    /// The kind for a stored code, if known.
    pub fn from_code(code: u32) -> Option<SectionKind> {
        match code {
            1 => Some(SectionKind::Fst),
            2 => Some(SectionKind::Scores),
            3 => Some(SectionKind::Display),
            4 => Some(SectionKind::Payloads),
            _ => None,
        }
    }

    /// A short lowercase name, used in errors and `inspect`.
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Fst => "fst",
            SectionKind::Scores => "scores",
            SectionKind::Display => "display",
            SectionKind::Payloads => "payloads",
        }
    }
}
