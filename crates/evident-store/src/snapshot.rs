//! A whole database copied out and loaded back: what `evident backup` and `evident restore` stand
//! on.
//!
//! A snapshot is every table of the database (but sqlx's own `_sqlx_migrations`), each row one JSON
//! object on its own line, keyed by column name. [`Snapshot::export`] reads them all in one
//! consistent read (one moment of the database, whatever is written meanwhile) and streams them to
//! a [`SnapshotSink`], a row at a time: memory is bounded by a row, not a table.
//! [`Snapshot::import`] loads them from a [`SnapshotSource`] into an empty database of the same
//! backend and schema version, in one transaction: the whole snapshot lands, or nothing does.
//!
//! The store is generic over its tables: it lists them, their columns and their foreign keys from
//! the database's own catalog, so a migration that adds a table or a column needs nothing here.
//! A snapshot is tied to its backend (column types and the text of times differ) and to its
//! schema version (the latest migration applied); importing it elsewhere is refused.

use async_trait::async_trait;
use evident_core::Sha256Digest;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A failure of whatever a snapshot is written to or read from (a file, a socket), passed
/// through [`SnapshotError::Outside`] as it is, so that its owner can recognise it.
pub type OutsideError = Box<dyn std::error::Error + Send + Sync>;

/// Which database a snapshot is of: a snapshot loads only into the same backend at the same
/// schema version, whose tables are these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSchema {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The latest schema migration applied.
    pub version: i64,
    /// The tables a snapshot holds, sorted by name.
    pub tables: Vec<String>,
}

/// What an export wrote or an import loaded: the schema and each table's row count, in the order
/// the tables were streamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSummary {
    pub schema: SnapshotSchema,
    pub tables: Vec<(String, u64)>,
}

impl SnapshotSummary {
    /// Rows in all tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, rows)| rows).sum()
    }
}

/// Why an export or an import failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The database failed or holds what it should not.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sink or the source failed: its own error, unchanged.
    #[error(transparent)]
    Outside(OutsideError),
    /// The target database already holds rows; a snapshot loads only into an empty one.
    #[error("the database is not empty: table {table} holds rows; a snapshot is restored only into an empty database")]
    NotEmpty { table: String },
    /// The snapshot is of another backend or schema version, or its tables are not this
    /// database's; the message says which.
    #[error("{0}")]
    Incompatible(String),
    /// A row of the snapshot is not a row of its table: not a JSON object, an unknown or missing
    /// column, a value of the wrong type. `row` counts from 1 within the table, as the source gave it.
    #[error("table {table}, row {row}: {reason}")]
    BadRow { table: String, row: u64, reason: String },
    /// Every row was read, and the database refused to load a table's rows (a duplicate key, a
    /// reference to a row the snapshot lacks).
    #[error("table {table} could not be loaded: {source}")]
    Load {
        table: String,
        #[source]
        source: StoreError,
    },
}

/// Where an export writes: told when each table begins and ends, and given each row between, as
/// one line of JSON (no newline).
#[async_trait]
pub trait SnapshotSink: Send {
    async fn begin_table(&mut self, table: &str) -> Result<(), OutsideError>;
    async fn row(&mut self, json: &str) -> Result<(), OutsideError>;
    async fn end_table(&mut self, table: &str, rows: u64) -> Result<(), OutsideError>;
}

/// What an import reads: each table in turn (`next_table`), then its rows one by one (`next_row`
/// until `None`). Every table of the schema must come exactly once, in any order.
#[async_trait]
pub trait SnapshotSource: Send {
    /// The next table, or `None` when the snapshot is done.
    async fn next_table(&mut self) -> Result<Option<String>, OutsideError>;
    /// The next row of the current table as one line of JSON, or `None` at its end.
    async fn next_row(&mut self) -> Result<Option<String>, OutsideError>;
}

/// A database as a whole: its schema, and every table out and back in. Both backends implement
/// it with the same SQL (`evident-store/sql/snapshot.rs`).
#[async_trait]
pub trait Snapshot: Send + Sync {
    /// The backend, schema version and tables of this database.
    async fn snapshot_schema(&self) -> Result<SnapshotSchema, StoreError>;

    /// Streams every table to `sink`, all read in one consistent read: a snapshot is one moment
    /// of the database, however many writers commit while it streams. Tables come in name order,
    /// each table's rows in primary-key order, so the same database exports the same bytes.
    async fn export(&self, sink: &mut dyn SnapshotSink) -> Result<SnapshotSummary, SnapshotError>;

    /// Loads a snapshot of `schema` into this database, which must hold no row at all: in one
    /// transaction, so that a refusal or a failure at any row leaves it empty.
    async fn import(
        &self,
        schema: &SnapshotSchema,
        source: &mut dyn SnapshotSource,
    ) -> Result<SnapshotSummary, SnapshotError>;
}

/// The table whose rows name evidence bytes (the blob store keeps the bytes under their digest).
pub const BLOB_TABLE: &str = "evidence";

/// The evidence bytes a snapshot row names, if its table is [`BLOB_TABLE`]: their digest and
/// size. A backup copies these blobs beside the tables, so that restored records never point at
/// bytes the evidence store lacks.
pub fn blob_named(table: &str, json: &str) -> Result<Option<(Sha256Digest, u64)>, StoreError> {
    if table != BLOB_TABLE {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Named {
        digest: String,
        size: u64,
    }
    let named: Named = serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("{BLOB_TABLE}: a row does not name its bytes: {e}")))?;
    let digest =
        Sha256Digest::parse(&named.digest).map_err(|e| StoreError::Corrupt(format!("{BLOB_TABLE}.digest: {e}")))?;
    Ok(Some((digest, named.size)))
}
