// The SQL implementation of `evident_store::Store`, written once and compiled into each backend
// crate with `include!` inside a module that first names its backend:
//   use super::SqliteStore as Backend;   type Db = sqlx::Sqlite;   type DbRow = sqlx::sqlite::SqliteRow;
//   const FOR_UPDATE: &str = "";          (the row-lock clause: " FOR UPDATE" on PostgreSQL)
// and whose `Backend` has `reader()` and `writer()` (its pools; the same one on PostgreSQL) and
// `begin_write()`, a write transaction (`BEGIN IMMEDIATE` on SQLite, so writers queue for the lock).
// Every statement here runs unchanged on SQLite and PostgreSQL: `$n` placeholders, TEXT keys,
// `ON CONFLICT`, `RETURNING`. Ordering is done in Rust, so both backends sort alike whatever the
// database collation. Only the migrations (column types, triggers) differ between the backends.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use evident_core::audit::{self, AuditEntry, AuditRecord, ChainHead};
use evident_core::risk::{
    Acceptance, Asset, AssetKind, Classification, Methodology, Rating, Risk, Terms, Treating, Treatment,
};
use evident_core::soa::{Decision, Reason, SoaRow};
use evident_core::{
    AssetCode, Control, ControlCode, ControlId, Coverage, Email, FrameworkId, Frequency, ImplementationStatus, Mapping,
    OrgId, OrgSlug, RequirementRef, RiskCode, Role, Sha256Digest,
};
use evident_store::{
    Actor, Adoption, AuditLog, Change, Controls, Frameworks, Member, MethodologyVersion, NewControl, NewOrganisation,
    Organisation, Organisations, Result, Risks, Soa, SoaVersion, Store, StoreError,
};
use sqlx::Row;

type Tx<'a> = sqlx::Transaction<'a, Db>;

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Reads a column and parses it into a domain type, naming the table and column when stored data is bad.
fn parsed<T, E: std::fmt::Display>(
    row: &DbRow,
    table: &str,
    column: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<T> {
    let text: String = row.try_get(column).map_err(map_sqlx)?;
    parse(&text).map_err(|e| StoreError::Corrupt(format!("{table}.{column}: {e}")))
}

fn parsed_opt<T, E: std::fmt::Display>(
    row: &DbRow,
    table: &str,
    column: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<Option<T>> {
    let text: Option<String> = row.try_get(column).map_err(map_sqlx)?;
    text.map(|t| parse(&t).map_err(|e| StoreError::Corrupt(format!("{table}.{column}: {e}")))).transpose()
}

fn get<'r, T: sqlx::Decode<'r, Db> + sqlx::Type<Db>>(row: &'r DbRow, column: &str) -> Result<T> {
    row.try_get(column).map_err(map_sqlx)
}

fn org_from_row(row: &DbRow) -> Result<Organisation> {
    Ok(Organisation {
        id: OrgId::from_store(get(row, "id")?),
        slug: parsed(row, "organisations", "slug", OrgSlug::parse)?,
        name: get(row, "name")?,
        created_at: get(row, "created_at")?,
    })
}

fn control_from_row(row: &DbRow) -> Result<Control> {
    Ok(Control {
        id: parsed(row, "controls", "id", ControlId::parse)?,
        code: parsed(row, "controls", "code", ControlCode::parse)?,
        title: get(row, "title")?,
        description: get(row, "description")?,
        owner: parsed_opt(row, "controls", "owner_email", Email::parse)?,
        frequency: parsed(row, "controls", "frequency", Frequency::parse)?,
        status: parsed(row, "controls", "status", ImplementationStatus::parse)?,
        retired_at: get(row, "retired_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        revision: get(row, "revision")?,
    })
}

fn mapping_from_row(row: &DbRow) -> Result<Mapping> {
    Ok(Mapping {
        control: parsed(row, "mappings", "control_code", ControlCode::parse)?,
        framework: parsed(row, "mappings", "framework_id", FrameworkId::parse)?,
        requirement: parsed(row, "mappings", "requirement_ref", RequirementRef::parse)?,
        coverage: parsed(row, "mappings", "coverage", Coverage::parse)?,
        rationale: get(row, "rationale")?,
    })
}

fn adoption_from_row(row: &DbRow) -> Result<Adoption> {
    Ok(Adoption {
        framework: parsed(row, "adoptions", "framework_id", FrameworkId::parse)?,
        categories: parsed(row, "adoptions", "categories", |t| serde_json::from_str::<Vec<String>>(t))?,
        scope: get(row, "scope")?,
        target_date: get::<Option<NaiveDate>>(row, "target_date")?,
        adopted_at: get(row, "adopted_at")?,
    })
}

fn member_from_row(row: &DbRow) -> Result<Member> {
    Ok(Member {
        email: parsed(row, "users", "email", Email::parse)?,
        display_name: get(row, "display_name")?,
        role: parsed(row, "memberships", "role", Role::parse)?,
        joined_at: get(row, "joined_at")?,
    })
}

/// An aggregate that returns the selected rows as one JSON array of arrays (text), in the SQL of
/// this backend: the only place the two dialects differ in a query.
fn json_rows(columns: &str) -> String {
    if <Db as sqlx::Database>::NAME == "SQLite" {
        format!("json_group_array(json_array({columns}))")
    } else {
        format!("COALESCE(json_agg(json_build_array({columns})), '[]'::json)::text")
    }
}

/// A time as either backend writes it as text: `2026-03-01 09:30:00.123456+00:00` (SQLite, and
/// PostgreSQL's `timestamptz::text` with `+00`) or RFC 3339.
fn parse_time(text: &str) -> std::result::Result<DateTime<Utc>, chrono::ParseError> {
    let text = text.replacen(' ', "T", 1);
    let text = if text.len() > 3 && text.as_bytes()[text.len() - 3] == b'+' { format!("{text}:00") } else { text };
    DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Unexpected(Box::new(e)))
}

/// Audit records per multi-row INSERT: 12 bind parameters a row, so 12,000 a statement, under
/// both backends' limits (SQLite 32,766, PostgreSQL 65,535).
const AUDIT_ROWS_PER_INSERT: usize = 1_000;

/// Locks the organisation for the rest of the write transaction and reads its chain head: the row
/// lock on PostgreSQL (`FOR UPDATE`); on SQLite, `BEGIN IMMEDIATE` already holds the write lock.
/// It is the transaction's first statement, so every precondition `apply_one` reads afterwards
/// stays true until the commit: writers to one organisation take turns, never interleave.
async fn lock_org(tx: &mut Tx<'_>, org: &OrgId) -> Result<ChainHead> {
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

/// The audit records of one write transaction, chained in memory from the head read under the
/// organisation's lock, then written at the end in a few multi-row INSERTs with one update of the
/// head. (One SELECT, INSERT and UPDATE per change made a 20,000-change import take minutes on
/// PostgreSQL: every UPDATE of the organisation row left another version of it to walk past.)
struct AuditTrail<'a> {
    actor: &'a Actor,
    head: ChainHead,
    records: Vec<AuditRecord>,
}

impl<'a> AuditTrail<'a> {
    fn new(actor: &'a Actor, head: ChainHead) -> Self {
        Self { actor, head, records: Vec::new() }
    }

    fn push(
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

    async fn write(self, tx: &mut Tx<'_>) -> Result<()> {
        if self.records.is_empty() {
            return Ok(());
        }
        let org = self.actor.org.as_str();
        for chunk in self.records.chunks(AUDIT_ROWS_PER_INSERT) {
            let mut insert = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO audit_log (org_id, seq, id, at, actor, action, entity_type, entity_id, before_json, \
                 after_json, prev_hash, hash) ",
            );
            insert.push_values(chunk, |mut row, record| {
                row.push_bind(org)
                    .push_bind(record.seq)
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
        sqlx::query("UPDATE organisations SET audit_head_seq = $1, audit_head_hash = $2 WHERE id = $3")
            .bind(self.head.seq)
            .bind(self.head.hash.as_str())
            .bind(org)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
        Ok(())
    }
}

/// Refuses text with a NUL character before it reaches either database: PostgreSQL would refuse
/// it with a message of its own, SQLite would store it and every C tool would cut the text there.
fn refuse_nul(changes: &[Change]) -> Result<()> {
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

async fn control_in_tx(tx: &mut Tx<'_>, org: &OrgId, code: &ControlCode) -> Result<Control> {
    let row = sqlx::query("SELECT * FROM controls WHERE org_id = $1 AND code = $2")
        .bind(org.as_str())
        .bind(code.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?
        .ok_or_else(|| StoreError::not_found("control", code))?;
    control_from_row(&row)
}

async fn mapping_in_tx(
    tx: &mut Tx<'_>,
    org: &OrgId,
    control: &ControlCode,
    framework: &FrameworkId,
    requirement: &RequirementRef,
) -> Result<Option<Mapping>> {
    let row = sqlx::query(
        "SELECT * FROM mappings WHERE org_id = $1 AND control_code = $2 AND framework_id = $3 AND requirement_ref = $4",
    )
    .bind(org.as_str())
    .bind(control.as_str())
    .bind(framework.as_str())
    .bind(requirement.as_str())
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    row.as_ref().map(mapping_from_row).transpose()
}

/// The user with this e-mail, created if new. `ON CONFLICT DO NOTHING` first, so two organisations
/// adding the same new person at once both succeed (the second waits for the first, then reads it).
async fn user_id_for(tx: &mut Tx<'_>, email: &Email, at: DateTime<Utc>) -> Result<String> {
    sqlx::query(
        "INSERT INTO users (id, email, display_name, created_at) VALUES ($1, $2, '', $3) ON CONFLICT (email) DO NOTHING",
    )
    .bind(new_id())
    .bind(email.as_str())
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    let row = sqlx::query("SELECT id FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_one(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    get(&row, "id")
}

/// Applies one change inside `tx` and returns its audit before/after JSON.
async fn apply_one(tx: &mut Tx<'_>, actor: &Actor, change: &Change) -> Result<(Option<String>, Option<String>)> {
    let org = actor.org.as_str();
    match change {
        Change::AddMember { email, display_name, role } => {
            let user_id = user_id_for(tx, email, actor.at).await?;
            let before = sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org)
                .bind(&user_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(map_sqlx)?;
            if before.is_some() {
                return Err(StoreError::conflict("member", email));
            }
            sqlx::query(
                "INSERT INTO memberships (org_id, user_id, role, joined_at, display_name) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(org)
            .bind(&user_id)
            .bind(role.as_str())
            .bind(actor.at)
            .bind(display_name)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((None, Some(to_json(&serde_json::json!({"email": email, "role": role}))?)))
        }
        Change::Adopt(adoption) => {
            let before = sqlx::query("SELECT * FROM adoptions WHERE org_id = $1 AND framework_id = $2")
                .bind(org)
                .bind(adoption.framework.as_str())
                .fetch_optional(&mut **tx)
                .await
                .map_err(map_sqlx)?;
            let before = before.as_ref().map(adoption_from_row).transpose()?;
            sqlx::query(
                "INSERT INTO adoptions (org_id, framework_id, categories, scope, target_date, adopted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (org_id, framework_id) DO UPDATE SET categories = excluded.categories, \
                 scope = excluded.scope, target_date = excluded.target_date",
            )
            .bind(org)
            .bind(adoption.framework.as_str())
            .bind(to_json(&adoption.categories)?)
            .bind(&adoption.scope)
            .bind(adoption.target_date)
            .bind(adoption.adopted_at)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((before.as_ref().map(to_json).transpose()?, Some(to_json(adoption)?)))
        }
        Change::CreateControl(new) => {
            // Codes are unique without regard to case: `iam-01` beside `IAM-01` is the same control.
            let taken = code_taken(tx, &actor.org, &new.code).await?;
            if let Some(existing) = taken {
                return Err(StoreError::conflict("control", existing));
            }
            insert_control(tx, actor, new).await?;
            Ok((None, Some(to_json(new)?)))
        }
        Change::UpdateControl { code, patch, expected_revision } => {
            let before = control_in_tx(tx, &actor.org, code).await?;
            if let Some(expected) = *expected_revision
                && expected != before.revision
            {
                let detail =
                    format!("the edit was based on revision {expected}, it is at revision {}", before.revision);
                return Err(StoreError::Stale { what: "control", key: code.to_string(), detail });
            }
            let mut after = patch.applied_to(&before);
            after.updated_at = actor.at;
            after.revision = before.revision + 1;
            sqlx::query(
                "UPDATE controls SET title = $1, description = $2, owner_email = $3, frequency = $4, status = $5, \
                 updated_at = $6, revision = $7 WHERE org_id = $8 AND code = $9",
            )
            .bind(&after.title)
            .bind(&after.description)
            .bind(after.owner.as_ref().map(Email::as_str))
            .bind(after.frequency.as_str())
            .bind(after.status.as_str())
            .bind(after.updated_at)
            .bind(after.revision)
            .bind(org)
            .bind(code.as_str())
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((Some(to_json(&before)?), Some(to_json(&after)?)))
        }
        Change::RetireControl { code } => {
            let before = control_in_tx(tx, &actor.org, code).await?;
            if before.retired_at.is_some() {
                return Err(StoreError::conflict("retired control", code));
            }
            let after = Control {
                retired_at: Some(actor.at),
                updated_at: actor.at,
                revision: before.revision + 1,
                ..before.clone()
            };
            sqlx::query(
                "UPDATE controls SET retired_at = $1, updated_at = $1, revision = $2 WHERE org_id = $3 AND code = $4",
            )
            .bind(actor.at)
            .bind(after.revision)
            .bind(org)
            .bind(code.as_str())
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((Some(to_json(&before)?), Some(to_json(&after)?)))
        }
        Change::RenameControl { code, to } => {
            let before = control_in_tx(tx, &actor.org, code).await?;
            if let Some(existing) = code_taken(tx, &actor.org, to).await?.filter(|c| c != code) {
                return Err(StoreError::conflict("control", existing));
            }
            let after =
                Control { code: to.clone(), updated_at: actor.at, revision: before.revision + 1, ..before.clone() };
            // The new row first (same id), then the rows that point at the code, then the old row:
            // every foreign key holds at every step, on both databases.
            sqlx::query("UPDATE controls SET id = $1 WHERE org_id = $2 AND code = $3")
                .bind(format!("renaming-{}", before.id))
                .bind(org)
                .bind(code.as_str())
                .execute(&mut **tx)
                .await
                .map_err(map_sqlx)?;
            sqlx::query(
                "INSERT INTO controls (org_id, id, code, title, description, owner_email, frequency, status, retired_at, \
                 created_at, updated_at, revision) \
                 SELECT org_id, $1, $2, title, description, owner_email, frequency, status, retired_at, created_at, $3, $4 \
                 FROM controls WHERE org_id = $5 AND code = $6",
            )
            .bind(before.id.as_str())
            .bind(to.as_str())
            .bind(actor.at)
            .bind(after.revision)
            .bind(org)
            .bind(code.as_str())
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            for sql in [
                "UPDATE mappings SET control_code = $1 WHERE org_id = $2 AND control_code = $3",
                "UPDATE risk_controls SET control_code = $1 WHERE org_id = $2 AND control_code = $3",
                "DELETE FROM controls WHERE org_id = $2 AND code = $3 AND $1 <> ''",
            ] {
                sqlx::query(sql)
                    .bind(to.as_str())
                    .bind(org)
                    .bind(code.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(map_sqlx)?;
            }
            Ok((Some(to_json(&before)?), Some(to_json(&after)?)))
        }
        Change::Map(mapping) => {
            control_in_tx(tx, &actor.org, &mapping.control).await?;
            let before =
                mapping_in_tx(tx, &actor.org, &mapping.control, &mapping.framework, &mapping.requirement).await?;
            sqlx::query(
                "INSERT INTO mappings (org_id, control_code, framework_id, requirement_ref, coverage, rationale) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (org_id, control_code, framework_id, requirement_ref) \
                 DO UPDATE SET coverage = excluded.coverage, rationale = excluded.rationale",
            )
            .bind(org)
            .bind(mapping.control.as_str())
            .bind(mapping.framework.as_str())
            .bind(mapping.requirement.as_str())
            .bind(mapping.coverage.as_str())
            .bind(&mapping.rationale)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((before.as_ref().map(to_json).transpose()?, Some(to_json(mapping)?)))
        }
        Change::Unmap { control, framework, requirement } => {
            let before = mapping_in_tx(tx, &actor.org, control, framework, requirement).await?.ok_or_else(|| {
                StoreError::not_found("mapping", evident_store::mapping_key(control, framework, requirement))
            })?;
            sqlx::query(
                "DELETE FROM mappings WHERE org_id = $1 AND control_code = $2 AND framework_id = $3 AND requirement_ref = $4",
            )
            .bind(org)
            .bind(control.as_str())
            .bind(framework.as_str())
            .bind(requirement.as_str())
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((Some(to_json(&before)?), None))
        }
        Change::SetSoaDecision { framework, requirement, decision } => {
            let before = sqlx::query(
                "SELECT * FROM soa_decisions WHERE org_id = $1 AND framework_id = $2 AND requirement_ref = $3",
            )
            .bind(org)
            .bind(framework.as_str())
            .bind(requirement.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            let before = before.as_ref().map(decision_from_row).transpose()?;
            sqlx::query(
                "INSERT INTO soa_decisions (org_id, framework_id, requirement_ref, applicable, reasons, justification, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (org_id, framework_id, requirement_ref) DO UPDATE SET applicable = excluded.applicable, \
                 reasons = excluded.reasons, justification = excluded.justification, updated_at = excluded.updated_at",
            )
            .bind(org)
            .bind(framework.as_str())
            .bind(requirement.as_str())
            .bind(decision.applicable)
            .bind(to_json(&decision.reasons)?)
            .bind(&decision.justification)
            .bind(actor.at)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((before.as_ref().map(to_json).transpose()?, Some(to_json(decision)?)))
        }
        Change::ApproveSoa { framework, rows } => {
            let last =
                sqlx::query("SELECT MAX(version) AS last FROM soa_versions WHERE org_id = $1 AND framework_id = $2")
                    .bind(org)
                    .bind(framework.as_str())
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map_sqlx)?;
            let version = get::<Option<i64>>(&last, "last")?.unwrap_or(0) + 1;
            let rows_json = to_json(rows)?;
            let digest = Sha256Digest::of(rows_json.as_bytes());
            sqlx::query(
                "INSERT INTO soa_versions (org_id, framework_id, version, approved_by, approved_at, rows_json, digest) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(org)
            .bind(framework.as_str())
            .bind(version)
            .bind(&actor.who)
            .bind(actor.at)
            .bind(&rows_json)
            .bind(digest.as_str())
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            let after = serde_json::json!({"version": version, "rows": rows.len(), "digest": digest});
            Ok((None, Some(to_json(&after)?)))
        }
        Change::SetMethodology(methodology) => {
            let last = sqlx::query("SELECT MAX(version) AS last FROM risk_methodologies WHERE org_id = $1")
                .bind(org)
                .fetch_one(&mut **tx)
                .await
                .map_err(map_sqlx)?;
            let version = get::<Option<i64>>(&last, "last")?.unwrap_or(0) + 1;
            sqlx::query(
                "INSERT INTO risk_methodologies (org_id, version, definition, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(org)
            .bind(version)
            .bind(to_json(methodology)?)
            .bind(&actor.who)
            .bind(actor.at)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((None, Some(to_json(&serde_json::json!({"version": version, "methodology": methodology}))?)))
        }
        Change::PutAsset(asset) => {
            let before = asset_in_tx(tx, &actor.org, &asset.code).await?;
            sqlx::query(
                "INSERT INTO assets (org_id, code, name, kind, owner_email, classification, confidentiality, integrity, \
                 availability, parent_code, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                 ON CONFLICT (org_id, code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                 owner_email = excluded.owner_email, classification = excluded.classification, \
                 confidentiality = excluded.confidentiality, integrity = excluded.integrity, \
                 availability = excluded.availability, parent_code = excluded.parent_code, updated_at = excluded.updated_at",
            )
            .bind(org)
            .bind(asset.code.as_str())
            .bind(&asset.name)
            .bind(asset.kind.as_str())
            .bind(asset.owner.as_ref().map(Email::as_str))
            .bind(asset.classification.as_str())
            .bind(i64::from(asset.confidentiality))
            .bind(i64::from(asset.integrity))
            .bind(i64::from(asset.availability))
            .bind(asset.parent.as_ref().map(AssetCode::as_str))
            .bind(actor.at)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((before.as_ref().map(to_json).transpose()?, Some(to_json(asset)?)))
        }
        Change::CreateRisk(risk) | Change::PutRisk(risk) => {
            let before = load_risks(tx, &actor.org, Some(&risk.code)).await?.pop();
            if before.is_some() && matches!(change, Change::CreateRisk(_)) {
                return Err(StoreError::conflict("risk", &risk.code));
            }
            sqlx::query(
                "INSERT INTO risks (org_id, code, title, description, threat, vulnerability, owner_email, methodology_version, \
                 inherent_likelihood, inherent_impact, treatment, residual_likelihood, residual_impact, residual_justification, \
                 review_date, closed, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) \
                 ON CONFLICT (org_id, code) DO UPDATE SET title = excluded.title, description = excluded.description, \
                 threat = excluded.threat, vulnerability = excluded.vulnerability, owner_email = excluded.owner_email, \
                 methodology_version = excluded.methodology_version, inherent_likelihood = excluded.inherent_likelihood, \
                 inherent_impact = excluded.inherent_impact, treatment = excluded.treatment, \
                 residual_likelihood = excluded.residual_likelihood, residual_impact = excluded.residual_impact, \
                 residual_justification = excluded.residual_justification, review_date = excluded.review_date, \
                 closed = excluded.closed, updated_at = excluded.updated_at",
            )
            .bind(org)
            .bind(risk.code.as_str())
            .bind(&risk.title)
            .bind(&risk.description)
            .bind(&risk.threat)
            .bind(&risk.vulnerability)
            .bind(risk.owner.as_str())
            .bind(risk.methodology)
            .bind(i64::from(risk.inherent.likelihood))
            .bind(i64::from(risk.inherent.impact))
            .bind(risk.treatment.as_str())
            .bind(i64::from(risk.residual.likelihood))
            .bind(i64::from(risk.residual.impact))
            .bind(&risk.residual_justification)
            .bind(risk.review_date)
            .bind(risk.closed)
            .bind(actor.at)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            for sql in [
                "DELETE FROM risk_assets WHERE org_id = $1 AND risk_code = $2",
                "DELETE FROM risk_controls WHERE org_id = $1 AND risk_code = $2",
            ] {
                sqlx::query(sql).bind(org).bind(risk.code.as_str()).execute(&mut **tx).await.map_err(map_sqlx)?;
            }
            for asset in &risk.assets {
                asset_in_tx(tx, &actor.org, asset).await?.ok_or_else(|| StoreError::not_found("asset", asset))?;
                sqlx::query("INSERT INTO risk_assets (org_id, risk_code, asset_code) VALUES ($1, $2, $3)")
                    .bind(org)
                    .bind(risk.code.as_str())
                    .bind(asset.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(map_sqlx)?;
            }
            for treating in &risk.controls {
                control_in_tx(tx, &actor.org, &treating.control).await?;
                sqlx::query(
                    "INSERT INTO risk_controls (org_id, risk_code, control_code, planned, due_date) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(org)
                .bind(risk.code.as_str())
                .bind(treating.control.as_str())
                .bind(treating.planned)
                .bind(treating.due)
                .execute(&mut **tx)
                .await
                .map_err(map_sqlx)?;
            }
            let stored = Risk { acceptance: before.as_ref().and_then(|b| b.acceptance.clone()), ..risk.clone() };
            Ok((before.as_ref().map(to_json).transpose()?, Some(to_json(&stored)?)))
        }
        Change::AcceptRisk { code, acceptance } => {
            let before = load_risks(tx, &actor.org, Some(code))
                .await?
                .pop()
                .ok_or_else(|| StoreError::not_found("risk", code))?;
            // The acceptance was decided on the risk as it was; if it was re-rated or re-treated
            // since, the decision is refused rather than recorded against what nobody accepted.
            if let Some(terms) = acceptance.terms
                && (terms.residual != before.residual || terms.treatment != before.treatment)
            {
                let detail = "it was re-rated or its treatment changed after the acceptance was decided".to_owned();
                return Err(StoreError::Stale { what: "risk", key: code.to_string(), detail });
            }
            let last =
                sqlx::query("SELECT MAX(seq) AS last FROM risk_acceptances WHERE org_id = $1 AND risk_code = $2")
                    .bind(org)
                    .bind(code.as_str())
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map_sqlx)?;
            let seq = get::<Option<i64>>(&last, "last")?.unwrap_or(0) + 1;
            sqlx::query(
                "INSERT INTO risk_acceptances (org_id, risk_code, seq, accepted_by, accepted_at, expires_on, note, \
                 residual_likelihood, residual_impact, treatment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(org)
            .bind(code.as_str())
            .bind(seq)
            .bind(acceptance.by.as_str())
            .bind(acceptance.at)
            .bind(acceptance.expires)
            .bind(&acceptance.note)
            .bind(acceptance.terms.map(|t| i64::from(t.residual.likelihood)))
            .bind(acceptance.terms.map(|t| i64::from(t.residual.impact)))
            .bind(acceptance.terms.map(|t| t.treatment.as_str()))
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((before.acceptance.as_ref().map(to_json).transpose()?, Some(to_json(acceptance)?)))
        }
        Change::ImportFramework(framework) => {
            let id = framework.id();
            let taken = sqlx::query("SELECT 1 FROM imported_frameworks WHERE org_id = $1 AND framework_id = $2")
                .bind(org)
                .bind(id.as_str())
                .fetch_optional(&mut **tx)
                .await
                .map_err(map_sqlx)?;
            if taken.is_some() {
                return Err(StoreError::conflict("framework", id));
            }
            // The audit record's after-image is the stored definition, byte for byte.
            let definition = to_json(framework)?;
            sqlx::query(
                "INSERT INTO imported_frameworks (org_id, framework_id, definition, digest, imported_by, imported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(org)
            .bind(id.as_str())
            .bind(&definition)
            .bind(Sha256Digest::of(definition.as_bytes()).as_str())
            .bind(&actor.who)
            .bind(actor.at)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((None, Some(definition)))
        }
    }
}

/// A small number stored as an integer column, back into the range the domain allows.
fn small(row: &DbRow, table: &str, column: &str) -> Result<u8> {
    small_value(table, column, get(row, column)?)
}

fn small_value(table: &str, column: &str, value: i64) -> Result<u8> {
    u8::try_from(value).map_err(|_| StoreError::Corrupt(format!("{table}.{column}: {value} is out of range")))
}

fn asset_from_row(row: &DbRow) -> Result<Asset> {
    Ok(Asset {
        code: parsed(row, "assets", "code", AssetCode::parse)?,
        name: get(row, "name")?,
        kind: parsed(row, "assets", "kind", AssetKind::parse)?,
        owner: parsed_opt(row, "assets", "owner_email", Email::parse)?,
        classification: parsed(row, "assets", "classification", Classification::parse)?,
        confidentiality: small(row, "assets", "confidentiality")?,
        integrity: small(row, "assets", "integrity")?,
        availability: small(row, "assets", "availability")?,
        parent: parsed_opt(row, "assets", "parent_code", AssetCode::parse)?,
    })
}

async fn asset_in_tx(tx: &mut Tx<'_>, org: &OrgId, code: &AssetCode) -> Result<Option<Asset>> {
    let row = sqlx::query("SELECT * FROM assets WHERE org_id = $1 AND code = $2")
        .bind(org.as_str())
        .bind(code.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    row.as_ref().map(asset_from_row).transpose()
}

/// Reads risks (all of the organisation, or one) with their assets, controls and latest acceptance.
async fn load_risks(
    conn: &mut <Db as sqlx::Database>::Connection,
    org: &OrgId,
    only: Option<&RiskCode>,
) -> Result<Vec<Risk>> {
    let code = only.map_or("", RiskCode::as_str);
    // With `only`, each query keeps the rows of that risk; without, every risk of the organisation.
    let risk_rows = sqlx::query("SELECT * FROM risks WHERE org_id = $1 AND ($2 = '' OR code = $2)")
        .bind(org.as_str())
        .bind(code)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_sqlx)?;
    let mut related = Vec::new();
    for table in ["risk_assets", "risk_controls", "risk_acceptances"] {
        let sql = format!("SELECT * FROM {table} WHERE org_id = $1 AND ($2 = '' OR risk_code = $2)");
        let rows = sqlx::query(&sql).bind(org.as_str()).bind(code).fetch_all(&mut *conn).await.map_err(map_sqlx)?;
        related.push(rows);
    }
    let [asset_rows, control_rows, mut acceptance_rows] =
        <[Vec<DbRow>; 3]>::try_from(related).map_err(|_| StoreError::Corrupt("risk relations".into()))?;
    acceptance_rows.sort_by_key(|r| get::<i64>(r, "seq").unwrap_or_default());
    let mut risks = Vec::with_capacity(risk_rows.len());
    for row in &risk_rows {
        let code = parsed(row, "risks", "code", RiskCode::parse)?;
        let mine = |r: &&DbRow| get::<String>(r, "risk_code").is_ok_and(|c| c == code.as_str());
        let mut assets = asset_rows
            .iter()
            .filter(mine)
            .map(|r| parsed(r, "risk_assets", "asset_code", AssetCode::parse))
            .collect::<Result<Vec<_>>>()?;
        assets.sort();
        let mut controls = control_rows
            .iter()
            .filter(mine)
            .map(|r| {
                Ok(Treating {
                    control: parsed(r, "risk_controls", "control_code", ControlCode::parse)?,
                    planned: get(r, "planned")?,
                    due: get(r, "due_date")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        controls.sort_by(|a, b| a.control.cmp(&b.control));
        let acceptance = acceptance_rows
            .iter()
            .rfind(mine)
            .map(|r| {
                let residual = (
                    get::<Option<i64>>(r, "residual_likelihood")?,
                    get::<Option<i64>>(r, "residual_impact")?,
                    parsed_opt(r, "risk_acceptances", "treatment", Treatment::parse)?,
                );
                let terms = match residual {
                    (Some(likelihood), Some(impact), Some(treatment)) => Some(Terms {
                        residual: Rating {
                            likelihood: small_value("risk_acceptances", "residual_likelihood", likelihood)?,
                            impact: small_value("risk_acceptances", "residual_impact", impact)?,
                        },
                        treatment,
                    }),
                    _ => None,
                };
                Ok::<_, StoreError>(Acceptance {
                    by: parsed(r, "risk_acceptances", "accepted_by", Email::parse)?,
                    at: get(r, "accepted_at")?,
                    expires: get(r, "expires_on")?,
                    note: get(r, "note")?,
                    terms,
                })
            })
            .transpose()?;
        risks.push(Risk {
            code,
            title: get(row, "title")?,
            description: get(row, "description")?,
            assets,
            threat: get(row, "threat")?,
            vulnerability: get(row, "vulnerability")?,
            owner: parsed(row, "risks", "owner_email", Email::parse)?,
            methodology: get(row, "methodology_version")?,
            inherent: Rating {
                likelihood: small(row, "risks", "inherent_likelihood")?,
                impact: small(row, "risks", "inherent_impact")?,
            },
            treatment: parsed(row, "risks", "treatment", Treatment::parse)?,
            controls,
            residual: Rating {
                likelihood: small(row, "risks", "residual_likelihood")?,
                impact: small(row, "risks", "residual_impact")?,
            },
            residual_justification: get(row, "residual_justification")?,
            review_date: get(row, "review_date")?,
            acceptance,
            closed: get(row, "closed")?,
        });
    }
    risks.sort_by(|a, b| evident_core::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
    Ok(risks)
}

fn decision_from_row(row: &DbRow) -> Result<Decision> {
    Ok(Decision {
        applicable: get(row, "applicable")?,
        reasons: parsed(row, "soa_decisions", "reasons", |t| serde_json::from_str::<Vec<Reason>>(t))?,
        justification: get(row, "justification")?,
    })
}

/// The code of the organisation's control that `code` names without regard to case, if any.
async fn code_taken(tx: &mut Tx<'_>, org: &OrgId, code: &ControlCode) -> Result<Option<ControlCode>> {
    let row = sqlx::query("SELECT code FROM controls WHERE org_id = $1 AND lower(code) = lower($2)")
        .bind(org.as_str())
        .bind(code.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    row.as_ref().map(|r| parsed(r, "controls", "code", ControlCode::parse)).transpose()
}

async fn insert_control(tx: &mut Tx<'_>, actor: &Actor, new: &NewControl) -> Result<()> {
    sqlx::query(
        "INSERT INTO controls (org_id, id, code, title, description, owner_email, frequency, status, retired_at, created_at, \
         updated_at, revision) VALUES ($1, $9, $2, $3, $4, $5, $6, $7, NULL, $8, $8, 1)",
    )
    .bind(actor.org.as_str())
    .bind(new.code.as_str())
    .bind(&new.title)
    .bind(&new.description)
    .bind(new.owner.as_ref().map(Email::as_str))
    .bind(new.frequency.as_str())
    .bind(new.status.as_str())
    .bind(actor.at)
    .bind(new_id())
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

#[async_trait]
impl Store for Backend {
    async fn apply(&self, actor: &Actor, changes: Vec<Change>) -> Result<()> {
        refuse_nul(&changes)?;
        let mut tx = self.begin_write().await.map_err(map_sqlx)?;
        let head = lock_org(&mut tx, &actor.org).await?;
        let mut trail = AuditTrail::new(actor, head);
        for change in &changes {
            let (before, after) = apply_one(&mut tx, actor, change).await?;
            trail.push(evident_store::describe(change), before, after);
        }
        trail.write(&mut tx).await?;
        tx.commit().await.map_err(map_sqlx)
    }
}

#[async_trait]
impl Organisations for Backend {
    async fn create_org(&self, new: &NewOrganisation, at: DateTime<Utc>) -> Result<Organisation> {
        for (field, text) in [("organisation name", &new.name), ("administrator's name", &new.admin_name)] {
            if text.contains('\0') {
                return Err(StoreError::Invalid(format!(
                    "the {field} contains a NUL character (0x00), which cannot be stored"
                )));
            }
        }
        let mut tx = self.begin_write().await.map_err(map_sqlx)?;
        let taken = sqlx::query("SELECT 1 FROM organisations WHERE slug = $1")
            .bind(new.slug.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        if taken.is_some() {
            return Err(StoreError::conflict("organisation", &new.slug));
        }
        let org = Organisation {
            id: OrgId::from_store(new_id()),
            slug: new.slug.clone(),
            name: new.name.clone(),
            created_at: at,
        };
        sqlx::query(
            "INSERT INTO organisations (id, slug, name, created_at, audit_head_seq, audit_head_hash) VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(org.id.as_str())
        .bind(org.slug.as_str())
        .bind(&org.name)
        .bind(at)
        .bind(Sha256Digest::zero().as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            // Another instance created the slug since our check (PostgreSQL; SQLite writers take turns).
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::conflict("organisation", &new.slug),
            _ => map_sqlx(e),
        })?;
        let actor = Actor { org: org.id.clone(), who: new.admin_email.to_string(), at };
        let mut trail = AuditTrail::new(&actor, ChainHead { seq: 0, hash: Sha256Digest::zero() });
        trail.push(("organisation.create", "organisation", org.slug.to_string()), None, Some(to_json(&org)?));
        let first_admin = Change::AddMember {
            email: new.admin_email.clone(),
            display_name: new.admin_name.clone(),
            role: Role::Admin,
        };
        let (before, after) = apply_one(&mut tx, &actor, &first_admin).await?;
        trail.push(evident_store::describe(&first_admin), before, after);
        trail.write(&mut tx).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(org)
    }

    async fn orgs(&self) -> Result<Vec<Organisation>> {
        let rows = sqlx::query("SELECT * FROM organisations").fetch_all(self.reader()).await.map_err(map_sqlx)?;
        let mut orgs = rows.iter().map(org_from_row).collect::<Result<Vec<_>>>()?;
        orgs.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(orgs)
    }

    async fn org_by_slug(&self, slug: &OrgSlug) -> Result<Option<Organisation>> {
        let row = sqlx::query("SELECT * FROM organisations WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(self.reader())
            .await
            .map_err(map_sqlx)?;
        row.as_ref().map(org_from_row).transpose()
    }

    async fn members(&self, org: &OrgId) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT u.email, m.display_name, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1",
        )
        .bind(org.as_str())
        .fetch_all(self.reader())
        .await
        .map_err(map_sqlx)?;
        let mut members = rows.iter().map(member_from_row).collect::<Result<Vec<_>>>()?;
        members.sort_by(|a, b| a.joined_at.cmp(&b.joined_at).then_with(|| a.email.cmp(&b.email)));
        Ok(members)
    }

    async fn member(&self, org: &OrgId, email: &Email) -> Result<Option<Member>> {
        let row = sqlx::query(
            "SELECT u.email, m.display_name, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 AND u.email = $2",
        )
        .bind(org.as_str())
        .bind(email.as_str())
        .fetch_optional(self.reader())
        .await
        .map_err(map_sqlx)?;
        row.as_ref().map(member_from_row).transpose()
    }
}

#[async_trait]
impl Frameworks for Backend {
    async fn adoptions(&self, org: &OrgId) -> Result<Vec<Adoption>> {
        let rows = sqlx::query("SELECT * FROM adoptions WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut adoptions = rows.iter().map(adoption_from_row).collect::<Result<Vec<_>>>()?;
        adoptions.sort_by(|a, b| a.framework.cmp(&b.framework));
        Ok(adoptions)
    }

    async fn frameworks(&self, org: &OrgId) -> Result<Vec<evident_store::ImportedFramework>> {
        let rows = sqlx::query("SELECT * FROM imported_frameworks WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut frameworks = rows
            .iter()
            .map(|row| {
                let framework: evident_core::Framework =
                    parsed(row, "imported_frameworks", "definition", |t| serde_json::from_str(t))?;
                let id = parsed(row, "imported_frameworks", "framework_id", FrameworkId::parse)?;
                if framework.id() != &id {
                    let problem = format!("imported_frameworks.definition: holds {} under {id}", framework.id());
                    return Err(StoreError::Corrupt(problem));
                }
                Ok(evident_store::ImportedFramework {
                    framework,
                    imported_by: get(row, "imported_by")?,
                    imported_at: get(row, "imported_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        frameworks.sort_by(|a, b| a.framework.id().cmp(b.framework.id()));
        Ok(frameworks)
    }
}

#[async_trait]
impl Controls for Backend {
    async fn controls(&self, org: &OrgId) -> Result<Vec<Control>> {
        // One row of JSON, as for mappings. Times travel as text in each backend's own format.
        let sql = format!(
            "SELECT {} AS rows FROM controls WHERE org_id = $1",
            json_rows(
                "id, code, title, description, owner_email, frequency, status, \
                 CAST(retired_at AS TEXT), CAST(created_at AS TEXT), CAST(updated_at AS TEXT), revision"
            )
        );
        let row = sqlx::query(&sql).bind(org.as_str()).fetch_one(self.reader()).await.map_err(map_sqlx)?;
        let text: String = get(&row, "rows")?;
        type ControlTuple =
            (String, String, String, String, Option<String>, String, String, Option<String>, String, String, i64);
        let tuples: Vec<ControlTuple> =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("controls: {e}")))?;
        let corrupt = |column: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("controls.{column}: {e}"));
        let time = |column: &str, text: &str| parse_time(text).map_err(|e| corrupt(column, &e));
        let mut controls = tuples
            .into_iter()
            .map(|(id, code, title, description, owner, frequency, status, retired, created, updated, revision)| {
                Ok(Control {
                    id: ControlId::parse(&id).map_err(|e| corrupt("id", &e))?,
                    code: ControlCode::parse(&code).map_err(|e| corrupt("code", &e))?,
                    title,
                    description,
                    owner: owner.as_deref().map(Email::parse).transpose().map_err(|e| corrupt("owner_email", &e))?,
                    frequency: Frequency::parse(&frequency).map_err(|e| corrupt("frequency", &e))?,
                    status: ImplementationStatus::parse(&status).map_err(|e| corrupt("status", &e))?,
                    retired_at: retired.as_deref().map(|t| time("retired_at", t)).transpose()?,
                    created_at: time("created_at", &created)?,
                    updated_at: time("updated_at", &updated)?,
                    revision,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        controls.sort_by(|a, b| evident_core::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
        Ok(controls)
    }

    async fn control(&self, org: &OrgId, code: &ControlCode) -> Result<Option<Control>> {
        let row = sqlx::query("SELECT * FROM controls WHERE org_id = $1 AND code = $2")
            .bind(org.as_str())
            .bind(code.as_str())
            .fetch_optional(self.reader())
            .await
            .map_err(map_sqlx)?;
        row.as_ref().map(control_from_row).transpose()
    }

    async fn mappings(&self, org: &OrgId) -> Result<Vec<Mapping>> {
        // One row of JSON instead of a row per mapping: an organisation has tens of thousands, and
        // the driver's cost is per row (on SQLite each row crosses from its worker thread).
        let sql = format!(
            "SELECT {} AS rows FROM mappings WHERE org_id = $1",
            json_rows("control_code, framework_id, requirement_ref, coverage, rationale")
        );
        let row = sqlx::query(&sql).bind(org.as_str()).fetch_one(self.reader()).await.map_err(map_sqlx)?;
        let text: String = get(&row, "rows")?;
        let tuples: Vec<(String, String, String, String, String)> =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("mappings: {e}")))?;
        let corrupt =
            |column: &str, e: evident_core::ParseError| StoreError::Corrupt(format!("mappings.{column}: {e}"));
        let mut mappings = tuples
            .into_iter()
            .map(|(control, framework, requirement, coverage, rationale)| {
                Ok(Mapping {
                    control: ControlCode::parse(&control).map_err(|e| corrupt("control_code", e))?,
                    framework: FrameworkId::parse(&framework).map_err(|e| corrupt("framework_id", e))?,
                    requirement: RequirementRef::parse(&requirement).map_err(|e| corrupt("requirement_ref", e))?,
                    coverage: Coverage::parse(&coverage).map_err(|e| corrupt("coverage", e))?,
                    rationale,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        evident_store::sort_mappings(&mut mappings);
        Ok(mappings)
    }
}

#[async_trait]
impl Soa for Backend {
    async fn soa_decisions(&self, org: &OrgId, framework: &FrameworkId) -> Result<Vec<(RequirementRef, Decision)>> {
        let rows = sqlx::query("SELECT * FROM soa_decisions WHERE org_id = $1 AND framework_id = $2")
            .bind(org.as_str())
            .bind(framework.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut decisions = rows
            .iter()
            .map(|row| {
                Ok((parsed(row, "soa_decisions", "requirement_ref", RequirementRef::parse)?, decision_from_row(row)?))
            })
            .collect::<Result<Vec<_>>>()?;
        decisions.sort_by(|a, b| a.0.natural_cmp(&b.0));
        Ok(decisions)
    }

    async fn soa_versions(&self, org: &OrgId, framework: &FrameworkId) -> Result<Vec<SoaVersion>> {
        let rows = sqlx::query("SELECT * FROM soa_versions WHERE org_id = $1 AND framework_id = $2 ORDER BY version")
            .bind(org.as_str())
            .bind(framework.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        rows.iter()
            .map(|row| {
                Ok(SoaVersion {
                    framework: parsed(row, "soa_versions", "framework_id", FrameworkId::parse)?,
                    version: get(row, "version")?,
                    approved_by: get(row, "approved_by")?,
                    approved_at: get(row, "approved_at")?,
                    digest: parsed(row, "soa_versions", "digest", Sha256Digest::parse)?,
                    rows: parsed(row, "soa_versions", "rows_json", |t| serde_json::from_str::<Vec<SoaRow>>(t))?,
                })
            })
            .collect()
    }

    async fn soa_version_texts(&self, org: &OrgId) -> Result<Vec<evident_store::SoaVersionText>> {
        let rows = sqlx::query("SELECT framework_id, version, digest, rows_json FROM soa_versions WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut versions = rows
            .iter()
            .map(|row| {
                Ok(evident_store::SoaVersionText {
                    framework: parsed(row, "soa_versions", "framework_id", FrameworkId::parse)?,
                    version: get(row, "version")?,
                    digest: parsed(row, "soa_versions", "digest", Sha256Digest::parse)?,
                    rows_json: get(row, "rows_json")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        versions.sort_by(|a, b| a.framework.cmp(&b.framework).then(a.version.cmp(&b.version)));
        Ok(versions)
    }
}

#[async_trait]
impl Risks for Backend {
    async fn methodologies(&self, org: &OrgId) -> Result<Vec<MethodologyVersion>> {
        let rows = sqlx::query("SELECT * FROM risk_methodologies WHERE org_id = $1 ORDER BY version")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        rows.iter()
            .map(|row| {
                Ok(MethodologyVersion {
                    version: get(row, "version")?,
                    methodology: parsed(row, "risk_methodologies", "definition", |t| {
                        let methodology: Methodology = serde_json::from_str(t).map_err(|e| e.to_string())?;
                        methodology.validate().map_err(|e| e.to_string())?;
                        Ok::<_, String>(methodology)
                    })?,
                    created_by: get(row, "created_by")?,
                    created_at: get(row, "created_at")?,
                })
            })
            .collect()
    }

    async fn assets(&self, org: &OrgId) -> Result<Vec<Asset>> {
        let rows = sqlx::query("SELECT * FROM assets WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut assets = rows.iter().map(asset_from_row).collect::<Result<Vec<_>>>()?;
        assets.sort_by(|a, b| evident_core::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
        Ok(assets)
    }

    async fn risks(&self, org: &OrgId) -> Result<Vec<Risk>> {
        let mut conn = self.reader().acquire().await.map_err(map_sqlx)?;
        load_risks(&mut conn, org, None).await
    }
}

#[async_trait]
impl AuditLog for Backend {
    async fn audit_log(&self, org: &OrgId) -> Result<(Vec<AuditRecord>, ChainHead)> {
        let head = sqlx::query("SELECT audit_head_seq, audit_head_hash FROM organisations WHERE id = $1")
            .bind(org.as_str())
            .fetch_optional(self.reader())
            .await
            .map_err(map_sqlx)?
            .ok_or_else(|| StoreError::not_found("organisation", org))?;
        let head = ChainHead {
            seq: get(&head, "audit_head_seq")?,
            hash: parsed(&head, "organisations", "audit_head_hash", Sha256Digest::parse)?,
        };
        let rows = sqlx::query("SELECT * FROM audit_log WHERE org_id = $1 ORDER BY seq")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let records = rows
            .iter()
            .map(|row| {
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
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((records, head))
    }

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

    async fn audit_page(&self, org: &OrgId, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(org.as_str())
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        rows.iter()
            .map(|row| {
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
            })
            .collect()
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

/// Turns a driver error into what the user can act on. The message is always ours: the driver's
/// text (table and constraint names, SQLSTATEs, "database is locked") stays in the `source()`
/// chain of `Unexpected`, for logs, and never reaches what a user reads.
pub(super) fn map_sqlx(error: sqlx::Error) -> StoreError {
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
    const SUBJECTS: [(&str, &str, &str); 15] = [
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
