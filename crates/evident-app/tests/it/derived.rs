//! Readiness and the controls list are served from the store while nothing they are computed from
//! has changed, and computed afresh as soon as something has: a change of the records, another
//! day, or a reader who asks.

use chrono::Duration;
use evident_app::derived::Reuse;
use evident_core::Coverage;

use crate::support::*;

on_each_backend!(
    a_stored_model_is_served_until_the_records_change,
    another_day_computes_readiness_afresh,
    a_remembering_app_serves_from_memory_until_the_head_moves,
    a_remembering_app_shares_the_controls_list_until_the_head_moves
);

/// What the stored rows are overwritten with, to tell a served model from a computed one.
const PLANTED: &str = "\"planted\"";

/// Overwrites every stored model with `row`, as it is.
async fn plant(test: &TestApp, backend: Backend, row: &[u8]) {
    let hex: String = row.iter().map(|b| format!("{b:02x}")).collect();
    let literal = match backend {
        Backend::Sqlite => format!("X'{hex}'"),
        Backend::Postgres => format!("'\\x{hex}'::bytea"),
    };
    test.raw.execute_raw(&format!("UPDATE derived SET body = {literal}")).await.unwrap();
}

/// [`PLANTED`], compressed as the application stores a model.
fn planted() -> Vec<u8> {
    lz4_flex::compress_prepend_size(PLANTED.as_bytes())
}

async fn a_stored_model_is_served_until_the_records_change(backend: Backend) {
    let Some(test) = spawn(backend).await else { return };
    let org = slug("acme");
    let op = small_org(&test, &org, &email(OWNER)).await;
    let viewer = test.operator(Some(&org), "test", Some(&email(VIEWER))).await.unwrap();

    let readiness = serde_json::to_string(&test.readiness(&viewer, None).await.unwrap()).unwrap();
    let controls = serde_json::to_string(&test.controls(&viewer, false).await.unwrap()).unwrap();
    assert_eq!(test.readiness_json(&viewer, None, Reuse::Stored).await.unwrap(), readiness);
    assert_eq!(test.controls_json(&viewer, false, Reuse::Stored).await.unwrap(), controls);

    // Nothing changed: the stored rows are what is served, whatever they hold.
    plant(&test, backend, &planted()).await;
    assert_eq!(test.readiness_json(&viewer, None, Reuse::Stored).await.unwrap(), PLANTED);
    assert_eq!(test.controls_json(&op, false, Reuse::Stored).await.unwrap(), PLANTED, "any reader of the org");
    assert_eq!(test.readiness_json(&viewer, None, Reuse::Recompute).await.unwrap(), readiness, "unless asked");
    assert_eq!(test.readiness_json(&viewer, None, Reuse::Stored).await.unwrap(), readiness, "and stored again");

    // A damaged row, or one that claims to hold 4 GiB, is computed afresh.
    for damaged in [&b"\x05\x00\x00\x00junk"[..], &[0xff, 0xff, 0xff, 0xff, 0x00]] {
        plant(&test, backend, damaged).await;
        assert_eq!(test.readiness_json(&viewer, None, Reuse::Stored).await.unwrap(), readiness);
    }

    // A change of the records moves the audit chain head: both are computed afresh.
    plant(&test, backend, &planted()).await;
    test.map_control(&op, &code(MINE), &fw(ISO), &req("A.5.15"), Coverage::Partial, "Reviews access.").await.unwrap();
    let changed = test.readiness_json(&viewer, None, Reuse::Stored).await.unwrap();
    assert_ne!(changed, PLANTED);
    assert_eq!(changed, serde_json::to_string(&test.readiness(&viewer, None).await.unwrap()).unwrap());
    assert_ne!(changed, readiness, "the new mapping counts");
    let listed = test.controls_json(&viewer, false, Reuse::Stored).await.unwrap();
    assert!(listed.contains("A.5.15"), "the list shows the new mapping");

    // Another organisation never reads this one's rows, even under the same names.
    let other = slug("globex");
    test.create_organisation(other.clone(), None, email("gina@globex.example"), None).await.unwrap();
    let gina = test.member(&other, &email("gina@globex.example")).await.unwrap();
    let theirs = test.controls_json(&gina, false, Reuse::Stored).await.unwrap();
    assert_eq!(theirs, "[]", "Globex has no controls");
}

async fn another_day_computes_readiness_afresh(backend: Backend) {
    let Some(test) = spawn(backend).await else { return };
    let org = slug("acme");
    small_org(&test, &org, &email(OWNER)).await;
    let viewer = test.operator(Some(&org), "test", Some(&email(VIEWER))).await.unwrap();
    test.readiness_json(&viewer, None, Reuse::Stored).await.unwrap();
    plant(&test, backend, &planted()).await;
    assert_eq!(test.readiness_json(&viewer, None, Reuse::Stored).await.unwrap(), PLANTED);

    let tomorrow = test.app.clone().with_clock(std::sync::Arc::new(|| now() + Duration::days(1)));
    let computed = tomorrow.readiness_json(&viewer, None, Reuse::Stored).await.unwrap();
    assert_eq!(computed, serde_json::to_string(&tomorrow.readiness(&viewer, None).await.unwrap()).unwrap());
}

/// A long-lived application (the server's) answers a read after no change from memory, without the
/// stored row; a change made through another application over the same database moves the head,
/// and the next read is computed afresh.
async fn a_remembering_app_serves_from_memory_until_the_head_moves(backend: Backend) {
    let Some(test) = spawn(backend).await else { return };
    let org = slug("acme");
    let op = small_org(&test, &org, &email(OWNER)).await;
    let viewer = test.operator(Some(&org), "test", Some(&email(VIEWER))).await.unwrap();
    let server = test.app.clone().remembering();
    let readiness = server.readiness_json(&viewer, None, Reuse::Stored).await.unwrap();
    plant(&test, backend, &planted()).await;
    assert_eq!(server.readiness_json(&viewer, None, Reuse::Stored).await.unwrap(), readiness, "from memory");
    assert_eq!(test.readiness_json(&viewer, None, Reuse::Stored).await.unwrap(), PLANTED, "others read the row");

    test.map_control(&op, &code(MINE), &fw(ISO), &req("A.5.15"), Coverage::Partial, "Reviews access.").await.unwrap();
    let changed = server.readiness_json(&viewer, None, Reuse::Stored).await.unwrap();
    assert_eq!(changed, serde_json::to_string(&test.readiness(&viewer, None).await.unwrap()).unwrap());
    assert_ne!(changed, readiness, "the new mapping counts");
}

/// The server pages through one controls list per organisation while nothing changed; a change
/// made elsewhere moves the head and the next request reads the list afresh.
async fn a_remembering_app_shares_the_controls_list_until_the_head_moves(backend: Backend) {
    let Some(test) = spawn(backend).await else { return };
    let org = slug("acme");
    let op = small_org(&test, &org, &email(OWNER)).await;
    let viewer = test.operator(Some(&org), "test", Some(&email(VIEWER))).await.unwrap();
    let server = test.app.clone().remembering();
    let first = server.controls_shared(&viewer, false).await.unwrap();
    let again = server.controls_shared(&viewer, false).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &again), "nothing changed: the same list");
    let once = test.app.controls_shared(&viewer, false).await.unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &once), "an application that does not remember reads afresh");

    test.map_control(&op, &code(MINE), &fw(ISO), &req("A.5.15"), Coverage::Partial, "Reviews access.").await.unwrap();
    let after = server.controls_shared(&viewer, false).await.unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &after), "the head moved: read afresh");
    let mapped = |list: &[evident_app::controls::ControlView]| {
        list.iter().any(|c| c.mappings.iter().any(|m| m.requirement.to_string() == "A.5.15"))
    };
    assert!(!mapped(&first) && mapped(&after), "the new mapping is in the list read after it");
}
