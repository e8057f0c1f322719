//! The fixed header, the section table and the trailer.

use super::bytes::{slice, to_usize, u32_at, u64_at};
use super::{
    checksum, known_flags, SectionKind, END_MAGIC, FORMAT_VERSION, MAGIC, MIN_FORMAT_VERSION,
    TRAILER_LEN,
};
use crate::error::{Error, Result};
use crate::normalize::{NORMALIZER_ID, NORMALIZER_VERSION};

/// Length of the fixed part of the header, before the section table.
pub(crate) const FIXED_LEN: usize = 48;
/// Length of one section table entry.
pub(crate) const ENTRY_LEN: usize = 24;
/// At most one section of each kind (12 are defined).
const MAX_SECTIONS: usize = 12;

/// Where one section lives in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionRange {
    /// What the section holds.
    pub kind: SectionKind,
    /// Byte offset from the start of the segment.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

/// The decoded header of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version (between [`MIN_FORMAT_VERSION`] and [`FORMAT_VERSION`] once parsed).
    pub format_version: u32,
    /// Feature flags (format v2; always 0 in v1), e.g. [`super::FLAG_WORD_STARTS`].
    pub flags: u32,
    /// Normalizer id the keys were built with.
    pub normalizer_id: u32,
    /// Normalizer version the keys were built with.
    pub normalizer_version: u32,
    /// Number of suggestions (distinct normalized keys).
    pub suggestion_count: u64,
    /// Number of input rows merged into those suggestions.
    pub source_rows: u64,
    /// The sections, in file order.
    pub sections: Vec<SectionRange>,
}

impl Header {
    /// The section of `kind`, if present.
    pub fn section(&self, kind: SectionKind) -> Option<SectionRange> {
        self.sections.iter().copied().find(|s| s.kind == kind)
    }

    /// Parses and checks the header, section table and trailer magic. O(1): the contents are
    /// not read, and the checksum is not computed (see `Segment::verify`).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Header> {
        let format_version = check_frame(bytes)?;
        let normalizer_id = u32_at(bytes, 12, "normalizer id")?;
        let normalizer_version = u32_at(bytes, 16, "normalizer version")?;
        if (normalizer_id, normalizer_version) != (NORMALIZER_ID, NORMALIZER_VERSION) {
            return Err(Error::Normalizer {
                expected_id: NORMALIZER_ID,
                expected_version: NORMALIZER_VERSION,
                got_id: normalizer_id,
                got_version: normalizer_version,
            });
        }
        let flags = u32_at(bytes, 20, "flags")?;
        let known = known_flags(format_version);
        if flags & !known != 0 {
            return Err(Error::corrupt(
                "header",
                format!("unknown flags {flags:#x} (format v{format_version} defines {known:#x})"),
            ));
        }
        let suggestion_count = u64_at(bytes, 24, "suggestion count")?;
        if suggestion_count > u64::from(u32::MAX) {
            return Err(Error::corrupt(
                "header",
                format!("suggestion count {suggestion_count} exceeds 2^32 - 1"),
            ));
        }
        Ok(Header {
            format_version,
            flags,
            normalizer_id,
            normalizer_version,
            suggestion_count,
            source_rows: u64_at(bytes, 32, "source row count")?,
            sections: parse_sections(bytes, format_version)?,
        })
    }
}

/// Checks both magics and the format version; returns the version. The version is read
/// right after the start magic, so a future layout is reported as such, not as corruption.
fn check_frame(bytes: &[u8]) -> Result<u32> {
    let magic = slice(bytes, 0, MAGIC.len(), "magic").map_err(|_| Error::BadMagic {
        place: "start",
        expected: MAGIC,
        found: bytes[..bytes.len().min(MAGIC.len())].to_vec(),
    })?;
    if magic != MAGIC {
        return Err(Error::BadMagic {
            place: "start",
            expected: MAGIC,
            found: magic.to_vec(),
        });
    }
    let format_version = u32_at(bytes, 8, "format version")?;
    if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&format_version) {
        return Err(Error::Version {
            expected: FORMAT_VERSION,
            got: format_version,
        });
    }
    if bytes.len() < FIXED_LEN + TRAILER_LEN {
        return Err(Error::Truncated {
            what: "header and trailer",
            offset: 0,
            needed: FIXED_LEN + TRAILER_LEN,
            len: bytes.len(),
        });
    }
    let end = &bytes[bytes.len() - END_MAGIC.len()..];
    if end != END_MAGIC {
        return Err(Error::BadMagic {
            place: "end",
            expected: END_MAGIC,
            found: end.to_vec(),
        });
    }
    Ok(format_version)
}

/// Reads the section table: known kinds defined in this version, each at most once, in file
/// order without overlap inside the body, and the required ones present.
fn parse_sections(bytes: &[u8], format_version: u32) -> Result<Vec<SectionRange>> {
    let section_count = u32_at(bytes, 40, "section count")? as usize;
    if section_count > MAX_SECTIONS {
        return Err(Error::corrupt(
            "header",
            format!("{section_count} sections, at most {MAX_SECTIONS} are defined"),
        ));
    }
    let body_end = bytes.len() - TRAILER_LEN;
    let mut sections: Vec<SectionRange> = Vec::with_capacity(section_count);
    let mut cursor = FIXED_LEN + section_count * ENTRY_LEN;
    for i in 0..section_count {
        let section = parse_section_entry(bytes, FIXED_LEN + i * ENTRY_LEN, format_version)?;
        let (kind, offset, len) = (section.kind, section.offset, section.len);
        if sections.iter().any(|s| s.kind == kind) {
            return Err(Error::corrupt(
                "section table",
                format!("section {} appears twice", kind.name()),
            ));
        }
        let end = offset.checked_add(len).filter(|&e| e <= body_end);
        if offset < cursor || end.is_none() {
            return Err(Error::corrupt(
                "section table",
                format!(
                    "section {} at {offset}..+{len} is outside the body {cursor}..{body_end} \
                     or overlaps the previous section",
                    kind.name()
                ),
            ));
        }
        cursor = offset + len;
        sections.push(section);
    }
    for required in [SectionKind::Fst, SectionKind::Scores] {
        if !sections.iter().any(|s| s.kind == required) {
            return Err(Error::corrupt(
                "section table",
                format!("required section {} is missing", required.name()),
            ));
        }
    }
    Ok(sections)
}

/// One section table entry at `at`: a kind this format version defines, offset, length.
fn parse_section_entry(bytes: &[u8], at: usize, format_version: u32) -> Result<SectionRange> {
    let code = u32_at(bytes, at, "section kind")?;
    let kind = SectionKind::from_code(code)
        .ok_or_else(|| Error::corrupt("section table", format!("unknown section kind {code}")))?;
    if kind.since_version() > format_version {
        return Err(Error::corrupt(
            "section table",
            format!(
                "section {} is not defined in format v{format_version}",
                kind.name()
            ),
        ));
    }
    let offset = to_usize(u64_at(bytes, at + 8, "section offset")?, "section table")?;
    let len = to_usize(u64_at(bytes, at + 16, "section length")?, "section table")?;
    Ok(SectionRange { kind, offset, len })
}

/// Writes a segment front to back into one buffer: a placeholder header first, then each
/// section appended in place (so the largest section, the FST, is never copied), then the
/// header filled in and the trailer appended.
#[cfg(feature = "build")]
pub(crate) struct SegmentWriter {
    out: Vec<u8>,
    table_end: usize,
    sections: Vec<(SectionKind, usize, usize)>,
    open: Option<(SectionKind, usize)>,
    /// The oldest version whose layouts the sections' bytes follow, where that is later than
    /// their kinds' (the `category ids` section's wide blocks).
    layout_version: u32,
}

#[cfg(feature = "build")]
impl SegmentWriter {
    /// Starts a segment that will hold at most `section_count` sections.
    pub(crate) fn new(section_count: usize) -> SegmentWriter {
        let table_end = FIXED_LEN + section_count * ENTRY_LEN;
        SegmentWriter {
            out: vec![0; table_end],
            table_end,
            sections: Vec::with_capacity(section_count),
            open: None,
            layout_version: MIN_FORMAT_VERSION,
        }
    }

    /// Writes the segment as `version` at least: a section was laid out as only that version
    /// defines.
    pub(crate) fn require_version(&mut self, version: u32) {
        self.layout_version = self.layout_version.max(version);
    }

    /// Starts a section: append its bytes to the returned buffer, then call `end_section`.
    pub(crate) fn begin_section(&mut self, kind: SectionKind) -> &mut Vec<u8> {
        debug_assert!(self.open.is_none());
        self.open = Some((kind, self.out.len()));
        &mut self.out
    }

    /// Hands the buffer to a writer that takes ownership (the FST builder).
    pub(crate) fn take_buffer(&mut self, kind: SectionKind) -> Vec<u8> {
        self.begin_section(kind);
        std::mem::take(&mut self.out)
    }

    /// Gives the buffer back after `take_buffer`.
    pub(crate) fn return_buffer(&mut self, buffer: Vec<u8>) {
        self.out = buffer;
    }

    /// Ends the open section.
    pub(crate) fn end_section(&mut self) {
        if let Some((kind, start)) = self.open.take() {
            self.sections.push((kind, start, self.out.len() - start));
        }
    }

    /// Bytes written so far, header and section table included.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// The bytes of a section already ended.
    pub(crate) fn section_bytes(&self, kind: SectionKind) -> Option<&[u8]> {
        let &(_, start, len) = self.sections.iter().find(|s| s.0 == kind)?;
        self.out.get(start..start + len)
    }

    /// Removes the table entries announced but not used (an optional section that was not
    /// written), moving the sections up.
    fn drop_unused_entries(&mut self) {
        let used_end = FIXED_LEN + self.sections.len() * ENTRY_LEN;
        let gap = self.table_end - used_end;
        if gap == 0 {
            return;
        }
        self.out.drain(used_end..self.table_end);
        for section in &mut self.sections {
            section.1 -= gap;
        }
        self.table_end = used_end;
    }

    /// Fills in the header and appends the trailer. The version written is the oldest that
    /// defines every flag and section used, so plain segments stay version 1.
    pub(crate) fn finish(mut self, suggestion_count: u64, source_rows: u64, flags: u32) -> Vec<u8> {
        self.end_section();
        self.drop_unused_entries();
        let version = self
            .sections
            .iter()
            .map(|&(kind, _, _)| kind.written_version())
            .chain([super::version_for_flags(flags), self.layout_version])
            .max()
            .unwrap_or(MIN_FORMAT_VERSION);
        debug_assert!(version <= FORMAT_VERSION);
        let mut head = Vec::with_capacity(self.table_end);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&version.to_le_bytes());
        head.extend_from_slice(&NORMALIZER_ID.to_le_bytes());
        head.extend_from_slice(&NORMALIZER_VERSION.to_le_bytes());
        head.extend_from_slice(&flags.to_le_bytes());
        head.extend_from_slice(&suggestion_count.to_le_bytes());
        head.extend_from_slice(&source_rows.to_le_bytes());
        head.extend_from_slice(&(self.sections.len() as u32).to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes()); // reserved
        for &(kind, offset, len) in &self.sections {
            head.extend_from_slice(&(kind as u32).to_le_bytes());
            head.extend_from_slice(&0u32.to_le_bytes());
            head.extend_from_slice(&(offset as u64).to_le_bytes());
            head.extend_from_slice(&(len as u64).to_le_bytes());
        }
        debug_assert_eq!(
            head.len(),
            self.table_end,
            "section count announced up front"
        );
        self.out[..head.len()].copy_from_slice(&head);
        let sum = checksum(&self.out);
        self.out.extend_from_slice(&sum.to_le_bytes());
        self.out.extend_from_slice(END_MAGIC);
        self.out
    }
}

/// Checks the trailer checksum over everything before it.
pub(crate) fn verify_checksum(bytes: &[u8]) -> Result<()> {
    let body_end = bytes
        .len()
        .checked_sub(TRAILER_LEN)
        .ok_or(Error::Truncated {
            what: "trailer",
            offset: 0,
            needed: TRAILER_LEN,
            len: bytes.len(),
        })?;
    let expected = u64_at(bytes, body_end, "checksum")?;
    let got = checksum(&bytes[..body_end]);
    if expected != got {
        return Err(Error::Checksum { expected, got });
    }
    Ok(())
}
