//! Type 2 samples as drawn, and the exceptions recorded against them.

use std::collections::HashMap;

use chrono::NaiveDate;
use evident_core::dates::Period;
use evident_core::type2::{RecordedSample, SampleException};
use evident_core::{ControlId, OrgId, SampleId};
use evident_store::{Actor, Result, SampleChange, StoreError, StoredSample};

use super::common::{Outcome, Tx, get, map_sqlx, parsed, to_json};
use crate::{Backend, DbRow};

/// Writes one change to the organisation's samples.
pub(super) async fn apply(tx: &mut Tx<'_>, actor: &Actor, change: &SampleChange) -> Result<Outcome> {
    match change {
        SampleChange::Record { id, sample } => record(tx, actor, id, sample).await,
        SampleChange::Exception { sample, exception } => exception_of(tx, actor, sample, exception).await,
    }
}

async fn record(tx: &mut Tx<'_>, actor: &Actor, id: &SampleId, sample: &RecordedSample) -> Result<Outcome> {
    let definition = to_json(sample)?;
    let inserted = sqlx::query(
        "INSERT INTO samples (org_id, id, definition, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (org_id, id) DO NOTHING",
    )
    .bind(actor.org.as_str())
    .bind(id.as_str())
    .bind(&definition)
    .bind(&actor.who)
    .bind(actor.at)
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::conflict("sample", id));
    }
    let after = serde_json::json!({ "id": id, "sample": sample });
    Ok(Outcome::changed(None, Some(to_json(&after)?)))
}

fn exception_image(sample: &SampleId, exception: &SampleException) -> serde_json::Value {
    serde_json::json!({
        "sample": sample,
        "control": exception.control,
        "from": exception.occurrence.from(),
        "to": exception.occurrence.to(),
        "note": exception.note,
    })
}

async fn exception_of(
    tx: &mut Tx<'_>,
    actor: &Actor,
    sample: &SampleId,
    exception: &SampleException,
) -> Result<Outcome> {
    let org = actor.org.as_str();
    let row = sqlx::query("SELECT definition FROM samples WHERE org_id = $1 AND id = $2")
        .bind(org)
        .bind(sample.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?
        .ok_or_else(|| StoreError::not_found("sample", sample))?;
    let drawn: RecordedSample = parsed(&row, "samples", "definition", |t| serde_json::from_str(t))?;
    if !drawn.holds(exception) {
        return Err(StoreError::Invalid(format!(
            "sample {sample} did not draw control {} for {}: an exception is recorded against a sampled occurrence",
            exception.control, exception.occurrence
        )));
    }
    let before = sqlx::query(
        "SELECT note FROM sample_exceptions WHERE org_id = $1 AND sample_id = $2 AND control_id = $3 \
         AND occurrence_from = $4",
    )
    .bind(org)
    .bind(sample.as_str())
    .bind(exception.control.as_str())
    .bind(exception.occurrence.from())
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    let before: Option<String> = before.as_ref().map(|r| get(r, "note")).transpose()?;
    if before.as_deref() == Some(exception.note.as_str()) {
        return Ok(Outcome::unchanged());
    }
    sqlx::query(
        "INSERT INTO sample_exceptions (org_id, sample_id, control_id, occurrence_from, occurrence_to, note, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (org_id, sample_id, control_id, occurrence_from) DO UPDATE SET note = excluded.note, \
         recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
    )
    .bind(org)
    .bind(sample.as_str())
    .bind(exception.control.as_str())
    .bind(exception.occurrence.from())
    .bind(exception.occurrence.to())
    .bind(&exception.note)
    .bind(&actor.who)
    .bind(actor.at)
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    let before = before.map(|note| {
        let old = SampleException { note, ..exception.clone() };
        exception_image(sample, &old)
    });
    Ok(Outcome::changed(before.as_ref().map(to_json).transpose()?, Some(to_json(&exception_image(sample, exception))?)))
}

fn exception_from_row(row: &DbRow) -> Result<(String, SampleException)> {
    let from: NaiveDate = get(row, "occurrence_from")?;
    let to: NaiveDate = get(row, "occurrence_to")?;
    let occurrence =
        Period::new(from, to).map_err(|e| StoreError::Corrupt(format!("sample_exceptions.occurrence: {e}")))?;
    Ok((
        get(row, "sample_id")?,
        SampleException {
            control: parsed(row, "sample_exceptions", "control_id", ControlId::parse)?,
            occurrence,
            note: get(row, "note")?,
        },
    ))
}

impl Backend {
    pub(super) async fn read_samples(&self, org: &OrgId) -> Result<Vec<StoredSample>> {
        let rows = sqlx::query("SELECT * FROM samples WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let exception_rows = sqlx::query("SELECT * FROM sample_exceptions WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut exceptions: HashMap<String, Vec<SampleException>> = HashMap::new();
        for row in &exception_rows {
            let (sample, exception) = exception_from_row(row)?;
            exceptions.entry(sample).or_default().push(exception);
        }
        let mut samples = rows
            .iter()
            .map(|row| {
                let id: String = get(row, "id")?;
                let mut found = exceptions.remove(&id).unwrap_or_default();
                found.sort_by(|a, b| (&a.control, a.occurrence).cmp(&(&b.control, b.occurrence)));
                Ok(StoredSample {
                    id: parsed(row, "samples", "id", SampleId::parse)?,
                    sample: parsed(row, "samples", "definition", |t| serde_json::from_str(t))?,
                    recorded_by: get(row, "recorded_by")?,
                    recorded_at: get(row, "recorded_at")?,
                    exceptions: found,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        samples.sort_by(|a, b| (a.recorded_at, &a.id).cmp(&(b.recorded_at, &b.id)));
        Ok(samples)
    }
}
