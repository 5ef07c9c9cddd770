//! A control's own maximum evidence age, through the use cases on each backend: it sets when the
//! control's evidence is due, so readiness counts it partial once that has passed; it is set and
//! cleared by an edit and by an import, refused out of range with its row and column, exported,
//! and replayed by `verify` from the audit log.

use chrono::Duration;
use evident_app::evidence::AddEvidence;
use evident_app::imports::{Table, TableRow};
use evident_app::{App, Code, Principal};
use evident_core::evidence::EvidenceSource;
use evident_core::freshness::{MaxAge, State};
use evident_core::readiness::Status;
use evident_core::{ControlPatch, Frequency, ImplementationStatus};

use crate::support::*;

on_each_backend!(a_control_s_own_evidence_age_decides_when_its_evidence_is_due);

fn days(n: u32) -> MaxAge {
    MaxAge::new(n).unwrap()
}

/// MINE-01's freshness state, next due date and own limit today.
async fn mine(app: &App, p: &Principal) -> (State, Option<chrono::NaiveDate>, Option<MaxAge>) {
    let report = app.freshness(p, 30).await.unwrap();
    let c = report.controls.iter().find(|c| c.code == code(MINE)).unwrap();
    (c.state, c.next_due, c.max_age)
}

/// SOC 2 CC6.1's status: MINE-01 alone maps to it, in full.
async fn cc6_1(app: &App, p: &Principal) -> Status {
    let readiness = app.readiness(p, Some(&fw(SOC2))).await.unwrap();
    readiness.frameworks[0].requirements.iter().find(|r| r.reference == req("CC6.1")).unwrap().status
}

fn patch(max_age: Option<MaxAge>) -> ControlPatch {
    ControlPatch { max_evidence_age_days: Some(max_age), ..ControlPatch::default() }
}

/// A controls file of one row for MINE-01 that says only its maximum evidence age (the last column).
fn import_row(max_age: &str) -> Table {
    let mut cells = vec![MINE.to_owned()];
    cells.resize(10, String::new());
    cells.push(max_age.to_owned());
    Table { file: "controls.csv".into(), rows: vec![TableRow { number: 2, cells }] }
}

async fn a_control_s_own_evidence_age_decides_when_its_evidence_is_due(backend: Backend) {
    let Some(app) = spawn_with_evidence(backend).await else { return };
    let op = small_org(&app, &slug("acme"), &email(OWNER)).await;
    let control = app.control(&op, &code(MINE)).await.unwrap().control;
    assert_eq!((control.frequency, control.status), (Frequency::Quarterly, ImplementationStatus::Implemented));
    let effective = today() - Duration::days(20);
    let evidence = AddEvidence {
        file_name: "access-review.csv".into(),
        controls: vec![(code(MINE), None)],
        effective,
        description: "The quarter's access review.".into(),
        source: EvidenceSource::Upload,
    };
    app.add_evidence(&op, evidence, &b"user,kept\nada,yes\n"[..], None).await.unwrap();
    let quarter_later = effective.checked_add_months(chrono::Months::new(3));
    assert_eq!(mine(&app, &op).await, (State::Fresh, quarter_later, None), "quarterly: fresh");
    assert_eq!(cc6_1(&app, &op).await, Status::Covered);

    // Ten days at most: twenty-day-old evidence is overdue, and the requirement only partial.
    app.edit_control(&op, &code(MINE), patch(Some(days(10))), None).await.unwrap();
    let due = effective + Duration::days(10);
    assert_eq!(mine(&app, &op).await, (State::Overdue, Some(due), Some(days(10))));
    assert_eq!(cc6_1(&app, &op).await, Status::Partial, "its evidence is overdue");
    let calendar = app.freshness(&op, 30).await.unwrap().calendar;
    let entry = calendar.iter().find(|e| e.code == code(MINE)).unwrap();
    assert_eq!((entry.state, entry.due, entry.max_age), (State::Overdue, Some(due), Some(days(10))));

    // Cleared, the frequency decides again.
    app.edit_control(&op, &code(MINE), patch(None), None).await.unwrap();
    assert_eq!(mine(&app, &op).await, (State::Fresh, quarter_later, None));
    assert_eq!(cc6_1(&app, &op).await, Status::Covered);

    // An import sets it, clears it with `none`, leaves it with an empty cell, and refuses a bad
    // one by its row and column, writing nothing.
    let report = app.import_controls(&op, &import_row("7")).await.unwrap();
    assert_eq!(report.updated, 1);
    assert_eq!(mine(&app, &op).await.2, Some(days(7)));
    let (_, rows) = app.export_controls(&op).await.unwrap();
    let exported = rows.iter().find(|r| r[0] == MINE).unwrap();
    assert_eq!(exported.last().map(String::as_str), Some("7"), "exported in the last column: {exported:?}");
    let report = app.import_controls(&op, &import_row("")).await.unwrap();
    assert_eq!((report.updated, report.unchanged), (0, 1), "an empty cell leaves it as it is");
    let before = head(&app, &op).await;
    for bad in ["0", "1831", "a week"] {
        let error = app.import_controls(&op, &import_row(bad)).await.unwrap_err();
        assert_eq!(error.code, Code::InvalidRow, "{bad}: {error}");
        let row = &error.rows[0];
        assert_eq!((row.row, row.column.as_deref(), row.code), (2, Some("max_evidence_age_days"), "invalid_value"));
        assert!(row.message.contains("1 to 1830"), "{bad}: {}", row.message);
    }
    assert_eq!(head(&app, &op).await, before, "a refused import writes nothing");
    app.import_controls(&op, &import_row("none")).await.unwrap();
    assert_eq!(mine(&app, &op).await.2, None, "`none` clears it");

    // Every change is in the log, and the log replays to the state.
    let verdicts = evident_app::verify::verify(app.store().as_ref(), None, None).await.unwrap();
    assert!(verdicts.iter().all(|v| v.ok), "{verdicts:?}");
}
