//! Frameworks and their requirement trees.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::ids::{FrameworkId, RequirementRef};

/// What a node of a framework's tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequirementKind {
    /// An ISO management-system clause or sub-clause (4–10).
    Clause,
    /// A group of controls: an ISO Annex A theme or 2013 domain.
    Theme,
    /// An ISO 27001:2013 control objective.
    Objective,
    /// An Annex A control.
    Control,
    /// A SOC 2 criteria series (CC1 … P8).
    Series,
    /// A SOC 2 criterion.
    Criterion,
}

/// A value of a requirement attribute (ISO 27002 control type, new in 2022, COSO principle…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

/// One node of a framework's requirement tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    #[serde(rename = "ref")]
    pub reference: RequirementRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<RequirementRef>,
    pub kind: RequirementKind,
    pub title: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, AttrValue>,
}

/// A scope category a user picks when adopting (SOC 2's Security, Availability, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub title: String,
    pub mandatory: bool,
}

/// What describes a framework, apart from its requirements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    pub id: FrameworkId,
    pub name: String,
    pub version: String,
    pub title: String,
    pub publisher: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
}

/// Why a framework's requirement tree is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameworkError {
    #[error("requirement {0} is defined twice")]
    DuplicateRef(RequirementRef),
    #[error("requirement {child} names parent {parent}, which does not exist")]
    UnknownParent { child: RequirementRef, parent: RequirementRef },
    #[error("requirement {0} is its own ancestor")]
    Cycle(RequirementRef),
    #[error("requirement {reference} names category {category:?}, which the framework does not declare")]
    UnknownCategory { reference: RequirementRef, category: String },
    #[error("requirement {0} has an empty title or description")]
    EmptyText(RequirementRef),
    #[error("category {0:?} is declared twice")]
    DuplicateCategory(String),
}

/// A validated framework: unique refs, parents that exist, no cycles.
#[derive(Debug, Clone, Serialize)]
pub struct Framework {
    #[serde(flatten)]
    info: FrameworkInfo,
    requirements: Vec<Requirement>,
    #[serde(skip)]
    index: HashMap<RequirementRef, usize>,
    #[serde(skip)]
    has_children: Vec<bool>,
    #[serde(skip)]
    top: Vec<usize>,
}

impl Framework {
    pub fn new(info: FrameworkInfo, requirements: Vec<Requirement>) -> Result<Self, FrameworkError> {
        let mut categories = std::collections::HashSet::new();
        for category in &info.categories {
            if !categories.insert(category.id.as_str()) {
                return Err(FrameworkError::DuplicateCategory(category.id.clone()));
            }
        }
        let mut index = HashMap::with_capacity(requirements.len());
        for (i, r) in requirements.iter().enumerate() {
            if index.insert(r.reference.clone(), i).is_some() {
                return Err(FrameworkError::DuplicateRef(r.reference.clone()));
            }
            if r.title.trim().is_empty() || r.description.trim().is_empty() {
                return Err(FrameworkError::EmptyText(r.reference.clone()));
            }
            if let Some(category) = &r.category
                && !categories.contains(category.as_str())
            {
                return Err(FrameworkError::UnknownCategory {
                    reference: r.reference.clone(),
                    category: category.clone(),
                });
            }
        }
        let mut has_children = vec![false; requirements.len()];
        let mut parent_of = vec![None; requirements.len()];
        for (i, r) in requirements.iter().enumerate() {
            if let Some(parent) = &r.parent {
                let p = *index.get(parent).ok_or_else(|| FrameworkError::UnknownParent {
                    child: r.reference.clone(),
                    parent: parent.clone(),
                })?;
                has_children[p] = true;
                parent_of[i] = Some(p);
            }
        }
        let mut top = vec![0; requirements.len()];
        for (i, r) in requirements.iter().enumerate() {
            let mut current = i;
            let mut steps = 0;
            while let Some(p) = parent_of[current] {
                current = p;
                steps += 1;
                if steps > requirements.len() {
                    return Err(FrameworkError::Cycle(r.reference.clone()));
                }
            }
            top[i] = current;
        }
        Ok(Self { info, requirements, index, has_children, top })
    }

    pub fn info(&self) -> &FrameworkInfo {
        &self.info
    }

    pub fn id(&self) -> &FrameworkId {
        &self.info.id
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    pub fn requirement(&self, reference: &RequirementRef) -> Option<&Requirement> {
        self.index.get(reference).map(|&i| &self.requirements[i])
    }

    pub fn position(&self, reference: &RequirementRef) -> Option<usize> {
        self.index.get(reference).copied()
    }

    pub fn contains(&self, reference: &RequirementRef) -> bool {
        self.index.contains_key(reference)
    }

    /// Whether the requirement is a leaf, the unit that is assessed.
    pub fn is_leaf(&self, reference: &RequirementRef) -> bool {
        self.index.get(reference).is_some_and(|&i| !self.has_children[i])
    }

    /// The assessable requirements, in file order.
    pub fn leaves(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter().enumerate().filter(|(i, _)| !self.has_children[*i]).map(|(_, r)| r)
    }

    /// The top-level node a requirement sits under (clause 6, theme A.5, series CC6); itself at the top.
    pub fn top_level_of(&self, reference: &RequirementRef) -> Option<&Requirement> {
        self.index.get(reference).map(|&i| &self.requirements[self.top[i]])
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.info.categories.iter().find(|c| c.id == id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn requirement(reference: &str, parent: Option<&str>) -> Requirement {
        Requirement {
            reference: RequirementRef::parse(reference).unwrap(),
            parent: parent.map(|p| RequirementRef::parse(p).unwrap()),
            kind: if parent.is_some() { RequirementKind::Control } else { RequirementKind::Theme },
            title: format!("Title of {reference}"),
            description: format!("What {reference} asks."),
            category: None,
            note: None,
            attributes: BTreeMap::new(),
        }
    }

    pub fn info(id: &str) -> FrameworkInfo {
        FrameworkInfo {
            id: FrameworkId::parse(id).unwrap(),
            name: id.to_owned(),
            version: "1".into(),
            title: "A framework".into(),
            publisher: "Us".into(),
            description: "For tests.".into(),
            categories: vec![],
        }
    }

    #[test]
    fn leaves_and_top_levels_follow_the_tree() {
        let fw = Framework::new(
            info("t:1"),
            vec![requirement("A", None), requirement("A.1", Some("A")), requirement("A.1.1", Some("A.1"))],
        )
        .unwrap();
        let leaves: Vec<_> = fw.leaves().map(|r| r.reference.as_str()).collect();
        assert_eq!(leaves, ["A.1.1"]);
        let deep = RequirementRef::parse("A.1.1").unwrap();
        assert_eq!(fw.top_level_of(&deep).unwrap().reference.as_str(), "A");
    }

    #[test]
    fn malformed_trees_are_rejected_with_the_culprit() {
        let dup = Framework::new(info("t:1"), vec![requirement("A", None), requirement("A", None)]);
        assert_eq!(dup.unwrap_err().to_string(), "requirement A is defined twice");
        let orphan = Framework::new(info("t:1"), vec![requirement("A.1", Some("A"))]);
        assert_eq!(orphan.unwrap_err().to_string(), "requirement A.1 names parent A, which does not exist");
        let cycle = Framework::new(info("t:1"), vec![requirement("A", Some("B")), requirement("B", Some("A"))]);
        assert!(matches!(cycle.unwrap_err(), FrameworkError::Cycle(_)));
    }
}
