//! The evident store on PostgreSQL, for installations that run several instances.
#![forbid(unsafe_code)]

use std::str::FromStr;
use std::time::Duration;

use evident_store::StoreError;
use sqlx::ConnectOptions;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: sqlx::PgPool,
}

impl PostgresStore {
    /// Connects and brings the schema up to date. Migrations take an advisory lock, so several
    /// instances starting at once do not race.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("{} is not a valid PostgreSQL URL: {e}", redact(url))))?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", redact(url))))?;
        MIGRATOR.run(&pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self { pool })
    }

    pub fn migrations() -> Vec<(i64, String)> {
        MIGRATOR.iter().map(|m| (m.version, m.description.to_string())).collect()
    }
}

/// Creates an empty database with a unique name next to the one `base_url` names, and returns
/// its URL. Tests use it to give every story a fresh database.
pub async fn create_fresh_database(base_url: &str) -> Result<String, StoreError> {
    let options = PgConnectOptions::from_str(base_url)
        .map_err(|e| StoreError::Unavailable(format!("{} is not a valid PostgreSQL URL: {e}", redact(base_url))))?;
    let mut conn =
        options.connect().await.map_err(|e| StoreError::Unavailable(format!("{}: {e}", redact(base_url))))?;
    let name = format!("evident_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let (without_query, query) = match base_url.split_once('?') {
        Some((url, query)) => (url, format!("?{query}")),
        None => (base_url, String::new()),
    };
    let authority_end = without_query.find("://").map_or(0, |i| i + 3);
    let base = match without_query[authority_end..].find('/') {
        Some(slash) => &without_query[..authority_end + slash],
        None => without_query,
    };
    Ok(format!("{base}/{name}{query}"))
}

/// Drops a database made by [`create_fresh_database`], ending its connections first.
pub async fn drop_fresh_database(base_url: &str, url: &str) -> Result<(), StoreError> {
    let name = url.split('?').next().unwrap_or_default().rsplit('/').next().unwrap_or_default();
    let ours = name.starts_with("evident_test_") && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ours {
        return Err(StoreError::Unavailable(format!("{name:?} was not made by create_fresh_database")));
    }
    let options = PgConnectOptions::from_str(base_url)
        .map_err(|e| StoreError::Unavailable(format!("{} is not a valid PostgreSQL URL: {e}", redact(base_url))))?;
    let mut conn =
        options.connect().await.map_err(|e| StoreError::Unavailable(format!("{}: {e}", redact(base_url))))?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    Ok(())
}

/// A fresh database that is dropped when this guard is, for tests. Dropping blocks on a thread of
/// its own, so it works inside and outside an async runtime.
#[derive(Debug)]
pub struct FreshDatabase {
    base_url: String,
    pub url: String,
}

impl FreshDatabase {
    pub async fn create(base_url: &str) -> Result<Self, StoreError> {
        Ok(Self { base_url: base_url.to_owned(), url: create_fresh_database(base_url).await? })
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let (base, url) = (self.base_url.clone(), self.url.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(drop_fresh_database(&base, &url)).ok()
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop the test database {}", redact(&self.url));
        }
    }
}

/// The URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    match (rest.find('@'), rest.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!("{}{}:***{}", &url[..scheme_end], &rest[..colon], &rest[at..]),
        _ => url.to_owned(),
    }
}

mod shared {
    use super::PostgresStore as Backend;
    type Db = sqlx::Postgres;
    type DbRow = sqlx::postgres::PgRow;
    include!("../../evident-store/sql/shared.rs");
}
