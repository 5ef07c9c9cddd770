//! The evident store on PostgreSQL, for installations that run several instances.
//!
//! A database URL is shown only through [`redact`] (or [`DatabaseUrl`]'s `Display`), which hides
//! the password wherever the URL carries it: in the user info, in a `password` parameter, or
//! percent-encoded in either.
#![forbid(unsafe_code)]

use std::time::Duration;

use evident_store::StoreError;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use url::Url;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long opening waits for the pool's first connection before asking the server directly why
/// it has none.
const FIRST_CONNECT: Duration = Duration::from_millis(500);

/// How the store connects: the size of its connection pool and how long a request waits for a
/// free connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    pool_size: u32,
    acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self { pool_size: 8, acquire_timeout: Duration::from_secs(30) }
    }
}

impl PostgresOptions {
    /// Connections this instance keeps open at most (8 by default; at least 1).
    pub fn pool_size(self, pool_size: u32) -> Self {
        Self { pool_size, ..self }
    }

    /// How long a request waits for a free connection before the store reports the database
    /// unavailable (30 s by default).
    pub fn acquire_timeout(self, acquire_timeout: Duration) -> Self {
        Self { acquire_timeout, ..self }
    }
}

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: sqlx::PgPool,
}

impl PostgresStore {
    /// Connects with the default [`PostgresOptions`] and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects and brings the schema up to date. Migrations take an advisory lock, so several
    /// instances starting at once do not race.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let url = DatabaseUrl::parse(url)?;
        if options.pool_size == 0 {
            return Err(StoreError::Unavailable("the connection pool size must be at least 1".into()));
        }
        let connect = url.connect_options()?;
        let pool = PgPoolOptions::new()
            .max_connections(options.pool_size)
            .acquire_timeout(options.acquire_timeout)
            .connect_lazy_with(connect.clone());
        // The pool's first connection checks the schema and then serves the reads: one
        // connection, where a separate probe cost a second one on every command. The pool retries
        // an unreachable server until its acquire timeout; if the first connection is not there
        // within FIRST_CONNECT, one direct attempt says why, in our words (or, if the server
        // answers it, the pool is given its full timeout).
        let acquire = pool.acquire();
        tokio::pin!(acquire);
        let mut first = match tokio::time::timeout(FIRST_CONNECT, &mut acquire).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(_)) | Err(_) => {
                let direct = connect.connect().await.map_err(|e| connect_error(&url, e))?;
                let _ = direct.close().await;
                acquire.await.map_err(|e| connect_error(&url, e))?
            }
        };
        // A schema already current needs no migration run (its advisory lock and several round
        // trips): one query says so.
        let current = schema_current(&mut first).await;
        drop(first);
        if !current {
            MIGRATOR.run(&pool).await.map_err(|e| migration_error(&url, e))?;
        }
        Ok(Self { pool })
    }

    pub fn migrations() -> Vec<(i64, String)> {
        MIGRATOR.iter().map(|m| (m.version, m.description.to_string())).collect()
    }

    fn reader(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// Where the read models of `Derived` are written: one autocommit statement.
    fn derived_writer(&self) -> &sqlx::PgPool {
        &self.pool
    }

    // Writes go through `begin_write`; raw statements (tests that tamper on purpose) use the pool.
    #[cfg(feature = "testkit")]
    fn writer(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// A write transaction; `apply` locks the organisation's row as its first statement.
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.pool.begin().await
    }
}

/// Whether the database has every migration of this build applied, unchanged, and no other.
/// Anything else (a new database, an older schema, a newer one) goes through the migrator, which
/// migrates or says what is wrong.
async fn schema_current(connection: &mut sqlx::PgConnection) -> bool {
    let applied: Vec<(i64, Vec<u8>, bool)> =
        match sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *connection)
            .await
        {
            Ok(applied) => applied,
            Err(_) => return false,
        };
    sql::common::migrations_current(&MIGRATOR, &applied)
}

/// A PostgreSQL URL that names its database. `Display` and `Debug` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: Url,
    database: String,
}

impl DatabaseUrl {
    /// Parses `postgres://user:password@host:port/database?parameters`. Refuses a URL that names
    /// no database (the server would pick one by the user's name) and never echoes the input.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let url = Url::parse(text).map_err(|_| {
            StoreError::Unavailable(
                "the database URL cannot be parsed: expected postgres://user:password@host:port/database".into(),
            )
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(StoreError::Unavailable(format!(
                "the database URL {} is not a PostgreSQL URL: it must start with postgres://",
                redact_url(&url)
            )));
        }
        let in_path = url.path().trim_start_matches('/');
        let in_query = url.query_pairs().find(|(key, _)| key == "dbname").map(|(_, value)| value.into_owned());
        let database = match (in_path, in_query) {
            (_, Some(name)) if !name.is_empty() => name,
            (path, _) if !path.is_empty() => percent_encoding::percent_decode_str(path)
                .decode_utf8()
                .map_err(|_| {
                    StoreError::Unavailable(format!("the database name in {} is not valid UTF-8", redact_url(&url)))
                })?
                .into_owned(),
            _ => {
                return Err(StoreError::Unavailable(format!(
                    "the database URL {} names no database: add one, as in postgres://host/evident",
                    redact_url(&url)
                )));
            }
        };
        Ok(Self { url, database })
    }

    /// The database it names.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The same server and credentials, another database.
    fn with_database(&self, database: &str) -> Self {
        let mut url = self.url.clone();
        url.set_path(&format!("/{database}"));
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| key != "dbname")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        Self { url, database: database.to_owned() }
    }

    fn connect_options(&self) -> Result<PgConnectOptions, StoreError> {
        PgConnectOptions::from_url(&self.url)
            .map_err(|_| StoreError::Unavailable(format!("{self} has a connection parameter that is not valid")))
    }

    /// The URL itself, password included, for handing on to a store; never for a message.
    pub fn expose(&self) -> &str {
        self.url.as_str()
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.url))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The URL with its password hidden, for messages: the password in the user info and every
/// query parameter whose name mentions a password become `***`. Text that does not parse as a
/// URL is not echoed at all, since it may hold a password in a form we cannot find.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(url) => redact_url(&url),
        Err(_) => "(a database URL that cannot be parsed)".to_owned(),
    }
}

fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        // Fails only for URLs that cannot carry a password at all, which then have none to hide.
        let _ = shown.set_password(Some("***"));
    }
    if shown.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let secret = key.to_ascii_lowercase().contains("password");
                (key.into_owned(), if secret { "***".to_owned() } else { value.into_owned() })
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

/// A PostgreSQL error's SQLSTATE, if the error came from the server.
fn sqlstate(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
        _ => None,
    }
}

/// Why a connection failed, in our words: the server's text never reaches the message.
fn connect_error(url: &DatabaseUrl, error: sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("{url}: {}", connect_failure(url, &error)))
}

fn connect_failure(url: &DatabaseUrl, error: &sqlx::Error) -> String {
    match (error, sqlstate(error).as_deref()) {
        (_, Some("28P01" | "28000")) => "the server refused the user name or password".to_owned(),
        (_, Some("3D000")) => format!("database {} does not exist", url.database()),
        (_, Some("53300")) => "the server has no free connection slots".to_owned(),
        (_, Some("57P03")) => "the server is starting up or shutting down".to_owned(),
        (_, Some("42501")) => "the user may not connect to this database".to_owned(),
        (sqlx::Error::Io(e), _) => e.to_string(),
        (sqlx::Error::PoolTimedOut, _) => "timed out connecting".to_owned(),
        (sqlx::Error::Tls(_), _) => "the TLS handshake failed".to_owned(),
        (sqlx::Error::Configuration(_), _) => "a connection parameter is not valid".to_owned(),
        _ => "the server refused the connection".to_owned(),
    }
}

fn migration_error(url: &DatabaseUrl, error: MigrateError) -> StoreError {
    let why = match &error {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) if sqlstate(e).as_deref() == Some("42501") => {
            "the user may not create the schema's tables".to_owned()
        }
        MigrateError::ExecuteMigration(_, version) => format!("schema migration {version} failed"),
        MigrateError::Execute(e) => return StoreError::Unavailable(format!("{url}: {}", connect_failure(url, e))),
        MigrateError::VersionMissing(version) | MigrateError::VersionMismatch(version) => {
            format!("the database was prepared by another version of evident (schema migration {version} differs)")
        }
        MigrateError::Dirty(version) => format!("schema migration {version} was interrupted"),
        other => other.to_string(),
    };
    StoreError::Migration(format!("{url}: {why}"))
}

/// Creates an empty database with a unique name next to the one `base_url` names, and returns
/// its URL. Tests use it to give every story a fresh database.
pub async fn create_fresh_database(base_url: &str) -> Result<String, StoreError> {
    let base = DatabaseUrl::parse(base_url)?;
    let name = format!("evident_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = base.connect_options()?.connect().await.map_err(|e| connect_error(&base, e))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| StoreError::Unavailable(format!("{base}: cannot create a database: {}", refusal(&e))))?;
    let _ = conn.close().await;
    Ok(base.with_database(&name).expose().to_owned())
}

/// Drops a database made by [`create_fresh_database`], ending its connections first.
pub async fn drop_fresh_database(base_url: &str, url: &str) -> Result<(), StoreError> {
    let base = DatabaseUrl::parse(base_url)?;
    let fresh = DatabaseUrl::parse(url)?;
    let name = fresh.database();
    let ours = name.starts_with("evident_test_") && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ours {
        return Err(StoreError::Unavailable(format!("{name:?} was not made by create_fresh_database")));
    }
    let mut conn = base.connect_options()?.connect().await.map_err(|e| connect_error(&base, e))?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .map_err(|e| StoreError::Unavailable(format!("{base}: cannot drop database {name}: {}", refusal(&e))))?;
    let _ = conn.close().await;
    Ok(())
}

/// Why the server refused a statement of ours, in our words.
fn refusal(error: &sqlx::Error) -> &'static str {
    match sqlstate(error).as_deref() {
        Some("42501") => "the user lacks the privilege",
        Some(_) => "the server refused",
        None => "the connection failed",
    }
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

// What the shared SQL (`evident-store/sql/`, compiled here as the module `sql`) needs to know
// about this backend.
use PostgresStore as Backend;
type Db = sqlx::Postgres;
type DbRow = sqlx::postgres::PgRow;
/// Locks the organisation's row, so writers to one organisation take turns from their first read.
const FOR_UPDATE: &str = " FOR UPDATE";

#[path = "../../evident-store/sql/mod.rs"]
mod sql;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use super::{FreshDatabase, PostgresStore};

    /// The store refuses NUL in text before PostgreSQL sees it; should some path not, the
    /// server's refusal (SQLSTATE 22021) still reaches the user in our words.
    #[tokio::test]
    async fn a_nul_refused_by_the_server_is_told_in_our_words() {
        let Some(base) = evident_store::testkit::postgres_url() else { return };
        let database = FreshDatabase::create(&base).await.unwrap();
        let store = PostgresStore::connect(&database.url).await.unwrap();
        let refused = sqlx::query("SELECT $1::text").bind("Back\0ups").execute(&store.pool).await.unwrap_err();
        assert!(refused.to_string().contains("0x00"), "the server refuses it: {refused}");
        let error = super::sql::common::map_sqlx(refused);
        assert!(matches!(error, evident_store::StoreError::Invalid(_)), "{error:?}");
        assert_eq!(error.to_string(), "text contains a NUL character (0x00), which cannot be stored");
    }
}
