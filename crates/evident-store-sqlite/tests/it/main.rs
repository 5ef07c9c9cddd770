//! The parity story on a temporary SQLite file.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use evident_store_sqlite::SqliteStore;

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
