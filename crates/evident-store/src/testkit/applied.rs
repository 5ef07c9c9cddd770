//! What `apply` reports for each change, and that a change which would leave everything as it is
//! writes nothing, not even an audit record.

use evident_core::risk::{Asset, AssetKind, Classification, Methodology, Rating, Risk, Treating, Treatment};
use evident_core::soa::{Decision, Reason};
use evident_core::{AssetCode, Coverage, Mapping, RiskCode};

use super::{at, code, control, email, fw, mapping, new_org, req};
use crate::{Adoption, Applied, ControlChange, ControlPatch, FrameworkChange, RawSql, RiskChange, SoaChange, Store};

pub async fn a_write_that_changes_nothing_leaves_no_record<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    let asset = Asset {
        code: AssetCode::parse("AST-DB").unwrap(),
        name: "Customer database".into(),
        kind: AssetKind::Information,
        owner: None,
        classification: Classification::Confidential,
        confidentiality: 3,
        integrity: 3,
        availability: 2,
        parent: None,
    };
    let risk = Risk {
        code: RiskCode::parse("R-1").unwrap(),
        title: "Data loss".into(),
        description: "Production data is lost".into(),
        assets: vec![asset.code.clone()],
        threat: "Ransomware".into(),
        vulnerability: "Untested restores".into(),
        owner: email("admin@acme.example"),
        methodology: 1,
        inherent: Rating::new(4, 4).unwrap(),
        treatment: Treatment::Modify,
        controls: vec![
            Treating { control: code("OPS-2"), planned: true, due: None },
            Treating { control: code("OPS-1"), planned: false, due: None },
        ],
        residual: Rating::new(1, 2).unwrap(),
        residual_justification: String::new(),
        review_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        acceptance: None,
        closed: false,
    };
    let adoption = Adoption {
        framework: fw("iso27001:2022"),
        categories: Vec::new(),
        scope: "Production".into(),
        target_date: None,
        adopted_at: at(2),
    };
    let decision = Decision::new(&req("A.7.1"), false, vec![Reason::BusinessNeed], "Fully remote".into()).unwrap();
    let decide = || {
        SoaChange::Decide { framework: fw("iso27001:2022"), requirement: req("A.7.1"), decision: decision.clone() }
            .into()
    };
    let every = || {
        vec![
            FrameworkChange::Adopt(adoption.clone()).into(),
            ControlChange::Map(mapping("OPS-1", "iso27001:2022", "A.8.13", Coverage::Full)).into(),
            decide(),
            RiskChange::PutAsset(asset.clone()).into(),
            RiskChange::Put(risk.clone()).into(),
        ]
    };
    let mut first = vec![
        RiskChange::SetMethodology(Methodology::five_by_five()).into(),
        ControlChange::Create(control("OPS-1", "Backups")).into(),
        ControlChange::Create(control("OPS-2", "Restore tests")).into(),
    ];
    first.extend(every());
    let applied = store.apply(&actor, first).await.unwrap();
    assert!(applied.iter().all(Applied::changed), "{applied:?}");
    assert_eq!(applied[0], Applied::MethodologySet { version: 1 });
    let created = store.control(&org.id, &code("OPS-1")).await.unwrap().unwrap();
    assert_eq!(applied[1], Applied::ControlCreated { id: created.id.clone() });

    // The same values again: nothing to write, nothing to record.
    let (log_before, head_before) = store.audit_log(&org.id).await.unwrap();
    let same_title = ControlPatch { title: Some("Backups".into()), ..ControlPatch::default() };
    let mut again = every();
    again.push(ControlChange::Update { code: code("OPS-1"), patch: same_title, expected_revision: Some(1) }.into());
    again.push(ControlChange::Rename { code: code("OPS-1"), to: code("OPS-1") }.into());
    let applied = store.apply(&actor, again).await.unwrap();
    assert_eq!(applied, vec![Applied::Unchanged; 7]);
    let (log_after, head_after) = store.audit_log(&org.id).await.unwrap();
    assert_eq!((log_after.len(), head_after), (log_before.len(), head_before), "no audit record for no change");
    assert_eq!(store.control(&org.id, &code("OPS-1")).await.unwrap().unwrap(), created, "not even a new revision");

    // One change among unchanged ones: only it is recorded, and the batch is reported in order.
    let narrowed = Adoption { scope: "Production and staging".into(), ..adoption.clone() };
    let later = crate::Actor { at: at(5), ..actor.clone() };
    let applied = store.apply(&later, vec![decide(), FrameworkChange::Adopt(narrowed.clone()).into()]).await.unwrap();
    assert_eq!(applied, [Applied::Unchanged, Applied::Changed]);
    let (log, _) = store.audit_log(&org.id).await.unwrap();
    assert_eq!(log.len(), log_before.len() + 1);
    assert_eq!(log.last().unwrap().entry.action, "framework.adopt");
    assert_eq!(store.adoptions(&org.id).await.unwrap(), [narrowed]);

    // Every approval is a new version, and apply says which.
    let approve = || SoaChange::Approve { framework: fw("iso27001:2022"), rows: Vec::new() }.into();
    assert_eq!(store.apply(&later, vec![approve()]).await.unwrap(), [Applied::SoaApproved { version: 1 }]);
    assert_eq!(store.apply(&later, vec![approve()]).await.unwrap(), [Applied::SoaApproved { version: 2 }]);
    let set = |m: Methodology| RiskChange::SetMethodology(m).into();
    assert_eq!(
        store.apply(&later, vec![set(Methodology::four_by_four())]).await.unwrap(),
        [Applied::MethodologySet { version: 2 }]
    );
}

/// An import's long run of mapping changes is written together, with the same rules and the same
/// report as one change at a time: an identical mapping is unchanged and unrecorded, a mapping
/// changed twice in the run is recorded twice and ends as the second says, and one unknown
/// control refuses the whole batch.
pub async fn a_long_run_of_mappings_keeps_the_rules_of_one<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    let controls: Vec<_> =
        (1..=3).map(|i| ControlChange::Create(control(&format!("C-{i}"), "Control")).into()).collect();
    store.apply(&actor, controls).await.unwrap();
    let kept = mapping("C-1", "iso27001:2022", "A.5.1", Coverage::Full);
    let widened = mapping("C-1", "iso27001:2022", "A.5.2", Coverage::Partial);
    store
        .apply(&actor, vec![ControlChange::Map(kept.clone()).into(), ControlChange::Map(widened.clone()).into()])
        .await
        .unwrap();
    let (log_before, _) = store.audit_log(&org.id).await.unwrap();

    let annex: Vec<String> = (1..=37).map(|i| format!("A.5.{i}")).collect();
    let mut run: Vec<Mapping> =
        annex[2..].iter().map(|r| mapping("C-2", "iso27001:2022", r, Coverage::Partial)).collect();
    run.insert(0, kept.clone());
    run.insert(1, Mapping { coverage: Coverage::Full, ..widened.clone() });
    let twice = mapping("C-3", "iso27001:2022", "A.5.9", Coverage::Partial);
    run.push(twice.clone());
    run.push(Mapping { coverage: Coverage::Full, ..twice.clone() });
    assert!(run.len() >= 32, "long enough to be written as a batch");
    let changes = || run.iter().cloned().map(|m| ControlChange::Map(m).into()).collect::<Vec<_>>();

    let applied = store.apply(&actor, changes()).await.unwrap();
    assert_eq!(applied[0], Applied::Unchanged, "the identical mapping");
    assert!(applied[1..].iter().all(Applied::changed), "{applied:?}");
    let mut expected: Vec<Mapping> = run.iter().filter(|m| **m != twice).cloned().collect();
    crate::sort_mappings(&mut expected);
    assert_eq!(store.mappings(&org.id).await.unwrap(), expected, "every mapping lands once, as the run ends");

    let (log, _) = store.audit_log(&org.id).await.unwrap();
    let recorded = &log[log_before.len()..];
    assert_eq!(recorded.len(), run.len() - 1, "a record per change, none for the unchanged one");
    let widening = &recorded[0].entry;
    assert!(widening.before.as_deref().unwrap().contains("\"partial\""), "{widening:?}");
    assert!(widening.after.as_deref().unwrap().contains("\"full\""), "{widening:?}");
    let second = &recorded[recorded.len() - 1].entry;
    assert!(
        second.before.as_deref().unwrap().contains("\"partial\""),
        "the second change's before is the first's after"
    );

    // The mappings as they stand, again: nothing changes, nothing is recorded.
    let same = expected.iter().cloned().map(|m| ControlChange::Map(m).into()).collect();
    assert!(store.apply(&actor, same).await.unwrap().iter().all(|a| *a == Applied::Unchanged));
    assert_eq!(store.audit_log(&org.id).await.unwrap().0.len(), log.len());

    // One mapping of an unknown control refuses the whole run.
    let mut refused: Vec<_> = annex.iter().map(|r| mapping("C-3", "iso27001:2022", r, Coverage::Full)).collect();
    refused.push(mapping("NOPE-1", "iso27001:2022", "A.5.1", Coverage::Full));
    let refused = refused.into_iter().map(|m| ControlChange::Map(m).into()).collect();
    let error = store.apply(&actor, refused).await.unwrap_err();
    assert!(matches!(&error, crate::StoreError::NotFound { what: "control", key } if key == "NOPE-1"), "{error:?}");
    assert_eq!(store.mappings(&org.id).await.unwrap(), expected, "nothing of the refused run landed");
}
