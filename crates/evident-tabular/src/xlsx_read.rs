//! XLSX: the first sheet, streamed cell by cell after the zip has passed [`crate::guard`].
//!
//! calamine's `worksheet_range` allocates rows × columns of the declared or spanned dimension (a
//! cell at A1 and one at XFD1048576 is 17 billion cells), so it is never called: cells are read
//! one at a time and a non-empty cell beyond the limits is refused before anything is stored.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, DataRef, Reader as _, Xlsx};

use crate::build::Builder;
use crate::cell::{column_letters, unquote};
use crate::{Kind, Limits, Sheet, TabularError};

pub(crate) fn read(file: String, bytes: &[u8], limits: &Limits) -> Result<Sheet, TabularError> {
    crate::guard::inspect(&file, bytes, limits)?;
    // Defence in depth: the guard keeps known panics (reference overflows) away from calamine, but
    // a parser bug on hostile input must not take the whole process down with it.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rows(&file, bytes, limits)));
    let rows = match outcome {
        Ok(rows) => rows?,
        Err(_) => {
            return Err(TabularError::UnreadableFile {
                file,
                reason: "the workbook is malformed (the XLSX reader gave up on it)".into(),
            });
        }
    };
    let mut builder = Builder::new(file, Kind::Xlsx, limits);
    for (index, cells) in rows {
        builder.push(index as usize + 1, cells)?;
    }
    builder.finish()
}

/// The non-blank rows of the first sheet by 0-based row index; blank rows are never allocated.
fn rows(file: &str, bytes: &[u8], limits: &Limits) -> Result<BTreeMap<u32, Vec<String>>, TabularError> {
    let unreadable = |e: calamine::XlsxError| TabularError::UnreadableFile {
        file: file.to_owned(),
        reason: format!("not a readable XLSX workbook (save it as .xlsx or .csv): {e}"),
    };
    let too_large = |reason: String| TabularError::SheetTooLarge { file: file.to_owned(), reason };
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let Some(first) = workbook.sheet_names().into_iter().next() else {
        return Err(TabularError::UnreadableFile {
            file: file.to_owned(),
            reason: "the workbook has no sheet; put the table on the first sheet".into(),
        });
    };
    let mut reader = workbook.worksheet_cells_reader(&first).map_err(unreadable)?;
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let (mut cells, mut text) = (0usize, 0usize);
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let (row, column) = cell.get_position();
        let value = cell.get_value();
        if matches!(value, DataRef::Empty) {
            // Formatting without a value: not part of the table, wherever it is.
            continue;
        }
        let at = || format!("{}{}", column_letters(column as usize), u64::from(row) + 1);
        if row as usize >= limits.max_rows {
            return Err(too_large(format!("cell {} is beyond the {} rows allowed", at(), limits.max_rows)));
        }
        if column as usize >= limits.max_columns {
            return Err(too_large(format!("cell {} is beyond the {} columns allowed", at(), limits.max_columns)));
        }
        let value = unquote(&Data::from(value.clone()).to_string());
        if value.is_empty() {
            continue;
        }
        text = text.saturating_add(value.len());
        if text > limits.max_text_bytes {
            return Err(too_large(format!("it holds more than {} bytes of text", limits.max_text_bytes)));
        }
        let stored = rows.entry(row).or_default();
        let width = column as usize + 1;
        if stored.len() < width {
            cells += width - stored.len();
            if cells > limits.max_cells {
                return Err(too_large(format!("it has more than {} cells", limits.max_cells)));
            }
            // Exactly: a doubling Vec would hold up to twice the cells the limit counted.
            stored.reserve_exact(width - stored.len());
            stored.resize(width, String::new());
        }
        stored[column as usize] = value;
    }
    Ok(rows)
}
