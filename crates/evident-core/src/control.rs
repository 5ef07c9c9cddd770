//! The organisation's own controls and their mappings to framework requirements.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::framework::{Framework, TargetError};
use crate::freshness::MaxAge;
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
    /// The control's own limit on the age of its evidence, replacing its frequency's interval in
    /// freshness ("monthly, but never older than 10 days"); `None` follows the frequency.
    #[serde(default)]
    pub max_evidence_age_days: Option<MaxAge>,
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
    /// See [`Control::max_evidence_age_days`].
    #[serde(default)]
    pub max_evidence_age_days: Option<MaxAge>,
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
    /// `Some(None)` clears the control's own limit: its frequency alone says when evidence is due.
    #[serde(default)]
    pub max_evidence_age_days: Option<Option<MaxAge>>,
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
        Ok(Self {
            code,
            title: title.to_owned(),
            description: description.trim().to_owned(),
            owner,
            frequency,
            max_evidence_age_days: None,
            status,
        })
    }

    /// The same control with its own limit on the age of its evidence (`None`: its frequency's).
    pub fn with_max_evidence_age(self, max_age: Option<MaxAge>) -> Self {
        Self { max_evidence_age_days: max_age, ..self }
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
        self.max_evidence_age_days = self.max_evidence_age_days.filter(|a| *a != current.max_evidence_age_days);
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
        if let Some(max_age) = self.max_evidence_age_days {
            after.max_evidence_age_days = max_age;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use chrono::TimeZone;

    use super::*;

    fn control(max_age: Option<u32>) -> Control {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        Control {
            id: ControlId::parse("c-1").unwrap(),
            code: ControlCode::parse("OPS-10").unwrap(),
            title: "Restore test".into(),
            description: String::new(),
            owner: None,
            frequency: Frequency::Monthly,
            max_evidence_age_days: max_age.map(|d| MaxAge::new(d).unwrap()),
            status: ImplementationStatus::Implemented,
            retired_at: None,
            created_at: at,
            updated_at: at,
            revision: 1,
        }
    }

    fn age(days: u32) -> Option<MaxAge> {
        Some(MaxAge::new(days).unwrap())
    }

    #[test]
    fn a_patch_sets_changes_and_clears_the_maximum_evidence_age_and_leaves_it_when_silent() {
        let patch = |max_age| ControlPatch { max_evidence_age_days: max_age, ..ControlPatch::default() };
        let set = patch(Some(age(10))).against(&control(None)).unwrap();
        assert_eq!(set.applied_to(&control(None)).max_evidence_age_days, age(10));
        let cleared = patch(Some(None)).against(&control(Some(10))).unwrap();
        assert!(!cleared.is_empty());
        assert_eq!(cleared.applied_to(&control(Some(10))).max_evidence_age_days, None);
        assert!(patch(Some(age(10))).against(&control(Some(10))).unwrap().is_empty(), "the same again: nothing");
        assert!(patch(Some(None)).against(&control(None)).unwrap().is_empty(), "clearing what is clear: nothing");
        let silent = ControlPatch { title: Some("Restore drill".into()), ..ControlPatch::default() };
        assert_eq!(silent.applied_to(&control(Some(10))).max_evidence_age_days, age(10));
    }

    #[test]
    fn a_control_written_before_the_maximum_evidence_age_existed_reads_without_one() {
        let mut json = serde_json::to_value(control(Some(10))).unwrap();
        assert_eq!(json["max_evidence_age_days"], 10, "an after-image names it");
        json.as_object_mut().unwrap().remove("max_evidence_age_days");
        assert_eq!(serde_json::from_value::<Control>(json).unwrap().max_evidence_age_days, None);
        let new = NewControl::new(
            ControlCode::parse("OPS-11").unwrap(),
            "Backups",
            "",
            None,
            Frequency::Monthly,
            ImplementationStatus::NotStarted,
        )
        .unwrap();
        assert_eq!(new.max_evidence_age_days, None);
        assert_eq!(new.with_max_evidence_age(age(7)).max_evidence_age_days, age(7));
    }
}
