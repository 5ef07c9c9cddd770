//! evident's domain: identifiers that parse, frameworks, controls, mappings, roles and
//! permissions, the audit chain, and the engines that compute readiness, gaps, the SoA, the
//! freshness of evidence and the SOC 2 Type 2 window analysis with its samples.
//!
//! Architecture invariant: nothing here does IO or reads the clock. Time is a parameter.
#![forbid(unsafe_code)]

mod macros;

pub mod audit;
pub mod control;
pub mod crosswalk;
pub mod dates;
pub mod evidence;
pub mod framework;
pub mod freshness;
pub mod gap;
pub mod ids;
pub mod org;
pub mod rbac;
pub mod readiness;
pub mod replay;
pub mod risk;
pub mod sampling;
pub mod soa;
pub mod synthetic;
pub mod type2;

pub use control::{Control, ControlPatch, Coverage, Frequency, ImplementationStatus, Mapping, NewControl};
pub use crosswalk::{Crosswalk, CrosswalkLink, Relationship, Strength, Unlinked};
pub use framework::{Category, Framework, FrameworkError, Requirement, RequirementKind, TargetError};
pub use ids::{
    AssetCode, ControlCode, ControlId, Email, EvidenceId, FrameworkId, OrgId, OrgSlug, ParseError, RequirementRef,
    RiskCode, SampleId, Sha256Digest,
};
pub use org::{Adoption, Member, Organisation};
pub use rbac::{Permission, Role};
