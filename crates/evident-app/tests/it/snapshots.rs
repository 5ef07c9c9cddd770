//! The JSON the use cases return for the demo organisation, as snapshots (reviewed by eye, in
//! `snapshots/`). Both backends compare against the same files, so they must agree to the byte.

use evident_app::imports::{Table, TableRow};
use evident_app::{App, Code, Principal};
use serde_json::json;

use crate::support::*;

/// `assert_json_snapshot!` with timestamps and digests redacted wherever they appear, and the
/// database ids named in the optional `{ selector => replacement }` block. (Not every `id` is
/// one: a readiness group's id is a requirement reference, worth seeing.)
macro_rules! assert_redacted_snapshot {
    ($name:expr, $value:expr $(, { $($selector:literal => $replacement:literal),* $(,)? })?) => {
        insta::assert_json_snapshot!($name, $value, {
            ".**.created_at" => "[timestamp]",
            ".**.updated_at" => "[timestamp]",
            ".**.adopted_at" => "[timestamp]",
            ".**.joined_at" => "[timestamp]",
            ".**.approved_at" => "[timestamp]",
            ".**.at" => "[timestamp]",
            ".**.digest" => "[digest]",
            ".**.hash" => "[digest]",
            ".**.prev_hash" => "[digest]",
            $($($selector => $replacement,)*)?
        })
    };
}

async fn readiness(app: &App, p: &Principal) {
    let readiness = app.readiness(p, None).await.unwrap();
    let frameworks: Vec<_> = readiness
        .frameworks
        .iter()
        .map(|f| json!({ "framework": f.framework, "score": f.score, "groups": f.groups, "categories": f.categories }))
        .collect();
    assert_redacted_snapshot!("demo_readiness", json!({ "overall": readiness.overall, "frameworks": frameworks }));
}

async fn control(app: &App, p: &Principal) {
    let view = app.control(p, &code("IAM-01")).await.unwrap();
    assert_redacted_snapshot!("demo_control_iam_01", view, { ".id" => "[id]" });
}

async fn gap(app: &App, p: &Principal) {
    let gap = app.gap(p, &fw(SOC2), &fw(ISO)).await.unwrap();
    let summary = json!({
        "from": gap.from,
        "to": gap.to,
        "covered": gap.covered,
        "uncovered": gap.uncovered.len(),
        "unreached": gap.unreached.len(),
        "suggestions": gap.uncovered.iter().map(|i| i.suggestions.len()).sum::<usize>(),
        "first_uncovered": gap.uncovered.iter().take(3).collect::<Vec<_>>(),
        "first_unreached": gap.unreached.iter().take(3).collect::<Vec<_>>(),
    });
    // The only ids in a gap are the controls' in the explanations: database ids.
    assert_redacted_snapshot!("demo_gap_soc2_to_iso27001", summary, { ".**.id" => "[id]" });
}

async fn soa(app: &App, p: &Principal) {
    let chosen = [req("A.5.15"), req("A.8.8"), req("A.8.30")];
    let rows: Vec<_> = app.soa(p, None).await.unwrap().into_iter().filter(|r| chosen.contains(&r.reference)).collect();
    assert_eq!(rows.len(), chosen.len(), "each chosen Annex A control has its row");
    assert_redacted_snapshot!("demo_soa_rows", rows);
}

async fn risk_register(app: &App, p: &Principal) {
    assert_redacted_snapshot!("demo_risk_register", app.risks(p).await.unwrap());
}

/// A controls file with one problem of each kind the import reports, row by row.
fn bad_controls() -> Table {
    let rows: [[&str; 10]; 10] = [
        ["not a code!", "Title", "", "", "", "", "", "", "", ""],
        ["BAD-01", "", "A new control without a title", "", "", "", "", "", "", ""],
        ["BAD-02", "Title", "", "nobody@nowhere.example", "fortnightly", "done", "", "", "", ""],
        ["BAD-03", "Title", "", "", "annual", "implemented", "soc9:2017", "CC6.1", "full", "Why."],
        ["BAD-03", "", "", "", "", "", ISO, "A.5", "full", "A theme, not a control."],
        ["BAD-03", "", "", "", "", "", ISO, "A.5.15", "most", "Why."],
        ["BAD-03", "Another title", "", "", "", "", "", "", "", ""],
        ["BAD-04", "Title", "", "", "", "", ISO, "A.5.15", "full", ""],
        ["BAD-05", "Title", "", "", "", "", ISO, "A.5.16", "full", "Why."],
        ["BAD-05", "", "", "", "", "", ISO, "A.5.16", "partial", "Again."],
    ];
    Table {
        file: "controls.csv".into(),
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, cells)| TableRow { number: i + 2, cells: cells.iter().map(|c| (*c).to_owned()).collect() })
            .collect(),
    }
}

async fn import_row_errors(app: &App, p: &Principal) {
    let before = head(app, p).await;
    let error = app.import_controls(p, &bad_controls()).await.unwrap_err();
    assert_eq!(error.code, Code::InvalidRow, "{error}");
    assert_eq!(head(app, p).await, before, "a file with row errors writes nothing");
    assert_redacted_snapshot!(
        "demo_import_controls_row_errors",
        json!({ "code": error.code(), "message": error.message, "file": error.file, "rows": error.rows })
    );
}

/// The demo's readiness, a control, the gap summary, SoA rows, the risk register and an
/// import's row errors, all on one demo built once (nothing here writes).
async fn the_demo_reads_as_snapshotted(backend: Backend) {
    let Some(app) = spawn(backend).await else { return };
    let demo = app.demo().await.unwrap().organisation.slug;
    let p = app.member(&demo, &email(DEMO_MANAGER)).await.unwrap();
    readiness(&app, &p).await;
    control(&app, &p).await;
    gap(&app, &p).await;
    soa(&app, &p).await;
    risk_register(&app, &p).await;
    import_row_errors(&app, &p).await;
}

on_each_backend! {
    the_demo_reads_as_snapshotted,
}
