//! What every command needs: the store, the catalog, the organisation, who is acting, and when.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evident_catalog::Catalog;
use evident_core::{Email, Framework, FrameworkId, OrgSlug, Permission, RequirementRef};
use evident_store::{Actor, Member, Organisation, Store, StoreError};
use evident_store_postgres::PostgresStore;
use evident_store_sqlite::SqliteStore;

use crate::cli::Global;

/// An error meant for the user, with what to do about it.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

pub fn failure(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Failure { message: message.into(), hint: Some(hint.into()) }.into()
}

/// Hints for errors that come from below the CLI.
pub fn hint_for(error: &anyhow::Error) -> Option<&'static str> {
    match error.chain().find_map(|e| e.downcast_ref::<StoreError>())? {
        StoreError::Unavailable(_) => {
            Some("check --database-url (or EVIDENT_DATABASE_URL) and that the database server is running")
        }
        StoreError::Migration(_) => Some("the database holds a schema this version of evident does not know"),
        StoreError::Corrupt(_) => Some("run `evident verify`; restore the database from a backup if it fails"),
        _ => None,
    }
}

/// A date the user typed, as YYYY-MM-DD; `what` names it in the error.
pub fn parse_date(text: &str, what: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| failure(format!("{what} {text:?} is not a date"), "write dates as YYYY-MM-DD"))
}

pub fn catalog() -> anyhow::Result<&'static Catalog> {
    Ok(Catalog::embedded()?)
}

pub fn framework(id: &str) -> anyhow::Result<&'static Framework> {
    let id = FrameworkId::parse(id)?;
    catalog()?
        .framework(&id)
        .ok_or_else(|| failure(format!("unknown framework {id}"), "run `evident frameworks list` to see the library"))
}

/// Parses a requirement ref and checks it names an assessable requirement of `framework`.
pub fn requirement(framework: &Framework, reference: &str) -> anyhow::Result<RequirementRef> {
    let reference = RequirementRef::parse(reference)?;
    if !framework.contains(&reference) {
        return Err(failure(
            format!("{reference} is not a requirement of {}", framework.id()),
            format!("run `evident frameworks show {}` to see its requirements", framework.id()),
        ));
    }
    if !framework.is_leaf(&reference) {
        let children: Vec<_> = framework
            .requirements()
            .iter()
            .filter(|r| r.parent.as_ref() == Some(&reference))
            .map(|r| r.reference.to_string())
            .collect();
        return Err(failure(
            format!("{reference} of {} groups other requirements and is not assessed itself", framework.id()),
            format!("map one of: {}", children.join(", ")),
        ));
    }
    Ok(reference)
}

/// Opens the database the flags name: PostgreSQL for a postgres:// URL, else SQLite in the data directory.
pub async fn open_store(global: &Global) -> anyhow::Result<Arc<dyn Store>> {
    match global.database_url.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(PostgresStore::connect(url).await?))
        }
        Some(url) if url.starts_with("sqlite:") => {
            let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
            Ok(Arc::new(SqliteStore::open(Path::new(path)).await?))
        }
        Some(url) => Err(failure(
            format!("unsupported database URL {}", evident_store_postgres::redact(url)),
            "use postgres://user@host/database, or leave --database-url out for SQLite in the data directory",
        )),
        None => {
            prepare_data_dir(&global.data_dir)?;
            Ok(Arc::new(SqliteStore::open(&global.data_dir.join("evident.db")).await?))
        }
    }
}

/// Creates the data directory and proves it writable before anything is written into it.
fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    let hint = "choose another place with --data-dir (or EVIDENT_DATA_DIR)";
    std::fs::create_dir_all(dir)
        .map_err(|e| failure(format!("cannot create the data directory {}: {e}", dir.display()), hint))?;
    let probe = dir.join(".evident-write-test");
    std::fs::write(&probe, b"ok")
        .map_err(|e| failure(format!("the data directory {} is not writable: {e}", dir.display()), hint))?;
    std::fs::remove_file(&probe).with_context(|| format!("cannot clean up {}", probe.display()))?;
    Ok(())
}

/// A command acting inside one organisation, as one member.
pub struct Session {
    pub store: Arc<dyn Store>,
    pub org: Organisation,
    pub member: Member,
    pub now: DateTime<Utc>,
}

impl Session {
    pub async fn open(global: &Global) -> anyhow::Result<Session> {
        let store = open_store(global).await?;
        Session::in_store(store, global).await
    }

    pub async fn in_store(store: Arc<dyn Store>, global: &Global) -> anyhow::Result<Session> {
        let org = match &global.org {
            Some(slug) => {
                let slug = OrgSlug::parse(slug)?;
                store.org_by_slug(&slug).await?.ok_or_else(|| {
                    failure(format!("there is no organisation {slug}"), "run `evident orgs list` to see them")
                })?
            }
            None => {
                let mut orgs = store.orgs().await?;
                match orgs.len() {
                    0 => {
                        return Err(failure(
                            "there is no organisation yet",
                            "run `evident demo`, or `evident orgs create SLUG --admin EMAIL`",
                        ));
                    }
                    1 => orgs.remove(0),
                    _ => {
                        let slugs: Vec<_> = orgs.iter().map(|o| o.slug.to_string()).collect();
                        return Err(failure(
                            format!("there are several organisations: {}", slugs.join(", ")),
                            "choose one with --org SLUG (or EVIDENT_ORG)",
                        ));
                    }
                }
            }
        };
        let member = match &global.acting_as {
            Some(email) => {
                let email = Email::parse(email)?;
                store.member(&org.id, &email).await?.ok_or_else(|| {
                    failure(format!("{email} is not a member of {}", org.slug), "run `evident members list`")
                })?
            }
            None => store
                .members(&org.id)
                .await?
                .into_iter()
                .find(|m| m.role == evident_core::Role::Admin)
                .ok_or_else(|| failure(format!("{} has no administrator", org.slug), "pass --as EMAIL"))?,
        };
        Ok(Session { store, org, member, now: evident_core::audit::audit_time(Utc::now()) })
    }

    /// Refuses, with the reason, what the member's role does not allow.
    pub fn require(&self, permission: Permission) -> anyhow::Result<()> {
        if self.member.role.can(permission) {
            return Ok(());
        }
        let allowed: Vec<_> =
            evident_core::Role::ALL.iter().filter(|r| r.can(permission)).map(|r| r.as_str()).collect();
        Err(failure(
            format!(
                "{} is {} in {} and may not do this ({permission:?})",
                self.member.email, self.member.role, self.org.slug
            ),
            format!("this needs one of the roles: {}", allowed.join(", ")),
        ))
    }

    pub fn actor(&self) -> Actor {
        Actor { org: self.org.id.clone(), who: self.member.email.to_string(), at: self.now }
    }

    /// Every member's e-mail, to check owners in bulk.
    pub async fn member_emails(&self) -> anyhow::Result<std::collections::HashSet<Email>> {
        Ok(self.store.members(&self.org.id).await?.into_iter().map(|m| m.email).collect())
    }

    /// Checks that `email` belongs to a member, for owners and assignees.
    pub async fn member_email(&self, email: &str) -> anyhow::Result<Email> {
        let email = Email::parse(email)?;
        if self.store.member(&self.org.id, &email).await?.is_none() {
            return Err(failure(
                format!("{email} is not a member of {}", self.org.slug),
                "add them first with `evident members add EMAIL --role control_owner`",
            ));
        }
        Ok(email)
    }
}
