//! The soa pages.

use evident_app::soa::DecisionDraft;
use evident_core::FrameworkId;
use evident_core::soa::Reason;
use reqwest::{Method, StatusCode};

use super::{page, post};
use crate::support::TestApp;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// acme with ISO/IEC 27001:2022 adopted, so it has a Statement of Applicability.
async fn with_iso(app: &TestApp) {
    let operator = app.operator("acme", None).await;
    let iso = FrameworkId::parse("iso27001:2022").unwrap();
    app.app.adopt(&operator, &iso, &[], "Production".into(), None).await.unwrap();
}

/// A row of the draft as the store has it: applicable, reasons, justification.
async fn decision(app: &TestApp, reference: &str) -> (bool, Vec<String>, String) {
    let rows = app.app.soa(&app.operator("acme", None).await, None).await.unwrap();
    let row = rows.into_iter().find(|r| r.reference.as_str() == reference).unwrap();
    (row.applicable, row.reasons.iter().map(|r| r.to_string()).collect(), row.justification)
}

/// The version a row's decision form carries, as the page gives it.
async fn version(app: &TestApp, who: &crate::support::Browser, reference: &str) -> String {
    let (_, html) = page(app, who, &format!("/o/acme/soa/{reference}")).await;
    let rest = html.split(r#"name="version" value=""#).nth(1).expect("the form's version");
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The table row of `reference` on the SoA page.
fn table_row<'a>(html: &'a str, reference: &str) -> &'a str {
    let start = html.find(&format!(r#"<tr id="row-{reference}">"#)).unwrap_or_else(|| panic!("no row {reference}"));
    let rest = &html[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

async fn excluding_a_row_with_reasons_and_a_justification_shows_it_excluded(app: TestApp) {
    with_iso(&app).await;
    app.app.approve_soa(&app.operator("acme", None).await, None).await.unwrap();
    let cora = app.browser("cora@acme.example").await;
    let (status, html) = page(&app, &cora, "/o/acme/soa/A.7.4").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<form method="post" action="/o/acme/soa/A.7.4""#), "the decision form");

    let justification = "No premises of our own: the offices are a serviced co-working space.";
    let read = version(&app, &cora, "A.7.4").await;
    let fields = [
        ("csrf", cora.csrf.as_str()),
        ("version", read.as_str()),
        ("applicable", "no"),
        ("reason", "business_need"),
        ("reason", "contractual"),
        ("justification", justification),
    ];
    let (status, location, _) = post(&app, &cora, "/o/acme/soa/A.7.4", &fields).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/o/acme/soa?done=soa-saved#row-A.7.4"));

    let (status, html) = page(&app, &cora, "/o/acme/soa?done=soa-saved").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The decision is saved in the draft Statement of Applicability."), "the notice");
    let row = table_row(&html, "A.7.4");
    assert!(row.contains("<td><strong>no</strong></td>"), "shown excluded: {row}");
    assert!(row.contains("No premises of our own"), "with its justification: {row}");
    assert!(row.contains("not_applicable"), "{row}");
    assert!(table_row(&html, "A.7.3").contains("<td>yes</td>"), "the other rows stay applicable");
    let (status, html) = page(&app, &cora, "/o/acme/soa/diff").await;
    assert_eq!(status, StatusCode::OK, "the row pages leave the comparison where it was");
    assert!(
        html.contains(r#"<th scope="row">A.7.4</th><td>applicable</td>"#),
        "the exclusion, against version 1: {html}"
    );
    assert_eq!(
        decision(&app, "A.7.4").await,
        (false, vec!["contractual".to_owned(), "business_need".to_owned()], justification.to_owned())
    );
}

async fn an_exclusion_without_a_justification_shows_the_error_beside_the_field_and_changes_nothing(app: TestApp) {
    with_iso(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let before = decision(&app, "A.7.4").await;
    let fields = [("csrf", cora.csrf.as_str()), ("applicable", "no"), ("reason", "legal"), ("justification", "  ")];
    let (status, _, html) = post(&app, &cora, "/o/acme/soa/A.7.4", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let field = html.split(r#"id="d-justification""#).nth(1).expect("the justification field");
    assert!(field.starts_with(r#" name="justification" rows="3" aria-invalid="true""#), "{field}");
    let error = field.split(r#"<p class="field-error" id="d-justification-error">"#).nth(1).expect("its error");
    assert!(error.starts_with("excluding A.7.4 needs at least one reason"), "{error}");
    assert!(!html.contains(r#"id="d-reasons-error""#), "a reason was given: no error beside the reasons");
    assert!(html.contains(r#"value="legal" checked"#), "what was typed is kept");
    assert!(html.contains(r#"value="no" checked"#), "what was typed is kept");
    assert_eq!(decision(&app, "A.7.4").await, before, "nothing changed");
    assert!(before.0);
}

async fn the_xlsx_export_is_a_workbook_with_every_annex_a_row(app: TestApp) {
    with_iso(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let (_, html) = page(&app, &cora, "/o/acme/soa").await;
    assert!(html.contains(r#"href="/o/acme/soa/export.xlsx""#), "the page links the workbook");

    let response = app.as_browser(&cora, Method::GET, "/o/acme/soa/export.xlsx").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], XLSX);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("soa-draft.xlsx"));
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "a zip, as a workbook is");
    let sheet = evident_tabular::read_bytes(
        "soa-draft.xlsx",
        evident_tabular::Kind::Xlsx,
        &bytes,
        &evident_tabular::Limits::default(),
    )
    .unwrap();
    // The reader folds headers to lower case.
    assert_eq!(sheet.header[..4], ["annex a control", "title", "theme", "applicable"], "the CLI's columns");
    assert_eq!(sheet.rows.len(), 93, "every Annex A control");
    assert_eq!(sheet.rows[0].cells[0], "A.5.1");
    assert_eq!(sheet.rows[92].cells[0], "A.8.34");

    let csv = app.as_browser(&cora, Method::GET, "/o/acme/soa/export.csv").send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("Annex A control,Title,Theme,Applicable,"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("A.")).count(), 93);
    let (status, _) = page(&app, &cora, "/o/acme/soa/export.pdf").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn excluding_a_control_that_treats_an_open_risk_is_refused_beside_the_choice(app: TestApp) {
    with_iso(&app).await;
    crate::risks::register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let mapping = serde_json::json!({"framework": "iso27001:2022", "requirement": "A.7.4", "coverage": "full",
        "rationale": "watches the doors"});
    let path = "/api/orgs/acme/controls/OPS-01/mappings";
    let response = app.as_browser(&cora, Method::POST, path).json(&mapping).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    let risk = serde_json::json!({"code": "R-002", "title": "Break-in", "assets": ["AST-01"], "threat": "T-02",
        "vulnerability": "V-03", "owner": "cora@acme.example", "likelihood": 3, "impact": 3,
        "treatment": "modify", "controls": ["OPS-01"], "residual_likelihood": 2, "residual_impact": 2,
        "review_date": "2027-06-30"});
    let response = app.as_browser(&cora, Method::POST, "/api/orgs/acme/risks").json(&risk).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());

    let read = version(&app, &cora, "A.7.4").await;
    let fields = [
        ("csrf", cora.csrf.as_str()),
        ("version", read.as_str()),
        ("applicable", "no"),
        ("reason", "business_need"),
        ("justification", "No premises."),
    ];
    let (status, _, html) = post(&app, &cora, "/o/acme/soa/A.7.4", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = html.split(r#"<p class="field-error" id="d-applicable-error">"#).nth(1).expect("beside the choice");
    assert!(error.starts_with("A.7.4 cannot be excluded: it treats open risk R-002"), "{error}");
    assert!(decision(&app, "A.7.4").await.0, "still applicable");
}

async fn a_decision_made_meanwhile_is_not_overwritten_and_the_second_person_is_told(app: TestApp) {
    with_iso(&app).await;
    let cora = app.browser("cora@acme.example").await;
    // Cora and the operator open A.7.4 as it is; the operator saves first.
    let read = version(&app, &cora, "A.7.4").await;
    let operator = app.operator("acme", None).await;
    let first = "A shared office in Leeds since March.";
    let a74 = evident_core::RequirementRef::parse("A.7.4").unwrap();
    let operators = version(&app, &cora, "A.7.4").await;
    app.app
        .set_soa(
            &operator,
            None,
            &a74,
            DecisionDraft { applicable: true, reasons: vec![Reason::Contractual], justification: first.into() },
            Some(&operators),
        )
        .await
        .unwrap();

    let fields = [
        ("csrf", cora.csrf.as_str()),
        ("version", read.as_str()),
        ("applicable", "no"),
        ("reason", "business_need"),
        ("justification", "No premises of our own."),
    ];
    let (status, _, html) = post(&app, &cora, "/o/acme/soa/A.7.4", &fields).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("Someone changed this decision since you opened the page"), "{html}");
    assert!(html.contains(first), "the decision now is shown");
    assert!(html.contains("No premises of our own.</textarea>"), "what Cora typed is kept");
    assert_eq!(decision(&app, "A.7.4").await, (true, vec!["contractual".to_owned()], first.to_owned()), "kept");

    // Saving again from the page as it is now replaces it, knowingly.
    let now = html.split(r#"name="version" value=""#).nth(1).unwrap();
    let now = &now[..now.find('"').unwrap()];
    assert_ne!(now, read, "the form carries the version it shows");
    let fields = [fields[0], ("version", now), fields[2], fields[3], fields[4]];
    let (status, _, _) = post(&app, &cora, "/o/acme/soa/A.7.4", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!decision(&app, "A.7.4").await.0, "excluded now");
}

async fn an_auditor_sees_no_edit(app: TestApp) {
    with_iso(&app).await;
    let aud = app.browser("aud@acme.example").await;
    for path in ["/o/acme/soa", "/o/acme/soa/A.7.4"] {
        let (status, html) = page(&app, &aud, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let forms: Vec<&str> = html
            .split(r#"<form method="post" action=""#)
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .filter(|action| *action != "/logout")
            .collect();
        assert!(forms.is_empty(), "{path}: {forms:?}");
    }
    let fields = [("csrf", aud.csrf.as_str()), ("applicable", "no"), ("reason", "legal"), ("justification", "Why")];
    let (status, _, html) = post(&app, &aud, "/o/acme/soa/A.7.4", &fields).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("permission_denied"));
    assert!(decision(&app, "A.7.4").await.0, "still applicable");
}

crate::both!(
    excluding_a_row_with_reasons_and_a_justification_shows_it_excluded,
    a_decision_made_meanwhile_is_not_overwritten_and_the_second_person_is_told,
    an_exclusion_without_a_justification_shows_the_error_beside_the_field_and_changes_nothing,
    the_xlsx_export_is_a_workbook_with_every_annex_a_row,
    excluding_a_control_that_treats_an_open_risk_is_refused_beside_the_choice,
    an_auditor_sees_no_edit,
);
