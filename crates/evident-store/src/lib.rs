//! The storage boundary: the [`Store`] trait that every backend implements, its error type,
//! and (feature `testkit`) the parity story that every backend's tests run.
//!
//! Architecture invariants:
//! - Every read takes the organisation it reads from; no method reads across tenants.
//! - Every write goes through [`Store::apply`]: a batch of [`Change`]s lands whole, each change that
//!   changes something with its audit-log record, in one transaction, or not at all.
//! - The store never decides policy (who may do what); `evident_core::rbac` does, before calling it.
#![forbid(unsafe_code)]

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use evident_core::audit::{AuditRecord, ChainHead};
pub use evident_core::control::{ControlPatch, NewControl};
pub use evident_core::org::{Adoption, Member, Organisation};
pub use evident_core::risk::MethodologyVersion;
use evident_core::risk::{Acceptance, Asset, Methodology, Risk};
pub use evident_core::soa::SoaVersion;
use evident_core::soa::{Decision, SoaRow};
use evident_core::{
    Control, ControlCode, ControlId, Email, FrameworkId, Mapping, OrgId, OrgSlug, RequirementRef, Role,
};
use serde::{Deserialize, Serialize};

#[cfg(feature = "testkit")]
pub mod testkit;

/// What went wrong in the store, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} {key} does not exist")]
    NotFound { what: &'static str, key: String },
    #[error("{what} {key} already exists")]
    Conflict { what: &'static str, key: String },
    /// An edit based on a revision someone else has changed since: refused, never applied over theirs.
    #[error("{what} {key} was changed by someone else since: {detail}")]
    Stale { what: &'static str, key: String, detail: String },
    #[error("cannot reach the database: {0}")]
    Unavailable(String),
    #[error("the database could not be prepared: {0}")]
    Migration(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Input no database can store as given, e.g. text with a NUL character; the message says which.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Unexpected(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn not_found(what: &'static str, key: impl ToString) -> Self {
        StoreError::NotFound { what, key: key.to_string() }
    }

    pub fn conflict(what: &'static str, key: impl ToString) -> Self {
        StoreError::Conflict { what, key: key.to_string() }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One state change. [`Store::apply`] writes a batch of them, each with its audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    AddMember {
        email: Email,
        display_name: String,
        role: Role,
    },
    /// Changes a member's role or this organisation's display name for them. The last
    /// administrator cannot be demoted.
    ChangeMember {
        email: Email,
        role: Option<Role>,
        display_name: Option<String>,
    },
    Adopt(Adoption),
    CreateControl(NewControl),
    UpdateControl {
        code: ControlCode,
        patch: ControlPatch,
        /// The revision the edit was based on; a stale one is refused with [`StoreError::Stale`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected_revision: Option<i64>,
    },
    RetireControl {
        code: ControlCode,
    },
    /// Gives a control a new code; its id, mappings and risk links follow.
    RenameControl {
        code: ControlCode,
        to: ControlCode,
    },
    /// Creates the mapping, or replaces its coverage and rationale.
    Map(Mapping),
    Unmap {
        control: ControlCode,
        framework: FrameworkId,
        requirement: RequirementRef,
    },
    /// Records the organisation's applicability decision on one control of the SoA.
    SetSoaDecision {
        framework: FrameworkId,
        requirement: RequirementRef,
        decision: Decision,
    },
    /// Freezes the SoA as the next numbered version, approved by the actor.
    ApproveSoa {
        framework: FrameworkId,
        rows: Vec<SoaRow>,
    },
    /// Makes a validated methodology the next version; assessed risks keep theirs.
    SetMethodology(Methodology),
    /// Creates or replaces an asset.
    PutAsset(Asset),
    /// Creates or replaces a risk with its assets and treating controls; acceptances are kept.
    /// A register import says this on purpose; a single new risk is `CreateRisk`.
    PutRisk(Risk),
    /// Creates a risk; refused when its code is taken.
    CreateRisk(Risk),
    /// Records the acceptance of a risk's residual level.
    AcceptRisk {
        code: evident_core::RiskCode,
        acceptance: Acceptance,
    },
    /// Adds a framework the organisation brings itself (its policy, a customer's requirements),
    /// validated by its type; refused when the id is taken, whatever the content.
    ImportFramework(Box<evident_core::Framework>),
}

/// Who makes a change, in which organisation, and when. Time is given, never read by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub org: OrgId,
    /// The acting user's e-mail, or `system`.
    pub who: String,
    pub at: DateTime<Utc>,
}

/// What a first administrator brings to a new organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganisation {
    pub slug: OrgSlug,
    pub name: String,
    pub admin_email: Email,
    pub admin_name: String,
}

/// Everything an organisation's records are kept in. Backends: SQLite, PostgreSQL.
///
/// The reads are split by aggregate into the supertraits ([`Organisations`], [`Frameworks`],
/// [`Controls`], [`Soa`], [`Risks`], [`AuditLog`]); every write is [`Store::apply`]. Their methods
/// are callable on `dyn Store` (and on `S: Store`) without importing the supertraits; on a backend's
/// concrete type, `use evident_store::prelude::*`.
#[async_trait]
pub trait Store:
    Organisations + Frameworks + Controls + Soa + Risks + AuditLog + Send + Sync + std::fmt::Debug
{
    /// Writes every change in one transaction, or nothing, and says what each did, in order. A
    /// change that would leave everything as it is (an edit to the same values, a mapping with the
    /// same coverage and rationale, an adoption with the same scope) writes nothing, not even an
    /// audit record, and is [`Applied::Unchanged`]; every other change has one audit record.
    async fn apply(&self, actor: &Actor, changes: Vec<Change>) -> Result<Vec<Applied>>;
}

/// What one change of an [`apply`](Store::apply) batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Nothing was written, not even an audit record: the change would leave everything as it is.
    Unchanged,
    /// Written, with its audit record.
    Changed,
    /// A control was created, with this id.
    ControlCreated { id: ControlId },
    /// The SoA was approved as this version.
    SoaApproved { version: i64 },
    /// The methodology was set as this version.
    MethodologySet { version: i64 },
}

impl Applied {
    /// Whether the change wrote anything (and so has an audit record).
    pub fn changed(&self) -> bool {
        !matches!(self, Applied::Unchanged)
    }
}

/// The organisations of the installation and their members.
#[async_trait]
pub trait Organisations: Send + Sync {
    /// Creates an organisation with its first administrator, audit-logged as its first records.
    async fn create_org(&self, new: &NewOrganisation, at: DateTime<Utc>) -> Result<Organisation>;

    /// All organisations, for an operator on this installation.
    async fn orgs(&self) -> Result<Vec<Organisation>>;

    async fn org_by_slug(&self, slug: &OrgSlug) -> Result<Option<Organisation>>;

    async fn members(&self, org: &OrgId) -> Result<Vec<Member>>;

    async fn member(&self, org: &OrgId, email: &Email) -> Result<Option<Member>>;
}

/// The frameworks an organisation adopted, and those it brought itself.
#[async_trait]
pub trait Frameworks: Send + Sync {
    async fn adoptions(&self, org: &OrgId) -> Result<Vec<Adoption>>;

    /// The frameworks the organisation imported, by id, each validated again as it is read.
    async fn frameworks(&self, org: &OrgId) -> Result<Vec<ImportedFramework>>;
}

/// Controls and their mappings to requirements.
#[async_trait]
pub trait Controls: Send + Sync {
    /// Controls ordered by code, retired ones included.
    async fn controls(&self, org: &OrgId) -> Result<Vec<Control>>;

    async fn control(&self, org: &OrgId, code: &ControlCode) -> Result<Option<Control>>;

    /// Mappings ordered by control, framework and requirement.
    async fn mappings(&self, org: &OrgId) -> Result<Vec<Mapping>>;
}

/// The Statement of Applicability: decisions and approved versions.
#[async_trait]
pub trait Soa: Send + Sync {
    /// The SoA decisions recorded for a framework, by requirement.
    async fn soa_decisions(&self, org: &OrgId, framework: &FrameworkId) -> Result<Vec<(RequirementRef, Decision)>>;

    /// Approved SoA versions of a framework, oldest first.
    async fn soa_versions(&self, org: &OrgId, framework: &FrameworkId) -> Result<Vec<SoaVersion>>;

    /// Every approved SoA version of every framework with its rows as the exact stored text, for
    /// re-hashing: by framework, oldest first.
    async fn soa_version_texts(&self, org: &OrgId) -> Result<Vec<SoaVersionText>>;
}

/// The risk register: methodology versions, assets and risks.
#[async_trait]
pub trait Risks: Send + Sync {
    /// Every version of the risk methodology, oldest first.
    async fn methodologies(&self, org: &OrgId) -> Result<Vec<MethodologyVersion>>;

    /// Assets ordered by code.
    async fn assets(&self, org: &OrgId) -> Result<Vec<Asset>>;

    /// Risks ordered by code, each with its assets, treating controls and latest acceptance.
    async fn risks(&self, org: &OrgId) -> Result<Vec<Risk>>;
}

/// The audit log and its chain head.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// The audit log in stored order, with the chain head the organisation recorded.
    async fn audit_log(&self, org: &OrgId) -> Result<(Vec<AuditRecord>, ChainHead)>;

    /// The chain head the organisation recorded with its last append.
    async fn chain_head(&self, org: &OrgId) -> Result<ChainHead>;

    /// Up to `limit` audit records after position `after_seq`, in stored order: the log read a page
    /// at a time, so that verifying it never holds it whole.
    async fn audit_page(&self, org: &OrgId, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>>;
}

/// The store's traits, for code that calls reads on a backend's concrete type:
/// `use evident_store::prelude::*;`.
pub mod prelude {
    pub use crate::{AuditLog, Controls, Frameworks, Organisations, Risks, Soa, Store};
}

/// A framework an organisation imported, with who imported it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedFramework {
    pub framework: evident_core::Framework,
    pub imported_by: String,
    pub imported_at: DateTime<Utc>,
}

/// An approved SoA version as stored: the digest recorded at approval and the rows' exact text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoaVersionText {
    pub framework: FrameworkId,
    pub version: i64,
    pub digest: evident_core::Sha256Digest,
    pub rows_json: String,
}

#[cfg(feature = "testkit")]
/// Raw statements that bypass every rule of the store. Only tests that tamper with the database on
/// purpose (to prove `evident verify` catches it) use this.
#[async_trait]
pub trait RawSql: Send + Sync {
    async fn execute_raw(&self, sql: &str) -> Result<u64>;
}

/// What the audit log calls a change: its action, entity type and entity id.
pub fn describe(change: &Change) -> (&'static str, &'static str, String) {
    match change {
        Change::AddMember { email, .. } => ("member.add", "member", email.to_string()),
        Change::ChangeMember { email, .. } => ("member.change", "member", email.to_string()),
        Change::Adopt(a) => ("framework.adopt", "adoption", a.framework.to_string()),
        Change::CreateControl(c) => ("control.create", "control", c.code.to_string()),
        Change::UpdateControl { code, .. } => ("control.update", "control", code.to_string()),
        Change::RetireControl { code } => ("control.retire", "control", code.to_string()),
        Change::RenameControl { code, .. } => ("control.rename", "control", code.to_string()),
        Change::Map(m) => ("mapping.set", "mapping", mapping_key(&m.control, &m.framework, &m.requirement)),
        Change::Unmap { control, framework, requirement } => {
            ("mapping.delete", "mapping", mapping_key(control, framework, requirement))
        }
        Change::SetSoaDecision { framework, requirement, .. } => {
            ("soa.decide", "soa_decision", format!("{framework} {requirement}"))
        }
        Change::ApproveSoa { framework, .. } => ("soa.approve", "soa_version", framework.to_string()),
        Change::SetMethodology(_) => ("methodology.set", "risk_methodology", "next".to_owned()),
        Change::PutAsset(asset) => ("asset.put", "asset", asset.code.to_string()),
        Change::PutRisk(risk) => ("risk.put", "risk", risk.code.to_string()),
        Change::CreateRisk(risk) => ("risk.create", "risk", risk.code.to_string()),
        Change::AcceptRisk { code, .. } => ("risk.accept", "risk", code.to_string()),
        Change::ImportFramework(framework) => ("framework.import", "framework", framework.id().to_string()),
    }
}

pub fn mapping_key(control: &ControlCode, framework: &FrameworkId, requirement: &RequirementRef) -> String {
    format!("{control} -> {framework} {requirement}")
}

/// Sorts mappings the way every backend returns them.
pub fn sort_mappings(mappings: &mut [Mapping]) {
    mappings.sort_by(|a, b| {
        a.control
            .cmp(&b.control)
            .then_with(|| a.framework.cmp(&b.framework))
            .then_with(|| a.requirement.natural_cmp(&b.requirement))
    });
}
