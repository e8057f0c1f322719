//! Checks, before decoding, what the `parquet` crate's decoder assumes of a file instead of
//! checking it (it panics when the assumption fails): column chunks inside the file, a
//! dictionary page before dictionary-encoded data, level streams whose runs fit their pages.
//! A damaged or crafted file then gives an error. This is a pass over the projected columns'
//! pages before the real read; it covers the faults found by flipping every byte of sample
//! files, not every conceivable one.

use std::fs::File;
use std::path::Path;

use parquet::basic::Encoding;
use parquet::column::page::{Page, PageReader};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;

use crate::SignalsError;

fn corrupt(path: &Path, what: String) -> SignalsError {
    SignalsError::Parquet(format!(
        "{}: corrupt Parquet file: {what}; write it again, or fetch a complete copy",
        path.display()
    ))
}

/// Checks the chunks and pages of the columns under the root columns `roots`.
pub(super) fn check(
    path: &Path,
    file: &File,
    meta: &ParquetMetaData,
    roots: &[usize],
) -> Result<(), SignalsError> {
    let len = file
        .metadata()
        .map_err(|source| SignalsError::io(path, source))?;
    let schema = meta.file_metadata().schema_descr();
    let leaves: Vec<usize> = (0..schema.num_columns())
        .filter(|&leaf| roots.contains(&schema.get_column_root_idx(leaf)))
        .collect();
    check_chunk_ranges(path, meta, &leaves, len.len())?;
    let clone = file
        .try_clone()
        .map_err(|source| SignalsError::io(path, source))?;
    let reader = SerializedFileReader::new(clone).map_err(|e| corrupt(path, e.to_string()))?;
    for group in 0..reader.num_row_groups() {
        let row_group = reader
            .get_row_group(group)
            .map_err(|e| corrupt(path, e.to_string()))?;
        for &leaf in &leaves {
            let pages = row_group
                .get_column_page_reader(leaf)
                .map_err(|e| corrupt(path, e.to_string()))?;
            check_pages(pages, &schema.columns()[leaf])
                .map_err(|e| corrupt(path, format!("row group {group}, column {leaf}: {e}")))?;
        }
    }
    Ok(())
}

/// Every column chunk starts at a non-negative offset and ends inside the file.
fn check_chunk_ranges(
    path: &Path,
    meta: &ParquetMetaData,
    leaves: &[usize],
    file_len: u64,
) -> Result<(), SignalsError> {
    for (group, row_group) in meta.row_groups().iter().enumerate() {
        for &leaf in leaves {
            let Some(chunk) = row_group.columns().get(leaf) else {
                return Err(corrupt(
                    path,
                    format!("row group {group} lacks column {leaf}"),
                ));
            };
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let size = chunk.compressed_size();
            let inside = start >= 0
                && size >= 0
                && (start as u64)
                    .checked_add(size as u64)
                    .is_some_and(|end| end <= file_len);
            if !inside {
                let what = format!(
                    "row group {group}, column {leaf} claims bytes {start}+{size} of a {file_len}-byte file"
                );
                return Err(corrupt(path, what));
            }
        }
    }
    Ok(())
}

/// One column chunk's pages: dictionary-encoded data only after a dictionary page, level
/// streams within their pages.
fn check_pages(mut pages: Box<dyn PageReader>, column: &ColumnDescriptor) -> Result<(), String> {
    let (max_rep, max_def) = (column.max_rep_level(), column.max_def_level());
    let mut dictionary = false;
    while let Some(page) = pages.get_next_page().map_err(|e| e.to_string())? {
        let encoding = match &page {
            Page::DictionaryPage { .. } => {
                dictionary = true;
                continue;
            }
            Page::DataPage {
                buf,
                num_values,
                encoding,
                def_level_encoding,
                rep_level_encoding,
                ..
            } => {
                let mut at = 0;
                for (max, level_encoding) in [
                    (max_rep, *rep_level_encoding),
                    (max_def, *def_level_encoding),
                ] {
                    if max > 0 {
                        at +=
                            v1_levels(&buf[at.min(buf.len())..], max, *num_values, level_encoding)?;
                    }
                }
                *encoding
            }
            Page::DataPageV2 {
                buf,
                encoding,
                rep_levels_byte_len,
                def_levels_byte_len,
                ..
            } => {
                let rep = *rep_levels_byte_len as usize;
                let def = *def_levels_byte_len as usize;
                let (Some(reps), Some(defs)) =
                    (buf.get(..rep), buf.get(rep..rep.saturating_add(def)))
                else {
                    return Err("level lengths past the end of the page".to_string());
                };
                hybrid_runs(reps, bit_width(max_rep))?;
                hybrid_runs(defs, bit_width(max_def))?;
                *encoding
            }
        };
        let dictionary_encoded = matches!(
            encoding,
            Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY
        );
        if dictionary_encoded && !dictionary {
            return Err("dictionary-encoded data without a dictionary page".to_string());
        }
    }
    Ok(())
}

/// Bits per level for levels up to `max`.
fn bit_width(max: i16) -> usize {
    (16 - (max.max(0) as u16).leading_zeros()) as usize
}

/// The bytes a data page (v1) level stream takes at the start of `buf`, checked.
fn v1_levels(buf: &[u8], max: i16, values: u32, encoding: Encoding) -> Result<usize, String> {
    let width = bit_width(max);
    #[allow(deprecated)]
    match encoding {
        Encoding::RLE => {
            let prefix: [u8; 4] = buf
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or("levels cut short")?;
            let len = u32::from_le_bytes(prefix) as usize;
            let stream = buf
                .get(4..4 + len)
                .ok_or("level length past the end of the page")?;
            hybrid_runs(stream, width)?;
            Ok(4 + len)
        }
        Encoding::BIT_PACKED => {
            let bytes = (values as usize * width).div_ceil(8);
            if bytes > buf.len() {
                return Err("bit-packed levels past the end of the page".to_string());
            }
            Ok(bytes)
        }
        other => Err(format!(
            "levels in encoding {other}, expected RLE or BIT_PACKED"
        )),
    }
}

/// Every run of an RLE/bit-packing hybrid stream fits in `stream`.
fn hybrid_runs(stream: &[u8], width: usize) -> Result<(), String> {
    let mut at = 0;
    while at < stream.len() {
        let (header, used) = varint(&stream[at..]).ok_or("bad run header in levels")?;
        at += used;
        let bytes = if header & 1 == 1 {
            // A bit-packed run: (header >> 1) groups of 8 values.
            ((header >> 1) as usize)
                .checked_mul(width)
                .ok_or("bit-packed run too long")?
        } else {
            width.div_ceil(8)
        };
        at = at
            .checked_add(bytes)
            .filter(|&end| end <= stream.len())
            .ok_or("level run past the end of its stream")?;
    }
    Ok(())
}

/// A ULEB128 integer of at most 10 bytes and the bytes it took.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(10).enumerate() {
        value |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}
