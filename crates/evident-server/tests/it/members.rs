//! Members through HTTP: listed, added, changed and removed by an administrator; an account
//! disabled by one signs nothing in, and its sessions and tokens stop at once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, error_code, send};

fn emails(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap().to_owned()).collect()
}

async fn an_administrator_adds_changes_and_removes_members(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let before = app.audit_actors("acme").await.len();
    let (status, page) = send(app.as_browser(&ada, Method::GET, "/api/orgs/acme/members")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        emails(&page),
        ["ada@acme.example", "aud@acme.example", "cora@acme.example", "olu@acme.example", "vic@acme.example"],
        "by e-mail by default"
    );

    let (status, added) = send(
        app.as_browser(&ada, Method::POST, "/api/orgs/acme/members")
            .json(&json!({"email": "neo@acme.example", "role": "viewer", "display_name": "Neo"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!((added["email"].as_str(), added["role"].as_str()), (Some("neo@acme.example"), Some("viewer")));
    let again = app
        .as_browser(&ada, Method::POST, "/api/orgs/acme/members")
        .json(&json!({"email": "neo@acme.example", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(again).await, (StatusCode::CONFLICT, "already_exists".into()));

    let (status, changed) = send(
        app.as_browser(&ada, Method::PATCH, "/api/orgs/acme/members/neo@acme.example")
            .json(&json!({"role": "auditor"})),
    )
    .await;
    assert_eq!((status, changed["role"].as_str()), (StatusCode::OK, Some("auditor")), "{changed}");
    let (_, auditors) = send(app.as_browser(&ada, Method::GET, "/api/orgs/acme/members?role=auditor")).await;
    assert_eq!(emails(&auditors), ["aud@acme.example", "neo@acme.example"]);

    let removed = app.as_browser(&ada, Method::DELETE, "/api/orgs/acme/members/neo@acme.example").send().await.unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let (_, page) = send(app.as_browser(&ada, Method::GET, "/api/orgs/acme/members")).await;
    assert!(!emails(&page).contains(&"neo@acme.example".to_owned()), "gone: {page}");
    let gone = app.as_browser(&ada, Method::DELETE, "/api/orgs/acme/members/neo@acme.example").send().await.unwrap();
    assert_eq!(error_code(gone).await, (StatusCode::UNPROCESSABLE_ENTITY, "not_a_member".into()));

    let log: Vec<(String, String)> = app.audit_actors("acme").await.into_iter().skip(before).collect();
    let by_ada: Vec<(&str, &str)> = log.iter().map(|(actor, action)| (actor.as_str(), action.as_str())).collect();
    assert_eq!(
        by_ada,
        [
            ("ada@acme.example", "member.add"),
            ("ada@acme.example", "member.change"),
            ("ada@acme.example", "member.remove")
        ],
        "each change is in the log, by ada, and a refusal writes nothing"
    );
}

async fn what_a_member_owns_and_the_last_administrator_stay(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    // olu owns IAM-01: the control would be left with an owner who is not a member.
    let owner = app.as_browser(&ada, Method::DELETE, "/api/orgs/acme/members/olu@acme.example").send().await.unwrap();
    assert_eq!(error_code(owner).await, (StatusCode::UNPROCESSABLE_ENTITY, "rule_violated".into()));
    let last = app.as_browser(&ada, Method::DELETE, "/api/orgs/acme/members/ada@acme.example").send().await.unwrap();
    assert_eq!(error_code(last).await, (StatusCode::UNPROCESSABLE_ENTITY, "rule_violated".into()));
    let demoted = app
        .as_browser(&ada, Method::PATCH, "/api/orgs/acme/members/ada@acme.example")
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(demoted).await, (StatusCode::BAD_REQUEST, "invalid_input".into()));
    // A compliance manager manages no members, and a refusal writes nothing.
    let cora = app.browser("cora@acme.example").await;
    let before = app.audit_actors("acme").await.len();
    let refused = app
        .as_browser(&cora, Method::POST, "/api/orgs/acme/members")
        .json(&json!({"email": "eve@acme.example", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
    assert_eq!(app.audit_actors("acme").await.len(), before);
    let (_, page) = send(app.as_browser(&ada, Method::GET, "/api/orgs/acme/members")).await;
    assert_eq!(emails(&page).len(), 5, "olu and ada are still members: {page}");
}

async fn a_disabled_account_signs_nothing_in(app: TestApp) {
    let vic = app.browser("vic@acme.example").await;
    let (status, token) = app.create_token(&vic, "acme", json!({"name": "vic-cli", "role": "viewer"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = token["secret"].as_str().unwrap().to_owned();
    assert_eq!(app.with_token(&token, Method::GET, "/api/orgs/acme/controls").send().await.unwrap().status(), 200);

    let ada = app.browser("ada@acme.example").await;
    let (status, body) =
        send(app.as_browser(&ada, Method::POST, "/api/orgs/acme/members/vic@acme.example/disable")).await;
    assert_eq!((status, &body["disabled"], &body["changed"]), (StatusCode::OK, &json!(true), &json!(true)), "{body}");

    let session = app.as_browser(&vic, Method::GET, "/api/me").send().await.unwrap();
    assert_eq!(error_code(session).await, (StatusCode::UNAUTHORIZED, "unauthenticated".into()), "the session ended");
    let by_token = app.with_token(&token, Method::GET, "/api/orgs/acme/controls").send().await.unwrap();
    assert_eq!(error_code(by_token).await, (StatusCode::UNAUTHORIZED, "unauthenticated".into()), "the token too");
    let sign_in = app.sign_in("vic@acme.example", PASSWORD).await;
    assert_eq!(error_code(sign_in).await, (StatusCode::UNAUTHORIZED, "invalid_credentials".into()));

    // Disabling oneself, or a member of another organisation, is not an administrator's to do.
    let own =
        app.as_browser(&ada, Method::POST, "/api/orgs/acme/members/ada@acme.example/disable").send().await.unwrap();
    assert_eq!(error_code(own).await, (StatusCode::UNPROCESSABLE_ENTITY, "rule_violated".into()));
    let gus = app.browser("gus@globex.example").await;
    let other =
        app.as_browser(&gus, Method::POST, "/api/orgs/acme/members/cora@acme.example/disable").send().await.unwrap();
    assert_eq!(error_code(other).await, (StatusCode::NOT_FOUND, "organisation_not_found".into()));
    let stranger =
        app.as_browser(&gus, Method::POST, "/api/orgs/globex/members/cora@acme.example/disable").send().await.unwrap();
    assert_eq!(error_code(stranger).await, (StatusCode::UNPROCESSABLE_ENTITY, "not_a_member".into()));
    assert_eq!(app.sign_in("cora@acme.example", PASSWORD).await.status(), StatusCode::CREATED, "cora is untouched");

    // Enabled again, the account signs in; its old session stays ended (it was revoked), its
    // token (never revoked, only refused while its creator was disabled) works again.
    let (status, body) =
        send(app.as_browser(&ada, Method::POST, "/api/orgs/acme/members/vic@acme.example/enable")).await;
    assert_eq!((status, &body["disabled"]), (StatusCode::OK, &json!(false)), "{body}");
    assert_eq!(app.sign_in("vic@acme.example", PASSWORD).await.status(), StatusCode::CREATED);
    assert_eq!(app.as_browser(&vic, Method::GET, "/api/me").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.with_token(&token, Method::GET, "/api/orgs/acme/controls").send().await.unwrap().status(), 200);

    let (records, _) = app.app.store().installation_log(0, 1000).await.unwrap();
    let actions: Vec<(String, String)> = records
        .into_iter()
        .filter(|r| r.entry.action.starts_with("account.") && r.entry.entity_id == "vic@acme.example")
        .map(|r| (r.entry.action, r.entry.actor))
        .collect();
    let in_acme = "ada@acme.example in acme".to_owned();
    assert_eq!(
        actions,
        [
            ("account.create".to_owned(), "operator:test".to_owned()),
            ("account.disable".to_owned(), in_acme.clone()),
            ("account.enable".to_owned(), in_acme)
        ],
        "the installation log says who disabled and enabled the account"
    );
}

crate::both!(
    an_administrator_adds_changes_and_removes_members,
    what_a_member_owns_and_the_last_administrator_stay,
    a_disabled_account_signs_nothing_in,
);
