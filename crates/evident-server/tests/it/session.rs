use evident_app::accounts::MAX_FAILURES;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{Backend, PASSWORD, TestApp, error_code, set_cookie, spawn_with};

async fn signing_in_sets_an_http_only_lax_cookie_and_me_names_the_user(app: TestApp) {
    let response = app.sign_in("ada@acme.example", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let cookie = set_cookie(&response).unwrap();
    let attributes: Vec<&str> = cookie.split("; ").collect();
    assert!(attributes[0].starts_with("evident_session=") && attributes[0].len() > 40, "{cookie}");
    for wanted in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(&wanted), "{wanted} in {cookie}");
    }
    assert!(!attributes.contains(&"Secure"), "plain HTTP without a trusted proxy: not Secure ({cookie})");
    let browser = app.browser("ada@acme.example").await;
    let me: Value = app.as_browser(&browser, Method::GET, "/api/me").send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["email"], "ada@acme.example");
    assert_eq!(me["csrf_token"], browser.csrf.as_str());
    assert_eq!(me["memberships"][0]["organisation"]["slug"], "acme");
    assert_eq!(me["memberships"][0]["role"], "admin");
    let anonymous = app.request(Method::GET, "/api/me").send().await.unwrap();
    assert!(anonymous.headers().contains_key("www-authenticate"));
    assert_eq!(error_code(anonymous).await, (StatusCode::UNAUTHORIZED, "unauthenticated".into()));
}

/// The cookie is `Secure` when a trusted proxy says the request came over TLS, and only then.
#[tokio::test]
async fn the_cookie_is_secure_only_behind_a_trusted_proxy() {
    for (trust_proxy, secure) in [(true, true), (false, false)] {
        let config = evident_server::Config { trust_proxy, ..Default::default() };
        let app = spawn_with(Backend::Sqlite, config).await.unwrap();
        let body = serde_json::json!({"email": "ada@acme.example", "password": PASSWORD});
        let request = app.request(Method::POST, "/api/session").header("x-forwarded-proto", "https");
        let response = request.json(&body).send().await.unwrap();
        let cookie = set_cookie(&response).unwrap();
        assert_eq!(cookie.split("; ").any(|a| a == "Secure"), secure, "trust_proxy {trust_proxy}: {cookie}");
    }
}

async fn a_wrong_password_and_an_unknown_email_are_refused_alike(app: TestApp) {
    let wrong = app.sign_in("ada@acme.example", "not the password at all").await;
    assert!(set_cookie(&wrong).is_none());
    let wrong: Value = wrong.json().await.unwrap();
    let unknown: Value = app.sign_in("nobody@acme.example", "not the password at all").await.json().await.unwrap();
    assert_eq!(wrong["code"], "invalid_credentials");
    assert_eq!(wrong, unknown, "nothing tells a wrong password from an unknown e-mail");
    let malformed = app.sign_in("not an e-mail", "x").await;
    assert_eq!(error_code(malformed).await, (StatusCode::UNAUTHORIZED, "invalid_credentials".into()));
}

async fn repeated_failures_lock_the_email_out_even_with_the_right_password(app: TestApp) {
    for _ in 0..MAX_FAILURES {
        let refused = app.sign_in("vic@acme.example", "a wrong password!").await;
        assert_eq!(error_code(refused).await, (StatusCode::UNAUTHORIZED, "invalid_credentials".into()));
    }
    let locked = app.sign_in("vic@acme.example", PASSWORD).await;
    assert!(set_cookie(&locked).is_none());
    assert_eq!(error_code(locked).await, (StatusCode::TOO_MANY_REQUESTS, "account_locked".into()));
    // Others sign in as usual, and the lockout is in the installation's audit log.
    app.browser("ada@acme.example").await;
    let (log, _) = app.app.store().installation_log(0, 1000).await.unwrap();
    let lockouts: Vec<_> = log.iter().filter(|r| r.entry.action == "account.lockout").collect();
    assert_eq!(lockouts.len(), 1);
    assert_eq!(lockouts[0].entry.entity_id, "vic@acme.example");
    // Once the window has passed, the right password works again.
    app.advance(evident_app::accounts::FAILURE_WINDOW + chrono::Duration::minutes(1));
    assert_eq!(app.sign_in("vic@acme.example", PASSWORD).await.status(), StatusCode::CREATED);
}

async fn signing_out_ends_the_session_and_clears_the_cookie(app: TestApp) {
    let browser = app.browser("ada@acme.example").await;
    let out = app.as_browser(&browser, Method::DELETE, "/api/session").send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(set_cookie(&out).unwrap().contains("Max-Age=0"));
    let after = app.as_browser(&browser, Method::GET, "/api/me").send().await.unwrap();
    assert_eq!(error_code(after).await, (StatusCode::UNAUTHORIZED, "unauthenticated".into()));
}

async fn a_new_password_ends_every_session_of_the_user(app: TestApp) {
    let laptop = app.browser("cora@acme.example").await;
    let phone = app.browser("cora@acme.example").await;
    let body = serde_json::json!({"current": PASSWORD, "new": "a brand new passphrase"});
    let changed = app.as_browser(&laptop, Method::PUT, "/api/me/password").json(&body).send().await.unwrap();
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    for browser in [&laptop, &phone] {
        let after = app.as_browser(browser, Method::GET, "/api/orgs").send().await.unwrap();
        assert_eq!(error_code(after).await, (StatusCode::UNAUTHORIZED, "unauthenticated".into()));
    }
    assert_eq!(app.sign_in("cora@acme.example", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.sign_in("cora@acme.example", "a brand new passphrase").await.status(), StatusCode::CREATED);
}

async fn a_change_by_cookie_without_its_csrf_token_is_refused(app: TestApp) {
    let browser = app.browser("ada@acme.example").await;
    let body = serde_json::json!({"name": "ci", "role": "viewer"});
    let cookie = format!("evident_session={}", browser.cookie);
    for token in [None, Some("0".repeat(64))] {
        let mut request = app.request(Method::POST, "/api/orgs/acme/tokens").header("cookie", &cookie).json(&body);
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(error_code(refused).await, (StatusCode::FORBIDDEN, "csrf_token_invalid".into()));
    }
    let actions: Vec<_> = app.audit_actors("acme").await.into_iter().map(|(_, action)| action).collect();
    assert!(!actions.iter().any(|a| a == "token.create"), "nothing was written");
    let (status, _) = app.create_token(&browser, "acme", body).await;
    assert_eq!(status, StatusCode::CREATED, "with the token it goes through");
}

crate::both!(
    signing_in_sets_an_http_only_lax_cookie_and_me_names_the_user,
    a_wrong_password_and_an_unknown_email_are_refused_alike,
    repeated_failures_lock_the_email_out_even_with_the_right_password,
    signing_out_ends_the_session_and_clears_the_cookie,
    a_new_password_ends_every_session_of_the_user,
    a_change_by_cookie_without_its_csrf_token_is_refused,
);
