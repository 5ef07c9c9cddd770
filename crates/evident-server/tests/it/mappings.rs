use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_code, send};

async fn a_control_is_created_and_retired(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let body = json!({"code": "NET-01", "title": "Firewall rules reviewed", "owner": "olu@acme.example",
                      "frequency": "monthly", "max_evidence_age_days": 45, "status": "in_progress"});
    let response = app.as_browser(&cora, Method::POST, "/api/orgs/acme/controls").json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        (created["code"].as_str(), created["owner"].as_str(), created["max_evidence_age_days"].as_u64()),
        (Some("NET-01"), Some("olu@acme.example"), Some(45))
    );
    let again = app.as_browser(&cora, Method::POST, "/api/orgs/acme/controls").json(&body).send().await.unwrap();
    assert_eq!(error_code(again).await.1, "already_exists");
    for (body, expected) in [
        (json!({"code": "NET-02", "title": " ", "frequency": "monthly"}), (StatusCode::BAD_REQUEST, "invalid_input")),
        (
            json!({"code": "not a code", "title": "T", "frequency": "monthly"}),
            (StatusCode::BAD_REQUEST, "invalid_input"),
        ),
        (json!({"code": "NET-02", "title": "T", "frequency": "hourly"}), (StatusCode::BAD_REQUEST, "invalid_input")),
        (
            json!({"code": "NET-02", "title": "T", "frequency": "monthly", "max_evidence_age_days": 0}),
            (StatusCode::BAD_REQUEST, "invalid_input"),
        ),
        (
            json!({"code": "NET-02", "title": "T", "frequency": "monthly", "owner": "gus@globex.example"}),
            (StatusCode::UNPROCESSABLE_ENTITY, "not_a_member"),
        ),
    ] {
        let response = app.as_browser(&cora, Method::POST, "/api/orgs/acme/controls").json(&body).send().await.unwrap();
        let (status, code) = error_code(response).await;
        assert_eq!((status, code.as_str()), expected, "{body}");
    }
    let missing = app.as_browser(&cora, Method::GET, "/api/orgs/acme/controls/NET-02").send().await.unwrap();
    assert_eq!(error_code(missing).await.1, "control_not_found", "no refused create wrote anything");

    let olu = app.browser("olu@acme.example").await;
    let refused = app.as_browser(&olu, Method::POST, "/api/orgs/acme/controls/NET-01/retire").send().await.unwrap();
    assert_eq!(
        error_code(refused).await,
        (StatusCode::FORBIDDEN, "permission_denied".into()),
        "an owner does not retire"
    );
    let gus = app.browser("gus@globex.example").await;
    let across = app.as_browser(&gus, Method::POST, "/api/orgs/acme/controls/NET-01/retire").send().await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let own = app.as_browser(&gus, Method::POST, "/api/orgs/globex/controls/NET-01/retire").send().await.unwrap();
    assert_eq!(
        error_code(own).await,
        (StatusCode::NOT_FOUND, "control_not_found".into()),
        "acme's code is not globex's"
    );
    let (status, retired) = send(app.as_browser(&cora, Method::POST, "/api/orgs/acme/controls/NET-01/retire")).await;
    assert_eq!(status, StatusCode::OK, "{retired}");
    assert!(retired["retired_at"].is_string(), "{retired}");
    let twice = app.as_browser(&cora, Method::POST, "/api/orgs/acme/controls/NET-01/retire").send().await.unwrap();
    assert_eq!(error_code(twice).await.0, StatusCode::CONFLICT);
    let (_, active) = send(app.as_browser(&cora, Method::GET, "/api/orgs/acme/controls")).await;
    assert!(
        active["items"].as_array().unwrap().iter().all(|c| c["code"] != "NET-01"),
        "a retired control is not listed"
    );
    let (_, all) = send(app.as_browser(&cora, Method::GET, "/api/orgs/acme/controls?all=true")).await;
    assert!(all["items"].as_array().unwrap().iter().any(|c| c["code"] == "NET-01"), "but stays on record");
}

async fn mappings_are_made_and_removed_by_whom_the_control_allows(app: TestApp) {
    let olu = app.browser("olu@acme.example").await;
    let map = |browser, code: &str, body: Value| {
        app.as_browser(browser, Method::POST, &format!("/api/orgs/acme/controls/{code}/mappings")).json(&body).send()
    };
    let a515 =
        json!({"framework": "iso27001:2022", "requirement": "A.5.15", "coverage": "partial", "rationale": "access"});
    let (status, mapping) =
        send(app.as_browser(&olu, Method::POST, "/api/orgs/acme/controls/IAM-01/mappings").json(&a515)).await;
    assert_eq!(status, StatusCode::OK, "{mapping}");
    assert_eq!((mapping["requirement"].as_str(), mapping["coverage"].as_str()), (Some("A.5.15"), Some("partial")));
    let not_theirs = map(&olu, "IAM-02", a515.clone()).await.unwrap();
    assert_eq!(error_code(not_theirs).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let vic = app.browser("vic@acme.example").await;
    let viewer = map(&vic, "IAM-01", a515.clone()).await.unwrap();
    assert_eq!(error_code(viewer).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let gus = app.browser("gus@globex.example").await;
    let across =
        app.as_browser(&gus, Method::POST, "/api/orgs/acme/controls/IAM-01/mappings").json(&a515).send().await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let cora = app.browser("cora@acme.example").await;
    for (code, body, expected) in [
        ("NOPE-1", a515.clone(), (StatusCode::NOT_FOUND, "control_not_found")),
        (
            "IAM-02",
            json!({"framework": "iso27001:2022", "requirement": "A.5.15"}),
            (StatusCode::BAD_REQUEST, "invalid_input"),
        ),
        (
            "IAM-02",
            json!({"framework": "nope:1", "requirement": "A.5.15", "rationale": "r"}),
            (StatusCode::NOT_FOUND, "framework_not_found"),
        ),
        (
            "IAM-02",
            json!({"framework": "iso27001:2022", "requirement": "A.99", "rationale": "r"}),
            (StatusCode::UNPROCESSABLE_ENTITY, "requirement_not_in_framework"),
        ),
        (
            "IAM-02",
            json!({"framework": "iso27001:2022", "requirement": "A.5", "rationale": "r"}),
            (StatusCode::UNPROCESSABLE_ENTITY, "requirement_not_assessable"),
        ),
        (
            "IAM-02",
            json!({"framework": "iso27001:2022", "requirement": "A.5.15", "coverage": "most", "rationale": "r"}),
            (StatusCode::BAD_REQUEST, "invalid_input"),
        ),
    ] {
        let (status, error) = error_code(map(&cora, code, body.clone()).await.unwrap()).await;
        assert_eq!((status, error.as_str()), expected, "{code} {body}");
    }

    let path = "/api/orgs/acme/controls/IAM-01/mappings/iso27001:2022/A.5.15";
    let refused = app.as_browser(&vic, Method::DELETE, path).send().await.unwrap();
    assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let across = app.as_browser(&gus, Method::DELETE, path).send().await.unwrap();
    assert_eq!(error_code(across).await.0, StatusCode::NOT_FOUND);
    let (_, control) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/controls/IAM-01")).await;
    assert_eq!(control["mappings"].as_array().unwrap().len(), 1, "nothing refused removed the mapping");
    let removed = app.as_browser(&olu, Method::DELETE, path).send().await.unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let (_, control) = send(app.as_browser(&vic, Method::GET, "/api/orgs/acme/controls/IAM-01")).await;
    assert!(control["mappings"].as_array().unwrap().is_empty(), "{control}");
    let gone = app.as_browser(&olu, Method::DELETE, path).send().await.unwrap();
    assert_eq!(error_code(gone).await, (StatusCode::NOT_FOUND, "mapping_not_found".into()));
    let odd = "/api/orgs/acme/controls/IAM-01/mappings/..%2F..%2Fetc/A.5.15";
    let odd = app.as_browser(&olu, Method::DELETE, odd).send().await.unwrap();
    assert_eq!(error_code(odd).await, (StatusCode::NOT_FOUND, "mapping_not_found".into()));
}

crate::both!(a_control_is_created_and_retired, mappings_are_made_and_removed_by_whom_the_control_allows);
