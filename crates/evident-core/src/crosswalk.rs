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

/// How much of one requirement the other achieves, 1 to 10; the type is its own proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Strength(u8);

impl Strength {
    pub fn new(value: u8) -> Result<Self, StrengthError> {
        if (1..=10).contains(&value) { Ok(Self(value)) } else { Err(StrengthError(value)) }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A strength outside 1–10.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("strength {0} is outside 1–10")]
pub struct StrengthError(pub u8);

impl TryFrom<u8> for Strength {
    type Error = StrengthError;
    fn try_from(value: u8) -> Result<Self, StrengthError> {
        Self::new(value)
    }
}

impl From<Strength> for u8 {
    fn from(strength: Strength) -> u8 {
        strength.0
    }
}

impl std::fmt::Display for Strength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrosswalkLink {
    pub from: RequirementRef,
    pub to: RequirementRef,
    pub relationship: Relationship,
    /// 1–10: how much of one requirement the other achieves.
    pub strength: Strength,
    pub rationale: String,
}

/// An assessable requirement of either framework that no link reaches, and why none does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unlinked {
    #[serde(rename = "ref")]
    pub reference: RequirementRef,
    pub reason: String,
}

/// All links from one framework to another, with where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crosswalk {
    pub from: FrameworkId,
    pub to: FrameworkId,
    pub source: String,
    pub description: String,
    pub links: Vec<CrosswalkLink>,
    /// Requirements (of either side) left unlinked on purpose, each with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unlinked: Vec<Unlinked>,
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
            unlinked: self.unlinked.clone(),
        }
    }
}
