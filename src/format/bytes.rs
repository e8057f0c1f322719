//! Bounds-checked little-endian reads. Every read of segment bytes goes through here, so a
//! corrupt or truncated segment yields [`Error::Truncated`] instead of a panic.

use crate::error::{Error, Result};

/// Returns `bytes[offset..offset + len]`, or an error naming `what` when out of bounds.
pub(crate) fn slice<'a>(
    bytes: &'a [u8],
    offset: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8]> {
    offset
        .checked_add(len)
        .and_then(|end| bytes.get(offset..end))
        .ok_or(Error::Truncated {
            what,
            offset,
            needed: len,
            len: bytes.len(),
        })
}

/// Reads a little-endian `u32` at `offset`.
pub(crate) fn u32_at(bytes: &[u8], offset: usize, what: &'static str) -> Result<u32> {
    let b = slice(bytes, offset, 4, what)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a little-endian `u64` at `offset`.
pub(crate) fn u64_at(bytes: &[u8], offset: usize, what: &'static str) -> Result<u64> {
    let b = slice(bytes, offset, 8, what)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_le_bytes(a))
}

/// Converts a stored `u64` to `usize`, failing on 32-bit targets when it does not fit.
pub(crate) fn to_usize(v: u64, section: &'static str) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::corrupt(section, format!("value {v} exceeds usize")))
}

/// `bytes` as a string, if it is UTF-8: natively with SIMD where the CPU has it (the check of
/// an answer's keys or display forms, a few hundred bytes, is otherwise a tenth of a query on
/// non-Latin scripts), in WebAssembly with the standard check.
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    #[cfg(not(target_family = "wasm"))]
    return simdutf8::basic::from_utf8(bytes).ok();
    #[cfg(target_family = "wasm")]
    return std::str::from_utf8(bytes).ok();
}

/// [`utf8`], with no call for an empty buffer (most answers have no stored display forms).
#[inline]
pub(crate) fn utf8_or_empty(bytes: &[u8]) -> Option<&str> {
    match bytes.is_empty() {
        true => Some(""),
        false => utf8(bytes),
    }
}
