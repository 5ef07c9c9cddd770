//! Who acts, in which organisation, and what they may touch.
//!
//! A principal is a member of one organisation, or an operator: someone who runs evident directly
//! on the database (the CLI without a server). An operator is not a member; the audit log records
//! the operator as `operator:NAME`, and, acting as a member, `operator:NAME as EMAIL` with that
//! member's role. A server's principals are a member signed in with a session (`Member`, logged
//! by e-mail) and an API token (`Token`, logged as `token:NAME by EMAIL`: the token's name, unique
//! forever in its organisation, and the member who created it, whose role bounds the token's).

use evident_core::{Email, Member, Organisation, Permission, Role};
use evident_store::Actor;
use serde::Serialize;

use crate::error::{AppError, Code, Result};

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Acting {
    /// A member of the organisation, signed in (a server session).
    Member { member: Member },
    /// An API token of the organisation: `member` is its creator with the token's role (at most
    /// the creator's). It acts for a program, so it is accountable for nothing.
    Token { id: String, name: String, member: Member },
    /// The operator of this installation, with every permission, and no e-mail.
    Operator { name: String },
    /// The operator acting as a member: that member's role applies.
    OperatorAs { name: String, member: Member },
}

/// The operator of the installation acting on the installation itself, in no organisation: a
/// backup or a restore takes every organisation at once. Whoever can open the database and the
/// evidence store directly is their operator; only a front end that does so (the CLI) makes one,
/// never a server from a member's session, so holding one is the permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    name: String,
}

impl Operator {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// How logs name the operator: `operator:NAME`.
    pub fn audit_name(&self) -> String {
        format!("operator:{}", self.name)
    }
}

/// A principal in one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub org: Organisation,
    pub acting: Acting,
}

impl Principal {
    /// The member acting, if any; an operator alone is no member.
    pub fn member(&self) -> Option<&Member> {
        match &self.acting {
            Acting::Member { member } | Acting::OperatorAs { member, .. } | Acting::Token { member, .. } => {
                Some(member)
            }
            Acting::Operator { .. } => None,
        }
    }

    /// The role whose permissions apply; an operator has an administrator's.
    pub fn role(&self) -> Role {
        self.member().map_or(Role::Admin, |m| m.role)
    }

    pub fn email(&self) -> Option<&Email> {
        self.member().map(|m| &m.email)
    }

    /// How the audit log names this principal.
    pub fn audit_name(&self) -> String {
        match &self.acting {
            Acting::Member { member } => member.email.to_string(),
            Acting::Operator { name } => format!("operator:{name}"),
            Acting::OperatorAs { name, member } => format!("operator:{name} as {}", member.email),
            Acting::Token { name, member, .. } => format!("token:{name} by {}", member.email),
        }
    }

    pub fn actor(&self, at: chrono::DateTime<chrono::Utc>) -> Actor {
        Actor { org: self.org.id.clone(), who: self.audit_name(), at }
    }

    /// Refuses, with the reason, what the principal's role does not allow.
    pub fn authorize(&self, permission: Permission) -> Result<()> {
        if self.role().can(permission) {
            return Ok(());
        }
        let allowed: Vec<_> = Role::ALL.iter().filter(|r| r.can(permission)).map(|r| r.as_str()).collect();
        Err(AppError::new(
            Code::PermissionDenied,
            format!(
                "{} is {} in {} and may not do this ({permission}): this needs one of the roles: {}",
                self.audit_name(),
                self.role(),
                self.org.slug,
                allowed.join(", ")
            ),
        ))
    }

    /// For a write that touches one control: a control owner may touch only the controls they own.
    pub fn authorize_control(&self, permission: Permission, owner: Option<&Email>) -> Result<()> {
        self.authorize(permission)?;
        if self.role() == Role::ControlOwner && owner != self.email() {
            return Err(AppError::new(
                Code::PermissionDenied,
                format!(
                    "{} is a control owner in {} and may change only the controls they own (owner: {})",
                    self.audit_name(),
                    self.org.slug,
                    owner.map_or("nobody".to_owned(), |o| o.to_string())
                ),
            ));
        }
        Ok(())
    }

    /// The member who is accountable for a decision (a risk acceptance): an operator must act as one.
    pub fn accountable(&self) -> Result<&Member> {
        if let Acting::Token { name, .. } = &self.acting {
            return Err(AppError::new(
                Code::MemberRequired,
                format!(
                    "token {name} acts for a program: a decision someone is accountable for needs a person signed in"
                ),
            ));
        }
        self.member().ok_or_else(|| {
            AppError::new(Code::MemberRequired, "this records who is accountable: act as a member (--as EMAIL)")
        })
    }
}
