//! Files in and out: imports read through `evident-tabular`'s bounded reader into the table the
//! import use cases take; exports are written atomically (a temporary file renamed into place).

use std::path::Path;

use evident_app::AppError;
use evident_app::imports::Table;
use evident_tabular::Limits;

pub use evident_tabular::{extension, markdown, neutralise};

/// Reads an import file: each row's cells in `layout` order, row numbers as the user sees them.
pub fn table(path: &Path, layout: &[&str], required: &[&str]) -> anyhow::Result<Table> {
    Ok(Table::read(path, &Limits::default(), layout, required)?)
}

/// Writes a table as CSV, XLSX or Markdown (by extension), saying what had to be truncated.
pub fn write(path: &Path, sheet_name: &str, header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let report = evident_tabular::write(path, sheet_name, header, rows).map_err(AppError::from)?;
    for warning in &report.warnings {
        eprintln!("warning: {}: row {}, column {}: {}", path.display(), warning.row, warning.column, warning.message);
    }
    Ok(())
}
