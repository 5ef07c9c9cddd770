//! The whole database out and back in ([`evident_store::Snapshot`]), for backups.
//!
//! Generic over the tables: their names, columns, primary keys and foreign keys come from the
//! database's own catalog (`sqlite_master` and `pragma_table_info`; `pg_class` and `pg_attribute`
//! in the current schema), `_sqlx_migrations` excepted. A row is one JSON object keyed by column:
//! `json_object('col', col, …)` on SQLite, `row_to_json(t)` on PostgreSQL.
//!
//! Export reads every table in one read transaction: on SQLite a WAL reader sees one snapshot
//! from its first read to its end; on PostgreSQL `REPEATABLE READ READ ONLY` does the same.
//! Rows are streamed to the sink as the database returns them, never collected.
//!
//! Import is one write transaction: it refuses unless every table is empty (on PostgreSQL after
//! locking them all against writers), stages every row into a temporary table (one column of
//! JSON text, in batches), then fills each table with one `INSERT … SELECT` from the staging
//! table, in foreign-key order. Both databases check a foreign key that is not deferred at the
//! end of the statement, so rows that refer to rows of their own table (an asset's parent, the
//! evidence a record supersedes) load in any order.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use evident_store::snapshot::{
    OutsideError, Snapshot, SnapshotError, SnapshotSchema, SnapshotSink, SnapshotSource, SnapshotSummary,
};
use evident_store::{Result, StoreError};
use futures::TryStreamExt;
use serde_json::Value;

use super::common::map_sqlx;
use crate::{Backend, Db};

type Conn = <Db as sqlx::Database>::Connection;

/// Rows staged per statement at most, and the bytes of JSON at most (one row may exceed it).
const BATCH_ROWS: usize = 1_000;
const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// The staging table an import fills first; temporary, so only the importing connection sees it.
const STAGING: &str = "evident_restore_rows";

fn sqlite() -> bool {
    <Db as sqlx::Database>::NAME == "SQLite"
}

fn backend_name() -> &'static str {
    if sqlite() { "sqlite" } else { "postgres" }
}

/// What a value of a column may be in a row's JSON (besides `null`, which the database's own
/// NOT NULL constraints judge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    /// `true`/`false`, or 0/1 as SQLite stores them.
    Boolean,
    /// Text, and dates and times, which both backends write as text in JSON.
    Text,
    /// A type this code does not know: any single value, left to the database to judge.
    Other,
}

impl Kind {
    fn of(declared: &str) -> Kind {
        match declared.to_ascii_lowercase().as_str() {
            "integer" | "int" | "bigint" | "smallint" => Kind::Integer,
            "boolean" | "bool" => Kind::Boolean,
            "text" | "date" | "timestamp with time zone" | "timestamptz" | "character varying" | "varchar" => {
                Kind::Text
            }
            _ => Kind::Other,
        }
    }

    fn admits(self, value: &Value) -> bool {
        match (self, value) {
            (_, Value::Null) => true,
            (Kind::Integer, Value::Number(n)) => n.is_i64(),
            (Kind::Boolean, Value::Bool(_)) => true,
            (Kind::Boolean, Value::Number(n)) => matches!(n.as_i64(), Some(0 | 1)),
            (Kind::Text, Value::String(_)) => true,
            (Kind::Other, value) => !value.is_array() && !value.is_object(),
            _ => false,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Integer => "an integer",
            Kind::Boolean => "true or false",
            Kind::Text => "text",
            Kind::Other => "a single value",
        }
    }
}

#[derive(Debug)]
struct Column {
    name: String,
    kind: Kind,
    /// Its position in the primary key, from 1; 0 when it is not part of it.
    key: i64,
}

#[derive(Debug)]
struct Table {
    name: String,
    columns: Vec<Column>,
    /// The tables its foreign keys refer to (itself included, if it does).
    references: BTreeSet<String>,
}

/// The database's tables by name, and its schema version.
#[derive(Debug)]
struct Catalog {
    version: i64,
    tables: BTreeMap<String, Table>,
}

impl Catalog {
    async fn read(conn: &mut Conn) -> Result<Catalog> {
        let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .map_err(map_sqlx)?;
        let list = if sqlite() {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' \
             AND name <> '_sqlx_migrations'"
        } else {
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations'"
        };
        let names: Vec<String> = sqlx::query_scalar(list).fetch_all(&mut *conn).await.map_err(map_sqlx)?;
        let columns = if sqlite() {
            "SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid"
        } else {
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), \
             COALESCE(array_position(i.indkey::int2[], a.attnum) - array_lower(i.indkey::int2[], 1) + 1, 0)::bigint \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
             WHERE n.nspname = current_schema() AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum"
        };
        let references = if sqlite() {
            "SELECT \"table\" FROM pragma_foreign_key_list($1)"
        } else {
            "SELECT r.relname::text FROM pg_constraint f JOIN pg_class c ON c.oid = f.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class r ON r.oid = f.confrelid \
             WHERE f.contype = 'f' AND n.nspname = current_schema() AND c.relname = $1"
        };
        let mut tables = BTreeMap::new();
        for name in names {
            let found: Vec<(String, String, i64)> =
                sqlx::query_as(columns).bind(&name).fetch_all(&mut *conn).await.map_err(map_sqlx)?;
            let columns = found
                .into_iter()
                .map(|(name, declared, key)| Column { name, kind: Kind::of(&declared), key })
                .collect();
            let references: Vec<String> =
                sqlx::query_scalar(references).bind(&name).fetch_all(&mut *conn).await.map_err(map_sqlx)?;
            tables.insert(name.clone(), Table { name, columns, references: references.into_iter().collect() });
        }
        Ok(Catalog { version, tables })
    }

    fn schema(&self) -> SnapshotSchema {
        SnapshotSchema {
            backend: backend_name().to_owned(),
            version: self.version,
            tables: self.tables.keys().cloned().collect(),
        }
    }

    /// The tables in an order where each comes after every table its foreign keys refer to
    /// (references to itself aside); among those free to come next, by name.
    fn load_order(&self) -> Result<Vec<&Table>> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut order = Vec::with_capacity(self.tables.len());
        while order.len() < self.tables.len() {
            let next = self.tables.values().find(|t| {
                !done.contains(t.name.as_str())
                    && t.references.iter().all(|r| r == &t.name || done.contains(r.as_str()))
            });
            let Some(next) = next else {
                let left: Vec<&str> = self.tables.keys().map(String::as_str).filter(|t| !done.contains(t)).collect();
                return Err(StoreError::Corrupt(format!(
                    "the foreign keys of tables {} refer to each other in a cycle, or to a table that does not exist",
                    left.join(", ")
                )));
            };
            done.insert(&next.name);
            order.push(next);
        }
        Ok(order)
    }
}

/// An identifier, quoted for both dialects.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal for both dialects.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The statement that reads a table as one JSON object per row, in primary-key order.
fn export_sql(table: &Table) -> String {
    let mut key: Vec<&Column> = table.columns.iter().filter(|c| c.key > 0).collect();
    key.sort_by_key(|c| c.key);
    // A table without a primary key is ordered by every column: the same rows, the same bytes.
    let order: Vec<String> = if key.is_empty() {
        table.columns.iter().map(|c| ident(&c.name)).collect()
    } else {
        key.iter().map(|c| ident(&c.name)).collect()
    };
    let object = if sqlite() {
        let pairs: Vec<String> =
            table.columns.iter().map(|c| format!("{}, {}", literal(&c.name), ident(&c.name))).collect();
        format!("json_object({})", pairs.join(", "))
    } else {
        "row_to_json(t)::text".to_owned()
    };
    format!("SELECT {object} FROM {} t ORDER BY {}", ident(&table.name), order.join(", "))
}

/// The statement that fills a table from its staged rows.
fn load_sql(table: &Table) -> String {
    let name = ident(&table.name);
    if sqlite() {
        let columns: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
        let values: Vec<String> = table
            .columns
            .iter()
            .map(|c| format!("json_extract(line, {})", literal(&format!("$.{}", ident(&c.name)))))
            .collect();
        format!(
            "INSERT INTO {name} ({}) SELECT {} FROM {STAGING} WHERE tbl = $1",
            columns.join(", "),
            values.join(", ")
        )
    } else {
        format!(
            "INSERT INTO {name} SELECT r.* FROM {STAGING} s CROSS JOIN LATERAL json_populate_record(NULL::{name}, s.line::json) r \
             WHERE s.tbl = $1"
        )
    }
}

/// The statement that stages a batch: `$2` is a JSON array of row objects.
fn stage_sql() -> String {
    if sqlite() {
        format!("INSERT INTO {STAGING} (tbl, line) SELECT $1, value FROM json_each($2)")
    } else {
        format!("INSERT INTO {STAGING} (tbl, line) SELECT $1, value::text FROM json_array_elements($2::json)")
    }
}

/// Checks that a line is a row of `table`: a JSON object with exactly its columns, each holding
/// a value of its column's kind.
fn check_row(table: &Table, row: u64, line: &str) -> Result<(), SnapshotError> {
    let bad = |reason: String| SnapshotError::BadRow { table: table.name.clone(), row, reason };
    let object: serde_json::Map<String, Value> = match serde_json::from_str(line) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(bad("not a JSON object".to_owned())),
        Err(e) => return Err(bad(format!("not JSON: {e}"))),
    };
    for column in &table.columns {
        match object.get(&column.name) {
            None => return Err(bad(format!("the column {} is missing", column.name))),
            Some(value) if !column.kind.admits(value) => {
                return Err(bad(format!("the column {} must hold {}", column.name, column.kind.expected())));
            }
            Some(_) => {}
        }
    }
    if object.len() != table.columns.len() {
        let unknown = object.keys().find(|k| !table.columns.iter().any(|c| &c.name == *k));
        return Err(bad(format!("the table has no column {}", unknown.map_or("", String::as_str))));
    }
    Ok(())
}

fn outside(error: OutsideError) -> SnapshotError {
    SnapshotError::Outside(error)
}

/// Rows of one table on their way to the staging table, a batch at a time.
struct Batch {
    json: String,
    rows: usize,
}

impl Batch {
    fn new() -> Self {
        Batch { json: String::new(), rows: 0 }
    }

    fn push(&mut self, line: &str) {
        self.json.push(if self.rows == 0 { '[' } else { ',' });
        self.json.push_str(line);
        self.rows += 1;
    }

    fn full(&self) -> bool {
        self.rows >= BATCH_ROWS || self.json.len() >= BATCH_BYTES
    }

    async fn flush(&mut self, conn: &mut Conn, table: &str) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        self.json.push(']');
        sqlx::query(&stage_sql()).bind(table).bind(&self.json).execute(&mut *conn).await.map_err(map_sqlx)?;
        self.json.clear();
        self.rows = 0;
        Ok(())
    }
}

#[async_trait]
impl Snapshot for Backend {
    async fn snapshot_schema(&self) -> Result<SnapshotSchema> {
        let mut conn = self.reader().acquire().await.map_err(map_sqlx)?;
        Ok(Catalog::read(&mut conn).await?.schema())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn export(&self, sink: &mut dyn SnapshotSink) -> Result<SnapshotSummary, SnapshotError> {
        // SQLite: a deferred transaction on a WAL reader; its first read (the catalog's) fixes
        // the snapshot every later statement sees.
        let begin = if sqlite() { "BEGIN" } else { "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" };
        let mut tx = self.reader().begin_with(begin).await.map_err(map_sqlx)?;
        if !sqlite() {
            // Times are written in UTC whatever the server's or the session's time zone: the same
            // database exports the same bytes.
            sqlx::query("SET LOCAL TIME ZONE 'UTC'").execute(&mut *tx).await.map_err(map_sqlx)?;
        }
        let catalog = Catalog::read(&mut tx).await?;
        let mut counts = Vec::with_capacity(catalog.tables.len());
        for table in catalog.tables.values() {
            sink.begin_table(&table.name).await.map_err(outside)?;
            let sql = export_sql(table);
            let mut rows = sqlx::query_scalar::<_, String>(&sql).fetch(&mut *tx);
            let mut count = 0u64;
            while let Some(line) = rows.try_next().await.map_err(map_sqlx)? {
                sink.row(&line).await.map_err(outside)?;
                count += 1;
            }
            drop(rows);
            sink.end_table(&table.name, count).await.map_err(outside)?;
            counts.push((table.name.clone(), count));
        }
        tx.commit().await.map_err(map_sqlx)?;
        Ok(SnapshotSummary { schema: catalog.schema(), tables: counts })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn import(
        &self,
        schema: &SnapshotSchema,
        source: &mut dyn SnapshotSource,
    ) -> Result<SnapshotSummary, SnapshotError> {
        let mut tx = self.begin_write().await.map_err(map_sqlx)?;
        let catalog = Catalog::read(&mut tx).await?;
        let ours = catalog.schema();
        if schema.backend != ours.backend {
            return Err(SnapshotError::Incompatible(format!(
                "the snapshot is of a {} database and this one is {}: a snapshot is restored into the backend it was taken from",
                schema.backend, ours.backend
            )));
        }
        if schema.version != ours.version {
            return Err(SnapshotError::Incompatible(format!(
                "the snapshot is of schema version {} and this database is at version {}: restore it with the version of evident that took it",
                schema.version, ours.version
            )));
        }
        if schema.tables != ours.tables {
            return Err(SnapshotError::Incompatible(format!(
                "the snapshot's tables ({}) are not this database's ({})",
                schema.tables.join(", "),
                ours.tables.join(", ")
            )));
        }
        if !sqlite() {
            // No writer may add a row between the check that the tables are empty and the commit.
            let all: Vec<String> = catalog.tables.keys().map(|t| ident(t)).collect();
            sqlx::query(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", all.join(", ")))
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?;
        }
        for table in catalog.tables.values() {
            let any = sqlx::query(&format!("SELECT 1 FROM {} LIMIT 1", ident(&table.name)))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            if any.is_some() {
                return Err(SnapshotError::NotEmpty { table: table.name.clone() });
            }
        }

        sqlx::query(&format!("CREATE TEMPORARY TABLE {STAGING} (tbl TEXT NOT NULL, line TEXT NOT NULL)"))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let mut staged: BTreeMap<String, u64> = BTreeMap::new();
        let mut streamed = Vec::with_capacity(catalog.tables.len());
        while let Some(name) = source.next_table().await.map_err(outside)? {
            let Some(table) = catalog.tables.get(&name) else {
                return Err(SnapshotError::Incompatible(format!("this database has no table {name}")));
            };
            if staged.contains_key(&name) {
                return Err(SnapshotError::Incompatible(format!("the snapshot holds table {name} twice")));
            }
            let mut batch = Batch::new();
            let mut count = 0u64;
            while let Some(line) = source.next_row().await.map_err(outside)? {
                count += 1;
                check_row(table, count, &line)?;
                batch.push(&line);
                if batch.full() {
                    batch.flush(&mut tx, &name).await?;
                }
            }
            batch.flush(&mut tx, &name).await?;
            staged.insert(name.clone(), count);
            streamed.push((name, count));
        }
        if let Some(missing) = catalog.tables.keys().find(|t| !staged.contains_key(*t)) {
            return Err(SnapshotError::Incompatible(format!("the snapshot lacks table {missing}")));
        }
        for table in catalog.load_order()? {
            let loaded = sqlx::query(&load_sql(table))
                .bind(&table.name)
                .execute(&mut *tx)
                .await
                .map_err(|e| SnapshotError::Load { table: table.name.clone(), source: map_sqlx(e) })?;
            let expected = staged.get(&table.name).copied().unwrap_or_default();
            if loaded.rows_affected() != expected {
                return Err(SnapshotError::Load {
                    table: table.name.clone(),
                    source: StoreError::Corrupt(format!(
                        "{expected} rows were staged and {} loaded",
                        loaded.rows_affected()
                    )),
                });
            }
        }
        sqlx::query(&format!("DROP TABLE {STAGING}")).execute(&mut *tx).await.map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(SnapshotSummary { schema: ours, tables: streamed })
    }
}
