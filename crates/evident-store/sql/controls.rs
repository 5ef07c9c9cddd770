//! Controls and their mappings to requirements.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use evident_core::freshness::MaxAge;
use evident_core::{
    Control, ControlCode, ControlId, ControlPatch, Coverage, Email, FrameworkId, Frequency, ImplementationStatus,
    Mapping, OrgId, RequirementRef,
};
use evident_store::{Actor, Applied, ControlChange, Controls, NewControl, Result, StoreError};

use super::common::{Outcome, Tx, get, json_rows, map_sqlx, new_id, parse_time, parsed, parsed_opt, to_json};
use crate::{Backend, Db, DbRow};

fn control_from_row(row: &DbRow) -> Result<Control> {
    Ok(Control {
        id: parsed(row, "controls", "id", ControlId::parse)?,
        code: parsed(row, "controls", "code", ControlCode::parse)?,
        title: get(row, "title")?,
        description: get(row, "description")?,
        owner: parsed_opt(row, "controls", "owner_email", Email::parse)?,
        frequency: parsed(row, "controls", "frequency", Frequency::parse)?,
        max_evidence_age_days: max_age(get(row, "max_evidence_age_days")?)?,
        status: parsed(row, "controls", "status", ImplementationStatus::parse)?,
        retired_at: get(row, "retired_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        revision: get(row, "revision")?,
    })
}

/// The column `max_evidence_age_days` (an INTEGER in both databases, read as `i32`).
fn max_age(days: Option<i32>) -> Result<Option<MaxAge>> {
    days.map(|d| u32::try_from(d).map_err(|_| d.to_string()).and_then(|d| MaxAge::new(d).map_err(|e| e.to_string())))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("controls.max_evidence_age_days: {e}")))
}

/// A control's own limit as its column holds it.
fn max_age_column(max_age: Option<MaxAge>) -> Option<i32> {
    // At most MaxAge::MAX_DAYS, far below i32::MAX.
    max_age.map(|a| i32::try_from(a.days()).unwrap_or(i32::MAX))
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

pub(super) async fn control_in_tx(tx: &mut Tx<'_>, org: &OrgId, code: &ControlCode) -> Result<Control> {
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

async fn insert_control(tx: &mut Tx<'_>, actor: &Actor, new: &NewControl) -> Result<ControlId> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO controls (org_id, id, code, title, description, owner_email, frequency, status, retired_at, created_at, \
         updated_at, revision, max_evidence_age_days) VALUES ($1, $9, $2, $3, $4, $5, $6, $7, NULL, $8, $8, 1, $10)",
    )
    .bind(actor.org.as_str())
    .bind(new.code.as_str())
    .bind(&new.title)
    .bind(&new.description)
    .bind(new.owner.as_ref().map(Email::as_str))
    .bind(new.frequency.as_str())
    .bind(new.status.as_str())
    .bind(actor.at)
    .bind(&id)
    .bind(max_age_column(new.max_evidence_age_days))
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    ControlId::parse(&id).map_err(|e| StoreError::Unexpected(e.to_string().into()))
}

/// Writes one change to the organisation's controls or their mappings.
pub(super) async fn apply(tx: &mut Tx<'_>, actor: &Actor, change: &ControlChange) -> Result<Outcome> {
    match change {
        ControlChange::Create(new) => create(tx, actor, new).await,
        ControlChange::Update { code, patch, expected_revision } => {
            update(tx, actor, code, patch, *expected_revision).await
        }
        ControlChange::Retire { code } => retire(tx, actor, code).await,
        ControlChange::Rename { code, to } => rename(tx, actor, code, to).await,
        ControlChange::Map(mapping) => map(tx, actor, mapping).await,
        ControlChange::Unmap { control, framework, requirement } => {
            unmap(tx, actor, control, framework, requirement).await
        }
    }
}

async fn create(tx: &mut Tx<'_>, actor: &Actor, new: &NewControl) -> Result<Outcome> {
    // Codes are unique without regard to case: `iam-01` beside `IAM-01` is the same control.
    let taken = code_taken(tx, &actor.org, &new.code).await?;
    if let Some(existing) = taken {
        return Err(StoreError::conflict("control", existing));
    }
    let id = insert_control(tx, actor, new).await?;
    Ok(Outcome::changed(None, Some(to_json(new)?)).reporting(Applied::ControlCreated { id }))
}

async fn update(
    tx: &mut Tx<'_>,
    actor: &Actor,
    code: &ControlCode,
    patch: &ControlPatch,
    expected_revision: Option<i64>,
) -> Result<Outcome> {
    let org = actor.org.as_str();
    let before = control_in_tx(tx, &actor.org, code).await?;
    if let Some(expected) = expected_revision
        && expected != before.revision
    {
        let detail = format!("the edit was based on revision {expected}, it is at revision {}", before.revision);
        return Err(StoreError::Stale { what: "control", key: code.to_string(), detail });
    }
    let mut after = patch.applied_to(&before);
    if after == before {
        return Ok(Outcome::unchanged());
    }
    after.updated_at = actor.at;
    after.revision = before.revision + 1;
    sqlx::query(
        "UPDATE controls SET title = $1, description = $2, owner_email = $3, frequency = $4, status = $5, \
         updated_at = $6, revision = $7, max_evidence_age_days = $10 WHERE org_id = $8 AND code = $9",
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
    .bind(max_age_column(after.max_evidence_age_days))
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    Ok(Outcome::changed(Some(to_json(&before)?), Some(to_json(&after)?)))
}

async fn retire(tx: &mut Tx<'_>, actor: &Actor, code: &ControlCode) -> Result<Outcome> {
    let org = actor.org.as_str();
    let before = control_in_tx(tx, &actor.org, code).await?;
    if before.retired_at.is_some() {
        return Err(StoreError::conflict("retired control", code));
    }
    let after =
        Control { retired_at: Some(actor.at), updated_at: actor.at, revision: before.revision + 1, ..before.clone() };
    sqlx::query("UPDATE controls SET retired_at = $1, updated_at = $1, revision = $2 WHERE org_id = $3 AND code = $4")
        .bind(actor.at)
        .bind(after.revision)
        .bind(org)
        .bind(code.as_str())
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    Ok(Outcome::changed(Some(to_json(&before)?), Some(to_json(&after)?)))
}

async fn rename(tx: &mut Tx<'_>, actor: &Actor, code: &ControlCode, to: &ControlCode) -> Result<Outcome> {
    let org = actor.org.as_str();
    let before = control_in_tx(tx, &actor.org, code).await?;
    if to == code {
        return Ok(Outcome::unchanged());
    }
    if let Some(existing) = code_taken(tx, &actor.org, to).await?.filter(|c| c != code) {
        return Err(StoreError::conflict("control", existing));
    }
    let after = Control { code: to.clone(), updated_at: actor.at, revision: before.revision + 1, ..before.clone() };
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
         created_at, updated_at, revision, max_evidence_age_days) \
         SELECT org_id, $1, $2, title, description, owner_email, frequency, status, retired_at, created_at, $3, $4, \
         max_evidence_age_days FROM controls WHERE org_id = $5 AND code = $6",
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
        sqlx::query(sql).bind(to.as_str()).bind(org).bind(code.as_str()).execute(&mut **tx).await.map_err(map_sqlx)?;
    }
    Ok(Outcome::changed(Some(to_json(&before)?), Some(to_json(&after)?)))
}

async fn map(tx: &mut Tx<'_>, actor: &Actor, mapping: &Mapping) -> Result<Outcome> {
    let org = actor.org.as_str();
    control_in_tx(tx, &actor.org, &mapping.control).await?;
    let before = mapping_in_tx(tx, &actor.org, &mapping.control, &mapping.framework, &mapping.requirement).await?;
    if before.as_ref() == Some(mapping) {
        return Ok(Outcome::unchanged());
    }
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
    Ok(Outcome::changed(before.as_ref().map(to_json).transpose()?, Some(to_json(mapping)?)))
}

/// The mapping columns, in the order [`mappings_from_json`] reads them.
const MAPPING_COLUMNS: &str = "control_code, framework_id, requirement_ref, coverage, rationale";

/// Mappings from one row of JSON (an array of [`MAPPING_COLUMNS`] arrays) instead of a row per
/// mapping: an organisation has tens of thousands, and the driver's cost is per row (on SQLite
/// each row crosses from its worker thread).
fn mappings_from_json(text: &str) -> Result<Vec<Mapping>> {
    // The values are parsed straight from the row's text; only one with escapes is copied.
    #[derive(serde::Deserialize)]
    struct Row<'a>(
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
        #[serde(borrow)] Cow<'a, str>,
    );
    let rows: Vec<Row<'_>> = serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("mappings: {e}")))?;
    let corrupt = |column: &str, e: evident_core::ParseError| StoreError::Corrupt(format!("mappings.{column}: {e}"));
    rows.into_iter()
        .map(|Row(control, framework, requirement, coverage, rationale)| {
            Ok(Mapping {
                control: ControlCode::parse(&control).map_err(|e| corrupt("control_code", e))?,
                framework: FrameworkId::parse(&framework).map_err(|e| corrupt("framework_id", e))?,
                requirement: RequirementRef::parse(&requirement).map_err(|e| corrupt("requirement_ref", e))?,
                coverage: Coverage::parse(&coverage).map_err(|e| corrupt("coverage", e))?,
                rationale: rationale.into_owned(),
            })
        })
        .collect()
}

/// From how many mapping changes in a row [`map_all`] writes them together.
pub(super) const MAP_BATCH_FROM: usize = 16;

/// Rows per multi-row insert: 500 × 6 values stays far under either database's parameter limit.
const MAP_ROWS_PER_INSERT: usize = 500;

/// A run of mapping changes (an import's), with the outcome of each, in a few statements: the
/// organisation's control codes and mappings are read once, each change is compared in memory
/// (the same rules as [`map`]: the control must exist, an identical mapping is unchanged), and
/// what changed is written in multi-row upserts. One statement per row would cost a round trip
/// each: 60,000 of them for a 20,000-row import on PostgreSQL.
pub(super) async fn map_all(tx: &mut Tx<'_>, actor: &Actor, mappings: &[&Mapping]) -> Result<Vec<Outcome>> {
    let org = actor.org.as_str();
    let sql = format!("SELECT {} AS rows FROM controls WHERE org_id = $1", json_rows("code"));
    let row = sqlx::query(&sql).bind(org).fetch_one(&mut **tx).await.map_err(map_sqlx)?;
    let codes: Vec<(String,)> = serde_json::from_str(get::<&str>(&row, "rows")?)
        .map_err(|e| StoreError::Corrupt(format!("controls.code: {e}")))?;
    let codes: HashSet<String> = codes.into_iter().map(|(code,)| code).collect();
    let sql = format!("SELECT {} AS rows FROM mappings WHERE org_id = $1", json_rows(MAPPING_COLUMNS));
    let row = sqlx::query(&sql).bind(org).fetch_one(&mut **tx).await.map_err(map_sqlx)?;
    let key = |m: &Mapping| (m.control.clone(), m.framework.clone(), m.requirement.clone());
    let mut current: HashMap<_, Mapping> =
        mappings_from_json(get(&row, "rows")?)?.into_iter().map(|m| (key(&m), m)).collect();

    let mut outcomes = Vec::with_capacity(mappings.len());
    let mut written = Vec::new();
    for &mapping in mappings {
        if !codes.contains(mapping.control.as_str()) {
            return Err(StoreError::not_found("control", &mapping.control));
        }
        let before = current.insert(key(mapping), mapping.clone());
        if before.as_ref() == Some(mapping) {
            outcomes.push(Outcome::unchanged());
            continue;
        }
        outcomes.push(Outcome::changed(before.as_ref().map(to_json).transpose()?, Some(to_json(mapping)?)));
        written.push(key(mapping));
    }
    // A mapping changed twice in the run is written once, as it ends: one statement must not
    // touch a row twice.
    let mut seen = HashSet::new();
    let rows: Vec<&Mapping> = written.iter().rev().filter(|k| seen.insert(*k)).filter_map(|k| current.get(k)).collect();
    for chunk in rows.chunks(MAP_ROWS_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(format!("INSERT INTO mappings (org_id, {MAPPING_COLUMNS}) "));
        insert.push_values(chunk, |mut values, m| {
            values
                .push_bind(org)
                .push_bind(m.control.as_str())
                .push_bind(m.framework.as_str())
                .push_bind(m.requirement.as_str())
                .push_bind(m.coverage.as_str())
                .push_bind(&m.rationale);
        });
        insert.push(
            " ON CONFLICT (org_id, control_code, framework_id, requirement_ref) \
             DO UPDATE SET coverage = excluded.coverage, rationale = excluded.rationale",
        );
        insert.build().execute(&mut **tx).await.map_err(map_sqlx)?;
    }
    Ok(outcomes)
}

async fn unmap(
    tx: &mut Tx<'_>,
    actor: &Actor,
    control: &ControlCode,
    framework: &FrameworkId,
    requirement: &RequirementRef,
) -> Result<Outcome> {
    let org = actor.org.as_str();
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
    Ok(Outcome::changed(Some(to_json(&before)?), None))
}

#[async_trait]
impl Controls for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn controls(&self, org: &OrgId) -> Result<Vec<Control>> {
        // One row of JSON, as for mappings. Times travel as text in each backend's own format.
        let sql = format!(
            "SELECT {} AS rows FROM controls WHERE org_id = $1",
            json_rows(
                "id, code, title, description, owner_email, frequency, status, \
                 CAST(retired_at AS TEXT), CAST(created_at AS TEXT), CAST(updated_at AS TEXT), revision, \
                 max_evidence_age_days"
            )
        );
        let row = sqlx::query(&sql).bind(org.as_str()).fetch_one(self.reader()).await.map_err(map_sqlx)?;
        let text: String = get(&row, "rows")?;
        // The last is max_evidence_age_days (an INTEGER in both databases).
        type Days = Option<i32>;
        type ControlTuple =
            (String, String, String, String, Option<String>, String, String, Option<String>, String, String, i64, Days);
        let tuples: Vec<ControlTuple> =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("controls: {e}")))?;
        let corrupt = |column: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("controls.{column}: {e}"));
        let time = |column: &str, text: &str| parse_time(text).map_err(|e| corrupt(column, &e));
        let mut controls = tuples
            .into_iter()
            .map(|(id, code, title, description, owner, frequency, status, retired, created, updated, revision, d)| {
                Ok(Control {
                    id: ControlId::parse(&id).map_err(|e| corrupt("id", &e))?,
                    code: ControlCode::parse(&code).map_err(|e| corrupt("code", &e))?,
                    title,
                    description,
                    owner: owner.as_deref().map(Email::parse).transpose().map_err(|e| corrupt("owner_email", &e))?,
                    frequency: Frequency::parse(&frequency).map_err(|e| corrupt("frequency", &e))?,
                    max_evidence_age_days: max_age(d)?,
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

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, code = %code))]
    async fn control(&self, org: &OrgId, code: &ControlCode) -> Result<Option<Control>> {
        let row = sqlx::query("SELECT * FROM controls WHERE org_id = $1 AND code = $2")
            .bind(org.as_str())
            .bind(code.as_str())
            .fetch_optional(self.reader())
            .await
            .map_err(map_sqlx)?;
        row.as_ref().map(control_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn mappings(&self, org: &OrgId) -> Result<Vec<Mapping>> {
        // One row of JSON instead of a row per mapping: an organisation has tens of thousands, and
        // the driver's cost is per row (on SQLite each row crosses from its worker thread).
        let sql = format!("SELECT {} AS rows FROM mappings WHERE org_id = $1", json_rows(MAPPING_COLUMNS));
        let row = sqlx::query(&sql).bind(org.as_str()).fetch_one(self.reader()).await.map_err(map_sqlx)?;
        let text: &str = get(&row, "rows")?;
        let mut mappings = mappings_from_json(text)?;
        evident_store::sort_mappings(&mut mappings);
        Ok(mappings)
    }
}
