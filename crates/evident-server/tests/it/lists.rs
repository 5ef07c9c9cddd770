//! Sorting and paging the lists, the readiness summary, the embedded API docs, and the per-address
//! sign-in rate limit.

use reqwest::{Method, StatusCode};

use crate::support::{Backend, PASSWORD, TestApp, error_code, send, spawn_with};

/// Every page of `path` (which has a query already), `limit` at a time: the codes in order.
async fn walk(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<String> {
    let mut codes = Vec::new();
    let mut next = format!("{path}&limit={limit}");
    loop {
        let (status, page) = send(app.with_token(token, Method::GET, &next)).await;
        assert_eq!(status, StatusCode::OK, "{next}: {page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        codes.extend(items.iter().map(|c| c["code"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}&limit={limit}&cursor={cursor}"),
            None => return codes,
        }
    }
}

async fn token(app: &TestApp) -> String {
    let cora = app.browser("cora@acme.example").await;
    let (_, token) = app.create_token(&cora, "acme", serde_json::json!({"name": "lists", "role": "viewer"})).await;
    token["secret"].as_str().unwrap().to_owned()
}

async fn every_sort_pages_through_every_item_once(app: TestApp) {
    let token = token(&app).await;
    let all = ["IAM-01", "IAM-02", "OPS-01", "OPS-02", "OPS-03"];
    assert_eq!(walk(&app, &token, "/api/orgs/acme/controls?sort=code", 2).await, all);
    let mut reversed = all;
    reversed.reverse();
    assert_eq!(walk(&app, &token, "/api/orgs/acme/controls?sort=-code", 2).await, reversed);
    // Every control has the same status: ties are broken by code, in the sort's direction.
    assert_eq!(walk(&app, &token, "/api/orgs/acme/controls?sort=-status", 3).await, reversed);
    // Only IAM-01 has an owner; no owner sorts first.
    let by_owner = walk(&app, &token, "/api/orgs/acme/controls?sort=-owner", 1).await;
    assert_eq!(by_owner[0], "IAM-01");
    assert_eq!(by_owner.len(), 5);

    let (status, first) = send(app.with_token(&token, Method::GET, "/api/orgs/acme/controls?sort=title&limit=1")).await;
    assert_eq!(status, StatusCode::OK);
    let cursor = first["next_cursor"].as_str().unwrap();
    let other = app
        .with_token(&token, Method::GET, &format!("/api/orgs/acme/controls?sort=-title&limit=1&cursor={cursor}"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(other).await, (StatusCode::BAD_REQUEST, "invalid_input".into()), "a cursor of another sort");
    for path in [
        "/api/orgs/acme/controls?sort=colour",
        "/api/orgs/acme/risks?sort=-",
        "/api/orgs/acme/members?sort=password",
        "/api/orgs/acme/assets?sort=--code",
    ] {
        let response = app.with_token(&token, Method::GET, path).send().await.unwrap();
        assert_eq!(error_code(response).await, (StatusCode::BAD_REQUEST, "invalid_input".into()), "{path}");
    }
}

/// A page taken while controls are added before and after the cursor still goes on from where
/// the previous one ended: nothing is met twice, nothing that was there is skipped.
async fn a_cursor_holds_while_the_list_changes(app: TestApp) {
    let token = token(&app).await;
    let (_, first) = send(app.with_token(&token, Method::GET, "/api/orgs/acme/controls?sort=-code&limit=2")).await;
    let cora = app.browser("cora@acme.example").await;
    for code in ["AAA-01", "ZZZ-01"] {
        let body = serde_json::json!({"code": code, "title": "New", "frequency": "monthly"});
        let created = app.as_browser(&cora, Method::POST, "/api/orgs/acme/controls").json(&body).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, page) = send(app.with_token(
        &token,
        Method::GET,
        &format!("/api/orgs/acme/controls?sort=-code&limit=10&cursor={cursor}"),
    ))
    .await;
    let codes: Vec<&str> = page["items"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["OPS-01", "IAM-02", "IAM-01", "AAA-01"], "after OPS-02, whatever came before it");
}

async fn readiness_is_a_summary_unless_asked_for_more(app: TestApp) {
    let token = token(&app).await;
    let get = |path: &'static str| send(app.with_token(&token, Method::GET, path));
    let (status, summary) = get("/api/orgs/acme/readiness").await;
    assert_eq!(status, StatusCode::OK);
    let soc2 = &summary["frameworks"][0];
    assert_eq!(soc2["framework"], "soc2:2017");
    assert!(soc2["groups"].is_array() && soc2.get("requirements").is_none(), "no drill-down: {soc2}");
    assert!(summary["stale_mappings"].is_u64(), "a count: {summary}");

    let (_, full) = get("/api/orgs/acme/readiness?detail=full").await;
    assert!(full["frameworks"][0]["requirements"].as_array().is_some_and(|r| !r.is_empty()), "{full}");
    assert_eq!(full["overall"], summary["overall"], "the same scores");
    assert_eq!(full["frameworks"][0]["groups"], soc2["groups"]);
    let (_, one) = get("/api/orgs/acme/readiness?framework=soc2:2017").await;
    assert!(one["frameworks"][0]["requirements"].is_array(), "one framework's drill-down: {one}");
    let (status, error) = get("/api/orgs/acme/readiness?detail=everything").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")));
    let summary_size = serde_json::to_string(&summary).unwrap().len();
    let full_size = serde_json::to_string(&full).unwrap().len();
    assert!(summary_size * 3 < full_size, "the summary is small: {summary_size} bytes against {full_size}");
}

crate::both!(
    every_sort_pages_through_every_item_once,
    a_cursor_holds_while_the_list_changes,
    readiness_is_a_summary_unless_asked_for_more,
);

/// The docs page and everything it loads come from this server, under a policy that runs no
/// inline script; the bundle is the vendored file, byte for byte.
#[tokio::test]
async fn the_api_docs_are_served_from_the_binary() {
    let app = crate::support::spawn_app(Backend::Sqlite).await.unwrap();
    let page = app.request(Method::GET, "/api/docs").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let scripts = policy.split(';').map(str::trim).find(|d| d.starts_with("script-src")).unwrap();
    assert_eq!(scripts, "script-src 'self'", "no inline script, no eval, nothing from elsewhere: {policy}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing from the network: {html}");
    let mut loaded = Vec::new();
    for part in html.split("<script").skip(1) {
        let tag = &part[..part.find('>').unwrap()];
        let src = tag.split("src=\"").nth(1).expect("every script is a file").split('"').next().unwrap();
        assert!(part[part.find('>').unwrap() + 1..].trim_start().starts_with("</script>"), "no inline script");
        loaded.push(src.to_owned());
    }
    for part in html.split("href=\"").skip(1) {
        loaded.push(part.split('"').next().unwrap().to_owned());
    }
    assert_eq!(loaded.len(), 3, "{loaded:?}");
    for path in &loaded {
        let response = app.request(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/javascript") || kind.starts_with("text/css"), "{path}: {kind}");
        let body = response.bytes().await.unwrap();
        if path.ends_with("swagger-ui-bundle.js") {
            let vendored: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
            assert!(body.as_ref() == vendored, "the bundle as vendored");
        }
        if path.ends_with("docs.js") {
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert!(text.contains("/api/openapi.json") && text.contains("validatorUrl: null"), "{text}");
        }
    }
}

/// A flood of sign-ins from one address is refused with `too_many_requests` and `Retry-After`,
/// whatever the e-mails; another address signs in meanwhile, and other routes serve the flooder.
#[tokio::test]
async fn a_flood_of_sign_ins_from_one_address_is_slowed_down() {
    let config = evident_server::Config {
        trust_proxy: true,
        sign_in_burst: 3,
        sign_ins_per_minute: 1,
        ..evident_server::Config::default()
    };
    let app = spawn_with(Backend::Sqlite, config).await.unwrap();
    let sign_in = |from: &'static str, email: &'static str, password: &'static str| {
        let body = serde_json::json!({"email": email, "password": password});
        app.request(Method::POST, "/api/session").header("x-forwarded-for", from).json(&body).send()
    };
    for email in ["a@x.example", "b@x.example", "c@x.example"] {
        assert_eq!(sign_in("10.0.0.1", email, "guess").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let flooded = sign_in("10.0.0.1", "ada@acme.example", PASSWORD).await.unwrap();
    let retry: u64 = flooded.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
    assert_eq!(error_code(flooded).await, (StatusCode::TOO_MANY_REQUESTS, "too_many_requests".into()));
    assert_eq!(sign_in("10.0.0.2", "ada@acme.example", PASSWORD).await.unwrap().status(), StatusCode::CREATED);
    let other = app.request(Method::GET, "/healthz").header("x-forwarded-for", "10.0.0.1").send().await.unwrap();
    assert_eq!(other.status(), StatusCode::OK, "only sign-ins are limited");
}

/// Without a trusted proxy, `X-Forwarded-For` is the client's own text: the connection's address
/// counts, so a flooder cannot dodge the limit by writing another one.
#[tokio::test]
async fn a_forwarded_address_counts_only_behind_a_trusted_proxy() {
    let config =
        evident_server::Config { sign_in_burst: 2, sign_ins_per_minute: 1, ..evident_server::Config::default() };
    let app = spawn_with(Backend::Sqlite, config).await.unwrap();
    let mut statuses = Vec::new();
    for from in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        let body = serde_json::json!({"email": "nobody@x.example", "password": "guess"});
        let response =
            app.request(Method::POST, "/api/session").header("x-forwarded-for", from).json(&body).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);
}
