//! Turns the rows a reader found into a [`Sheet`]: finds the header, checks every cell, collects
//! every row problem, and keeps the table within the limits.

use crate::cell::{column_label, control_character};
use crate::{Kind, Limits, Row, RowError, Sheet, TabularError};

/// Past this many row problems the user has enough to fix; the rest are counted, not listed.
const MAX_ROW_ERRORS: usize = 1_000;

pub(crate) struct Builder<'l> {
    file: String,
    kind: Kind,
    limits: &'l Limits,
    header: Option<Vec<String>>,
    rows: Vec<Row>,
    errors: Vec<RowError>,
    truncated: bool,
    cells: usize,
    text: usize,
}

impl<'l> Builder<'l> {
    pub(crate) fn new(file: String, kind: Kind, limits: &'l Limits) -> Self {
        Self {
            file,
            kind,
            limits,
            header: None,
            rows: Vec::new(),
            errors: Vec::new(),
            truncated: false,
            cells: 0,
            text: 0,
        }
    }

    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    pub(crate) fn too_large(&self, reason: String) -> TabularError {
        TabularError::SheetTooLarge { file: self.file.clone(), reason }
    }

    /// The name a row problem gives a column: its header name, or its letter/number beyond it.
    fn column_name(&self, index: usize) -> String {
        match self.header.as_ref().and_then(|h| h.get(index)) {
            Some(name) => name.clone(),
            None => column_label(self.kind, index),
        }
    }

    /// Records a problem of one row (and column). The message is the problem alone: the row and
    /// column are fields of the error, and whoever shows it (the CLI, the API) names them once.
    pub(crate) fn row_error(&mut self, row: usize, column: Option<usize>, code: &'static str, problem: &str) {
        if self.errors.len() >= MAX_ROW_ERRORS {
            self.truncated = true;
            return;
        }
        let column = column.map(|i| self.column_name(i));
        self.errors.push(RowError { row, column, code, message: problem.to_owned() });
    }

    /// Counts a row's text against the limits before it is kept. Readers call this as they go, so
    /// nothing beyond the limits is ever held for long.
    pub(crate) fn count_text(&mut self, bytes: usize) -> Result<(), TabularError> {
        self.text = self.text.saturating_add(bytes);
        if self.text > self.limits.max_text_bytes {
            return Err(self.too_large(format!("it holds more than {} bytes of text", self.limits.max_text_bytes)));
        }
        Ok(())
    }

    /// Takes one row as the user sees it (`number`), its cells already trimmed and unquoted.
    pub(crate) fn push(&mut self, number: usize, mut cells: Vec<String>) -> Result<(), TabularError> {
        if number > self.limits.max_rows {
            return Err(self.too_large(format!("row {number} is beyond the {} rows allowed", self.limits.max_rows)));
        }
        if cells.len() > self.limits.max_columns {
            return Err(self.too_large(format!(
                "row {number} has {} columns, more than the {} allowed",
                cells.len(),
                self.limits.max_columns
            )));
        }
        self.cells = self.cells.saturating_add(cells.len());
        if self.cells > self.limits.max_cells {
            return Err(self.too_large(format!("it has more than {} cells", self.limits.max_cells)));
        }
        if cells.iter().all(String::is_empty) {
            return Ok(());
        }
        self.check_cells(number, &cells);
        let Some(width) = self.header.as_ref().map(Vec::len) else {
            return self.set_header(cells);
        };
        if let Some(extra) = cells.iter().skip(width).position(|c| !c.is_empty()) {
            let index = width + extra;
            let filled = cells.iter().rposition(|c| !c.is_empty()).map_or(0, |i| i + 1);
            self.row_error(
                number,
                Some(index),
                "ragged_row",
                &format!("the row has {filled} cells but the header names only {width} columns"),
            );
        }
        cells.truncate(width);
        while cells.last().is_some_and(String::is_empty) {
            cells.pop();
        }
        self.rows.push(Row { number, cells });
        Ok(())
    }

    fn check_cells(&mut self, number: usize, cells: &[String]) {
        for (i, cell) in cells.iter().enumerate() {
            if let Some(c) = control_character(cell) {
                self.row_error(
                    number,
                    Some(i),
                    "control_character",
                    &format!("the cell contains the control character U+{:04X}", u32::from(c)),
                );
            }
            let chars = cell.chars().count();
            if chars > self.limits.max_cell_chars {
                self.row_error(
                    number,
                    Some(i),
                    "cell_too_long",
                    &format!("the cell has {chars} characters, more than the {} allowed", self.limits.max_cell_chars),
                );
            }
        }
    }

    /// The first non-blank row names the columns; trailing empty cells are not columns.
    fn set_header(&mut self, mut cells: Vec<String>) -> Result<(), TabularError> {
        while cells.last().is_some_and(String::is_empty) {
            cells.pop();
        }
        let names: Vec<String> = cells.iter().map(|c| c.to_lowercase()).collect();
        for (i, name) in names.iter().enumerate() {
            let column = column_label(self.kind, i);
            if name.is_empty() {
                return Err(TabularError::InvalidHeader {
                    file: self.file.clone(),
                    column,
                    reason: "the column has no name; name it or delete the column".into(),
                });
            }
            if let Some(first) = names[..i].iter().position(|n| n == name) {
                return Err(TabularError::InvalidHeader {
                    file: self.file.clone(),
                    column,
                    reason: format!(
                        "the name {name:?} is already used by column {}; each column needs its own name",
                        column_label(self.kind, first)
                    ),
                });
            }
        }
        self.header = Some(names);
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<Sheet, TabularError> {
        if !self.errors.is_empty() || self.truncated {
            return Err(TabularError::InvalidRows { file: self.file, errors: self.errors, truncated: self.truncated });
        }
        match self.header {
            Some(header) => Ok(Sheet { file: self.file, header, rows: self.rows }),
            None => Err(TabularError::EmptyFile { file: self.file }),
        }
    }
}
