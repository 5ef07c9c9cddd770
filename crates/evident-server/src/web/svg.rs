//! The geometry of the charts the pages draw as SVG on the server: readiness bars and the risk
//! heat map. Numbers only; the templates hold the markup (and escape every label).

use evident_core::risk::HeatMap;

/// The width of a full bar, in SVG user units.
pub(crate) const BAR_WIDTH: u32 = 240;

/// One bar: its length for `percent` (0 to 100) of [`BAR_WIDTH`].
pub(crate) fn bar_length(percent: f64) -> u32 {
    let percent = if percent.is_finite() { percent.clamp(0.0, 100.0) } else { 0.0 };
    (percent / 100.0 * f64::from(BAR_WIDTH)).round() as u32
}

/// The CSS class of a readiness percentage: the colour band it is drawn in.
pub(crate) fn band(percent: f64) -> &'static str {
    match percent {
        p if p >= 80.0 => "good",
        p if p >= 50.0 => "fair",
        _ => "poor",
    }
}

/// One cell of a heat map as drawn: where, how many risks, and its fill.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) count: usize,
    pub(crate) fill: String,
    /// What a screen reader says of the cell.
    pub(crate) label: String,
}

/// A grid of the methodology's likelihood (rows, highest at the top) by impact (columns).
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub(crate) cells: Vec<Cell>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Row labels with their y, column labels with their x.
    pub(crate) rows: Vec<(u32, String)>,
    pub(crate) columns: Vec<(u32, String)>,
}

pub(crate) const CELL: u32 = 56;
const LEFT: u32 = 110;
const BOTTOM: u32 = 40;

/// The heat map of `counts` (`counts[likelihood - 1][impact - 1]`).
pub(crate) fn grid(map: &HeatMap, counts: &[Vec<usize>], which: &str) -> Grid {
    let rows = map.likelihood.len() as u32;
    let columns = map.impact.len() as u32;
    let mut cells = Vec::new();
    for (l, row) in counts.iter().enumerate() {
        for (i, count) in row.iter().enumerate() {
            let fill = map.colours.get(l).and_then(|r| r.get(i)).map(String::as_str).unwrap_or("");
            cells.push(Cell {
                x: LEFT + i as u32 * CELL,
                y: (rows - 1 - l as u32) * CELL,
                count: *count,
                fill: safe_colour(fill),
                label: format!(
                    "{which}: likelihood {}, impact {}: {count} risk(s)",
                    map.likelihood.get(l).map(String::as_str).unwrap_or("?"),
                    map.impact.get(i).map(String::as_str).unwrap_or("?"),
                ),
            });
        }
    }
    Grid {
        cells,
        width: LEFT + columns * CELL,
        height: rows * CELL + BOTTOM,
        rows: map
            .likelihood
            .iter()
            .enumerate()
            .map(|(l, name)| ((rows - 1 - l as u32) * CELL + CELL / 2, name.clone()))
            .collect(),
        columns: map
            .impact
            .iter()
            .enumerate()
            .map(|(i, name)| (LEFT + i as u32 * CELL + CELL / 2, name.clone()))
            .collect(),
    }
}

/// A methodology's colour if it is a `#rgb`/`#rrggbb` value or a plain colour name; grey
/// otherwise (it is a user's text, and goes into an attribute).
fn safe_colour(colour: &str) -> String {
    let hex =
        colour.strip_prefix('#').is_some_and(|h| matches!(h.len(), 3 | 6) && h.chars().all(|c| c.is_ascii_hexdigit()));
    let name = !colour.is_empty() && colour.len() <= 20 && colour.chars().all(|c| c.is_ascii_alphabetic());
    if hex || name { colour.to_owned() } else { "#9e9e9e".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stay_within_their_width() {
        assert_eq!(bar_length(0.0), 0);
        assert_eq!(bar_length(50.0), BAR_WIDTH / 2);
        assert_eq!(bar_length(100.0), BAR_WIDTH);
        assert_eq!(bar_length(250.0), BAR_WIDTH);
        assert_eq!(bar_length(f64::NAN), 0);
    }

    #[test]
    fn a_colour_that_is_not_one_becomes_grey() {
        assert_eq!(safe_colour("#c62828"), "#c62828");
        assert_eq!(safe_colour("orange"), "orange");
        assert_eq!(safe_colour("red\" onload=\"x"), "#9e9e9e");
        assert_eq!(safe_colour("url(#x)"), "#9e9e9e");
    }
}
