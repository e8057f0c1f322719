//! The KV layout of a published index, shared by `edgesuggest publish` (which writes it) and
//! the worker and the page (which read it):
//!
//! - `seg/<sha256>/<chunk_bytes>/<n>`: chunk `n` of the segment whose bytes hash to `<sha256>`
//!   (hex), cut every `<chunk_bytes>` bytes. Immutable and content-addressed: the hash and the
//!   chunk size determine the bytes, so publishing the same segment with another chunk size
//!   never overwrites chunks a live manifest points at. Chunks are at most
//!   [`DEFAULT_CHUNK_BYTES`] by default (KV values max out at 25 MiB).
//! - `manifest/<index>/<version>`: one immutable [`Manifest`] per published version: the base,
//!   the deltas (oldest first) and the blocklist, each by content hash, with the time it was
//!   created and the version it was derived from.
//! - `manifest/<index>`: the pointer: a copy of the live version's manifest. Readers need one
//!   read to know what to serve; rollback copies an older version there.
//!
//! Publishing writes every chunk first, then the version, then the pointer, so a reader never
//! sees a manifest pointing at missing data, and KV's eventual consistency can only delay a
//! new version, never mix two.

use serde::{Deserialize, Serialize};

/// Default chunk size: 20 MiB, under KV's 25 MiB value limit.
pub const DEFAULT_CHUNK_BYTES: usize = 20 << 20;

/// KV's hard limit on one value.
pub const KV_MAX_VALUE_BYTES: usize = 25 << 20;

/// The manifest format version written in [`Manifest::manifest_version`]. Version 2 adds
/// `parent`, blocklist segments and per-segment `entries`; version 1 manifests (one base, no
/// parent) still parse.
pub const MANIFEST_VERSION: u32 = 2;

/// The most segments one manifest may name: a base, up to 63 deltas and a blocklist.
pub const MAX_SEGMENTS: usize = 65;

/// The KV key of an index's pointer: the live version's manifest.
pub fn manifest_key(index: &str) -> String {
    format!("manifest/{index}")
}

/// The KV key of one immutable manifest version.
pub fn version_key(index: &str, version: u64) -> String {
    format!("manifest/{index}/{version}")
}

/// The KV key prefix of every version of an index (for listing).
pub fn versions_prefix(index: &str) -> String {
    format!("manifest/{index}/")
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

/// One published version of an index.
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
    /// The version this one was derived from (`publish --delta` appends to it); `None` for
    /// a first publish or a fresh base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    /// The segments: the base first, then the deltas oldest first, then the blocklist if any.
    pub segments: Vec<SegmentEntry>,
}

/// One segment of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// SHA-256 of the segment bytes, lowercase hex.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// `base` (the full index), `delta` (changes on top) or `blocklist`.
    pub kind: SegmentKind,
    /// Suggestions plus tombstones (a delta), suggestions (a base) or entries (a blocklist):
    /// what the compaction policy weighs.
    #[serde(default)]
    pub entries: u64,
    /// The chunk keys, in order; their values concatenate to the segment.
    pub chunks: Vec<String>,
    /// The publisher's word that it validated these bytes: HMAC-SHA256, lowercase hex, of
    /// [`attestation_message`] under a key it shares with the readers. A reader holding the
    /// key that finds it valid may skip walking the segment's FST nodes again; any other
    /// reader ignores it. Absent when the publisher had no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
}

/// What a [`SegmentEntry::attestation`] signs: [`attestation_prefix`], then the segment's
/// SHA-256 (lowercase hex).
pub fn attestation_message(hash: &str, validation_rules: u32) -> String {
    attestation_prefix(validation_rules) + hash
}

/// The start of every [`attestation_message`]: the version of the structural checks the
/// segment passed (`edgesuggest::VALIDATION_RULES` of the publisher), so a reader whose engine
/// checks more does not take it. A reader that learns the hash while verifying appends it.
pub fn attestation_prefix(validation_rules: u32) -> String {
    format!("edgesuggest segment validated, rules {validation_rules}: ")
}

/// What a segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentKind {
    /// A complete index.
    Base,
    /// Upserts and deletes layered on a base.
    Delta,
    /// Phrases and prefixes hidden in every segment.
    Blocklist,
}

impl Manifest {
    /// Parses and checks a manifest read from KV: a known format, exactly one base and it
    /// first, deltas after it, at most one blocklist and it last, at most [`MAX_SEGMENTS`],
    /// every segment with content-addressed chunks of its own hash.
    pub fn parse(json: &str) -> Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_str(json).map_err(|e| format!("manifest is not valid JSON: {e}"))?;
        if !(1..=MANIFEST_VERSION).contains(&manifest.manifest_version) {
            return Err(format!(
                "manifest version {} is not supported (this reader knows 1 to {MANIFEST_VERSION})",
                manifest.manifest_version
            ));
        }
        manifest.check_segments()?;
        Ok(manifest)
    }

    /// The structural rules of [`Manifest::parse`] on the segment list.
    fn check_segments(&self) -> Result<(), String> {
        let segments = &self.segments;
        if segments.is_empty() {
            return Err("manifest names no segment".to_string());
        }
        if segments.len() > MAX_SEGMENTS {
            return Err(format!(
                "manifest names {} segments, at most {MAX_SEGMENTS}",
                segments.len()
            ));
        }
        for (i, s) in segments.iter().enumerate() {
            let expected = match i {
                0 => "the base",
                _ if i + 1 == segments.len() && s.kind == SegmentKind::Blocklist => "a blocklist",
                _ => "a delta",
            };
            let ok = match s.kind {
                SegmentKind::Base => i == 0,
                SegmentKind::Delta => i > 0,
                SegmentKind::Blocklist => i > 0 && i + 1 == segments.len(),
            };
            if !ok {
                return Err(format!(
                    "segment {i} ({}) is a {:?} where {expected} belongs: the base comes first, \
                     then deltas, then at most one blocklist",
                    s.hash, s.kind
                ));
            }
            s.check_chunks()?;
        }
        Ok(())
    }

    /// Total bytes of all segments, saturating: sizes come from outside, and a sum past
    /// `u64::MAX` must read as too large for any budget, not wrap around or panic.
    pub fn total_bytes(&self) -> u64 {
        self.segments
            .iter()
            .fold(0u64, |total, s| total.saturating_add(s.size))
    }

    /// The base segment.
    pub fn base(&self) -> Option<&SegmentEntry> {
        self.segments
            .first()
            .filter(|s| s.kind == SegmentKind::Base)
    }

    /// The deltas, oldest first.
    pub fn deltas(&self) -> impl Iterator<Item = &SegmentEntry> {
        self.segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Delta)
    }

    /// The blocklist, if any.
    pub fn blocklist(&self) -> Option<&SegmentEntry> {
        self.segments
            .iter()
            .find(|s| s.kind == SegmentKind::Blocklist)
    }

    /// Every chunk key this version references.
    pub fn chunk_keys(&self) -> impl Iterator<Item = &str> {
        self.segments
            .iter()
            .flat_map(|s| s.chunks.iter().map(String::as_str))
    }
}

impl SegmentEntry {
    /// Refuses a segment without chunks, or with a chunk key that is not one of its own
    /// content-addressed keys (`seg/<hash>/<chunk_bytes>/<n>`, `n` counting from 0): readers
    /// cache segments by hash, so a chunk of other bytes must not hide under it.
    fn check_chunks(&self) -> Result<(), String> {
        let valid_hash = self.hash.len() == 64
            && self
                .hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if !valid_hash {
            return Err(format!(
                "segment hash {:?} is not 64 lowercase hex digits",
                self.hash
            ));
        }
        if self.chunks.is_empty() {
            return Err(format!("segment {} has no chunks", self.hash));
        }
        let prefix = format!("seg/{}/", self.hash);
        for (n, key) in self.chunks.iter().enumerate() {
            let ok = key
                .strip_prefix(&prefix)
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(size, index)| {
                    size.parse::<usize>().is_ok_and(|b| b > 0) && index == n.to_string()
                });
            if !ok {
                return Err(format!(
                    "chunk {n} of segment {} is {key:?}, expected {prefix}<chunk bytes>/{n}",
                    self.hash
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "ab00000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn round_trip_and_checks() {
        let m = Manifest {
            manifest_version: MANIFEST_VERSION,
            index: "cities".into(),
            version: 7,
            created: "2026-11-30T00:00:00Z".into(),
            parent: None,
            segments: vec![SegmentEntry {
                hash: H.into(),
                size: 10,
                kind: SegmentKind::Base,
                entries: 3,
                chunks: vec![chunk_key(H, 1024, 0)],
                attestation: None,
            }],
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"kind\":\"base\""));
        // No key, no field: readers before attestations parse it as they did.
        assert!(!json.contains("attestation"));
        let mut attested = m.clone();
        attested.segments[0].attestation = Some("00ff".into());
        let signed = serde_json::to_string(&attested).unwrap();
        assert_eq!(Manifest::parse(&signed).unwrap(), attested);
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

    #[test]
    fn segment_order_and_chunks_are_checked() {
        let entry = |kind, tag: char| {
            let hash: String = tag.to_string().repeat(64);
            SegmentEntry {
                chunks: vec![chunk_key(&hash, 100, 0)],
                hash,
                size: 1,
                kind,
                entries: 1,
                attestation: None,
            }
        };
        let with = |segments: Vec<SegmentEntry>| Manifest {
            manifest_version: MANIFEST_VERSION,
            index: "i".into(),
            version: 2,
            created: "2026-12-01T00:00:00Z".into(),
            parent: Some(1),
            segments,
        };
        let parse = |m: &Manifest| Manifest::parse(&serde_json::to_string(m).unwrap());
        let good = with(vec![
            entry(SegmentKind::Base, 'a'),
            entry(SegmentKind::Delta, 'b'),
            entry(SegmentKind::Delta, 'c'),
            entry(SegmentKind::Blocklist, 'd'),
        ]);
        assert_eq!(parse(&good).unwrap(), good);
        assert_eq!(good.deltas().count(), 2);
        assert_eq!(good.chunk_keys().count(), 4);
        for bad in [
            vec![entry(SegmentKind::Delta, 'b')],
            vec![entry(SegmentKind::Base, 'a'), entry(SegmentKind::Base, 'b')],
            vec![
                entry(SegmentKind::Base, 'a'),
                entry(SegmentKind::Blocklist, 'd'),
                entry(SegmentKind::Delta, 'b'),
            ],
        ] {
            assert!(parse(&with(bad)).unwrap_err().contains("belongs"));
        }
        let mut foreign = good.clone();
        foreign.segments[1].chunks[0] = chunk_key(&"e".repeat(64), 100, 0);
        assert!(parse(&foreign).unwrap_err().contains("expected seg/"));
        let mut v1 = serde_json::to_value(with(vec![entry(SegmentKind::Base, 'a')])).unwrap();
        v1["manifest_version"] = 1.into();
        v1.as_object_mut().unwrap().remove("parent");
        v1["segments"][0].as_object_mut().unwrap().remove("entries");
        assert!(Manifest::parse(&v1.to_string()).is_ok());
    }
}
