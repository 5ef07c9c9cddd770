//! What a user reads when the database refuses something: our words on both backends, never the
//! driver's (SQLSTATEs, constraint names, "database is locked"), which stay in the error's
//! `source()` chain for logs.

use std::error::Error as _;

use evident_core::{Coverage, OrgSlug};

use super::{at, control, email, mapping, new_org};
use crate::{ControlChange, NewOrganisation, RawSql, Store, StoreError};

/// The error and every source under it, as one text: what a log would keep.
fn chain_text(error: &StoreError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        text.push_str(" | ");
        text.push_str(&next.to_string());
        source = next.source();
    }
    text
}

/// Text with a NUL character is refused before either database sees it, with the same message:
/// PostgreSQL would refuse it in words of its own, SQLite would store it.
pub async fn text_with_a_nul_is_refused_alike<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    let mut restores = control("OPS-2", "Restore tests");
    restores.title = "Restore\0tests".into();
    let batch = vec![ControlChange::Create(control("OPS-1", "Backups")).into(), ControlChange::Create(restores).into()];
    let refused = store.apply(&actor, batch).await.unwrap_err();
    assert!(matches!(refused, StoreError::Invalid(_)), "{refused:?}");
    assert_eq!(
        refused.to_string(),
        "change 2 (control.create OPS-2): the title contains a NUL character (0x00), which cannot be stored"
    );
    assert!(store.controls(&org.id).await.unwrap().is_empty(), "nothing of the refused batch is written");

    store.apply(&actor, vec![ControlChange::Create(control("OPS-1", "Backups")).into()]).await.unwrap();
    let mut nested = mapping("OPS-1", "soc2:2017", "CC6.1", Coverage::Full);
    nested.rationale = "Nightly\0".into();
    let refused = store.apply(&actor, vec![ControlChange::Map(nested).into()]).await.unwrap_err();
    assert!(refused.to_string().contains("the rationale contains a NUL character"), "{refused}");

    let new = NewOrganisation {
        slug: OrgSlug::parse("globex").unwrap(),
        name: "Globex\0Corp".into(),
        admin_email: email("admin@globex.example"),
        admin_name: "Gus".into(),
    };
    let refused = store.create_org(&new, at(1)).await.unwrap_err();
    assert_eq!(refused.to_string(), "the organisation name contains a NUL character (0x00), which cannot be stored");
    assert!(store.org_by_slug(&new.slug).await.unwrap().is_none());
}

/// Refusals that only the database catches (here provoked with raw SQL) are told in our words,
/// and the driver's text is kept in the source chain rather than lost.
pub async fn database_refusals_are_told_in_our_words<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    store.apply(&actor, vec![ControlChange::Create(control("OPS-1", "Backups")).into()]).await.unwrap();
    let org_id = org.id.as_str();

    let duplicate =
        store.execute_raw(&format!("INSERT INTO controls SELECT * FROM controls WHERE org_id = '{org_id}'")).await;
    let duplicate = duplicate.unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict { what: "control", .. }), "{duplicate:?}");
    assert_eq!(duplicate.to_string(), "control with this code already exists");

    let dangling = store
        .execute_raw(&format!(
            "INSERT INTO mappings (org_id, control_code, framework_id, requirement_ref, coverage, rationale) \
             VALUES ('{org_id}', 'NOPE-1', 'soc2:2017', 'CC6.1', 'full', 'None')"
        ))
        .await
        .unwrap_err();
    assert!(matches!(dangling, StoreError::NotFound { .. }), "{dangling:?}");
    assert_eq!(dangling.to_string(), "the record this change refers to does not exist");

    let unknown = store.execute_raw("SELECT * FROM no_such_table").await.unwrap_err();
    assert_eq!(unknown.to_string(), "the database failed unexpectedly");
    assert!(chain_text(&unknown).contains("no_such_table"), "the driver's text stays in the source chain");

    for error in [&duplicate, &dangling, &unknown] {
        let message = error.to_string();
        for driver in ["SQLSTATE", "duplicate key", "constraint", "violates", "no_such_table", "error returned"] {
            assert!(!message.contains(driver), "{driver:?} in {message:?}");
        }
    }
}
