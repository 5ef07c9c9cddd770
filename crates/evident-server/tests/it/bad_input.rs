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

/// A query or path the route cannot read is `invalid_input`, in the error shape, saying why.
#[tokio::test]
async fn a_query_of_the_wrong_shape_is_invalid_input_saying_why() {
    let app = crate::support::spawn_app(crate::support::Backend::Sqlite).await.unwrap();
    let ada = app.browser("ada@acme.example").await;
    for query in ["limit=many", "colour=blue"] {
        let response =
            app.as_browser(&ada, Method::GET, &format!("/api/orgs/acme/controls?{query}")).send().await.unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")), "{query}");
        let field = query.split('=').next().unwrap();
        assert!(body["message"].as_str().unwrap().contains(field), "{query}: {body}");
    }
}

/// Answers that carry a secret are never compressed (BREACH); others are, when asked.
#[tokio::test]
async fn secrets_are_never_compressed() {
    let app = crate::support::spawn_app(crate::support::Backend::Sqlite).await.unwrap();
    let body = json!({"email": "ada@acme.example", "password": crate::support::PASSWORD});
    let sign_in =
        app.request(Method::POST, "/api/session").header("accept-encoding", "gzip").json(&body).send().await.unwrap();
    assert_eq!(sign_in.status(), StatusCode::CREATED);
    assert!(sign_in.headers().get("content-encoding").is_none(), "{:?}", sign_in.headers());
    let ada = app.browser("ada@acme.example").await;
    let list = app
        .as_browser(&ada, Method::GET, "/api/orgs/acme/controls")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(list.headers()["content-encoding"], "gzip");
}

/// A client that sends its body too slowly (slowloris) is cut off with an answer in the error
/// shape, and the server goes on serving others meanwhile.
#[tokio::test]
async fn a_body_sent_too_slowly_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = evident_server::Config { body_timeout: std::time::Duration::from_millis(300), ..Default::default() };
    let app = crate::support::spawn_with(crate::support::Backend::Sqlite, config).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(&app.address).await.unwrap();
    let head =
        "POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{\"em";
    slow.write_all(head.as_bytes()).await.unwrap();
    assert_eq!(app.request(Method::GET, "/healthz").send().await.unwrap().status(), StatusCode::OK);
    let mut answer = String::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), slow.read_to_string(&mut answer)).await;
    assert!(read.is_ok(), "the slow client was cut off");
    let status: u16 = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(status, 408, "{answer}");
    assert!(answer.contains("\"code\":\"body_timeout\""), "{answer}");
}

/// A client that never finishes its headers (slowloris) is disconnected after the header timeout.
#[tokio::test]
async fn headers_sent_too_slowly_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::support::spawn_app(crate::support::Backend::Sqlite).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(&app.address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    assert_eq!(app.request(Method::GET, "/healthz").send().await.unwrap().status(), StatusCode::OK);
    let mut answer = Vec::new();
    let limit = evident_server::HEADER_TIMEOUT + std::time::Duration::from_secs(5);
    let read = tokio::time::timeout(limit, slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection was closed by the server");
}
