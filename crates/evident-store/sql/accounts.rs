//! The installation's accounts, sessions and failed sign-ins, written with the installation's
//! own audit log; and the reads keyed by a person or a secret's hash.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use evident_core::audit::{AuditRecord, ChainHead};
use evident_core::{Email, Member, OrgId, Organisation, Sha256Digest};
use evident_store::accounts::{Account, AccountChange, ApiToken, NewSession, PasswordHash, Session};
use evident_store::{Accounts, Actor, Applied, Result, StoreError};

use super::audit::{AuditTrail, record_from_row};
use super::common::{Outcome, Tx, get, map_sqlx, new_id, parsed, to_json};
use crate::{Backend, DbRow, FOR_UPDATE};

/// Makes the installation's row on its first write (a fresh database holds no row, so a backup
/// restores into it), locks it for the rest of the transaction and reads the chain head.
async fn lock_installation(tx: &mut Tx<'_>) -> Result<ChainHead> {
    sqlx::query(
        "INSERT INTO installation (id, audit_head_seq, audit_head_hash) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING",
    )
    .bind(Sha256Digest::zero().as_str())
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    let sql = format!("SELECT audit_head_seq, audit_head_hash FROM installation WHERE id = 1{FOR_UPDATE}");
    let head = sqlx::query(&sql).fetch_one(&mut **tx).await.map_err(map_sqlx)?;
    Ok(ChainHead {
        seq: get(&head, "audit_head_seq")?,
        hash: parsed(&head, "installation", "audit_head_hash", Sha256Digest::parse)?,
    })
}

fn account_from_row(row: &DbRow) -> Result<Account> {
    Ok(Account {
        email: parsed(row, "users", "email", Email::parse)?,
        password_hash: PasswordHash::new(get(row, "password_hash")?),
        created_at: get(row, "created_at")?,
        password_changed_at: get(row, "password_changed_at")?,
        disabled_at: get(row, "disabled_at")?,
    })
}

fn session_from_row(row: &DbRow) -> Result<Session> {
    Ok(Session {
        id: get(row, "id")?,
        email: parsed(row, "users", "email", Email::parse)?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        last_seen_at: get(row, "last_seen_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

/// The id of the user with this e-mail who has an account, or `NotFound`.
async fn account_user(tx: &mut Tx<'_>, email: &Email) -> Result<(String, DateTime<Utc>)> {
    let row = sqlx::query(
        "SELECT a.user_id, a.password_changed_at FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_sqlx)?
    .ok_or_else(|| StoreError::not_found("account", email))?;
    Ok((get(&row, "user_id")?, get(&row, "password_changed_at")?))
}

async fn apply_one(tx: &mut Tx<'_>, at: DateTime<Utc>, change: &AccountChange) -> Result<Outcome> {
    match change {
        AccountChange::Create { email, password_hash } => create(tx, at, email, password_hash).await,
        AccountChange::SetPassword { email, password_hash } => set_password(tx, at, email, password_hash).await,
        AccountChange::OpenSession { email, session } => open_session(tx, at, email, session).await,
        AccountChange::CloseSession { id } => close_session(tx, at, id).await,
        AccountChange::LoginFailed { email, forget_before } => login_failed(tx, at, email, *forget_before).await,
        AccountChange::LockOut { email, failures, until } => Ok(Outcome::changed(
            None,
            Some(to_json(&serde_json::json!({"email": email, "failures": failures, "until": until}))?),
        )),
        AccountChange::Disable { email } => set_disabled(tx, at, email, true).await,
        AccountChange::Enable { email } => set_disabled(tx, at, email, false).await,
    }
}

/// Disables (and revokes every session of) or enables an account. The API tokens a disabled user
/// made stop working too: the app refuses a token whose creator's account is disabled.
async fn set_disabled(tx: &mut Tx<'_>, at: DateTime<Utc>, email: &Email, disable: bool) -> Result<Outcome> {
    let (user_id, _) = account_user(tx, email).await?;
    let row = sqlx::query("SELECT disabled_at FROM accounts WHERE user_id = $1")
        .bind(&user_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    let before: Option<DateTime<Utc>> = get(&row, "disabled_at")?;
    if before.is_some() == disable {
        return Ok(Outcome::unchanged());
    }
    let after = disable.then_some(at);
    sqlx::query("UPDATE accounts SET disabled_at = $1 WHERE user_id = $2")
        .bind(after)
        .bind(&user_id)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    let mut revoked = 0;
    if disable {
        revoked = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(&user_id)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx)?
            .rows_affected();
    }
    let before = to_json(&serde_json::json!({"email": email, "disabled_at": before}))?;
    let after = to_json(&serde_json::json!({"email": email, "disabled_at": after, "sessions_revoked": revoked}))?;
    Ok(Outcome::changed(Some(before), Some(after)))
}

async fn create(tx: &mut Tx<'_>, at: DateTime<Utc>, email: &Email, hash: &PasswordHash) -> Result<Outcome> {
    let user_id = super::orgs::user_id_for(tx, email, at).await?;
    let taken = sqlx::query("SELECT 1 FROM accounts WHERE user_id = $1")
        .bind(&user_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    if taken.is_some() {
        return Err(StoreError::conflict("account", email));
    }
    sqlx::query(
        "INSERT INTO accounts (user_id, password_hash, created_at, password_changed_at) VALUES ($1, $2, $3, $3)",
    )
    .bind(&user_id)
    .bind(hash.as_str())
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    Ok(Outcome::changed(None, Some(to_json(&serde_json::json!({"email": email, "created_at": at}))?)))
}

async fn set_password(tx: &mut Tx<'_>, at: DateTime<Utc>, email: &Email, hash: &PasswordHash) -> Result<Outcome> {
    let (user_id, changed_before) = account_user(tx, email).await?;
    sqlx::query("UPDATE accounts SET password_hash = $1, password_changed_at = $2 WHERE user_id = $3")
        .bind(hash.as_str())
        .bind(at)
        .bind(&user_id)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    let revoked = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(at)
        .bind(&user_id)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?
        .rows_affected();
    let before = to_json(&serde_json::json!({"email": email, "password_changed_at": changed_before}))?;
    let after = to_json(&serde_json::json!({"email": email, "password_changed_at": at, "sessions_revoked": revoked}))?;
    Ok(Outcome::changed(Some(before), Some(after)))
}

async fn open_session(tx: &mut Tx<'_>, at: DateTime<Utc>, email: &Email, session: &NewSession) -> Result<Outcome> {
    let (user_id, _) = account_user(tx, email).await?;
    sqlx::query(
        "INSERT INTO sessions (id, secret_hash, user_id, created_at, expires_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $4)",
    )
    .bind(&session.id)
    .bind(session.secret_hash.as_str())
    .bind(&user_id)
    .bind(at)
    .bind(session.expires_at)
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    sqlx::query("DELETE FROM login_failures WHERE email = $1")
        .bind(email.as_str())
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    let after = serde_json::json!({"session": session.id, "email": email, "expires_at": session.expires_at});
    Ok(Outcome::changed(None, Some(to_json(&after)?)))
}

async fn close_session(tx: &mut Tx<'_>, at: DateTime<Utc>, id: &str) -> Result<Outcome> {
    let row =
        sqlx::query("SELECT s.revoked_at, u.email FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_sqlx)?
            .ok_or_else(|| StoreError::not_found("session", id))?;
    if get::<Option<DateTime<Utc>>>(&row, "revoked_at")?.is_some() {
        return Ok(Outcome::unchanged());
    }
    let email = parsed(&row, "users", "email", Email::parse)?;
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    let before = to_json(&serde_json::json!({"session": id, "email": email, "revoked_at": null}))?;
    let after = to_json(&serde_json::json!({"session": id, "email": email, "revoked_at": at}))?;
    Ok(Outcome::changed(Some(before), Some(after)))
}

/// Records a failed sign-in and forgets the ones no window counts any more. It writes no audit
/// record (a flood of bad sign-ins must not grow the hash chain); a lockout does.
async fn login_failed(
    tx: &mut Tx<'_>,
    at: DateTime<Utc>,
    email: &Email,
    forget_before: DateTime<Utc>,
) -> Result<Outcome> {
    sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(forget_before)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    sqlx::query("INSERT INTO login_failures (id, email, at) VALUES ($1, $2, $3)")
        .bind(new_id())
        .bind(email.as_str())
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    Ok(Outcome { images: None, applied: Applied::Changed })
}

#[async_trait]
impl Accounts for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(changes = changes.len()))]
    async fn apply_accounts(&self, who: &str, at: DateTime<Utc>, changes: Vec<AccountChange>) -> Result<Vec<Applied>> {
        let mut tx = self.begin_write().await.map_err(map_sqlx)?;
        let head = lock_installation(&mut tx).await?;
        let actor = Actor { org: evident_store::accounts::installation_chain(), who: who.to_owned(), at };
        let mut trail = AuditTrail::installation(&actor, head);
        let mut applied = Vec::with_capacity(changes.len());
        for change in &changes {
            let outcome = apply_one(&mut tx, at, change).await?;
            if let Some((before, after)) = outcome.images {
                trail.push(evident_store::accounts::describe_account(change), before, after);
            }
            applied.push(outcome.applied);
        }
        trail.write(&mut tx).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(applied)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn account(&self, email: &Email) -> Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT u.email, a.password_hash, a.created_at, a.password_changed_at, a.disabled_at \
             FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.email = $1",
        )
        .bind(email.as_str())
        .fetch_optional(self.reader())
        .await
        .map_err(map_sqlx)?;
        row.as_ref().map(account_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn account_count(&self) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts").fetch_one(self.reader()).await.map_err(map_sqlx)?;
        Ok(u64::try_from(get::<i64>(&row, "n")?).unwrap_or_default())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn session(&self, secret_hash: &Sha256Digest) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.id, u.email, s.created_at, s.expires_at, s.last_seen_at, s.revoked_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_hash = $1",
        )
        .bind(secret_hash.as_str())
        .fetch_optional(self.reader())
        .await
        .map_err(map_sqlx)?;
        row.as_ref().map(session_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn touch_session(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(self.derived_writer())
            .await
            .map_err(map_sqlx)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn login_failures(&self, email: &Email, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>> {
        let rows = sqlx::query("SELECT at FROM login_failures WHERE email = $1 AND at >= $2")
            .bind(email.as_str())
            .bind(since)
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let mut times = rows.iter().map(|row| get(row, "at")).collect::<Result<Vec<DateTime<Utc>>>>()?;
        times.sort();
        Ok(times)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn memberships_of(&self, email: &Email) -> Result<Vec<(Organisation, Member)>> {
        let rows = sqlx::query(
            "SELECT o.id, o.slug, o.name, o.created_at, u.email, m.display_name, m.role, m.joined_at \
             FROM memberships m JOIN users u ON u.id = m.user_id JOIN organisations o ON o.id = m.org_id \
             WHERE u.email = $1",
        )
        .bind(email.as_str())
        .fetch_all(self.reader())
        .await
        .map_err(map_sqlx)?;
        let mut memberships = rows
            .iter()
            .map(|row| Ok((super::orgs::org_from_row(row)?, super::orgs::member_from_row(row)?)))
            .collect::<Result<Vec<_>>>()?;
        memberships.sort_by(|a, b| a.0.slug.cmp(&b.0.slug));
        Ok(memberships)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn token_by_secret(&self, secret_hash: &Sha256Digest) -> Result<Option<(OrgId, ApiToken)>> {
        let row = sqlx::query("SELECT * FROM api_tokens WHERE secret_hash = $1")
            .bind(secret_hash.as_str())
            .fetch_optional(self.reader())
            .await
            .map_err(map_sqlx)?;
        row.as_ref()
            .map(|row| Ok((OrgId::from_store(get(row, "org_id")?), super::tokens::token_from_row(row)?)))
            .transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn touch_token(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(self.derived_writer())
            .await
            .map_err(map_sqlx)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn installation_log(&self, after_seq: i64, limit: u32) -> Result<(Vec<AuditRecord>, ChainHead)> {
        let head = sqlx::query("SELECT audit_head_seq, audit_head_hash FROM installation WHERE id = 1")
            .fetch_optional(self.reader())
            .await
            .map_err(map_sqlx)?;
        let head = match head {
            Some(row) => ChainHead {
                seq: get(&row, "audit_head_seq")?,
                hash: parsed(&row, "installation", "audit_head_hash", Sha256Digest::parse)?,
            },
            None => ChainHead { seq: 0, hash: Sha256Digest::zero() },
        };
        let rows = sqlx::query("SELECT * FROM installation_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await
            .map_err(map_sqlx)?;
        let records = rows.iter().map(record_from_row).collect::<Result<Vec<_>>>()?;
        Ok((records, head))
    }
}
