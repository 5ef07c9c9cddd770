//! An organisation's API tokens: created and revoked through `apply`, with their audit records.

use async_trait::async_trait;
use evident_core::{Email, OrgId, Role};
use evident_store::accounts::{ApiToken, NewToken, TokenChange};
use evident_store::{Actor, Result, StoreError, Tokens};

use super::common::{Outcome, Tx, get, map_sqlx, parsed, to_json};
use crate::{Backend, DbRow};

pub(super) fn token_from_row(row: &DbRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: get(row, "id")?,
        name: get(row, "name")?,
        role: parsed(row, "api_tokens", "role", Role::parse)?,
        created_by: parsed(row, "api_tokens", "created_by", Email::parse)?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        revoked_at: get(row, "revoked_at")?,
        last_used_at: get(row, "last_used_at")?,
    })
}

/// A token's audit image: what `verify` compares (never its secret's hash).
fn image(token: &ApiToken) -> Result<String> {
    to_json(&serde_json::json!({
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "created_by": token.created_by,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }))
}

pub(super) async fn apply(tx: &mut Tx<'_>, actor: &Actor, change: &TokenChange) -> Result<Outcome> {
    match change {
        TokenChange::Create(token) => create(tx, actor, token).await,
        TokenChange::Revoke { id } => revoke(tx, actor, id).await,
    }
}

async fn create(tx: &mut Tx<'_>, actor: &Actor, new: &NewToken) -> Result<Outcome> {
    let taken = sqlx::query("SELECT 1 FROM api_tokens WHERE org_id = $1 AND (name = $2 OR id = $3)")
        .bind(actor.org.as_str())
        .bind(&new.name)
        .bind(&new.id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    if taken.is_some() {
        return Err(StoreError::conflict("token", &new.name));
    }
    sqlx::query(
        "INSERT INTO api_tokens (id, org_id, name, secret_hash, role, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&new.id)
    .bind(actor.org.as_str())
    .bind(&new.name)
    .bind(new.secret_hash.as_str())
    .bind(new.role.as_str())
    .bind(new.created_by.as_str())
    .bind(actor.at)
    .bind(new.expires_at)
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    let token = ApiToken {
        id: new.id.clone(),
        name: new.name.clone(),
        role: new.role,
        created_by: new.created_by.clone(),
        created_at: actor.at,
        expires_at: new.expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    Ok(Outcome::changed(None, Some(image(&token)?)))
}

async fn revoke(tx: &mut Tx<'_>, actor: &Actor, id: &str) -> Result<Outcome> {
    let row = sqlx::query("SELECT * FROM api_tokens WHERE org_id = $1 AND id = $2")
        .bind(actor.org.as_str())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?
        .ok_or_else(|| StoreError::not_found("token", id))?;
    let before = token_from_row(&row)?;
    if before.revoked_at.is_some() {
        return Ok(Outcome::unchanged());
    }
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE org_id = $2 AND id = $3")
        .bind(actor.at)
        .bind(actor.org.as_str())
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    let after = ApiToken { revoked_at: Some(actor.at), ..before.clone() };
    Ok(Outcome::changed(Some(image(&before)?), Some(image(&after)?)))
}

#[async_trait]
impl Tokens for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn tokens(&self, org: &OrgId) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query("SELECT * FROM api_tokens WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut tokens = rows.iter().map(token_from_row).collect::<Result<Vec<_>>>()?;
        tokens.sort_by(|a: &ApiToken, b: &ApiToken| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
        Ok(tokens)
    }
}
