//! Organisations and their members.

use evident_core::{Email, Member, OrgSlug, Organisation, Permission, Role};
use evident_store::{MemberChange, NewOrganisation, StoreError};
use serde::Serialize;

use crate::error::{AppError, Code, Result};
use crate::{App, Principal};

/// What creating an organisation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Created {
    pub organisation: Organisation,
    /// False when the same administrator asked again for an organisation that exists.
    pub created: bool,
}

/// The default display name for an e-mail: its local part.
pub fn default_name(email: &Email) -> String {
    email.as_str().split('@').next().unwrap_or_default().to_owned()
}

impl App {
    /// Creates an organisation with its first administrator. An operator's use case: whoever can
    /// open the database may run it. Asking again with the same administrator says it exists.
    pub async fn create_organisation(
        &self,
        slug: OrgSlug,
        name: Option<String>,
        admin: Email,
        admin_name: Option<String>,
    ) -> Result<Created> {
        let new = NewOrganisation {
            name: name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| slug.to_string()),
            admin_name: admin_name.unwrap_or_else(|| default_name(&admin)),
            slug,
            admin_email: admin,
        };
        match self.store.create_org(&new, self.now()).await {
            Ok(organisation) => Ok(Created { organisation, created: true }),
            Err(StoreError::Conflict { what: "organisation", .. }) => {
                let organisation = self.organisation(Some(&new.slug)).await?;
                if self.store.member(&organisation.id, &new.admin_email).await?.is_none() {
                    return Err(AppError::new(
                        Code::AlreadyExists,
                        format!("organisation {} already exists", new.slug),
                    ));
                }
                Ok(Created { organisation, created: false })
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn members(&self, principal: &Principal) -> Result<Vec<Member>> {
        self.remembered(principal, Permission::Read, "members", async {
            Ok(self.store.members(&principal.org.id).await?)
        })
        .await
    }

    /// Changes a member's role, or the name this organisation knows them by. The last
    /// administrator cannot be demoted (checked inside the write, under the organisation's lock).
    pub async fn change_member(
        &self,
        principal: &Principal,
        email: &Email,
        role: Option<Role>,
        name: Option<String>,
    ) -> Result<bool> {
        principal.authorize(Permission::MemberManage)?;
        let display_name = name.map(|n| n.trim().to_owned());
        if display_name.as_deref() == Some("") {
            return Err(AppError::invalid("a member's name cannot be empty"));
        }
        if role.is_none() && display_name.is_none() {
            return Err(AppError::new(Code::NothingToChange, "give a new role or a new name for the member"));
        }
        if self.store.member(&principal.org.id, email).await?.is_none() {
            return Err(AppError::new(Code::NotAMember, format!("{email} is not a member of {}", principal.org.slug)));
        }
        let applied = self
            .applied(principal, vec![MemberChange::Change { email: email.clone(), role, display_name }.into()])
            .await?;
        Ok(applied.iter().any(|a| *a != evident_store::Applied::Unchanged))
    }

    /// Adds a member with a role and this organisation's display name for them.
    pub async fn add_member(
        &self,
        principal: &Principal,
        email: Email,
        role: Role,
        name: Option<String>,
    ) -> Result<()> {
        principal.authorize(Permission::MemberManage)?;
        let display_name =
            name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| default_name(&email));
        self.apply(principal, vec![MemberChange::Add { email, display_name, role }.into()]).await
    }

    /// Removes a member from the organisation: their account and other memberships stay, their
    /// sessions find this organisation no more, and the tokens they made here stop working.
    /// Refused (`rule_violated`) for the last administrator and for a member who still owns a
    /// control in force, an open risk or an asset; both checked inside the write.
    pub async fn remove_member(&self, principal: &Principal, email: &Email) -> Result<()> {
        principal.authorize(Permission::MemberManage)?;
        if self.store.member(&principal.org.id, email).await?.is_none() {
            return Err(AppError::new(Code::NotAMember, format!("{email} is not a member of {}", principal.org.slug)));
        }
        self.apply(principal, vec![MemberChange::Remove { email: email.clone() }.into()]).await.map_err(|e| {
            match e.code {
                Code::InvalidInput => AppError::new(Code::RuleViolated, e.message),
                _ => e,
            }
        })
    }
}
