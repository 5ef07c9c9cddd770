//! The Type 2 window page: the controls an auditor tests over a window, their missing periods and
//! sample, the exports for those who may export, and a bad window told on the page.

use evident_core::{ControlCode, ControlPatch, Coverage, FrameworkId, ImplementationStatus, RequirementRef};
use reqwest::StatusCode;

use super::page;
use crate::support::TestApp;

/// IAM-01 implemented, mapped to SOC 2 CC6.1, with one piece of evidence dated yesterday.
async fn one_tested_control(app: &TestApp) {
    let acme = app.operator("acme", None).await;
    let iam01 = ControlCode::parse("IAM-01").unwrap();
    let patch = ControlPatch { status: Some(ImplementationStatus::Implemented), ..Default::default() };
    app.app.edit_control(&acme, &iam01, patch, None).await.unwrap();
    let soc2 = FrameworkId::parse("soc2:2017").unwrap();
    let cc61 = RequirementRef::parse("CC6.1").unwrap();
    app.app.map_control(&acme, &iam01, &soc2, &cc61, Coverage::Full, "access").await.unwrap();
    crate::evidence::seed(app).await;
}

async fn the_window_shows_each_tested_controls_missing_periods_and_sample(app: TestApp) {
    one_tested_control(&app).await;
    let today = app.app.now().date_naive();
    let from = today - chrono::Duration::days(364);
    let ada = app.browser("ada@acme.example").await;
    let path = format!("/o/acme/type2?framework=soc2%3A2017&from={from}&to={today}&sampling=frequency&seed=7");
    let (status, html) = page(&app, &ada, &path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("1 control(s) tested, sample seed 7"), "{html}");
    let row = &html[html.find(r#"<a href="/o/acme/controls/IAM-01">IAM-01</a>"#).expect("IAM-01 is tested")..];
    let row: String = row[..row.find("</tr>").unwrap()].split_whitespace().collect::<Vec<_>>().join(" ");
    // Quarterly over a year: four or five quarters expected (the window need not start on one);
    // the one piece of evidence covers only the last.
    let expected: usize =
        regex::Regex::new(r"<td>quarterly</td><td>(\d+)</td>").unwrap().captures(&row).expect(&row)[1].parse().unwrap();
    assert!((4..=5).contains(&expected), "{row}");
    assert!(row.contains(r#"<span class="tag overdue">1</span>"#), "one of {expected} evidenced: {row}");
    assert!(!row.contains("<td>none</td>"), "the quarters without evidence are listed as missing: {row}");
    let sampled = row.matches("<li>#").count();
    assert!(
        sampled >= 1 && row.matches("no evidence").count() >= sampled - 1,
        "the unevidenced draws are flagged: {row}"
    );
    assert!(
        html.contains("what=population&amp;format=csv") && html.contains("seed=7"),
        "the exports draw the same sample"
    );
    let (_, again) = page(&app, &ada, &path).await;
    assert_eq!(super::redacted(&again), super::redacted(&html), "the same seed draws the same sample");
}

async fn a_viewer_sees_the_window_without_the_exports(app: TestApp) {
    one_tested_control(&app).await;
    let vic = app.browser("vic@acme.example").await;
    let (status, html) = page(&app, &vic, "/o/acme/type2").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(r#"<option value="soc2:2017" selected>"#), "SOC 2 is chosen by default");
    assert!(html.contains("control(s) tested"), "the last six months are analysed: {html}");
    assert!(!html.contains("/type2/export"), "a viewer may not export, so no export is offered");
}

async fn a_window_too_short_is_told_on_the_page(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let (status, html) = page(&app, &ada, "/o/acme/type2?framework=soc2%3A2017&from=2026-01-01&to=2026-01-31").await;
    assert_eq!(status, StatusCode::OK, "the page is shown again with what is wrong");
    assert!(html.contains(r#"<p class="error" role="alert">"#), "{html}");
    assert!(!html.contains("control(s) tested"), "nothing is analysed");
    let (_, html) = page(&app, &ada, "/o/acme/type2?from=1st%20of%20May").await;
    assert!(html.contains("a day is written YYYY-MM-DD"), "{html}");
}

crate::both!(
    the_window_shows_each_tested_controls_missing_periods_and_sample,
    a_viewer_sees_the_window_without_the_exports,
    a_window_too_short_is_told_on_the_page,
);
