//! The audit log names who acted: a member by e-mail, the operator as `operator:NAME`, and the
//! operator acting as a member as `operator:NAME as EMAIL`.

use evident_app::{App, Principal};

use crate::support::*;

/// Creates a control as `who` and returns the actors of the records that wrote it.
async fn actors_of_a_write(app: &App, who: &Principal, control: &str) -> Vec<String> {
    let before = head(app, who).await;
    app.create_control(who, draft(control, "Access review", None)).await.unwrap();
    let written = app.store().audit_page(&who.org.id, before.seq, 100).await.unwrap();
    assert_eq!(written.len(), 1, "one change, one audit record");
    assert_eq!(written[0].entry.entity_id, control);
    written.into_iter().map(|r| r.entry.actor).collect()
}

async fn the_audit_log_names_who_acted(backend: Backend) {
    let Some(app) = spawn(backend).await else { return };
    let acme = slug("acme");
    small_org(&app, &acme, &email(OWNER)).await;

    let member = app.member(&acme, &email(ADMIN)).await.unwrap();
    assert_eq!(actors_of_a_write(&app, &member, "AUD-01").await, ["ada@acme.example"]);

    let operator = app.operator(Some(&acme), "op", None).await.unwrap();
    assert_eq!(actors_of_a_write(&app, &operator, "AUD-02").await, ["operator:op"]);

    let operator_as = app.operator(Some(&acme), "op", Some(&email(MANAGER))).await.unwrap();
    assert_eq!(actors_of_a_write(&app, &operator_as, "AUD-03").await, ["operator:op as cam@acme.example"]);
}

/// The demo is written by its people: the administrator builds it, the compliance manager
/// approves the first SoA and records the evidence she collected.
async fn the_demo_is_written_by_its_people(backend: Backend) {
    let Some(app) = spawn(backend).await else { return };
    let demo = app.demo().await.unwrap();
    assert!(demo.created);
    let (log, _) = app.store().audit_log(&demo.organisation.id).await.unwrap();
    let approvals: Vec<_> = log.iter().filter(|r| r.entry.action == "soa.approve").map(|r| &r.entry.actor).collect();
    assert_eq!(approvals, [DEMO_MANAGER]);
    let evidence: std::collections::BTreeSet<_> =
        log.iter().filter(|r| r.entry.action == "evidence.add").map(|r| r.entry.actor.as_str()).collect();
    assert_eq!(evidence.into_iter().collect::<Vec<_>>(), [DEMO_MANAGER]);
    let others: std::collections::BTreeSet<_> = log
        .iter()
        .filter(|r| !matches!(r.entry.action.as_str(), "soa.approve" | "evidence.add"))
        .map(|r| r.entry.actor.as_str())
        .collect();
    assert_eq!(others.into_iter().collect::<Vec<_>>(), [DEMO_ADMIN]);
}

on_each_backend! {
    the_audit_log_names_who_acted,
    the_demo_is_written_by_its_people,
}
