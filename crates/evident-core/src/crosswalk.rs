//! Typed links between the requirements of two frameworks (NIST IR 8477 set relationships).

use serde::{Deserialize, Serialize};

use crate::ids::{FrameworkId, RequirementRef};
use crate::macros::named_enum;

named_enum! {
    /// How what `from` asks relates to what `to` asks, read left to right.
    pub enum Relationship as "relationship" {
        Equal = "equal",
        SubsetOf = "subset_of",
        SupersetOf = "superset_of",
        Intersects = "intersects",
    }
}

impl Relationship {
    /// The same link read from the other side.
    pub fn inverse(self) -> Self {
        match self {
            Relationship::SubsetOf => Relationship::SupersetOf,
            Relationship::SupersetOf => Relationship::SubsetOf,
            other => other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrosswalkLink {
    pub from: RequirementRef,
    pub to: RequirementRef,
    pub relationship: Relationship,
    /// 1–10: how much of one requirement the other achieves.
    pub strength: u8,
    pub rationale: String,
}

/// All links from one framework to another, with where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crosswalk {
    pub from: FrameworkId,
    pub to: FrameworkId,
    pub source: String,
    pub description: String,
    pub links: Vec<CrosswalkLink>,
}

impl Crosswalk {
    /// The same crosswalk read from `to` to `from`.
    pub fn reversed(&self) -> Crosswalk {
        Crosswalk {
            from: self.to.clone(),
            to: self.from.clone(),
            source: self.source.clone(),
            description: self.description.clone(),
            links: self
                .links
                .iter()
                .map(|l| CrosswalkLink {
                    from: l.to.clone(),
                    to: l.from.clone(),
                    relationship: l.relationship.inverse(),
                    strength: l.strength,
                    rationale: l.rationale.clone(),
                })
                .collect(),
        }
    }
}
