//! A year of the demo organisation's evidence: what its implemented controls would have produced
//! (monthly check exports, quarterly access reviews, annual policy reviews, change tickets), with
//! the gaps a real year has: a quarterly review not done yet (overdue), an annual one a year and a
//! month old, two months a monthly control missed (missing periods in the Type 2 window).

use chrono::{Datelike, Duration, Months, NaiveDate};
use evident_core::evidence::{EvidenceDraft, EvidenceLink, EvidenceSource, FileName, Period, StoredBytes};
use evident_core::{Control, EvidenceId, Frequency, ImplementationStatus, Organisation};
use evident_store::{Actor, EvidenceChange, EvidenceQuery};
use futures::StreamExt as _;

use crate::App;
use crate::error::{AppError, Code, Result};

/// One record to make: its file's content and what it says.
struct Planned {
    control: usize,
    name: String,
    effective: NaiveDate,
    period: Option<Period>,
    description: String,
    content: String,
}

/// The Type 2 window the demo's evidence is ready for: the twelve months before this one.
pub fn demo_window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let this_month = today.with_day(1).unwrap_or(today);
    let to = this_month - Duration::days(1);
    let from = this_month.checked_sub_months(Months::new(12)).unwrap_or(this_month);
    (from, to)
}

impl App {
    /// Adds the demo's year of evidence unless the organisation has some: the bytes first, then
    /// every record in one `apply`, as the compliance manager who collected them. Returns how many
    /// records were added (0 when there were some already).
    pub(crate) async fn demo_evidence(&self, org: &Organisation, collector: &str) -> Result<usize> {
        let Ok(blobs) = self.blobs.as_ref() else { return Ok(0) };
        let any = EvidenceQuery { superseded: true, limit: Some(1), ..EvidenceQuery::default() };
        if !self.store.evidence(&org.id, &any).await?.is_empty() {
            return Ok(0);
        }
        let today = self.now().date_naive();
        let controls: Vec<Control> = self
            .store
            .controls(&org.id)
            .await?
            .into_iter()
            .filter(|c| c.is_active() && c.status == ImplementationStatus::Implemented)
            .collect();
        let planned = plan(&controls, today);
        let stored: Vec<_> = futures::stream::iter(planned.iter().map(|p| blobs.ingest_bytes(p.content.as_bytes())))
            .buffered(8)
            .collect()
            .await;
        let created = org.created_at.date_naive();
        let mut changes = Vec::with_capacity(planned.len());
        for (plan, stored) in planned.iter().zip(stored) {
            let stored = stored?;
            let draft = EvidenceDraft {
                file_name: FileName::parse(&plan.name)?,
                effective: plan.effective,
                source: if plan.name.ends_with(".json") { EvidenceSource::Check } else { EvidenceSource::Upload },
                description: plan.description.clone(),
                links: vec![EvidenceLink { control: controls[plan.control].id.clone(), period: plan.period }],
                supersedes: None,
            };
            let bytes =
                StoredBytes { digest: stored.digest, size: stored.size, media_type: stored.media_type.to_owned() };
            let evidence = draft.check(today, created)?.stored(bytes)?;
            let id = EvidenceId::parse(&format!("demo-{:05}", changes.len() + 1))?;
            changes.push(EvidenceChange::Add { id, evidence }.into());
        }
        let count = changes.len();
        let actor = Actor { org: org.id.clone(), who: collector.to_owned(), at: self.now() };
        self.store.apply(&actor, changes).await.map_err(|e| match e {
            // Another run added them meanwhile.
            evident_store::StoreError::Conflict { .. } => {
                AppError::new(Code::AlreadyExists, "the demo's evidence was added by another run meanwhile")
            }
            e => e.into(),
        })?;
        Ok(count)
    }
}

/// The records of a year for `controls`, as of `today`.
fn plan(controls: &[Control], today: NaiveDate) -> Vec<Planned> {
    let mut planned = Vec::new();
    let month_start = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    let months_back = |n: u32| month_start(today).checked_sub_months(Months::new(n)).unwrap_or(today);
    let (mut quarterly_seen, mut annual_seen, mut monthly_seen) = (0, 0, 0);
    for (i, control) in controls.iter().enumerate() {
        let code = control.code.as_str();
        let mut push = |name: String, effective: NaiveDate, period: Option<Period>, description: String| {
            let content = content(code, &control.title, &name, effective, period);
            planned.push(Planned { control: i, name, effective: effective.min(today), period, description, content });
        };
        match control.frequency {
            Frequency::Continuous | Frequency::Daily => {
                // A monthly export of the automated check's daily results; this month's runs to today.
                for n in (0..=12).rev() {
                    let from = months_back(n);
                    let to = (from.checked_add_months(Months::new(1)).unwrap_or(from) - Duration::days(1)).min(today);
                    let Ok(period) = Period::new(from, to) else { continue };
                    let name = format!("{code}-checks-{}.json", from.format("%Y-%m"));
                    push(
                        name,
                        to,
                        Some(period),
                        format!("{}: daily check results, {}", control.title, from.format("%B %Y")),
                    );
                }
            }
            Frequency::Weekly => {
                for n in (0..52).rev() {
                    let to = today - Duration::days(1 + 7 * n);
                    let Ok(period) = Period::new(to - Duration::days(6), to) else { continue };
                    let name = format!("{code}-week-{}.csv", to.format("%G-W%V"));
                    push(name, to, Some(period), format!("{}: weekly log", control.title));
                }
            }
            Frequency::Monthly => {
                monthly_seen += 1;
                for n in (1..=12).rev() {
                    // The first monthly control missed two months of the window.
                    if monthly_seen == 1 && (n == 4 || n == 5) {
                        continue;
                    }
                    let from = months_back(n);
                    let to = from.checked_add_months(Months::new(1)).unwrap_or(from) - Duration::days(1);
                    let Ok(period) = Period::new(from, to) else { continue };
                    let name = format!("{code}-{}.csv", from.format("%Y-%m"));
                    push(
                        name,
                        to + Duration::days(2),
                        Some(period),
                        format!("{}: {}", control.title, from.format("%B %Y")),
                    );
                }
            }
            Frequency::Quarterly | Frequency::SemiAnnual => {
                quarterly_seen += 1;
                let step = if control.frequency == Frequency::Quarterly { 3 } else { 6 };
                // The first quarterly control's latest review is not done yet: overdue.
                let skip_latest = quarterly_seen == 1;
                let quarter_start = months_back(today.month0() % 3);
                for k in (1..=12 / step).rev() {
                    if skip_latest && k == 1 {
                        continue;
                    }
                    let from = quarter_start.checked_sub_months(Months::new(step * k)).unwrap_or(quarter_start);
                    let to = from.checked_add_months(Months::new(step)).unwrap_or(from) - Duration::days(1);
                    let Ok(period) = Period::new(from, to) else { continue };
                    let name = format!("{code}-review-{}.csv", from.format("%Y-%m"));
                    push(name, to + Duration::days(5), Some(period), format!("{}: review of {period}", control.title));
                }
            }
            Frequency::Annual => {
                annual_seen += 1;
                // Two annual controls were last done a year and a month ago: overdue.
                let days = if annual_seen <= 2 { 395 } else { 30 + (i as i64 * 37) % 300 };
                let effective = today - Duration::days(days);
                let name = format!("{code}-annual-{}.md", effective.format("%Y"));
                push(name, effective, None, format!("{}: annual review", control.title));
            }
            Frequency::EventDriven => {
                for (k, days) in [300i64, 160, 45].into_iter().enumerate() {
                    let effective = today - Duration::days(days + i as i64 % 20);
                    let name = format!("{code}-event-{}.md", k + 1);
                    push(name, effective, None, format!("{}: record of an occurrence", control.title));
                }
            }
        }
    }
    planned
}

/// A small, plausible file for one record: structured JSON for check results, CSV for logs and
/// reviews, Markdown minutes for the rest.
fn content(code: &str, title: &str, name: &str, effective: NaiveDate, period: Option<Period>) -> String {
    let span = period.map(|p| format!("{} to {}", p.from(), p.to())).unwrap_or_else(|| effective.to_string());
    if name.ends_with(".json") {
        let days = period.map_or(1, |p| p.days());
        serde_json::json!({
            "check": format!("{code} automated check"),
            "control": code,
            "period": span,
            "runs": days,
            "failures": 0,
            "result": "pass",
        })
        .to_string()
    } else if name.ends_with(".csv") {
        format!(
            "control,title,period,reviewer,outcome\n{code},\"{}\",{span},security@northwind.example,completed\n",
            title.replace('"', "'")
        )
    } else {
        format!("# {title}\n\nControl {code}, {span}.\n\nDone and signed off on {effective}.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_window_is_the_twelve_months_before_this_one() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let (from, to) = demo_window(today);
        assert_eq!((from.to_string(), to.to_string()), ("2025-12-01".into(), "2026-11-30".into()));
        assert!(evident_core::type2::AuditWindow::new(from, to).is_ok());
    }
}
