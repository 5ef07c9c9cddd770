//! The organisation's own controls and their mappings to framework requirements.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::framework::{Framework, TargetError};
use crate::ids::{ControlCode, ControlId, Email, FrameworkId, RequirementRef};
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
    /// Stable across renames; what other records refer to.
    pub id: ControlId,
    /// The organisation's code, unique case-insensitively; it can be renamed.
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
    /// Counts the control's changes; an edit names the revision it was based on, so a
    /// concurrent edit is refused instead of silently overwritten.
    pub revision: i64,
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

/// A new control, as the organisation writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewControl {
    pub code: ControlCode,
    pub title: String,
    pub description: String,
    pub owner: Option<Email>,
    pub frequency: Frequency,
    pub status: ImplementationStatus,
}

/// The fields of a control to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` clears the owner.
    pub owner: Option<Option<Email>>,
    pub frequency: Option<Frequency>,
    pub status: Option<ImplementationStatus>,
}

/// Why a control or a mapping is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("a control needs a title")]
    NoTitle,
    #[error("a mapping needs a rationale: say which part of the requirement the control meets")]
    NoRationale,
    #[error("nothing to change")]
    EmptyPatch,
}

impl NewControl {
    /// A control to create: it needs a title; text is trimmed.
    pub fn new(
        code: ControlCode,
        title: &str,
        description: &str,
        owner: Option<Email>,
        frequency: Frequency,
        status: ImplementationStatus,
    ) -> Result<Self, ControlError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(ControlError::NoTitle);
        }
        Ok(Self { code, title: title.to_owned(), description: description.trim().to_owned(), owner, frequency, status })
    }
}

impl ControlPatch {
    /// The patch that changes only what differs from `current`; an empty title is refused.
    pub fn against(mut self, current: &Control) -> Result<Self, ControlError> {
        if self.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ControlError::NoTitle);
        }
        self.title = self.title.map(|t| t.trim().to_owned()).filter(|t| *t != current.title);
        self.description = self.description.map(|d| d.trim().to_owned()).filter(|d| *d != current.description);
        self.owner = self.owner.filter(|o| *o != current.owner);
        self.frequency = self.frequency.filter(|f| *f != current.frequency);
        self.status = self.status.filter(|s| *s != current.status);
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        *self == ControlPatch::default()
    }

    /// The control as it is after this patch.
    pub fn applied_to(&self, control: &Control) -> Control {
        let mut after = control.clone();
        if let Some(title) = &self.title {
            after.title = title.clone();
        }
        if let Some(description) = &self.description {
            after.description = description.clone();
        }
        if let Some(owner) = &self.owner {
            after.owner = owner.clone();
        }
        if let Some(frequency) = self.frequency {
            after.frequency = frequency;
        }
        if let Some(status) = self.status {
            after.status = status;
        }
        after
    }
}

impl Mapping {
    /// A mapping of `control` to an assessable requirement of `framework`, with a rationale.
    pub fn new(
        control: ControlCode,
        framework: &Framework,
        requirement: &RequirementRef,
        coverage: Coverage,
        rationale: &str,
    ) -> Result<Self, MappingError> {
        framework.assessable(requirement)?;
        let rationale = rationale.trim();
        if rationale.is_empty() {
            return Err(MappingError::Control(ControlError::NoRationale));
        }
        Ok(Self {
            control,
            framework: framework.id().clone(),
            requirement: requirement.clone(),
            coverage,
            rationale: rationale.to_owned(),
        })
    }
}

/// Why a mapping is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Control(#[from] ControlError),
}
