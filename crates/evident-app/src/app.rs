//! The application: the store, the framework library and the clock every use case works with.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use evident_core::{Email, OrgSlug, Organisation, Role};
use evident_store::Store;

use crate::error::{AppError, Code, Result};
use crate::library::Library;
use crate::principal::{Acting, Principal};

/// Where time comes from: the wall clock in production, a fixed instant in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The use cases' shared context. Cheap to clone; holds no state a second instance would need.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) library: Library,
    /// Where evidence bytes are kept, or why there is none (the use cases that need it say so).
    pub(crate) blobs: std::result::Result<evident_evidence::BlobStore, String>,
    clock: Clock,
    /// Password hashes running at once are bounded (`accounts::App::hashing`).
    pub(crate) hashing: Arc<tokio::sync::Semaphore>,
    /// Read models served lately, kept in memory for the next read after no change
    /// (`derived::Recent`), when [`App::remembering`]; shared by every clone, as a server's
    /// requests share one `App`.
    pub(crate) recent: Option<Arc<crate::derived::Recent>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("store", &self.store).finish_non_exhaustive()
    }
}

impl App {
    /// An application over an opened store, with the built-in framework library and the wall clock.
    pub fn new(store: Arc<dyn Store>) -> Result<App> {
        Ok(App {
            store,
            library: Library::embedded()?,
            blobs: Err("no evidence store is configured".to_owned()),
            clock: Arc::new(Utc::now),
            hashing: crate::accounts::hashing_permits(),
            recent: None,
        })
    }

    /// The same application keeping evidence bytes in `blobs`.
    pub fn with_blobs(self, blobs: evident_evidence::BlobStore) -> App {
        App { blobs: Ok(blobs), ..self }
    }

    /// The same application without an evidence store, and why (it could not be opened).
    pub fn without_blobs(self, reason: String) -> App {
        App { blobs: Err(reason), ..self }
    }

    /// The same application keeping the read models it serves in memory for the next read after
    /// no change: what a long-lived process (the server) wants; a command run once gains nothing.
    pub fn remembering(self) -> App {
        App { recent: Some(Arc::default()), ..self }
    }

    /// The same application with another clock (tests, reproducible demos).
    pub fn with_clock(self, clock: Clock) -> App {
        App { clock, ..self }
    }

    /// Now, to the precision the audit log keeps.
    pub fn now(&self) -> DateTime<Utc> {
        evident_core::audit::audit_time((self.clock)())
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The built-in library alone, for what needs no organisation (`frameworks show iso27001:2022`).
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// The library a use case in the principal's organisation works with: the built-in frameworks
    /// and the ones the organisation imported, each validated again as it is read.
    pub async fn library_for(&self, principal: &Principal) -> Result<Library> {
        self.remembered(principal, evident_core::Permission::Read, "library", async {
            Ok(self.library.with_imported(self.store.frameworks(&principal.org.id).await?))
        })
        .await
    }

    /// Whether the store answers: what a server's readiness probe asks.
    pub async fn ready(&self) -> Result<()> {
        self.store.account_count().await?;
        Ok(())
    }

    /// Every organisation of the installation, for its operator.
    pub async fn organisations(&self) -> Result<Vec<Organisation>> {
        Ok(self.store.orgs().await?)
    }

    /// The organisation named, or the only one there is.
    pub async fn organisation(&self, slug: Option<&OrgSlug>) -> Result<Organisation> {
        if let Some(slug) = slug {
            return self
                .store
                .org_by_slug(slug)
                .await?
                .ok_or_else(|| AppError::not_found(Code::OrganisationNotFound, "organisation", slug));
        }
        let mut orgs = self.store.orgs().await?;
        match orgs.len() {
            0 => Err(AppError::new(Code::NoOrganisation, "there is no organisation yet")),
            1 => Ok(orgs.remove(0)),
            _ => {
                let slugs: Vec<_> = orgs.iter().map(|o| o.slug.to_string()).collect();
                Err(AppError::new(
                    Code::OrganisationAmbiguous,
                    format!("there are several organisations: {}", slugs.join(", ")),
                ))
            }
        }
    }

    /// The operator of this installation in an organisation, acting as a member or not.
    pub async fn operator(&self, org: Option<&OrgSlug>, name: &str, as_member: Option<&Email>) -> Result<Principal> {
        let org = self.organisation(org).await?;
        let acting = match as_member {
            None => Acting::Operator { name: name.to_owned() },
            Some(email) => {
                let member = self.store.member(&org.id, email).await?.ok_or_else(|| {
                    AppError::new(Code::NotAMember, format!("{email} is not a member of {}", org.slug))
                })?;
                Acting::OperatorAs { name: name.to_owned(), member }
            }
        };
        Ok(Principal { org, acting })
    }

    /// A member signed in to an organisation (the server's sessions and tokens resolve to this).
    pub async fn member(&self, org: &OrgSlug, email: &Email) -> Result<Principal> {
        let org = self.organisation(Some(org)).await?;
        let member = self
            .store
            .member(&org.id, email)
            .await?
            .ok_or_else(|| AppError::new(Code::NotAMember, format!("{email} is not a member of {}", org.slug)))?;
        Ok(Principal { org, acting: Acting::Member { member } })
    }

    /// The organisation's administrators' e-mails, for messages that say who can help.
    pub async fn administrators(&self, principal: &Principal) -> Result<Vec<Email>> {
        let members = self.store.members(&principal.org.id).await?;
        Ok(members.into_iter().filter(|m| m.role == Role::Admin).map(|m| m.email).collect())
    }
}
