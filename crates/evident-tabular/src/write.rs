//! Writing a table as CSV, XLSX or Markdown, atomically.

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::cell::neutralise;
use crate::{TabularError, extension};

/// Excel refuses a cell longer than this many characters.
const EXCEL_CELL_CHARS: usize = 32_767;

/// What a successful write wants the caller to know.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WriteReport {
    pub warnings: Vec<WriteWarning>,
}

/// A cell written differently from what was given (today: truncated to fit Excel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteWarning {
    /// The spreadsheet row the cell is on (the header is row 1, the first data row is row 2).
    pub row: usize,
    /// The column's header name.
    pub column: String,
    /// Stable: `cell_truncated`.
    pub code: &'static str,
    pub message: String,
}

/// A Markdown table; pipes and line breaks inside cells are escaped so the table stays whole.
pub fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    table.set_header(header.iter().copied());
    for row in rows {
        table.add_row(row.iter().map(|c| c.replace('|', "\\|").replace(['\n', '\r'], " ")));
    }
    table.to_string()
}

/// Writes a table as CSV, XLSX or Markdown, chosen by the extension of `path`.
///
/// CSV and XLSX cells are neutralised ([`neutralise`]). The table is written to a temporary file in
/// the target's folder, synced, then renamed over the target, so a failure at any point leaves the
/// previous file as it was. An XLSX cell longer than Excel allows is truncated with a visible note
/// and reported in [`WriteReport::warnings`].
pub fn write(
    path: &Path,
    sheet_name: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<WriteReport, TabularError> {
    let file = path.display().to_string();
    let failed = |reason: String| TabularError::WriteFailed { file: file.clone(), reason };
    let ext = extension(path);
    if !matches!(ext.as_deref(), Some("csv" | "xlsx" | "md")) {
        return Err(TabularError::UnsupportedFileType { file, allowed: &["csv", "md", "xlsx"] });
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(folder)
        .map_err(|e| failed(format!("cannot create a temporary file in {}: {e}", folder.display())))?;
    let mut report = WriteReport::default();
    match ext.as_deref() {
        Some("md") => temp
            .write_all(format!("# {sheet_name}\n\n{}\n", markdown(header, rows)).as_bytes())
            .map_err(|e| failed(e.to_string()))?,
        Some("xlsx") => {
            let (workbook, warnings) = xlsx(sheet_name, header, rows).map_err(|e| failed(e.to_string()))?;
            report.warnings = warnings;
            temp.write_all(&workbook).map_err(|e| failed(e.to_string()))?;
        }
        _ => csv(temp.as_file_mut(), header, rows).map_err(|e| failed(e.to_string()))?,
    }
    temp.as_file().sync_all().map_err(|e| failed(format!("cannot sync the written data: {e}")))?;
    temp.persist(path).map_err(|e| failed(format!("cannot replace the file: {}", e.error)))?;
    // The rename is durable only once the folder is synced; the new file is in place either way,
    // so a folder that cannot be synced (some file systems refuse) is not a failed write.
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(report)
}

fn csv(out: &mut std::fs::File, header: &[&str], rows: &[Vec<String>]) -> Result<(), csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header.iter().map(|h| neutralise(h)))?;
    for row in rows {
        writer.write_record(row.iter().map(|c| neutralise(c)))?;
    }
    writer.flush()?;
    Ok(())
}

fn xlsx(
    sheet_name: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<(Vec<u8>, Vec<WriteWarning>), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook, XlsxError};
    let mut warnings = Vec::new();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name)?;
    let column = |c: usize| u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError);
    let bold = Format::new().set_bold();
    for (c, name) in header.iter().enumerate() {
        sheet.write_string_with_format(0, column(c)?, fit(&neutralise(name)).0, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let number = r + 2;
        let at = u32::try_from(r + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        for (c, cell) in row.iter().enumerate() {
            let safe = neutralise(cell);
            let (text, full) = fit(&safe);
            if let Some(full) = full {
                let name = header.get(c).map_or_else(|| crate::cell::column_letters(c), |h| (*h).to_owned());
                warnings.push(WriteWarning {
                    row: number,
                    column: name.clone(),
                    code: "cell_truncated",
                    message: format!(
                        "row {number}, column {name:?}: the cell has {full} characters, more than the \
                         {EXCEL_CELL_CHARS} Excel allows; it was truncated"
                    ),
                });
            }
            sheet.write_string(at, column(c)?, text)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofit();
    Ok((workbook.save_to_buffer()?, warnings))
}

/// The cell as Excel can hold it, and its full length in characters when it had to be cut.
fn fit(cell: &str) -> (std::borrow::Cow<'_, str>, Option<usize>) {
    let full = cell.chars().count();
    if full <= EXCEL_CELL_CHARS {
        return (cell.into(), None);
    }
    let marker = format!("… [truncated by evident: {full} characters in full]");
    let keep = EXCEL_CELL_CHARS - marker.chars().count();
    let cut: String = cell.chars().take(keep).chain(marker.chars()).collect();
    (cut.into(), Some(full))
}
