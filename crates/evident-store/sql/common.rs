//! What every aggregate's SQL uses: reading columns into domain types, the dialect's one
//! difference in a query, the organisation lock, and driver errors in our words.

use chrono::{DateTime, Utc};
use evident_core::audit::ChainHead;
use evident_core::{OrgId, Sha256Digest};
use evident_store::{Applied, Result, StoreError};
use sqlx::Row;

use crate::{Db, DbRow, FOR_UPDATE};

pub(super) type Tx<'a> = sqlx::Transaction<'a, Db>;

/// What one change did: its audit record's before and after images (JSON), none when it changed
/// nothing (then it has no audit record), and what `apply` reports for it.
pub(super) struct Outcome {
    pub(super) images: Option<(Option<String>, Option<String>)>,
    pub(super) applied: Applied,
}

impl Outcome {
    /// Nothing was written: the change would leave everything as it is.
    pub(super) fn unchanged() -> Self {
        Self { images: None, applied: Applied::Unchanged }
    }

    pub(super) fn changed(before: Option<String>, after: Option<String>) -> Self {
        Self { images: Some((before, after)), applied: Applied::Changed }
    }

    /// The same, reporting more than that it changed (a new id, a version number).
    pub(super) fn reporting(self, applied: Applied) -> Self {
        Self { applied, ..self }
    }
}

/// Whether `applied` (version, checksum, success of each row of `_sqlx_migrations`, by version)
/// is exactly `migrator`'s migrations, each applied unchanged: then opening needs no migration run.
pub(crate) fn migrations_current(migrator: &sqlx::migrate::Migrator, applied: &[(i64, Vec<u8>, bool)]) -> bool {
    let known: Vec<_> = migrator.iter().filter(|m| !m.migration_type.is_down_migration()).collect();
    applied.len() == known.len()
        && applied.iter().zip(&known).all(|((version, checksum, success), m)| {
            *success && *version == m.version && checksum.as_slice() == &*m.checksum
        })
}

pub(super) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Reads a column and parses it into a domain type, naming the table and column when stored data is bad.
pub(super) fn parsed<T, E: std::fmt::Display>(
    row: &DbRow,
    table: &str,
    column: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<T> {
    let text: String = row.try_get(column).map_err(map_sqlx)?;
    parse(&text).map_err(|e| StoreError::Corrupt(format!("{table}.{column}: {e}")))
}

pub(super) fn parsed_opt<T, E: std::fmt::Display>(
    row: &DbRow,
    table: &str,
    column: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<Option<T>> {
    let text: Option<String> = row.try_get(column).map_err(map_sqlx)?;
    text.map(|t| parse(&t).map_err(|e| StoreError::Corrupt(format!("{table}.{column}: {e}")))).transpose()
}

pub(super) fn get<'r, T: sqlx::Decode<'r, Db> + sqlx::Type<Db>>(row: &'r DbRow, column: &str) -> Result<T> {
    row.try_get(column).map_err(map_sqlx)
}

/// An aggregate that returns the selected rows as one JSON array of arrays (text), in the SQL of
/// this backend: the only place the two dialects differ in a query.
pub(super) fn json_rows(columns: &str) -> String {
    if <Db as sqlx::Database>::NAME == "SQLite" {
        format!("json_group_array(json_array({columns}))")
    } else {
        format!("COALESCE(json_agg(json_build_array({columns})), '[]'::json)::text")
    }
}

/// A time as either backend writes it as text: `2026-03-01 09:30:00.123456+00:00` (SQLite, and
/// PostgreSQL's `timestamptz::text` with `+00`) or RFC 3339.
pub(super) fn parse_time(text: &str) -> std::result::Result<DateTime<Utc>, chrono::ParseError> {
    let text = text.replacen(' ', "T", 1);
    let text = if text.len() > 3 && text.as_bytes()[text.len() - 3] == b'+' { format!("{text}:00") } else { text };
    DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc))
}

pub(super) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Unexpected(Box::new(e)))
}

/// Locks the organisation for the rest of the write transaction and reads its chain head: the row
/// lock on PostgreSQL (`FOR UPDATE`); on SQLite, `BEGIN IMMEDIATE` already holds the write lock.
/// It is the transaction's first statement, so every precondition `apply_one` reads afterwards
/// stays true until the commit: writers to one organisation take turns, never interleave.
pub(super) async fn lock_org(tx: &mut Tx<'_>, org: &OrgId) -> Result<ChainHead> {
    let sql = format!("SELECT audit_head_seq, audit_head_hash FROM organisations WHERE id = $1{FOR_UPDATE}");
    let head = sqlx::query(&sql)
        .bind(org.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?
        .ok_or_else(|| StoreError::not_found("organisation", org))?;
    Ok(ChainHead {
        seq: get(&head, "audit_head_seq")?,
        hash: parsed(&head, "organisations", "audit_head_hash", Sha256Digest::parse)?,
    })
}

/// Turns a driver error into what the user can act on. The message is always ours: the driver's
/// text (table and constraint names, SQLSTATEs, "database is locked") stays in the `source()`
/// chain of `Unexpected`, for logs, and never reaches what a user reads.
pub(crate) fn map_sqlx(error: sqlx::Error) -> StoreError {
    use sqlx::error::ErrorKind;
    let sqlite = <Db as sqlx::Database>::NAME == "SQLite";
    match &error {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // SQLite's extended result codes carry the primary one in their low byte.
            let sqlite_primary = if sqlite { code.parse::<i64>().ok().map(|c| c & 0xff) } else { None };
            match (db.kind(), code.as_str(), sqlite_primary) {
                (ErrorKind::UniqueViolation, _, _) => {
                    let (what, key) = clash(db.as_ref());
                    StoreError::Conflict { what, key: key.to_owned() }
                }
                (ErrorKind::ForeignKeyViolation, _, _) => {
                    StoreError::NotFound { what: "the record", key: "this change refers to".to_owned() }
                }
                // PostgreSQL's character_not_in_repertoire: a NUL character in text.
                (_, "22021", None) => {
                    StoreError::Invalid("text contains a NUL character (0x00), which cannot be stored".to_owned())
                }
                // PostgreSQL: lock_not_available, deadlock_detected, serialization_failure.
                (_, "55P03" | "40P01" | "40001", None) => {
                    StoreError::Unavailable("the database was busy with another write; try again".to_owned())
                }
                // SQLite: SQLITE_BUSY, SQLITE_LOCKED.
                (_, _, Some(5 | 6)) => StoreError::Unavailable(
                    "the database stayed locked by another writer past the busy timeout; try again".to_owned(),
                ),
                // SQLite: SQLITE_CORRUPT, SQLITE_NOTADB.
                (_, _, Some(11 | 26)) => {
                    StoreError::Corrupt("the database file is damaged or is not an evident database".to_owned())
                }
                _ => StoreError::Unexpected(Box::new(DatabaseFailure(error))),
            }
        }
        sqlx::Error::Io(e) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Tls(_) => StoreError::Unavailable("the TLS connection failed".into()),
        sqlx::Error::PoolTimedOut => StoreError::Unavailable("timed out waiting for a connection".into()),
        sqlx::Error::PoolClosed => StoreError::Unavailable("the connection pool is closed".into()),
        sqlx::Error::ColumnDecode { index, .. } => {
            StoreError::Corrupt(format!("column {index} holds a value of the wrong type"))
        }
        sqlx::Error::ColumnNotFound(column) => StoreError::Corrupt(format!("column {column} is missing")),
        _ => StoreError::Unexpected(Box::new(DatabaseFailure(error))),
    }
}

/// What a unique violation is about, in our words: a noun and the key it clashes on, chosen by the
/// table it happened in. PostgreSQL names the table; SQLite's message names `table.column`s or
/// `index 'name'`, and our index names begin with their table's. Only our words are returned.
fn clash(db: &dyn sqlx::error::DatabaseError) -> (&'static str, &'static str) {
    const SUBJECTS: [(&str, &str, &str); 19] = [
        ("organisations", "organisation", "with this slug"),
        ("users", "user", "with this e-mail"),
        ("memberships", "member", "with this e-mail"),
        ("controls", "control", "with this code"),
        ("mappings", "mapping", "of this control to this requirement"),
        ("adoptions", "adoption", "of this framework"),
        ("soa_decisions", "SoA decision", "for this requirement"),
        ("soa_versions", "SoA version", "with this number"),
        ("risk_methodologies", "methodology version", "with this number"),
        ("assets", "asset", "with this code"),
        ("risks", "risk", "with this code"),
        ("risk_assets", "asset link", "of this risk"),
        ("risk_controls", "treating control", "of this risk"),
        ("risk_acceptances", "risk acceptance", "with this number"),
        ("audit_log", "audit record", "at this position"),
        ("accounts", "account", "for this e-mail"),
        ("sessions", "session", "with this id"),
        ("api_tokens", "token", "with this name"),
        ("installation_log", "installation audit record", "at this position"),
    ];
    let named = db
        .table()
        .or(db.constraint())
        .unwrap_or_else(|| db.message().split_once(": ").map_or("", |(_, named)| named))
        .trim_start_matches("index '");
    SUBJECTS
        .iter()
        .filter(|(table, ..)| named.starts_with(table))
        .max_by_key(|(table, ..)| table.len())
        .map_or(("record", "with the same key"), |&(_, what, key)| (what, key))
}

/// A driver error we have no words of our own for. It says only that; the driver's error is its
/// `source()`, for whoever logs the chain.
#[derive(Debug)]
struct DatabaseFailure(sqlx::Error);

impl std::fmt::Display for DatabaseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the database failed unexpectedly")
    }
}

impl std::error::Error for DatabaseFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
