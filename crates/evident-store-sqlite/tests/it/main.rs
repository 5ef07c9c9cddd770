//! The parity story on a temporary SQLite file, and what only SQLite needs proving: separate
//! stores and processes sharing one file, the file's permissions, a file that is not ours.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::path::Path;
use std::sync::Arc;

use evident_store::testkit::{control, new_org};
use evident_store::{AuditLog, ControlChange, Controls, Organisations, Store, StoreError};
use evident_store_sqlite::SqliteStore;
use sqlx::{ConnectOptions, Connection};

/// A store in a temporary directory, removed after the test.
struct Fresh {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Fresh {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

async fn fresh() -> Option<Fresh> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("evident.db")).await.unwrap();
    Some(Fresh { store, _dir: dir })
}

evident_store::parity_tests!(fresh());

#[test]
fn both_backends_carry_the_same_migrations() {
    let sqlite = SqliteStore::migrations();
    let postgres = evident_store_postgres::PostgresStore::migrations();
    assert_eq!(sqlite, postgres, "every migration lands in both backends, with the same version and name");
    assert!(!sqlite.is_empty());
}

/// Eight stores open one fresh file at once, each with its own pools, as eight processes would:
/// they create and migrate it in turn, then sixteen writers share them without a lock error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn separate_stores_open_a_fresh_file_at_once_and_write_in_turn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evident.db");
    let opening: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            tokio::spawn(async move { SqliteStore::open(&path).await })
        })
        .collect();
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for open in opening {
        let store = open.await.unwrap().unwrap_or_else(|e| panic!("every concurrent first open succeeds: {e}"));
        stores.push(Arc::new(store));
    }
    evident_store::testkit::many_writers_at_once(stores).await;
}

/// A writer that holds the lock (here another connection, as another process would) makes the
/// store's write wait, not fail; the write lands once the lock is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_waits_its_turn_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evident.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let (org, actor) = new_org(&store, "acme").await;

    let mut other = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).connect().await.unwrap();
    let mut holding = other.begin_with("BEGIN IMMEDIATE").await.unwrap();
    sqlx::query("UPDATE organisations SET name = name").execute(&mut *holding).await.unwrap();

    let writer = {
        let (store, actor) = (store.clone(), actor.clone());
        tokio::spawn(async move {
            store.apply(&actor, vec![ControlChange::Create(control("OPS-1", "Backups")).into()]).await
        })
    };
    // Reads go on while the lock is held, and the waiting write has not been refused. (Without
    // `BEGIN IMMEDIATE` it was, at once: `database is locked`.)
    tokio::task::spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(300))).await.unwrap();
    assert!(store.controls(&org.id).await.unwrap().is_empty());
    assert!(!writer.is_finished(), "the write waits for the lock");
    holding.commit().await.unwrap();
    writer.await.unwrap().unwrap();
    assert_eq!(store.controls(&org.id).await.unwrap().len(), 1);
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evident.db");
    let store = SqliteStore::open(&path).await.unwrap();
    new_org(&store, "acme").await;
    for name in ["evident.db", "evident.db-wal", "evident.db-shm", "evident.db.lock"] {
        let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
    }
}

fn assert_no_driver_text(message: &str) {
    for driver in ["file is not a database", "code: 26", "error returned from database", "already exists"] {
        assert!(!message.contains(driver), "driver text {driver:?} in {message:?}");
    }
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evident.db");
    std::fs::write(&path, "These are my notes, not a database.\n".repeat(200)).unwrap();
    let error = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "names the file: {message}");
    assert!(message.contains("is not an evident database: it is not a SQLite database file"), "{message}");
    assert_no_driver_text(&message);
}

#[tokio::test]
async fn a_sqlite_database_of_another_program_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evident.db");
    let mut other =
        sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true).connect().await.unwrap();
    sqlx::query("CREATE TABLE controls (name TEXT)").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    let error = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "stored data is corrupt: {} is not an evident database: it is a SQLite database of another program",
            path.display()
        )
    );
}

/// Child processes: each opens the same fresh file (so their first opens race), creates its own
/// organisation and writes to it in many small transactions, all at once.
#[test]
fn processes_share_one_file_without_lock_errors() {
    const PROCESSES: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evident.db");
    let children: Vec<_> = (1..=PROCESSES)
        .map(|n| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_process_writer", "--nocapture", "--test-threads=1"])
                .env(CHILD_DATABASE, &path)
                .env(CHILD_NUMBER, n.to_string())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect::<Vec<_>>();
    for (n, child) in children.into_iter().enumerate() {
        let child = child.wait_with_output().unwrap();
        let output = String::from_utf8_lossy(&child.stdout);
        assert!(child.status.success() && output.contains(CHILD_DONE), "child {} failed:\n{output}", n + 1);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&path).await.unwrap();
        for n in 1..=PROCESSES {
            let slug = evident_core::OrgSlug::parse(&format!("process-{n}")).unwrap();
            let org = store.org_by_slug(&slug).await.unwrap().unwrap();
            assert_eq!(store.controls(&org.id).await.unwrap().len(), CHILD_WRITES);
            let (log, head) = store.audit_log(&org.id).await.unwrap();
            assert_eq!(evident_core::audit::verify_chain(&org.id, &log, &head), Ok(2 + CHILD_WRITES));
        }
    });
}

const CHILD_DATABASE: &str = "EVIDENT_TEST_CHILD_DATABASE";
const CHILD_NUMBER: &str = "EVIDENT_TEST_CHILD_NUMBER";
const CHILD_DONE: &str = "child writer done";
const CHILD_WRITES: usize = 40;

/// The child side of `processes_share_one_file_without_lock_errors`; returns at once otherwise.
#[tokio::test]
async fn child_process_writer() {
    let (Ok(path), Ok(n)) = (std::env::var(CHILD_DATABASE), std::env::var(CHILD_NUMBER)) else { return };
    let store = SqliteStore::open(Path::new(&path)).await.unwrap();
    let (_, actor) = new_org(&store, &format!("process-{n}")).await;
    for i in 1..=CHILD_WRITES {
        let change = ControlChange::Create(control(&format!("P{n}-{i}"), "Written by a process")).into();
        store.apply(&actor, vec![change]).await.unwrap_or_else(|e| panic!("process {n}, write {i}: {e}"));
    }
    println!("{CHILD_DONE}");
}
