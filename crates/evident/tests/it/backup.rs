//! `evident backup` and `evident restore` on every backend: the demo with evidence backed up and
//! restored into a fresh installation gives the same answers and verifies; a backup with one
//! byte changed (in a table file or a blob) is refused before anything is written, naming the
//! file; a restore into an installation that holds anything, and a backup into a directory that
//! holds anything, are refused and change nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use evident_app::App;
use evident_app::evidence::AddEvidence;
use evident_core::evidence::EvidenceSource;
use evident_evidence::{BlobConfig, BlobStore};
use evident_store::Store;

use crate::support::{Evident, runtime};

/// The application over an installation's database and evidence directory, as the operator.
async fn app(evident: &Evident) -> App {
    let store: Arc<dyn Store> = match &evident.database_url {
        Some(url) => Arc::new(evident_store_postgres::PostgresStore::connect(url).await.unwrap()),
        None => Arc::new(evident_store_sqlite::SqliteStore::open(&evident.data_dir.join("evident.db")).await.unwrap()),
    };
    let blobs = BlobStore::open(&BlobConfig::local(evident.data_dir.join("evidence"))).unwrap();
    App::new(store).unwrap().with_blobs(blobs)
}

/// Adds a file as evidence of a demo control, through the use case (the CLI has no `evidence add` yet).
fn add_evidence(evident: &Evident, control: &str, name: &str, bytes: &[u8]) {
    runtime().block_on(async {
        let app = app(evident).await;
        let op = app.operator(None, "tester", None).await.unwrap();
        let input = AddEvidence {
            file_name: name.to_owned(),
            controls: vec![(evident_core::ControlCode::parse(control).unwrap(), None)],
            effective: app.now().date_naive(),
            description: format!("{name} for {control}"),
            source: EvidenceSource::Upload,
        };
        app.add_evidence(&op, input, bytes, None).await.unwrap();
    });
}

/// Every evidence record's bytes, by file name, read back through the use case.
fn evidence_bytes(evident: &Evident) -> Vec<(String, Vec<u8>)> {
    runtime().block_on(async {
        use futures::TryStreamExt;
        let app = app(evident).await;
        let op = app.operator(None, "tester", None).await.unwrap();
        let mut all = Vec::new();
        for record in app.evidence_list(&op, None, true, None).await.unwrap() {
            let (_, stream) = app.evidence_bytes(&op, &record.evidence.id).await.unwrap();
            let bytes: Vec<u8> = stream.map_ok(|c| c.to_vec()).try_concat().await.unwrap();
            all.push((record.evidence.record.file_name.to_string(), bytes));
        }
        all.sort();
        all
    })
}

/// The demo with two evidence files, backed up into `<tmp>/backup`.
fn demo_backed_up(evident: &Evident) -> PathBuf {
    evident.ok(&["demo"]);
    add_evidence(
        evident,
        "IAM-01",
        "access-review-q1.txt",
        &b"Access review, Q1: 14 accounts, 2 removed.\n".repeat(100),
    );
    add_evidence(evident, "OPS-05", "backup-restore-test.txt", b"Restore test of 1 March: passed.\n");
    let dir = evident.dir.path().join("backup");
    let run = evident.ok(&["backup", dir.to_str().unwrap()]);
    // Every distinct file the records name: the demo's year and the two added here.
    let records = evident.ok(&["evidence", "list", "--all", "--json"]).json();
    let files: std::collections::BTreeSet<&str> =
        records.as_array().unwrap().iter().map(|r| r["digest"].as_str().unwrap()).collect();
    assert!(files.len() > 2, "{}: the demo's evidence and the two added", evident.name());
    let expected = format!("{} evidence files", files.len());
    assert!(run.stdout.contains(&expected), "{}: {expected} in {}", evident.name(), run.stdout);
    dir
}

/// The files under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, into: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, into);
            } else {
                into.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    files
}

/// Flips one bit of the byte at the middle of a file (the backup's files are the owner's to write).
fn flip_a_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    for file in files_under(from) {
        let target = to.join(&file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&file), target).unwrap();
    }
}

#[test]
fn a_restored_installation_answers_the_same_and_verifies() {
    for source in Evident::every_backend() {
        let dir = demo_backed_up(&source);
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["format"], "evident-backup");
        assert_eq!(manifest["backend"], source.name());
        let records = source.ok(&["evidence", "list", "--all", "--json"]).json();
        let files: std::collections::BTreeSet<&str> =
            records.as_array().unwrap().iter().map(|r| r["digest"].as_str().unwrap()).collect();
        assert_eq!(manifest["blobs"].as_array().unwrap().len(), files.len(), "every file a record names");

        let target = source.fresh_like();
        let run = target.ok(&["restore", dir.to_str().unwrap()]);
        assert!(run.stdout.contains("demo: audit log intact, state matches it"), "{}: {}", source.name(), run.stdout);
        let verified = target.ok(&["verify", "--json"]).json();
        assert_eq!(verified[0]["ok"], true, "{}: {verified}", source.name());
        for command in [
            &["controls", "list", "--json"][..],
            &["readiness", "--json"],
            &["risks", "list", "--json"],
            &["soa", "show", "--json"],
            &["members", "list", "--json"],
        ] {
            assert_eq!(
                target.ok(command).stdout,
                source.ok(command).stdout,
                "{}: `evident {}` answers the same after the restore",
                source.name(),
                command.join(" ")
            );
        }
        let bytes = evidence_bytes(&target);
        assert_eq!(bytes.len(), records.as_array().unwrap().len(), "{}: every record's bytes", source.name());
        assert_eq!(bytes, evidence_bytes(&source), "{}: the evidence bytes came back", source.name());
    }
}

#[test]
fn a_tampered_backup_is_refused_before_anything_is_written() {
    for source in Evident::every_backend() {
        let dir = demo_backed_up(&source);
        let blob = files_under(&dir).into_iter().find(|f| f.starts_with("blobs/sha256/")).unwrap();
        for (tampered, named) in [
            ("database/controls.jsonl", "database/controls.jsonl"),
            ("database/audit_log.jsonl", "database/audit_log.jsonl"),
            (blob.as_str(), blob.as_str()),
        ] {
            let copy = source.dir.path().join(format!("tampered-{}", tampered.replace('/', "-")));
            copy_dir(&dir, &copy);
            flip_a_byte(&copy.join(tampered));
            let target = source.fresh_like();
            let run = target.fails(&["restore", copy.to_str().unwrap()]);
            assert!(run.stderr.contains(named), "{}: {tampered}: {}", source.name(), run.stderr);
            assert!(run.stderr.contains("code: backup_invalid"), "{}", run.stderr);
            assert_eq!(target.ok(&["orgs", "list", "--json"]).json(), serde_json::json!([]), "no organisation landed");
            assert_eq!(
                files_under(&target.data_dir.join("evidence/sha256")),
                Vec::<String>::new(),
                "{}: no evidence bytes were stored",
                source.name()
            );
            // Nothing was written: the untouched backup restores into the same installation.
            target.ok(&["restore", dir.to_str().unwrap()]);
        }
    }
}

#[test]
fn a_restore_into_an_installation_that_holds_anything_is_refused() {
    for evident in Evident::every_backend() {
        let dir = demo_backed_up(&evident);
        let before = evident.ok(&["controls", "list", "--json"]).stdout;
        let run = evident.fails(&["restore", dir.to_str().unwrap()]);
        assert!(run.stderr.contains("already holds organisation(s) demo"), "{}: {}", evident.name(), run.stderr);
        assert!(run.stderr.contains("code: not_empty"), "{}", run.stderr);
        assert_eq!(evident.ok(&["controls", "list", "--json"]).stdout, before, "nothing changed");
        evident.ok(&["verify"]);
    }
}

#[test]
fn a_backup_into_a_directory_that_holds_anything_is_refused() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let dir = evident.dir.path().join("taken");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let run = evident.fails(&["backup", dir.to_str().unwrap()]);
        assert!(run.stderr.contains("is not empty"), "{}: {}", evident.name(), run.stderr);
        assert!(run.stderr.contains("code: not_empty"), "{}", run.stderr);
        assert_eq!(files_under(&dir), ["notes.txt"], "nothing was written beside it");
        assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
        let file = evident.dir.path().join("a-file");
        std::fs::write(&file, "mine").unwrap();
        let run = evident.fails(&["backup", file.to_str().unwrap()]);
        assert!(run.stderr.contains("code: not_empty"), "{}", run.stderr);
    }
}

#[test]
fn a_backup_whose_evidence_bytes_are_missing_fails_visibly_incomplete() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        add_evidence(&evident, "IAM-01", "lost.txt", b"These bytes will be lost.\n");
        let stored = evident.data_dir.join("evidence");
        let blob = files_under(&stored.join("sha256")).remove(0);
        std::fs::remove_file(stored.join("sha256").join(&blob)).unwrap();
        let dir = evident.dir.path().join("backup");
        let run = evident.fails(&["backup", dir.to_str().unwrap()]);
        assert!(run.stderr.contains("code: evidence_corrupt"), "{}: {}", evident.name(), run.stderr);
        assert!(run.stderr.contains("is incomplete (it has no manifest.json)"), "{}", run.stderr);
        assert!(!dir.join("manifest.json").exists(), "a failed backup has no manifest");
        let run = evident.fresh_like().fails(&["restore", dir.to_str().unwrap()]);
        assert!(run.stderr.contains("the backup did not finish"), "{}", run.stderr);
    }
}

#[test]
fn a_backup_across_backends_is_refused_and_passwords_are_never_shown() {
    let sqlite = Evident::sqlite();
    let dir = demo_backed_up(&sqlite);
    if let Some(postgres) = Evident::every_backend().into_iter().find(|e| e.database_url.is_some()) {
        let run = postgres.fails(&["restore", dir.to_str().unwrap()]);
        assert!(run.stderr.contains("the backup is of a sqlite database"), "{}", run.stderr);
        assert!(run.stderr.contains("code: backup_incompatible"), "{}", run.stderr);
        assert_eq!(postgres.ok(&["orgs", "list", "--json"]).json(), serde_json::json!([]));
    }
    let unreachable = "postgres://evident:s3cret@127.0.0.1:1/evident";
    for command in ["backup", "restore"] {
        let run = sqlite.fails(&["--database-url", unreachable, command, dir.to_str().unwrap()]);
        assert!(!run.stderr.contains("s3cret") && !run.stdout.contains("s3cret"), "{}", run.stderr);
        assert!(run.stderr.contains("evident:***@127.0.0.1:1"), "{}", run.stderr);
    }
}
