//! The risk register: methodology versions, assets, risks with their links, and acceptances.

use async_trait::async_trait;
use evident_core::risk::{
    Acceptance, Asset, AssetKind, Classification, Methodology, Rating, Risk, Terms, Treating, Treatment,
};
use evident_core::{AssetCode, ControlCode, Email, OrgId, RiskCode};
use evident_store::{Actor, Applied, MethodologyVersion, Result, RiskChange, Risks, StoreError};

use super::common::{Outcome, Tx, get, map_sqlx, parsed, parsed_opt, to_json};
use super::controls::control_in_tx;
use crate::{Backend, Db, DbRow};

/// A small number stored as an integer column, back into the range the domain allows.
fn small(row: &DbRow, table: &str, column: &str) -> Result<u8> {
    small_value(table, column, get(row, column)?)
}

fn small_value(table: &str, column: &str, value: i64) -> Result<u8> {
    u8::try_from(value).map_err(|_| StoreError::Corrupt(format!("{table}.{column}: {value} is out of range")))
}

/// A stored rating, or `Corrupt` naming the table if it is off every scale.
fn rating(table: &str, likelihood: u8, impact: u8) -> Result<Rating> {
    Rating::new(likelihood, impact).map_err(|e| StoreError::Corrupt(format!("{table}: {e}")))
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
                        residual: rating(
                            "risk_acceptances",
                            small_value("risk_acceptances", "residual_likelihood", likelihood)?,
                            small_value("risk_acceptances", "residual_impact", impact)?,
                        )?,
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
            inherent: rating(
                "risks",
                small(row, "risks", "inherent_likelihood")?,
                small(row, "risks", "inherent_impact")?,
            )?,
            treatment: parsed(row, "risks", "treatment", Treatment::parse)?,
            controls,
            residual: rating(
                "risks",
                small(row, "risks", "residual_likelihood")?,
                small(row, "risks", "residual_impact")?,
            )?,
            residual_justification: get(row, "residual_justification")?,
            review_date: get(row, "review_date")?,
            acceptance,
            closed: get(row, "closed")?,
        });
    }
    risks.sort_by(|a, b| evident_core::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
    Ok(risks)
}

/// Writes one change to the organisation's risk register.
pub(super) async fn apply(tx: &mut Tx<'_>, actor: &Actor, change: &RiskChange) -> Result<Outcome> {
    match change {
        RiskChange::SetMethodology(methodology) => set_methodology(tx, actor, methodology).await,
        RiskChange::PutAsset(asset) => put_asset(tx, actor, asset, None).await,
        RiskChange::PutAssetBasedOn { asset, based_on } => put_asset(tx, actor, asset, Some(based_on.as_deref())).await,
        RiskChange::Put(risk) => put_risk(tx, actor, risk, Expect::Anything).await,
        RiskChange::Create(risk) => put_risk(tx, actor, risk, Expect::Absent).await,
        RiskChange::PutBasedOn { risk, based_on } => put_risk(tx, actor, risk, Expect::AsRead(based_on)).await,
        RiskChange::Accept { code, acceptance } => accept(tx, actor, code, acceptance).await,
    }
}

async fn set_methodology(tx: &mut Tx<'_>, actor: &Actor, methodology: &Methodology) -> Result<Outcome> {
    let org = actor.org.as_str();
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
    let after = to_json(&serde_json::json!({"version": version, "methodology": methodology}))?;
    Ok(Outcome::changed(None, Some(after)).reporting(Applied::MethodologySet { version }))
}

/// Creates or replaces an asset; with `based_on`, only while the stored one is still as read
/// (`Some(None)`: still absent).
async fn put_asset(tx: &mut Tx<'_>, actor: &Actor, asset: &Asset, based_on: Option<Option<&Asset>>) -> Result<Outcome> {
    let org = actor.org.as_str();
    let before = asset_in_tx(tx, &actor.org, &asset.code).await?;
    match (based_on, &before) {
        (Some(None), Some(_)) => return Err(StoreError::conflict("asset", &asset.code)),
        (Some(Some(read)), stored) if stored.as_ref() != Some(read) => {
            return Err(StoreError::Stale {
                what: "asset",
                key: asset.code.to_string(),
                detail: "read it again and redo the edit".into(),
            });
        }
        _ => {}
    }
    if before.as_ref() == Some(asset) {
        return Ok(Outcome::unchanged());
    }
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
    Ok(Outcome::changed(before.as_ref().map(to_json).transpose()?, Some(to_json(asset)?)))
}

/// What a risk write expects to find stored under its code.
enum Expect<'a> {
    /// Whatever is there (an import).
    Anything,
    /// Nothing: a new risk.
    Absent,
    /// The risk exactly as the writer read it: an edit.
    AsRead(&'a Risk),
}

/// Creates or replaces a risk, once what is stored is what `expect` says.
async fn put_risk(tx: &mut Tx<'_>, actor: &Actor, risk: &Risk, expect: Expect<'_>) -> Result<Outcome> {
    let org = actor.org.as_str();
    let before = load_risks(tx, &actor.org, Some(&risk.code)).await?.pop();
    match (expect, &before) {
        (Expect::Absent, Some(_)) => return Err(StoreError::conflict("risk", &risk.code)),
        (Expect::AsRead(_), None) => return Err(StoreError::not_found("risk", &risk.code)),
        (Expect::AsRead(read), Some(stored)) if stored != read => {
            return Err(StoreError::Stale {
                what: "risk",
                key: risk.code.to_string(),
                detail: "read it again and redo the edit".into(),
            });
        }
        _ => {}
    }
    // Acceptances are kept; assets and controls compare as sets, in the order they are read back.
    let stored = Risk { acceptance: before.as_ref().and_then(|b| b.acceptance.clone()), ..risk.clone() };
    let mut as_read = stored.clone();
    as_read.assets.sort();
    as_read.controls.sort_by(|a, b| a.control.cmp(&b.control));
    if before.as_ref() == Some(&as_read) {
        return Ok(Outcome::unchanged());
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
    .bind(i64::from(risk.inherent.likelihood()))
    .bind(i64::from(risk.inherent.impact()))
    .bind(risk.treatment.as_str())
    .bind(i64::from(risk.residual.likelihood()))
    .bind(i64::from(risk.residual.impact()))
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
    Ok(Outcome::changed(before.as_ref().map(to_json).transpose()?, Some(to_json(&stored)?)))
}

async fn accept(tx: &mut Tx<'_>, actor: &Actor, code: &RiskCode, acceptance: &Acceptance) -> Result<Outcome> {
    let org = actor.org.as_str();
    let before =
        load_risks(tx, &actor.org, Some(code)).await?.pop().ok_or_else(|| StoreError::not_found("risk", code))?;
    // The acceptance was decided on the risk as it was; if it was re-rated or re-treated
    // since, the decision is refused rather than recorded against what nobody accepted.
    if let Some(terms) = acceptance.terms
        && (terms.residual != before.residual || terms.treatment != before.treatment)
    {
        let detail = "it was re-rated or its treatment changed after the acceptance was decided".to_owned();
        return Err(StoreError::Stale { what: "risk", key: code.to_string(), detail });
    }
    let last = sqlx::query("SELECT MAX(seq) AS last FROM risk_acceptances WHERE org_id = $1 AND risk_code = $2")
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
    .bind(acceptance.terms.map(|t| i64::from(t.residual.likelihood())))
    .bind(acceptance.terms.map(|t| i64::from(t.residual.impact())))
    .bind(acceptance.terms.map(|t| t.treatment.as_str()))
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    Ok(Outcome::changed(before.acceptance.as_ref().map(to_json).transpose()?, Some(to_json(acceptance)?)))
}

#[async_trait]
impl Risks for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
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

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
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

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn risks(&self, org: &OrgId) -> Result<Vec<Risk>> {
        let mut conn = self.reader().acquire().await.map_err(map_sqlx)?;
        load_risks(&mut conn, org, None).await
    }
}
