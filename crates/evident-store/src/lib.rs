//! The storage boundary: the [`Store`] trait that every backend implements, its error type,
//! and (feature `testkit`) the parity story that every backend's tests run.
//!
//! Architecture invariants:
//! - Every read takes the organisation it reads from; no method reads across tenants but
//!   [`Snapshot`], the whole database for the installation's operator (backups).
//! - Every write goes through [`Store::apply`]: a batch of [`Change`]s lands whole, each change that
//!   changes something with its audit-log record, in one transaction, or not at all.
//! - The store never decides policy (who may do what); `evident_core::rbac` does, before calling it.
#![forbid(unsafe_code)]

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use evident_core::audit::{AuditRecord, ChainHead};
pub use evident_core::control::{ControlPatch, NewControl};
pub use evident_core::evidence::{Evidence, LatestEvidence, LinkedEvidence};
pub use evident_core::org::{Adoption, Member, Organisation};
pub use evident_core::risk::MethodologyVersion;
use evident_core::risk::{Asset, Risk};
use evident_core::soa::Decision;
pub use evident_core::soa::SoaVersion;
use evident_core::{
    Control, ControlCode, ControlId, Email, EvidenceId, FrameworkId, Mapping, OrgId, OrgSlug, RequirementRef, SampleId,
    Sha256Digest,
};
use serde::{Deserialize, Serialize};

pub mod accounts;
mod change;
pub mod snapshot;
pub use accounts::{AccountChange, Accounts, TokenChange, Tokens};
pub use change::{
    Change, ControlChange, EvidenceChange, FrameworkChange, MemberChange, RiskChange, SampleChange, SoaChange,
    describe, mapping_key,
};
pub use snapshot::Snapshot;
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
/// [`Controls`], [`Soa`], [`Risks`], [`EvidenceRecords`], [`AuditLog`], [`Tokens`]); every write is
/// [`Store::apply`] but the read models of [`Derived`], which are not records, and the
/// installation's accounts and sessions ([`Accounts`], which have an audit log of their own). Their methods
/// are callable on `dyn Store` (and on `S: Store`) without importing the supertraits; on a backend's
/// concrete type, `use evident_store::prelude::*`. [`Snapshot`] copies the whole database out and
/// back in, for backups.
#[async_trait]
pub trait Store:
    Organisations
    + Frameworks
    + Controls
    + Soa
    + Risks
    + EvidenceRecords
    + AuditLog
    + Derived
    + Accounts
    + Tokens
    + Snapshot
    + Send
    + Sync
    + std::fmt::Debug
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

    /// Creates an organisation with its first administrator and then, in the same transaction,
    /// each batch of changes as written by its own actor (an e-mail, or `system`): all of it lands,
    /// or nothing does. What a demo or a migration from another tool needs.
    async fn create_org_with(
        &self,
        new: &NewOrganisation,
        at: DateTime<Utc>,
        batches: Vec<(String, Vec<Change>)>,
    ) -> Result<Organisation>;

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

/// Evidence records and their links to controls (the bytes are in the evidence store).
#[async_trait]
pub trait EvidenceRecords: Send + Sync {
    /// Evidence records, newest effective date first (then newest upload), each with its links and
    /// the record that superseded it, if any.
    async fn evidence(&self, org: &OrgId, query: &EvidenceQuery) -> Result<Vec<Evidence>>;

    /// Up to `limit` records with ids after `after` (every record, superseded ones too), in id
    /// order, each with its links: every record read a page at a time, never held whole.
    async fn evidence_page(&self, org: &OrgId, after: Option<&EvidenceId>, limit: u32) -> Result<Vec<Evidence>>;

    async fn evidence_by_id(&self, org: &OrgId, id: &EvidenceId) -> Result<Option<Evidence>>;

    /// The current records holding these bytes: what an import checks before recording a file again.
    async fn evidence_by_digest(&self, org: &OrgId, digest: &Sha256Digest) -> Result<Vec<Evidence>>;

    /// The newest current evidence of each control that has any: kept up to date by every write,
    /// so freshness never reads every record.
    async fn latest_evidence(&self, org: &OrgId) -> Result<Vec<LatestEvidence>>;

    /// The links of current evidence to controls whose effective date or period touches
    /// `from..=to`: what a Type 2 window analysis samples from.
    async fn evidence_between(&self, org: &OrgId, from: NaiveDate, to: NaiveDate) -> Result<Vec<LinkedEvidence>>;

    /// Every digest that any record of any organisation holds: the bytes the evidence store must
    /// keep. For the operator's verify and garbage collection.
    async fn referenced_digests(&self) -> Result<Vec<Sha256Digest>>;

    /// The Type 2 samples recorded, oldest first, each with its exceptions.
    async fn samples(&self, org: &OrgId) -> Result<Vec<StoredSample>>;
}

/// A recorded Type 2 sample, who drew it, and the exceptions recorded against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredSample {
    pub id: SampleId,
    #[serde(flatten)]
    pub sample: evident_core::type2::RecordedSample,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub exceptions: Vec<evident_core::type2::SampleException>,
}

/// Which evidence records to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceQuery {
    /// Only the records linked to this control.
    pub control: Option<ControlId>,
    /// Superseded records too.
    pub superseded: bool,
    /// At most this many.
    pub limit: Option<u32>,
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

/// Read models kept as rendered text under the key of what they were computed from (the audit
/// chain head, the day, the build), so that a read repeated with nothing changed is one row, not a
/// recomputation. Not records: no audit record, any row may be lost and is recomputed, and a row
/// is served only for the key it was stored with.
#[async_trait]
pub trait Derived: Send + Sync {
    /// The body stored as `name` for the organisation, if it was stored with `key`.
    async fn derived(&self, org: &OrgId, name: &str, key: &str) -> Result<Option<Vec<u8>>>;

    /// Stores `body` as `name` with `key`, replacing what was stored as `name` before.
    async fn put_derived(&self, org: &OrgId, name: &str, key: &str, body: &[u8]) -> Result<()>;
}

/// The store's traits, for code that calls reads on a backend's concrete type:
/// `use evident_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Accounts, AuditLog, Controls, Derived, EvidenceRecords, Frameworks, Organisations, Risks, Snapshot, Soa, Store,
        Tokens,
    };
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
    pub digest: Sha256Digest,
    pub rows_json: String,
}

#[cfg(feature = "testkit")]
/// Raw statements that bypass every rule of the store. Only tests that tamper with the database on
/// purpose (to prove `evident verify` catches it) use this.
#[async_trait]
pub trait RawSql: Send + Sync {
    async fn execute_raw(&self, sql: &str) -> Result<u64>;
}

/// Sorts mappings the way every backend returns them: by control, framework, then requirement in
/// natural order, stably.
///
/// An organisation has tens of thousands of mappings over a few thousand controls and a few
/// hundred requirements, and comparing their strings (the natural order above all) was most of
/// the time. So each distinct value is ranked once and the mappings are sorted by their ranks;
/// values that compare equal share a rank, so the order is the one the comparisons give.
pub fn sort_mappings(mappings: &mut [Mapping]) {
    let controls = Ranks::new(mappings.iter().map(|m| m.control.as_str()), Ord::cmp);
    let frameworks = Ranks::new(mappings.iter().map(|m| m.framework.as_str()), Ord::cmp);
    let requirements = Ranks::new(mappings.iter().map(|m| m.requirement.as_str()), evident_core::ids::natural_cmp);
    let mut last: Option<(&Mapping, u32, u32)> = None;
    let mut order: Vec<(u32, u32, u32, usize)> = Vec::with_capacity(mappings.len());
    for (i, m) in mappings.iter().enumerate() {
        // Mappings come grouped by control and framework: a repeat needs no lookup.
        let (control, framework) = match last {
            Some((previous, control, framework))
                if previous.control == m.control && previous.framework == m.framework =>
            {
                (control, framework)
            }
            _ => (controls.of(m.control.as_str()), frameworks.of(m.framework.as_str())),
        };
        last = Some((m, control, framework));
        order.push((control, framework, requirements.of(m.requirement.as_str()), i));
    }
    // The position is the last key, so the unstable sort keeps equal mappings in their order.
    order.sort_unstable();
    let mut order: Vec<usize> = order.into_iter().map(|(.., i)| i).collect();
    // Move each mapping to its place, following the permutation's cycles.
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != start {
            let from = order[at];
            mappings.swap(at, from);
            order[at] = at;
            at = from;
        }
        order[at] = at;
    }
}

/// The rank of each distinct string of a list in an order: equal ones share a rank.
struct Ranks<'a> {
    ranks: std::collections::HashMap<&'a str, u32>,
}

impl<'a> Ranks<'a> {
    fn new(values: impl Iterator<Item = &'a str>, cmp: impl Fn(&str, &str) -> std::cmp::Ordering) -> Self {
        let mut ranks = std::collections::HashMap::new();
        let mut last = None;
        for value in values {
            // Mappings come grouped by control and framework: skip the lookup for a repeat.
            if last != Some(value) {
                ranks.entry(value).or_insert(0);
                last = Some(value);
            }
        }
        let mut distinct: Vec<&'a str> = ranks.keys().copied().collect();
        distinct.sort_unstable_by(|a, b| cmp(a, b).then_with(|| a.cmp(b)));
        let mut rank = 0;
        for (i, value) in distinct.iter().enumerate() {
            if i > 0 && cmp(distinct[i - 1], value).is_ne() {
                rank += 1;
            }
            ranks.insert(value, rank);
        }
        Self { ranks }
    }

    fn of(&self, value: &str) -> u32 {
        self.ranks.get(value).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use evident_core::{ControlCode, Coverage, FrameworkId, Mapping, RequirementRef};

    fn mapping(control: &str, framework: &str, requirement: &str, rationale: &str) -> Mapping {
        Mapping {
            control: ControlCode::parse(control).unwrap(),
            framework: FrameworkId::parse(framework).unwrap(),
            requirement: RequirementRef::parse(requirement).unwrap(),
            coverage: Coverage::Full,
            rationale: rationale.to_owned(),
        }
    }

    /// The ranked sort gives exactly the order of the comparisons it replaces, stability included:
    /// `A.01` and `A.1` compare equal in natural order and keep the order they came in.
    #[test]
    fn sorting_by_rank_gives_the_order_of_the_comparisons() {
        let controls = ["C-10", "C-9", "AC-1", "c-9", "C-09"];
        let frameworks = ["soc2:2017", "iso27001:2022"];
        let requirements = ["A.5.10", "A.5.2", "A.01", "A.1", "CC1.9", "CC1.10", "A.5.2.1", "A"];
        let mut mappings = Vec::new();
        let mut seed = 7u64;
        for n in 0..400 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pick = |k: usize, len: usize| ((seed >> (16 + 8 * k)) as usize) % len;
            mappings.push(mapping(
                controls[pick(0, controls.len())],
                frameworks[pick(1, frameworks.len())],
                requirements[pick(2, requirements.len())],
                &n.to_string(),
            ));
        }
        let mut expected = mappings.clone();
        expected.sort_by(|a, b| {
            a.control
                .cmp(&b.control)
                .then_with(|| a.framework.cmp(&b.framework))
                .then_with(|| a.requirement.natural_cmp(&b.requirement))
        });
        super::sort_mappings(&mut mappings);
        assert_eq!(mappings, expected);
    }
}
