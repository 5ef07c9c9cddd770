//! The imports pages.

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};

use super::page;
use crate::support::{Browser, TestApp, error_code};

/// Two bad rows (a code that is not one, a new control without a title) around a good one that
/// must not land either.
const BAD: &str = "code,title,frequency\n\
NET-01,Firewall review,monthly\n\
not a code!,Backups,weekly\n\
NET-02,,monthly\n";

const GOOD: &str = "code,title,frequency,framework,requirement,coverage,rationale\n\
NET-01,Firewall review,monthly,soc2:2017,CC6.6,partial,Reviews the rules\n\
IAM-01,Access review,,,,,\n";

/// Sends the imports form as a browser would: `mode` is the button pressed.
async fn upload(
    app: &TestApp,
    browser: &Browser,
    kind: &str,
    mode: &str,
    file: &str,
    content: &str,
) -> (StatusCode, String, String) {
    let form = Form::new()
        .text("csrf", browser.csrf.clone())
        .text("kind", kind.to_owned())
        .part("file", Part::bytes(content.as_bytes().to_vec()).file_name(file.to_owned()).mime_str("text/csv").unwrap())
        .text("mode", mode.to_owned());
    let response = app
        .request(Method::POST, "/o/acme/imports")
        .header("cookie", format!("evident_session={}", browser.cookie))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status(), location, response.text().await.unwrap())
}

async fn control_codes(app: &TestApp) -> Vec<String> {
    let operator = app.operator("acme", None).await;
    app.app.controls(&operator, false).await.unwrap().iter().map(|c| c.control.code.to_string()).collect()
}

/// The problems table's rows: (row, field, message).
fn problems(html: &str) -> Vec<(String, String, String)> {
    let Some(table) = html.split(r#"<table class="problems">"#).nth(1) else { return Vec::new() };
    let body = table.split("<tbody>").nth(1).unwrap().split("</tbody>").next().unwrap();
    body.split("<tr>")
        .skip(1)
        .map(|tr| {
            let cells: Vec<String> =
                tr.split("<td>").skip(1).map(|td| td.split("</td>").next().unwrap().to_owned()).collect();
            (cells[0].clone(), cells[1].clone(), cells[2].clone())
        })
        .collect()
}

async fn a_spreadsheet_with_two_bad_rows_shows_both_and_nothing_lands(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let before = control_codes(&app).await;
    let (status, html) = page(&app, &cora, "/o/acme/imports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<a href="/o/acme/imports" aria-current="page">Imports</a>"#), "in the nav");

    let (status, _, html) = upload(&app, &cora, "controls", "check", "controls.csv", BAD).await;
    assert_eq!(status, StatusCode::OK, "the check did its job: {html}");
    let found = problems(&html);
    let places: Vec<(&str, &str)> = found.iter().map(|(r, f, _)| (r.as_str(), f.as_str())).collect();
    assert_eq!(places, [("3", "code"), ("4", "title")], "{found:?}");
    assert!(found.iter().all(|(_, _, m)| !m.is_empty()));
    assert!(html.contains("Problems in controls.csv"));
    assert!(!html.contains(r#"value="apply""#), "no import is offered for a file with problems");
    assert_eq!(control_codes(&app).await, before, "a check writes nothing");

    // Sent to import anyway: refused whole, the same problems shown.
    let (status, _, html) = upload(&app, &cora, "controls", "apply", "controls.csv", BAD).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problems(&html), found);
    assert_eq!(control_codes(&app).await, before, "not even NET-01 landed");

    // A file that cannot be read as the kind chosen is named beside the file field.
    let (status, _, html) = upload(&app, &cora, "controls", "check", "controls.txt", BAD).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"<p class="field-error" id="i-file-error">"#), "{html}");
}

async fn a_good_spreadsheet_lands_after_confirm(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let (status, _, html) = upload(&app, &cora, "controls", "check", "controls.csv", GOOD).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("2 rows: it would create 1, update 1 and leave 0 unchanged; 1 mappings set"), "{html}");
    assert!(
        html.contains(
            r#"<button type="submit" form="import-form" name="mode" value="apply">Import controls.csv</button>"#
        ),
        "the confirm button sends the same form, with its file"
    );
    assert!(!control_codes(&app).await.contains(&"NET-01".to_owned()), "nothing lands before the confirm");

    let (status, location, _) = upload(&app, &cora, "controls", "apply", "controls.csv", GOOD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location,
        "/o/acme/imports?done=imported&kind=controls&rows=2&created=1&updated=1&unchanged=0&mappings=1"
    );
    let (status, html) = page(&app, &cora, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The file is imported: every row landed."));
    assert!(html.contains("2 rows: 1 created, 1 updated, 0 unchanged; 1 mappings set."), "{html}");
    assert!(control_codes(&app).await.contains(&"NET-01".to_owned()), "NET-01 landed");
}

async fn an_auditor_sees_no_upload_form_and_the_post_is_refused_as_the_api_refuses_it(app: TestApp) {
    let aud = app.browser("aud@acme.example").await;
    let before = control_codes(&app).await;
    let (status, html) = page(&app, &aud, "/o/acme/imports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(r#"type="file""#) && !html.contains(r#"action="/o/acme/imports""#), "no upload form");
    assert!(!html.contains(r#"href="/o/acme/imports""#), "not in the nav either");

    let (status, _, html) = upload(&app, &aud, "controls", "check", "controls.csv", GOOD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("permission_denied"), "{html}");
    let api = app
        .as_browser(&aud, Method::POST, "/api/orgs/acme/imports/controls?dry_run=true")
        .header("content-type", "text/csv")
        .body(GOOD)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(api).await, (status, "permission_denied".to_owned()), "as the API answers");
    let (status, _, _) = upload(&app, &aud, "controls", "apply", "controls.csv", GOOD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(control_codes(&app).await, before);

    let gus = app.browser("gus@globex.example").await;
    let (status, _, html) = upload(&app, &gus, "controls", "apply", "controls.csv", GOOD).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another organisation's page does not exist for gus");
    assert!(html.contains("organisation_not_found"));
}

/// A file over the import limit is refused as it arrives, the reason beside the file field.
#[tokio::test]
async fn a_file_over_the_import_limit_is_refused_beside_the_file_field() {
    let config = evident_server::Config { import_limit: 64, ..Default::default() };
    let app = crate::support::spawn_with(crate::support::Backend::Sqlite, config).await.unwrap();
    let cora = app.browser("cora@acme.example").await;
    let (status, _, html) = upload(&app, &cora, "controls", "check", "controls.csv", GOOD).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let error = html.split(r#"<p class="field-error" id="i-file-error">"#).nth(1).expect("beside the file field");
    assert!(error.starts_with("the file is larger than an import may be (64 bytes)"), "{error}");
    assert!(!control_codes(&app).await.contains(&"NET-01".to_owned()));
}

crate::both!(
    a_spreadsheet_with_two_bad_rows_shows_both_and_nothing_lands,
    a_good_spreadsheet_lands_after_confirm,
    an_auditor_sees_no_upload_form_and_the_post_is_refused_as_the_api_refuses_it,
);
