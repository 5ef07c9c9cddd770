use reqwest::{Method, StatusCode};

use crate::support::{TestApp, error_code};

async fn healthz_and_readyz_answer(app: TestApp) {
    let live = app.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let ready = app.request(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert!(ready.headers().contains_key("x-request-id"), "every answer carries a request id");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

async fn an_unknown_route_and_a_wrong_method_answer_in_the_error_shape(app: TestApp) {
    let missing = app.request(Method::GET, "/api/nothing-here").send().await.unwrap();
    assert_eq!(error_code(missing).await, (StatusCode::NOT_FOUND, "route_not_found".into()));
    let wrong = app.request(Method::PUT, "/healthz").send().await.unwrap();
    assert!(wrong.headers().contains_key("allow"), "a 405 still says what is allowed");
    assert_eq!(error_code(wrong).await, (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into()));
    let codes: serde_json::Value = app.request(Method::GET, "/api/errors").send().await.unwrap().json().await.unwrap();
    let conflict = codes.as_array().unwrap().iter().find(|c| c["code"] == "conflict").unwrap();
    assert_eq!(conflict["status"], 409, "the link of every error lists its code and status");
}

crate::both!(healthz_and_readyz_answer, an_unknown_route_and_a_wrong_method_answer_in_the_error_shape);

/// The OpenAPI document is generated from the routes: every route is in it, with its methods.
#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = crate::support::spawn_app(crate::support::Backend::Sqlite).await.unwrap();
    let response = app.request(Method::GET, "/api/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document: serde_json::Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"), "{}", document["openapi"]);
    let mut routes: Vec<String> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |method| format!("{method} {path}")))
        .collect();
    routes.sort();
    let expected = [
        "delete /api/orgs/{org}/controls/{code}/mappings/{framework}/{ref}",
        "delete /api/orgs/{org}/members/{email}",
        "delete /api/orgs/{org}/tokens/{id}",
        "delete /api/session",
        "get /api/frameworks",
        "get /api/me",
        "get /api/orgs",
        "get /api/orgs/{org}/assets",
        "get /api/orgs/{org}/assets/{code}",
        "get /api/orgs/{org}/audit",
        "get /api/orgs/{org}/controls",
        "get /api/orgs/{org}/controls/{code}",
        "get /api/orgs/{org}/dashboard",
        "get /api/orgs/{org}/evidence",
        "get /api/orgs/{org}/evidence/{id}",
        "get /api/orgs/{org}/evidence/{id}/content",
        "get /api/orgs/{org}/exports/assets",
        "get /api/orgs/{org}/exports/controls",
        "get /api/orgs/{org}/exports/risks",
        "get /api/orgs/{org}/exports/treatment-plan",
        "get /api/orgs/{org}/frameworks",
        "get /api/orgs/{org}/frameworks/{id}",
        "get /api/orgs/{org}/freshness",
        "get /api/orgs/{org}/gap",
        "get /api/orgs/{org}/heatmap",
        "get /api/orgs/{org}/members",
        "get /api/orgs/{org}/methodology",
        "get /api/orgs/{org}/oscal/exports/{kind}",
        "get /api/orgs/{org}/readiness",
        "get /api/orgs/{org}/risks",
        "get /api/orgs/{org}/risks/{code}",
        "get /api/orgs/{org}/soa",
        "get /api/orgs/{org}/soa/diff",
        "get /api/orgs/{org}/soa/versions",
        "get /api/orgs/{org}/soa/versions/{version}",
        "get /api/orgs/{org}/tokens",
        "get /api/orgs/{org}/treatment-plan",
        "get /api/orgs/{org}/type2",
        "get /api/orgs/{org}/type2/export",
        "get /api/orgs/{org}/verify",
        "get /healthz",
        "get /readyz",
        "patch /api/orgs/{org}/assets/{code}",
        "patch /api/orgs/{org}/controls/{code}",
        "patch /api/orgs/{org}/members/{email}",
        "patch /api/orgs/{org}/risks/{code}",
        "post /api/orgs/{org}/adoptions",
        "post /api/orgs/{org}/assets",
        "post /api/orgs/{org}/controls",
        "post /api/orgs/{org}/controls/{code}/mappings",
        "post /api/orgs/{org}/controls/{code}/retire",
        "post /api/orgs/{org}/evidence",
        "post /api/orgs/{org}/evidence/{id}/supersede",
        "post /api/orgs/{org}/gap/accept",
        "post /api/orgs/{org}/imports/assets",
        "post /api/orgs/{org}/imports/controls",
        "post /api/orgs/{org}/imports/framework",
        "post /api/orgs/{org}/imports/risks",
        "post /api/orgs/{org}/members",
        "post /api/orgs/{org}/members/{email}/disable",
        "post /api/orgs/{org}/members/{email}/enable",
        "post /api/orgs/{org}/oscal/imports",
        "post /api/orgs/{org}/risks",
        "post /api/orgs/{org}/risks/{code}/accept",
        "post /api/orgs/{org}/soa/approve",
        "post /api/orgs/{org}/tokens",
        "post /api/oscal/validate",
        "post /api/session",
        "put /api/me/password",
        "put /api/orgs/{org}/methodology",
    ];
    assert_eq!(routes, expected);
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
}
