//! Account use cases behind the API, through the application the server runs.

use evident_app::accounts::{AccountsBy, Password};
use evident_app::{Code, Principal};
use evident_core::{Email, OrgSlug, Role};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, error_code};

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

async fn as_member(app: &TestApp, org: &str, who: &str) -> Principal {
    app.app.member(&OrgSlug::parse(org).unwrap(), &email(who)).await.unwrap()
}

async fn operator(app: &TestApp, org: &str) -> Principal {
    app.app.operator(Some(&OrgSlug::parse(org).unwrap()), "test", None).await.unwrap()
}

/// An administrator creates accounts, and sets passwords, for the members of their organisation
/// who belong to no other; anyone else's is the operator's to manage.
async fn an_administrator_manages_only_the_accounts_of_their_own_members(app: TestApp) {
    let acme = operator(&app, "acme").await;
    app.app.add_member(&acme, email("new@acme.example"), Role::Viewer, None).await.unwrap();
    let ada = as_member(&app, "acme", "ada@acme.example").await;
    let generated = app.app.create_account(AccountsBy::Admin(&ada), email("new@acme.example"), None).await.unwrap();
    let password = generated.expect("a generated password, to show once");
    assert_eq!(app.sign_in("new@acme.example", password.expose()).await.status(), StatusCode::CREATED);

    let stranger = app.app.create_account(AccountsBy::Admin(&ada), email("gus@globex.example"), None).await;
    assert_eq!(stranger.unwrap_err().code, Code::NotAMember);
    // gus joins acme too: his password would open globex to acme's administrator.
    app.app.add_member(&acme, email("gus@globex.example"), Role::Viewer, None).await.unwrap();
    let shared = app.app.set_password(AccountsBy::Admin(&ada), &email("gus@globex.example"), None).await;
    assert_eq!(shared.unwrap_err().code, Code::PermissionDenied);
    assert_eq!(app.sign_in("gus@globex.example", PASSWORD).await.status(), StatusCode::CREATED, "unchanged");
    let cora = as_member(&app, "acme", "cora@acme.example").await;
    let not_admin = app.app.set_password(AccountsBy::Admin(&cora), &email("new@acme.example"), None).await;
    assert_eq!(not_admin.unwrap_err().code, Code::PermissionDenied);
    let again = app.app.create_account(AccountsBy::Admin(&ada), email("new@acme.example"), None).await;
    assert_eq!(again.unwrap_err().code, Code::AlreadyExists);

    // A new password set by the administrator ends the member's sessions.
    let browser = app.browser("vic@acme.example").await;
    let new = Password::parse("chosen by the admin").unwrap();
    app.app.set_password(AccountsBy::Admin(&ada), &email("vic@acme.example"), Some(new)).await.unwrap();
    let after = app.as_browser(&browser, Method::GET, "/api/me").send().await.unwrap();
    assert_eq!(error_code(after).await.1, "unauthenticated");
    let (log, _) = app.app.store().installation_log(0, 1000).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.entry.actor.as_str(), last.entry.action.as_str()),
        ("ada@acme.example in acme", "account.password")
    );
}

/// A token acts with at most its creator's role of the moment: demoting the creator demotes it.
async fn a_token_follows_its_creators_demotion(app: TestApp) {
    let cora = app.browser("cora@acme.example").await;
    let (_, created) = app.create_token(&cora, "acme", json!({"name": "sync", "role": "compliance_manager"})).await;
    let secret = created["secret"].as_str().unwrap();
    let acme = operator(&app, "acme").await;
    app.app.change_member(&acme, &email("cora@acme.example"), Some(Role::Viewer), None).await.unwrap();
    let me: Value = app.with_token(secret, Method::GET, "/api/me").send().await.unwrap().json().await.unwrap();
    assert_eq!(me["token"]["role"], "viewer");
    let edit = app
        .with_token(secret, Method::PATCH, "/api/orgs/acme/controls/OPS-01")
        .header("if-match", "\"1\"")
        .json(&json!({"status": "implemented"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(edit).await, (StatusCode::FORBIDDEN, "permission_denied".into()));
}

crate::both!(an_administrator_manages_only_the_accounts_of_their_own_members, a_token_follows_its_creators_demotion);
