use std::path::Path;

use evident_tabular::{Limits, markdown, read, write};

fn header() -> [&'static str; 3] {
    ["code", "title", "note"]
}

fn table() -> Vec<Vec<String>> {
    vec![
        vec!["A.1".into(), "=HYPERLINK(\"http://x\")".into(), "+1".into()],
        vec!["A.2".into(), "@SUM(A1)".into(), "-2 | piped\nline".into()],
        vec!["A.3".into(), "'quoted on purpose".into(), String::new()],
    ]
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).expect("list").map(|e| e.expect("entry").file_name().to_string_lossy().into()).collect();
    names.sort();
    names
}

#[test]
fn csv_and_xlsx_round_trip_neutralised_formulas_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["out.csv", "out.xlsx"] {
        let path = dir.path().join(name);
        let report = write(&path, "Controls", &header(), &table()).expect("write");
        assert!(report.warnings.is_empty());
        let raw = std::fs::read(&path).expect("written");
        if name.ends_with(".csv") {
            let text = String::from_utf8(raw).expect("utf-8");
            assert!(text.contains("'=HYPERLINK") && text.contains("'@SUM") && text.contains("'+1"), "{text}");
        }
        let sheet = read(&path, &Limits::default()).expect("read back");
        assert_eq!(sheet.header, header());
        let cells: Vec<Vec<String>> = sheet.rows.iter().map(|r| r.cells.clone()).collect();
        let mut expected = table();
        expected[2].pop(); // a trailing empty cell is not stored
        assert_eq!(cells, expected, "{name}");
        assert_eq!(sheet.rows.iter().map(|r| r.number).collect::<Vec<_>>(), [2, 3, 4]);
    }
}

#[test]
fn markdown_escapes_pipes_and_line_breaks() {
    let text = markdown(&header(), &table());
    assert!(text.contains("-2 \\| piped line"), "{text}");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out.md");
    write(&path, "Controls", &header(), &table()).expect("write");
    let written = std::fs::read_to_string(&path).expect("read");
    assert!(written.starts_with("# Controls\n\n"));
    assert_eq!(written.lines().filter(|l| l.starts_with('|')).count(), 5, "header, rule and three rows: {written}");
}

#[test]
fn a_failed_write_keeps_the_previous_file_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("soa.xlsx");
    write(&path, "Good", &header(), &table()).expect("first write");
    let before = std::fs::read(&path).expect("written");
    // Excel forbids `[` in sheet names, so this export fails after the table is built.
    let error = write(&path, "Bad[name]", &header(), &table()).expect_err("refused");
    assert_eq!(error.code(), "write_failed");
    assert!(error.to_string().starts_with(&format!("cannot write {}", path.display())), "{error}");
    assert_eq!(std::fs::read(&path).expect("still there"), before, "the previous export is untouched");
    assert_eq!(files_in(dir.path()), ["soa.xlsx"], "the temporary file beside it was removed");
}

#[test]
fn a_write_into_a_missing_folder_names_the_target() {
    let error = write(Path::new("/nonexistent/folder/out.csv"), "x", &header(), &table()).expect_err("refused");
    assert_eq!(error.code(), "write_failed");
    assert!(error.to_string().contains("/nonexistent/folder/out.csv"), "{error}");
}

#[test]
fn only_csv_xlsx_and_md_are_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let error = write(&dir.path().join("out.txt"), "x", &header(), &table()).expect_err("refused");
    assert_eq!(error.code(), "unsupported_file_type");
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn an_over_long_xlsx_cell_is_truncated_with_a_marker_and_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("long.xlsx");
    let long = "é".repeat(40_000);
    let rows = vec![vec!["A.1".into(), "short".into(), "fine".into()], vec!["A.2".into(), "ok".into(), long]];
    let report = write(&path, "Controls", &header(), &rows).expect("write");
    assert_eq!(report.warnings.len(), 1);
    let warning = &report.warnings[0];
    assert_eq!((warning.row, warning.column.as_str(), warning.code), (3, "note", "cell_truncated"));
    let sheet = read(&path, &Limits::default()).expect("read back");
    let cell = &sheet.rows[1].cells[2];
    assert_eq!(cell.chars().count(), 32_767);
    assert!(cell.ends_with("… [truncated by evident: 40000 characters in full]"), "{}", &cell[cell.len() - 80..]);
    // CSV has no such limit: the cell is written whole.
    let csv = dir.path().join("long.csv");
    assert!(write(&csv, "Controls", &header(), &rows).expect("write").warnings.is_empty());
}
