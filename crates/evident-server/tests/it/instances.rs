//! Two instances of the server over one database: nothing but the database is shared, so a session
//! made on one works on the other, and two edits of one control through both end in one winner and
//! one `409`, never a lost write; the audit chain verifies afterwards.

use evident_core::OrgSlug;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, error_code};

async fn two_instances_share_sessions_and_never_lose_an_edit(first: TestApp) {
    let second = first.beside().await;
    let cora = first.browser("cora@acme.example").await;
    let me = second.as_browser(&cora, Method::GET, "/api/me").send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "a session made on one instance works on the other");

    for round in 0..5 {
        let path = "/api/orgs/acme/controls/OPS-01";
        let current: Value = first.as_browser(&cora, Method::GET, path).send().await.unwrap().json().await.unwrap();
        let revision = current["revision"].as_i64().unwrap();
        let patch = |app: &TestApp, title: String| {
            app.as_browser(&cora, Method::PATCH, path)
                .header("if-match", format!("\"{revision}\""))
                .json(&json!({ "title": title }))
                .send()
        };
        let (a, b) = tokio::join!(
            patch(&first, format!("Round {round}, through the first")),
            patch(&second, format!("Round {round}, through the second"))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut statuses = [a.status(), b.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "round {round}: one winner, one 409");
        let (winner, loser) = if a.status() == StatusCode::OK { (a, b) } else { (b, a) };
        let won: Value = winner.json().await.unwrap();
        assert_eq!(error_code(loser).await.1, "conflict");
        let now: Value = second.as_browser(&cora, Method::GET, path).send().await.unwrap().json().await.unwrap();
        assert_eq!(now["title"], won["title"], "round {round}: what both instances read is the winner's edit");
        assert_eq!(now["revision"].as_i64(), Some(revision + 1), "round {round}: exactly one edit landed");
    }

    let acme = OrgSlug::parse("acme").unwrap();
    let verdicts = evident_app::verify::verify(first.app.store().as_ref(), Some(&acme), None).await.unwrap();
    assert!(verdicts.iter().all(|v| v.ok), "the chain verifies after both instances wrote: {verdicts:?}");
    let edits = first.audit_actors("acme").await.into_iter().filter(|(_, action)| action == "control.update").count();
    assert_eq!(edits, 5, "one audit record per edit that landed, none for the refused");
    drop(second);
}

crate::both!(two_instances_share_sessions_and_never_lose_an_edit);
