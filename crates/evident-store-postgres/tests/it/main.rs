//! The parity story on a fresh PostgreSQL database per test, when `EVIDENT_TEST_DATABASE_URL`
//! names a server (CI sets it). Without it these tests say so and pass without running.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use evident_store_postgres::{FreshDatabase, PostgresStore};

/// A store on its own database, dropped after the test.
struct Fresh {
    store: PostgresStore,
    _database: FreshDatabase,
}

impl std::ops::Deref for Fresh {
    type Target = PostgresStore;
    fn deref(&self) -> &PostgresStore {
        &self.store
    }
}

async fn fresh() -> Option<Fresh> {
    let Ok(base) = std::env::var("EVIDENT_TEST_DATABASE_URL") else {
        eprintln!("EVIDENT_TEST_DATABASE_URL is not set: skipping the PostgreSQL parity story");
        return None;
    };
    let database = FreshDatabase::create(&base).await.unwrap();
    Some(Fresh { store: PostgresStore::connect(&database.url).await.unwrap(), _database: database })
}

evident_store::parity_tests!(fresh());

#[tokio::test]
async fn an_unreachable_server_is_named_without_its_password() {
    let error = PostgresStore::connect("postgres://evident:s3cret@127.0.0.1:1/evident").await.unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("cannot reach the database: postgres://evident:***@127.0.0.1:1/evident"), "{message}");
    assert!(!message.contains("s3cret"));
}

#[tokio::test]
async fn a_fresh_database_is_dropped_with_its_guard() {
    let Ok(base) = std::env::var("EVIDENT_TEST_DATABASE_URL") else { return };
    let database = FreshDatabase::create(&base).await.unwrap();
    let url = database.url.clone();
    PostgresStore::connect(&url).await.unwrap();
    drop(database);
    assert!(PostgresStore::connect(&url).await.is_err(), "the database is gone");
}
