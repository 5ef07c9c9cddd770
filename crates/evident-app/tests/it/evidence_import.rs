//! `import_evidence` on each backend: every file of a manifest stored (a few at once) and
//! recorded, its progress reported from nothing to the total as each file is stored, and a
//! second import of the same manifest recording nothing.

use std::sync::Mutex;

use chrono::Duration;
use evident_app::evidence::{MANIFEST_LAYOUT, Progress};
use evident_app::imports::{Table, TableRow};
use evident_core::Sha256Digest;
use evident_evidence::DEFAULT_CONCURRENCY;

use crate::support::*;

on_each_backend!(an_import_stores_every_file_reporting_progress_and_records_each_once);

async fn an_import_stores_every_file_reporting_progress_and_records_each_once(backend: Backend) {
    let Some(app) = spawn_with_evidence(backend).await else { return };
    let op = small_org(&app, &slug("acme"), &email(OWNER)).await;
    let dir = tempfile::tempdir().unwrap();
    // More files than are ingested at once, of sizes from a few bytes to a few MiB.
    let files = 3 * DEFAULT_CONCURRENCY;
    let mut rows = Vec::new();
    let mut contents = Vec::new();
    for i in 0..files {
        let bytes: Vec<u8> = format!("check {i}: pass\n").bytes().cycle().take(17 + i * i * 40_000).collect();
        std::fs::write(dir.path().join(format!("check-{i}.txt")), &bytes).unwrap();
        let cells = [format!("check-{i}.txt"), MINE.to_owned(), (today() - Duration::days(1)).to_string()];
        rows.push(TableRow {
            number: i + 2,
            cells: cells.into_iter().chain([String::new(), format!("check {i}")]).collect(),
        });
        contents.push(bytes);
    }
    assert_eq!(MANIFEST_LAYOUT[..3], ["file", "controls", "effective"]);
    let manifest = Table { file: "manifest.csv".into(), rows };
    let total: u64 = contents.iter().map(|c| c.len() as u64).sum();

    let calls = Mutex::new(Vec::new());
    let record = |done: u64, of: u64| calls.lock().unwrap().push((done, of));
    let progress: Progress<'_> = &record;
    let report = app.import_evidence(&op, dir.path(), &manifest, None, progress).await.unwrap();
    assert_eq!((report.files, report.recorded, report.unchanged, report.bytes), (files, files, 0, total));

    let calls = calls.into_inner().unwrap();
    assert_eq!(calls.len(), files + 1, "once before, then once per file stored: {calls:?}");
    assert_eq!(calls[0], (0, total));
    assert_eq!(calls.last(), Some(&(total, total)));
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0 && w[1].1 == total), "progress only grows: {calls:?}");

    let listed = app.evidence_list(&op, None, false, None).await.unwrap();
    assert_eq!(listed.len(), files);
    for (i, bytes) in contents.iter().enumerate() {
        let name = format!("check-{i}.txt");
        let record = listed.iter().find(|v| v.evidence.record.file_name.as_str() == name).unwrap();
        assert_eq!(record.evidence.record.digest, Sha256Digest::of(bytes), "{name} is stored as it is");
    }

    let again = app.import_evidence(&op, dir.path(), &manifest, None, &|_, _| {}).await.unwrap();
    assert_eq!((again.recorded, again.unchanged, again.deduplicated), (0, files, files));
    assert_eq!(app.evidence_list(&op, None, false, None).await.unwrap().len(), files);
}
