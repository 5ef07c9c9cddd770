//! One test binary for evident-tabular: reading CSV and XLSX (including hostile files), special
//! files, writing, and properties over arbitrary input.

mod csv;
mod files;
mod props;
mod write;
mod xlsx;

use std::io::Write as _;

use evident_tabular::{Kind, Limits, Sheet, TabularError};

/// Reads bytes as a named file would be read, with the default limits.
pub fn read(kind: Kind, bytes: &[u8]) -> Result<Sheet, TabularError> {
    evident_tabular::read_bytes("upload", kind, bytes, &Limits::default())
}

/// The error of a read that must fail.
pub fn refused(result: Result<Sheet, TabularError>) -> TabularError {
    match result {
        Ok(sheet) => panic!("expected a refusal, read {sheet:?}"),
        Err(e) => e,
    }
}

/// The rows of a sheet as (number, cells) for compact assertions.
pub fn rows(sheet: &Sheet) -> Vec<(usize, Vec<&str>)> {
    sheet.rows.iter().map(|r| (r.number, r.cells.iter().map(String::as_str).collect())).collect()
}

/// A row of inline-string cells from column A on; empty strings are left out, as Excel does.
pub fn xml_row(number: u32, cells: &[&str]) -> String {
    let mut xml = format!(r#"<row r="{number}">"#);
    for (i, text) in cells.iter().enumerate() {
        if !text.is_empty() {
            let column = char::from(b'A' + u8::try_from(i).expect("a few columns"));
            xml.push_str(&format!(r#"<c r="{column}{number}" t="inlineStr"><is><t>{text}</t></is></c>"#));
        }
    }
    xml.push_str("</row>");
    xml
}

/// A worksheet part around `sheet_data` (the rows), with an optional `<dimension ref>`.
pub fn sheet_xml(dimension: Option<&str>, sheet_data: &str) -> String {
    let dimension = dimension.map(|d| format!(r#"<dimension ref="{d}"/>"#)).unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{dimension}<sheetData>{sheet_data}</sheetData></worksheet>"#
    )
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

/// A minimal workbook written part by part: the fixed parts, then `parts` (name, content).
pub fn workbook(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let fixed: [(&str, &[u8]); 3] = [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
    ];
    for (name, content) in fixed.iter().chain(parts) {
        zip.start_file(*name, options).expect("start a part");
        zip.write_all(content).expect("write a part");
    }
    zip.finish().expect("finish the zip").into_inner()
}

/// A workbook whose first sheet is `sheet` (a whole worksheet part).
pub fn workbook_with_sheet(sheet: &str) -> Vec<u8> {
    workbook(&[("xl/worksheets/sheet1.xml", sheet.as_bytes())])
}
