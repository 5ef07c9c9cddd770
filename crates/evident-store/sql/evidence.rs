//! Evidence records, their links to controls, and the newest current record of each control.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use evident_core::evidence::{
    Evidence, EvidenceLink, EvidenceSource, FileName, LatestEvidence, LinkedEvidence, NewEvidence, Period,
};
use evident_core::{ControlId, EvidenceId, OrgId, Sha256Digest};
use evident_store::{Actor, EvidenceChange, EvidenceQuery, EvidenceRecords, Result, StoreError, StoredSample};

use super::common::{Outcome, Tx, get, map_sqlx, parsed, parsed_opt, to_json};
use crate::{Backend, DbRow};

/// The columns of a record, with the id of the record that superseded it.
const SELECT: &str = "SELECT e.*, (SELECT s.id FROM evidence s WHERE s.org_id = e.org_id AND s.supersedes = e.id) \
                      AS superseded_by FROM evidence e";

fn evidence_from_row(row: &DbRow, links: Vec<EvidenceLink>) -> Result<Evidence> {
    Ok(Evidence {
        id: parsed(row, "evidence", "id", EvidenceId::parse)?,
        record: NewEvidence {
            file_name: parsed(row, "evidence", "file_name", FileName::parse)?,
            media_type: get(row, "media_type")?,
            size: u64::try_from(get::<i64>(row, "size")?)
                .map_err(|_| StoreError::Corrupt("evidence.size: negative".into()))?,
            digest: parsed(row, "evidence", "digest", Sha256Digest::parse)?,
            effective: get(row, "effective_on")?,
            source: parsed(row, "evidence", "source", EvidenceSource::parse)?,
            description: get(row, "description")?,
            links,
            supersedes: parsed_opt(row, "evidence", "supersedes", EvidenceId::parse)?,
        },
        uploaded_by: get(row, "uploaded_by")?,
        uploaded_at: get(row, "uploaded_at")?,
        superseded_by: parsed_opt(row, "evidence", "superseded_by", EvidenceId::parse)?,
    })
}

fn period_from_row(row: &DbRow) -> Result<Option<Period>> {
    let from: Option<NaiveDate> = get(row, "period_from")?;
    let to: Option<NaiveDate> = get(row, "period_to")?;
    match (from, to) {
        (Some(from), Some(to)) => {
            Period::new(from, to).map(Some).map_err(|e| StoreError::Corrupt(format!("evidence_links.period: {e}")))
        }
        (None, None) => Ok(None),
        _ => Err(StoreError::Corrupt("evidence_links.period: only one end is set".into())),
    }
}

/// Writes one change to the organisation's evidence records.
pub(super) async fn apply(tx: &mut Tx<'_>, actor: &Actor, change: &EvidenceChange) -> Result<Outcome> {
    match change {
        EvidenceChange::Add { id, evidence } => add(tx, actor, id, evidence).await,
        EvidenceChange::AddUnlessRecorded { id, evidence } => {
            if recorded_in_tx(tx, &actor.org, evidence).await? {
                return Ok(Outcome::unchanged());
            }
            add(tx, actor, id, evidence).await
        }
    }
}

/// Whether the organisation has a record that says the same as `new` of the same bytes: read
/// inside the write transaction, under the organisation's lock, so no other writer can add one
/// between this check and the commit.
async fn recorded_in_tx(tx: &mut Tx<'_>, org: &OrgId, new: &NewEvidence) -> Result<bool> {
    // Links are compared as a set: a stored record's are read sorted by control.
    let mut new = new.clone();
    new.links.sort_by(|a, b| a.control.cmp(&b.control));
    let rows = sqlx::query(&format!("{SELECT} WHERE e.org_id = $1 AND e.digest = $2 AND e.effective_on = $3"))
        .bind(org.as_str())
        .bind(new.digest.as_str())
        .bind(new.effective)
        .fetch_all(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    for row in &rows {
        let id: String = get(row, "id")?;
        let link_rows = sqlx::query("SELECT * FROM evidence_links WHERE org_id = $1 AND evidence_id = $2")
            .bind(org.as_str())
            .bind(&id)
            .fetch_all(&mut **tx)
            .await
            .map_err(map_sqlx)?;
        let mut links = link_rows
            .iter()
            .map(|l| {
                Ok(EvidenceLink {
                    control: parsed(l, "evidence_links", "control_id", ControlId::parse)?,
                    period: period_from_row(l)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        links.sort_by(|a, b| a.control.cmp(&b.control));
        if evidence_from_row(row, links)?.record.same_as(&new) {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn add(tx: &mut Tx<'_>, actor: &Actor, id: &EvidenceId, new: &NewEvidence) -> Result<Outcome> {
    let org = actor.org.as_str();
    let taken = sqlx::query("SELECT 1 FROM evidence WHERE org_id = $1 AND id = $2")
        .bind(org)
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    if taken.is_some() {
        return Err(StoreError::conflict("evidence", id));
    }
    for link in &new.links {
        let known = sqlx::query("SELECT 1 FROM controls WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(link.control.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_sqlx)?;
        if known.is_none() {
            return Err(StoreError::not_found("control", &link.control));
        }
    }
    if let Some(old) = &new.supersedes {
        let row = sqlx::query(&format!("{SELECT} WHERE e.org_id = $1 AND e.id = $2"))
            .bind(org)
            .bind(old.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_sqlx)?
            .ok_or_else(|| StoreError::not_found("evidence", old))?;
        if let Some(by) = parsed_opt(&row, "evidence", "superseded_by", EvidenceId::parse)? {
            return Err(StoreError::Stale {
                what: "evidence",
                key: old.to_string(),
                detail: format!("it was already superseded by {by}; supersede that one instead"),
            });
        }
    }
    sqlx::query(
        "INSERT INTO evidence (org_id, id, file_name, media_type, size, digest, effective_on, source, description, \
         supersedes, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(org)
    .bind(id.as_str())
    .bind(new.file_name.as_str())
    .bind(&new.media_type)
    .bind(i64::try_from(new.size).map_err(|_| StoreError::Invalid(format!("evidence {id}: the size is too large")))?)
    .bind(new.digest.as_str())
    .bind(new.effective)
    .bind(new.source.as_str())
    .bind(&new.description)
    .bind(new.supersedes.as_ref().map(EvidenceId::as_str))
    .bind(&actor.who)
    .bind(actor.at)
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    for link in &new.links {
        sqlx::query(
            "INSERT INTO evidence_links (org_id, evidence_id, control_id, effective_on, period_from, period_to) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org)
        .bind(id.as_str())
        .bind(link.control.as_str())
        .bind(new.effective)
        .bind(link.period.map(|p| p.from()))
        .bind(link.period.map(|p| p.to()))
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
        // The newest effective date wins; on a tie, the newer record.
        sqlx::query(
            "INSERT INTO evidence_latest (org_id, control_id, evidence_id, effective_on) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, control_id) DO UPDATE SET evidence_id = excluded.evidence_id, \
             effective_on = excluded.effective_on WHERE excluded.effective_on >= evidence_latest.effective_on",
        )
        .bind(org)
        .bind(link.control.as_str())
        .bind(id.as_str())
        .bind(new.effective)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    }
    if let Some(old) = &new.supersedes {
        refresh_latest_after_supersede(tx, &actor.org, old).await?;
    }
    let after = serde_json::json!({ "id": id, "evidence": new });
    Ok(Outcome::changed(None, Some(to_json(&after)?)))
}

/// The controls whose newest record was `old`, now superseded, get their newest current one.
async fn refresh_latest_after_supersede(tx: &mut Tx<'_>, org: &OrgId, old: &EvidenceId) -> Result<()> {
    let controls = sqlx::query("SELECT control_id FROM evidence_latest WHERE org_id = $1 AND evidence_id = $2")
        .bind(org.as_str())
        .bind(old.as_str())
        .fetch_all(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    for row in controls {
        let control: String = get(&row, "control_id")?;
        sqlx::query("DELETE FROM evidence_latest WHERE org_id = $1 AND control_id = $2")
            .bind(org.as_str())
            .bind(&control)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?;
        sqlx::query(
            "INSERT INTO evidence_latest (org_id, control_id, evidence_id, effective_on) \
             SELECT l.org_id, l.control_id, l.evidence_id, l.effective_on FROM evidence_links l \
             JOIN evidence e ON e.org_id = l.org_id AND e.id = l.evidence_id \
             WHERE l.org_id = $1 AND l.control_id = $2 \
             AND NOT EXISTS (SELECT 1 FROM evidence s WHERE s.org_id = e.org_id AND s.supersedes = e.id) \
             ORDER BY l.effective_on DESC, e.uploaded_at DESC, e.id DESC LIMIT 1",
        )
        .bind(org.as_str())
        .bind(&control)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    }
    Ok(())
}

impl Backend {
    /// The records of `rows` with their links, in the order of `rows`.
    async fn with_links(&self, org: &OrgId, rows: Vec<DbRow>, scope: Links<'_>) -> Result<Vec<Evidence>> {
        let mut links: HashMap<String, Vec<EvidenceLink>> = HashMap::new();
        let link_rows = match scope {
            Links::Of(ids) => {
                let mut all = Vec::new();
                for id in ids {
                    let rows = sqlx::query("SELECT * FROM evidence_links WHERE org_id = $1 AND evidence_id = $2")
                        .bind(org.as_str())
                        .bind(id.as_str())
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_sqlx)?;
                    all.extend(rows);
                }
                all
            }
            Links::Between(after, last) => {
                sqlx::query("SELECT * FROM evidence_links WHERE org_id = $1 AND evidence_id > $2 AND evidence_id <= $3")
                    .bind(org.as_str())
                    .bind(after)
                    .bind(last)
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_sqlx)?
            }
            Links::All => sqlx::query("SELECT * FROM evidence_links WHERE org_id = $1")
                .bind(org.as_str())
                .fetch_all(self.reader())
                .await
                .map_err(map_sqlx)?,
        };
        for row in &link_rows {
            let link = EvidenceLink {
                control: parsed(row, "evidence_links", "control_id", ControlId::parse)?,
                period: period_from_row(row)?,
            };
            links.entry(get(row, "evidence_id")?).or_default().push(link);
        }
        rows.iter()
            .map(|row| {
                let id: String = get(row, "id")?;
                let mut links = links.remove(&id).unwrap_or_default();
                links.sort_by(|a, b| a.control.cmp(&b.control));
                evidence_from_row(row, links)
            })
            .collect()
    }
}

/// Whose links [`Backend::with_links`] reads.
enum Links<'a> {
    /// These records' (a few: one query each).
    Of(&'a [EvidenceId]),
    /// The records with ids after the first and up to the second (a page in id order).
    Between(&'a str, &'a str),
    /// The organisation's.
    All,
}

fn newest_first(records: &mut [Evidence]) {
    records.sort_by(|a, b| (b.record.effective, b.uploaded_at, &b.id).cmp(&(a.record.effective, a.uploaded_at, &a.id)));
}

#[async_trait]
impl EvidenceRecords for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn evidence(&self, org: &OrgId, query: &EvidenceQuery) -> Result<Vec<Evidence>> {
        let mut sql = format!("{SELECT} WHERE e.org_id = $1");
        if query.control.is_some() {
            sql.push_str(
                " AND e.id IN (SELECT l.evidence_id FROM evidence_links l WHERE l.org_id = $1 AND l.control_id = $2)",
            );
        }
        if !query.superseded {
            sql.push_str(
                " AND NOT EXISTS (SELECT 1 FROM evidence s WHERE s.org_id = e.org_id AND s.supersedes = e.id)",
            );
        }
        sql.push_str(" ORDER BY e.effective_on DESC, e.uploaded_at DESC, e.id DESC");
        if let Some(limit) = query.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut select = sqlx::query(&sql).bind(org.as_str());
        if let Some(control) = &query.control {
            select = select.bind(control.as_str());
        }
        let rows = select.fetch_all(self.reader()).await.map_err(map_sqlx)?;
        let ids = rows.iter().map(|r| parsed(r, "evidence", "id", EvidenceId::parse)).collect::<Result<Vec<_>>>()?;
        // A few records: their links one by one; many: every link of the organisation at once.
        let scope = if ids.len() <= 50 { Links::Of(&ids) } else { Links::All };
        let mut records = self.with_links(org, rows, scope).await?;
        newest_first(&mut records);
        Ok(records)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, limit))]
    async fn evidence_page(&self, org: &OrgId, after: Option<&EvidenceId>, limit: u32) -> Result<Vec<Evidence>> {
        let after = after.map_or("", EvidenceId::as_str);
        let rows = sqlx::query(&format!("{SELECT} WHERE e.org_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3"))
            .bind(org.as_str())
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let Some(last) = rows.last().map(|row| get::<String>(row, "id")).transpose()? else {
            return Ok(Vec::new());
        };
        self.with_links(org, rows, Links::Between(after, &last)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn evidence_by_id(&self, org: &OrgId, id: &EvidenceId) -> Result<Option<Evidence>> {
        let row = sqlx::query(&format!("{SELECT} WHERE e.org_id = $1 AND e.id = $2"))
            .bind(org.as_str())
            .bind(id.as_str())
            .fetch_optional(self.reader())
            .await
            .map_err(map_sqlx)?;
        let Some(row) = row else { return Ok(None) };
        Ok(self.with_links(org, vec![row], Links::Of(std::slice::from_ref(id))).await?.pop())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn evidence_by_digest(&self, org: &OrgId, digest: &Sha256Digest) -> Result<Vec<Evidence>> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE e.org_id = $1 AND e.digest = $2 \
             AND NOT EXISTS (SELECT 1 FROM evidence s WHERE s.org_id = e.org_id AND s.supersedes = e.id)"
        ))
        .bind(org.as_str())
        .bind(digest.as_str())
        .fetch_all(self.reader())
        .await
        .map_err(map_sqlx)?;
        let ids = rows.iter().map(|r| parsed(r, "evidence", "id", EvidenceId::parse)).collect::<Result<Vec<_>>>()?;
        let mut records = self.with_links(org, rows, Links::Of(&ids)).await?;
        newest_first(&mut records);
        Ok(records)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn latest_evidence(&self, org: &OrgId) -> Result<Vec<LatestEvidence>> {
        let rows = sqlx::query("SELECT * FROM evidence_latest WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut latest = rows
            .iter()
            .map(|row| {
                Ok(LatestEvidence {
                    control: parsed(row, "evidence_latest", "control_id", ControlId::parse)?,
                    evidence: parsed(row, "evidence_latest", "evidence_id", EvidenceId::parse)?,
                    effective: get(row, "effective_on")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        latest.sort_by(|a, b| a.control.cmp(&b.control));
        Ok(latest)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn evidence_between(&self, org: &OrgId, from: NaiveDate, to: NaiveDate) -> Result<Vec<LinkedEvidence>> {
        // A record touches the window when its period overlaps it, or, without a period, when its
        // effective date falls in it. Periods end by the effective date, so a record that touches
        // the window has an effective date on or after its start: the index narrows on that first.
        let rows = sqlx::query(
            "SELECT l.* FROM evidence_links l WHERE l.org_id = $1 AND l.effective_on >= $2 \
             AND ((l.period_from IS NULL AND l.effective_on <= $3) \
             OR (l.period_from IS NOT NULL AND l.period_from <= $3 AND l.period_to >= $2)) \
             AND NOT EXISTS (SELECT 1 FROM evidence s WHERE s.org_id = l.org_id AND s.supersedes = l.evidence_id)",
        )
        .bind(org.as_str())
        .bind(from)
        .bind(to)
        .fetch_all(self.reader())
        .await
        .map_err(map_sqlx)?;
        let mut linked = rows
            .iter()
            .map(|row| {
                Ok(LinkedEvidence {
                    control: parsed(row, "evidence_links", "control_id", ControlId::parse)?,
                    evidence: parsed(row, "evidence_links", "evidence_id", EvidenceId::parse)?,
                    effective: get(row, "effective_on")?,
                    period: period_from_row(row)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        linked.sort_by(|a, b| (&a.control, a.effective, &a.evidence).cmp(&(&b.control, b.effective, &b.evidence)));
        Ok(linked)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn referenced_digests(&self) -> Result<Vec<Sha256Digest>> {
        let rows =
            sqlx::query("SELECT DISTINCT digest FROM evidence").fetch_all(self.reader()).await.map_err(map_sqlx)?;
        let mut digests =
            rows.iter().map(|r| parsed(r, "evidence", "digest", Sha256Digest::parse)).collect::<Result<Vec<_>>>()?;
        digests.sort();
        Ok(digests)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn samples(&self, org: &OrgId) -> Result<Vec<StoredSample>> {
        self.read_samples(org).await
    }
}
