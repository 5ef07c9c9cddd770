//! Many writers at once: tasks writing to one organisation through clones of one store, or
//! through several stores opened on one database (as separate processes would). Every write that
//! is acknowledged lands; nobody fails because another writer held a lock (on SQLite every writer
//! waits its turn); checks made inside a write hold until it commits, so SoA versions number
//! without gaps or clashes and a duplicate is refused in our words, never the driver's; the audit
//! chain holds exactly one record per acknowledged change.

use std::sync::Arc;

use evident_core::audit::verify_chain;
use evident_core::risk::{Asset, AssetKind, Classification, Methodology, Rating, Risk, Treating, Treatment};
use evident_core::soa::{Implementation, Reason, SoaRow};
use evident_core::{AssetCode, Coverage, RiskCode, Role};

use super::{code, control, email, fw, mapping, new_org, req};
use crate::{Actor, Change, ControlChange, MemberChange, RiskChange, SoaChange, Store, StoreError};

/// Writers started at once by [`many_writers_at_once`].
pub const WRITERS: usize = 16;

/// Driver text that must never reach a user, whatever the backend.
const DRIVER_TEXT: [&str; 8] = [
    "database is locked",
    "SQLSTATE",
    "duplicate key",
    "UNIQUE constraint",
    "FOREIGN KEY constraint",
    "violates",
    "error returned from database",
    "could not serialize",
];

/// What one writer did: how many changes were acknowledged, and the errors it was given.
#[derive(Debug, Default)]
struct Outcome {
    acknowledged: usize,
    approvals: usize,
    won_shared: bool,
    errors: Vec<StoreError>,
}

impl Outcome {
    async fn apply(&mut self, store: &dyn Store, actor: &Actor, changes: Vec<Change>) -> bool {
        let count = changes.len();
        match store.apply(actor, changes).await {
            Ok(_) => {
                self.acknowledged += count;
                true
            }
            Err(error) => {
                self.errors.push(error);
                false
            }
        }
    }
}

fn asset(text: &str) -> Asset {
    Asset {
        code: AssetCode::parse(text).expect("a valid asset code"),
        name: format!("{text} service"),
        kind: AssetKind::Service,
        owner: None,
        classification: Classification::Internal,
        confidentiality: 3,
        integrity: 3,
        availability: 2,
        parent: None,
    }
}

fn risk(n: usize) -> Risk {
    Risk {
        code: RiskCode::parse(&format!("R-{n}")).expect("a valid risk code"),
        title: format!("Risk of writer {n}"),
        description: "Found while testing many writers".into(),
        assets: vec![
            AssetCode::parse(&format!("AST-W{n}")).expect("valid"),
            AssetCode::parse("AST-SHARED").expect("valid"),
        ],
        threat: "Contention".into(),
        vulnerability: "Shared state".into(),
        owner: email("admin@acme.example"),
        methodology: 1,
        inherent: Rating::new(3, 4).unwrap(),
        treatment: Treatment::Modify,
        controls: vec![Treating { control: code(&format!("W{n}-1")), planned: false, due: None }],
        residual: Rating::new(1, 2).unwrap(),
        residual_justification: String::new(),
        review_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a valid date"),
        acceptance: None,
        closed: false,
    }
}

fn soa_row(n: usize) -> SoaRow {
    SoaRow {
        reference: req(&format!("A.5.{n}")),
        title: format!("Control A.5.{n}"),
        theme: "Organisational controls".into(),
        applicable: true,
        reasons: vec![Reason::RiskTreatment],
        justification: format!("Approved by writer {n}"),
        implementation: Implementation::NotImplemented,
        implementing_controls: vec![code(&format!("W{n}-1"))],
        risks: vec![],
    }
}

/// One writer's work, each step its own `apply`: two controls, their mappings, a read-back, a
/// control every writer tries to create, an SoA approval, a member, an asset and a risk.
async fn write(store: Arc<dyn Store>, actor: Actor, n: usize) -> Outcome {
    let mut outcome = Outcome::default();
    let (first, second) = (format!("W{n}-1"), format!("W{n}-2"));
    let created = outcome
        .apply(
            &*store,
            &actor,
            vec![
                ControlChange::Create(control(&first, &format!("Writer {n}, first"))).into(),
                ControlChange::Create(control(&second, &format!("Writer {n}, second"))).into(),
            ],
        )
        .await;
    if created {
        let seen = store.control(&actor.org, &code(&first)).await.expect("a read after the write");
        assert!(seen.is_some(), "writer {n} reads its own acknowledged control back");
    }
    outcome
        .apply(
            &*store,
            &actor,
            vec![
                ControlChange::Map(mapping(&first, "iso27001:2022", &format!("A.5.{n}"), Coverage::Full)).into(),
                ControlChange::Map(mapping(&second, "soc2:2017", &format!("CC6.{n}"), Coverage::Partial)).into(),
            ],
        )
        .await;
    outcome.won_shared = outcome
        .apply(&*store, &actor, vec![ControlChange::Create(control("SHARED-1", "Everyone's control")).into()])
        .await;
    let approved = outcome
        .apply(
            &*store,
            &actor,
            vec![SoaChange::Approve { framework: fw("iso27001:2022"), rows: vec![soa_row(n)] }.into()],
        )
        .await;
    outcome.approvals += usize::from(approved);
    outcome
        .apply(
            &*store,
            &actor,
            vec![
                MemberChange::Add {
                    email: email(&format!("member{n}@acme.example")),
                    display_name: format!("Member {n}"),
                    role: Role::Viewer,
                }
                .into(),
            ],
        )
        .await;
    outcome
        .apply(
            &*store,
            &actor,
            vec![RiskChange::PutAsset(asset(&format!("AST-W{n}"))).into(), RiskChange::Put(risk(n)).into()],
        )
        .await;
    outcome
}

/// [`WRITERS`] tasks write to one organisation at once, writer `i` through `stores[i % len]`.
/// Give clones of one store, or separate stores opened on one database.
pub async fn many_writers_at_once(stores: Vec<Arc<dyn Store>>) {
    assert!(!stores.is_empty());
    let (org, actor) = new_org(&*stores[0], "acme").await;
    let setup = vec![
        RiskChange::SetMethodology(Methodology::five_by_five()).into(),
        RiskChange::PutAsset(asset("AST-SHARED")).into(),
    ];
    let setup_changes = setup.len();
    stores[0].apply(&actor, setup).await.expect("the methodology and the shared asset");

    let tasks: Vec<_> =
        (1..=WRITERS).map(|n| tokio::spawn(write(stores[n % stores.len()].clone(), actor.clone(), n))).collect();
    let mut outcomes = Vec::with_capacity(WRITERS);
    for task in tasks {
        outcomes.push(task.await.expect("a writer task finishes"));
    }

    let errors: Vec<&StoreError> = outcomes.iter().flat_map(|o| &o.errors).collect();
    for error in &errors {
        let message = error.to_string();
        for text in DRIVER_TEXT {
            assert!(!message.contains(text), "driver text {text:?} reached a user: {message}");
        }
    }
    // The one expected refusal: all but one writer find SHARED-1 taken, checked under the lock.
    assert_eq!(outcomes.iter().filter(|o| o.won_shared).count(), 1, "exactly one writer creates SHARED-1");
    let unexpected: Vec<String> = errors
        .iter()
        .filter(|e| !matches!(e, StoreError::Conflict { what: "control", key } if key == "SHARED-1"))
        .map(|e| e.to_string())
        .collect();
    assert!(unexpected.is_empty(), "no writer fails but for the duplicate SHARED-1: {unexpected:#?}");
    assert_eq!(errors.len(), WRITERS - 1);
    assert!(errors.iter().all(|e| e.to_string() == "control SHARED-1 already exists"));

    // Every acknowledged write is there.
    let controls = stores[0].controls(&org.id).await.unwrap();
    assert_eq!(controls.len(), 2 * WRITERS + 1, "two controls per writer and SHARED-1");
    assert_eq!(stores[0].mappings(&org.id).await.unwrap().len(), 2 * WRITERS);
    assert_eq!(stores[0].members(&org.id).await.unwrap().len(), 1 + WRITERS);
    assert_eq!(stores[0].assets(&org.id).await.unwrap().len(), 1 + WRITERS);
    let risks = stores[0].risks(&org.id).await.unwrap();
    assert_eq!(risks.len(), WRITERS);
    assert!(risks.iter().all(|r| r.assets.len() == 2 && r.controls.len() == 1), "each risk keeps its links");

    // SoA versions: one per acknowledged approval, numbered 1..=N without gaps, each writer's once.
    let versions = stores[0].soa_versions(&org.id, &fw("iso27001:2022")).await.unwrap();
    let approvals: usize = outcomes.iter().map(|o| o.approvals).sum();
    assert_eq!(approvals, WRITERS);
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), (1..=WRITERS as i64).collect::<Vec<_>>());
    let mut approvers: Vec<_> = versions.iter().map(|v| v.rows[0].justification.clone()).collect();
    approvers.sort();
    approvers.dedup();
    assert_eq!(approvers.len(), WRITERS, "each writer's approval is its own version");

    // The audit chain verifies and holds one record per acknowledged change.
    let acknowledged: usize = outcomes.iter().map(|o| o.acknowledged).sum();
    let (log, head) = stores[0].audit_log(&org.id).await.unwrap();
    let expected = 2 + setup_changes + acknowledged;
    assert_eq!(verify_chain(&org.id, &log, &head), Ok(expected), "the chain verifies, one record per change");
    assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=expected as i64).collect::<Vec<_>>());
    assert_eq!(log.iter().filter(|r| r.entry.action == "soa.approve").count(), WRITERS);
    assert_eq!(log.iter().filter(|r| r.entry.action == "control.create").count(), 2 * WRITERS + 1);

    // Every store sees the same, wherever it was opened.
    for store in &stores[1..] {
        assert_eq!(store.audit_log(&org.id).await.unwrap().1, head);
    }
}
