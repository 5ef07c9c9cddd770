//! The JSON of the main endpoints on the demo organisation, held to snapshots (insta): a change of
//! shape or content shows in review. Ids and times are redacted; the clock is set to a fixed day
//! (the demo's dates are days from the day it is built), so dates hold. Both backends answer the
//! same snapshot.

use chrono::{TimeZone, Utc};
use evident_app::Operator;
use evident_app::accounts::{AccountsBy, Password};
use evident_core::Email;
use reqwest::{Method, StatusCode};

use crate::support::{PASSWORD, TestApp, send};

/// Every id and time, wherever it is.
macro_rules! redacted {
    ($name:expr, $value:expr) => {
        insta::assert_json_snapshot!($name, $value, {
            ".**.id" => "[id]",
            ".**.created_at" => "[time]",
            ".**.updated_at" => "[time]",
            ".**.joined_at" => "[time]",
            ".**.at" => "[time]",
            ".**.approved_at" => "[time]",
        })
    };
}

async fn the_main_answers_keep_their_shape(app: TestApp) {
    let day = Utc.with_ymd_and_hms(2027, 3, 15, 12, 0, 0).unwrap();
    app.advance(day - app.app.now());
    app.app.demo().await.unwrap();
    let operator = Operator::new("test");
    let admin = Email::parse("ciso@northwind.example").unwrap();
    let password = Some(Password::parse(PASSWORD).unwrap());
    app.app.create_account(AccountsBy::Operator(&operator), admin, password).await.unwrap();
    let ciso = app.browser("ciso@northwind.example").await;
    let get = |path: String| send(app.as_browser(&ciso, Method::GET, &path));

    let (status, dashboard) = get("/api/orgs/demo/dashboard".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dashboard["on"], "2027-03-15", "the fixed day");
    redacted!("dashboard", &dashboard);

    let (_, readiness) = get("/api/orgs/demo/readiness".into()).await;
    redacted!("readiness_summary", &readiness);

    let (_, controls) = get("/api/orgs/demo/controls?limit=1".into()).await;
    let code = controls["items"][0]["code"].as_str().unwrap().to_owned();
    let (status, control) = get(format!("/api/orgs/demo/controls/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    redacted!("control", &control);

    let (_, risks) = get("/api/orgs/demo/risks?limit=5".into()).await;
    redacted!("risks", &risks);

    let (_, soa) = get("/api/orgs/demo/soa?limit=5".into()).await;
    redacted!("soa_draft", &soa);
}

crate::both!(the_main_answers_keep_their_shape);
