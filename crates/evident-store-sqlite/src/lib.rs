//! The evident store on SQLite: the embedded default, one file in the data directory.
//!
//! Connection model: WAL, a pool of read connections beside one writer connection. Every write
//! transaction begins with `BEGIN IMMEDIATE`, which takes the database's write lock before its
//! first read: a deferred transaction that reads and then writes has to upgrade its lock, and
//! SQLite refuses that upgrade at once (`database is locked`) instead of waiting on the busy
//! timeout. So a second writer, in this process or another one, waits its turn.
#![forbid(unsafe_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use evident_store::StoreError;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Read connections kept open at most; readers never block each other or the writer in WAL mode.
const READERS: u32 = 4;

/// How long a writer waits for another (in this process or another one) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// SQLite in WAL mode with foreign keys on: a pool of readers and a pool of one writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: sqlx::SqlitePool,
    writer: sqlx::SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date. Several
    /// processes may open a fresh file at once: they create and migrate it one after another.
    ///
    /// A database whose schema is already current is opened with one read connection and no
    /// lock: most commands only read, and a read-only data directory still serves them. The
    /// writer connects on the first write.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);
        let readers = || {
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .acquire_timeout(BUSY_TIMEOUT)
                .connect_with(options.clone().read_only(true))
        };
        let reader = match path.exists() {
            true => {
                let reader = readers().await.map_err(|e| open_error(path, e))?;
                if !schema_current(&reader, path).await? {
                    set_up(path, &options).await?;
                }
                reader
            }
            false => {
                set_up(path, &options).await?;
                readers().await.map_err(|e| open_error(path, e))?
            }
        };
        // WAL is a property of the file now; the pools never switch journal modes, which is the
        // one step SQLite cannot wait for.
        let writer =
            SqlitePoolOptions::new().max_connections(1).acquire_timeout(BUSY_TIMEOUT).connect_lazy_with(options);
        Ok(Self { reader, writer })
    }

    /// The migrations this backend applies, by version and description.
    pub fn migrations() -> Vec<(i64, String)> {
        MIGRATOR.iter().map(|m| (m.version, m.description.to_string())).collect()
    }

    fn reader(&self) -> &sqlx::SqlitePool {
        &self.reader
    }

    /// Where the read models of `Derived` are written: one autocommit statement, which takes the
    /// write lock as it starts (no lock to upgrade).
    fn derived_writer(&self) -> &sqlx::SqlitePool {
        &self.writer
    }

    // Writes go through `begin_write`; raw statements (tests that tamper on purpose) use the pool.
    #[cfg(feature = "testkit")]
    fn writer(&self) -> &sqlx::SqlitePool {
        &self.writer
    }

    /// A write transaction that holds the database's write lock from its first statement.
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }
}

/// Creates the file if needed, switches it to WAL and applies the migrations it lacks, holding
/// the set-up lock ([`lock_for_setup`]).
async fn set_up(path: &Path, options: &SqliteConnectOptions) -> Result<(), StoreError> {
    let setup_lock = lock_for_setup(path).await?;
    create_private(path)?;
    let setup = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone().journal_mode(SqliteJournalMode::Wal))
        .await
        .map_err(|e| open_error(path, e))?;
    refuse_foreign_database(&setup, path).await?;
    MIGRATOR.run(&setup).await.map_err(|e| migration_error(path, e))?;
    setup.close().await;
    drop(setup_lock);
    Ok(())
}

/// Whether the database has every migration of this build applied, unchanged, and no other: then
/// it needs no set-up. Anything else (a new file, an older schema, a newer or foreign one) goes
/// through [`set_up`], which migrates or says what is wrong.
async fn schema_current(reader: &sqlx::SqlitePool, path: &Path) -> Result<bool, StoreError> {
    let applied: Vec<(i64, Vec<u8>, bool)> =
        match sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(reader)
            .await
        {
            Ok(applied) => applied,
            Err(e) if matches!(sqlite_code(&e), Some(SQLITE_NOTADB | SQLITE_CORRUPT)) => {
                return Err(open_error(path, e));
            }
            // No migrations table yet: a new (or foreign) database.
            Err(_) => return Ok(false),
        };
    Ok(sql::common::migrations_current(&MIGRATOR, &applied))
}

/// Takes an exclusive OS lock on `<database>.lock` for creating, switching to WAL and migrating
/// the database, so that processes opening a fresh data directory at once do it in turn.
///
/// Why a lock file rather than `BEGIN EXCLUSIVE`: switching a new database into WAL needs an
/// exclusive lock that SQLite does not wait for (the busy timeout does not apply to it) and that
/// cannot be taken inside a transaction, so a SQLite transaction cannot cover that step. The
/// lock is released when the returned file is dropped (or the process ends).
async fn lock_for_setup(path: &Path) -> Result<File, StoreError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let locked = tokio::task::spawn_blocking(move || {
        let file = open_private(&lock_path)?;
        // Called by path: std has an inherent `File::lock` of its own from Rust 1.89.
        fs4::FileExt::lock(&file)?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| StoreError::Unexpected(Box::new(e)))?;
    locked.map_err(|e| StoreError::Unavailable(format!("cannot lock {}.lock: {e}", path.display())))
}

/// Creates the database file readable and writable by its owner only, unless it exists. SQLite
/// gives its `-wal` and `-shm` files the permissions of the database file.
fn create_private(path: &Path) -> Result<(), StoreError> {
    open_private(path).map(drop).map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", path.display())))
}

fn open_private(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// A SQLite file of another program would be migrated into a mix of both; refuse it instead.
async fn refuse_foreign_database(setup: &sqlx::SqlitePool, path: &Path) -> Result<(), StoreError> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .fetch_all(setup)
            .await
            .map_err(|e| open_error(path, e))?;
    if !tables.is_empty() && !tables.iter().any(|t| t == "_sqlx_migrations") {
        return Err(StoreError::Corrupt(format!(
            "{} is not an evident database: it is a SQLite database of another program",
            path.display()
        )));
    }
    Ok(())
}

/// SQLite's primary result code of a driver error, if it is one.
fn sqlite_code(error: &sqlx::Error) -> Option<i64> {
    match error {
        sqlx::Error::Database(db) => db.code()?.parse::<i64>().ok().map(|code| code & 0xff),
        _ => None,
    }
}

const SQLITE_BUSY: i64 = 5;
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_NOTADB: i64 = 26;

/// What went wrong opening the file, in our words; the driver's text stays in the source chain.
fn open_error(path: &Path, error: sqlx::Error) -> StoreError {
    let path = path.display();
    match sqlite_code(&error) {
        Some(SQLITE_NOTADB | SQLITE_CORRUPT) => StoreError::Corrupt(format!(
            "{path} is not an evident database: it is not a SQLite database file, or it is damaged"
        )),
        Some(SQLITE_BUSY) => {
            StoreError::Unavailable(format!("{path} stayed locked by another program for {} s", BUSY_TIMEOUT.as_secs()))
        }
        Some(SQLITE_CANTOPEN) => {
            StoreError::Unavailable(format!("cannot open {path}: check that it is readable and writable"))
        }
        _ => match error {
            sqlx::Error::Io(e) => StoreError::Unavailable(format!("cannot open {path}: {e}")),
            other => StoreError::Unexpected(Box::new(OpenFailed { path: path.to_string(), source: other })),
        },
    }
}

fn migration_error(path: &Path, error: MigrateError) -> StoreError {
    match error {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => match open_error(path, e) {
            StoreError::Unexpected(_) => {
                StoreError::Migration(format!("{}: a schema migration failed", path.display()))
            }
            mapped => mapped,
        },
        // Applied migrations that this build does not know, or whose text changed: the file was
        // written by another version of evident.
        MigrateError::VersionMissing(version) | MigrateError::VersionMismatch(version) => {
            StoreError::Migration(format!(
                "{} was prepared by another version of evident (schema migration {version} differs)",
                path.display()
            ))
        }
        MigrateError::Dirty(version) => StoreError::Migration(format!(
            "{}: schema migration {version} was interrupted; restore the file from a backup",
            path.display()
        )),
        other => StoreError::Migration(format!("{}: {other}", path.display())),
    }
}

/// An open failure we have no better words for.
#[derive(Debug)]
struct OpenFailed {
    path: String,
    source: sqlx::Error,
}

impl std::fmt::Display for OpenFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot open the database {}", self.path)
    }
}

impl std::error::Error for OpenFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

// What the shared SQL (`evident-store/sql/`, compiled here as the module `sql`) needs to know
// about this backend.
use SqliteStore as Backend;
type Db = sqlx::Sqlite;
type DbRow = sqlx::sqlite::SqliteRow;
/// SQLite has no row locks: `BEGIN IMMEDIATE` already holds the database's write lock.
const FOR_UPDATE: &str = "";

#[path = "../../evident-store/sql/mod.rs"]
mod sql;
