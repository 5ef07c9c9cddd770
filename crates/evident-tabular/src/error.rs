//! What can go wrong reading or writing a table, each with a stable code for the API and the CLI.

use serde::Serialize;

/// One problem in one row (and usually one column) of a table that was otherwise readable.
///
/// Imports return these as data so a user sees every problem of a file at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The row number the user sees: the spreadsheet row for XLSX, the record for CSV (header = 1).
    pub row: usize,
    /// The column's header name, or its letter when the header has none (a cell beyond the header).
    pub column: Option<String>,
    /// Stable: `ragged_row`, `invalid_utf8`, `control_character`, `cell_too_long`.
    pub code: &'static str,
    pub message: String,
}

/// Reading or writing a table failed; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum TabularError {
    #[error("{file}: the file is {size} bytes, more than the {limit} bytes allowed")]
    FileTooLarge { file: String, size: u64, limit: u64 },
    #[error("{file}: not a regular file ({kind}); give the path of a .csv or .xlsx file")]
    NotARegularFile { file: String, kind: &'static str },
    #[error("{file}: unsupported file type; use one of: .{}", allowed.join(", ."))]
    UnsupportedFileType { file: String, allowed: &'static [&'static str] },
    #[error("{file}: cannot read the file: {reason}")]
    UnreadableFile { file: String, reason: String },
    #[error("{file}: the workbook is too large to open safely: {reason}")]
    WorkbookTooLarge { file: String, reason: String },
    #[error("{file}: the sheet is too large: {reason}")]
    SheetTooLarge { file: String, reason: String },
    #[error("{file}: the file is empty; the first row must name the columns")]
    EmptyFile { file: String },
    #[error("{file}: header column {column}: {reason}")]
    InvalidHeader { file: String, column: String, reason: String },
    #[error("{file}: column {position} ({column:?}) is not part of the layout: {layout}")]
    UnknownColumn { file: String, column: String, position: String, layout: String },
    #[error("{file}: the required column {column:?} is missing")]
    MissingColumn { file: String, column: String },
    #[error("{file}: {} problem(s) in the rows{}", errors.len(), if *truncated { " (only the first ones are listed)" } else { "" })]
    InvalidRows { file: String, errors: Vec<RowError>, truncated: bool },
    #[error("cannot write {file}: {reason}")]
    WriteFailed { file: String, reason: String },
}

impl TabularError {
    /// The stable snake_case name of the error, for the API's `code` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::FileTooLarge { .. } => "file_too_large",
            Self::NotARegularFile { .. } => "not_a_regular_file",
            Self::UnsupportedFileType { .. } => "unsupported_file_type",
            Self::UnreadableFile { .. } => "unreadable_file",
            Self::WorkbookTooLarge { .. } => "workbook_too_large",
            Self::SheetTooLarge { .. } => "sheet_too_large",
            Self::EmptyFile { .. } => "empty_file",
            Self::InvalidHeader { .. } => "invalid_header",
            Self::UnknownColumn { .. } => "unknown_column",
            Self::MissingColumn { .. } => "missing_column",
            Self::InvalidRows { .. } => "invalid_rows",
            Self::WriteFailed { .. } => "write_failed",
        }
    }

    /// The file (or the target of a write) the error is about.
    pub fn file(&self) -> &str {
        match self {
            Self::FileTooLarge { file, .. }
            | Self::NotARegularFile { file, .. }
            | Self::UnsupportedFileType { file, .. }
            | Self::UnreadableFile { file, .. }
            | Self::WorkbookTooLarge { file, .. }
            | Self::SheetTooLarge { file, .. }
            | Self::EmptyFile { file }
            | Self::InvalidHeader { file, .. }
            | Self::UnknownColumn { file, .. }
            | Self::MissingColumn { file, .. }
            | Self::InvalidRows { file, .. }
            | Self::WriteFailed { file, .. } => file,
        }
    }

    /// The row problems of an `invalid_rows` error; empty for every other error.
    pub fn row_errors(&self) -> &[RowError] {
        match self {
            Self::InvalidRows { errors, .. } => errors,
            _ => &[],
        }
    }
}
