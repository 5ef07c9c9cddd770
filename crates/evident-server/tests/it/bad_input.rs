use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, error_code};

async fn malformed_json_unknown_fields_and_wrong_types_are_invalid_input(app: TestApp) {
    let ada = app.browser("ada@acme.example").await;
    let patch = |body: &'static str| {
        app.as_browser(&ada, Method::PATCH, "/api/orgs/acme/controls/OPS-03")
            .header("if-match", "\"1\"")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for body in [r#"{"title": "#, r#"{"titel": "typo"}"#, r#"{"status": "done"}"#, r#"[1, 2]"#] {
        let (status, code) = error_code(patch(body).await.unwrap()).await;
        assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "invalid_input"), "{body}");
    }
    let typo: serde_json::Value = patch(r#"{"titel": "typo"}"#).await.unwrap().json().await.unwrap();
    assert!(typo["message"].as_str().unwrap().contains("titel"), "the message names the unknown field: {typo}");
    let control: serde_json::Value =
        app.as_browser(&ada, Method::GET, "/api/orgs/acme/controls/OPS-03").send().await.unwrap().json().await.unwrap();
    assert_eq!(control["revision"], 1, "nothing was written");
}

async fn a_body_that_is_not_json_is_unsupported_media_type(app: TestApp) {
    let form = app
        .request(Method::POST, "/api/session")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=ada%40acme.example&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(form).await, (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type".into()));
}

async fn a_body_over_the_limit_is_body_too_large(app: TestApp) {
    let huge = json!({"email": "ada@acme.example", "password": "x".repeat(2 << 20)});
    let response = app.request(Method::POST, "/api/session").json(&huge).send().await.unwrap();
    assert_eq!(error_code(response).await, (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large".into()));
    // The server goes on serving.
    assert_eq!(app.request(Method::GET, "/healthz").send().await.unwrap().status(), StatusCode::OK);
}

crate::both!(
    malformed_json_unknown_fields_and_wrong_types_are_invalid_input,
    a_body_that_is_not_json_is_unsupported_media_type,
    a_body_over_the_limit_is_body_too_large,
);
