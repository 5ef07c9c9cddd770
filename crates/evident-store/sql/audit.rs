//! The audit log: appended in batches at the end of each write transaction, read whole, by
//! page, or just its head.

use async_trait::async_trait;
use evident_core::audit::{self, AuditEntry, AuditRecord, ChainHead};
use evident_core::{OrgId, Sha256Digest};
use evident_store::{Actor, AuditLog, Result, StoreError};

use super::common::{Tx, get, map_sqlx, new_id, parsed};
use crate::{Backend, Db, DbRow};

/// Audit records per multi-row INSERT: 12 bind parameters a row, so 12,000 a statement, under
/// both backends' limits (SQLite 32,766, PostgreSQL 65,535).
const AUDIT_ROWS_PER_INSERT: usize = 1_000;

/// The audit records of one write transaction, chained in memory from the head read under the
/// organisation's lock, then written at the end in a few multi-row INSERTs with one update of the
/// head. (One SELECT, INSERT and UPDATE per change made a 20,000-change import take minutes on
/// PostgreSQL: every UPDATE of the organisation row left another version of it to walk past.)
pub(super) struct AuditTrail<'a> {
    actor: &'a Actor,
    head: ChainHead,
    records: Vec<AuditRecord>,
    /// Whether this is the installation's log (accounts, sessions) rather than the actor's
    /// organisation's; the actor's `org` is then [`installation_chain`](evident_store::accounts::installation_chain).
    installation: bool,
}

impl<'a> AuditTrail<'a> {
    pub(super) fn new(actor: &'a Actor, head: ChainHead) -> Self {
        Self { actor, head, records: Vec::new(), installation: false }
    }

    /// The trail of the installation's log, from its head read under its lock.
    pub(super) fn installation(actor: &'a Actor, head: ChainHead) -> Self {
        Self { actor, head, records: Vec::new(), installation: true }
    }

    pub(super) fn push(
        &mut self,
        (action, entity_type, entity_id): (&str, &str, String),
        before: Option<String>,
        after: Option<String>,
    ) {
        let entry = AuditEntry {
            id: new_id(),
            at: audit::audit_time(self.actor.at),
            actor: self.actor.who.clone(),
            action: action.to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id,
            before,
            after,
        };
        let hash = audit::chain_hash(&self.actor.org, &self.head.hash, &entry);
        let prev_hash = std::mem::replace(&mut self.head.hash, hash.clone());
        self.head.seq += 1;
        self.records.push(AuditRecord { seq: self.head.seq, entry, prev_hash, hash });
    }

    pub(super) async fn write(self, tx: &mut Tx<'_>) -> Result<()> {
        if self.records.is_empty() {
            return Ok(());
        }
        let org = self.actor.org.as_str();
        let (table, org_column) = if self.installation { ("installation_log", "") } else { ("audit_log", "org_id, ") };
        for chunk in self.records.chunks(AUDIT_ROWS_PER_INSERT) {
            let mut insert = sqlx::QueryBuilder::<Db>::new(format!(
                "INSERT INTO {table} ({org_column}seq, id, at, actor, action, entity_type, entity_id, before_json, \
                 after_json, prev_hash, hash) "
            ));
            insert.push_values(chunk, |mut row, record| {
                if !self.installation {
                    row.push_bind(org);
                }
                row.push_bind(record.seq)
                    .push_bind(record.entry.id.as_str())
                    .push_bind(record.entry.at)
                    .push_bind(record.entry.actor.as_str())
                    .push_bind(record.entry.action.as_str())
                    .push_bind(record.entry.entity_type.as_str())
                    .push_bind(record.entry.entity_id.as_str())
                    .push_bind(record.entry.before.as_deref())
                    .push_bind(record.entry.after.as_deref())
                    .push_bind(record.prev_hash.as_str())
                    .push_bind(record.hash.as_str());
            });
            // Full chunks share one statement text, worth keeping prepared; a last, shorter one rarely recurs.
            insert
                .build()
                .persistent(chunk.len() == AUDIT_ROWS_PER_INSERT)
                .execute(&mut **tx)
                .await
                .map_err(map_sqlx)?;
        }
        let mut update = sqlx::query(if self.installation {
            "UPDATE installation SET audit_head_seq = $1, audit_head_hash = $2 WHERE id = 1"
        } else {
            "UPDATE organisations SET audit_head_seq = $1, audit_head_hash = $2 WHERE id = $3"
        })
        .bind(self.head.seq)
        .bind(self.head.hash.as_str());
        if !self.installation {
            update = update.bind(org);
        }
        update.execute(&mut **tx).await.map_err(map_sqlx)?;
        Ok(())
    }
}

/// An audit record as stored.
pub(super) fn record_from_row(row: &DbRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: get(row, "seq")?,
        entry: AuditEntry {
            id: get(row, "id")?,
            at: get(row, "at")?,
            actor: get(row, "actor")?,
            action: get(row, "action")?,
            entity_type: get(row, "entity_type")?,
            entity_id: get(row, "entity_id")?,
            before: get(row, "before_json")?,
            after: get(row, "after_json")?,
        },
        prev_hash: parsed(row, "audit_log", "prev_hash", Sha256Digest::parse)?,
        hash: parsed(row, "audit_log", "hash", Sha256Digest::parse)?,
    })
}

#[async_trait]
impl AuditLog for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn audit_log(&self, org: &OrgId) -> Result<(Vec<AuditRecord>, ChainHead)> {
        let head = self.chain_head(org).await?;
        let rows = sqlx::query("SELECT * FROM audit_log WHERE org_id = $1 ORDER BY seq")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let records = rows.iter().map(record_from_row).collect::<Result<Vec<_>>>()?;
        Ok((records, head))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn chain_head(&self, org: &OrgId) -> Result<ChainHead> {
        let head = sqlx::query("SELECT audit_head_seq, audit_head_hash FROM organisations WHERE id = $1")
            .bind(org.as_str())
            .fetch_optional(self.reader())
            .await
            .map_err(map_sqlx)?
            .ok_or_else(|| StoreError::not_found("organisation", org))?;
        Ok(ChainHead {
            seq: get(&head, "audit_head_seq")?,
            hash: parsed(&head, "organisations", "audit_head_hash", Sha256Digest::parse)?,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, after_seq = after_seq, limit = limit))]
    async fn audit_page(&self, org: &OrgId, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(org.as_str())
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        rows.iter().map(record_from_row).collect()
    }
}
