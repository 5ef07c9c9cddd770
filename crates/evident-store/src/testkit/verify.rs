//! What `evident verify` is given to find: an organisation that has used every kind of change,
//! and the ways someone with raw database access could tamper with it. The parity stories here
//! prove the store's read methods for paged verification agree on both backends, and what the
//! hash chain alone cannot see (a re-hashed or rewound log); `evident-app`'s verify tests run
//! every [`Tampering`] on both backends against the full check.

use evident_core::audit::{ChainHead, chain_hash, verify_chain};
use evident_core::risk::{
    Acceptance, Asset, AssetKind, Classification, Methodology, Rating, Risk, Treating, Treatment,
};
use evident_core::soa::{Decision, Implementation, Reason, SoaRow};
use evident_core::{AssetCode, Coverage, ImplementationStatus, Organisation, RiskCode, Role, Sha256Digest};

use super::{at, code, control, email, fw, mapping, new_org, req};
use crate::{
    Actor, Adoption, ControlChange, ControlPatch, FrameworkChange, MemberChange, RawSql, RiskChange, SoaChange, Store,
};

/// An organisation that has used every kind of change the audit log records, with a viewer
/// `bob@acme.example`, controls OPS-1 (implemented) and OPS-2, mappings for both, an exclusion of
/// A.7.1 in an approved SoA, a methodology, an asset and an accepted risk.
pub async fn busy_org(store: &dyn Store, slug: &str) -> (Organisation, Actor) {
    let (org, actor) = new_org(store, slug).await;
    let iso = fw("iso27001:2022");
    let remote =
        Decision::new(&req("A.7.1"), false, vec![Reason::BusinessNeed], "Fully remote company".into()).expect("valid");
    let row = SoaRow {
        reference: req("A.7.1"),
        title: "Physical security perimeters".into(),
        theme: "Physical controls".into(),
        applicable: false,
        reasons: vec![Reason::BusinessNeed],
        justification: "Fully remote company".into(),
        implementation: Implementation::NotApplicable,
        implementing_controls: vec![],
        risks: vec![],
    };
    let asset = Asset {
        code: AssetCode::parse("AST-DB").expect("valid"),
        name: "Customer database".into(),
        kind: AssetKind::Service,
        owner: Some(email(&format!("admin@{slug}.example"))),
        classification: Classification::Confidential,
        confidentiality: 4,
        integrity: 4,
        availability: 3,
        parent: None,
    };
    let risk = Risk {
        code: RiskCode::parse("R-1").expect("valid"),
        title: "Data loss".into(),
        description: "Production data is lost".into(),
        assets: vec![asset.code.clone()],
        threat: "Ransomware".into(),
        vulnerability: "Untested restores".into(),
        owner: email(&format!("admin@{slug}.example")),
        methodology: 1,
        inherent: Rating::new(4, 5).unwrap(),
        treatment: Treatment::Modify,
        controls: vec![
            Treating { control: code("OPS-2"), planned: true, due: chrono::NaiveDate::from_ymd_opt(2026, 9, 30) },
            Treating { control: code("OPS-1"), planned: false, due: None },
        ],
        residual: Rating::new(1, 2).unwrap(),
        residual_justification: String::new(),
        review_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("valid"),
        acceptance: None,
        closed: false,
    };
    let acceptance = Acceptance {
        by: email(&format!("admin@{slug}.example")),
        at: at(4),
        expires: chrono::NaiveDate::from_ymd_opt(2027, 3, 1).expect("valid"),
        note: "Within appetite".into(),
        terms: None,
    };
    let changes = vec![
        MemberChange::Add {
            email: email(&format!("bob@{slug}.example")),
            display_name: "Bob".into(),
            role: Role::Viewer,
        }
        .into(),
        FrameworkChange::Adopt(Adoption {
            framework: iso.clone(),
            categories: vec![],
            scope: "Production SaaS platform".into(),
            target_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 31),
            adopted_at: at(2),
        })
        .into(),
        ControlChange::Create(control("OPS-1", "Backups")).into(),
        ControlChange::Create(control("OPS-2", "Restore tests")).into(),
        ControlChange::Map(mapping("OPS-1", "iso27001:2022", "A.8.13", Coverage::Full)).into(),
        ControlChange::Map(mapping("OPS-2", "iso27001:2022", "A.5.30", Coverage::Partial)).into(),
        ControlChange::Map(mapping("OPS-2", "iso27001:2022", "A.8.14", Coverage::Partial)).into(),
        ControlChange::Unmap { control: code("OPS-2"), framework: iso.clone(), requirement: req("A.8.14") }.into(),
        SoaChange::Decide { framework: iso.clone(), requirement: req("A.7.1"), decision: remote }.into(),
        SoaChange::Approve { framework: iso.clone(), rows: vec![row] }.into(),
        RiskChange::SetMethodology(Methodology::five_by_five()).into(),
        RiskChange::PutAsset(asset).into(),
        RiskChange::Put(risk).into(),
        RiskChange::Accept { code: RiskCode::parse("R-1").expect("valid"), acceptance }.into(),
    ];
    store.apply(&actor, changes).await.expect("the busy organisation's changes apply");
    let later = Actor { at: at(5), ..actor.clone() };
    let implemented = ControlPatch { status: Some(ImplementationStatus::Implemented), ..ControlPatch::default() };
    store
        .apply(
            &later,
            vec![ControlChange::Update { code: code("OPS-1"), patch: implemented, expected_revision: None }.into()],
        )
        .await
        .expect("OPS-1 is implemented");
    (org, actor)
}

/// A way to tamper with an organisation made by [`busy_org`], with raw SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tampering {
    /// bob's role is raised from viewer to admin in `memberships`.
    MemberRole,
    /// OPS-1's status goes back to not started in `controls`.
    ControlStatus,
    /// The mapping OPS-2 → A.5.30 is deleted from `mappings`.
    MappingDeleted,
    /// The exclusion of A.7.1 becomes an inclusion in `soa_decisions`.
    SoaDecision,
    /// Approved SoA version 1's rows are edited (after dropping the immutability trigger).
    SoaVersionRows,
    /// The same, with the stored digest recomputed to match.
    SoaVersionRowsAndDigest,
    /// The last record is deleted and the head set back to the one before; the state is left.
    Rewound,
    /// The last record is deleted, the head set back, and OPS-1's status set back to match.
    RewoundWithState,
    /// Every record is deleted and the head set to the start.
    Emptied,
    /// bob's `member.add` record is edited to say admin and the whole chain re-hashed.
    RehashedLogOnly,
    /// The same, and bob's role raised to admin in `memberships` to match.
    RehashedWithState,
}

impl Tampering {
    pub const ALL: &'static [Tampering] = &[
        Tampering::MemberRole,
        Tampering::ControlStatus,
        Tampering::MappingDeleted,
        Tampering::SoaDecision,
        Tampering::SoaVersionRows,
        Tampering::SoaVersionRowsAndDigest,
        Tampering::Rewound,
        Tampering::RewoundWithState,
        Tampering::Emptied,
        Tampering::RehashedLogOnly,
        Tampering::RehashedWithState,
    ];

    /// Whether a check inside the database can find it. The others leave a log that is a valid
    /// chain and a state that matches it: only a witness kept elsewhere tells.
    pub fn detectable_without_witness(self) -> bool {
        !matches!(self, Tampering::RewoundWithState | Tampering::RehashedWithState)
    }
}

async fn raw(store: &(impl RawSql + ?Sized), sql: &str) -> u64 {
    store.execute_raw(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Tampers with `org` (made by [`busy_org`]) the way `how` says, bypassing every rule of the store.
pub async fn tamper<S: Store + RawSql>(store: &S, org: &Organisation, how: Tampering) {
    let id = org.id.as_str();
    let bob = format!("(SELECT id FROM users WHERE email = 'bob@{}.example')", org.slug);
    let sql = match how {
        Tampering::MemberRole | Tampering::RehashedWithState => {
            format!("UPDATE memberships SET role = 'admin' WHERE org_id = '{id}' AND user_id = {bob}")
        }
        Tampering::ControlStatus => {
            format!("UPDATE controls SET status = 'not_started' WHERE org_id = '{id}' AND code = 'OPS-1'")
        }
        Tampering::MappingDeleted => format!("DELETE FROM mappings WHERE org_id = '{id}' AND control_code = 'OPS-2'"),
        Tampering::SoaDecision => {
            format!("UPDATE soa_decisions SET applicable = TRUE WHERE org_id = '{id}' AND requirement_ref = 'A.7.1'")
        }
        Tampering::SoaVersionRows | Tampering::SoaVersionRowsAndDigest => {
            drop_soa_immutability(store).await;
            let stored = store.soa_version_texts(&org.id).await.expect("versions").remove(0);
            let forged = stored.rows_json.replace("\"applicable\":false", "\"applicable\":true");
            assert_ne!(forged, stored.rows_json, "the forgery changes the rows");
            let digest = match how {
                Tampering::SoaVersionRowsAndDigest => Sha256Digest::of(forged.as_bytes()),
                _ => stored.digest,
            };
            format!(
                "UPDATE soa_versions SET rows_json = '{}', digest = '{digest}' WHERE org_id = '{id}' AND version = 1",
                forged.replace('\'', "''")
            )
        }
        Tampering::Rewound | Tampering::RewoundWithState => {
            let head = store.chain_head(&org.id).await.expect("head");
            let previous = store.audit_page(&org.id, head.seq - 2, 1).await.expect("page").remove(0);
            raw(store, &format!("DELETE FROM audit_log WHERE org_id = '{id}' AND seq > {}", previous.seq)).await;
            if how == Tampering::RewoundWithState {
                // The last record set OPS-1 implemented; set it back, as the rewound log says.
                raw(
                    store,
                    &format!("UPDATE controls SET status = 'in_progress' WHERE org_id = '{id}' AND code = 'OPS-1'"),
                )
                .await;
            }
            set_head(&org.id, &ChainHead { seq: previous.seq, hash: previous.hash })
        }
        Tampering::Emptied => {
            raw(store, &format!("DELETE FROM audit_log WHERE org_id = '{id}'")).await;
            set_head(&org.id, &ChainHead { seq: 0, hash: Sha256Digest::zero() })
        }
        Tampering::RehashedLogOnly => {
            edit_and_rehash(store, org).await;
            return;
        }
    };
    raw(store, &sql).await;
    if how == Tampering::RehashedWithState {
        edit_and_rehash(store, org).await;
    }
}

fn set_head(org: &evident_core::OrgId, head: &ChainHead) -> String {
    format!(
        "UPDATE organisations SET audit_head_seq = {}, audit_head_hash = '{}' WHERE id = '{}'",
        head.seq,
        head.hash,
        org.as_str()
    )
}

/// Rewrites bob's `member.add` record to say admin, then re-chains the whole log.
async fn edit_and_rehash<S: Store + RawSql>(store: &S, org: &Organisation) {
    raw(
        store,
        &format!(
            "UPDATE audit_log SET after_json = replace(after_json, '\"viewer\"', '\"admin\"') \
             WHERE org_id = '{}' AND action = 'member.add' AND entity_id = 'bob@{}.example'",
            org.id.as_str(),
            org.slug
        ),
    )
    .await;
    rehash_chain(store, &org.id).await;
}

/// Recomputes every record's links and hash from the first record on, as a forger who knows the
/// algorithm would after editing the log, and sets the organisation's head to match.
pub async fn rehash_chain<S: Store + RawSql + ?Sized>(store: &S, org: &evident_core::OrgId) {
    let (records, _) = store.audit_log(org).await.expect("the log");
    let mut prev = Sha256Digest::zero();
    let mut seq = 0;
    for record in &records {
        let hash = chain_hash(org, &prev, &record.entry);
        raw(
            store,
            &format!(
                "UPDATE audit_log SET prev_hash = '{prev}', hash = '{hash}' WHERE org_id = '{}' AND seq = {}",
                org.as_str(),
                record.seq
            ),
        )
        .await;
        (prev, seq) = (hash, record.seq);
    }
    raw(store, &set_head(org, &ChainHead { seq, hash: prev })).await;
}

/// Drops the triggers that make approved SoA versions immutable: SQLite's by name, PostgreSQL's
/// on its table.
async fn drop_soa_immutability<S: RawSql + ?Sized>(store: &S) {
    if store.execute_raw("DROP TRIGGER soa_versions_no_update").await.is_err() {
        raw(store, "DROP TRIGGER soa_versions_immutable ON soa_versions").await;
    }
}

pub async fn the_log_reads_page_by_page<S: Store + RawSql>(store: &S) {
    let (org, _) = busy_org(store, "acme").await;
    let (other, _) = busy_org(store, "globex").await;
    let (log, head) = store.audit_log(&org.id).await.unwrap();
    assert_eq!(store.chain_head(&org.id).await.unwrap(), head);
    assert_eq!(log.len(), 17, "organisation, admin, 14 changes, one update");
    for limit in [1, 5, 17, 100] {
        let mut paged = Vec::new();
        let mut after = i64::MIN;
        loop {
            let page = store.audit_page(&org.id, after, limit).await.unwrap();
            assert!(page.len() <= limit as usize);
            let Some(last) = page.last() else { break };
            after = last.seq;
            paged.extend(page);
        }
        assert_eq!(paged, log, "pages of {limit} add up to the log");
    }
    assert_eq!(store.audit_page(&org.id, 5, 3).await.unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), [6, 7, 8]);
    assert!(store.audit_page(&org.id, head.seq, 10).await.unwrap().is_empty());
    let others = store.audit_page(&other.id, i64::MIN, 100).await.unwrap();
    assert!(others.iter().all(|r| !r.entry.actor.contains("acme")), "a page holds only its organisation's records");

    let versions = store.soa_version_texts(&org.id).await.unwrap();
    assert_eq!(versions.iter().map(|v| (v.framework.as_str(), v.version)).collect::<Vec<_>>(), [("iso27001:2022", 1)]);
    assert_eq!(Sha256Digest::of(versions[0].rows_json.as_bytes()), versions[0].digest, "the exact text re-hashes");
    let typed = store.soa_versions(&org.id, &fw("iso27001:2022")).await.unwrap();
    assert_eq!(typed[0].digest, versions[0].digest);
}

pub async fn a_rehashed_or_rewound_log_still_chains<S: Store + RawSql>(store: &S) {
    // What the chain alone cannot see: each of these leaves a valid chain. Replay and a witness
    // are what `evident verify` adds (evident-app's verify tests).
    let (org, _) = busy_org(store, "acme").await;
    let verify = || async {
        let (log, head) = store.audit_log(&org.id).await.unwrap();
        verify_chain(&org.id, &log, &head)
    };
    assert_eq!(verify().await, Ok(17));
    tamper(store, &org, Tampering::RehashedWithState).await;
    assert_eq!(verify().await, Ok(17), "a re-hashed log chains");
    let bob = store.member(&org.id, &email("bob@acme.example")).await.unwrap().unwrap();
    assert_eq!(bob.role, Role::Admin);
    let (log, _) = store.audit_log(&org.id).await.unwrap();
    let added = log.iter().find(|r| r.entry.entity_id == "bob@acme.example").unwrap();
    assert!(added.entry.after.as_deref().unwrap().contains("\"admin\""), "and says what the forger wrote");

    tamper(store, &org, Tampering::Rewound).await;
    assert_eq!(verify().await, Ok(16), "a rewound log chains");
    tamper(store, &org, Tampering::Emptied).await;
    assert_eq!(verify().await, Ok(0), "an emptied log chains");
}
