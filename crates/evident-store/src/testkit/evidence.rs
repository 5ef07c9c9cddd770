//! Evidence records: added, superseded (once), linked to controls by id, read newest first, the
//! newest current record per control kept by every write, a window's evidence, tenants apart.

use chrono::NaiveDate;
use evident_core::evidence::{EvidenceLink, EvidenceSource, FileName, NewEvidence, Period};
use evident_core::{ControlId, EvidenceId, Sha256Digest};

use super::{control, new_org};
use crate::{Actor, Applied, ControlChange, EvidenceChange, EvidenceQuery, RawSql, Store, StoreError};

fn day(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, day).expect("a valid date")
}

fn record(name: &str, effective: NaiveDate, links: &[(&ControlId, Option<Period>)]) -> NewEvidence {
    NewEvidence {
        file_name: FileName::parse(name).unwrap(),
        media_type: "application/pdf".into(),
        size: 42,
        digest: Sha256Digest::of(name.as_bytes()),
        effective,
        source: EvidenceSource::Upload,
        description: format!("{name}, signed off."),
        links: links
            .iter()
            .map(|(control, period)| EvidenceLink { control: (*control).clone(), period: *period })
            .collect(),
        supersedes: None,
    }
}

fn id(text: &str) -> EvidenceId {
    EvidenceId::parse(text).unwrap()
}

async fn add(store: &dyn Store, actor: &Actor, evidence_id: &str, evidence: NewEvidence) -> Result<(), StoreError> {
    let applied = store.apply(actor, vec![EvidenceChange::Add { id: id(evidence_id), evidence }.into()]).await?;
    assert_eq!(applied, [Applied::Changed]);
    Ok(())
}

async fn control_id(store: &dyn Store, actor: &Actor, code: &str) -> ControlId {
    let applied = store.apply(actor, vec![ControlChange::Create(control(code, code)).into()]).await.unwrap();
    match &applied[..] {
        [Applied::ControlCreated { id }] => id.clone(),
        other => panic!("expected a created control, got {other:?}"),
    }
}

pub async fn evidence_is_kept_superseded_and_summarised<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    let iam = control_id(store, &actor, "IAM-01").await;
    let ops = control_id(store, &actor, "OPS-01").await;
    let march = Period::new(day(3, 1), day(3, 31)).unwrap();

    add(store, &actor, "ev-jan", record("jan.pdf", day(1, 31), &[(&iam, None)])).await.unwrap();
    add(store, &actor, "ev-mar", record("mar.pdf", day(3, 31), &[(&iam, Some(march)), (&ops, None)])).await.unwrap();

    let listed = store.evidence(&org.id, &EvidenceQuery::default()).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["ev-mar", "ev-jan"], "newest effective date first");
    assert_eq!(listed[0].record.links.len(), 2);
    assert_eq!(listed[0].record.links.iter().find(|l| l.control == iam).unwrap().period, Some(march));
    assert_eq!(listed[0].uploaded_by, actor.who);
    let of_ops = EvidenceQuery { control: Some(ops.clone()), ..EvidenceQuery::default() };
    assert_eq!(store.evidence(&org.id, &of_ops).await.unwrap().len(), 1, "only the record linked to OPS-01");

    let latest = store.latest_evidence(&org.id).await.unwrap();
    let of = |c: &ControlId| latest.iter().find(|l| &l.control == c).map(|l| (l.evidence.to_string(), l.effective));
    assert_eq!(of(&iam), Some(("ev-mar".into(), day(3, 31))));

    // A correction supersedes March: the newest current record of each control goes back.
    let mut correction = record("mar-fixed.pdf", day(2, 28), &[(&iam, None)]);
    correction.supersedes = Some(id("ev-mar"));
    add(store, &actor, "ev-fix", correction).await.unwrap();
    let latest = store.latest_evidence(&org.id).await.unwrap();
    let of = |c: &ControlId| latest.iter().find(|l| &l.control == c).map(|l| (l.evidence.to_string(), l.effective));
    assert_eq!(of(&iam), Some(("ev-fix".into(), day(2, 28))), "the superseded record no longer counts");
    assert_eq!(of(&ops), None, "OPS-01's only record was superseded");
    let old = store.evidence_by_id(&org.id, &id("ev-mar")).await.unwrap().unwrap();
    assert_eq!(old.superseded_by, Some(id("ev-fix")), "the old record stays, marked");
    let current = store.evidence(&org.id, &EvidenceQuery::default()).await.unwrap();
    assert!(current.iter().all(|e| e.id.as_str() != "ev-mar"), "current records only by default");
    let all = EvidenceQuery { superseded: true, ..EvidenceQuery::default() };
    assert_eq!(store.evidence(&org.id, &all).await.unwrap().len(), 3);

    // Superseding twice, an unknown record or control, a taken id: refused, nothing written.
    let mut again = record("mar-again.pdf", day(3, 31), &[(&iam, None)]);
    again.supersedes = Some(id("ev-mar"));
    assert!(matches!(add(store, &actor, "ev-again", again).await, Err(StoreError::Stale { .. })));
    let mut unknown = record("x.pdf", day(3, 31), &[(&iam, None)]);
    unknown.supersedes = Some(id("ev-nope"));
    assert!(matches!(add(store, &actor, "ev-x", unknown).await, Err(StoreError::NotFound { what: "evidence", .. })));
    let stranger = ControlId::parse("no-such-control").unwrap();
    let orphan = record("y.pdf", day(3, 31), &[(&stranger, None)]);
    assert!(matches!(add(store, &actor, "ev-y", orphan).await, Err(StoreError::NotFound { what: "control", .. })));
    let taken = record("z.pdf", day(3, 31), &[(&iam, None)]);
    assert!(matches!(add(store, &actor, "ev-jan", taken).await, Err(StoreError::Conflict { .. })));
    assert_eq!(store.evidence(&org.id, &all).await.unwrap().len(), 3, "no refused record landed");

    // The window: January's record without a period is out of February..March; the correction
    // (effective 28 February) is in; the superseded March record is not.
    let window = store.evidence_between(&org.id, day(2, 1), day(3, 31)).await.unwrap();
    let ids: Vec<&str> = window.iter().map(|l| l.evidence.as_str()).collect();
    assert_eq!(ids, ["ev-fix"]);
    let digests = store.referenced_digests().await.unwrap();
    assert!(digests.contains(&Sha256Digest::of(b"jan.pdf")) && digests.contains(&Sha256Digest::of(b"mar.pdf")));

    // Another organisation sees none of it.
    let (globex, _) = new_org(store, "globex").await;
    assert!(store.evidence(&globex.id, &all).await.unwrap().is_empty());
    assert!(store.evidence_by_id(&globex.id, &id("ev-jan")).await.unwrap().is_none());
    assert!(store.latest_evidence(&globex.id).await.unwrap().is_empty());
    assert!(store.evidence_between(&globex.id, day(1, 1), day(12, 31)).await.unwrap().is_empty());
    assert!(store.evidence_by_digest(&globex.id, &Sha256Digest::of(b"jan.pdf")).await.unwrap().is_empty());
    assert_eq!(store.evidence_by_digest(&org.id, &Sha256Digest::of(b"jan.pdf")).await.unwrap().len(), 1);

    // Every record is in the audit log, with the record as its after-image.
    let (log, _) = store.audit_log(&org.id).await.unwrap();
    let added: Vec<&str> =
        log.iter().filter(|r| r.entry.action == "evidence.add").map(|r| r.entry.entity_id.as_str()).collect();
    assert_eq!(added, ["ev-jan", "ev-mar", "ev-fix"]);
}

/// A period that touches the window counts even when the record's effective date is after it.
pub async fn a_window_reads_evidence_by_its_period<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    let iam = control_id(store, &actor, "IAM-01").await;
    let q1 = Period::new(day(1, 1), day(3, 31)).unwrap();
    add(store, &actor, "ev-q1", record("q1.pdf", day(4, 10), &[(&iam, Some(q1))])).await.unwrap();
    let in_march = store.evidence_between(&org.id, day(3, 1), day(3, 31)).await.unwrap();
    assert_eq!(in_march.len(), 1, "Q1's review proves March, though it was signed in April");
    assert_eq!(in_march[0].period, Some(q1));
    let in_april = store.evidence_between(&org.id, day(4, 1), day(4, 30)).await.unwrap();
    assert!(in_april.is_empty(), "a record with a period proves its period, not its effective date");
}

/// Every record, superseded ones too, read a page at a time in id order with its links, once each;
/// another organisation's records never on a page.
pub async fn evidence_reads_page_by_page<S: Store + RawSql>(store: &S) {
    let (org, actor) = new_org(store, "acme").await;
    let iam = control_id(store, &actor, "IAM-01").await;
    let ops = control_id(store, &actor, "OPS-01").await;
    for n in 0..7 {
        let links: &[(&ControlId, Option<Period>)] =
            if n % 2 == 0 { &[(&iam, None), (&ops, None)] } else { &[(&iam, None)] };
        add(store, &actor, &format!("ev-{n}"), record(&format!("r{n}.pdf"), day(1, n + 1), links)).await.unwrap();
    }
    let mut correction = record("r3-fixed.pdf", day(2, 1), &[(&ops, None)]);
    correction.supersedes = Some(id("ev-3"));
    add(store, &actor, "ev-7", correction).await.unwrap();
    let (globex, globex_actor) = new_org(store, "globex").await;
    let theirs = control_id(store, &globex_actor, "IAM-01").await;
    add(store, &globex_actor, "ev-35", record("theirs.pdf", day(1, 1), &[(&theirs, None)])).await.unwrap();

    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store.evidence_page(&org.id, after.as_ref(), 3).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        pages.push(page);
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 2], "eight records in pages of three");
    let read: Vec<&crate::Evidence> = pages.iter().flatten().collect();
    let ids: Vec<&str> = read.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["ev-0", "ev-1", "ev-2", "ev-3", "ev-4", "ev-5", "ev-6", "ev-7"], "in id order, once each");
    for evidence in &read {
        let whole = store.evidence_by_id(&org.id, &evidence.id).await.unwrap().unwrap();
        assert_eq!(**evidence, whole, "{}: a page holds the whole record, links included", evidence.id);
    }
    assert_eq!(read[3].superseded_by, Some(id("ev-7")), "superseded records are on the pages too");
    let theirs = store.evidence_page(&globex.id, None, 10).await.unwrap();
    assert_eq!(theirs.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["ev-35"]);
}

/// A recorded sample never changes; an exception lands only against an occurrence it drew, the
/// same note again writes nothing, and another organisation sees neither.
pub async fn samples_hold_exceptions_only_for_what_they_drew<S: Store + RawSql>(store: &S) {
    use evident_core::SampleId;
    use evident_core::type2::{RecordedSample, SampleException, SampleItem};

    use crate::SampleChange;

    let (org, actor) = new_org(store, "acme").await;
    let iam = control_id(store, &actor, "IAM-01").await;
    let march = Period::new(day(3, 1), day(3, 31)).unwrap();
    let sample = RecordedSample {
        framework: evident_core::FrameworkId::parse("soc2:2017").unwrap(),
        window: Period::new(day(1, 1), day(6, 30)).unwrap(),
        table: "frequency".into(),
        seed: 42,
        items: vec![SampleItem { control: iam.clone(), occurrence: march, evidenced: false }],
    };
    let id = SampleId::parse("s-1").unwrap();
    let record = SampleChange::Record { id: id.clone(), sample: Box::new(sample.clone()) };
    assert_eq!(store.apply(&actor, vec![record.clone().into()]).await.unwrap(), [Applied::Changed]);
    assert!(matches!(store.apply(&actor, vec![record.into()]).await, Err(StoreError::Conflict { .. })));

    let exception = |occurrence: Period, note: &str| SampleChange::Exception {
        sample: id.clone(),
        exception: SampleException { control: iam.clone(), occurrence, note: note.into() },
    };
    let found = exception(march, "No review in March.");
    assert_eq!(store.apply(&actor, vec![found.clone().into()]).await.unwrap(), [Applied::Changed]);
    assert_eq!(store.apply(&actor, vec![found.into()]).await.unwrap(), [Applied::Unchanged], "the same note again");
    let april = Period::new(day(4, 1), day(4, 30)).unwrap();
    let not_drawn = store.apply(&actor, vec![exception(april, "Not in the sample.").into()]).await;
    assert!(matches!(not_drawn, Err(StoreError::Invalid(_))), "{not_drawn:?}");
    let unknown = SampleChange::Exception {
        sample: SampleId::parse("s-404").unwrap(),
        exception: SampleException { control: iam.clone(), occurrence: march, note: "x".into() },
    };
    assert!(matches!(store.apply(&actor, vec![unknown.into()]).await, Err(StoreError::NotFound { .. })));

    let stored = store.samples(&org.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].sample, sample, "the sample reads back as drawn");
    assert_eq!(stored[0].recorded_by, actor.who);
    assert_eq!(stored[0].exceptions.len(), 1);
    assert_eq!(stored[0].exceptions[0].note, "No review in March.");

    let (globex, _) = new_org(store, "globex").await;
    assert!(store.samples(&globex.id).await.unwrap().is_empty(), "another organisation sees none");
}

/// How many tasks import the same manifest at once in [`an_import_racing_itself_records_each_item_once`].
pub const IMPORTERS: usize = 12;

/// Many tasks land the same batch of records at once (the same manifest imported by several
/// processes), each under its own new ids, as [`EvidenceChange::AddUnlessRecorded`]: whether a
/// record is already there is checked under the organisation's lock, so each lands exactly once,
/// the others are told it is unchanged, and the log holds one record per landed item.
pub async fn an_import_racing_itself_records_each_item_once(stores: Vec<std::sync::Arc<dyn Store>>) {
    assert!(!stores.is_empty());
    let (org, actor) = new_org(&*stores[0], "acme").await;
    let iam = control_id(&*stores[0], &actor, "IAM-01").await;
    let ops = control_id(&*stores[0], &actor, "OPS-01").await;
    let manifest: Vec<NewEvidence> = (1..=5)
        .map(|i| {
            let links: &[(&ControlId, Option<Period>)] =
                if i % 2 == 0 { &[(&iam, None), (&ops, None)] } else { &[(&iam, None)] };
            let mut evidence = record(&format!("check-{i}.json"), day(3, i), links);
            // As a checked draft gives them: sorted by control id (the ids are random).
            evidence.links.sort_by(|a, b| a.control.cmp(&b.control));
            evidence
        })
        .collect();
    let tasks: Vec<_> = (0..IMPORTERS)
        .map(|n| {
            let (store, actor, manifest) = (stores[n % stores.len()].clone(), actor.clone(), manifest.clone());
            tokio::spawn(async move {
                let changes = manifest
                    .into_iter()
                    .enumerate()
                    .map(|(i, evidence)| {
                        EvidenceChange::AddUnlessRecorded { id: id(&format!("ev-{n}-{i}")), evidence }.into()
                    })
                    .collect();
                store.apply(&actor, changes).await
            })
        })
        .collect();
    let mut landed = vec![0; manifest.len()];
    for task in tasks {
        let applied = task.await.expect("an importer finishes").expect("no importer is refused");
        assert_eq!(applied.len(), manifest.len());
        for (i, applied) in applied.iter().enumerate() {
            assert!(matches!(applied, Applied::Changed | Applied::Unchanged), "{applied:?}");
            landed[i] += usize::from(applied.changed());
        }
    }
    assert_eq!(landed, [1; 5], "each item lands once, whichever importer lands it");

    let all = EvidenceQuery { superseded: true, ..EvidenceQuery::default() };
    let records = stores[0].evidence(&org.id, &all).await.unwrap();
    assert_eq!(records.len(), manifest.len(), "as many records as the manifest has rows");
    for item in &manifest {
        assert_eq!(records.iter().filter(|r| r.record.same_as(item)).count(), 1, "{}", item.file_name);
    }
    let (log, _) = stores[0].audit_log(&org.id).await.unwrap();
    assert_eq!(log.iter().filter(|r| r.entry.action == "evidence.add").count(), manifest.len());

    // The same bytes said of another day, or of other controls, are another record.
    let mut later = manifest[0].clone();
    later.effective = day(3, 20);
    let mut wider = manifest[0].clone();
    wider.links.push(EvidenceLink { control: ops.clone(), period: None });
    wider.links.sort_by(|a, b| a.control.cmp(&b.control));
    // The same links in another order are the same record.
    let mut reordered = manifest[1].clone();
    reordered.links.reverse();
    let changes = vec![
        EvidenceChange::AddUnlessRecorded { id: id("ev-later"), evidence: later }.into(),
        EvidenceChange::AddUnlessRecorded { id: id("ev-wider"), evidence: wider }.into(),
        EvidenceChange::AddUnlessRecorded { id: id("ev-again"), evidence: reordered }.into(),
    ];
    let applied = stores[0].apply(&actor, changes).await.unwrap();
    assert_eq!(applied, [Applied::Changed, Applied::Changed, Applied::Unchanged]);
    assert_eq!(stores[0].evidence(&org.id, &all).await.unwrap().len(), manifest.len() + 2);
}
