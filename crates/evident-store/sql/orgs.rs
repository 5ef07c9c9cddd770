//! Organisations and their members.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use evident_core::audit::ChainHead;
use evident_core::{Email, OrgId, OrgSlug, Role, Sha256Digest};
use evident_store::{
    Actor, Change, Member, MemberChange, NewOrganisation, Organisation, Organisations, Result, StoreError,
};

use super::audit::AuditTrail;
use super::common::{Outcome, Tx, get, lock_org, map_sqlx, new_id, parsed, to_json};
use crate::{Backend, DbRow};

pub(super) fn org_from_row(row: &DbRow) -> Result<Organisation> {
    Ok(Organisation {
        id: OrgId::from_store(get(row, "id")?),
        slug: parsed(row, "organisations", "slug", OrgSlug::parse)?,
        name: get(row, "name")?,
        created_at: get(row, "created_at")?,
    })
}

pub(super) fn member_from_row(row: &DbRow) -> Result<Member> {
    Ok(Member {
        email: parsed(row, "users", "email", Email::parse)?,
        display_name: get(row, "display_name")?,
        role: parsed(row, "memberships", "role", Role::parse)?,
        joined_at: get(row, "joined_at")?,
    })
}

/// The user with this e-mail, created if new. `ON CONFLICT DO NOTHING` first, so two organisations
/// adding the same new person at once both succeed (the second waits for the first, then reads it).
pub(super) async fn user_id_for(tx: &mut Tx<'_>, email: &Email, at: DateTime<Utc>) -> Result<String> {
    sqlx::query(
        "INSERT INTO users (id, email, display_name, created_at) VALUES ($1, $2, '', $3) ON CONFLICT (email) DO NOTHING",
    )
    .bind(new_id())
    .bind(email.as_str())
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    let row = sqlx::query("SELECT id FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_one(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    get(&row, "id")
}

/// Writes one change to the organisation's members.
pub(super) async fn apply(tx: &mut Tx<'_>, actor: &Actor, change: &MemberChange) -> Result<Outcome> {
    match change {
        MemberChange::Add { email, display_name, role } => add_member(tx, actor, email, display_name, *role).await,
        MemberChange::Change { email, role, display_name } => {
            change_member(tx, actor, email, *role, display_name.as_deref()).await
        }
        MemberChange::Remove { email } => remove_member(tx, actor, email).await,
    }
}

/// Removes a membership (the user, their account and their other memberships stay). Refused for
/// the last administrator, and while the member owns anything of the organisation's.
async fn remove_member(tx: &mut Tx<'_>, actor: &Actor, email: &Email) -> Result<Outcome> {
    let org = actor.org.as_str();
    let row = sqlx::query(
        "SELECT m.user_id, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND u.email = $2",
    )
    .bind(org)
    .bind(email.as_str())
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_sqlx)?
    .ok_or_else(|| StoreError::not_found("member", email))?;
    let user_id: String = get(&row, "user_id")?;
    let role = parsed(&row, "memberships", "role", Role::parse)?;
    if role == Role::Admin {
        let others =
            sqlx::query("SELECT COUNT(*) AS n FROM memberships WHERE org_id = $1 AND role = 'admin' AND user_id <> $2")
                .bind(org)
                .bind(&user_id)
                .fetch_one(&mut **tx)
                .await
                .map_err(map_sqlx)?;
        if get::<i64>(&others, "n")? == 0 {
            return Err(StoreError::Invalid(format!(
                "{email} is the organisation's last administrator: make someone else an administrator first"
            )));
        }
    }
    let owned = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM controls WHERE org_id = $1 AND owner_email = $2 AND retired_at IS NULL) AS controls, \
         (SELECT COUNT(*) FROM risks WHERE org_id = $1 AND owner_email = $2 AND closed = $3) AS risks, \
         (SELECT COUNT(*) FROM assets WHERE org_id = $1 AND owner_email = $2) AS assets",
    )
    .bind(org)
    .bind(email.as_str())
    .bind(false)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_sqlx)?;
    let (controls, risks, assets): (i64, i64, i64) =
        (get(&owned, "controls")?, get(&owned, "risks")?, get(&owned, "assets")?);
    if controls + risks + assets > 0 {
        return Err(StoreError::Invalid(format!(
            "{email} still owns {controls} control(s) in force, {risks} open risk(s) and {assets} asset(s): \
             give them another owner first"
        )));
    }
    sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org)
        .bind(&user_id)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    let before = to_json(&serde_json::json!({"email": email, "role": role}))?;
    Ok(Outcome::changed(Some(before), None))
}

async fn add_member(tx: &mut Tx<'_>, actor: &Actor, email: &Email, display_name: &str, role: Role) -> Result<Outcome> {
    let org = actor.org.as_str();
    let user_id = user_id_for(tx, email, actor.at).await?;
    let before = sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org)
        .bind(&user_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    if before.is_some() {
        return Err(StoreError::conflict("member", email));
    }
    sqlx::query("INSERT INTO memberships (org_id, user_id, role, joined_at, display_name) VALUES ($1, $2, $3, $4, $5)")
        .bind(org)
        .bind(&user_id)
        .bind(role.as_str())
        .bind(actor.at)
        .bind(display_name)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    Ok(Outcome::changed(None, Some(to_json(&serde_json::json!({"email": email, "role": role}))?)))
}

async fn change_member(
    tx: &mut Tx<'_>,
    actor: &Actor,
    email: &Email,
    role: Option<Role>,
    display_name: Option<&str>,
) -> Result<Outcome> {
    let org = actor.org.as_str();
    let row = sqlx::query(
        "SELECT m.user_id, m.role, m.display_name FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND u.email = $2",
    )
    .bind(org)
    .bind(email.as_str())
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_sqlx)?
    .ok_or_else(|| StoreError::not_found("member", email))?;
    let user_id: String = get(&row, "user_id")?;
    let before_role = parsed(&row, "memberships", "role", Role::parse)?;
    let before_name: String = get(&row, "display_name")?;
    let after_role = role.unwrap_or(before_role);
    let after_name = display_name.unwrap_or(&before_name);
    if after_role == before_role && after_name == before_name {
        return Ok(Outcome::unchanged());
    }
    // Checked under the organisation's lock: two demotions at once cannot both pass.
    if before_role == Role::Admin && after_role != Role::Admin {
        let others =
            sqlx::query("SELECT COUNT(*) AS n FROM memberships WHERE org_id = $1 AND role = 'admin' AND user_id <> $2")
                .bind(org)
                .bind(&user_id)
                .fetch_one(&mut **tx)
                .await
                .map_err(map_sqlx)?;
        if get::<i64>(&others, "n")? == 0 {
            return Err(StoreError::Invalid(format!(
                "{email} is the organisation's last administrator: make someone else an administrator first"
            )));
        }
    }
    sqlx::query("UPDATE memberships SET role = $1, display_name = $2 WHERE org_id = $3 AND user_id = $4")
        .bind(after_role.as_str())
        .bind(after_name)
        .bind(org)
        .bind(&user_id)
        .execute(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    let image = |role: Role| to_json(&serde_json::json!({"email": email, "role": role}));
    Ok(Outcome::changed(Some(image(before_role)?), Some(image(after_role)?)))
}

/// The organisation row, its first administrator and their audit records, inside `tx`.
async fn create_in(tx: &mut Tx<'_>, new: &NewOrganisation, at: DateTime<Utc>) -> Result<Organisation> {
    let taken = sqlx::query("SELECT 1 FROM organisations WHERE slug = $1")
        .bind(new.slug.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx)?;
    if taken.is_some() {
        return Err(StoreError::conflict("organisation", &new.slug));
    }
    let org = Organisation {
        id: OrgId::from_store(new_id()),
        slug: new.slug.clone(),
        name: new.name.clone(),
        created_at: at,
    };
    sqlx::query(
            "INSERT INTO organisations (id, slug, name, created_at, audit_head_seq, audit_head_hash) VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(org.id.as_str())
        .bind(org.slug.as_str())
        .bind(&org.name)
        .bind(at)
        .bind(Sha256Digest::zero().as_str())
        .execute(&mut **tx)
        .await
        .map_err(|e| match &e {
            // Another instance created the slug since our check (PostgreSQL; SQLite writers take turns).
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::conflict("organisation", &new.slug),
            _ => map_sqlx(e),
        })?;
    let actor = Actor { org: org.id.clone(), who: new.admin_email.to_string(), at };
    let mut trail = AuditTrail::new(&actor, ChainHead { seq: 0, hash: Sha256Digest::zero() });
    trail.push(("organisation.create", "organisation", org.slug.to_string()), None, Some(to_json(&org)?));
    let first_admin = Change::Member(MemberChange::Add {
        email: new.admin_email.clone(),
        display_name: new.admin_name.clone(),
        role: Role::Admin,
    });
    if let Some((before, after)) = super::apply_one(tx, &actor, &first_admin).await?.images {
        trail.push(evident_store::describe(&first_admin), before, after);
    }
    trail.write(tx).await?;
    Ok(org)
}

#[async_trait]
impl Organisations for Backend {
    #[tracing::instrument(level = "debug", skip_all, fields(slug = %new.slug))]
    async fn create_org(&self, new: &NewOrganisation, at: DateTime<Utc>) -> Result<Organisation> {
        self.create_org_with(new, at, Vec::new()).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(slug = %new.slug, batches = batches.len()))]
    async fn create_org_with(
        &self,
        new: &NewOrganisation,
        at: DateTime<Utc>,
        batches: Vec<(String, Vec<Change>)>,
    ) -> Result<Organisation> {
        for (field, text) in [("organisation name", &new.name), ("administrator's name", &new.admin_name)] {
            if text.contains('\0') {
                return Err(StoreError::Invalid(format!(
                    "the {field} contains a NUL character (0x00), which cannot be stored"
                )));
            }
        }
        for (_, changes) in &batches {
            super::refuse_nul(changes)?;
        }
        let mut tx = self.begin_write().await.map_err(map_sqlx)?;
        let org = create_in(&mut tx, new, at).await?;
        for (who, changes) in &batches {
            let actor = Actor { org: org.id.clone(), who: who.clone(), at };
            let head = lock_org(&mut tx, &org.id).await?;
            let mut trail = AuditTrail::new(&actor, head);
            for change in changes {
                if let Some((before, after)) = super::apply_one(&mut tx, &actor, change).await?.images {
                    trail.push(evident_store::describe(change), before, after);
                }
            }
            trail.write(&mut tx).await?;
        }
        tx.commit().await.map_err(map_sqlx)?;
        Ok(org)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn orgs(&self) -> Result<Vec<Organisation>> {
        let rows = sqlx::query("SELECT * FROM organisations").fetch_all(self.reader()).await.map_err(map_sqlx)?;
        let mut orgs = rows.iter().map(org_from_row).collect::<Result<Vec<_>>>()?;
        orgs.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(orgs)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(slug = %slug))]
    async fn org_by_slug(&self, slug: &OrgSlug) -> Result<Option<Organisation>> {
        let row = sqlx::query("SELECT * FROM organisations WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(self.reader())
            .await
            .map_err(map_sqlx)?;
        row.as_ref().map(org_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn members(&self, org: &OrgId) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT u.email, m.display_name, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1",
        )
        .bind(org.as_str())
        .fetch_all(self.reader())
        .await
        .map_err(map_sqlx)?;
        let mut members = rows.iter().map(member_from_row).collect::<Result<Vec<_>>>()?;
        members.sort_by(|a, b| a.joined_at.cmp(&b.joined_at).then_with(|| a.email.cmp(&b.email)));
        Ok(members)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org))]
    async fn member(&self, org: &OrgId, email: &Email) -> Result<Option<Member>> {
        let row = sqlx::query(
            "SELECT u.email, m.display_name, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 AND u.email = $2",
        )
        .bind(org.as_str())
        .bind(email.as_str())
        .fetch_optional(self.reader())
        .await
        .map_err(map_sqlx)?;
        row.as_ref().map(member_from_row).transpose()
    }
}
