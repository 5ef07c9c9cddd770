// The SQL implementation of `evident_store::Store`, written once and compiled into each backend
// crate with `include!` inside a module that first names its backend:
//   use super::SqliteStore as Backend;   (a struct with a field `pool: sqlx::Pool<Db>`)
//   type Db = sqlx::Sqlite;              type DbRow = sqlx::sqlite::SqliteRow;
// Every statement here runs unchanged on SQLite and PostgreSQL: `$n` placeholders, TEXT keys,
// `ON CONFLICT`, `RETURNING`. Ordering is done in Rust, so both backends sort alike whatever the
// database collation. Only the migrations (column types, triggers) differ between the backends.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use evident_core::audit::{self, AuditEntry, AuditRecord, ChainHead};
use evident_core::risk::{Acceptance, Asset, AssetKind, Classification, Methodology, Rating, Risk, Treating, Treatment};
use evident_core::soa::{Decision, Reason, SoaRow};
use evident_core::{
    AssetCode, Control, ControlCode, Coverage, Email, FrameworkId, Frequency, ImplementationStatus, Mapping, OrgId,
    OrgSlug, RequirementRef, RiskCode, Role, Sha256Digest,
};
use evident_store::{
    Actor, Adoption, Change, Member, MethodologyVersion, NewControl, NewOrganisation, Organisation, Result, SoaVersion,
    Store, StoreError,
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
        code: parsed(row, "controls", "code", ControlCode::parse)?,
        title: get(row, "title")?,
        description: get(row, "description")?,
        owner: parsed_opt(row, "controls", "owner_email", Email::parse)?,
        frequency: parsed(row, "controls", "frequency", Frequency::parse)?,
        status: parsed(row, "controls", "status", ImplementationStatus::parse)?,
        retired_at: get(row, "retired_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
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

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Unexpected(Box::new(e)))
}

/// Appends one audit record to the organisation's chain inside `tx`. The `UPDATE … RETURNING`
/// on the organisation row serialises appenders: a row lock on PostgreSQL, the write lock on SQLite.
async fn append_audit(
    tx: &mut Tx<'_>,
    actor: &Actor,
    (action, entity_type, entity_id): (&str, &str, String),
    before: Option<String>,
    after: Option<String>,
) -> Result<()> {
    let head = sqlx::query(
        "UPDATE organisations SET audit_head_seq = audit_head_seq WHERE id = $1 RETURNING audit_head_seq, audit_head_hash",
    )
    .bind(actor.org.as_str())
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_sqlx)?
    .ok_or_else(|| StoreError::not_found("organisation", &actor.org))?;
    let seq: i64 = get::<i64>(&head, "audit_head_seq")? + 1;
    let prev = parsed(&head, "organisations", "audit_head_hash", Sha256Digest::parse)?;
    let entry = AuditEntry {
        id: new_id(),
        at: audit::audit_time(actor.at),
        actor: actor.who.clone(),
        action: action.to_owned(),
        entity_type: entity_type.to_owned(),
        entity_id,
        before,
        after,
    };
    let hash = audit::chain_hash(&actor.org, &prev, &entry);
    sqlx::query(
        "INSERT INTO audit_log (org_id, seq, id, at, actor, action, entity_type, entity_id, before_json, after_json, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(actor.org.as_str())
    .bind(seq)
    .bind(&entry.id)
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.entity_type)
    .bind(&entry.entity_id)
    .bind(&entry.before)
    .bind(&entry.after)
    .bind(prev.as_str())
    .bind(hash.as_str())
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    sqlx::query("UPDATE organisations SET audit_head_seq = $1, audit_head_hash = $2 WHERE id = $3")
        .bind(seq)
        .bind(hash.as_str())
        .bind(actor.org.as_str())
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    Ok(())
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

async fn user_id_for(tx: &mut Tx<'_>, email: &Email, display_name: &str, at: DateTime<Utc>) -> Result<String> {
    let existing = sqlx::query("SELECT id FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    if let Some(row) = existing {
        return get(&row, "id");
    }
    let id = new_id();
    sqlx::query("INSERT INTO users (id, email, display_name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(email.as_str())
        .bind(display_name)
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    Ok(id)
}

/// Applies one change inside `tx` and returns its audit before/after JSON.
async fn apply_one(tx: &mut Tx<'_>, actor: &Actor, change: &Change) -> Result<(Option<String>, Option<String>)> {
    let org = actor.org.as_str();
    match change {
        Change::AddMember { email, display_name, role } => {
            let user_id = user_id_for(tx, email, display_name, actor.at).await?;
            let before = sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org)
                .bind(&user_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(map_sqlx)?;
            if before.is_some() {
                return Err(StoreError::conflict("member", email));
            }
            sqlx::query("INSERT INTO memberships (org_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)")
                .bind(org)
                .bind(&user_id)
                .bind(role.as_str())
                .bind(actor.at)
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
            let exists = sqlx::query("SELECT 1 FROM controls WHERE org_id = $1 AND code = $2")
                .bind(org)
                .bind(new.code.as_str())
                .fetch_optional(&mut **tx)
                .await
                .map_err(map_sqlx)?;
            if exists.is_some() {
                return Err(StoreError::conflict("control", &new.code));
            }
            insert_control(tx, actor, new).await?;
            Ok((None, Some(to_json(new)?)))
        }
        Change::UpdateControl { code, patch } => {
            let before = control_in_tx(tx, &actor.org, code).await?;
            let mut after = before.clone();
            if let Some(title) = &patch.title {
                after.title = title.clone();
            }
            if let Some(description) = &patch.description {
                after.description = description.clone();
            }
            if let Some(owner) = &patch.owner {
                after.owner = owner.clone();
            }
            if let Some(frequency) = patch.frequency {
                after.frequency = frequency;
            }
            if let Some(status) = patch.status {
                after.status = status;
            }
            after.updated_at = actor.at;
            sqlx::query(
                "UPDATE controls SET title = $1, description = $2, owner_email = $3, frequency = $4, status = $5, \
                 updated_at = $6 WHERE org_id = $7 AND code = $8",
            )
            .bind(&after.title)
            .bind(&after.description)
            .bind(after.owner.as_ref().map(Email::as_str))
            .bind(after.frequency.as_str())
            .bind(after.status.as_str())
            .bind(after.updated_at)
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
            sqlx::query("UPDATE controls SET retired_at = $1, updated_at = $1 WHERE org_id = $2 AND code = $3")
                .bind(actor.at)
                .bind(org)
                .bind(code.as_str())
                .execute(&mut **tx)
                .await
                .map_err(map_sqlx)?;
            let after = Control { retired_at: Some(actor.at), updated_at: actor.at, ..before.clone() };
            Ok((Some(to_json(&before)?), Some(to_json(&after)?)))
        }
        Change::Map(mapping) => {
            control_in_tx(tx, &actor.org, &mapping.control).await?;
            let before = mapping_in_tx(tx, &actor.org, &mapping.control, &mapping.framework, &mapping.requirement).await?;
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
            let before = mapping_in_tx(tx, &actor.org, control, framework, requirement)
                .await?
                .ok_or_else(|| StoreError::not_found("mapping", evident_store::mapping_key(control, framework, requirement)))?;
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
            let last = sqlx::query("SELECT MAX(version) AS last FROM soa_versions WHERE org_id = $1 AND framework_id = $2")
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
        Change::PutRisk(risk) => {
            let before = load_risks(tx, &actor.org, Some(&risk.code)).await?.pop();
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
                sqlx::query(sql)
                    .bind(org)
                    .bind(risk.code.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(map_sqlx)?;
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
            let before = load_risks(tx, &actor.org, Some(code)).await?.pop().ok_or_else(|| StoreError::not_found("risk", code))?;
            let last = sqlx::query("SELECT MAX(seq) AS last FROM risk_acceptances WHERE org_id = $1 AND risk_code = $2")
                .bind(org)
                .bind(code.as_str())
                .fetch_one(&mut **tx)
                .await
                .map_err(map_sqlx)?;
            let seq = get::<Option<i64>>(&last, "last")?.unwrap_or(0) + 1;
            sqlx::query(
                "INSERT INTO risk_acceptances (org_id, risk_code, seq, accepted_by, accepted_at, expires_on, note) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(org)
            .bind(code.as_str())
            .bind(seq)
            .bind(acceptance.by.as_str())
            .bind(acceptance.at)
            .bind(acceptance.expires)
            .bind(&acceptance.note)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
            Ok((before.acceptance.as_ref().map(to_json).transpose()?, Some(to_json(acceptance)?)))
        }
    }
}

/// A small number stored as an integer column, back into the range the domain allows.
fn small(row: &DbRow, table: &str, column: &str) -> Result<u8> {
    let value: i64 = get(row, column)?;
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
async fn load_risks(conn: &mut <Db as sqlx::Database>::Connection, org: &OrgId, only: Option<&RiskCode>) -> Result<Vec<Risk>> {
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
    let [asset_rows, control_rows, mut acceptance_rows] = <[Vec<DbRow>; 3]>::try_from(related)
        .map_err(|_| StoreError::Corrupt("risk relations".into()))?;
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
                Ok::<_, StoreError>(Acceptance {
                    by: parsed(r, "risk_acceptances", "accepted_by", Email::parse)?,
                    at: get(r, "accepted_at")?,
                    expires: get(r, "expires_on")?,
                    note: get(r, "note")?,
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

async fn insert_control(tx: &mut Tx<'_>, actor: &Actor, new: &NewControl) -> Result<()> {
    sqlx::query(
        "INSERT INTO controls (org_id, code, title, description, owner_email, frequency, status, retired_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $8)",
    )
    .bind(actor.org.as_str())
    .bind(new.code.as_str())
    .bind(&new.title)
    .bind(&new.description)
    .bind(new.owner.as_ref().map(Email::as_str))
    .bind(new.frequency.as_str())
    .bind(new.status.as_str())
    .bind(actor.at)
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    Ok(())
}

#[async_trait]
impl Store for Backend {
    async fn create_org(&self, new: &NewOrganisation, at: DateTime<Utc>) -> Result<Organisation> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx)?;
        let taken = sqlx::query("SELECT 1 FROM organisations WHERE slug = $1")
            .bind(new.slug.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        if taken.is_some() {
            return Err(StoreError::conflict("organisation", &new.slug));
        }
        let org = Organisation { id: OrgId::from_store(new_id()), slug: new.slug.clone(), name: new.name.clone(), created_at: at };
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
        .map_err(map_sqlx)?;
        let actor = Actor { org: org.id.clone(), who: new.admin_email.to_string(), at };
        append_audit(&mut tx, &actor, ("organisation.create", "organisation", org.slug.to_string()), None, Some(to_json(&org)?))
            .await?;
        let first_admin = Change::AddMember { email: new.admin_email.clone(), display_name: new.admin_name.clone(), role: Role::Admin };
        let (before, after) = apply_one(&mut tx, &actor, &first_admin).await?;
        append_audit(&mut tx, &actor, evident_store::describe(&first_admin), before, after).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(org)
    }

    async fn orgs(&self) -> Result<Vec<Organisation>> {
        let rows = sqlx::query("SELECT * FROM organisations").fetch_all(&self.pool).await.map_err(map_sqlx)?;
        let mut orgs = rows.iter().map(org_from_row).collect::<Result<Vec<_>>>()?;
        orgs.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(orgs)
    }

    async fn org_by_slug(&self, slug: &OrgSlug) -> Result<Option<Organisation>> {
        let row = sqlx::query("SELECT * FROM organisations WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx)?;
        row.as_ref().map(org_from_row).transpose()
    }

    async fn apply(&self, actor: &Actor, changes: Vec<Change>) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx)?;
        for change in &changes {
            let (before, after) = apply_one(&mut tx, actor, change).await?;
            append_audit(&mut tx, actor, evident_store::describe(change), before, after).await?;
        }
        tx.commit().await.map_err(map_sqlx)
    }

    async fn members(&self, org: &OrgId) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT u.email, u.display_name, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1",
        )
        .bind(org.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx)?;
        let mut members = rows.iter().map(member_from_row).collect::<Result<Vec<_>>>()?;
        members.sort_by(|a, b| a.joined_at.cmp(&b.joined_at).then_with(|| a.email.cmp(&b.email)));
        Ok(members)
    }

    async fn member(&self, org: &OrgId, email: &Email) -> Result<Option<Member>> {
        let row = sqlx::query(
            "SELECT u.email, u.display_name, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 AND u.email = $2",
        )
        .bind(org.as_str())
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
        row.as_ref().map(member_from_row).transpose()
    }

    async fn adoptions(&self, org: &OrgId) -> Result<Vec<Adoption>> {
        let rows = sqlx::query("SELECT * FROM adoptions WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx)?;
        let mut adoptions = rows.iter().map(adoption_from_row).collect::<Result<Vec<_>>>()?;
        adoptions.sort_by(|a, b| a.framework.cmp(&b.framework));
        Ok(adoptions)
    }

    async fn controls(&self, org: &OrgId) -> Result<Vec<Control>> {
        let rows = sqlx::query("SELECT * FROM controls WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx)?;
        let mut controls = rows.iter().map(control_from_row).collect::<Result<Vec<_>>>()?;
        controls.sort_by(|a, b| evident_core::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
        Ok(controls)
    }

    async fn control(&self, org: &OrgId, code: &ControlCode) -> Result<Option<Control>> {
        let row = sqlx::query("SELECT * FROM controls WHERE org_id = $1 AND code = $2")
            .bind(org.as_str())
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx)?;
        row.as_ref().map(control_from_row).transpose()
    }

    async fn mappings(&self, org: &OrgId) -> Result<Vec<Mapping>> {
        let rows = sqlx::query("SELECT * FROM mappings WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx)?;
        let mut mappings = rows.iter().map(mapping_from_row).collect::<Result<Vec<_>>>()?;
        evident_store::sort_mappings(&mut mappings);
        Ok(mappings)
    }

    async fn soa_decisions(&self, org: &OrgId, framework: &FrameworkId) -> Result<Vec<(RequirementRef, Decision)>> {
        let rows = sqlx::query("SELECT * FROM soa_decisions WHERE org_id = $1 AND framework_id = $2")
            .bind(org.as_str())
            .bind(framework.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx)?;
        let mut decisions = rows
            .iter()
            .map(|row| Ok((parsed(row, "soa_decisions", "requirement_ref", RequirementRef::parse)?, decision_from_row(row)?)))
            .collect::<Result<Vec<_>>>()?;
        decisions.sort_by(|a, b| a.0.natural_cmp(&b.0));
        Ok(decisions)
    }

    async fn soa_versions(&self, org: &OrgId, framework: &FrameworkId) -> Result<Vec<SoaVersion>> {
        let rows = sqlx::query("SELECT * FROM soa_versions WHERE org_id = $1 AND framework_id = $2 ORDER BY version")
            .bind(org.as_str())
            .bind(framework.as_str())
            .fetch_all(&self.pool)
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

    async fn methodologies(&self, org: &OrgId) -> Result<Vec<MethodologyVersion>> {
        let rows = sqlx::query("SELECT * FROM risk_methodologies WHERE org_id = $1 ORDER BY version")
            .bind(org.as_str())
            .fetch_all(&self.pool)
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
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx)?;
        let mut assets = rows.iter().map(asset_from_row).collect::<Result<Vec<_>>>()?;
        assets.sort_by(|a, b| evident_core::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
        Ok(assets)
    }

    async fn risks(&self, org: &OrgId) -> Result<Vec<Risk>> {
        let mut conn = self.pool.acquire().await.map_err(map_sqlx)?;
        load_risks(&mut conn, org, None).await
    }

    async fn audit_log(&self, org: &OrgId) -> Result<(Vec<AuditRecord>, ChainHead)> {
        let head = sqlx::query("SELECT audit_head_seq, audit_head_hash FROM organisations WHERE id = $1")
            .bind(org.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx)?
            .ok_or_else(|| StoreError::not_found("organisation", org))?;
        let head = ChainHead {
            seq: get(&head, "audit_head_seq")?,
            hash: parsed(&head, "organisations", "audit_head_hash", Sha256Digest::parse)?,
        };
        let rows = sqlx::query("SELECT * FROM audit_log WHERE org_id = $1 ORDER BY seq")
            .bind(org.as_str())
            .fetch_all(&self.pool)
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
}

/// Statements that bypass the store's rules, for tests that tamper with the database on purpose.
/// Only built with the `testkit` feature, so a release binary has no such door.
#[cfg(feature = "testkit")]
#[async_trait]
impl evident_store::RawSql for Backend {
    async fn execute_raw(&self, sql: &str) -> Result<u64> {
        let done = sqlx::query(sql).execute(&self.pool).await.map_err(map_sqlx)?;
        Ok(done.rows_affected())
    }
}


/// Turns a driver error into what the user can act on.
fn map_sqlx(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict { what: "record", key: db.message().to_owned() }
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::NotFound { what: "referenced record", key: db.message().to_owned() }
        }
        sqlx::Error::Io(e) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Tls(e) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::PoolTimedOut => StoreError::Unavailable("timed out waiting for a connection".into()),
        sqlx::Error::PoolClosed => StoreError::Unavailable("the connection pool is closed".into()),
        sqlx::Error::ColumnDecode { index, source } => StoreError::Corrupt(format!("column {index}: {source}")),
        other => StoreError::Unexpected(Box::new(other)),
    }
}
