//! Freshness: when each control's next evidence is due, what is overdue, and a calendar of what
//! falls due in the next days.
//!
//! The input is a summary per control, not every evidence record: its frequency, an optional
//! maximum age that overrides it, and its latest evidence's effective date (when the thing
//! happened, not when it was uploaded). From these:
//!
//! - **Interval.** Continuous and daily: 1 day; weekly: 7 days; monthly, quarterly, semi-annual and
//!   annual: 1, 3, 6 and 12 calendar months (month ends clamp: evidence of 31 January is due again
//!   on 28 or 29 February); event-driven: none, since the event, not the calendar, sets when it
//!   runs. A control's maximum age (`max_age`, 1 to 1,830 days) replaces the interval with that
//!   many days, for every frequency (an event-driven control with one is due like any other).
//! - **Next due** = latest effective date + interval.
//! - **State**, on `today`: `never_evidenced` without evidence; `overdue` when today is past the
//!   due date (the due date itself is still in time); `due_soon` from `lead` days before the due
//!   date; `fresh` before that. An event-driven control without a maximum age is `fresh` once
//!   evidenced and never overdue.
//! - **Lead time.** [`FreshnessPolicy::lead_days`] (14 by default), but never more than half the
//!   interval, rounded down, so a short interval is not permanently due soon: a daily control is due
//!   soon only on its due date, a weekly one 3 days before, monthly and longer 14 days before.
//!
//! The calendar ([`calendar`]) lists what falls due from today to `days` ahead: overdue controls
//! first (oldest due date first), then the never-evidenced ones (due now, with no date), then the
//! rest by due date. Each control is one entry, its next due date, with the due dates after it
//! inside the horizon summarised as a [`Recurrence`] (every interval, how many more, the last)
//! rather than listed, so a daily control is one line, not ninety. The later dates assume each is
//! met on time. An overdue control has none projected: they depend on when it is evidenced.
//! Event-driven controls without a maximum age have no due dates and are not in the calendar.

use std::collections::HashMap;
use std::fmt;

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::control::Frequency;
use crate::dates::{self, DateOutOfRange};
use crate::ids::{ControlCode, ControlId, EvidenceId};
use crate::macros::named_enum;

named_enum! {
    /// Where a control's evidence stands on a day.
    pub enum State as "freshness state" {
        Fresh = "fresh",
        DueSoon = "due_soon",
        Overdue = "overdue",
        NeverEvidenced = "never_evidenced",
    }
}

/// A control's own limit on the age of its evidence, in days, replacing its frequency's interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct MaxAge(u32);

impl MaxAge {
    /// Five years: longer than any audit cycle, so anything beyond is a typing error.
    pub const MAX_DAYS: u32 = 1_830;

    pub fn new(days: u32) -> Result<Self, FreshnessError> {
        if (1..=Self::MAX_DAYS).contains(&days) { Ok(Self(days)) } else { Err(FreshnessError::MaxAge(days)) }
    }

    /// A number of days as a person types it (`10`), within 1 to [`MaxAge::MAX_DAYS`].
    pub fn parse(text: &str) -> Result<Self, FreshnessError> {
        let text = text.trim();
        match text.parse::<u32>() {
            Ok(days) => Self::new(days),
            Err(_) => Err(FreshnessError::MaxAgeSyntax(text.to_owned())),
        }
    }

    pub fn days(self) -> u32 {
        self.0
    }
}

impl fmt::Display for MaxAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 day"),
            n => write!(f, "{n} days"),
        }
    }
}

impl TryFrom<u32> for MaxAge {
    type Error = FreshnessError;
    fn try_from(days: u32) -> Result<Self, Self::Error> {
        Self::new(days)
    }
}

impl From<MaxAge> for u32 {
    fn from(age: MaxAge) -> u32 {
        age.0
    }
}

/// How long evidence holds: a number of days or of calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Days(u32),
    Months(u32),
}

impl Interval {
    /// The interval a frequency implies, or the maximum age when the control has one; `None` for an
    /// event-driven control without one.
    pub fn of(frequency: Frequency, max_age: Option<MaxAge>) -> Option<Interval> {
        if let Some(age) = max_age {
            return Some(Interval::Days(age.days()));
        }
        match frequency {
            Frequency::Continuous | Frequency::Daily => Some(Interval::Days(1)),
            Frequency::Weekly => Some(Interval::Days(7)),
            Frequency::Monthly => Some(Interval::Months(1)),
            Frequency::Quarterly => Some(Interval::Months(3)),
            Frequency::SemiAnnual => Some(Interval::Months(6)),
            Frequency::Annual => Some(Interval::Months(12)),
            Frequency::EventDriven => None,
        }
    }

    /// `n` intervals after `date`, counted from `date` each time (so monthly from 31 January is
    /// 28 February, then 31 March), or `None` past the calendar's end.
    pub fn nth_after(self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        match self {
            Interval::Days(days) => date.checked_add_days(Days::new(u64::from(days) * u64::from(n))),
            Interval::Months(months) => date.checked_add_months(Months::new(months.checked_mul(n)?)),
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Interval::Days(1) => f.write_str("every day"),
            Interval::Days(n) => write!(f, "every {n} days"),
            Interval::Months(1) => f.write_str("every month"),
            Interval::Months(n) => write!(f, "every {n} months"),
        }
    }
}

/// How early a control counts as due soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshnessPolicy {
    /// Days before the due date; capped at half the interval (see the module's documentation).
    pub lead_days: u32,
}

impl Default for FreshnessPolicy {
    fn default() -> Self {
        Self { lead_days: 14 }
    }
}

impl FreshnessPolicy {
    /// The lead time for one interval: `lead_days`, at most half the interval's days.
    fn lead(&self, last: NaiveDate, due: NaiveDate) -> i64 {
        i64::from(self.lead_days).min((due - last).num_days() / 2)
    }
}

/// A control's latest evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latest {
    /// The evidence record, when the summary names it (so an explanation can link to it).
    pub evidence: Option<EvidenceId>,
    /// When the thing it proves happened.
    pub effective: NaiveDate,
}

/// What freshness needs to know of one control: a summary of its evidence, not every record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlEvidence {
    pub control: ControlId,
    pub code: ControlCode,
    pub frequency: Frequency,
    /// The control's own limit, replacing its frequency's interval.
    pub max_age: Option<MaxAge>,
    pub latest: Option<Latest>,
}

/// One control's freshness on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlFreshness {
    pub control: ControlId,
    pub code: ControlCode,
    pub frequency: Frequency,
    /// The control's own limit on the age of its evidence, which sets the interval when present.
    pub max_age: Option<MaxAge>,
    pub state: State,
    /// The latest evidence's effective date.
    pub last_effective: Option<NaiveDate>,
    /// The latest evidence record, when known.
    pub evidence: Option<EvidenceId>,
    /// When the next evidence is due; `None` when never evidenced or event-driven.
    pub next_due: Option<NaiveDate>,
    /// How long evidence holds; `None` for event-driven without a maximum age.
    pub interval: Option<Interval>,
}

/// Every control's freshness, in the order of their codes, and looked up by control id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Freshness {
    controls: Vec<ControlFreshness>,
    #[serde(skip)]
    by_id: HashMap<ControlId, usize>,
}

impl Freshness {
    /// No freshness known: readiness then counts every implemented control as it always has.
    pub fn none() -> Self {
        Self::default()
    }

    pub fn get(&self, control: &ControlId) -> Option<&ControlFreshness> {
        self.by_id.get(control).map(|i| &self.controls[*i])
    }

    pub fn controls(&self) -> &[ControlFreshness] {
        &self.controls
    }

    pub fn is_empty(&self) -> bool {
        self.controls.is_empty()
    }

    /// How many controls are in each state.
    pub fn counts(&self) -> HashMap<State, usize> {
        let mut counts = HashMap::new();
        for c in &self.controls {
            *counts.entry(c.state).or_default() += 1;
        }
        counts
    }
}

/// Why freshness cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FreshnessError {
    #[error(transparent)]
    Date(#[from] DateOutOfRange),
    #[error("control {0} is listed twice; give each control one summary")]
    DuplicateControl(ControlCode),
    #[error("a maximum evidence age of {0} days is not allowed: give 1 to 1830 days")]
    MaxAge(u32),
    #[error("{0:?} is not a maximum evidence age: give a number of days, 1 to 1830")]
    MaxAgeSyntax(String),
    #[error("a calendar of {days} days is too long: look at most {max} days ahead")]
    Horizon { days: u32, max: u32 },
}

/// Each control's freshness on `today`.
pub fn freshness(
    policy: &FreshnessPolicy,
    today: NaiveDate,
    controls: &[ControlEvidence],
) -> Result<Freshness, FreshnessError> {
    dates::check(|| "today".into(), today)?;
    let mut out = Freshness { controls: Vec::with_capacity(controls.len()), by_id: HashMap::new() };
    for c in controls {
        out.controls.push(assess(policy, today, c)?);
    }
    out.controls.sort_by(|a, b| crate::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
    for (i, c) in out.controls.iter().enumerate() {
        if out.by_id.insert(c.control.clone(), i).is_some() {
            return Err(FreshnessError::DuplicateControl(c.code.clone()));
        }
    }
    Ok(out)
}

fn assess(policy: &FreshnessPolicy, today: NaiveDate, c: &ControlEvidence) -> Result<ControlFreshness, FreshnessError> {
    let interval = Interval::of(c.frequency, c.max_age);
    let mut out = ControlFreshness {
        control: c.control.clone(),
        code: c.code.clone(),
        frequency: c.frequency,
        max_age: c.max_age,
        state: State::NeverEvidenced,
        last_effective: None,
        evidence: None,
        next_due: None,
        interval,
    };
    let Some(latest) = &c.latest else { return Ok(out) };
    let last = dates::check(|| format!("the effective date of {}'s latest evidence", c.code), latest.effective)?;
    out.last_effective = Some(last);
    out.evidence = latest.evidence.clone();
    out.state = State::Fresh;
    let Some(interval) = interval else { return Ok(out) };
    // Within the accepted dates plus at most five years: always a date.
    let due = interval.nth_after(last, 1).ok_or_else(|| DateOutOfRange {
        what: format!("the effective date of {}'s latest evidence", c.code),
        date: last,
    })?;
    out.next_due = Some(due);
    out.state = if today > due {
        State::Overdue
    } else if (due - today).num_days() <= policy.lead(last, due) {
        State::DueSoon
    } else {
        State::Fresh
    };
    Ok(out)
}

/// The due dates of a control after its next one, inside the calendar's horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Recurrence {
    pub every: Interval,
    /// How many more due dates fall inside the horizon.
    pub more: u32,
    /// The last of them.
    pub until: NaiveDate,
}

/// One control in the calendar: when it is (or was) due, and how it recurs inside the horizon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarEntry {
    pub control: ControlId,
    pub code: ControlCode,
    pub frequency: Frequency,
    /// The control's own limit on the age of its evidence, when it has one.
    pub max_age: Option<MaxAge>,
    pub state: State,
    /// The next due date; `None` for a control never evidenced, which is due now.
    pub due: Option<NaiveDate>,
    pub last_effective: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurs: Option<Recurrence>,
}

/// The longest calendar: one three-year certification cycle.
pub const MAX_HORIZON_DAYS: u32 = 3 * 366;

/// What falls due from `today` to `days` days ahead (see the module's documentation for the order
/// and how recurring due dates are shown).
pub fn calendar(
    policy: &FreshnessPolicy,
    today: NaiveDate,
    controls: &[ControlEvidence],
    days: u32,
) -> Result<Vec<CalendarEntry>, FreshnessError> {
    if days > MAX_HORIZON_DAYS {
        return Err(FreshnessError::Horizon { days, max: MAX_HORIZON_DAYS });
    }
    let all = freshness(policy, today, controls)?;
    let end = today + Days::new(u64::from(days));
    let mut entries: Vec<CalendarEntry> = all
        .controls
        .into_iter()
        .filter(|c| c.interval.is_some() && c.next_due.is_none_or(|due| due <= end))
        .map(|c| {
            let recurs = match (c.state, c.interval, c.last_effective) {
                (State::Fresh | State::DueSoon, Some(every), Some(last)) => recurrence(every, last, end),
                _ => None,
            };
            CalendarEntry {
                control: c.control,
                code: c.code,
                frequency: c.frequency,
                max_age: c.max_age,
                state: c.state,
                due: c.next_due,
                last_effective: c.last_effective,
                recurs,
            }
        })
        .collect();
    // Overdue (oldest first), never evidenced, then upcoming by date; codes break ties.
    let group = |e: &CalendarEntry| match e.state {
        State::Overdue => 0,
        State::NeverEvidenced => 1,
        State::DueSoon | State::Fresh => 2,
    };
    entries.sort_by(|a, b| {
        (group(a), a.due)
            .cmp(&(group(b), b.due))
            .then_with(|| crate::ids::natural_cmp(a.code.as_str(), b.code.as_str()))
    });
    Ok(entries)
}

/// The due dates after the next one (the second, third… interval after `last`) up to `end`.
fn recurrence(every: Interval, last: NaiveDate, end: NaiveDate) -> Option<Recurrence> {
    let mut more = 0;
    let mut until = None;
    let mut n = 2;
    while let Some(due) = every.nth_after(last, n).filter(|d| *d <= end) {
        more += 1;
        until = Some(due);
        n += 1;
    }
    until.map(|until| Recurrence { every, more, until })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn control(code: &str, frequency: Frequency, effective: Option<NaiveDate>) -> ControlEvidence {
        ControlEvidence {
            control: ControlId::parse(&code.to_lowercase()).unwrap(),
            code: ControlCode::parse(code).unwrap(),
            frequency,
            max_age: None,
            latest: effective.map(|effective| Latest { evidence: None, effective }),
        }
    }

    fn one(today: NaiveDate, c: ControlEvidence) -> ControlFreshness {
        freshness(&FreshnessPolicy::default(), today, &[c]).unwrap().controls[0].clone()
    }

    #[test]
    fn a_quarterly_control_is_fresh_then_due_soon_from_the_lead_time_then_overdue_after_its_due_date() {
        let c = control("IAM-01", Frequency::Quarterly, Some(day(2026, 1, 15)));
        let state = |today| one(today, c.clone()).state;
        assert_eq!(one(day(2026, 3, 1), c.clone()).next_due, Some(day(2026, 4, 15)));
        assert_eq!(state(day(2026, 3, 31)), State::Fresh, "15 days before");
        assert_eq!(state(day(2026, 4, 1)), State::DueSoon, "14 days before: the lead time");
        assert_eq!(state(day(2026, 4, 15)), State::DueSoon, "the due date itself is still in time");
        assert_eq!(state(day(2026, 4, 16)), State::Overdue, "the day after");
    }

    #[test]
    fn a_monthly_control_evidenced_on_31_january_is_due_on_the_last_day_of_february() {
        let due = |year| one(day(year, 2, 1), control("OPS-01", Frequency::Monthly, Some(day(year, 1, 31)))).next_due;
        assert_eq!(due(2026), Some(day(2026, 2, 28)));
        assert_eq!(due(2028), Some(day(2028, 2, 29)), "a leap year");
        let annual = one(day(2024, 3, 1), control("GOV-01", Frequency::Annual, Some(day(2024, 2, 29))));
        assert_eq!(annual.next_due, Some(day(2025, 2, 28)));
    }

    #[test]
    fn the_lead_time_is_at_most_half_the_interval_so_a_daily_control_is_due_soon_only_on_its_due_date() {
        let today = day(2026, 6, 10);
        let daily = |effective| one(today, control("LOG-01", Frequency::Daily, Some(effective))).state;
        assert_eq!(daily(day(2026, 6, 10)), State::Fresh, "evidenced today: due tomorrow");
        assert_eq!(daily(day(2026, 6, 9)), State::DueSoon, "evidenced yesterday: due today");
        assert_eq!(daily(day(2026, 6, 8)), State::Overdue, "due yesterday");
        let weekly = |effective| one(today, control("BAK-01", Frequency::Weekly, Some(effective))).state;
        assert_eq!(weekly(day(2026, 6, 7)), State::Fresh, "due in 4 days: before the 3-day lead");
        assert_eq!(weekly(day(2026, 6, 6)), State::DueSoon, "due in 3 days: half the week, rounded down");
        assert_eq!(weekly(day(2026, 6, 3)), State::DueSoon, "due today");
        assert_eq!(weekly(day(2026, 6, 2)), State::Overdue, "due yesterday");
        let monthly = |effective| one(today, control("OPS-01", Frequency::Monthly, Some(effective))).state;
        assert_eq!(monthly(day(2026, 5, 25)), State::Fresh, "due in 15 days");
        assert_eq!(monthly(day(2026, 5, 24)), State::DueSoon, "due in 14 days: the whole lead time");
    }

    #[test]
    fn event_driven_controls_are_fresh_once_evidenced_and_never_overdue() {
        let long_ago = one(day(2030, 1, 1), control("IR-01", Frequency::EventDriven, Some(day(2020, 1, 1))));
        assert_eq!((long_ago.state, long_ago.next_due), (State::Fresh, None));
        let never = one(day(2030, 1, 1), control("IR-01", Frequency::EventDriven, None));
        assert_eq!((never.state, never.next_due), (State::NeverEvidenced, None));
    }

    #[test]
    fn a_maximum_age_replaces_the_interval_with_that_many_days() {
        let mut c = control("IR-01", Frequency::EventDriven, Some(day(2026, 1, 1)));
        c.max_age = Some(MaxAge::new(365).unwrap());
        let f = one(day(2027, 1, 2), c.clone());
        assert_eq!((f.next_due, f.state), (Some(day(2027, 1, 1)), State::Overdue));
        let mut monthly = control("OPS-01", Frequency::Monthly, Some(day(2026, 1, 1)));
        monthly.max_age = Some(MaxAge::new(10).unwrap());
        assert_eq!(one(day(2026, 1, 5), monthly).next_due, Some(day(2026, 1, 11)));
        assert_eq!(MaxAge::new(0), Err(FreshnessError::MaxAge(0)));
        assert!(MaxAge::new(1_831).is_err());
        assert!(serde_json::from_str::<MaxAge>("0").is_err(), "a maximum age read from JSON is checked too");
    }

    #[test]
    fn a_maximum_age_parses_from_what_a_person_types_and_names_what_is_wrong() {
        assert_eq!(MaxAge::parse(" 10 "), Ok(MaxAge::new(10).unwrap()));
        assert_eq!(MaxAge::parse("1830").map(MaxAge::days), Ok(1_830));
        assert_eq!(MaxAge::parse("0"), Err(FreshnessError::MaxAge(0)));
        assert_eq!(MaxAge::parse("1831"), Err(FreshnessError::MaxAge(1_831)));
        for bad in ["", "ten", "-3", "1.5", "99999999999"] {
            let error = MaxAge::parse(bad).unwrap_err();
            assert_eq!(error, FreshnessError::MaxAgeSyntax(bad.to_owned()));
            assert!(error.to_string().contains("a number of days, 1 to 1830"), "{error}");
        }
        assert_eq!(
            (MaxAge::new(1).unwrap().to_string(), MaxAge::new(10).unwrap().to_string()),
            ("1 day".into(), "10 days".into())
        );
    }

    #[test]
    fn never_evidenced_controls_have_no_due_date_and_dates_outside_the_range_are_refused() {
        let never = one(day(2026, 6, 1), control("HR-01", Frequency::Annual, None));
        assert_eq!((never.state, never.next_due, never.last_effective), (State::NeverEvidenced, None, None));
        let policy = FreshnessPolicy::default();
        let refused = freshness(&policy, day(1999, 12, 31), &[]).unwrap_err();
        assert_eq!(refused.to_string(), "today 1999-12-31 is not a date evident accepts (2000-01-01 to 2199-12-31)");
        let typo = control("HR-01", Frequency::Annual, Some(day(1926, 6, 1)));
        let refused = freshness(&policy, day(2026, 6, 1), &[typo]).unwrap_err();
        assert!(
            refused.to_string().starts_with("the effective date of HR-01's latest evidence 1926-06-01"),
            "{refused}"
        );
        let twice = [control("HR-01", Frequency::Annual, None), control("HR-01", Frequency::Annual, None)];
        assert_eq!(
            freshness(&policy, day(2026, 6, 1), &twice),
            Err(FreshnessError::DuplicateControl(ControlCode::parse("HR-01").unwrap()))
        );
    }

    #[test]
    fn the_calendar_lists_overdue_first_then_never_evidenced_then_by_date_with_recurrences_summarised() {
        let today = day(2026, 6, 1);
        let controls = [
            control("Q-01", Frequency::Quarterly, Some(day(2026, 3, 20))), // due 06-20
            control("Q-02", Frequency::Quarterly, Some(day(2026, 1, 1))),  // overdue since 04-01
            control("D-01", Frequency::Daily, Some(day(2026, 5, 31))),     // due today, then daily
            control("A-01", Frequency::Annual, Some(day(2026, 1, 1))),     // due 2027: outside
            control("E-01", Frequency::EventDriven, None),                 // no due dates
            control("N-01", Frequency::Monthly, None),                     // never evidenced
            control("W-01", Frequency::Weekly, Some(day(2026, 5, 20))),    // overdue since 05-27
        ];
        let entries = calendar(&FreshnessPolicy::default(), today, &controls, 30).unwrap();
        let listed: Vec<_> = entries.iter().map(|e| (e.code.as_str(), e.state, e.due)).collect();
        assert_eq!(
            listed,
            [
                ("Q-02", State::Overdue, Some(day(2026, 4, 1))),
                ("W-01", State::Overdue, Some(day(2026, 5, 27))),
                ("N-01", State::NeverEvidenced, None),
                ("D-01", State::DueSoon, Some(day(2026, 6, 1))),
                ("Q-01", State::Fresh, Some(day(2026, 6, 20))),
            ]
        );
        let daily = entries[3].recurs.unwrap();
        assert_eq!((daily.every, daily.more, daily.until), (Interval::Days(1), 30, day(2026, 7, 1)));
        assert_eq!(daily.every.to_string(), "every day");
        assert_eq!(entries[4].recurs, None, "the next quarter is past the horizon");
        assert!(entries[0].recurs.is_none(), "an overdue control's later dates are not projected");
        assert_eq!(
            calendar(&FreshnessPolicy::default(), today, &controls, 2_000),
            Err(FreshnessError::Horizon { days: 2_000, max: MAX_HORIZON_DAYS })
        );
    }

    fn rank(state: State) -> u8 {
        match state {
            State::Fresh => 0,
            State::DueSoon => 1,
            State::Overdue => 2,
            State::NeverEvidenced => 3,
        }
    }

    proptest! {
        #[test]
        fn overdue_exactly_after_the_due_date_and_never_fresher_as_days_pass(
            frequency in prop::sample::select(Frequency::ALL),
            age in prop::option::of(1u32..=400),
            lead_days in 0u32..60,
            effective_offset in 0i64..800,
            later in 0i64..400,
        ) {
            let policy = FreshnessPolicy { lead_days };
            let today = day(2026, 6, 1);
            let mut c = control("C-1", frequency, Some(today - Days::new(effective_offset as u64)));
            c.max_age = age.map(|a| MaxAge::new(a).unwrap());
            let now = freshness(&policy, today, &[c.clone()]).unwrap().controls[0].clone();
            match now.next_due {
                None => prop_assert_eq!(now.state, State::Fresh),
                Some(due) => {
                    prop_assert!(due > now.last_effective.unwrap(), "due after the evidence");
                    prop_assert_eq!(now.state == State::Overdue, today > due);
                    if now.state == State::DueSoon {
                        prop_assert!((due - today).num_days() <= i64::from(lead_days));
                    }
                }
            }
            let then = freshness(&policy, today + Days::new(later as u64), &[c]).unwrap().controls[0].clone();
            prop_assert!(rank(then.state) >= rank(now.state), "{:?} became {:?}", now.state, then.state);
        }

        #[test]
        fn every_calendar_entry_falls_due_inside_the_horizon_in_order(
            offsets in prop::collection::vec((prop::sample::select(Frequency::ALL), prop::option::of(0u64..400)), 0..30),
            days in 0u32..120,
        ) {
            let today = day(2026, 6, 1);
            let controls: Vec<_> = offsets
                .iter()
                .enumerate()
                .map(|(i, (f, o))| control(&format!("C-{i}"), *f, o.map(|o| today - Days::new(o))))
                .collect();
            let entries = calendar(&FreshnessPolicy::default(), today, &controls, days).unwrap();
            let end = today + Days::new(u64::from(days));
            let key = |e: &CalendarEntry| {
                let group = match e.state { State::Overdue => 0, State::NeverEvidenced => 1, _ => 2 };
                (group, e.due)
            };
            for pair in entries.windows(2) {
                prop_assert!(key(&pair[0]) <= key(&pair[1]), "{:?} before {:?}", pair[0], pair[1]);
            }
            for e in &entries {
                prop_assert!(e.due.is_none_or(|d| d <= end));
                prop_assert!(e.frequency != Frequency::EventDriven);
                if let Some(r) = e.recurs {
                    prop_assert!(r.until <= end && r.until > e.due.unwrap() && r.more >= 1);
                }
            }
        }
    }
}
