//! Cell-level rules shared by reading and writing: formula neutralisation, control characters,
//! and how a column is named to the user.

use crate::Kind;

/// The characters that make a spreadsheet treat a cell as a formula (or as a formula's start).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Makes a cell safe to open in a spreadsheet: a cell starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'`, so a spreadsheet shows it as text instead of running it.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(FORMULA_STARTS) { format!("'{cell}") } else { cell.to_owned() }
}

/// Reverses [`neutralise`] and trims the cell, so an export imports back unchanged.
///
/// A `'` before anything else was typed by the user and is kept.
pub fn unquote(cell: &str) -> String {
    let trimmed = cell.trim();
    match trimmed.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest.to_owned(),
        _ => trimmed.to_owned(),
    }
}

/// The first C0 control character (other than tab, line feed and carriage return) or DEL in a cell.
///
/// They are invisible in a spreadsheet, break terminals and other tools, and are never meant.
pub(crate) fn control_character(cell: &str) -> Option<char> {
    cell.chars().find(|c| c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// A spreadsheet column letter: 0 → A, 25 → Z, 26 → AA.
pub(crate) fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// How the user finds a column in their tool: a letter in a workbook, a 1-based number in a CSV.
pub(crate) fn column_label(kind: Kind, index: usize) -> String {
    match kind {
        Kind::Xlsx => column_letters(index),
        Kind::Csv => (index + 1).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn column_letters_follow_the_spreadsheet() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(16_383), "XFD");
    }

    #[test]
    fn control_characters_except_line_breaks_and_tabs_are_found() {
        assert_eq!(control_character("a\u{0}b"), Some('\u{0}'));
        assert_eq!(control_character("a\u{7f}"), Some('\u{7f}'));
        assert_eq!(control_character("line\none\ttab\r"), None);
    }
}
