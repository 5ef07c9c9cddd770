//! The parity story on a fresh PostgreSQL database per test, when `EVIDENT_TEST_DATABASE_URL`
//! names a server (CI sets it). Without it these tests say so and pass without running.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use evident_store_postgres::{FreshDatabase, PostgresStore};
use sqlx::Connection;

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
    let Some(base) = evident_store::testkit::postgres_url() else {
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
    let Some(base) = evident_store::testkit::postgres_url() else { return };
    let database = FreshDatabase::create(&base).await.unwrap();
    let url = database.url.clone();
    PostgresStore::connect(&url).await.unwrap();
    drop(database);
    assert!(PostgresStore::connect(&url).await.is_err(), "the database is gone");
}

/// The forms a password takes in a URL, each with the ways it could leak into a message.
const SECRET_URLS: [(&str, &[&str]); 5] = [
    ("postgres://evident:s3cr@t@127.0.0.1:1/evident", &["s3cr@t", "s3cr%40t", "s3cr"]),
    ("postgres://evident:s3cr%40t%21@127.0.0.1:1/evident", &["s3cr@t!", "s3cr%40t%21", "s3cr"]),
    ("postgres://evident@127.0.0.1:1/evident?password=s3cr3t", &["s3cr3t"]),
    ("postgres://evident@127.0.0.1:1/evident?sslmode=disable&password=s3cr%2F3t", &["s3cr/3t", "s3cr%2F3t", "s3cr"]),
    ("postgres://evident:s3cr3t@[::1/evident", &["s3cr3t"]),
];

#[tokio::test]
async fn a_password_never_appears_in_a_message() {
    for (url, forms) in SECRET_URLS {
        let error = PostgresStore::connect(url).await.unwrap_err();
        let shown = [error.to_string(), format!("{error:?}"), evident_store_postgres::redact(url)];
        for text in &shown {
            for form in forms {
                assert!(!text.contains(form), "{form:?} of {url} shows in {text:?}");
            }
        }
        assert!(matches!(error, evident_store::StoreError::Unavailable(_)), "{url}: {error:?}");
    }
    assert_eq!(
        evident_store_postgres::redact("postgres://evident@db.example:5433/evident?sslmode=require&password=s3cr3t"),
        "postgres://evident@db.example:5433/evident?sslmode=require&password=***"
    );
}

#[tokio::test]
async fn a_url_that_names_no_database_is_refused() {
    for url in
        ["postgres://127.0.0.1:1", "postgres://127.0.0.1:1/", "postgres://evident:s3cret@127.0.0.1:1/?sslmode=disable"]
    {
        let message = PostgresStore::connect(url).await.unwrap_err().to_string();
        assert!(message.contains("names no database: add one, as in postgres://host/evident"), "{url}: {message}");
        assert!(!message.contains("s3cret"));
    }
    let named = evident_store_postgres::DatabaseUrl::parse("postgres://127.0.0.1:1/?dbname=evident").unwrap();
    assert_eq!(named.database(), "evident", "a dbname parameter names it too");
    let message = PostgresStore::connect("mysql://root:s3cret@127.0.0.1/evident").await.unwrap_err().to_string();
    assert_eq!(
        message,
        "cannot reach the database: the database URL mysql://root:***@127.0.0.1/evident is not a PostgreSQL URL: it must start with postgres://"
    );
}

/// The pool never opens more connections than asked, and a request that finds them all busy
/// waits only as long as asked before the store says the database is unavailable.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pool_size_and_wait_are_options() {
    use evident_store::RawSql;
    use evident_store_postgres::PostgresOptions;
    let Some(base) = evident_store::testkit::postgres_url() else { return };
    let database = FreshDatabase::create(&base).await.unwrap();
    let refused = PostgresStore::connect_with(&database.url, PostgresOptions::default().pool_size(0)).await;
    assert!(refused.unwrap_err().to_string().contains("pool size must be at least 1"));

    let store = PostgresStore::connect_with(&database.url, PostgresOptions::default().pool_size(2)).await.unwrap();
    let sleepers: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.execute_raw("SELECT pg_sleep(0.6)").await })
        })
        .collect();
    tokio::task::spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(300))).await.unwrap();
    let name = evident_store_postgres::DatabaseUrl::parse(&database.url).unwrap().database().to_owned();
    let mut watcher = sqlx::postgres::PgConnection::connect(&base).await.unwrap();
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut watcher)
        .await
        .unwrap();
    assert!((1..=2).contains(&open), "{open} connections open with a pool of 2");
    for sleeper in sleepers {
        sleeper.await.unwrap().unwrap();
    }

    let quick = PostgresOptions::default().pool_size(1).acquire_timeout(std::time::Duration::from_millis(100));
    let store = PostgresStore::connect_with(&database.url, quick).await.unwrap();
    let holder = {
        let store = store.clone();
        tokio::spawn(async move { store.execute_raw("SELECT pg_sleep(1)").await })
    };
    tokio::task::spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(200))).await.unwrap();
    let waited = store.execute_raw("SELECT 1").await.unwrap_err();
    assert_eq!(waited.to_string(), "cannot reach the database: timed out waiting for a connection");
    holder.await.unwrap().unwrap();
}
