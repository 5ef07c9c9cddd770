use evident_tabular::{Kind, Limits, TabularError, read_bytes};

use crate::{read, refused, rows};

#[test]
fn header_is_trimmed_and_lower_cased_cells_trimmed_and_bom_dropped() {
    let sheet = read(Kind::Csv, "\u{feff} Code ,TITLE\n A.1 , Access '=x \n".as_bytes()).expect("read");
    assert_eq!(sheet.header, ["code", "title"]);
    assert_eq!(rows(&sheet), [(2, vec!["A.1", "Access '=x"])]);
}

#[test]
fn neutralised_formulas_are_restored() {
    let sheet = read(Kind::Csv, b"a,b\n'=SUM(A1),'@x\n").expect("read");
    assert_eq!(rows(&sheet), [(2, vec!["=SUM(A1)", "@x"])]);
}

#[test]
fn blank_records_and_empty_lines_are_skipped_but_keep_their_numbers() {
    // Record 1 header, 2 data, 3 a blank record, 4 an empty line, 5 data (CRLF line ends), and a
    // quoted line break that must not count as a row of its own.
    let sheet = read(Kind::Csv, b"a,b\r\n1,2\r\n,\r\n\r\n\"x\ny\",4\r\n5,6\r\n").expect("read");
    assert_eq!(rows(&sheet), [(2, vec!["1", "2"]), (5, vec!["x\ny", "4"]), (6, vec!["5", "6"])]);
    let sheet = read(Kind::Csv, b"\n\na,b\n1,2\n").expect("read");
    assert_eq!(rows(&sheet), [(4, vec!["1", "2"])], "empty lines before the header count too");
}

#[test]
fn invalid_utf8_is_named_by_record_and_column() {
    let error = refused(read(Kind::Csv, b"a,b\n1,2\n3,caf\xe9\n"));
    assert_eq!(error.code(), "invalid_rows");
    let problems = error.row_errors();
    assert_eq!(problems.len(), 1);
    assert_eq!((problems[0].row, problems[0].column.as_deref(), problems[0].code), (3, Some("b"), "invalid_utf8"));
    assert_eq!(
        problems[0].message, "the cell is not UTF-8 text (byte 4 of the cell); save the file as CSV UTF-8",
        "the message is the problem alone: the row and column are the error's fields"
    );
}

#[test]
fn records_with_another_field_count_are_ragged_with_both_counts() {
    let error = refused(read(Kind::Csv, b"a,b,c\n1,2,3\n1,2\n1,2,3,4\n"));
    let found: Vec<_> = error.row_errors().iter().map(|e| (e.row, e.code)).collect();
    assert_eq!(found, [(3, "ragged_row"), (4, "ragged_row")]);
    assert!(error.row_errors()[0].message.contains("2 fields but the header has 3"));
    assert!(error.row_errors()[1].message.contains("4 fields but the header has 3"));
}

#[test]
fn every_row_problem_is_returned_together() {
    let error = refused(read(Kind::Csv, b"a,b\nok,x\x00y\n\x7f,ok\nfine,fine\n"));
    let found: Vec<_> = error.row_errors().iter().map(|e| (e.row, e.column.as_deref(), e.code)).collect();
    assert_eq!(found, [(2, Some("b"), "control_character"), (3, Some("a"), "control_character")]);
    assert!(error.to_string().starts_with("upload: 2 problem(s)"), "{error}");
}

#[test]
fn header_without_a_name_or_with_a_repeated_name_is_named() {
    let error = refused(read(Kind::Csv, b"code,,title\n"));
    assert!(matches!(&error, TabularError::InvalidHeader { column, .. } if column == "2"), "{error}");
    let error = refused(read(Kind::Csv, b"code,Title,title\n"));
    assert_eq!(error.code(), "invalid_header");
    assert!(error.to_string().contains("header column 3: the name \"title\" is already used by column 2"), "{error}");
}

#[test]
fn trailing_empty_header_cells_are_not_columns() {
    let sheet = read(Kind::Csv, b"a,b,,\n1,2,,\n").expect("read");
    assert_eq!(sheet.header, ["a", "b"]);
    assert_eq!(rows(&sheet), [(2, vec!["1", "2"])]);
}

#[test]
fn empty_and_blank_files_are_empty() {
    for bytes in [&b""[..], b"\xef\xbb\xbf", b"\n\n", b" , \n,,\n"] {
        assert_eq!(refused(read(Kind::Csv, bytes)).code(), "empty_file", "{bytes:?}");
    }
}

#[test]
fn limits_are_applied_and_configurable() {
    let limits = Limits { max_rows: 3, max_columns: 2, max_cell_chars: 5, max_file_bytes: 100, ..Limits::default() };
    let refuse = |bytes: &[u8]| refused(read_bytes("small.csv", Kind::Csv, bytes, &limits));
    assert_eq!(refuse(b"a,b\n1,2\n3,4\n5,6\n").code(), "sheet_too_large");
    assert_eq!(refuse(b"a,b,c\n").code(), "sheet_too_large");
    assert_eq!(refuse(&[b'a'; 101]).code(), "file_too_large");
    let error = refuse(b"a,b\n123456,x\n");
    assert_eq!(error.row_errors()[0].code, "cell_too_long");
    assert!(error.to_string().contains("small.csv"));
}
