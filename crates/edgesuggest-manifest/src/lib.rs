//! The KV layout of a published index, shared by `edgesuggest publish` (which writes it) and
//! the worker (which reads it):
//!
//! - `seg/<sha256>/<chunk_bytes>/<n>`: chunk `n` of the segment whose bytes hash to `<sha256>`
//!   (hex), cut every `<chunk_bytes>` bytes. Immutable and content-addressed: the hash and the
//!   chunk size determine the bytes, so publishing the same segment with another chunk size
//!   never overwrites chunks a live manifest points at. Chunks are at most
//!   [`DEFAULT_CHUNK_BYTES`] by default (KV values max out at 25 MiB).
//! - `manifest/<index>`: a small mutable JSON [`Manifest`] naming the segments of one index.
//!
//! Publishing writes every chunk first and the manifest last, so a reader never sees a manifest
//! pointing at missing data.

use serde::{Deserialize, Serialize};

/// Default chunk size: 20 MiB, under KV's 25 MiB value limit.
pub const DEFAULT_CHUNK_BYTES: usize = 20 << 20;

/// KV's hard limit on one value.
pub const KV_MAX_VALUE_BYTES: usize = 25 << 20;

/// The manifest format version written in [`Manifest::manifest_version`].
pub const MANIFEST_VERSION: u32 = 1;

/// The KV key of an index's manifest.
pub fn manifest_key(index: &str) -> String {
    format!("manifest/{index}")
}

/// The KV key of chunk `n` of the segment with content hash `hash`, cut every `chunk_bytes`.
pub fn chunk_key(hash: &str, chunk_bytes: usize, n: usize) -> String {
    format!("seg/{hash}/{chunk_bytes}/{n}")
}

/// Whether `name` is a valid index name: 1–64 characters of `[a-z0-9_-]`.
pub fn valid_index_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// One published index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format of this JSON document.
    pub manifest_version: u32,
    /// The index name (`manifest/<index>`).
    pub index: String,
    /// Increases with every publish of this index.
    pub version: u64,
    /// When it was published (RFC 3339, UTC).
    pub created: String,
    /// The segments, oldest first.
    pub segments: Vec<SegmentEntry>,
}

/// One segment of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// SHA-256 of the segment bytes, lowercase hex.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// `base` (the full index) or `delta` (newer rows on top).
    pub kind: SegmentKind,
    /// The chunk keys, in order; their values concatenate to the segment.
    pub chunks: Vec<String>,
}

/// What a segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentKind {
    /// A complete index.
    Base,
    /// Newer rows layered on a base.
    Delta,
}

impl Manifest {
    /// Parses and checks a manifest read from KV.
    pub fn parse(json: &str) -> Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_str(json).map_err(|e| format!("manifest is not valid JSON: {e}"))?;
        if manifest.manifest_version != MANIFEST_VERSION {
            return Err(format!(
                "manifest version {} is not supported (this reader knows {MANIFEST_VERSION})",
                manifest.manifest_version
            ));
        }
        if manifest.segments.is_empty() {
            return Err("manifest names no segment".to_string());
        }
        for s in &manifest.segments {
            if s.chunks.is_empty() {
                return Err(format!("segment {} has no chunks", s.hash));
            }
        }
        Ok(manifest)
    }

    /// Total bytes of all segments, saturating: sizes come from outside, and a sum past
    /// `u64::MAX` must read as too large for any budget, not wrap around or panic.
    pub fn total_bytes(&self) -> u64 {
        self.segments
            .iter()
            .fold(0u64, |total, s| total.saturating_add(s.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let m = Manifest {
            manifest_version: MANIFEST_VERSION,
            index: "cities".into(),
            version: 7,
            created: "2026-11-30T00:00:00Z".into(),
            segments: vec![SegmentEntry {
                hash: "ab".into(),
                size: 10,
                kind: SegmentKind::Base,
                chunks: vec![chunk_key("ab", 1024, 0)],
            }],
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"kind\":\"base\""));
        assert_eq!(Manifest::parse(&json).unwrap(), m);
        assert!(Manifest::parse("{").unwrap_err().contains("not valid JSON"));
        let mut empty = m.clone();
        empty.segments.clear();
        assert!(Manifest::parse(&serde_json::to_string(&empty).unwrap()).is_err());
        let mut huge = m.clone();
        huge.segments[0].size = u64::MAX;
        huge.segments.push(huge.segments[0].clone());
        assert_eq!(huge.total_bytes(), u64::MAX);
        assert!(valid_index_name("cities-en_2"));
        assert!(!valid_index_name("Cities") && !valid_index_name("") && !valid_index_name("a/b"));
    }
}
