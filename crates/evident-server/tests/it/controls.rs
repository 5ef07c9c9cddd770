use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_code};

async fn controls_come_a_page_at_a_time_by_cursor(app: TestApp) {
    let vic = app.browser("vic@acme.example").await;
    let mut codes = Vec::new();
    let mut path = "/api/orgs/acme/controls?limit=2".to_owned();
    loop {
        let page: Value = app.as_browser(&vic, Method::GET, &path).send().await.unwrap().json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        codes.extend(items.iter().map(|c| c["code"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/orgs/acme/controls?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(codes, ["IAM-01", "IAM-02", "OPS-01", "OPS-02", "OPS-03"], "every control once, in order");
    let bad = app.as_browser(&vic, Method::GET, "/api/orgs/acme/controls?limit=0").send().await.unwrap();
    assert_eq!(error_code(bad).await, (StatusCode::BAD_REQUEST, "invalid_input".into()));
}

async fn a_control_answers_with_its_revision_as_etag(app: TestApp) {
    let vic = app.browser("vic@acme.example").await;
    let response = app.as_browser(&vic, Method::GET, "/api/orgs/acme/controls/IAM-01").send().await.unwrap();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["code"].as_str(), body["owner"].as_str()), (Some("IAM-01"), Some("olu@acme.example")));
    let missing = app.as_browser(&vic, Method::GET, "/api/orgs/acme/controls/NOPE-9").send().await.unwrap();
    assert_eq!(error_code(missing).await, (StatusCode::NOT_FOUND, "control_not_found".into()));
}

async fn a_viewer_reads_but_may_not_patch(app: TestApp) {
    let vic = app.browser("vic@acme.example").await;
    let patch = app
        .as_browser(&vic, Method::PATCH, "/api/orgs/acme/controls/IAM-02")
        .header("if-match", "\"1\"")
        .json(&json!({"title": "Mine now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(patch).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let control: Value =
        app.as_browser(&vic, Method::GET, "/api/orgs/acme/controls/IAM-02").send().await.unwrap().json().await.unwrap();
    assert_eq!((control["title"].as_str(), control["revision"].as_i64()), (Some("Control IAM-02"), Some(1)));
}

async fn another_organisation_answers_404_never_403(app: TestApp) {
    let gus = app.browser("gus@globex.example").await;
    for path in ["/api/orgs/acme/controls", "/api/orgs/acme/controls/IAM-01", "/api/orgs/acme/readiness"] {
        let response = app.as_browser(&gus, Method::GET, path).send().await.unwrap();
        let (status, code) = error_code(response).await;
        assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "organisation_not_found"), "{path}");
    }
    let nowhere = app.as_browser(&gus, Method::GET, "/api/orgs/no-such-org/controls").send().await.unwrap();
    let nowhere: Value = nowhere.json().await.unwrap();
    let acme = app.as_browser(&gus, Method::GET, "/api/orgs/acme/controls").send().await.unwrap();
    let acme: Value = acme.json().await.unwrap();
    assert_eq!(
        acme["message"].as_str().unwrap().replace("acme", "X"),
        nowhere["message"].as_str().unwrap().replace("no-such-org", "X"),
        "an organisation one is not in reads as one that does not exist"
    );
    let patch = app
        .as_browser(&gus, Method::PATCH, "/api/orgs/acme/controls/IAM-02")
        .header("if-match", "\"1\"")
        .json(&json!({"title": "Taken over"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(patch).await.0, StatusCode::NOT_FOUND);
    let ada = app.browser("ada@acme.example").await;
    let control: Value =
        app.as_browser(&ada, Method::GET, "/api/orgs/acme/controls/IAM-02").send().await.unwrap().json().await.unwrap();
    assert_eq!(control["title"], "Control IAM-02", "nothing changed across organisations");
}

async fn a_stale_if_match_is_refused_and_no_change_is_lost(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let cora = app.browser("cora@acme.example").await;
    let edit = |browser, etag: &str, body: Value| {
        app.as_browser(browser, Method::PATCH, "/api/orgs/acme/controls/OPS-02")
            .header("if-match", etag.to_owned())
            .json(&body)
            .send()
    };
    let first = edit(&ada, "\"1\"", json!({"status": "implemented"})).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["etag"], "\"2\"");
    let second = edit(&cora, "\"1\"", json!({"title": "Cora's title"})).await.unwrap();
    assert_eq!(error_code(second).await, (StatusCode::CONFLICT, "conflict".into()));
    let now: Value = app
        .as_browser(&cora, Method::GET, "/api/orgs/acme/controls/OPS-02")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((now["status"].as_str(), now["title"].as_str()), (Some("implemented"), Some("Control OPS-02")));
    let retried = edit(&cora, "\"2\"", json!({"title": "Cora's title"})).await.unwrap();
    assert_eq!(retried.status(), StatusCode::OK, "based on what is there now, it goes through");
    let after: Value = retried.json().await.unwrap();
    assert_eq!((after["status"].as_str(), after["title"].as_str()), (Some("implemented"), Some("Cora's title")));
    let missing = app
        .as_browser(&cora, Method::PATCH, "/api/orgs/acme/controls/OPS-02")
        .json(&json!({"title": "No precondition"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(missing).await, (StatusCode::PRECONDITION_REQUIRED, "precondition_required".into()));
}

async fn readiness_is_served_as_json(app: TestApp) {
    let vic = app.browser("vic@acme.example").await;
    let response = app.as_browser(&vic, Method::GET, "/api/orgs/acme/readiness").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert!(body["frameworks"].is_array() && body["overall"].is_object(), "{body}");
    let unknown = app.as_browser(&vic, Method::GET, "/api/orgs/acme/readiness?framework=nope:1").send().await.unwrap();
    assert_eq!(error_code(unknown).await.0, StatusCode::NOT_FOUND);
}

crate::both!(
    controls_come_a_page_at_a_time_by_cursor,
    a_control_answers_with_its_revision_as_etag,
    a_viewer_reads_but_may_not_patch,
    another_organisation_answers_404_never_403,
    a_stale_if_match_is_refused_and_no_change_is_lost,
    readiness_is_served_as_json,
);
