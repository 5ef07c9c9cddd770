//! The Statement of Applicability: decisions per requirement and approved, frozen versions.

use async_trait::async_trait;
use evident_core::soa::{Decision, Reason, SoaRow};
use evident_core::{FrameworkId, OrgId, RequirementRef, Sha256Digest};
use evident_store::{Actor, Applied, Result, Soa, SoaChange, SoaVersion, SoaVersionText, StoreError};

use super::common::{Outcome, Tx, get, map_sqlx, parsed, to_json};
use crate::{Backend, DbRow};

fn decision_from_row(row: &DbRow) -> Result<Decision> {
    Ok(Decision {
        applicable: get(row, "applicable")?,
        reasons: parsed(row, "soa_decisions", "reasons", |t| serde_json::from_str::<Vec<Reason>>(t))?,
        justification: get(row, "justification")?,
    })
}

/// Writes one change to the organisation's Statement of Applicability.
pub(super) async fn apply(tx: &mut Tx<'_>, actor: &Actor, change: &SoaChange) -> Result<Outcome> {
    match change {
        SoaChange::Decide { framework, requirement, decision } => {
            decide(tx, actor, framework, requirement, decision, None).await
        }
        SoaChange::DecideBasedOn { framework, requirement, decision, based_on } => {
            decide(tx, actor, framework, requirement, decision, Some(based_on.as_deref())).await
        }
        SoaChange::Approve { framework, rows } => approve(tx, actor, framework, rows).await,
    }
}

async fn decide(
    tx: &mut Tx<'_>,
    actor: &Actor,
    framework: &FrameworkId,
    requirement: &RequirementRef,
    decision: &Decision,
    based_on: Option<Option<&Decision>>,
) -> Result<Outcome> {
    let org = actor.org.as_str();
    let before =
        sqlx::query("SELECT * FROM soa_decisions WHERE org_id = $1 AND framework_id = $2 AND requirement_ref = $3")
            .bind(org)
            .bind(framework.as_str())
            .bind(requirement.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_sqlx)?;
    let before = before.as_ref().map(decision_from_row).transpose()?;
    if let Some(read) = based_on
        && before.as_ref() != read
    {
        return Err(StoreError::conflict("SoA decision", format!("{framework} {requirement}")));
    }
    if before.as_ref() == Some(decision) {
        return Ok(Outcome::unchanged());
    }
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
    Ok(Outcome::changed(before.as_ref().map(to_json).transpose()?, Some(to_json(decision)?)))
}

async fn approve(tx: &mut Tx<'_>, actor: &Actor, framework: &FrameworkId, rows: &[SoaRow]) -> Result<Outcome> {
    let org = actor.org.as_str();
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
    Ok(Outcome::changed(None, Some(to_json(&after)?)).reporting(Applied::SoaApproved { version }))
}

#[async_trait]
impl Soa for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, framework = %framework))]
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

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, framework = %framework))]
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

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn soa_version_texts(&self, org: &OrgId) -> Result<Vec<SoaVersionText>> {
        let rows = sqlx::query("SELECT framework_id, version, digest, rows_json FROM soa_versions WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut versions = rows
            .iter()
            .map(|row| {
                Ok(SoaVersionText {
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
