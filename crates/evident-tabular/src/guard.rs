//! Checks a workbook's zip before calamine parses it, so a small file cannot make it decompress or
//! hold more than the limits allow.
//!
//! calamine reads the shared strings, styles, workbook and relationships whole into memory and
//! trusts the zip crate, which trusts each entry's declared size. So, in order:
//! 1. every end-of-directory record in the bytes may declare at most `MAX_ENTRIES` entries (the zip
//!    crate reserves memory by that count before reading the directory);
//! 2. the directory's declared uncompressed sizes may total at most `max_xlsx_bytes`, and the
//!    shared strings at most twice `max_text_bytes` (no decompression yet);
//! 3. each entry is decompressed once through a reader bounded at its declared size + 1 byte and
//!    refused if it yields more, so what calamine later decompresses from the same bytes is bounded
//!    by the declared total; XML parts are scanned on the way for what would make a parser hold a
//!    lot at once (one huge text or tag, a huge shared string, millions of small records) and, in
//!    worksheets, for cell references longer than Excel's grid (calamine would overflow on them).

use std::io::{Cursor, Read as _};

use crate::{Limits, TabularError};

/// Real workbooks have tens of parts; a zip declaring more is not a spreadsheet export.
const MAX_ENTRIES: u64 = 10_000;
/// Relationships, sheets, defined names and number formats are each kept in maps by calamine.
const MAX_RECORDS: usize = 20_000;
/// Excel allows 64,000 cell formats; calamine keeps one byte per format.
const MAX_FORMATS: usize = 1_000_000;
/// Excel's grid ends at column XFD and row 1,048,576.
const MAX_REF_LETTERS: usize = 3;
const MAX_REF_DIGITS: usize = 7;

pub(crate) fn inspect(file: &str, bytes: &[u8], limits: &Limits) -> Result<(), TabularError> {
    let too_large = |reason: String| TabularError::WorkbookTooLarge { file: file.to_owned(), reason };
    let unreadable = |reason: String| TabularError::UnreadableFile { file: file.to_owned(), reason };
    if let Some(declared) = declared_entries(bytes).filter(|n| *n > MAX_ENTRIES) {
        return Err(too_large(format!(
            "its zip directory declares {declared} parts, more than the {MAX_ENTRIES} allowed"
        )));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| unreadable(format!("not an XLSX workbook (save it as .xlsx or .csv): {e}")))?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| unreadable(format!("part {i} of the workbook: {e}")))?;
        total = total.saturating_add(entry.size());
        // calamine holds every shared string while the sheet is read, and the table holds its own
        // copy of the text: bounding the first by the second keeps both within a known budget.
        let strings_cap = (limits.max_text_bytes as u64).saturating_mul(2);
        if entry.name().to_ascii_lowercase().ends_with("sharedstrings.xml") && entry.size() > strings_cap {
            return Err(too_large(format!(
                "its shared strings decompress to {} bytes, more than the {strings_cap} allowed (twice the text a table may hold)",
                entry.size()
            )));
        }
    }
    if total > limits.max_xlsx_bytes {
        return Err(too_large(format!(
            "its parts decompress to {total} bytes, more than the {} allowed",
            limits.max_xlsx_bytes
        )));
    }
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| unreadable(format!("part {i} of the workbook: {e}")))?;
        let name = entry.name().to_owned();
        let declared = entry.size();
        let mut scan = XmlScan::for_part(&name, limits);
        let mut bounded = entry.take(declared.saturating_add(1));
        let mut read: u64 = 0;
        loop {
            let n = bounded.read(&mut buf).map_err(|e| unreadable(format!("part {name}: {e}")))?;
            if n == 0 {
                break;
            }
            read += n as u64;
            if read > declared {
                return Err(too_large(format!(
                    "part {name} decompresses to more than the {declared} bytes it declares"
                )));
            }
            if let Some(scan) = scan.as_mut() {
                scan.feed(&buf[..n]).map_err(|reason| too_large(format!("part {name}: {reason}")))?;
            }
        }
    }
    Ok(())
}

/// The largest entry count declared by any end-of-central-directory record (zip or zip64) found
/// anywhere in the bytes: the zip crate may try each candidate, so each one is checked.
fn declared_entries(bytes: &[u8]) -> Option<u64> {
    let u16_at = |i: usize| bytes.get(i..i + 2).map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])));
    let u64_at =
        |i: usize| bytes.get(i..i + 8).map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
    let mut most = None;
    for (i, window) in bytes.windows(4).enumerate() {
        let declared = match window {
            b"PK\x05\x06" => u16_at(i + 8).max(u16_at(i + 10)),
            b"PK\x06\x06" => u64_at(i + 24).max(u64_at(i + 32)),
            _ => continue,
        };
        most = most.max(declared);
    }
    most
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    SharedStrings,
    Worksheet,
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    Name,
    Tag,
    Attr,
    AfterAttr,
    BeforeValue,
    Value(u8),
}

/// A byte-level look at an XML part: not a parser, just enough to bound what one would hold.
struct XmlScan {
    part: Part,
    token_cap: usize,
    max_strings: usize,
    state: State,
    since_lt: usize,
    name: Vec<u8>,
    attr: Vec<u8>,
    reference: bool,
    letters: usize,
    digits: usize,
    strings: usize,
    string_bytes: Option<usize>,
    records: usize,
    formats: usize,
}

impl XmlScan {
    fn for_part(name: &str, limits: &Limits) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if !(lower.ends_with(".xml") || lower.ends_with(".rels")) {
            return None;
        }
        let part = if lower.ends_with("sharedstrings.xml") {
            Part::SharedStrings
        } else if lower.contains("worksheets/") {
            Part::Worksheet
        } else {
            Part::Other
        };
        Some(Self {
            part,
            // A cell's text, escaped (`&#x10FFFF;` is ten bytes per character), plus some markup.
            token_cap: limits.max_cell_chars.saturating_mul(10).max(1024 * 1024),
            max_strings: limits.max_cells,
            state: State::Text,
            since_lt: 0,
            name: Vec::with_capacity(32),
            attr: Vec::with_capacity(8),
            reference: false,
            letters: 0,
            digits: 0,
            strings: 0,
            string_bytes: None,
            records: 0,
            formats: 0,
        })
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        for &b in chunk {
            if b == b'<' {
                self.since_lt = 0;
                self.state = State::Name;
                self.name.clear();
                continue;
            }
            self.since_lt += 1;
            if self.since_lt > self.token_cap {
                return Err(format!("one text or tag is longer than {} bytes", self.token_cap));
            }
            if let Some(n) = self.string_bytes.as_mut() {
                *n += 1;
                if *n > self.token_cap {
                    return Err(format!("one shared string is longer than {} bytes", self.token_cap));
                }
            }
            let space = b.is_ascii_whitespace();
            self.state = match self.state {
                State::Text => State::Text,
                State::Name if space || b == b'>' || b == b'/' && !self.name.is_empty() => {
                    self.tag_named()?;
                    if b == b'>' { State::Text } else { State::Tag }
                }
                State::Name => {
                    if self.name.len() < 32 {
                        self.name.push(b);
                    }
                    State::Name
                }
                State::Tag if b == b'>' => State::Text,
                State::Tag if space || b == b'/' => State::Tag,
                State::Tag | State::AfterAttr if b != b'=' && b != b'>' && !space => {
                    self.attr.clear();
                    self.attr.push(b);
                    State::Attr
                }
                State::Attr if b == b'=' => self.value_follows(),
                State::Attr if space => State::AfterAttr,
                State::Attr if b == b'>' => State::Text,
                State::Attr => {
                    if self.attr.len() < 8 {
                        self.attr.push(b);
                    }
                    State::Attr
                }
                State::AfterAttr if b == b'=' => self.value_follows(),
                State::AfterAttr if b == b'>' => State::Text,
                State::AfterAttr | State::BeforeValue if space => self.state,
                State::BeforeValue if b == b'"' || b == b'\'' => State::Value(b),
                State::BeforeValue | State::AfterAttr => State::Tag,
                State::Value(quote) if b == quote => State::Tag,
                State::Value(quote) => {
                    if self.reference {
                        self.reference_byte(b)?;
                    }
                    State::Value(quote)
                }
                State::Tag => State::Tag,
            };
        }
        Ok(())
    }

    fn value_follows(&mut self) -> State {
        self.reference = self.part == Part::Worksheet && (self.attr == b"r" || self.attr == b"ref");
        self.letters = 0;
        self.digits = 0;
        State::BeforeValue
    }

    fn reference_byte(&mut self, b: u8) -> Result<(), String> {
        if b.is_ascii_alphabetic() {
            if self.digits > 0 {
                self.letters = 0;
                self.digits = 0;
            }
            self.letters += 1;
        } else if b.is_ascii_digit() {
            self.digits += 1;
        } else {
            self.letters = 0;
            self.digits = 0;
        }
        if self.letters > MAX_REF_LETTERS || self.digits > MAX_REF_DIGITS {
            return Err("a cell reference is beyond Excel's grid (XFD1048576)".into());
        }
        Ok(())
    }

    fn tag_named(&mut self) -> Result<(), String> {
        let (end, name) = match self.name.strip_prefix(b"/") {
            Some(rest) => (true, rest),
            None => (false, &self.name[..]),
        };
        let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
        match (self.part, end, local) {
            (Part::SharedStrings, false, b"si") => {
                self.strings += 1;
                self.string_bytes = Some(0);
                if self.strings > self.max_strings {
                    return Err(format!("it holds more than {} shared strings", self.max_strings));
                }
            }
            (Part::SharedStrings, true, b"si") => self.string_bytes = None,
            (Part::Other, false, b"Relationship" | b"sheet" | b"definedName" | b"numFmt") => {
                self.records += 1;
                if self.records > MAX_RECORDS {
                    return Err(format!("it holds more than {MAX_RECORDS} sheets, names or relationships"));
                }
            }
            (Part::Other, false, b"xf") => {
                self.formats += 1;
                if self.formats > MAX_FORMATS {
                    return Err(format!("it holds more than {MAX_FORMATS} cell formats"));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(name: &str, xml: &str) -> Result<(), String> {
        let limits = Limits { max_cells: 2, ..Limits::default() };
        let mut scan = XmlScan::for_part(name, &limits).expect("an XML part");
        // Byte by byte, so every state change also happens across a chunk boundary.
        xml.as_bytes().chunks(1).try_for_each(|c| scan.feed(c))
    }

    #[test]
    fn references_within_the_grid_pass_and_longer_ones_are_refused() {
        let sheet = "xl/worksheets/sheet1.xml";
        assert!(scan(sheet, r#"<dimension ref="A1:XFD1048576"/><row r="1"><c r="XFD1048576" t="s">"#).is_ok());
        assert!(scan(sheet, r#"<row r="12345678901">"#).is_err());
        assert!(scan(sheet, r#"<c r = 'AAAAAAAA1'>"#).is_err());
        assert!(scan(sheet, r#"<c s="AAAAAAAA1" t="12345678901">"#).is_ok(), "other attributes are not references");
    }

    #[test]
    fn shared_strings_are_counted() {
        assert!(scan("xl/sharedStrings.xml", "<sst><si><t>a</t></si><si><t>b</t></si></sst>").is_ok());
        assert!(scan("xl/sharedStrings.xml", "<sst><si><t>a</t></si><x:si/><si><t>c</t></si></sst>").is_err());
    }

    #[test]
    fn declared_entry_counts_are_found_anywhere() {
        let mut bytes = vec![0u8; 10];
        bytes.extend_from_slice(b"PK\x05\x06\0\0\0\0\x10\x27\x10\x27");
        assert_eq!(declared_entries(&bytes), Some(10_000));
    }
}
