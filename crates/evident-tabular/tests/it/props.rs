use evident_tabular::{Kind, Limits, read_bytes, write};
use proptest::prelude::*;

use crate::{sheet_xml, workbook_with_sheet};

fn read_or_refuse(kind: Kind, bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(sheet) = read_bytes("fuzz", kind, bytes, &Limits::default()) {
        prop_assert!(!sheet.header.is_empty());
        prop_assert!(sheet.rows.iter().all(|r| r.cells.iter().any(|c| !c.is_empty())), "blank rows are skipped");
        prop_assert!(sheet.rows.iter().all(|r| r.cells.len() <= sheet.header.len()), "no row is wider than the header");
        prop_assert!(sheet.rows.windows(2).all(|w| w[0].number < w[1].number), "row numbers increase");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_are_read_or_refused_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
        read_or_refuse(Kind::Csv, &bytes)?;
        read_or_refuse(Kind::Xlsx, &bytes)?;
    }

    #[test]
    fn csv_text_with_quotes_separators_and_line_breaks_is_read_or_refused(text in "[a-c,\"\r\n;=@+' \u{0}-]{0,300}") {
        read_or_refuse(Kind::Csv, text.as_bytes())?;
    }

    #[test]
    fn arbitrary_sheet_markup_is_read_or_refused_without_a_panic(
        data in r#"(<row( r="[0-9]{1,12}")?>(<c( r="[A-Z]{1,4}[0-9]{1,11}")?( t="(s|inlineStr|b|e|str|n)")?>(<v>[0-9a-z.-]{0,4}</v>|<is><t>[a-z&;#0-9]{0,6}</t></is>)?</c>){0,4}</row>){0,5}"#,
        dimension in proptest::option::of("[A-Z]{1,4}[0-9]{1,9}(:[A-Z]{1,4}[0-9]{1,9})?"),
    ) {
        read_or_refuse(Kind::Xlsx, &workbook_with_sheet(&sheet_xml(dimension.as_deref(), &data)))?;
    }

    // Cells are trimmed on read, and a cell that starts with a quote (or whitespace then a quote)
    // before a formula character is read as the neutralised formula: that is the rule exports have
    // always followed, so such cells are left out here.
    #[test]
    fn written_tables_read_back_unchanged(
        rows in proptest::collection::vec(proptest::collection::vec("([a-z0-9=+@-][a-z0-9=+@' -]{0,7})?", 2), 0..6),
        xlsx in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(if xlsx { "t.xlsx" } else { "t.csv" });
        write(&path, "T", &["a", "b"], &rows).expect("write");
        let sheet = evident_tabular::read(&path, &Limits::default()).expect("read back");
        let expected: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut cells: Vec<String> = r.iter().map(|c| c.trim().to_owned()).collect();
                while cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                cells
            })
            .filter(|r| !r.is_empty())
            .collect();
        let got: Vec<Vec<String>> = sheet.rows.iter().map(|r| r.cells.clone()).collect();
        prop_assert_eq!(got, expected);
    }
}
