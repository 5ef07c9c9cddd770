//! Assets and the risk methodology through HTTP: created, listed with filters and sorts, shown,
//! edited with `ETag`/`If-Match` so that two edits never lose one; the methodology set.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_code, send};

fn codes(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap().to_owned()).collect()
}

fn laptop(code: &str) -> Value {
    json!({"code": code, "name": "Engineering laptops", "kind": "hardware", "owner": "olu@acme.example",
           "classification": "internal", "confidentiality": 3, "integrity": 2, "availability": 2, "parent": "AST-01"})
}

async fn assets_are_created_listed_filtered_sorted_and_shown(app: TestApp) {
    crate::risks::register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let created =
        app.as_browser(&cora, Method::POST, "/api/orgs/acme/assets").json(&laptop("AST-02")).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let tag = created.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = created.json().await.unwrap();
    assert_eq!((body["kind"].as_str(), body["parent"].as_str()), (Some("hardware"), Some("AST-01")), "{body}");
    let taken =
        app.as_browser(&cora, Method::POST, "/api/orgs/acme/assets").json(&laptop("AST-02")).send().await.unwrap();
    assert_eq!(error_code(taken).await, (StatusCode::CONFLICT, "already_exists".into()));
    let orphan = json!({"code": "AST-03", "name": "x", "kind": "software", "classification": "public",
                        "confidentiality": 1, "integrity": 1, "availability": 1, "parent": "AST-99"});
    let orphan = app.as_browser(&cora, Method::POST, "/api/orgs/acme/assets").json(&orphan).send().await.unwrap();
    assert_eq!(error_code(orphan).await, (StatusCode::BAD_REQUEST, "invalid_input".into()), "an unknown parent");

    let vic = app.browser("vic@acme.example").await;
    let list = |query: &str| send(app.as_browser(&vic, Method::GET, &format!("/api/orgs/acme/assets{query}")));
    assert_eq!(codes(&list("").await.1), ["AST-01", "AST-02"]);
    assert_eq!(codes(&list("?kind=hardware").await.1), ["AST-02"]);
    assert_eq!(codes(&list("?parent=AST-01").await.1), ["AST-02"]);
    assert_eq!(codes(&list("?owner=olu@acme.example").await.1), ["AST-02"]);
    assert_eq!(codes(&list("?classification=restricted").await.1), Vec::<String>::new());
    assert_eq!(codes(&list("?sort=-code").await.1), ["AST-02", "AST-01"]);
    // AST-01 (confidential, value 4) before AST-02 (internal, value 3) when the most sensitive come first.
    assert_eq!(codes(&list("?sort=-classification").await.1), ["AST-01", "AST-02"]);
    assert_eq!(codes(&list("?sort=value").await.1), ["AST-02", "AST-01"]);
    let (status, error) = list("?sort=colour").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")));
    assert!(error["message"].as_str().unwrap().contains("classification"), "the keys are named: {error}");

    let one = app.as_browser(&vic, Method::GET, "/api/orgs/acme/assets/AST-02").send().await.unwrap();
    assert_eq!(one.headers()["etag"].to_str().unwrap(), tag, "the same version as created");
    let missing = app.as_browser(&vic, Method::GET, "/api/orgs/acme/assets/AST-77").send().await.unwrap();
    assert_eq!(error_code(missing).await, (StatusCode::NOT_FOUND, "asset_not_found".into()));
    let read_only = app.as_browser(&vic, Method::POST, "/api/orgs/acme/assets").json(&laptop("AST-05")).send().await;
    assert_eq!(error_code(read_only.unwrap()).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
}

async fn two_edits_of_one_asset_end_in_one_winner_and_a_conflict(app: TestApp) {
    crate::risks::register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let read = app.as_browser(&cora, Method::GET, "/api/orgs/acme/assets/AST-01").send().await.unwrap();
    let tag = read.headers()["etag"].to_str().unwrap().to_owned();
    let edit = |body: Value, tag: Option<&str>| {
        let request = app.as_browser(&cora, Method::PATCH, "/api/orgs/acme/assets/AST-01").json(&body);
        match tag {
            Some(tag) => request.header("if-match", tag),
            None => request,
        }
        .send()
    };
    let first = edit(json!({"name": "Customer database (primary)"}), Some(&tag)).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let new_tag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_tag, tag, "a change gives a new version");
    let second = edit(json!({"availability": 5}), Some(&tag)).await.unwrap();
    assert_eq!(error_code(second).await, (StatusCode::CONFLICT, "conflict".into()), "based on what changed since");
    let none = edit(json!({"availability": 5}), None).await.unwrap();
    assert_eq!(error_code(none).await, (StatusCode::PRECONDITION_REQUIRED, "precondition_required".into()));

    let (_, now) = send(app.as_browser(&cora, Method::GET, "/api/orgs/acme/assets/AST-01")).await;
    assert_eq!((now["name"].as_str(), now["availability"].as_u64()), (Some("Customer database (primary)"), Some(3)));
    let third = edit(json!({"availability": 5, "owner": null}), Some(&new_tag)).await.unwrap();
    assert_eq!(third.status(), StatusCode::OK, "based on the latest version it lands");
    let puts = app.audit_actors("acme").await.into_iter().filter(|(_, a)| a == "asset.put").count();
    assert_eq!(puts, 3, "the register's asset, then one record per landed edit");
}

async fn the_methodology_is_set_by_preset_or_written_out(app: TestApp) {
    crate::risks::register(&app).await;
    let cora = app.browser("cora@acme.example").await;
    let set = |body: Value| app.as_browser(&cora, Method::PUT, "/api/orgs/acme/methodology").json(&body).send();
    let (status, body) = {
        let response = set(json!({"preset": "3x3"})).await.unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_eq!((status, body["version"].as_i64()), (StatusCode::OK, Some(2)), "{body}");
    assert_eq!(body["methodology"]["likelihood"].as_array().unwrap().len(), 3);

    let written = json!({"methodology": {
        "likelihood": [{"name": "Low"}, {"name": "Medium"}, {"name": "High"}],
        "impact": [{"name": "Low"}, {"name": "Medium"}, {"name": "High"}],
        "levels": [{"name": "Low", "min_score": 1, "colour": "#5cb85c"}, {"name": "High", "min_score": 5, "colour": "#d9534f"}],
        "acceptance_level": "Low"}});
    let response = set(written).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    let bad = json!({"methodology": {
        "likelihood": [{"name": "Low"}], "impact": [{"name": "Low"}],
        "levels": [{"name": "Low", "min_score": 1, "colour": "#5cb85c"}], "acceptance_level": "Low"}});
    assert_eq!(error_code(set(bad).await.unwrap()).await, (StatusCode::BAD_REQUEST, "invalid_input".into()));
    assert_eq!(error_code(set(json!({})).await.unwrap()).await, (StatusCode::BAD_REQUEST, "invalid_input".into()));
    let both = json!({"preset": "5x5", "methodology": null});
    assert_eq!(set(both).await.unwrap().status(), StatusCode::OK, "an explicit null is no methodology");

    let vic = app.browser("vic@acme.example").await;
    let refused = app
        .as_browser(&vic, Method::PUT, "/api/orgs/acme/methodology")
        .json(&json!({"preset": "4x4"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let (_, now) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/methodology")).await;
    assert_eq!(now["version"].as_i64(), Some(4), "3x3, the written one, then 5x5; the viewer's changed nothing");
    // The risk assessed under version 1 keeps it.
    let (_, risk) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/risks/R-001")).await;
    assert_eq!(risk["methodology"].as_i64(), Some(1), "{risk}");
}

crate::both!(
    assets_are_created_listed_filtered_sorted_and_shown,
    two_edits_of_one_asset_end_in_one_winner_and_a_conflict,
    the_methodology_is_set_by_preset_or_written_out,
);
