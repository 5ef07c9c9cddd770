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
