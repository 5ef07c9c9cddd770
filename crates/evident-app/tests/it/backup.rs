//! `backup` and `restore` through the use cases, on each backend: a backup taken while a writer
//! adds controls and evidence is one moment of the installation, its manifest counts what its
//! files hold, and it restores (evidence bytes included) into a fresh installation that verifies
//! and backs up again to the very same files.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use evident_app::backup::Manifest;
use evident_app::evidence::AddEvidence;
use evident_app::{App, Operator, Principal};
use evident_core::evidence::EvidenceSource;
use evident_core::{Frequency, ImplementationStatus, NewControl};
use futures::TryStreamExt;

use crate::support::*;

on_each_backend!(a_backup_taken_while_others_write_restores_and_verifies);

fn operator() -> Operator {
    Operator::new("backup-test")
}

/// Creates control `W-n` and a piece of evidence for it, whose bytes say `n`.
async fn write(app: &App, p: &Principal, n: u32) {
    let code = code(&format!("W-{n}"));
    let control = NewControl::new(
        code.clone(),
        &format!("Written {n}"),
        "Written while a backup runs.",
        None,
        Frequency::Monthly,
        ImplementationStatus::Implemented,
    )
    .unwrap();
    app.create_control(p, control).await.unwrap();
    let evidence = AddEvidence {
        file_name: format!("w-{n}.txt"),
        controls: vec![(code, None)],
        effective: today(),
        description: format!("Proof number {n}"),
        source: EvidenceSource::Upload,
    };
    let bytes = format!("evidence bytes of write {n}\n").repeat(50);
    app.add_evidence(p, evidence, bytes.as_bytes(), None).await.unwrap();
}

/// Waits until the writer has made `n` writes.
async fn until(written: &AtomicU32, n: u32) {
    while written.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every table file holds exactly the rows and bytes the manifest says.
fn assert_files_match(dir: &Path, manifest: &Manifest) {
    for table in &manifest.tables {
        let text = std::fs::read_to_string(dir.join(&table.file)).unwrap();
        assert_eq!(text.lines().count() as u64, table.rows, "{}", table.file);
        assert_eq!(text.len() as u64, table.bytes, "{}", table.file);
    }
    for blob in &manifest.blobs {
        assert_eq!(std::fs::metadata(dir.join(&blob.file)).unwrap().len(), blob.size, "{}", blob.file);
    }
    let names: Vec<&str> = manifest.tables.iter().map(|t| t.table.as_str()).collect();
    assert!(names.contains(&"audit_log") && names.contains(&"evidence"), "{names:?}");
}

async fn a_backup_taken_while_others_write_restores_and_verifies(backend: Backend) {
    let Some(source) = spawn_with_evidence(backend).await else { return };
    source.demo().await.unwrap();
    let op = source.operator(None, "writer", None).await.unwrap();
    // The demo's own year of evidence: its records and their distinct files.
    let every = evident_store::EvidenceQuery { superseded: true, ..Default::default() };
    let demo_records = source.store().evidence(&op.org.id, &every).await.unwrap();
    let demo_files: std::collections::BTreeSet<_> = demo_records.iter().map(|e| e.record.digest.clone()).collect();
    let (demo_records, demo_files) = (demo_records.len() as u64, demo_files.len() as u64);
    write(&source, &op, 0).await;
    let initial = source.store().controls(&op.org.id).await.unwrap().len() as u64;

    let written = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (app, op, written, stop) = (source.app.clone(), op.clone(), written.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                write(&app, &op, n).await;
                written.store(n, Ordering::SeqCst);
            }
        })
    };
    until(&written, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let backup_dir = dir.path().join("backup");
    let report = source.backup(&operator(), &backup_dir).await.unwrap();
    let after_backup = written.load(Ordering::SeqCst);
    until(&written, after_backup + 3).await;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();

    let manifest = &report.manifest;
    assert_files_match(&backup_dir, manifest);
    let in_backup = manifest.rows_of("controls").unwrap();
    let in_the_end = source.store().controls(&op.org.id).await.unwrap().len() as u64;
    assert!(in_backup >= initial + 3, "the backup holds the writes before it: {initial} + 3 > {in_backup}");
    assert!(in_backup < in_the_end, "and not those after it: {in_backup} of {in_the_end}");
    // Beside the demo's: W-0's record, and one per control written since: the last control's may not have landed
    // yet when the backup's read began (the writer adds it in a second write).
    let records = manifest.rows_of("evidence").unwrap() - demo_records;
    let written_since = in_backup - initial;
    assert!([written_since, written_since + 1].contains(&records), "{records} records, {written_since} controls");
    assert_eq!(manifest.blobs.len() as u64 - demo_files, records, "every record's bytes, once");

    let Some(target) = spawn_with_evidence(backend).await else { return };
    let restored = target.restore(&operator(), &backup_dir).await.unwrap();
    assert!(restored.verified(), "{:?}", restored.verdicts);
    assert_eq!(restored.verdicts.len(), 1);
    let op_there = target.operator(None, "reader", None).await.unwrap();
    assert_eq!(target.store().controls(&op_there.org.id).await.unwrap().len() as u64, in_backup);
    for record in target.evidence_list(&op_there, None, true, None).await.unwrap() {
        let (_, stream) = target.evidence_bytes(&op_there, &record.evidence.id).await.unwrap();
        let restored_bytes: Vec<u8> = stream.map_ok(|c| c.to_vec()).try_concat().await.unwrap();
        let (_, stream) = source.evidence_bytes(&op, &record.evidence.id).await.unwrap();
        let original: Vec<u8> = stream.map_ok(|c| c.to_vec()).try_concat().await.unwrap();
        assert_eq!(restored_bytes, original, "{}", record.evidence.record.file_name);
    }

    let again = target.backup(&operator(), &dir.path().join("again")).await.unwrap();
    assert_eq!(again.manifest.tables, manifest.tables, "the restored installation backs up to the same files");
    assert_eq!(again.manifest.blobs, manifest.blobs);
}
