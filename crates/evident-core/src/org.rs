//! Organisations (tenants), their members, and the frameworks they adopt.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::framework::Framework;
use crate::ids::{Email, FrameworkId, OrgId, OrgSlug};
use crate::rbac::Role;

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrgId,
    pub slug: OrgSlug,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A user's membership of one organisation. The display name is the organisation's own: nothing
/// about a person in one organisation shows in another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// A framework the organisation has adopted, and for what scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adoption {
    pub framework: FrameworkId,
    /// Scope categories chosen (SOC 2: security, availability, …); empty where the framework has none.
    pub categories: Vec<String>,
    /// Systems, sites and boundaries in scope, in the organisation's words.
    pub scope: String,
    pub target_date: Option<NaiveDate>,
    pub adopted_at: DateTime<Utc>,
}

/// Why an adoption is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdoptionError {
    #[error("{framework} has no category {category:?} ({known})")]
    UnknownCategory { framework: FrameworkId, category: String, known: String },
    #[error("the target date {0} is not within a year before adoption and ten years after")]
    TargetDate(NaiveDate),
}

impl Adoption {
    /// Adopts `framework` for the chosen categories: the mandatory ones are always added, unknown
    /// ones are refused, and the target date must be a sane one (not 1999, not 9999).
    pub fn new(
        framework: &Framework,
        categories: &[String],
        scope: String,
        target_date: Option<NaiveDate>,
        at: DateTime<Utc>,
    ) -> Result<Self, AdoptionError> {
        let declared = &framework.info().categories;
        let mut chosen: Vec<String> = declared.iter().filter(|c| c.mandatory).map(|c| c.id.clone()).collect();
        for category in categories.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            if framework.category(category).is_none() {
                let known = if declared.is_empty() {
                    "it has no scope categories".to_owned()
                } else {
                    format!("choose from: {}", declared.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", "))
                };
                return Err(AdoptionError::UnknownCategory {
                    framework: framework.id().clone(),
                    category: category.to_owned(),
                    known,
                });
            }
            if !chosen.iter().any(|c| c == category) {
                chosen.push(category.to_owned());
            }
        }
        if let Some(date) = target_date {
            let today = at.date_naive();
            if date.year() < today.year() - 1 || date.year() > today.year() + 10 {
                return Err(AdoptionError::TargetDate(date));
            }
        }
        Ok(Self {
            framework: framework.id().clone(),
            categories: chosen,
            scope: scope.trim().to_owned(),
            target_date,
            adopted_at: at,
        })
    }
}
