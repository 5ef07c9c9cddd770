use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_code};

async fn a_token_is_shown_once_and_acts_with_its_role(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let (status, created) = app.create_token(&ada, "acme", json!({"name": "ci", "role": "viewer"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("evt_"), "{secret}");
    let listed = app.as_browser(&ada, Method::GET, "/api/orgs/acme/tokens").send().await.unwrap().text().await.unwrap();
    assert!(listed.contains("\"name\":\"ci\"") && !listed.contains(&secret), "listed, never with its secret");
    let list: Value = serde_json::from_str(&listed).unwrap();
    assert!(list["items"][0].get("secret").is_none());

    let read = app.with_token(&secret, Method::GET, "/api/orgs/acme/controls/IAM-02").send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK, "a viewer token reads");
    let edit = app
        .with_token(&secret, Method::PATCH, "/api/orgs/acme/controls/IAM-02")
        .header("if-match", "\"1\"")
        .json(&json!({"status": "implemented"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(edit).await, (StatusCode::FORBIDDEN, "permission_denied".into()), "and writes nothing");
    let me: Value = app.with_token(&secret, Method::GET, "/api/me").send().await.unwrap().json().await.unwrap();
    assert_eq!((me["token"]["name"].as_str(), me["token"]["role"].as_str()), (Some("ci"), Some("viewer")));
}

async fn a_token_has_a_role_no_higher_than_its_creators(app: TestApp) {
    let olu = app.browser("olu@acme.example").await;
    let (status, body) = app.create_token(&olu, "acme", json!({"name": "mine", "role": "admin"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
    let (status, created) = app.create_token(&olu, "acme", json!({"name": "mine", "role": "control_owner"})).await;
    assert_eq!(status, StatusCode::CREATED);
    // A token acts as its creator: a control owner's token edits the controls they own, only.
    let secret = created["secret"].as_str().unwrap();
    let edit = |code: &str| {
        app.with_token(secret, Method::PATCH, &format!("/api/orgs/acme/controls/{code}"))
            .header("if-match", "\"1\"")
            .json(&json!({"status": "implemented"}))
            .send()
    };
    assert_eq!(edit("IAM-01").await.unwrap().status(), StatusCode::OK, "olu owns IAM-01");
    assert_eq!(error_code(edit("OPS-01").await.unwrap()).await.1, "permission_denied");
    // A token cannot make tokens.
    let again = app
        .with_token(secret, Method::POST, "/api/orgs/acme/tokens")
        .json(&json!({"name": "child", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(again).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
}

async fn a_revoked_or_expired_token_is_refused(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let (_, revoked) = app.create_token(&ada, "acme", json!({"name": "old", "role": "viewer"})).await;
    let (_, expiring) =
        app.create_token(&ada, "acme", json!({"name": "short", "role": "viewer", "expires_in_days": 1})).await;
    let (secret, id) = (revoked["secret"].as_str().unwrap(), revoked["token"]["id"].as_str().unwrap());
    let read = |secret: &str| app.with_token(secret, Method::GET, "/api/orgs/acme/controls").send();
    assert_eq!(read(secret).await.unwrap().status(), StatusCode::OK);
    let revoke = app.as_browser(&ada, Method::DELETE, &format!("/api/orgs/acme/tokens/{id}")).send().await.unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert_eq!(error_code(read(secret).await.unwrap()).await, (StatusCode::UNAUTHORIZED, "unauthenticated".into()));

    let short = expiring["secret"].as_str().unwrap();
    assert_eq!(read(short).await.unwrap().status(), StatusCode::OK);
    app.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(error_code(read(short).await.unwrap()).await, (StatusCode::UNAUTHORIZED, "unauthenticated".into()));
    let made_up = format!("evt_{}", "ab".repeat(32));
    assert_eq!(error_code(read(&made_up).await.unwrap()).await.1, "unauthenticated");
}

async fn writes_by_a_token_are_logged_as_the_token_by_its_creator(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let (_, created) = app.create_token(&cora, "acme", json!({"name": "sync", "role": "compliance_manager"})).await;
    let secret = created["secret"].as_str().unwrap();
    let edit = app
        .with_token(secret, Method::PATCH, "/api/orgs/acme/controls/OPS-01")
        .header("if-match", "\"1\"")
        .json(&json!({"status": "implemented"}))
        .send()
        .await
        .unwrap();
    assert_eq!(edit.status(), StatusCode::OK);
    let log = app.audit_actors("acme").await;
    assert!(log.contains(&("cora@acme.example".into(), "token.create".into())), "{log:?}");
    assert_eq!(log.last().unwrap(), &("token:sync by cora@acme.example".to_owned(), "control.update".to_owned()));
}

async fn a_token_of_one_organisation_finds_no_other(app: TestApp) {
    let gus = app.browser("gus@globex.example").await;
    let (_, created) = app.create_token(&gus, "globex", json!({"name": "ci", "role": "admin"})).await;
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(app.with_token(secret, Method::GET, "/api/orgs/globex/controls").send().await.unwrap().status(), 200);
    let other = app.with_token(secret, Method::GET, "/api/orgs/acme/controls").send().await.unwrap();
    assert_eq!(error_code(other).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let orgs: Value = app.with_token(secret, Method::GET, "/api/orgs").send().await.unwrap().json().await.unwrap();
    assert_eq!(orgs["items"].as_array().unwrap().len(), 1);
    // Another organisation's token cannot be revoked from here, nor seen.
    let ada = app.browser("ada@acme.example").await;
    let id = created["token"]["id"].as_str().unwrap();
    let revoke = app.as_browser(&ada, Method::DELETE, &format!("/api/orgs/acme/tokens/{id}")).send().await.unwrap();
    assert_eq!(error_code(revoke).await, (StatusCode::NOT_FOUND, "token_not_found".into()));
    assert_eq!(app.with_token(secret, Method::GET, "/api/orgs/globex/controls").send().await.unwrap().status(), 200);
}

crate::both!(
    a_token_is_shown_once_and_acts_with_its_role,
    a_token_has_a_role_no_higher_than_its_creators,
    a_revoked_or_expired_token_is_refused,
    writes_by_a_token_are_logged_as_the_token_by_its_creator,
    a_token_of_one_organisation_finds_no_other,
);
