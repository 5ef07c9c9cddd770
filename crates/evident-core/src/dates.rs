//! Calendar dates the engines accept, and the periods they reason about.
//!
//! A compliance record's date lies between 2000 and 2199. Anything outside is a typing error (1926
//! for 2026) or a sentinel (0001-01-01, 9999-12-31) that would turn every computed due date into
//! nonsense, so the engines refuse it with the date and what it was, instead of computing with it.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The earliest date an engine accepts.
pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(date) => date,
    None => panic!("2000-01-01 is a date"),
};

/// The latest date an engine accepts.
pub const LATEST: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(date) => date,
    None => panic!("2199-12-31 is a date"),
};

/// A date outside [`EARLIEST`]..=[`LATEST`], and what it was the date of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {date} is not a date evident accepts (2000-01-01 to 2199-12-31)")]
pub struct DateOutOfRange {
    pub what: String,
    pub date: NaiveDate,
}

/// `date` when it lies in the accepted range; `what` names it in the error ("today", "the
/// effective date of IAM-01's evidence").
pub fn check(what: impl FnOnce() -> String, date: NaiveDate) -> Result<NaiveDate, DateOutOfRange> {
    if (EARLIEST..=LATEST).contains(&date) { Ok(date) } else { Err(DateOutOfRange { what: what(), date }) }
}

/// A span of days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawPeriod")]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

/// Why a period is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a period ends on or after it starts; {to} is before {from}")]
pub struct PeriodError {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if to < from { Err(PeriodError { from, to }) } else { Ok(Self { from, to }) }
    }

    /// The one day `day`.
    pub fn day(day: NaiveDate) -> Self {
        Self { from: day, to: day }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Days in the period, both ends counted.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    pub fn overlaps(&self, other: &Period) -> bool {
        self.from <= other.to && other.from <= self.to
    }

    /// The days both periods share, if any.
    pub fn intersection(&self, other: &Period) -> Option<Period> {
        self.overlaps(other).then(|| Period { from: self.from.max(other.from), to: self.to.min(other.to) })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to { write!(f, "{}", self.from) } else { write!(f, "{} to {}", self.from, self.to) }
    }
}

#[derive(Deserialize)]
struct RawPeriod {
    from: NaiveDate,
    to: NaiveDate,
}

impl TryFrom<RawPeriod> for Period {
    type Error = PeriodError;
    fn try_from(raw: RawPeriod) -> Result<Self, Self::Error> {
        Period::new(raw.from, raw.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_outside_2000_to_2199_are_refused_with_what_they_were() {
        assert_eq!(check(|| "today".into(), day(2026, 6, 1)), Ok(day(2026, 6, 1)));
        assert_eq!(check(|| "today".into(), EARLIEST), Ok(EARLIEST));
        assert_eq!(check(|| "today".into(), LATEST), Ok(LATEST));
        let refused = check(|| "today".into(), day(1926, 6, 1)).unwrap_err();
        assert_eq!(refused.to_string(), "today 1926-06-01 is not a date evident accepts (2000-01-01 to 2199-12-31)");
        assert!(check(|| "today".into(), day(2200, 1, 1)).is_err());
    }

    #[test]
    fn a_period_ending_before_it_starts_is_refused_and_overlaps_count_both_ends() {
        assert!(Period::new(day(2026, 1, 2), day(2026, 1, 1)).is_err());
        let jan = Period::new(day(2026, 1, 1), day(2026, 1, 31)).unwrap();
        let feb = Period::new(day(2026, 2, 1), day(2026, 2, 28)).unwrap();
        assert!(!jan.overlaps(&feb));
        assert!(jan.overlaps(&Period::day(day(2026, 1, 31))));
        assert_eq!(jan.days(), 31);
        let refused: Result<Period, _> = serde_json::from_str(r#"{"from":"2026-02-01","to":"2026-01-01"}"#);
        assert!(refused.is_err(), "a period read from JSON is checked too");
    }
}
