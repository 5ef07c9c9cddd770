//! Adoptions of frameworks, and the frameworks an organisation imports.

use async_trait::async_trait;
use chrono::NaiveDate;
use evident_core::{Framework, FrameworkId, OrgId, Sha256Digest};
use evident_store::{Actor, Adoption, FrameworkChange, Frameworks, ImportedFramework, Result, StoreError};

use super::common::{Outcome, Tx, get, map_sqlx, parsed, to_json};
use crate::{Backend, DbRow};

fn adoption_from_row(row: &DbRow) -> Result<Adoption> {
    Ok(Adoption {
        framework: parsed(row, "adoptions", "framework_id", FrameworkId::parse)?,
        categories: parsed(row, "adoptions", "categories", |t| serde_json::from_str::<Vec<String>>(t))?,
        scope: get(row, "scope")?,
        target_date: get::<Option<NaiveDate>>(row, "target_date")?,
        adopted_at: get(row, "adopted_at")?,
    })
}

/// Writes one change to the organisation's frameworks.
pub(super) async fn apply(tx: &mut Tx<'_>, actor: &Actor, change: &FrameworkChange) -> Result<Outcome> {
    match change {
        FrameworkChange::Adopt(adoption) => adopt(tx, actor, adoption).await,
        FrameworkChange::Import(framework) => import(tx, actor, framework).await,
    }
}

async fn adopt(tx: &mut Tx<'_>, actor: &Actor, adoption: &Adoption) -> Result<Outcome> {
    let org = actor.org.as_str();
    let before = sqlx::query("SELECT * FROM adoptions WHERE org_id = $1 AND framework_id = $2")
        .bind(org)
        .bind(adoption.framework.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    let before = before.as_ref().map(adoption_from_row).transpose()?;
    // Adopting again changes the scope; the first adoption's time stays.
    if before.as_ref().is_some_and(|b| {
        (&b.categories, &b.scope, b.target_date) == (&adoption.categories, &adoption.scope, adoption.target_date)
    }) {
        return Ok(Outcome::unchanged());
    }
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
    Ok(Outcome::changed(before.as_ref().map(to_json).transpose()?, Some(to_json(adoption)?)))
}

async fn import(tx: &mut Tx<'_>, actor: &Actor, framework: &Framework) -> Result<Outcome> {
    let org = actor.org.as_str();
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
    Ok(Outcome::changed(None, Some(definition)))
}

#[async_trait]
impl Frameworks for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
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

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn frameworks(&self, org: &OrgId) -> Result<Vec<ImportedFramework>> {
        let rows = sqlx::query("SELECT * FROM imported_frameworks WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut frameworks = rows
            .iter()
            .map(|row| {
                let framework: Framework =
                    parsed(row, "imported_frameworks", "definition", |t| serde_json::from_str(t))?;
                let id = parsed(row, "imported_frameworks", "framework_id", FrameworkId::parse)?;
                if framework.id() != &id {
                    let problem = format!("imported_frameworks.definition: holds {} under {id}", framework.id());
                    return Err(StoreError::Corrupt(problem));
                }
                Ok(ImportedFramework {
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
