//! Imports: a whole table is validated first; every problem comes back as a [`RowError`] (row,
//! column, code, message), and only a clean table is written, in one `apply`: all or nothing.

pub mod assets;
pub mod controls;
pub mod frameworks;
pub mod risks;

use serde::Serialize;

use evident_tabular::Limits;

use crate::error::{AppError, RowError};

/// A table as imports read it: the file it came from and its rows, cells in the layout's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub file: String,
    pub rows: Vec<TableRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    /// The row number the user sees (the spreadsheet row, the CSV record).
    pub number: usize,
    /// One cell per layout column; a column the file lacks is empty.
    pub cells: Vec<String>,
}

impl Table {
    /// Reads an import file through the bounded reader, each row's cells in `layout` order.
    pub fn read(
        path: &std::path::Path,
        limits: &Limits,
        layout: &[&str],
        required: &[&str],
    ) -> Result<Table, AppError> {
        Self::from_sheet(evident_tabular::read(path, limits)?, layout, required)
    }

    /// An uploaded file (the web server's path), read through the same bounded reader.
    pub fn from_bytes(
        name: &str,
        bytes: &[u8],
        limits: &Limits,
        layout: &[&str],
        required: &[&str],
    ) -> Result<Table, AppError> {
        let kind = evident_tabular::Kind::from_path(std::path::Path::new(name))?;
        Self::from_sheet(evident_tabular::read_bytes(name, kind, bytes, limits)?, layout, required)
    }

    fn from_sheet(sheet: evident_tabular::Sheet, layout: &[&str], required: &[&str]) -> Result<Table, AppError> {
        let columns = sheet.columns(layout, required)?;
        let rows = sheet
            .rows
            .iter()
            .map(|row| TableRow {
                number: row.number,
                cells: columns.cells(row).into_iter().map(str::to_owned).collect(),
            })
            .collect();
        Ok(Table { file: sheet.file, rows })
    }
}

impl TableRow {
    pub fn cell(&self, column: usize) -> &str {
        self.cells.get(column).map_or("", String::as_str)
    }
}

/// Whether an import writes what it found, or only checks it (a dry run: every row checked, every
/// problem reported, the report of what it would write, and nothing written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    #[default]
    Apply,
    DryRun,
}

/// A table rendered to bytes in `format` (`csv` or `xlsx`), as an export sends it over HTTP: the
/// same writer as a file export (through a temporary file, so an XLSX is what `write` makes).
pub fn table_bytes(
    format: &str,
    sheet: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<(Vec<u8>, evident_tabular::WriteReport), AppError> {
    if !matches!(format, "csv" | "xlsx") {
        return Err(AppError::invalid(format!("{format:?} is not an export format: csv or xlsx")));
    }
    let failed =
        |e: std::io::Error| AppError::new(crate::Code::WriteFailed, format!("the export could not be made: {e}"));
    let dir = tempfile::tempdir().map_err(failed)?;
    let path = dir.path().join(format!("export.{format}"));
    let report = evident_tabular::write(&path, sheet, header, rows)?;
    let bytes = std::fs::read(&path).map_err(failed)?;
    Ok((bytes, report))
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Mappings set (controls import only).
    pub mappings: usize,
}

/// Collects row errors and turns them into the error that writes nothing.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<RowError>);

impl Problems {
    pub fn push(&mut self, row: usize, column: &str, message: impl Into<String>) {
        self.coded(row, column, "invalid_value", message);
    }

    pub fn coded(&mut self, row: usize, column: &str, code: &'static str, message: impl Into<String>) {
        self.0.push(RowError { row, column: Some(column.to_owned()), code, message: message.into() });
    }

    pub fn into_result(self, table: &Table) -> Result<(), AppError> {
        if self.0.is_empty() { Ok(()) } else { Err(AppError::rows(&table.file, self.0, table.rows.len())) }
    }
}
