//! CSV: UTF-8 (a BOM is dropped), comma-separated, every record as wide as the header.

use crate::build::Builder;
use crate::cell::unquote;
use crate::{Kind, Limits, Sheet, TabularError};

pub(crate) fn read(file: String, bytes: &[u8], limits: &Limits) -> Result<Sheet, TabularError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut builder = Builder::new(file, Kind::Csv, limits);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut number = 0usize;
    // The field count of the header record, trailing empty fields included.
    let mut header_fields: Option<usize> = None;
    loop {
        let start = reader.position().byte();
        let more = reader.read_byte_record(&mut record).map_err(|e| TabularError::UnreadableFile {
            file: builder.file().to_owned(),
            reason: format!("record {}: {e}", number + 1),
        })?;
        if !more {
            break;
        }
        // The CSV parser skips empty lines, but a spreadsheet shows each as a row: count them so
        // the numbers match what the user sees when they open the file.
        number += 1 + empty_lines(bytes, usize::try_from(start).unwrap_or(usize::MAX));
        if record.len() > limits.max_columns {
            return Err(builder.too_large(format!(
                "record {number} has {} fields, more than the {} columns allowed",
                record.len(),
                limits.max_columns
            )));
        }
        builder.count_text(record.as_slice().len())?;
        let mut cells = Vec::with_capacity(record.len());
        for (i, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(text) => cells.push(unquote(text)),
                Err(e) => {
                    builder.row_error(
                        number,
                        Some(i),
                        "invalid_utf8",
                        &format!(
                            "the cell is not UTF-8 text (byte {} of the cell); save the file as CSV UTF-8",
                            e.valid_up_to() + 1
                        ),
                    );
                    cells.push(unquote(&String::from_utf8_lossy(field)));
                }
            }
        }
        // Every record must have the header's field count. Spreadsheet tools write every record
        // as wide as the widest row, so a shorter record is not something they produce; it is the
        // mark of a lost separator, which would shift each later value into the wrong column, and
        // a longer one of an unquoted comma. Either way the row cannot be trusted.
        match header_fields {
            Some(expected) if cells.len() != expected => {
                builder.row_error(
                    number,
                    None,
                    "ragged_row",
                    &format!(
                        "the record has {} fields but the header has {expected}; check for a missing or unquoted comma",
                        cells.len()
                    ),
                );
                cells.truncate(expected);
            }
            None if cells.iter().any(|c| !c.is_empty()) => header_fields = Some(cells.len()),
            _ => {}
        }
        builder.push(number, cells)?;
    }
    builder.finish()
}

/// How many empty lines start at `start`, where the parser resumed after the previous record.
fn empty_lines(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    // The parser may stop between the CR and LF that end the previous record.
    if i > 0 && bytes.get(i - 1) == Some(&b'\r') && bytes.get(i) == Some(&b'\n') {
        i += 1;
    }
    let mut count = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'\r' | b'\n' => i += 1,
            _ => break,
        }
        count += 1;
    }
    count
}
