//! Tables in and out of CSV and XLSX files, so every import and export reads and writes both.
//!
//! Exports neutralise spreadsheet formulas: a cell starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return gets a leading `'`, so a spreadsheet shows it as text instead of running it.
//! Imports remove that quote again, so an export imports back unchanged.

use std::path::Path;

use anyhow::Context as _;

use crate::context::failure;

/// A table read from a file: its header and its rows, each cell trimmed.
#[derive(Debug)]
pub struct Sheet {
    pub file: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Sheet {
    /// The 1-based spreadsheet row number of data row `index` (the header is row 1).
    pub fn row_number(index: usize) -> usize {
        index + 2
    }

    /// Reports every row problem on stderr and returns the error that writes nothing.
    pub fn reject(&self, errors: &[(usize, &str, String)]) -> anyhow::Error {
        for (row, column, reason) in errors {
            eprintln!("error: {}: row {row}, column {column}: {reason}", self.file);
        }
        failure(
            format!("nothing was imported: {} problem(s) in {} rows of {}", errors.len(), self.rows.len(), self.file),
            "fix the rows named above and import the file again",
        )
    }

    /// The position of each named column; unknown and missing required columns are errors.
    pub fn columns(&self, layout: &[&str], required: &[&str]) -> anyhow::Result<Vec<Option<usize>>> {
        let hint = "run the template command to get a file with the expected columns";
        for (i, name) in self.header.iter().enumerate() {
            if !layout.contains(&name.as_str()) {
                return Err(failure(
                    format!(
                        "{}: column {} ({name:?}) is not part of the layout: {}",
                        self.file,
                        i + 1,
                        layout.join(", ")
                    ),
                    hint,
                ));
            }
        }
        for name in required {
            if !self.header.iter().any(|h| h == name) {
                return Err(failure(format!("{}: the required column {name:?} is missing", self.file), hint));
            }
        }
        Ok(layout.iter().map(|name| self.header.iter().position(|h| h == name)).collect())
    }
}

/// A row's cells in layout order, from the positions `Sheet::columns` gave; absent columns are empty.
pub fn cells<'a>(columns: &[Option<usize>], row: &'a [String]) -> Vec<&'a str> {
    columns.iter().map(|c| c.and_then(|i| row.get(i)).map_or("", String::as_str)).collect()
}

fn is_xlsx(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
}

/// The file's extension, lower-cased.
pub fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

fn check_extension(path: &Path, allowed: &[&str]) -> anyhow::Result<()> {
    match extension(path) {
        Some(e) if allowed.contains(&e.as_str()) => Ok(()),
        _ => Err(failure(
            format!("{}: unsupported file type", path.display()),
            format!("use a .{} file", allowed.join(", .")),
        )),
    }
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

/// Reverses export neutralisation.
fn unquote(cell: &str) -> String {
    let trimmed = cell.trim();
    match trimmed.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_owned(),
        _ => trimmed.to_owned(),
    }
}

/// Makes a cell safe to open in a spreadsheet.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_owned() }
}

/// Reads the first sheet of an XLSX file, or a CSV file; blank rows are skipped.
pub fn read(path: &Path) -> anyhow::Result<Sheet> {
    check_extension(path, &["csv", "xlsx"])?;
    let file = path.display().to_string();
    let mut rows: Vec<Vec<String>> = if is_xlsx(path) {
        use calamine::Reader as _;
        let mut workbook = calamine::open_workbook_auto(path)
            .map_err(|e| failure(format!("{file}: cannot open the workbook: {e}"), "save it as .xlsx or .csv"))?;
        let range = workbook
            .worksheet_range_at(0)
            .ok_or_else(|| failure(format!("{file}: the workbook has no sheet"), "put the table on the first sheet"))?
            .map_err(|e| failure(format!("{file}: cannot read the first sheet: {e}"), "save it as .xlsx or .csv"))?;
        range.rows().map(|row| row.iter().map(|cell| unquote(&cell.to_string())).collect()).collect()
    } else {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {file}"))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            failure(
                format!("{file}: not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
                "save the file as CSV UTF-8",
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record =
                record.map_err(|e| failure(format!("{file}: row {}: {e}", i + 1), "check the quoting of that row"))?;
            rows.push(record.iter().map(unquote).collect());
        }
        rows
    };
    rows.retain(|row| row.iter().any(|c| !c.is_empty()));
    if rows.is_empty() {
        return Err(failure(format!("{file}: the file is empty"), "the first row must name the columns"));
    }
    let header: Vec<String> = rows.remove(0).into_iter().map(|h| h.to_ascii_lowercase()).collect();
    Ok(Sheet { file, header, rows })
}

/// Writes a table as CSV, XLSX or Markdown (by extension); CSV and XLSX cells are neutralised.
pub fn write(path: &Path, sheet_name: &str, header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    check_extension(path, &["csv", "xlsx", "md"])?;
    let file = path.display().to_string();
    if extension(path).as_deref() == Some("md") {
        std::fs::write(path, format!("# {sheet_name}\n\n{}\n", markdown(header, rows)))
            .map_err(|e| failure(format!("cannot write {file}: {e}"), "check the folder exists and is writable"))?;
    } else if is_xlsx(path) {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, name) in header.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *name, &bold)?;
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32 + 1, c as u16, neutralise(cell))?;
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofit();
        workbook
            .save(path)
            .map_err(|e| failure(format!("cannot write {file}: {e}"), "check the folder exists and is writable"))?;
    } else {
        let mut writer = csv::Writer::from_path(path)
            .map_err(|e| failure(format!("cannot write {file}: {e}"), "check the folder exists and is writable"))?;
        writer.write_record(header)?;
        for row in rows {
            writer.write_record(row.iter().map(|c| neutralise(c)))?;
        }
        writer.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_bytes_are_read_or_refused_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let dir = tempfile::tempdir().unwrap();
            for name in ["fuzz.csv", "fuzz.xlsx"] {
                let path = dir.path().join(name);
                std::fs::write(&path, &bytes).unwrap();
                if let Ok(sheet) = read(&path) {
                    prop_assert!(!sheet.header.is_empty());
                    prop_assert!(sheet.rows.iter().all(|r| r.iter().any(|c| !c.is_empty())), "blank rows are skipped");
                }
            }
        }

        #[test]
        fn csv_text_with_quotes_and_separators_is_read_or_refused(text in "[a-z,\"\n;=@+' -]{0,300}") {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("fuzz.csv");
            std::fs::write(&path, &text).unwrap();
            let _ = read(&path);
        }
    }

    #[test]
    fn formulas_are_neutralised_and_restored() {
        for dangerous in ["=HYPERLINK(\"x\")", "+1", "-1+2", "@SUM(A1)", "\tx"] {
            let safe = neutralise(dangerous);
            assert!(safe.starts_with('\''), "{dangerous:?}");
            assert_eq!(unquote(&safe), dangerous, "an export imports back unchanged");
        }
        assert_eq!(neutralise("Quarterly review"), "Quarterly review");
        assert_eq!(unquote("'quoted on purpose"), "'quoted on purpose");
    }
}
