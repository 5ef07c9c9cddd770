//! The organisation's own controls and their mappings to framework requirements.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ControlCode, Email, FrameworkId, RequirementRef};
use crate::macros::named_enum;

named_enum! {
    /// How often a control operates, and so how often it must be evidenced.
    pub enum Frequency as "frequency" {
        Continuous = "continuous",
        Daily = "daily",
        Weekly = "weekly",
        Monthly = "monthly",
        Quarterly = "quarterly",
        SemiAnnual = "semi_annual",
        Annual = "annual",
        EventDriven = "event_driven",
    }
}

named_enum! {
    /// How far the organisation has got with a control.
    pub enum ImplementationStatus as "implementation status" {
        NotStarted = "not_started",
        InProgress = "in_progress",
        Implemented = "implemented",
    }
}

named_enum! {
    /// How much of a requirement one control meets.
    pub enum Coverage as "coverage" {
        Full = "full",
        Partial = "partial",
    }
}

/// A safeguard of the organisation's own ("Quarterly access review").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    pub code: ControlCode,
    pub title: String,
    pub description: String,
    pub owner: Option<Email>,
    pub frequency: Frequency,
    pub status: ImplementationStatus,
    /// A retired control stays on record (history, audit log) but no longer counts.
    pub retired_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Control {
    pub fn is_active(&self) -> bool {
        self.retired_at.is_none()
    }
}

/// A control serves a requirement, fully or in part, for a stated reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub control: ControlCode,
    pub framework: FrameworkId,
    pub requirement: RequirementRef,
    pub coverage: Coverage,
    pub rationale: String,
}
