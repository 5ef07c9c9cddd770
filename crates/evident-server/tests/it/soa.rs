use evident_app::soa::DecisionDraft;
use evident_core::RequirementRef;
use evident_core::soa::Reason;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::frameworks::walk;
use crate::support::{TestApp, error_code, send};

async fn the_soa_is_approved_listed_shown_and_compared(app: TestApp) {
    let vic = app.browser("vic@acme.example").await;
    let rows = walk(&app, &vic, "/api/orgs/acme/soa", 40).await;
    let refs: Vec<&str> = rows.iter().map(|r| r["ref"].as_str().unwrap()).collect();
    assert_eq!(refs.len(), 93, "every Annex A control once");
    let (nine, ten) = (refs.iter().position(|r| *r == "A.5.9"), refs.iter().position(|r| *r == "A.5.10"));
    assert!(nine < ten, "in the standard's order, across pages");

    let refused = app.as_browser(&vic, Method::POST, "/api/orgs/acme/soa/approve").send().await.unwrap();
    assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let gus = app.browser("gus@globex.example").await;
    let across = app.as_browser(&gus, Method::POST, "/api/orgs/acme/soa/approve").send().await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let cora = app.browser("cora@acme.example").await;
    let (status, first) = send(app.as_browser(&cora, Method::POST, "/api/orgs/acme/soa/approve")).await;
    assert_eq!((status, &first["version"], &first["created"]), (StatusCode::CREATED, &json!(1), &json!(true)));
    let (status, same) = send(app.as_browser(&cora, Method::POST, "/api/orgs/acme/soa/approve")).await;
    assert_eq!((status, &same["version"], &same["created"]), (StatusCode::OK, &json!(1), &json!(false)), "nothing new");

    let operator = app.operator("acme", None).await;
    let a74 = RequirementRef::parse("A.7.4").unwrap();
    let why = "No premises of our own: we work from a provider's data centre.".to_owned();
    let decision = DecisionDraft { applicable: false, reasons: vec![Reason::BusinessNeed], justification: why };
    app.app.set_soa(&operator, None, &a74, decision, None).await.unwrap();
    let (_, draft) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/soa/diff?from=1")).await;
    assert_eq!(draft["to"], "draft");
    let changes = draft["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["ref"] == "A.7.4" && c["field"] == "applicable"), "{draft}");
    let (status, second) = send(app.as_browser(&cora, Method::POST, "/api/orgs/acme/soa/approve")).await;
    assert_eq!((status, &second["version"]), (StatusCode::CREATED, &json!(2)));

    let versions = walk(&app, &vic, "/api/orgs/acme/soa/versions", 1).await;
    let numbers: Vec<_> = versions.iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [1, 2]);
    assert_eq!((versions[0]["excluded"].as_u64(), versions[1]["excluded"].as_u64()), (Some(0), Some(1)));
    assert_eq!(versions[1]["approved_by"], "cora@acme.example");
    let (status, one) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/soa/versions/1")).await;
    assert_eq!(status, StatusCode::OK);
    let a74_then = one["rows"].as_array().unwrap().iter().find(|r| r["ref"] == "A.7.4").unwrap().clone();
    assert_eq!(a74_then["applicable"], true, "version 1 is as it was approved");
    let (_, between) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/soa/diff?from=1&to=2")).await;
    assert_eq!(between["changes"], draft["changes"]);

    for (path, expected) in [
        ("/api/orgs/acme/soa/versions/3", (StatusCode::NOT_FOUND, "soa_version_not_found")),
        ("/api/orgs/acme/soa/versions/latest", (StatusCode::NOT_FOUND, "soa_version_not_found")),
        ("/api/orgs/acme/soa/diff?from=9", (StatusCode::NOT_FOUND, "soa_version_not_found")),
        ("/api/orgs/acme/soa/diff?from=yesterday", (StatusCode::BAD_REQUEST, "invalid_input")),
        ("/api/orgs/acme/soa/diff", (StatusCode::BAD_REQUEST, "invalid_input")),
        ("/api/orgs/acme/soa?framework=nope:1", (StatusCode::NOT_FOUND, "framework_not_found")),
        ("/api/orgs/acme/soa?limit=0", (StatusCode::BAD_REQUEST, "invalid_input")),
    ] {
        let (status, code) = error_code(app.as_browser(&vic, Method::GET, path).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), expected, "{path}");
    }
    let gus_versions = app.as_browser(&gus, Method::GET, "/api/orgs/globex/soa/versions").send().await.unwrap();
    let gus_versions: serde_json::Value = gus_versions.json().await.unwrap();
    assert_eq!(gus_versions["items"], json!([]), "acme's versions stay in acme");
    let across = app.as_browser(&gus, Method::GET, "/api/orgs/acme/soa/versions/1").send().await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let theirs = app.as_browser(&gus, Method::GET, "/api/orgs/globex/soa/versions/1").send().await.unwrap();
    assert_eq!(error_code(theirs).await, (StatusCode::NOT_FOUND, "soa_version_not_found".into()));
}

crate::both!(the_soa_is_approved_listed_shown_and_compared);
