// The SQL implementation of `evident_store::Store`, written once and compiled into each backend
// crate with `include!`. The including crate defines, before the include:
//   type Db = sqlx::Sqlite | sqlx::Postgres;   type DbRow = that backend's row type;
//   type Backend = its store struct, with a field `pool: sqlx::Pool<Db>`;
//   fn map_sqlx(e: sqlx::Error) -> StoreError;  (backend-specific error codes)
// Every statement here runs unchanged on SQLite and PostgreSQL: `$n` placeholders, TEXT keys,
// `ON CONFLICT`, `RETURNING`. Ordering is done in Rust, so both backends sort alike whatever the
// database collation.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use evident_core::audit::{self, AuditEntry, AuditRecord, ChainHead};
use evident_core::{
    Control, ControlCode, Coverage, Email, FrameworkId, Frequency, ImplementationStatus, Mapping, OrgId, OrgSlug,
    RequirementRef, Role, Sha256Digest,
};
use evident_core::soa::{Decision, Reason, SoaRow};
use evident_store::{
    Actor, Adoption, Change, Member, NewControl, NewOrganisation, Organisation, Result, SoaVersion, Store, StoreError,
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
    }
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
