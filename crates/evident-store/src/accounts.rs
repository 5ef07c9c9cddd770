//! Accounts, sessions and API tokens: who may sign in, who is signed in, and the programs an
//! organisation lets in.
//!
//! Accounts and sessions belong to the installation, not to an organisation (one person signs in
//! once and works in every organisation they are a member of), so their changes are written by
//! [`Accounts::apply_accounts`] into the installation's own hash-chained audit log. API tokens
//! belong to one organisation and are written by [`Store::apply`](crate::Store::apply) as
//! [`TokenChange`]s, into that organisation's log.
//!
//! Secrets never reach the store: a password arrives as its argon2id hash ([`PasswordHash`], whose
//! `Debug` hides it), a session or token secret as its SHA-256. No audit image holds either.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use evident_core::audit::{AuditRecord, ChainHead};
use evident_core::{Email, Member, OrgId, Organisation, Role, Sha256Digest};
use serde::{Deserialize, Serialize};

use crate::{Applied, Result};

/// A password's argon2id hash as a PHC string. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string made by the password hasher (the app's `accounts` module).
    pub fn new(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// A user who can sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub email: Email,
    pub password_hash: PasswordHash,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A session as stored: found by its secret's hash, named by its public id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub email: Email,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A session to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSession {
    /// The public handle (random), named in the audit log.
    pub id: String,
    /// SHA-256 of the secret the cookie carries.
    pub secret_hash: Sha256Digest,
    pub expires_at: DateTime<Utc>,
}

/// An organisation's API token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The e-mail of the member who created it; the token acts with at most their role.
    pub created_by: Email,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A token to create in the actor's organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub id: String,
    pub name: String,
    pub secret_hash: Sha256Digest,
    pub role: Role,
    pub created_by: Email,
    pub expires_at: DateTime<Utc>,
}

/// A change to the installation's accounts and sessions, written by [`Accounts::apply_accounts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum AccountChange {
    /// Creates the account of the user with this e-mail (and the user, if new); refused when
    /// the user has one.
    Create { email: Email, password_hash: PasswordHash },
    /// Replaces the password and revokes every session of the user, in the same transaction.
    SetPassword { email: Email, password_hash: PasswordHash },
    /// Opens a session for the user (their failed sign-ins are forgotten).
    OpenSession { email: Email, session: NewSession },
    /// Revokes one session; revoking a revoked one changes nothing.
    CloseSession { id: String },
    /// A failed sign-in with this e-mail (an account's or not). Counted for the lockout and
    /// deleted once older than `forget_before`; never an audit record (see ARCHITECTURE.md).
    LoginFailed { email: Email, forget_before: DateTime<Utc> },
    /// The sign-ins of this e-mail are refused until `until`: the audit record of a lockout.
    LockOut { email: Email, failures: u32, until: DateTime<Utc> },
    /// Disables the account (it signs nothing in from then on) and revokes every session of the
    /// user, in the same transaction; disabling a disabled one changes nothing.
    Disable { email: Email },
    /// Enables a disabled account again; enabling an enabled one changes nothing.
    Enable { email: Email },
}

/// A change to an organisation's API tokens, written by [`Store::apply`](crate::Store::apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum TokenChange {
    /// Creates a token; refused when its name (or id) is taken in the organisation.
    Create(NewToken),
    /// Revokes a token; revoking a revoked one changes nothing.
    Revoke { id: String },
}

/// What the audit log calls an account change: action, entity type, entity id.
pub fn describe_account(change: &AccountChange) -> (&'static str, &'static str, String) {
    match change {
        AccountChange::Create { email, .. } => ("account.create", "account", email.to_string()),
        AccountChange::SetPassword { email, .. } => ("account.password", "account", email.to_string()),
        AccountChange::OpenSession { session, .. } => ("session.open", "session", session.id.clone()),
        AccountChange::CloseSession { id } => ("session.close", "session", id.clone()),
        AccountChange::LoginFailed { email, .. } => ("login.failed", "account", email.to_string()),
        AccountChange::LockOut { email, .. } => ("account.lockout", "account", email.to_string()),
        AccountChange::Disable { email } => ("account.disable", "account", email.to_string()),
        AccountChange::Enable { email } => ("account.enable", "account", email.to_string()),
    }
}

/// The installation's accounts, sessions and log, and the organisation tokens found by secret.
///
/// These reads are keyed by a person (an e-mail) or a secret's hash, not by an organisation: a
/// session is the installation's, and a token names its organisation itself. Each returns only
/// what that key owns.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Writes every change in one transaction, with an installation audit record for each that
    /// changes something (`who` acting at `at`), or nothing.
    async fn apply_accounts(&self, who: &str, at: DateTime<Utc>, changes: Vec<AccountChange>) -> Result<Vec<Applied>>;

    async fn account(&self, email: &Email) -> Result<Option<Account>>;

    /// How many accounts the installation has.
    async fn account_count(&self) -> Result<u64>;

    /// The session whose secret hashes to `secret_hash`, revoked or expired ones too.
    async fn session(&self, secret_hash: &Sha256Digest) -> Result<Option<Session>>;

    /// Records that a session was used at `at`. Outside the audit log: see ARCHITECTURE.md.
    async fn touch_session(&self, id: &str, at: DateTime<Utc>) -> Result<()>;

    /// The times of the failed sign-ins with `email` since `since`, oldest first.
    async fn login_failures(&self, email: &Email, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>>;

    /// Every organisation the user with this e-mail is a member of, with the membership.
    async fn memberships_of(&self, email: &Email) -> Result<Vec<(Organisation, Member)>>;

    /// The API token whose secret hashes to `secret_hash`, with its organisation.
    async fn token_by_secret(&self, secret_hash: &Sha256Digest) -> Result<Option<(OrgId, ApiToken)>>;

    /// Records that a token was used at `at`. Outside the audit log: see ARCHITECTURE.md.
    async fn touch_token(&self, id: &str, at: DateTime<Utc>) -> Result<()>;

    /// The installation's audit log from position `after_seq`, at most `limit` records, and its head.
    async fn installation_log(&self, after_seq: i64, limit: u32) -> Result<(Vec<AuditRecord>, ChainHead)>;
}

/// An organisation's API tokens.
#[async_trait]
pub trait Tokens: Send + Sync {
    /// The organisation's tokens, revoked and expired ones too, oldest first.
    async fn tokens(&self, org: &OrgId) -> Result<Vec<ApiToken>>;
}

/// The organisation id the installation's audit chain hashes in place of an organisation's: no
/// organisation id (a UUID) can be it.
pub fn installation_chain() -> OrgId {
    OrgId::from_store("installation".to_owned())
}
