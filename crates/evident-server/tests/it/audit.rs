use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::frameworks::walk;
use crate::support::{TestApp, error_code, send};

async fn the_audit_log_comes_a_page_at_a_time_to_those_who_may_read_it(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let body = json!({"code": "NET-01", "title": "Firewall rules reviewed", "frequency": "monthly"});
    let created = app.as_browser(&cora, Method::POST, "/api/orgs/acme/controls").json(&body).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    let aud = app.browser("aud@acme.example").await;
    let records = walk(&app, &aud, "/api/orgs/acme/audit", 3).await;
    let seqs: Vec<i64> = records.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "every record once, in order");
    let stored = app.audit_actors("acme").await;
    assert_eq!(records.len(), stored.len());
    let last = records.last().unwrap();
    assert_eq!((last["actor"].as_str(), last["action"].as_str()), (Some("cora@acme.example"), Some("control.create")));
    assert!(last["hash"].is_string() && last["prev_hash"] == records[records.len() - 2]["hash"], "{last}");

    let gus = app.browser("gus@globex.example").await;
    let theirs = walk(&app, &gus, "/api/orgs/globex/audit", 500).await;
    assert_eq!(theirs.len(), app.audit_actors("globex").await.len(), "globex reads its own log");
    assert!(theirs.iter().all(|r| r["actor"] != "cora@acme.example"), "and nothing of acme's");
    let across = app.as_browser(&gus, Method::GET, "/api/orgs/acme/audit").send().await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let vic = app.browser("vic@acme.example").await;
    let refused = app.as_browser(&vic, Method::GET, "/api/orgs/acme/audit").send().await.unwrap();
    assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    let not_a_number = hex_of("seven");
    for path in [
        "/api/orgs/acme/audit?limit=0".to_owned(),
        "/api/orgs/acme/audit?limit=501".to_owned(),
        "/api/orgs/acme/audit?cursor=zz".to_owned(),
        format!("/api/orgs/acme/audit?cursor={not_a_number}"),
        format!("/api/orgs/acme/audit?cursor={}", hex_of("-5")),
    ] {
        let (status, code) = error_code(app.as_browser(&aud, Method::GET, &path).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "invalid_input"), "{path}");
    }
    let (status, end) =
        send(app.as_browser(&aud, Method::GET, &format!("/api/orgs/acme/audit?cursor={}", hex_of("9999")))).await;
    assert_eq!((status, end), (StatusCode::OK, json!({"items": [], "next_cursor": null})), "past the end: nothing");
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

async fn verify_speaks_of_the_callers_organisation_alone(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let (status, verdict) = send(app.as_browser(&ada, Method::GET, "/api/orgs/acme/verify")).await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    assert_eq!((verdict["organisation"].as_str(), verdict["ok"].as_bool()), (Some("acme"), Some(true)), "{verdict}");
    assert_eq!(verdict["records"].as_u64(), Some(app.audit_actors("acme").await.len() as u64));
    assert_eq!(verdict["problems"], json!([]));
    let gus = app.browser("gus@globex.example").await;
    let (_, theirs) = send(app.as_browser(&gus, Method::GET, "/api/orgs/globex/verify")).await;
    assert_eq!((theirs["organisation"].as_str(), theirs["ok"].as_bool()), (Some("globex"), Some(true)));
    let across = app.as_browser(&gus, Method::GET, "/api/orgs/acme/verify").send().await.unwrap();
    assert_eq!(error_code(across).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let vic = app.browser("vic@acme.example").await;
    let refused = app.as_browser(&vic, Method::GET, "/api/orgs/acme/verify").send().await.unwrap();
    assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
}

crate::both!(
    the_audit_log_comes_a_page_at_a_time_to_those_who_may_read_it,
    verify_speaks_of_the_callers_organisation_alone,
);
