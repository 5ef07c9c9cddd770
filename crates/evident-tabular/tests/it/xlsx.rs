use std::io::Write as _;
use std::time::Instant;

use evident_tabular::{Kind, Limits, read_bytes};

use crate::{read, refused, rows, sheet_xml, workbook, workbook_with_sheet, xml_row};

#[test]
fn inline_and_shared_strings_and_numbers_are_read_with_spreadsheet_row_numbers() {
    let shared = r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2"><si><t>Owner</t></si><si><r><t>Ali</t></r><r><t>ce</t></r></si></sst>"#;
    let data = format!(
        r#"{}<row r="3"><c r="A3" t="inlineStr"><is><t> A.1 </t></is></c><c r="B3" t="s"><v>1</v></c><c r="C3"><v>2.5</v></c></row>"#,
        xml_row(1, &["Code", "Title"]).replace("</row>", r#"<c r="C1" t="s"><v>0</v></c></row>"#),
    );
    let bytes = workbook(&[
        ("xl/sharedStrings.xml", shared.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet_xml(None, &data).as_bytes()),
    ]);
    let sheet = read(Kind::Xlsx, &bytes).expect("read");
    assert_eq!(sheet.header, ["code", "title", "owner"]);
    assert_eq!(rows(&sheet), [(3, vec!["A.1", "Alice", "2.5"])], "row 2 is blank and keeps its number");
}

#[test]
fn a_cell_at_the_far_corner_of_the_grid_is_refused_before_anything_is_allocated() {
    let data = format!(
        r#"{}<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>"#,
        xml_row(1, &["a"])
    );
    let bytes = workbook_with_sheet(&sheet_xml(None, &data));
    let started = Instant::now();
    let error = refused(read(Kind::Xlsx, &bytes));
    assert_eq!(error.code(), "sheet_too_large");
    assert!(error.to_string().contains("cell XFD1048576 is beyond"), "{error}");
    assert!(started.elapsed().as_secs() < 5, "refused without walking the grid");
    // Far columns alone are refused too, by the column limit.
    let data = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="XFD1" t="inlineStr"><is><t>b</t></is></c></row>"#;
    assert_eq!(refused(read(Kind::Xlsx, &workbook_with_sheet(&sheet_xml(None, data)))).code(), "sheet_too_large");
}

#[test]
fn a_dimension_claiming_the_whole_grid_with_few_cells_reads_fine() {
    let data = format!("{}{}", xml_row(1, &["a", "b"]), xml_row(2, &["1", "2"]));
    let sheet = read(Kind::Xlsx, &workbook_with_sheet(&sheet_xml(Some("A1:XFD1048576"), &data))).expect("read");
    assert_eq!(rows(&sheet), [(2, vec!["1", "2"])]);
}

#[test]
fn formatted_empty_cells_far_away_are_not_part_of_the_table() {
    let data = format!(r#"{}<row r="900000"><c r="XFD900000" s="1"/></row>"#, xml_row(1, &["a"]));
    let sheet = read(Kind::Xlsx, &workbook_with_sheet(&sheet_xml(None, &data))).expect("read");
    assert_eq!(sheet.header, ["a"]);
    assert!(sheet.rows.is_empty());
}

#[test]
fn sparse_cells_are_bounded_by_the_cell_limit() {
    // Row 2 has cells in A and in column 200: 200 cells stored; the limit is 150.
    let data = format!(r#"{}<row r="2"><c r="GR2" t="inlineStr"><is><t>x</t></is></c></row>"#, xml_row(1, &["a"]));
    let limits = Limits { max_cells: 150, ..Limits::default() };
    let error = refused(read_bytes("sparse.xlsx", Kind::Xlsx, &workbook_with_sheet(&sheet_xml(None, &data)), &limits));
    assert_eq!(error.code(), "sheet_too_large");
}

#[test]
fn ragged_rows_and_control_characters_are_named_by_row_and_column() {
    let data = format!(
        "{}{}{}",
        xml_row(1, &["code", "title"]),
        xml_row(2, &["A.1", "ok", "stray"]),
        xml_row(4, &["A.2", "bad&#127;title"]),
    );
    let error = refused(read(Kind::Xlsx, &workbook_with_sheet(&sheet_xml(None, &data))));
    let found: Vec<_> = error.row_errors().iter().map(|e| (e.row, e.column.as_deref(), e.code)).collect();
    assert_eq!(found, [(2, Some("C"), "ragged_row"), (4, Some("title"), "control_character")]);
    // The position is in the error's fields; the message is the problem alone, so a front end
    // that names the row and column does not say them twice.
    assert_eq!(error.row_errors()[1].message, "the cell contains the control character U+007F");
}

#[test]
fn a_duplicate_header_is_named_by_letter() {
    let data = xml_row(1, &["code", "Code"]);
    let error = refused(read(Kind::Xlsx, &workbook_with_sheet(&sheet_xml(None, &data))));
    assert_eq!(error.code(), "invalid_header");
    assert!(error.to_string().contains("header column B: the name \"code\" is already used by column A"), "{error}");
}

#[test]
fn cell_references_beyond_the_grid_are_refused_not_overflowed() {
    let data = r#"<row r="99999999999"><c r="A99999999999" t="inlineStr"><is><t>x</t></is></c></row>"#;
    let error = refused(read(Kind::Xlsx, &workbook_with_sheet(&sheet_xml(None, data))));
    assert_eq!(error.code(), "workbook_too_large");
    assert!(error.to_string().contains("beyond Excel's grid"), "{error}");
}

#[test]
fn a_gigabyte_sheet_compressed_to_megabytes_is_refused_without_decompressing() {
    let bytes = bomb(1 << 30);
    assert!(bytes.len() < 8 << 20, "the bomb is small: {} bytes", bytes.len());
    let started = Instant::now();
    let error = refused(read(Kind::Xlsx, &bytes));
    assert_eq!(error.code(), "workbook_too_large");
    assert!(error.to_string().contains("decompress to"), "{error}");
    assert!(started.elapsed().as_secs() < 5, "refused from the zip directory alone");
}

#[test]
fn an_entry_that_lies_about_its_size_is_refused() {
    let mut bytes = bomb(16 << 20);
    lie_about_sizes(&mut bytes, 4_096);
    let error = refused(read(Kind::Xlsx, &bytes));
    assert_eq!(error.code(), "workbook_too_large");
    assert!(error.to_string().contains("more than the 4096 bytes it declares"), "{error}");
}

#[test]
fn too_many_shared_strings_are_refused_before_calamine_reads_them() {
    let shared = format!("<sst>{}</sst>", "<si><t>x</t></si>".repeat(50));
    let bytes = workbook(&[
        ("xl/sharedStrings.xml", shared.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet_xml(None, &xml_row(1, &["a"])).as_bytes()),
    ]);
    let limits = Limits { max_cells: 10, ..Limits::default() };
    let error = refused(read_bytes("strings.xlsx", Kind::Xlsx, &bytes, &limits));
    assert_eq!(error.code(), "workbook_too_large");
}

#[test]
fn a_file_that_is_not_a_workbook_is_unreadable() {
    for bytes in [&b""[..], b"PK\x03\x04 not really", b"a,b\n1,2\n"] {
        assert_eq!(refused(read(Kind::Xlsx, bytes)).code(), "unreadable_file", "{bytes:?}");
    }
}

/// A workbook whose sheet is `size` bytes of one repeated row, written compressed as it goes.
pub fn bomb(size: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6));
    zip.start_file("xl/worksheets/sheet1.xml", options).expect("start");
    let chunk = xml_row(1, &["a"]).repeat(1 << 14);
    let mut written = 0;
    while written < size {
        zip.write_all(chunk.as_bytes()).expect("write");
        written += chunk.len();
    }
    zip.finish().expect("finish").into_inner()
}

/// Rewrites every declared uncompressed size (local headers and central directory) to `size`.
pub fn lie_about_sizes(bytes: &mut [u8], size: u32) {
    let positions: Vec<(usize, usize)> = bytes
        .windows(4)
        .enumerate()
        .filter_map(|(i, w)| match w {
            b"PK\x03\x04" => Some((i, 22)),
            b"PK\x01\x02" => Some((i, 24)),
            _ => None,
        })
        .collect();
    for (at, offset) in positions {
        bytes[at + offset..at + offset + 4].copy_from_slice(&size.to_le_bytes());
    }
}

#[test]
fn shared_strings_larger_than_twice_the_text_limit_are_refused_before_decompressing() {
    let shared = format!("<sst><si><t>{}</t></si></sst>", "x".repeat(5_000));
    let bytes = workbook(&[
        ("xl/sharedStrings.xml", shared.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet_xml(None, &xml_row(1, &["a"])).as_bytes()),
    ]);
    let limits = Limits { max_text_bytes: 2_000, ..Limits::default() };
    let error = refused(read_bytes("strings.xlsx", Kind::Xlsx, &bytes, &limits));
    assert_eq!(error.code(), "workbook_too_large");
    assert!(error.to_string().contains("shared strings decompress to"), "{error}");
    assert!(read_bytes("strings.xlsx", Kind::Xlsx, &bytes, &Limits::default()).is_ok());
}

#[test]
fn one_long_shared_string_in_every_cell_is_bounded_by_the_text_limit() {
    let shared = format!("<sst><si><t>{}</t></si></sst>", "x".repeat(1_000));
    let data = format!(
        "{}{}",
        xml_row(1, &["a", "b"]),
        (2..40)
            .map(|r| format!(r#"<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="B{r}" t="s"><v>0</v></c></row>"#))
            .collect::<String>()
    );
    let bytes = workbook(&[
        ("xl/sharedStrings.xml", shared.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet_xml(None, &data).as_bytes()),
    ]);
    let limits = Limits { max_text_bytes: 10_000, ..Limits::default() };
    let error = refused(read_bytes("repeat.xlsx", Kind::Xlsx, &bytes, &limits));
    assert_eq!(error.code(), "sheet_too_large");
    assert!(error.to_string().contains("more than 10000 bytes of text"), "{error}");
}
