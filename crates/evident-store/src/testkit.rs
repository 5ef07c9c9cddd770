//! The backend-parity story: the same assertions, run by every backend's tests against a fresh
//! database. [`parity_tests!`](crate::parity_tests) turns each story into a `#[tokio::test]`.
// Test code: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use evident_core::audit::{ChainBreak, verify_chain};
use evident_core::{
    ControlCode, Coverage, Email, FrameworkId, Frequency, ImplementationStatus, Mapping, OrgSlug, RequirementRef, Role,
};

use crate::{
    Actor, Adoption, Change, ControlChange, ControlPatch, FrameworkChange, MemberChange, NewControl, NewOrganisation,
    Organisation, RawSql, RiskChange, SoaChange, Store, StoreError,
};

pub mod accounts;
pub use accounts::accounts_sessions_and_tokens;
pub mod verify;
pub use verify::{a_rehashed_or_rewound_log_still_chains, the_log_reads_page_by_page};
pub mod concurrency;
pub use concurrency::many_writers_at_once;
pub mod errors;
pub use errors::{database_refusals_are_told_in_our_words, text_with_a_nul_is_refused_alike};
pub mod frameworks;
pub use frameworks::imported_frameworks_stay_in_their_organisation;
pub mod applied;
pub mod evidence;
pub mod snapshot;
pub use applied::{a_long_run_of_mappings_keeps_the_rules_of_one, a_write_that_changes_nothing_leaves_no_record};
pub use evidence::{
    a_window_reads_evidence_by_its_period, an_import_racing_itself_records_each_item_once,
    evidence_is_kept_superseded_and_summarised, evidence_reads_page_by_page,
    samples_hold_exceptions_only_for_what_they_drew,
};
pub use snapshot::{
    a_refused_import_leaves_the_target_as_it_was, a_snapshot_is_one_moment_while_others_write,
    a_snapshot_restores_every_record,
};

/// Generates one `#[tokio::test]` per story; `$store` is an async expression giving a fresh store
/// (or a guard that dereferences to one and cleans up when dropped), or `None` to skip.
#[macro_export]
macro_rules! parity_tests {
    ($store:expr) => {
        $crate::parity_tests!(@each $store;
            organisations_and_members,
            controls_and_mappings,
            a_control_keeps_its_own_evidence_age,
            a_failing_batch_writes_nothing,
            tenants_never_see_each_other,
            the_audit_log_chains_every_change,
            tampering_is_detected,
            soa_versions_are_numbered_and_immutable,
            an_soa_decision_based_on_a_stale_read_is_a_conflict,
            the_risk_register_keeps_its_history,
            the_log_reads_page_by_page,
            a_rehashed_or_rewound_log_still_chains,
            text_with_a_nul_is_refused_alike,
            database_refusals_are_told_in_our_words,
            imported_frameworks_stay_in_their_organisation,
            a_write_that_changes_nothing_leaves_no_record,
            a_long_run_of_mappings_keeps_the_rules_of_one,
            evidence_is_kept_superseded_and_summarised,
            a_window_reads_evidence_by_its_period,
            evidence_reads_page_by_page,
            samples_hold_exceptions_only_for_what_they_drew,
            accounts_sessions_and_tokens,
        );
        $crate::parity_tests!(@shared $store;
            many_writers_at_once,
            an_import_racing_itself_records_each_item_once,
        );
        $crate::parity_tests!(@pair $store;
            a_snapshot_restores_every_record,
            a_refused_import_leaves_the_target_as_it_was,
            a_snapshot_is_one_moment_while_others_write,
        );
    };
    (@each $store:expr; $($story:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $story() {
                let Some(store) = $store.await else { return };
                $crate::testkit::$story(&*store).await;
            }
        )+
    };
    // Stories that need two databases: each gets a fresh source and a fresh, empty target.
    (@pair $store:expr; $($story:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $story() {
                let Some(source) = $store.await else { return };
                let Some(target) = $store.await else { return };
                $crate::testkit::$story(&*source, &*target).await;
            }
        )+
    };
    // Stories for many tasks at once: each gets the store shared (`Arc<dyn Store>`, from a clone
    // of the backend's store) and a runtime with several threads, so writers really overlap.
    (@shared $store:expr; $($story:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $story() {
                let Some(store) = $store.await else { return };
                let shared: std::sync::Arc<dyn $crate::Store> = std::sync::Arc::new((*store).clone());
                $crate::testkit::$story(vec![shared]).await;
            }
        )+
    };
}

pub fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 9, 30, 0).single().expect("a valid date")
}

fn code(text: &str) -> ControlCode {
    ControlCode::parse(text).expect("a valid code")
}

fn fw(text: &str) -> FrameworkId {
    FrameworkId::parse(text).expect("a valid framework id")
}

fn req(text: &str) -> RequirementRef {
    RequirementRef::parse(text).expect("a valid ref")
}

fn email(text: &str) -> Email {
    Email::parse(text).expect("a valid e-mail")
}

pub async fn new_org(store: &dyn Store, slug: &str) -> (Organisation, Actor) {
    let new = NewOrganisation {
        slug: OrgSlug::parse(slug).expect("a valid slug"),
        name: format!("{slug} Ltd"),
        admin_email: email(&format!("admin@{slug}.example")),
        admin_name: "Ada Admin".into(),
    };
    let org = store.create_org(&new, at(1)).await.expect("the organisation is created");
    let actor = Actor { org: org.id.clone(), who: new.admin_email.to_string(), at: at(2) };
    (org, actor)
}

pub fn control(text: &str, title: &str) -> NewControl {
    NewControl {
        code: code(text),
        title: title.into(),
        description: format!("{title}, done by the security team."),
        owner: None,
        frequency: Frequency::Quarterly,
        max_evidence_age_days: None,
        status: ImplementationStatus::InProgress,
    }
}

pub fn mapping(control: &str, framework: &str, requirement: &str, coverage: Coverage) -> Mapping {
    Mapping {
        control: code(control),
        framework: fw(framework),
        requirement: req(requirement),
        coverage,
        rationale: format!("{control} serves {requirement}."),
    }
}

pub async fn organisations_and_members<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    assert_eq!(store.org_by_slug(&org.slug).await.unwrap(), Some(org.clone()));
    let again = store
        .create_org(
            &NewOrganisation {
                slug: org.slug.clone(),
                name: "Other".into(),
                admin_email: email("x@y.example"),
                admin_name: "X".into(),
            },
            at(3),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict { what: "organisation", .. })), "{again:?}");

    store
        .apply(
            &actor,
            vec![
                MemberChange::Add {
                    email: email("owner@acme.example"),
                    display_name: "Olu Owner".into(),
                    role: Role::ControlOwner,
                }
                .into(),
            ],
        )
        .await
        .unwrap();
    let members = store.members(&org.id).await.unwrap();
    let roles: Vec<_> = members.iter().map(|m| (m.email.as_str(), m.role)).collect();
    assert_eq!(roles, [("admin@acme.example", Role::Admin), ("owner@acme.example", Role::ControlOwner)]);
    let twice = store
        .apply(
            &actor,
            vec![
                MemberChange::Add { email: email("owner@acme.example"), display_name: "O".into(), role: Role::Viewer }
                    .into(),
            ],
        )
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict { what: "member", .. })), "{twice:?}");
    let member = store.member(&org.id, &email("owner@acme.example")).await.unwrap().unwrap();
    assert_eq!(member.display_name, "Olu Owner");

    let adoption = Adoption {
        framework: fw("soc2:2017"),
        categories: vec!["security".into(), "availability".into()],
        scope: "Production SaaS platform".into(),
        target_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 31),
        adopted_at: at(2),
    };
    store.apply(&actor, vec![FrameworkChange::Adopt(adoption.clone()).into()]).await.unwrap();
    let narrowed = Adoption { categories: vec!["security".into()], ..adoption.clone() };
    store.apply(&actor, vec![FrameworkChange::Adopt(narrowed.clone()).into()]).await.unwrap();
    assert_eq!(store.adoptions(&org.id).await.unwrap(), [narrowed]);
    assert_eq!(store.orgs().await.unwrap().iter().map(|o| o.slug.as_str()).collect::<Vec<_>>(), ["acme"]);
}

pub async fn controls_and_mappings<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    store
        .apply(
            &actor,
            vec![
                ControlChange::Create(control("IAM-10", "Quarterly access review")).into(),
                ControlChange::Create(control("IAM-2", "Multi-factor authentication")).into(),
                ControlChange::Map(mapping("IAM-10", "iso27001:2022", "A.5.18", Coverage::Partial)).into(),
                ControlChange::Map(mapping("IAM-10", "soc2:2017", "CC6.2", Coverage::Full)).into(),
                ControlChange::Map(mapping("IAM-2", "iso27001:2022", "A.8.5", Coverage::Full)).into(),
            ],
        )
        .await
        .unwrap();
    let codes: Vec<_> = store.controls(&org.id).await.unwrap().into_iter().map(|c| c.code.to_string()).collect();
    assert_eq!(codes, ["IAM-2", "IAM-10"], "controls sort naturally by code");

    let patch = ControlPatch {
        status: Some(ImplementationStatus::Implemented),
        owner: Some(Some(email("owner@acme.example"))),
        ..ControlPatch::default()
    };
    let later = Actor { at: at(5), ..actor.clone() };
    store
        .apply(&later, vec![ControlChange::Update { code: code("IAM-10"), patch, expected_revision: None }.into()])
        .await
        .unwrap();
    let updated = store.control(&org.id, &code("IAM-10")).await.unwrap().unwrap();
    assert_eq!(updated.status, ImplementationStatus::Implemented);
    assert_eq!(updated.owner, Some(email("owner@acme.example")));
    assert_eq!((updated.created_at, updated.updated_at), (at(2), at(5)));
    assert_eq!(updated.title, "Quarterly access review", "fields not in the patch stay");

    // Re-mapping replaces coverage and rationale; unmapping removes.
    store
        .apply(&actor, vec![ControlChange::Map(mapping("IAM-10", "iso27001:2022", "A.5.18", Coverage::Full)).into()])
        .await
        .unwrap();
    store
        .apply(
            &actor,
            vec![
                ControlChange::Unmap {
                    control: code("IAM-2"),
                    framework: fw("iso27001:2022"),
                    requirement: req("A.8.5"),
                }
                .into(),
            ],
        )
        .await
        .unwrap();
    let mappings = store.mappings(&org.id).await.unwrap();
    let summary: Vec<_> = mappings.iter().map(|m| (m.control.as_str(), m.requirement.as_str(), m.coverage)).collect();
    assert_eq!(summary, [("IAM-10", "A.5.18", Coverage::Full), ("IAM-10", "CC6.2", Coverage::Full)]);

    store.apply(&actor, vec![ControlChange::Retire { code: code("IAM-2") }.into()]).await.unwrap();
    let retired = store.control(&org.id, &code("IAM-2")).await.unwrap().unwrap();
    assert_eq!(retired.retired_at, Some(at(2)));
    let twice = store.apply(&actor, vec![ControlChange::Retire { code: code("IAM-2") }.into()]).await;
    assert!(matches!(twice, Err(StoreError::Conflict { .. })), "{twice:?}");

    let unknown = store
        .apply(&actor, vec![ControlChange::Map(mapping("NOPE-1", "soc2:2017", "CC6.1", Coverage::Full)).into()])
        .await;
    assert_eq!(unknown.unwrap_err().to_string(), "control NOPE-1 does not exist");
    let duplicate = store.apply(&actor, vec![ControlChange::Create(control("IAM-10", "Again")).into()]).await;
    assert_eq!(duplicate.unwrap_err().to_string(), "control IAM-10 already exists");
    let missing_mapping = store
        .apply(
            &actor,
            vec![
                ControlChange::Unmap { control: code("IAM-10"), framework: fw("soc2:2017"), requirement: req("CC9.9") }
                    .into(),
            ],
        )
        .await;
    assert!(matches!(missing_mapping, Err(StoreError::NotFound { what: "mapping", .. })));
}

/// A control's own maximum evidence age: stored when created, set and cleared by an update,
/// kept by a rename, written in every after-image, read alike by both reads, and held by the
/// database to 1 to 1830 days even against raw SQL.
pub async fn a_control_keeps_its_own_evidence_age<S: Store + RawSql>(store: &S) {
    use evident_core::freshness::MaxAge;
    let days = |n: u32| MaxAge::new(n).unwrap();
    let (org, actor) = new_org(store, "acme").await;
    let limited = control("OPS-10", "Restore test").with_max_evidence_age(Some(days(10)));
    store
        .apply(
            &actor,
            vec![ControlChange::Create(limited).into(), ControlChange::Create(control("OPS-11", "Backups")).into()],
        )
        .await
        .unwrap();
    let org_id = org.id.clone();
    let read = |code_text: &'static str| {
        let org_id = org_id.clone();
        async move {
            let one = store.control(&org_id, &code(code_text)).await.unwrap().unwrap().max_evidence_age_days;
            let listed = store.controls(&org_id).await.unwrap();
            let all = listed.iter().find(|c| c.code.as_str() == code_text).unwrap().max_evidence_age_days;
            assert_eq!(one, all, "{code_text}: both reads say the same");
            one
        }
    };
    assert_eq!(read("OPS-10").await, Some(days(10)));
    assert_eq!(read("OPS-11").await, None, "no limit unless given");

    let update = |code_text: &str, max_age: Option<MaxAge>| {
        let patch = ControlPatch { max_evidence_age_days: Some(max_age), ..ControlPatch::default() };
        ControlChange::Update { code: code(code_text), patch, expected_revision: None }.into()
    };
    store.apply(&actor, vec![update("OPS-11", Some(days(45))), update("OPS-10", None)]).await.unwrap();
    assert_eq!(read("OPS-11").await, Some(days(45)), "an update sets it");
    assert_eq!(read("OPS-10").await, None, "an update clears it");
    let again = store.apply(&actor, vec![update("OPS-10", None)]).await.unwrap();
    assert_eq!(again, [crate::Applied::Unchanged], "clearing what is clear changes nothing");
    store.apply(&actor, vec![ControlChange::Rename { code: code("OPS-11"), to: code("OPS-12") }.into()]).await.unwrap();
    assert_eq!(read("OPS-12").await, Some(days(45)), "a rename keeps it");

    let (log, _) = store.audit_log(&org.id).await.unwrap();
    let images: Vec<(&str, serde_json::Value)> = log
        .iter()
        .filter(|r| r.entry.action.starts_with("control."))
        .map(|r| {
            let after: serde_json::Value = serde_json::from_str(r.entry.after.as_deref().unwrap()).unwrap();
            (r.entry.action.as_str(), after["max_evidence_age_days"].clone())
        })
        .collect();
    let expected = [
        ("control.create", serde_json::json!(10)),
        ("control.create", serde_json::Value::Null),
        ("control.update", serde_json::json!(45)),
        ("control.update", serde_json::Value::Null),
        ("control.rename", serde_json::json!(45)),
    ];
    assert_eq!(images, expected, "every after-image says the limit");

    for bad in [0, 1831, -1] {
        let sql = format!("UPDATE controls SET max_evidence_age_days = {bad} WHERE org_id = '{}'", org.id);
        assert!(store.execute_raw(&sql).await.is_err(), "the database refuses {bad} days");
    }
    assert_eq!(read("OPS-12").await, Some(days(45)));
}

pub async fn a_failing_batch_writes_nothing<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    let (log_before, _) = store.audit_log(&org.id).await.unwrap();
    let batch = vec![
        ControlChange::Create(control("OPS-1", "Backups")).into(),
        ControlChange::Map(mapping("OPS-1", "iso27001:2022", "A.8.13", Coverage::Full)).into(),
        ControlChange::Create(control("OPS-1", "Backups, again")).into(),
    ];
    assert!(store.apply(&actor, batch).await.is_err());
    assert!(store.controls(&org.id).await.unwrap().is_empty(), "no control from the failed batch");
    assert!(store.mappings(&org.id).await.unwrap().is_empty(), "no mapping from the failed batch");
    let (log_after, head) = store.audit_log(&org.id).await.unwrap();
    assert_eq!(log_after, log_before, "no audit record from the failed batch");
    assert_eq!(verify_chain(&org.id, &log_after, &head), Ok(log_before.len()));
}

pub async fn tenants_never_see_each_other<S: Store + RawSql>(store: &S) {
    let (acme, acme_actor) = new_org(store, "acme").await;
    let (globex, globex_actor) = new_org(store, "globex").await;
    store
        .apply(&acme_actor, vec![ControlChange::Create(control("IAM-01", "Acme access review")).into()])
        .await
        .unwrap();
    store
        .apply(
            &globex_actor,
            vec![
                ControlChange::Create(control("IAM-01", "Globex access review")).into(),
                ControlChange::Map(mapping("IAM-01", "soc2:2017", "CC6.1", Coverage::Full)).into(),
            ],
        )
        .await
        .unwrap();
    let acme_controls = store.controls(&acme.id).await.unwrap();
    assert_eq!(acme_controls.len(), 1);
    assert_eq!(acme_controls[0].title, "Acme access review");
    assert!(store.mappings(&acme.id).await.unwrap().is_empty(), "Globex's mapping stays in Globex");
    assert_eq!(store.members(&acme.id).await.unwrap().len(), 1);
    assert!(store.member(&acme.id, &email("admin@globex.example")).await.unwrap().is_none());

    // Acting in Acme cannot touch Globex's rows, even with the same code.
    store.apply(&acme_actor, vec![ControlChange::Retire { code: code("IAM-01") }.into()]).await.unwrap();
    let globex_control = store.control(&globex.id, &code("IAM-01")).await.unwrap().unwrap();
    assert!(globex_control.is_active(), "retiring Acme's IAM-01 left Globex's alone");
    let (acme_log, _) = store.audit_log(&acme.id).await.unwrap();
    assert!(acme_log.iter().all(|r| !r.entry.actor.contains("globex")), "Acme's log holds only Acme's records");
}

pub async fn the_audit_log_chains_every_change<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    store
        .apply(
            &actor,
            vec![
                ControlChange::Create(control("IAM-01", "Access review")).into(),
                ControlChange::Update {
                    code: code("IAM-01"),
                    patch: ControlPatch { status: Some(ImplementationStatus::Implemented), ..ControlPatch::default() },
                    expected_revision: None,
                }
                .into(),
            ],
        )
        .await
        .unwrap();
    let (log, head) = store.audit_log(&org.id).await.unwrap();
    let actions: Vec<_> = log.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(actions, ["organisation.create", "member.add", "control.create", "control.update"]);
    assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(head.seq, 4);
    assert_eq!(verify_chain(&org.id, &log, &head), Ok(4));
    let update = &log[3];
    assert_eq!(update.entry.actor, "admin@acme.example");
    assert_eq!(update.entry.at, at(2));
    assert!(update.entry.before.as_deref().unwrap().contains("\"in_progress\""));
    assert!(update.entry.after.as_deref().unwrap().contains("\"implemented\""));
}

pub async fn tampering_is_detected<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    let changes = (1..=4).map(|i| ControlChange::Create(control(&format!("C-{i}"), "A control")).into()).collect();
    store.apply(&actor, changes).await.unwrap();
    let org_id = org.id.as_str();
    let verify = || async {
        let (log, head) = store.audit_log(&org.id).await.unwrap();
        verify_chain(&org.id, &log, &head)
    };
    assert_eq!(verify().await, Ok(6));

    // Edit: someone rewrites what a record says happened.
    let original: Vec<(i64, Option<String>)> =
        store.audit_log(&org.id).await.unwrap().0.into_iter().map(|r| (r.seq, r.entry.after)).collect();
    store
        .execute_raw(&format!(
            "UPDATE audit_log SET actor = 'mallory@acme.example' WHERE org_id = '{org_id}' AND seq = 4"
        ))
        .await
        .unwrap();
    assert!(matches!(verify().await, Err(ChainBreak::Edited { seq: 4, .. })));
    store
        .execute_raw(&format!(
            "UPDATE audit_log SET actor = 'admin@acme.example' WHERE org_id = '{org_id}' AND seq = 4"
        ))
        .await
        .unwrap();
    assert_eq!(verify().await, Ok(6), "restoring the record restores the chain");
    assert_eq!(original.len(), 6);

    // Reorder: swap the positions of records 4 and 5.
    store.execute_raw(&format!("UPDATE audit_log SET seq = -4 WHERE org_id = '{org_id}' AND seq = 4")).await.unwrap();
    store.execute_raw(&format!("UPDATE audit_log SET seq = 4 WHERE org_id = '{org_id}' AND seq = 5")).await.unwrap();
    store.execute_raw(&format!("UPDATE audit_log SET seq = 5 WHERE org_id = '{org_id}' AND seq = -4")).await.unwrap();
    assert!(matches!(verify().await, Err(ChainBreak::Reordered { seq: 4, .. })), "{:?}", verify().await);
    store.execute_raw(&format!("UPDATE audit_log SET seq = -4 WHERE org_id = '{org_id}' AND seq = 4")).await.unwrap();
    store.execute_raw(&format!("UPDATE audit_log SET seq = 4 WHERE org_id = '{org_id}' AND seq = 5")).await.unwrap();
    store.execute_raw(&format!("UPDATE audit_log SET seq = 5 WHERE org_id = '{org_id}' AND seq = -4")).await.unwrap();
    assert_eq!(verify().await, Ok(6));

    // Delete: a record disappears from the middle.
    store.execute_raw(&format!("DELETE FROM audit_log WHERE org_id = '{org_id}' AND seq = 3")).await.unwrap();
    assert!(matches!(verify().await, Err(ChainBreak::Deleted { seq: 4, .. })), "{:?}", verify().await);
}

pub async fn an_soa_decision_based_on_a_stale_read_is_a_conflict<S: Store + RawSql>(store: &S) {
    use evident_core::soa::{Decision, Reason};
    let (org, actor) = new_org(store, "acme").await;
    let iso = fw("iso27001:2022");
    let decide = |decision: &Decision, based_on: Option<&Decision>| {
        SoaChange::DecideBasedOn {
            framework: iso.clone(),
            requirement: req("A.7.1"),
            decision: decision.clone(),
            based_on: based_on.cloned().map(Box::new),
        }
        .into()
    };
    let remote =
        Decision::new(&req("A.7.1"), false, vec![Reason::BusinessNeed], "Fully remote company".into()).unwrap();
    let offices = Decision::new(&req("A.7.1"), true, vec![Reason::Contractual], "We rent offices".into()).unwrap();
    // Both read the row undecided; the first to save wins, the second is told.
    store.apply(&actor, vec![decide(&remote, None)]).await.unwrap();
    let late = store.apply(&actor, vec![decide(&offices, None)]).await.unwrap_err();
    assert!(matches!(late, StoreError::Conflict { .. }), "{late:?}");
    assert_eq!(store.soa_decisions(&org.id, &iso).await.unwrap(), [(req("A.7.1"), remote.clone())]);
    // Read again, the change lands.
    store.apply(&actor, vec![decide(&offices, Some(&remote))]).await.unwrap();
    assert_eq!(store.soa_decisions(&org.id, &iso).await.unwrap(), [(req("A.7.1"), offices)]);
}

pub async fn soa_versions_are_numbered_and_immutable<S: Store + RawSql>(store: &S) {
    use evident_core::soa::{Decision, Implementation, Reason, SoaRow};
    let (org, actor) = new_org(store, "acme").await;
    let iso = fw("iso27001:2022");
    let remote =
        Decision::new(&req("A.7.1"), false, vec![Reason::BusinessNeed], "Fully remote company".into()).unwrap();
    let set =
        |decision: Decision| SoaChange::Decide { framework: iso.clone(), requirement: req("A.7.1"), decision }.into();
    store.apply(&actor, vec![set(remote.clone())]).await.unwrap();
    assert_eq!(store.soa_decisions(&org.id, &iso).await.unwrap(), [(req("A.7.1"), remote.clone())]);

    let row = |applicable: bool| SoaRow {
        reference: req("A.7.1"),
        title: "Physical security perimeters".into(),
        theme: "Physical controls".into(),
        applicable,
        reasons: vec![Reason::BusinessNeed],
        justification: "Fully remote company".into(),
        implementation: if applicable { Implementation::NotImplemented } else { Implementation::NotApplicable },
        implementing_controls: vec![],
        risks: vec![],
    };
    store
        .apply(&actor, vec![SoaChange::Approve { framework: iso.clone(), rows: vec![row(false)] }.into()])
        .await
        .unwrap();
    let included =
        Decision::new(&req("A.7.1"), true, vec![Reason::Contractual], "A customer requires it".into()).unwrap();
    store.apply(&actor, vec![set(included.clone())]).await.unwrap();
    let later = Actor { at: at(9), ..actor.clone() };
    store
        .apply(&later, vec![SoaChange::Approve { framework: iso.clone(), rows: vec![row(true)] }.into()])
        .await
        .unwrap();

    let versions = store.soa_versions(&org.id, &iso).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!((versions[0].approved_by.as_str(), versions[1].approved_at), ("admin@acme.example", at(9)));
    assert!(!versions[0].rows[0].applicable && versions[1].rows[0].applicable, "each version keeps its own rows");
    assert_eq!(store.soa_decisions(&org.id, &iso).await.unwrap(), [(req("A.7.1"), included)]);
    let (log, _) = store.audit_log(&org.id).await.unwrap();
    let approval = log.iter().find(|r| r.entry.action == "soa.approve").unwrap();
    assert!(
        approval.entry.after.as_deref().unwrap().contains(versions[0].digest.as_str()),
        "the log pins the version's digest"
    );

    let org_id = org.id.as_str();
    let edit =
        store.execute_raw(&format!("UPDATE soa_versions SET approved_by = 'mallory' WHERE org_id = '{org_id}'")).await;
    assert!(edit.is_err(), "the database refuses to change an approved version");
    let delete = store.execute_raw(&format!("DELETE FROM soa_versions WHERE org_id = '{org_id}'")).await;
    assert!(delete.is_err(), "the database refuses to delete an approved version");
    assert_eq!(store.soa_versions(&org.id, &iso).await.unwrap(), versions);
}

pub async fn the_risk_register_keeps_its_history<S: Store + RawSql>(store: &S) {
    use evident_core::risk::*;
    use evident_core::{AssetCode, RiskCode};
    let (org, actor) = new_org(store, "acme").await;
    let (other, other_actor) = new_org(store, "globex").await;
    let asset = |code: &str, parent: Option<&str>| Asset {
        code: AssetCode::parse(code).unwrap(),
        name: format!("{code} asset"),
        kind: AssetKind::Service,
        owner: Some(email("admin@acme.example")),
        classification: Classification::Confidential,
        confidentiality: 4,
        integrity: 4,
        availability: 3,
        parent: parent.map(|p| AssetCode::parse(p).unwrap()),
    };
    let risk = |code: &str, methodology: i64, inherent: (u8, u8)| Risk {
        code: RiskCode::parse(code).unwrap(),
        title: format!("{code}: data loss"),
        description: "Production data is lost".into(),
        assets: vec![AssetCode::parse("AST-DB").unwrap()],
        threat: "Ransomware".into(),
        vulnerability: "Untested restores".into(),
        owner: email("admin@acme.example"),
        methodology,
        inherent: Rating::new(inherent.0, inherent.1).unwrap(),
        treatment: Treatment::Modify,
        controls: vec![Treating {
            control: code_of("OPS-1"),
            planned: true,
            due: chrono::NaiveDate::from_ymd_opt(2026, 9, 30),
        }],
        residual: Rating::new(1, 2).unwrap(),
        residual_justification: String::new(),
        review_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        acceptance: None,
        closed: false,
    };
    store
        .apply(
            &actor,
            vec![
                RiskChange::SetMethodology(Methodology::five_by_five()).into(),
                RiskChange::PutAsset(asset("AST-PLATFORM", None)).into(),
                RiskChange::PutAsset(asset("AST-DB", Some("AST-PLATFORM"))).into(),
                ControlChange::Create(control("OPS-1", "Backups")).into(),
                RiskChange::Put(risk("R-1", 1, (5, 5))).into(),
            ],
        )
        .await
        .unwrap();
    store.apply(&actor, vec![RiskChange::SetMethodology(Methodology::four_by_four()).into()]).await.unwrap();
    store.apply(&actor, vec![RiskChange::Put(risk("R-2", 2, (4, 4))).into()]).await.unwrap();

    let versions = store.methodologies(&org.id).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| (v.version, v.methodology.likelihood.len())).collect::<Vec<_>>(),
        [(1, 5), (2, 4)]
    );
    let risks = store.risks(&org.id).await.unwrap();
    assert_eq!(risks.iter().map(|r| (r.code.as_str(), r.methodology)).collect::<Vec<_>>(), [("R-1", 1), ("R-2", 2)]);
    assert_eq!(
        risks[0].inherent,
        Rating::new(5, 5).unwrap(),
        "the 5x5 assessment keeps its ratings under the 4x4 methodology"
    );
    assert_eq!(risks[0].controls[0].due, chrono::NaiveDate::from_ymd_opt(2026, 9, 30));
    let assets = store.assets(&org.id).await.unwrap();
    assert_eq!(assets.iter().map(|a| a.code.as_str()).collect::<Vec<_>>(), ["AST-DB", "AST-PLATFORM"]);
    assert_eq!(assets[0].parent.as_ref().map(|p| p.as_str()), Some("AST-PLATFORM"));

    let acceptance = Acceptance {
        by: email("admin@acme.example"),
        at: at(4),
        expires: chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
        note: "Within appetite".into(),
        terms: Some(Terms { residual: Rating::new(1, 2).unwrap(), treatment: Treatment::Modify }),
    };
    store
        .apply(
            &actor,
            vec![RiskChange::Accept { code: RiskCode::parse("R-1").unwrap(), acceptance: acceptance.clone() }.into()],
        )
        .await
        .unwrap();
    let mut reassessed = risk("R-1", 1, (4, 5));
    reassessed.controls.clear();
    reassessed.treatment = Treatment::Retain;
    store.apply(&actor, vec![RiskChange::Put(reassessed).into()]).await.unwrap();
    let r1 = store.risks(&org.id).await.unwrap().remove(0);
    assert_eq!(
        (r1.inherent.likelihood(), r1.controls.len()),
        (4, 0),
        "a re-put replaces ratings and treating controls"
    );
    assert_eq!(r1.acceptance, Some(acceptance), "and keeps the acceptance on record");

    let mut unknown_asset = risk("R-3", 2, (2, 2));
    unknown_asset.assets = vec![AssetCode::parse("AST-NOPE").unwrap()];
    let refused = store.apply(&actor, vec![RiskChange::Put(unknown_asset).into()]).await;
    assert_eq!(refused.unwrap_err().to_string(), "asset AST-NOPE does not exist");
    assert_eq!(store.risks(&org.id).await.unwrap().len(), 2, "the refused risk was not written");

    // Another tenant sees none of it and cannot point at it.
    assert!(store.risks(&other.id).await.unwrap().is_empty());
    assert!(store.assets(&other.id).await.unwrap().is_empty());
    assert!(store.methodologies(&other.id).await.unwrap().is_empty());
    store.apply(&other_actor, vec![RiskChange::SetMethodology(Methodology::three_by_three()).into()]).await.unwrap();
    let cross = store.apply(&other_actor, vec![RiskChange::Put(risk("R-9", 1, (2, 2))).into()]).await;
    assert!(cross.is_err(), "Globex cannot attach Acme's asset or control");
    let (log, head) = store.audit_log(&org.id).await.unwrap();
    assert_eq!(verify_chain(&org.id, &log, &head), Ok(log.len()));
    assert!(log.iter().any(|r| r.entry.action == "methodology.set" && r.entry.after.as_deref().unwrap().contains("\"version\":2")));
}

fn code_of(text: &str) -> ControlCode {
    code(text)
}

/// An import of `controls` controls, each created and mapped: `2 × controls` changes in one batch,
/// the shape of a large controls import. The benchmarks apply it in one [`Store::apply`].
pub fn import_batch(controls: usize) -> Vec<Change> {
    let mut changes = Vec::with_capacity(2 * controls);
    for i in 1..=controls {
        let code = format!("IMP-{i}");
        changes.push(ControlChange::Create(control(&code, &format!("Imported control {i}"))).into());
        let requirement = format!("A.{}.{}", 5 + i % 4, 1 + i % 37);
        changes.push(ControlChange::Map(mapping(&code, "iso27001:2022", &requirement, Coverage::Full)).into());
    }
    changes
}

/// Applies [`import_batch`] to a fresh organisation in one `apply`, checks that every change and
/// audit record landed and that the chain verifies, and returns how long the `apply` took.
pub async fn time_import(store: &dyn Store, controls: usize) -> std::time::Duration {
    let (org, actor) = new_org(store, "bulk").await;
    let batch = import_batch(controls);
    let started = std::time::Instant::now();
    store.apply(&actor, batch).await.expect("the import lands");
    let took = started.elapsed();
    assert_eq!(store.controls(&org.id).await.unwrap().len(), controls);
    assert_eq!(store.mappings(&org.id).await.unwrap().len(), controls);
    let (log, head) = store.audit_log(&org.id).await.unwrap();
    assert_eq!(verify_chain(&org.id, &log, &head), Ok(2 + 2 * controls), "one audit record per change");
    took
}

/// The PostgreSQL server the tests use (`EVIDENT_TEST_DATABASE_URL`), or `None` to skip them.
/// Under `CI=true` a missing URL fails the test instead: CI must test both backends.
pub fn postgres_url() -> Option<String> {
    match std::env::var("EVIDENT_TEST_DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("CI=true but EVIDENT_TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI")
        }
        Err(_) => None,
    }
}
