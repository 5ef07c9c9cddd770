//! Accounts, sessions and API tokens: who may sign in, who is signed in, and the programs an
//! organisation lets in.
//!
//! - A user is an e-mail; their memberships (one per organisation, each with its role) are what
//!   they may do. An account adds a password (argon2id) so the user can sign in.
//! - Signing in opens a session: a random secret in the browser's cookie, stored as its SHA-256.
//!   A session lasts [`SESSION_LIFETIME`] at most and ends after [`SESSION_IDLE`] unused; a new
//!   password ends every session of the user. Its CSRF token ([`csrf_token`]) is derived from the
//!   secret, so any instance can check it and none stores it.
//! - [`MAX_FAILURES`] failed sign-ins with one e-mail within [`FAILURE_WINDOW`] lock it out until
//!   the oldest of them leaves the window; each failure is recorded (outside the audit chain) and
//!   each lockout is an audit record of the installation's log.
//! - An API token belongs to one organisation, carries a role no higher than its creator's (and
//!   never higher than the creator's role of the moment it is used), expires, can be revoked, and
//!   is shown once. What it writes is logged as `token:NAME by EMAIL`.
//!
//! Secrets (passwords, session and token secrets) are never logged, stored or put in a `Debug`.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Duration, Utc};
use evident_core::{Email, Member, OrgSlug, Organisation, Permission, Role, Sha256Digest};
use evident_store::accounts::{AccountChange, ApiToken, NewSession, NewToken, PasswordHash, TokenChange};
use evident_store::{Applied, StoreError};
use rand::Rng as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::App;
use crate::error::{AppError, Code, Result};
use crate::principal::{Acting, Operator, Principal};

/// Failed sign-ins with one e-mail that lock it out.
pub const MAX_FAILURES: usize = 5;
/// How far back failed sign-ins count.
pub const FAILURE_WINDOW: Duration = Duration::minutes(15);
/// The longest a session lasts, however busy.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// A session unused this long is over.
pub const SESSION_IDLE: Duration = Duration::hours(2);
/// A session's last use is written at most this often (each write is a statement per request).
const TOUCH_EVERY: Duration = Duration::minutes(1);
/// A token's lifetime when none is asked for, and the longest one may ask for.
pub const TOKEN_DAYS_DEFAULT: u32 = 90;
pub const TOKEN_DAYS_MAX: u32 = 366;
/// Passwords: at least this many characters, at most this many bytes (hashing cost is bounded).
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_BYTES: usize = 1024;
/// The demo organisation's slug (`demo/northwind.toml`), whose administrator the first start signs up.
const DEMO_SLUG: &str = "demo";
/// What every API token's secret starts with, so a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "evt_";

/// A password as given or generated. Its `Debug` shows nothing; [`Password::expose`] is the one
/// way to read it (to show a generated one once).
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    /// A new password: at least [`PASSWORD_MIN_CHARS`] characters, at most [`PASSWORD_MAX_BYTES`]
    /// bytes, no control characters.
    pub fn parse(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        if text.chars().count() < PASSWORD_MIN_CHARS {
            return Err(AppError::invalid(format!("a password needs at least {PASSWORD_MIN_CHARS} characters")));
        }
        if text.len() > PASSWORD_MAX_BYTES {
            return Err(AppError::invalid(format!("a password has at most {PASSWORD_MAX_BYTES} bytes")));
        }
        if text.chars().any(char::is_control) {
            return Err(AppError::invalid("a password cannot contain control characters"));
        }
        Ok(Self(text))
    }

    /// A random password of 24 characters (about 120 bits) without look-alike characters.
    pub fn generate() -> Self {
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut rng = rand::rng();
        let text: String = (0..24).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
        Self(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A session's or a token's secret, shown once. `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    fn random(prefix: &str) -> Self {
        let bytes: [u8; 32] = rand::rng().random();
        Self(format!("{prefix}{}", hex::encode(bytes)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The SHA-256 a secret is stored and looked up as.
fn secret_hash(secret: &str) -> Sha256Digest {
    Sha256Digest::of(secret.as_bytes())
}

/// The CSRF token of the session whose cookie holds `secret`: what a state-changing request
/// authenticated by that cookie must echo in `X-CSRF-Token`. Derived, so no instance stores it;
/// unguessable without the secret, which scripts cannot read (the cookie is HttpOnly).
pub fn csrf_token(session_secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"evident-csrf-v1\0");
    hasher.update(session_secret.as_bytes());
    hex::encode(hasher.finalize())
}

/// Compares two strings in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The argon2id hasher (the crate's defaults: 19 MiB, 2 passes, 1 lane, OWASP's minimum).
fn hasher() -> argon2::Argon2<'static> {
    argon2::Argon2::default()
}

fn hash_password(password: &str) -> Result<PasswordHash> {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| AppError::new(Code::Unexpected, e.to_string()))?;
    let phc = hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AppError::new(Code::Unexpected, format!("cannot hash the password: {e}")))?;
    Ok(PasswordHash::new(phc.to_string()))
}

fn password_matches(password: &str, stored: &str) -> bool {
    use argon2::password_hash::PasswordVerifier as _;
    match argon2::password_hash::PasswordHash::new(stored) {
        Ok(parsed) => hasher().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash of no one's password: an unknown e-mail costs a sign-in the same work as a known one.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| hash_password(Password::generate().expose()).map(|h| h.as_str().to_owned()).unwrap_or_default())
}

/// Who manages accounts: the installation's operator, or an administrator of an organisation
/// (for the members of their organisation who belong to no other).
#[derive(Debug, Clone, Copy)]
pub enum AccountsBy<'a> {
    Operator(&'a Operator),
    Admin(&'a Principal),
}

/// A signed-in user, from their session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedIn {
    pub email: Email,
    /// The session's public handle (never its secret).
    pub session: String,
    pub expires_at: DateTime<Utc>,
}

/// A session just opened: the secret for the cookie, shown this once.
#[derive(Debug, Clone)]
pub struct Opened {
    pub user: SignedIn,
    pub secret: Secret,
}

/// A token just created, with its secret, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: Secret,
}

/// An organisation the user is a member of, and their role there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub organisation: Organisation,
    pub role: Role,
    pub display_name: String,
}

/// The account made at the first start, and how to sign in with it.
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    pub organisation: OrgSlug,
    pub email: Email,
    pub password: Password,
}

impl App {
    /// Hashing is CPU- and memory-heavy: at most two at once (a flood of sign-ins queues, the
    /// rest of the server goes on), each on a blocking thread.
    async fn hashing<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit =
            self.hashing.acquire().await.map_err(|_| AppError::new(Code::Unexpected, "the hasher is closed"))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| AppError::new(Code::Unexpected, e.to_string()))
    }

    /// Who an account change is written as in the installation's log.
    fn accounts_actor(by: AccountsBy<'_>) -> String {
        match by {
            AccountsBy::Operator(operator) => operator.audit_name(),
            AccountsBy::Admin(principal) => format!("{} in {}", principal.audit_name(), principal.org.slug),
        }
    }

    /// An administrator manages the account of a member of their organisation only when the
    /// member belongs to no other: otherwise the password they set would open another
    /// organisation to them.
    async fn check_manages(&self, by: AccountsBy<'_>, email: &Email) -> Result<()> {
        let AccountsBy::Admin(principal) = by else { return Ok(()) };
        principal.authorize(Permission::MemberManage)?;
        let memberships = self.store.memberships_of(email).await?;
        if !memberships.iter().any(|(org, _)| org.id == principal.org.id) {
            return Err(AppError::new(Code::NotAMember, format!("{email} is not a member of {}", principal.org.slug)));
        }
        if memberships.iter().any(|(org, _)| org.id != principal.org.id) {
            return Err(AppError::new(
                Code::PermissionDenied,
                format!(
                    "{email} is also a member of another organisation: only the installation's operator may manage \
                     their account (`evident users create`)"
                ),
            ));
        }
        Ok(())
    }

    /// Creates the account of `email` with `password`, or a generated one that is returned (to
    /// be shown once). Refused with `already_exists` when the user has an account.
    pub async fn create_account(
        &self,
        by: AccountsBy<'_>,
        email: Email,
        password: Option<Password>,
    ) -> Result<Option<Password>> {
        self.check_manages(by, &email).await?;
        let (password, generated) = match password {
            Some(password) => (password, false),
            None => (Password::generate(), true),
        };
        let text = password.expose().to_owned();
        let hash = self.hashing(move || hash_password(&text)).await??;
        let change = AccountChange::Create { email: email.clone(), password_hash: hash };
        self.store.apply_accounts(&Self::accounts_actor(by), self.now(), vec![change]).await.map_err(|e| match e {
            StoreError::Conflict { .. } => {
                AppError::new(Code::AlreadyExists, format!("{email} has an account already"))
            }
            other => other.into(),
        })?;
        tracing::info!(%email, "account created");
        Ok(generated.then_some(password))
    }

    /// Sets a user's password (a generated one if none is given, returned to be shown once) and
    /// ends every session they have.
    pub async fn set_password(
        &self,
        by: AccountsBy<'_>,
        email: &Email,
        password: Option<Password>,
    ) -> Result<Option<Password>> {
        self.check_manages(by, email).await?;
        let (password, generated) = match password {
            Some(password) => (password, false),
            None => (Password::generate(), true),
        };
        self.write_password(&Self::accounts_actor(by), email, &password).await?;
        Ok(generated.then_some(password))
    }

    /// Disables an account: it signs in no more, its sessions end at once (in the same write), and
    /// the API tokens its user made stop working. The operator may disable anyone; an
    /// administrator, a member of their organisation who belongs to no other, never themselves.
    pub async fn disable_account(&self, by: AccountsBy<'_>, email: &Email) -> Result<bool> {
        self.check_manages(by, email).await?;
        if let AccountsBy::Admin(principal) = by
            && principal.email() == Some(email)
        {
            return Err(AppError::new(
                Code::RuleViolated,
                "you cannot disable your own account: another administrator or the operator can",
            ));
        }
        self.set_disabled(by, email, true).await
    }

    /// Enables a disabled account again (its old sessions stay ended); who may is as for
    /// [`App::disable_account`].
    pub async fn enable_account(&self, by: AccountsBy<'_>, email: &Email) -> Result<bool> {
        self.check_manages(by, email).await?;
        self.set_disabled(by, email, false).await
    }

    async fn set_disabled(&self, by: AccountsBy<'_>, email: &Email, disable: bool) -> Result<bool> {
        let change = if disable {
            AccountChange::Disable { email: email.clone() }
        } else {
            AccountChange::Enable { email: email.clone() }
        };
        let applied = self.store.apply_accounts(&Self::accounts_actor(by), self.now(), vec![change]).await.map_err(
            |e| match e {
                StoreError::NotFound { .. } => AppError::new(Code::AccountNotFound, format!("{email} has no account")),
                other => other.into(),
            },
        )?;
        let changed = applied.iter().any(Applied::changed);
        if changed {
            tracing::info!(%email, disabled = disable, "account {}", if disable { "disabled" } else { "enabled" });
        }
        Ok(changed)
    }

    /// The signed-in user changes their own password, proving the current one; every session of
    /// theirs ends, this one too.
    pub async fn change_own_password(&self, user: &SignedIn, current: &str, new: Password) -> Result<()> {
        let account = self.store.account(&user.email).await?.ok_or_else(unauthenticated)?;
        let (current, stored) = (current.to_owned(), account.password_hash.as_str().to_owned());
        if !self.hashing(move || password_matches(&current, &stored)).await? {
            return Err(AppError::new(Code::InvalidCredentials, "the current password is not right"));
        }
        self.write_password(user.email.as_str(), &user.email, &new).await
    }

    async fn write_password(&self, who: &str, email: &Email, password: &Password) -> Result<()> {
        let text = password.expose().to_owned();
        let hash = self.hashing(move || hash_password(&text)).await??;
        let change = AccountChange::SetPassword { email: email.clone(), password_hash: hash };
        self.store.apply_accounts(who, self.now(), vec![change]).await.map_err(|e| match e {
            StoreError::NotFound { .. } => AppError::new(Code::AccountNotFound, format!("{email} has no account")),
            other => other.into(),
        })?;
        tracing::info!(%email, "password set; the user's sessions are ended");
        Ok(())
    }

    /// Signs in: checks the lockout, then the password, and opens a session. A wrong e-mail and
    /// a wrong password are refused alike, after the same work.
    pub async fn log_in(&self, email: &Email, password: &str) -> Result<Opened> {
        let now = self.now();
        let failures = self.store.login_failures(email, now - FAILURE_WINDOW).await?;
        if failures.len() >= MAX_FAILURES {
            return Err(locked_out(&failures, now));
        }
        let account = self.store.account(email).await?;
        let stored = match &account {
            Some(account) if account.disabled_at.is_none() => account.password_hash.as_str().to_owned(),
            _ => decoy_hash().to_owned(),
        };
        let given = password.to_owned();
        let matches = self.hashing(move || password_matches(&given, &stored)).await?;
        let usable = account.as_ref().is_some_and(|a| a.disabled_at.is_none());
        if !(matches && usable) {
            let mut changes =
                vec![AccountChange::LoginFailed { email: email.clone(), forget_before: now - FAILURE_WINDOW }];
            let count = failures.len() + 1;
            if count >= MAX_FAILURES {
                let mut all = failures.clone();
                all.push(now);
                let until = all[all.len() - MAX_FAILURES] + FAILURE_WINDOW;
                changes.push(AccountChange::LockOut { email: email.clone(), failures: count as u32, until });
                tracing::warn!(%email, failures = count, %until, "sign-in locked out");
            } else {
                tracing::info!(%email, failures = count, "sign-in failed");
            }
            self.store.apply_accounts("system", now, changes).await?;
            return Err(AppError::new(Code::InvalidCredentials, "the e-mail or the password is not right"));
        }
        let secret = Secret::random("");
        let expires_at = now + SESSION_LIFETIME;
        let session = NewSession {
            id: uuid::Uuid::new_v4().simple().to_string(),
            secret_hash: secret_hash(secret.expose()),
            expires_at,
        };
        let id = session.id.clone();
        self.store
            .apply_accounts(email.as_str(), now, vec![AccountChange::OpenSession { email: email.clone(), session }])
            .await?;
        tracing::info!(%email, session = %id, "signed in");
        Ok(Opened { user: SignedIn { email: email.clone(), session: id, expires_at }, secret })
    }

    /// Ends the user's session.
    pub async fn log_out(&self, user: &SignedIn) -> Result<()> {
        let change = AccountChange::CloseSession { id: user.session.clone() };
        self.store.apply_accounts(user.email.as_str(), self.now(), vec![change]).await?;
        tracing::info!(email = %user.email, session = %user.session, "signed out");
        Ok(())
    }

    /// The user signed in with the session whose cookie holds `secret`; `unauthenticated` when
    /// there is none, or it was revoked, expired, went unused too long, or its account is disabled.
    pub async fn session_user(&self, secret: &str) -> Result<SignedIn> {
        let now = self.now();
        let session = self.store.session(&secret_hash(secret)).await?.ok_or_else(unauthenticated)?;
        if session.revoked_at.is_some() || session.expires_at <= now || session.last_seen_at + SESSION_IDLE <= now {
            return Err(unauthenticated());
        }
        let account = self.store.account(&session.email).await?.ok_or_else(unauthenticated)?;
        if account.disabled_at.is_some() {
            return Err(unauthenticated());
        }
        if now - session.last_seen_at >= TOUCH_EVERY
            && let Err(e) = self.store.touch_session(&session.id, now).await
        {
            tracing::debug!(error = %e, "the session's last use was not recorded");
        }
        Ok(SignedIn { email: session.email, session: session.id, expires_at: session.expires_at })
    }

    /// The organisations the user is a member of, with their role in each.
    pub async fn memberships(&self, user: &SignedIn) -> Result<Vec<Membership>> {
        Ok(self
            .store
            .memberships_of(&user.email)
            .await?
            .into_iter()
            .map(|(organisation, member)| Membership {
                organisation,
                role: member.role,
                display_name: member.display_name,
            })
            .collect())
    }

    /// The signed-in user as a member of `org`. An organisation they are not a member of is
    /// answered exactly as one that does not exist: nothing says it is there.
    pub async fn signed_in_member(&self, user: &SignedIn, org: &OrgSlug) -> Result<Principal> {
        let no_such = || AppError::not_found(Code::OrganisationNotFound, "organisation", org);
        let organisation = self.store.org_by_slug(org).await?.ok_or_else(no_such)?;
        let member = self.store.member(&organisation.id, &user.email).await?.ok_or_else(no_such)?;
        Ok(Principal { org: organisation, acting: Acting::Member { member } })
    }

    /// Creates an API token in the principal's organisation with `role` (at most the principal's
    /// own) for `days` days (default [`TOKEN_DAYS_DEFAULT`], at most [`TOKEN_DAYS_MAX`]). The
    /// secret is in the result, this once. Only a person makes tokens: a token cannot.
    pub async fn create_token(
        &self,
        principal: &Principal,
        name: &str,
        role: Role,
        days: Option<u32>,
    ) -> Result<CreatedToken> {
        principal.authorize(Permission::Read)?;
        let creator = match &principal.acting {
            Acting::Token { .. } => {
                return Err(AppError::new(
                    Code::PermissionDenied,
                    "an API token cannot create tokens: sign in as a person to make one",
                ));
            }
            _ => principal.accountable()?.clone(),
        };
        if !role.within(creator.role) {
            return Err(AppError::new(
                Code::PermissionDenied,
                format!(
                    "{} is {} in {}: a token they create may have that role or a lower one, not {role}",
                    creator.email, creator.role, principal.org.slug
                ),
            ));
        }
        let name = token_name(name)?;
        let days = days.unwrap_or(TOKEN_DAYS_DEFAULT);
        if !(1..=TOKEN_DAYS_MAX).contains(&days) {
            return Err(AppError::invalid(format!("a token lasts 1 to {TOKEN_DAYS_MAX} days, not {days}")));
        }
        let secret = Secret::random(TOKEN_PREFIX);
        let new = NewToken {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: name.clone(),
            secret_hash: secret_hash(secret.expose()),
            role,
            created_by: creator.email.clone(),
            expires_at: self.now() + Duration::days(i64::from(days)),
        };
        let id = new.id.clone();
        self.apply(principal, vec![TokenChange::Create(new).into()]).await.map_err(|e| match e.code {
            Code::AlreadyExists => AppError::new(
                Code::AlreadyExists,
                format!("{} has a token named {name} already (a name is never reused)", principal.org.slug),
            ),
            _ => e,
        })?;
        let token = self
            .store
            .tokens(&principal.org.id)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| AppError::new(Code::Unexpected, "the token just created is not there"))?;
        tracing::info!(org = %principal.org.slug, token = %token.name, %role, "token created");
        Ok(CreatedToken { token, secret })
    }

    /// The organisation's tokens: all of them for an administrator, one's own for anyone else.
    pub async fn tokens(&self, principal: &Principal) -> Result<Vec<ApiToken>> {
        principal.authorize(Permission::Read)?;
        let all = principal.role().can(Permission::MemberManage) && !matches!(principal.acting, Acting::Token { .. });
        let mine = principal.email();
        Ok(self
            .store
            .tokens(&principal.org.id)
            .await?
            .into_iter()
            .filter(|t| all || Some(&t.created_by) == mine)
            .collect())
    }

    /// Revokes a token: its creator or an administrator may. Another's token, to anyone else, is
    /// answered as one that does not exist.
    pub async fn revoke_token(&self, principal: &Principal, id: &str) -> Result<()> {
        let token = self.tokens(principal).await?.into_iter().find(|t| t.id == id);
        let Some(token) = token else {
            return Err(AppError::not_found(Code::TokenNotFound, "token", id));
        };
        let applied = self.applied(principal, vec![TokenChange::Revoke { id: token.id.clone() }.into()]).await?;
        if applied.iter().any(Applied::changed) {
            tracing::info!(org = %principal.org.slug, token = %token.name, "token revoked");
        }
        Ok(())
    }

    /// The principal an API token acts as: its organisation, and its creator with the lower of
    /// the token's role and the creator's role now. `unauthenticated` for an unknown, revoked or
    /// expired token, or one whose creator is no longer a member or has been disabled.
    pub async fn token_principal(&self, secret: &str) -> Result<Principal> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Err(unauthenticated());
        }
        let now = self.now();
        let (org_id, token) = self.store.token_by_secret(&secret_hash(secret)).await?.ok_or_else(unauthenticated)?;
        if token.revoked_at.is_some() || token.expires_at <= now {
            return Err(unauthenticated());
        }
        let (organisation, creator) = self
            .store
            .memberships_of(&token.created_by)
            .await?
            .into_iter()
            .find(|(org, _)| org.id == org_id)
            .ok_or_else(unauthenticated)?;
        // A token speaks for its creator: a disabled account's tokens sign nothing in.
        if self.store.account(&token.created_by).await?.is_some_and(|a| a.disabled_at.is_some()) {
            return Err(unauthenticated());
        }
        let role = if token.role.within(creator.role) { token.role } else { creator.role };
        if token.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY)
            && let Err(e) = self.store.touch_token(&token.id, now).await
        {
            tracing::debug!(error = %e, "the token's last use was not recorded");
        }
        let member = Member { role, ..creator };
        Ok(Principal { org: organisation, acting: Acting::Token { id: token.id, name: token.name, member } })
    }

    /// At the first start of a server (no account yet): the account of the demo organisation's
    /// administrator, or of the only organisation's first administrator, with a generated
    /// password to show once. `None` when there are accounts already, no such organisation, or
    /// another instance made it first.
    pub async fn ensure_first_admin(&self, operator: &Operator) -> Result<Option<FirstAdmin>> {
        if self.store.account_count().await? > 0 {
            return Ok(None);
        }
        let orgs = self.store.orgs().await?;
        let org = match orgs.iter().find(|o| o.slug.as_str() == DEMO_SLUG) {
            Some(demo) => demo,
            None if orgs.len() == 1 => &orgs[0],
            None => return Ok(None),
        };
        let Some(admin) = self.store.members(&org.id).await?.into_iter().find(|m| m.role == Role::Admin) else {
            return Ok(None);
        };
        match self.create_account(AccountsBy::Operator(operator), admin.email.clone(), None).await {
            Ok(Some(password)) => Ok(Some(FirstAdmin { organisation: org.slug.clone(), email: admin.email, password })),
            Ok(None) => Ok(None),
            Err(e) if e.code == Code::AlreadyExists => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A token's name: 1 to 64 characters of letters, digits, `-`, `_` and `.`.
fn token_name(name: &str) -> Result<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(AppError::invalid(format!(
            "a token's name is 1 to 64 letters, digits, '-', '_' or '.', not {name:?}"
        )));
    }
    Ok(name.to_owned())
}

fn unauthenticated() -> AppError {
    AppError::new(Code::Unauthenticated, "sign in, or pass a valid API token (Authorization: Bearer …)")
}

fn locked_out(failures: &[DateTime<Utc>], now: DateTime<Utc>) -> AppError {
    let until = failures[failures.len() - MAX_FAILURES] + FAILURE_WINDOW;
    let minutes = (until - now).num_minutes().max(0) + 1;
    AppError::new(
        Code::AccountLocked,
        format!("too many failed sign-ins with this e-mail: try again in {minutes} minute(s)"),
    )
}

/// How many hashes may run at once (see `App::hashing`).
pub(crate) fn hashing_permits() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_start_looks_for_the_demo_by_its_slug() {
        let demo: toml::Table = toml::from_str(include_str!("../demo/northwind.toml")).expect("the demo parses");
        assert_eq!(demo["slug"].as_str(), Some(DEMO_SLUG));
    }

    #[test]
    fn passwords_are_checked_and_never_shown_by_debug() {
        assert_eq!(Password::parse("short").unwrap_err().code, Code::InvalidInput);
        assert_eq!(Password::parse("a".repeat(PASSWORD_MAX_BYTES + 1)).unwrap_err().code, Code::InvalidInput);
        assert_eq!(Password::parse("twelve chars\u{7}!").unwrap_err().code, Code::InvalidInput);
        let generated = Password::generate();
        assert!(Password::parse(generated.expose()).is_ok());
        assert!(!format!("{generated:?}").contains(generated.expose()));
        let hash = hash_password(generated.expose()).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(password_matches(generated.expose(), hash.as_str()));
        assert!(!password_matches("another password", hash.as_str()));
        assert!(!format!("{hash:?}").contains("argon2"));
    }

    #[test]
    fn the_csrf_token_is_the_sessions_own() {
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }
}
