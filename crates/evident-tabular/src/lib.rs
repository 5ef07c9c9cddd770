//! Tables in and out of CSV, XLSX and Markdown files, for every import and export.
//!
//! Reading is bounded whatever the input: a file must be a regular file under a size limit; a
//! workbook's zip directory is checked (total uncompressed size, entry count, entries that lie about
//! their size, oversized XML tokens) before any part is parsed; the sheet is streamed cell by cell
//! so a declared or sparse dimension never decides an allocation; rows, columns, cells and text are
//! counted against [`Limits`] before they are stored.
//!
//! Every row problem (ragged rows, invalid UTF-8, control characters, over-long cells) is collected
//! and returned together as [`RowError`]s, numbered as the user sees the rows.
//!
//! Writing is atomic: a table goes to a temporary file beside the target, is synced, then renamed
//! over it, so a failure never destroys the previous file. CSV and XLSX cells are neutralised
//! against formula injection; [`unquote`] reverses that on read.
//!
//! Architecture Invariant: this crate never prints; it returns typed errors with stable codes.

#![forbid(unsafe_code)]

mod build;
mod cell;
mod csv_read;
mod error;
mod guard;
mod write;
mod xlsx_read;

use std::io::Read as _;
use std::path::Path;

pub use cell::{neutralise, unquote};
pub use error::{RowError, TabularError};
pub use write::{WriteReport, WriteWarning, markdown, write};

/// How much a read may take; every field can be changed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest file accepted, in bytes.
    pub max_file_bytes: u64,
    /// The largest total of a workbook's parts once decompressed, in bytes, as the zip directory
    /// declares them (and as they turn out: an entry larger than it declares is refused).
    pub max_xlsx_bytes: u64,
    /// The highest row number (header included, blank rows counted).
    pub max_rows: usize,
    /// The most columns a row may have.
    pub max_columns: usize,
    /// The most cells stored (rows × their width, including empty cells between filled ones).
    pub max_cells: usize,
    /// The longest cell, in characters (Excel's own limit by default).
    pub max_cell_chars: usize,
    /// The most text the whole table may hold once read, in bytes. Shared strings let a small
    /// workbook repeat one long string in every cell, so cells × cell length is no bound. A
    /// workbook's shared strings part may decompress to at most twice this.
    pub max_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 50 * 1024 * 1024,
            max_xlsx_bytes: 200 * 1024 * 1024,
            max_rows: 200_000,
            max_columns: 256,
            max_cells: 2_000_000,
            max_cell_chars: 32_767,
            max_text_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The file formats a table is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Csv,
    Xlsx,
}

impl Kind {
    const ALLOWED: &'static [&'static str] = &["csv", "xlsx"];

    /// The kind named by a file's extension (any case); anything else is `unsupported_file_type`.
    pub fn from_path(path: &Path) -> Result<Self, TabularError> {
        match extension(path).as_deref() {
            Some("csv") => Ok(Self::Csv),
            Some("xlsx") => Ok(Self::Xlsx),
            _ => Err(TabularError::UnsupportedFileType { file: path.display().to_string(), allowed: Self::ALLOWED }),
        }
    }
}

/// The file's extension, lower-cased.
pub fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

/// A table read from a file: its header (trimmed, lower-cased) and its non-blank rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub file: String,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

/// One non-blank row: the number the user sees and its cells, trimmed, formula quotes removed.
///
/// A row may have fewer cells than the header (trailing empty cells are not stored), never more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub number: usize,
    pub cells: Vec<String>,
}

/// Where each column of a layout sits in a sheet, from [`Sheet::columns`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    positions: Vec<Option<usize>>,
}

impl Sheet {
    /// Matches the header to a layout: a column outside the layout, or a missing required column,
    /// is an error; optional columns may be absent.
    pub fn columns(&self, layout: &[&str], required: &[&str]) -> Result<Columns, TabularError> {
        for (i, name) in self.header.iter().enumerate() {
            if !layout.contains(&name.as_str()) {
                return Err(TabularError::UnknownColumn {
                    file: self.file.clone(),
                    column: name.clone(),
                    position: (i + 1).to_string(),
                    layout: layout.join(", "),
                });
            }
        }
        if let Some(name) = required.iter().find(|name| !self.header.iter().any(|h| h == *name)) {
            return Err(TabularError::MissingColumn { file: self.file.clone(), column: (*name).to_owned() });
        }
        Ok(Columns { positions: layout.iter().map(|name| self.header.iter().position(|h| h == name)).collect() })
    }
}

impl Columns {
    /// A row's cells in layout order; a column the file does not have reads as "".
    pub fn cells<'a>(&self, row: &'a Row) -> Vec<&'a str> {
        self.positions.iter().map(|c| c.and_then(|i| row.cells.get(i)).map_or("", String::as_str)).collect()
    }
}

/// Reads the first sheet of an XLSX file, or a CSV file, within `limits`.
///
/// Only a regular file is opened (a FIFO, device or directory would block or never end), and at most
/// `max_file_bytes + 1` bytes are read from it, so a file that grows meanwhile is still bounded.
pub fn read(path: &Path, limits: &Limits) -> Result<Sheet, TabularError> {
    let file = path.display().to_string();
    let kind = Kind::from_path(path)?;
    let unreadable = |e: std::io::Error| TabularError::UnreadableFile { file: file.clone(), reason: e.to_string() };
    check_regular(&file, &std::fs::metadata(path).map_err(unreadable)?, limits)?;
    let opened = open_without_blocking(path).map_err(unreadable)?;
    // The path may have been swapped between the check and the open: check what was opened.
    check_regular(&file, &opened.metadata().map_err(unreadable)?, limits)?;
    let mut bytes = Vec::new();
    opened.take(limits.max_file_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(unreadable)?;
    parse(file, kind, &bytes, limits)
}

/// Reads a table from bytes already in memory (an upload); `name` is used in every message.
pub fn read_bytes(name: &str, kind: Kind, bytes: &[u8], limits: &Limits) -> Result<Sheet, TabularError> {
    parse(name.to_owned(), kind, bytes, limits)
}

fn parse(file: String, kind: Kind, bytes: &[u8], limits: &Limits) -> Result<Sheet, TabularError> {
    let size = bytes.len() as u64;
    if size > limits.max_file_bytes {
        return Err(TabularError::FileTooLarge { file, size, limit: limits.max_file_bytes });
    }
    match kind {
        Kind::Csv => csv_read::read(file, bytes, limits),
        Kind::Xlsx => xlsx_read::read(file, bytes, limits),
    }
}

fn check_regular(file: &str, metadata: &std::fs::Metadata, limits: &Limits) -> Result<(), TabularError> {
    let kind = metadata.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_symlink() {
            "a symbolic link"
        } else {
            special_kind(&kind)
        };
        return Err(TabularError::NotARegularFile { file: file.to_owned(), kind: what });
    }
    if metadata.len() > limits.max_file_bytes {
        return Err(TabularError::FileTooLarge {
            file: file.to_owned(),
            size: metadata.len(),
            limit: limits.max_file_bytes,
        });
    }
    Ok(())
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// Opens for reading without blocking: if a FIFO took the file's place after the metadata check,
/// opening it must not wait for a writer (the check on the opened handle then refuses it).
#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}
