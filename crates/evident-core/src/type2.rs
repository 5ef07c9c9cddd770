//! SOC 2 Type 2 window analysis: over an observation window, each control's expected occurrences,
//! those evidenced, the missing periods, the population, the sample size an auditor would take,
//! and a reproducible sample.
//!
//! - **Window.** 3 to 12 months, both ends included: `to` is at least `from` + 3 months − 1 day and
//!   at most `from` + 12 months − 1 day (1 January to 31 March is 3 months; to 31 December, 12;
//!   to 1 January of the next year, 12 months and 1 day, refused). Month ends clamp as chrono does
//!   (31 January + 3 months is 30 April).
//! - **Occurrences**, each a period clipped to the window: daily, each day; weekly, each ISO week
//!   (Monday to Sunday) touching the window; monthly, quarterly, semi-annual and annual, the
//!   calendar months, quarters, halves and years overlapping it. A control operates during the
//!   window or not at all: an occurrence's days outside the window do not count.
//! - **Continuous** ("many times a day"): the population is the evidence items in the window
//!   themselves; one a day at least is expected, so each day is an expected occurrence and the
//!   days without evidence are its missing periods. **Event-driven**: the population is the
//!   evidence items in the window; nothing is expected on a calendar, so nothing is missing.
//! - **Evidenced**: an occurrence is evidenced by an evidence item whose period overlaps it or,
//!   without a period, whose effective date falls in it.
//! - **Sample**: its size from the [`SamplingTable`] the organisation picked, drawn with
//!   [`sampling::draw`] from the analysis's seed and the control's id, so it is the same on every
//!   machine. A sampled occurrence without evidence is an exception candidate
//!   ([`ControlWindow::exception_candidates`]); the auditor records exceptions against samples
//!   ([`SampleException`]).

use std::collections::HashSet;
use std::fmt;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::control::Frequency;
use crate::dates::{self, DateOutOfRange, Period};
use crate::ids::{ControlCode, ControlId, EvidenceId};
use crate::macros::named_enum;
use crate::sampling::{self, SamplingTable};

/// A Type 2 observation window: 3 to 12 months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuditWindow {
    #[serde(flatten)]
    period: Period,
}

/// Why a window is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error(transparent)]
    Date(#[from] DateOutOfRange),
    #[error("the window ends on {to}, before it starts on {from}")]
    EndsBeforeStart { from: NaiveDate, to: NaiveDate },
    #[error("the window is {}; a Type 2 window is 3 to 12 months", length(*.months, *.days))]
    Length { months: u32, days: u32 },
}

/// "13 months", "2 months and 30 days", "12 months and 1 day", "20 days".
fn length(months: u32, days: u32) -> String {
    let plural = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match (months, days) {
        (0, d) => plural(d, "day", "days"),
        (m, 0) => plural(m, "month", "months"),
        (m, d) => format!("{} and {}", plural(m, "month", "months"), plural(d, "day", "days")),
    }
}

impl AuditWindow {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, WindowError> {
        dates::check(|| "the window's first day".into(), from)?;
        dates::check(|| "the window's last day".into(), to)?;
        let period = Period::new(from, to).map_err(|_| WindowError::EndsBeforeStart { from, to })?;
        // Whole months from `from` to the day after `to`, then the days left over.
        let end = to + Days::new(1);
        let mut months = 0;
        while from.checked_add_months(Months::new(months + 1)).is_some_and(|d| d <= end) {
            months += 1;
        }
        let whole = from.checked_add_months(Months::new(months)).unwrap_or(end);
        let days = (end - whole).num_days() as u32;
        if !(3..=12).contains(&months) || (months == 12 && days > 0) {
            return Err(WindowError::Length { months, days });
        }
        Ok(Self { period })
    }

    pub fn period(&self) -> Period {
        self.period
    }

    pub fn from(&self) -> NaiveDate {
        self.period.from()
    }

    pub fn to(&self) -> NaiveDate {
        self.period.to()
    }
}

impl fmt::Display for AuditWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.period.fmt(f)
    }
}

/// The occurrences a frequency implies in `window`, in order, each clipped to the window; none for
/// event-driven controls. Continuous controls are expected at least once a day.
pub fn occurrences(frequency: Frequency, window: &AuditWindow) -> Vec<Period> {
    let window = window.period;
    let months = match frequency {
        Frequency::Continuous | Frequency::Daily => {
            return window.from().iter_days().take_while(|d| *d <= window.to()).map(Period::day).collect();
        }
        Frequency::Weekly => {
            let monday = window.from() - Days::new(u64::from(window.from().weekday().num_days_from_monday()));
            return monday
                .iter_weeks()
                .take_while(|d| *d <= window.to())
                .filter_map(|start| Period::new(start, start + Days::new(6)).ok()?.intersection(&window))
                .collect();
        }
        Frequency::EventDriven => return Vec::new(),
        Frequency::Monthly => 1,
        Frequency::Quarterly => 3,
        Frequency::SemiAnnual => 6,
        Frequency::Annual => 12,
    };
    let first_month = window.from().month0() / months * months + 1;
    let mut start = NaiveDate::from_ymd_opt(window.from().year(), first_month, 1);
    let mut out = Vec::new();
    while let Some(from) = start.filter(|s| *s <= window.to()) {
        let next = from.checked_add_months(Months::new(months));
        let to = next.and_then(|n| n.pred_opt()).unwrap_or(window.to());
        out.extend(Period::new(from, to).ok().and_then(|p| p.intersection(&window)));
        start = next;
    }
    out
}

/// One evidence item of a control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceItem {
    pub id: EvidenceId,
    /// When the thing it proves happened.
    pub effective: NaiveDate,
    /// The period it covers, when it covers more than its effective date (a month's log review).
    pub period: Option<Period>,
}

impl EvidenceItem {
    /// The days it proves: its period, or its effective date.
    pub fn span(&self) -> Period {
        self.period.unwrap_or(Period::day(self.effective))
    }
}

/// An in-scope control and its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditedControl {
    pub control: ControlId,
    pub code: ControlCode,
    pub frequency: Frequency,
    pub evidence: Vec<EvidenceItem>,
}

named_enum! {
    /// What a control's population counts.
    pub enum PopulationKind as "population kind" {
        /// The occurrences its frequency implies.
        Occurrences = "occurrences",
        /// Its evidence items in the window (continuous and event-driven controls).
        EvidenceItems = "evidence_items",
    }
}

/// An expected occurrence and whether evidence covers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    #[serde(flatten)]
    pub period: Period,
    pub evidenced: bool,
}

/// Consecutive occurrences without evidence, merged for reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MissingRange {
    #[serde(flatten)]
    pub period: Period,
    /// How many occurrences the range holds.
    pub occurrences: usize,
}

/// One sampled item of the population.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sampled {
    /// Its position in the population (0-based): in the occurrences, or in the evidence items
    /// ordered by period, then id.
    pub position: usize,
    pub period: Period,
    /// The evidence that covers it.
    pub evidence: Vec<EvidenceId>,
    /// Without evidence, the sample is an exception candidate.
    pub evidenced: bool,
}

/// An exception recorded against a sampled occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleException {
    pub control: ControlId,
    pub occurrence: Period,
    pub note: String,
}

/// A drawn sample as it is recorded, so the auditor's exceptions can be recorded against it and
/// the same sample drawn again from its seed: the window, the table, the seed and every sampled
/// occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedSample {
    pub framework: crate::FrameworkId,
    pub window: Period,
    pub table: String,
    pub seed: u64,
    pub items: Vec<SampleItem>,
}

/// One sampled occurrence of one control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleItem {
    pub control: ControlId,
    pub occurrence: Period,
    pub evidenced: bool,
}

impl RecordedSample {
    /// What `analysis` drew, to record.
    pub fn of(framework: crate::FrameworkId, analysis: &Type2Analysis) -> Self {
        let items = analysis
            .controls
            .iter()
            .flat_map(|c| {
                c.sample.iter().map(|s| SampleItem {
                    control: c.control.clone(),
                    occurrence: s.period,
                    evidenced: s.evidenced,
                })
            })
            .collect();
        Self { framework, window: analysis.window.period(), table: analysis.table.clone(), seed: analysis.seed, items }
    }

    /// Whether the exception names an occurrence this sample drew; an exception is recorded only
    /// against a sampled occurrence.
    pub fn holds(&self, exception: &SampleException) -> bool {
        self.items.iter().any(|i| i.control == exception.control && i.occurrence == exception.occurrence)
    }
}

/// One control over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlWindow {
    pub control: ControlId,
    pub code: ControlCode,
    pub frequency: Frequency,
    /// How many occurrences its frequency implies (for continuous, days).
    pub expected: usize,
    pub occurrences: Vec<Occurrence>,
    /// How many of them evidence covers.
    pub evidenced: usize,
    /// How many of them none does; `missing_periods` merges them into ranges.
    pub missing: usize,
    pub missing_periods: Vec<MissingRange>,
    pub population: usize,
    pub population_kind: PopulationKind,
    pub sample_size: usize,
    pub sample: Vec<Sampled>,
}

impl ControlWindow {
    /// The sampled occurrences without evidence, as exceptions to confirm or clear.
    pub fn exception_candidates(&self) -> Vec<SampleException> {
        self.sample
            .iter()
            .filter(|s| !s.evidenced)
            .map(|s| SampleException {
                control: self.control.clone(),
                occurrence: s.period,
                note: format!("no evidence for the sampled occurrence {}", s.period),
            })
            .collect()
    }
}

/// The analysis of every in-scope control over a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Type2Analysis {
    pub window: AuditWindow,
    /// The sampling table's name.
    pub table: String,
    /// The seed the samples were drawn from; the same seed draws the same samples.
    pub seed: u64,
    pub controls: Vec<ControlWindow>,
}

/// Analyses `controls` over `window`, sizing samples with `table` and drawing them from `seed`.
pub fn analyse(window: &AuditWindow, table: &SamplingTable, seed: u64, controls: &[AuditedControl]) -> Type2Analysis {
    let mut out: Vec<ControlWindow> = controls.iter().map(|c| analyse_control(window, table, seed, c)).collect();
    out.sort_by(|a, b| crate::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
    Type2Analysis { window: *window, table: table.name().to_owned(), seed, controls: out }
}

fn analyse_control(window: &AuditWindow, table: &SamplingTable, seed: u64, c: &AuditedControl) -> ControlWindow {
    // The evidence in the window, once each, in an order that does not depend on the input's.
    let mut seen = HashSet::new();
    let mut evidence: Vec<(Period, &EvidenceId)> = c
        .evidence
        .iter()
        .filter(|e| e.span().overlaps(&window.period) && seen.insert(&e.id))
        .map(|e| (e.span(), &e.id))
        .collect();
    evidence.sort_unstable();

    let periods = occurrences(c.frequency, window);
    let mut evidenced = vec![false; periods.len()];
    for (span, _) in &evidence {
        let mut i = periods.partition_point(|p| p.to() < span.from());
        while i < periods.len() && periods[i].from() <= span.to() {
            evidenced[i] = true;
            i += 1;
        }
    }
    let occurrences: Vec<Occurrence> = periods
        .iter()
        .zip(&evidenced)
        .map(|(period, evidenced)| Occurrence { period: *period, evidenced: *evidenced })
        .collect();
    let mut missing_periods: Vec<MissingRange> = Vec::new();
    let mut previous_missing = false;
    for o in &occurrences {
        if o.evidenced {
            previous_missing = false;
            continue;
        }
        match missing_periods.last_mut() {
            Some(range) if previous_missing => {
                range.period = Period::new(range.period.from(), o.period.to()).unwrap_or(range.period);
                range.occurrences += 1;
            }
            _ => missing_periods.push(MissingRange { period: o.period, occurrences: 1 }),
        }
        previous_missing = true;
    }
    let evidenced_count = evidenced.iter().filter(|e| **e).count();

    let population_kind = match c.frequency {
        Frequency::Continuous | Frequency::EventDriven => PopulationKind::EvidenceItems,
        _ => PopulationKind::Occurrences,
    };
    let population = match population_kind {
        PopulationKind::Occurrences => occurrences.len(),
        PopulationKind::EvidenceItems => evidence.len(),
    };
    let sample_size = table.size(c.frequency, population);
    let sample = sampling::draw(seed, &c.control, population, sample_size)
        .into_iter()
        .map(|position| match population_kind {
            PopulationKind::Occurrences => {
                let period = occurrences[position].period;
                let covering: Vec<EvidenceId> = evidence
                    .iter()
                    .take_while(|(span, _)| span.from() <= period.to())
                    .filter(|(span, _)| span.overlaps(&period))
                    .map(|(_, id)| (*id).clone())
                    .collect();
                Sampled { position, period, evidenced: !covering.is_empty(), evidence: covering }
            }
            PopulationKind::EvidenceItems => {
                let (period, id) = evidence[position];
                Sampled { position, period, evidence: vec![id.clone()], evidenced: true }
            }
        })
        .collect();

    ControlWindow {
        control: c.control.clone(),
        code: c.code.clone(),
        frequency: c.frequency,
        expected: occurrences.len(),
        missing: occurrences.len() - evidenced_count,
        evidenced: evidenced_count,
        occurrences,
        missing_periods,
        population,
        population_kind,
        sample_size,
        sample,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn window(from: NaiveDate, to: NaiveDate) -> AuditWindow {
        AuditWindow::new(from, to).unwrap()
    }

    fn item(n: usize, effective: NaiveDate) -> EvidenceItem {
        EvidenceItem { id: EvidenceId::parse(&format!("ev-{n}")).unwrap(), effective, period: None }
    }

    fn control(code: &str, frequency: Frequency, evidence: Vec<EvidenceItem>) -> AuditedControl {
        AuditedControl {
            control: ControlId::parse(&code.to_lowercase()).unwrap(),
            code: ControlCode::parse(code).unwrap(),
            frequency,
            evidence,
        }
    }

    fn one(w: &AuditWindow, preset: &str, seed: u64, c: AuditedControl) -> ControlWindow {
        analyse(w, &SamplingTable::preset(preset).unwrap(), seed, &[c]).controls.remove(0)
    }

    #[test]
    fn a_window_is_3_to_12_months_and_anything_else_is_refused_with_its_length() {
        let refused = |from, to| AuditWindow::new(from, to).unwrap_err().to_string();
        assert_eq!(
            refused(day(2026, 1, 1), day(2026, 2, 28)),
            "the window is 2 months; a Type 2 window is 3 to 12 months"
        );
        assert_eq!(
            refused(day(2026, 1, 1), day(2026, 3, 30)),
            "the window is 2 months and 30 days; a Type 2 window is 3 to 12 months"
        );
        assert!(AuditWindow::new(day(2026, 1, 1), day(2026, 3, 31)).is_ok(), "3 months");
        assert!(AuditWindow::new(day(2026, 1, 1), day(2026, 12, 31)).is_ok(), "12 months");
        assert!(AuditWindow::new(day(2026, 7, 15), day(2027, 7, 14)).is_ok(), "12 months, mid-month");
        assert_eq!(
            refused(day(2026, 1, 1), day(2027, 1, 1)),
            "the window is 12 months and 1 day; a Type 2 window is 3 to 12 months"
        );
        assert_eq!(
            refused(day(2026, 1, 1), day(2027, 1, 31)),
            "the window is 13 months; a Type 2 window is 3 to 12 months"
        );
        assert_eq!(
            refused(day(2026, 6, 1), day(2026, 5, 1)),
            "the window ends on 2026-05-01, before it starts on 2026-06-01"
        );
        assert!(refused(day(1999, 1, 1), day(1999, 6, 30)).contains("1999-01-01 is not a date evident accepts"));
    }

    #[test]
    fn a_daily_control_has_one_occurrence_a_day_365_or_366_in_a_year() {
        let year = |y| occurrences(Frequency::Daily, &window(day(y, 1, 1), day(y, 12, 31))).len();
        assert_eq!((year(2026), year(2028)), (365, 366));
        let continuous = occurrences(Frequency::Continuous, &window(day(2028, 1, 1), day(2028, 12, 31)));
        assert_eq!(continuous.len(), 366, "continuous: at least once a day");
    }

    #[test]
    fn periodic_occurrences_are_the_calendar_periods_overlapping_the_window_clipped_to_it() {
        // Wednesday 15 April 2026 to Tuesday 14 July 2026.
        let w = window(day(2026, 4, 15), day(2026, 7, 14));
        let weeks = occurrences(Frequency::Weekly, &w);
        assert_eq!(weeks.first().unwrap(), &Period::new(day(2026, 4, 15), day(2026, 4, 19)).unwrap());
        assert_eq!(weeks[1], Period::new(day(2026, 4, 20), day(2026, 4, 26)).unwrap(), "Monday to Sunday");
        assert_eq!(weeks.last().unwrap(), &Period::new(day(2026, 7, 13), day(2026, 7, 14)).unwrap());
        assert_eq!(weeks.len(), 14);
        let months = occurrences(Frequency::Monthly, &w);
        assert_eq!(months.len(), 4, "April, May, June, July");
        assert_eq!(months[0], Period::new(day(2026, 4, 15), day(2026, 4, 30)).unwrap());
        let quarters = occurrences(Frequency::Quarterly, &w);
        assert_eq!(
            quarters,
            [
                Period::new(day(2026, 4, 15), day(2026, 6, 30)).unwrap(),
                Period::new(day(2026, 7, 1), day(2026, 7, 14)).unwrap()
            ]
        );
        assert_eq!(occurrences(Frequency::SemiAnnual, &w).len(), 2);
        assert_eq!(occurrences(Frequency::Annual, &w), [w.period()]);
        assert!(occurrences(Frequency::EventDriven, &w).is_empty());
    }

    #[test]
    fn a_monthly_control_evidenced_in_10_of_12_months_shows_exactly_the_2_missing_months() {
        let w = window(day(2026, 1, 1), day(2026, 12, 31));
        let evidence = (1..=12).filter(|m| ![4, 9].contains(m)).map(|m| item(m as usize, day(2026, m, 10))).collect();
        let c = one(&w, "frequency", 1, control("OPS-01", Frequency::Monthly, evidence));
        assert_eq!((c.expected, c.evidenced, c.missing), (12, 10, 2));
        assert_eq!(
            c.missing_periods,
            [
                MissingRange { period: Period::new(day(2026, 4, 1), day(2026, 4, 30)).unwrap(), occurrences: 1 },
                MissingRange { period: Period::new(day(2026, 9, 1), day(2026, 9, 30)).unwrap(), occurrences: 1 },
            ]
        );
        assert_eq!((c.population, c.sample_size), (12, 2));
    }

    #[test]
    fn consecutive_missing_days_merge_into_one_range_and_a_period_evidences_every_day_it_overlaps() {
        let w = window(day(2026, 1, 1), day(2026, 3, 31));
        let mut evidence: Vec<_> = (0..90)
            .map(|d| day(2026, 1, 1) + Days::new(d))
            .filter(|d| !(day(2026, 2, 10)..=day(2026, 2, 14)).contains(d))
            .enumerate()
            .map(|(n, d)| item(n, d))
            .collect();
        let c = one(&w, "frequency", 1, control("LOG-01", Frequency::Daily, evidence.clone()));
        assert_eq!((c.expected, c.missing), (90, 5));
        assert_eq!(
            c.missing_periods,
            [MissingRange { period: Period::new(day(2026, 2, 10), day(2026, 2, 14)).unwrap(), occurrences: 5 }]
        );
        evidence.push(EvidenceItem {
            id: EvidenceId::parse("weekly-export").unwrap(),
            effective: day(2026, 2, 15),
            period: Some(Period::new(day(2026, 2, 9), day(2026, 2, 15)).unwrap()),
        });
        let c = one(&w, "frequency", 1, control("LOG-01", Frequency::Daily, evidence));
        assert_eq!((c.evidenced, c.missing), (90, 0));
    }

    #[test]
    fn continuous_and_event_driven_populations_are_the_evidence_items_in_the_window() {
        let w = window(day(2026, 1, 1), day(2026, 3, 31));
        let many: Vec<_> = (0..300).map(|n| item(n, day(2026, 1, 1) + Days::new(n as u64 % 45))).collect();
        let c = one(&w, "frequency", 9, control("MON-01", Frequency::Continuous, many.clone()));
        assert_eq!((c.population, c.population_kind, c.sample_size), (300, PopulationKind::EvidenceItems, 25));
        assert_eq!((c.expected, c.evidenced, c.missing), (90, 45, 45), "one a day expected: 45 days lack any");
        assert!(c.sample.iter().all(|s| s.evidenced && s.evidence.len() == 1));

        let mut events: Vec<_> = many.into_iter().take(40).collect();
        events.push(item(999, day(2025, 12, 31))); // outside the window
        let e = one(&w, "frequency", 9, control("IR-01", Frequency::EventDriven, events));
        assert_eq!((e.expected, e.missing, e.population, e.sample_size), (0, 0, 40, 4), "10 % of 40");
    }

    #[test]
    fn unevidenced_sampled_occurrences_are_exception_candidates() {
        let w = window(day(2026, 1, 1), day(2026, 3, 31));
        let c = one(&w, "frequency-high", 3, control("OPS-01", Frequency::Monthly, vec![item(1, day(2026, 2, 3))]));
        assert_eq!(c.sample_size, 3, "5 at the high end, but only 3 months");
        let exceptions = c.exception_candidates();
        assert_eq!(exceptions.len(), 2);
        assert_eq!(exceptions[0].occurrence, Period::new(day(2026, 1, 1), day(2026, 1, 31)).unwrap());
        assert_eq!(exceptions[0].note, "no evidence for the sampled occurrence 2026-01-01 to 2026-01-31");
        let february = c.sample.iter().find(|s| s.period.from() == day(2026, 2, 1)).unwrap();
        assert_eq!(february.evidence, [EvidenceId::parse("ev-1").unwrap()]);
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_whatever_the_order_of_the_input() {
        let w = window(day(2026, 1, 1), day(2026, 12, 31));
        let evidence: Vec<_> = (0..600).map(|n| item(n, day(2026, 1, 1) + Days::new(n as u64 / 2))).collect();
        let mut reversed = evidence.clone();
        reversed.reverse();
        let a = one(&w, "frequency", 42, control("MON-01", Frequency::Continuous, evidence.clone()));
        let b = one(&w, "frequency", 42, control("MON-01", Frequency::Continuous, reversed));
        assert_eq!(a, b, "the population is ordered by period, then id, not as given");
        let other = one(&w, "frequency", 43, control("MON-01", Frequency::Continuous, evidence));
        assert_ne!(a.sample, other.sample);
    }

    proptest! {
        #[test]
        fn counts_add_up_and_the_sample_never_exceeds_the_population(
            frequency in prop::sample::select(Frequency::ALL),
            start in 0u64..3_000,
            months in 3u32..=12,
            days in prop::collection::vec(0u64..400, 0..120),
            seed in any::<u64>(),
            preset in prop::sample::select(sampling::PRESETS),
        ) {
            let from = day(2020, 1, 1) + Days::new(start);
            let to = from.checked_add_months(Months::new(months)).unwrap().pred_opt().unwrap();
            let w = AuditWindow::new(from, to).unwrap();
            let evidence = days.iter().enumerate().map(|(n, d)| item(n, from + Days::new(*d))).collect();
            let c = one(&w, preset, seed, control("C-1", frequency, evidence));
            prop_assert_eq!(c.expected, c.occurrences.len());
            prop_assert_eq!(c.evidenced + c.missing, c.expected);
            prop_assert_eq!(c.missing_periods.iter().map(|r| r.occurrences).sum::<usize>(), c.missing);
            prop_assert!(c.sample_size <= c.population);
            prop_assert_eq!(c.sample.len(), c.sample_size);
            prop_assert!(c.sample.windows(2).all(|s| s[0].position < s[1].position));
            // Occurrences tile the window: contiguous, in order, inside it.
            if let (Some(first), Some(last)) = (c.occurrences.first(), c.occurrences.last()) {
                prop_assert_eq!((first.period.from(), last.period.to()), (from, to));
            }
            for pair in c.occurrences.windows(2) {
                prop_assert_eq!(pair[0].period.to().succ_opt().unwrap(), pair[1].period.from());
            }
        }
    }
}
