//! The SQL implementation of the store's traits, written once and compiled into each backend crate
//! as its module `sql` (`#[path = "../../evident-store/sql/mod.rs"] mod sql;`), so that `cargo fmt`
//! and clippy see every line. The backend's crate root names what differs:
//!
//! ```text
//! use SqliteStore as Backend;   type Db = sqlx::Sqlite;   type DbRow = sqlx::sqlite::SqliteRow;
//! const FOR_UPDATE: &str = "";   (the row-lock clause: " FOR UPDATE" on PostgreSQL)
//! ```
//!
//! and its `Backend` has `reader()` and `writer()` (its pools; the same one on PostgreSQL) and
//! `begin_write()`, a write transaction (`BEGIN IMMEDIATE` on SQLite, so writers queue for the lock),
//! and `derived_writer()`, the pool the read models of `derived` are written through.
//! Every statement here runs unchanged on SQLite and PostgreSQL: `$n` placeholders, TEXT keys,
//! `ON CONFLICT`, `RETURNING`. Ordering is done in Rust, so both backends sort alike whatever the
//! database collation. Only the migrations (column types, triggers) differ between the backends.
//!
//! One module per aggregate (`orgs`, `frameworks`, `controls`, `soa`, `risks`, `evidence`, `samples`, `tokens`,
//! `audit`, `accounts` for the installation's accounts and sessions, and `derived` for the rendered
//! read models), each with
//! its row mappers, the writes of its changes and its read trait; `common` has the helpers they
//! share; this module has `apply`, which locks the organisation, hands each change to its
//! aggregate and appends the audit records in a few statements at the end.

use async_trait::async_trait;
use evident_core::Mapping;
use evident_store::{Actor, Applied, Change, ControlChange, Result, Store, StoreError};

use self::audit::AuditTrail;
use self::common::{Outcome, Tx, lock_org, map_sqlx};
use crate::Backend;

mod accounts;
mod audit;
pub(crate) mod common;
mod controls;
mod derived;
mod evidence;
mod frameworks;
mod orgs;
mod risks;
mod samples;
mod snapshot;
mod soa;
mod tokens;

#[async_trait]
impl Store for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %actor.org, changes = changes.len()))]
    async fn apply(&self, actor: &Actor, changes: Vec<Change>) -> Result<Vec<Applied>> {
        refuse_nul(&changes)?;
        let mut tx = self.begin_write().await.map_err(map_sqlx)?;
        let head = lock_org(&mut tx, &actor.org).await?;
        let mut trail = AuditTrail::new(actor, head);
        let mut applied = Vec::with_capacity(changes.len());
        let mut rest = &changes[..];
        while let Some(first) = rest.first() {
            // A long run of mapping changes (an import's) is written together; any other change alone.
            let run: Vec<&Mapping> = rest.iter().map_while(as_mapping).collect();
            let (done, outcomes) = if run.len() >= controls::MAP_BATCH_FROM {
                (run.len(), controls::map_all(&mut tx, actor, &run).await?)
            } else {
                (1, vec![apply_one(&mut tx, actor, first).await?])
            };
            for (change, outcome) in rest[..done].iter().zip(outcomes) {
                if let Some((before, after)) = outcome.images {
                    trail.push(evident_store::describe(change), before, after);
                }
                applied.push(outcome.applied);
            }
            rest = &rest[done..];
        }
        trail.write(&mut tx).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(applied)
    }
}

fn as_mapping(change: &Change) -> Option<&Mapping> {
    match change {
        Change::Control(ControlChange::Map(mapping)) => Some(mapping),
        _ => None,
    }
}

/// Applies one change inside `tx`, in the module of its aggregate, and says what it did.
async fn apply_one(tx: &mut Tx<'_>, actor: &Actor, change: &Change) -> Result<Outcome> {
    match change {
        Change::Member(change) => orgs::apply(tx, actor, change).await,
        Change::Framework(change) => frameworks::apply(tx, actor, change).await,
        Change::Control(change) => controls::apply(tx, actor, change).await,
        Change::Soa(change) => soa::apply(tx, actor, change).await,
        Change::Risk(change) => risks::apply(tx, actor, change).await,
        Change::Evidence(change) => evidence::apply(tx, actor, change).await,
        Change::Sample(change) => samples::apply(tx, actor, change).await,
        Change::Token(change) => tokens::apply(tx, actor, change).await,
    }
}

/// Refuses text with a NUL character before it reaches either database: PostgreSQL would refuse
/// it with a message of its own, SQLite would store it and every C tool would cut the text there.
pub(super) fn refuse_nul(changes: &[Change]) -> Result<()> {
    for (i, change) in changes.iter().enumerate() {
        let value = serde_json::to_value(change).map_err(|e| StoreError::Unexpected(Box::new(e)))?;
        if let Some(field) = nul_field(&value, "text") {
            let (action, _, entity) = evident_store::describe(change);
            return Err(StoreError::Invalid(format!(
                "change {} ({action} {}): the {field} contains a NUL character (0x00), which cannot be stored",
                i + 1,
                entity.escape_debug()
            )));
        }
    }
    Ok(())
}

/// The name of the first field (of a change serialised to JSON) whose text holds a NUL.
fn nul_field<'v>(value: &'v serde_json::Value, field: &'v str) -> Option<&'v str> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then_some(field),
        serde_json::Value::Array(items) => items.iter().find_map(|item| nul_field(item, field)),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(name, value)| nul_field(value, name)),
        _ => None,
    }
}

/// Statements that bypass the store's rules, for tests that tamper with the database on purpose.
/// Only built with the `testkit` feature, so a release binary has no such door.
#[cfg(feature = "testkit")]
#[async_trait]
impl evident_store::RawSql for Backend {
    async fn execute_raw(&self, sql: &str) -> Result<u64> {
        let done = sqlx::query(sql).execute(self.writer()).await.map_err(map_sqlx)?;
        Ok(done.rows_affected())
    }
}
