//! Frameworks and their requirement trees.

//!
//! A requirement is a group or an assessable requirement by its place in the tree: leaves are
//! assessed, parents group them, and a leaf the data marks `informative` (a regulation's
//! definitions or scope, an institutional article) is shown but never assessed. Its `kind` is a free class label from the data (`clause`,
//! `control`, `criterion`, `article`…) that no rule depends on, except where the framework's own
//! data names it: the requirements of the kind its `soa` names are the rows of its Statement of
//! Applicability, and the requirements of the kind its `guidance` names are guidance under an
//! assessable requirement (SOC 2's points of focus): they do not make their parent a group, are
//! not assessed on their own, and a mapping to one counts toward its parent.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

pub use crate::ids::RequirementKind;
use crate::ids::{FrameworkId, RequirementRef};

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
    /// The identifier mappings use (`ac-2.1` in an OSCAL catalog, `A.5.15`).
    #[serde(rename = "ref")]
    pub reference: RequirementRef,
    /// How the publisher displays the identifier, when it differs from `ref` (`AC-2(1)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
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
    /// Context rather than an obligation (GDPR's definitions, scope and institutional articles):
    /// shown in the tree, never assessed, mapped or counted by readiness.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub informative: bool,
}

/// A scope category a user picks when adopting (SOC 2's Security, Availability, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub title: String,
    pub mandatory: bool,
}

/// Which requirements of a framework are the rows of its Statement of Applicability (ISO 27001's
/// Annex A controls: `soa = { kind = "control" }`). Frameworks without one leave it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoaRows {
    pub kind: RequirementKind,
}

/// Which requirements of a framework are guidance under an assessable requirement rather than
/// requirements of their own (SOC 2's points of focus: `guidance = { kind = "point_of_focus" }`).
/// Each sits under a leaf, which stays the unit that is assessed; a control mapped to one meets
/// that aspect of its parent. Frameworks without guidance leave it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuidanceRows {
    pub kind: RequirementKind,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soa: Option<SoaRows>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<GuidanceRows>,
}

/// A framework as data: its description and its requirements, as a framework file holds them and
/// as the store keeps an imported one. [`Framework::new`] turns it into a validated tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkData {
    #[serde(flatten)]
    pub info: FrameworkInfo,
    pub requirements: Vec<Requirement>,
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
    #[error("requirement {0} has an empty label (leave it out when it is the ref)")]
    EmptyLabel(RequirementRef),
    #[error("category {0:?} is declared twice")]
    DuplicateCategory(String),
    #[error("the Statement of Applicability names kind \"{0}\", which no requirement has")]
    SoaKindUnused(RequirementKind),
    #[error("requirement {0} is a row of the Statement of Applicability but groups other requirements")]
    SoaRowNotLeaf(RequirementRef),
    #[error("requirement {0} is guidance, so it must sit under an assessable requirement and group nothing")]
    GuidanceMisplaced(RequirementRef),
}

impl FrameworkError {
    /// The requirement the problem is in, when it is in one.
    pub fn requirement(&self) -> Option<&RequirementRef> {
        match self {
            FrameworkError::DuplicateRef(r)
            | FrameworkError::Cycle(r)
            | FrameworkError::EmptyText(r)
            | FrameworkError::EmptyLabel(r)
            | FrameworkError::SoaRowNotLeaf(r)
            | FrameworkError::GuidanceMisplaced(r) => Some(r),
            FrameworkError::UnknownParent { child, .. } => Some(child),
            FrameworkError::UnknownCategory { reference, .. } => Some(reference),
            FrameworkError::DuplicateCategory(_) | FrameworkError::SoaKindUnused(_) => None,
        }
    }

    /// The field of the requirement (or of the framework) that is wrong.
    pub fn field(&self) -> &'static str {
        match self {
            FrameworkError::DuplicateRef(_) => "ref",
            FrameworkError::UnknownParent { .. } | FrameworkError::Cycle(_) => "parent",
            FrameworkError::UnknownCategory { .. } | FrameworkError::DuplicateCategory(_) => "category",
            FrameworkError::EmptyText(_) => "title",
            FrameworkError::EmptyLabel(_) => "label",
            FrameworkError::SoaKindUnused(_) => "soa",
            FrameworkError::SoaRowNotLeaf(_) | FrameworkError::GuidanceMisplaced(_) => "kind",
        }
    }
}

/// One problem of a framework's data, with the position of the requirement it is in (its index
/// in the requirement list), so that an import can name the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameworkProblem {
    pub position: Option<usize>,
    pub error: FrameworkError,
}

/// Why a requirement cannot be the target of a mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{reference} is not a requirement of {framework}")]
    NotInFramework { framework: FrameworkId, reference: RequirementRef },
    #[error("{reference} of {framework} groups other requirements and is not assessed itself; map one of: {children}")]
    NotAssessable { framework: FrameworkId, reference: RequirementRef, children: String },
    #[error("{reference} of {framework} is informative (context, not an obligation) and is not assessed")]
    Informative { framework: FrameworkId, reference: RequirementRef },
}

/// A validated framework: unique refs, parents that exist, no cycles. It reads back from its
/// data (JSON, TOML) only through the same validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "FrameworkData")]
pub struct Framework {
    #[serde(flatten)]
    info: FrameworkInfo,
    requirements: Vec<Requirement>,
    #[serde(skip)]
    index: HashMap<RequirementRef, usize>,
    /// Groups others, not counting guidance under it.
    #[serde(skip)]
    has_children: Vec<bool>,
    #[serde(skip)]
    guidance: Vec<bool>,
    #[serde(skip)]
    top: Vec<usize>,
}

impl TryFrom<FrameworkData> for Framework {
    type Error = FrameworkError;
    fn try_from(data: FrameworkData) -> Result<Self, FrameworkError> {
        Framework::from_data(data)
    }
}

/// Two frameworks are equal when their data is; the indexes follow from it.
impl PartialEq for Framework {
    fn eq(&self, other: &Self) -> bool {
        self.info == other.info && self.requirements == other.requirements
    }
}

impl Eq for Framework {}

impl Framework {
    /// Validates the tree; the first problem found is the error. [`Framework::problems`] lists all.
    pub fn new(info: FrameworkInfo, requirements: Vec<Requirement>) -> Result<Self, FrameworkError> {
        if let Some(problem) = Self::problems(&info, &requirements).into_iter().next() {
            return Err(problem.error);
        }
        let index: HashMap<RequirementRef, usize> =
            requirements.iter().enumerate().map(|(i, r)| (r.reference.clone(), i)).collect();
        let parent_of: Vec<Option<usize>> =
            requirements.iter().map(|r| r.parent.as_ref().and_then(|p| index.get(p).copied())).collect();
        let guidance: Vec<bool> = requirements.iter().map(|r| is_guidance_kind(&info, r)).collect();
        let mut has_children = vec![false; requirements.len()];
        for (child, p) in parent_of.iter().enumerate() {
            if let Some(p) = p
                && !guidance[child]
            {
                has_children[*p] = true;
            }
        }
        // No cycle (checked above), so every walk up ends at a root.
        let top = (0..requirements.len())
            .map(|i| std::iter::successors(Some(i), |&c| parent_of[c]).last().unwrap_or(i))
            .collect();
        Ok(Self { info, requirements, index, has_children, guidance, top })
    }

    /// A framework from its data (a file, a stored import).
    pub fn from_data(data: FrameworkData) -> Result<Self, FrameworkError> {
        Self::new(data.info, data.requirements)
    }

    /// Its data, as a file or the store holds it.
    pub fn data(&self) -> FrameworkData {
        FrameworkData { info: self.info.clone(), requirements: self.requirements.clone() }
    }

    /// Every problem of a framework's data, in requirement order: refs defined twice, parents that
    /// do not exist, cycles (named once, by their first member), empty texts, undeclared categories,
    /// and a Statement of Applicability whose rows are missing or group others.
    pub fn problems(info: &FrameworkInfo, requirements: &[Requirement]) -> Vec<FrameworkProblem> {
        let mut problems = Vec::new();
        let mut at =
            |position: Option<usize>, error: FrameworkError| problems.push(FrameworkProblem { position, error });
        let mut categories = HashSet::new();
        for category in &info.categories {
            if !categories.insert(category.id.as_str()) {
                at(None, FrameworkError::DuplicateCategory(category.id.clone()));
            }
        }
        let mut index: HashMap<&RequirementRef, usize> = HashMap::with_capacity(requirements.len());
        for (i, r) in requirements.iter().enumerate() {
            if index.contains_key(&r.reference) {
                at(Some(i), FrameworkError::DuplicateRef(r.reference.clone()));
            } else {
                index.insert(&r.reference, i);
            }
            if r.title.trim().is_empty() || r.description.trim().is_empty() {
                at(Some(i), FrameworkError::EmptyText(r.reference.clone()));
            }
            if r.label.as_ref().is_some_and(|l| l.trim().is_empty()) {
                at(Some(i), FrameworkError::EmptyLabel(r.reference.clone()));
            }
            if let Some(category) = &r.category
                && !categories.contains(category.as_str())
            {
                at(
                    Some(i),
                    FrameworkError::UnknownCategory { reference: r.reference.clone(), category: category.clone() },
                );
            }
        }
        let mut parent_of = vec![None; requirements.len()];
        let mut has_children = vec![false; requirements.len()];
        let mut has_any_children = vec![false; requirements.len()];
        for (i, r) in requirements.iter().enumerate() {
            if let Some(parent) = &r.parent {
                match index.get(parent) {
                    Some(&p) => {
                        parent_of[i] = Some(p);
                        has_any_children[p] = true;
                        if !is_guidance_kind(info, r) {
                            has_children[p] = true;
                        }
                    }
                    None => at(
                        Some(i),
                        FrameworkError::UnknownParent { child: r.reference.clone(), parent: parent.clone() },
                    ),
                }
            }
        }
        // Walk up from each requirement; a walk that meets itself has found a cycle. Each node is
        // walked once: 1 = on the current walk, 2 = done.
        let mut state = vec![0u8; requirements.len()];
        for start in 0..requirements.len() {
            let mut path = Vec::new();
            let mut current = Some(start);
            while let Some(c) = current {
                match state[c] {
                    2 => break,
                    1 => {
                        let from = path.iter().position(|&p| p == c).unwrap_or_default();
                        let first = path[from..].iter().copied().min().unwrap_or(c);
                        at(Some(first), FrameworkError::Cycle(requirements[first].reference.clone()));
                        break;
                    }
                    _ => {
                        state[c] = 1;
                        path.push(c);
                        current = parent_of[c];
                    }
                }
            }
            for p in path {
                state[p] = 2;
            }
        }
        // Guidance hangs under an assessable requirement (one that groups nothing but guidance)
        // and groups nothing itself.
        for (i, r) in requirements.iter().enumerate().filter(|(_, r)| is_guidance_kind(info, r)) {
            let under_leaf =
                parent_of[i].is_some_and(|p| !has_children[p] && !is_guidance_kind(info, &requirements[p]));
            if !under_leaf || has_any_children[i] {
                at(Some(i), FrameworkError::GuidanceMisplaced(r.reference.clone()));
            }
        }
        if let Some(soa) = &info.soa {
            let rows: Vec<usize> =
                requirements.iter().enumerate().filter(|(_, r)| r.kind == soa.kind).map(|(i, _)| i).collect();
            if rows.is_empty() {
                at(None, FrameworkError::SoaKindUnused(soa.kind.clone()));
            }
            for i in rows.into_iter().filter(|&i| has_children[i]) {
                at(Some(i), FrameworkError::SoaRowNotLeaf(requirements[i].reference.clone()));
            }
        }
        problems.sort_by_key(|p| p.position.map_or(0, |i| i + 1));
        problems
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

    /// Whether the requirement is assessed: a leaf of the tree that is neither guidance nor
    /// informative.
    pub fn is_leaf(&self, reference: &RequirementRef) -> bool {
        self.index.get(reference).is_some_and(|&i| self.assessed(i))
    }

    fn assessed(&self, i: usize) -> bool {
        !self.has_children[i] && !self.guidance[i] && !self.requirements[i].informative
    }

    /// The assessable requirements (leaves that are not informative), in file order.
    pub fn leaves(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter().enumerate().filter(|(i, _)| self.assessed(*i)).map(|(_, r)| r)
    }

    /// Whether the requirement is guidance under an assessable one (a SOC 2 point of focus).
    pub fn is_guidance(&self, reference: &RequirementRef) -> bool {
        self.index.get(reference).is_some_and(|&i| self.guidance[i])
    }

    /// The guidance under an assessable requirement (its points of focus), in file order.
    pub fn guidance_of<'a>(&'a self, reference: &'a RequirementRef) -> impl Iterator<Item = &'a Requirement> + 'a {
        self.requirements
            .iter()
            .enumerate()
            .filter(move |(i, r)| self.guidance[*i] && r.parent.as_ref() == Some(reference))
            .map(|(_, r)| r)
    }

    /// The top-level node a requirement sits under (clause 6, theme A.5, series CC6); itself at the top.
    pub fn top_level_of(&self, reference: &RequirementRef) -> Option<&Requirement> {
        self.index.get(reference).map(|&i| &self.requirements[self.top[i]])
    }

    /// The requirement a mapping may target: one that exists and is assessed itself (a leaf), or
    /// guidance under one (a point of focus), which counts toward its parent.
    pub fn assessable(&self, reference: &RequirementRef) -> Result<&Requirement, TargetError> {
        let requirement = self.requirement(reference).ok_or_else(|| TargetError::NotInFramework {
            framework: self.id().clone(),
            reference: reference.clone(),
        })?;
        if requirement.informative {
            return Err(TargetError::Informative { framework: self.id().clone(), reference: reference.clone() });
        }
        if !self.is_leaf(reference) && !self.is_guidance(reference) {
            let children = self
                .requirements
                .iter()
                .filter(|r| r.parent.as_ref() == Some(reference))
                .map(|r| r.reference.to_string());
            return Err(TargetError::NotAssessable {
                framework: self.id().clone(),
                reference: reference.clone(),
                children: children.collect::<Vec<_>>().join(", "),
            });
        }
        Ok(requirement)
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.info.categories.iter().find(|c| c.id == id)
    }

    /// Whether the framework carries a Statement of Applicability.
    pub fn has_soa(&self) -> bool {
        self.info.soa.is_some()
    }

    /// The rows of its Statement of Applicability, in file order; none when it carries no SoA.
    pub fn soa_rows(&self) -> impl Iterator<Item = &Requirement> {
        let kind = self.info.soa.as_ref().map(|s| &s.kind);
        self.requirements.iter().filter(move |r| Some(&r.kind) == kind)
    }

    /// Whether `reference` is a row of its Statement of Applicability.
    pub fn is_soa_row(&self, reference: &RequirementRef) -> bool {
        let kind = self.info.soa.as_ref().map(|s| &s.kind);
        self.requirement(reference).is_some_and(|r| Some(&r.kind) == kind)
    }
}

fn is_guidance_kind(info: &FrameworkInfo, requirement: &Requirement) -> bool {
    info.guidance.as_ref().is_some_and(|g| g.kind == requirement.kind)
}

/// Why a mapping no longer points at an assessable requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Staleness {
    /// The framework is not in the library any more (an imported one was removed).
    UnknownFramework,
    /// The framework no longer has the requirement.
    UnknownRequirement,
    /// The requirement now groups others or is informative, and is not assessed itself.
    NotAssessable,
}

/// Why `mapping` points at nothing readiness can count, or `None` when its target is assessable.
pub fn staleness(frameworks: &[&Framework], mapping: &crate::control::Mapping) -> Option<Staleness> {
    match frameworks.iter().find(|f| f.id() == &mapping.framework) {
        None => Some(Staleness::UnknownFramework),
        Some(f) if !f.contains(&mapping.requirement) => Some(Staleness::UnknownRequirement),
        Some(f) if !f.is_leaf(&mapping.requirement) && !f.is_guidance(&mapping.requirement) => {
            Some(Staleness::NotAssessable)
        }
        Some(_) => None,
    }
}

/// The mappings that point at a requirement the library no longer has as an assessable one (a
/// requirement removed from the catalog, an imported framework replaced): readiness counts none of
/// them, so they are reported, never silently ignored. `frameworks` is the whole library.
pub fn stale_mappings<'m>(
    frameworks: &[&Framework],
    mappings: &'m [crate::control::Mapping],
) -> Vec<&'m crate::control::Mapping> {
    mappings.iter().filter(|m| staleness(frameworks, m).is_some()).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn requirement(reference: &str, parent: Option<&str>) -> Requirement {
        Requirement {
            reference: RequirementRef::parse(reference).unwrap(),
            label: None,
            parent: parent.map(|p| RequirementRef::parse(p).unwrap()),
            kind: RequirementKind::parse(if parent.is_some() { "control" } else { "theme" }).unwrap(),
            title: format!("Title of {reference}"),
            description: format!("What {reference} asks."),
            category: None,
            note: None,
            attributes: BTreeMap::new(),
            informative: false,
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
            soa: None,
            guidance: None,
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
    fn an_informative_leaf_is_shown_but_never_assessed() {
        let mut definitions = requirement("A.2", Some("A"));
        definitions.informative = true;
        let fw = Framework::new(info("t:1"), vec![requirement("A", None), requirement("A.1", Some("A")), definitions])
            .unwrap();
        let leaves: Vec<_> = fw.leaves().map(|r| r.reference.as_str()).collect();
        assert_eq!(leaves, ["A.1"], "the informative leaf is not counted");
        let a2 = RequirementRef::parse("A.2").unwrap();
        assert!(fw.contains(&a2) && !fw.is_leaf(&a2));
        let error = fw.assessable(&a2).unwrap_err();
        assert!(matches!(error, TargetError::Informative { .. }), "{error}");
        assert!(error.to_string().contains("informative"), "{error}");
        let json = serde_json::to_value(&fw).unwrap();
        assert_eq!(json["requirements"][2]["informative"], true);
        assert!(json["requirements"][1].get("informative").is_none(), "left out when false");
        let back: Framework = serde_json::from_value(json).unwrap();
        assert_eq!(back.leaves().count(), 1);
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

    #[test]
    fn every_problem_is_listed_with_its_position_and_field() {
        let mut empty = requirement("C", None);
        empty.title = " ".into();
        let mut blank_label = requirement("D", None);
        blank_label.label = Some(String::new());
        let requirements = vec![
            requirement("A", None),
            requirement("A", None),
            requirement("B.1", Some("B")),
            empty,
            blank_label,
            // X → Y → Z → Y: one cycle (Y, Z), reported once, at its first member; X leads into it.
            requirement("X", Some("Y")),
            requirement("Y", Some("Z")),
            requirement("Z", Some("Y")),
        ];
        let found: Vec<_> = Framework::problems(&info("t:1"), &requirements)
            .into_iter()
            .map(|p| (p.position, p.error.field(), p.error.to_string()))
            .collect();
        assert_eq!(
            found,
            [
                (Some(1), "ref", "requirement A is defined twice".to_owned()),
                (Some(2), "parent", "requirement B.1 names parent B, which does not exist".to_owned()),
                (Some(3), "title", "requirement C has an empty title or description".to_owned()),
                (Some(4), "label", "requirement D has an empty label (leave it out when it is the ref)".to_owned()),
                (Some(6), "parent", "requirement Y is its own ancestor".to_owned()),
            ]
        );
    }

    #[test]
    fn kinds_are_labels_from_the_data_and_the_soa_rows_are_named_by_the_framework() {
        let mut article = requirement("Art. 5", None);
        article.kind = RequirementKind::parse("article").unwrap();
        article.label = Some("Article 5".into());
        let mut with_soa = info("t:1");
        with_soa.soa = Some(SoaRows { kind: RequirementKind::parse("control").unwrap() });
        let fw = Framework::new(
            with_soa.clone(),
            vec![requirement("A", None), requirement("A.1", Some("A")), requirement("A.2", Some("A")), article],
        )
        .unwrap();
        let rows: Vec<_> = fw.soa_rows().map(|r| r.reference.as_str()).collect();
        assert_eq!(rows, ["A.1", "A.2"]);
        assert!(fw.is_soa_row(&RequirementRef::parse("A.1").unwrap()));
        assert!(!fw.is_soa_row(&RequirementRef::parse("Art. 5").unwrap()));
        // A leaf of any kind is assessed: the article counts like the controls.
        assert_eq!(fw.leaves().count(), 3);
        let json = serde_json::to_value(&fw).unwrap();
        assert_eq!(json["soa"]["kind"], "control");
        assert_eq!(json["requirements"][3]["kind"], "article");
        assert_eq!(json["requirements"][3]["label"], "Article 5");
        assert!(json["requirements"][0].get("label").is_none(), "no label when it is the ref");

        let without = Framework::new(info("t:1"), vec![requirement("A", None), requirement("A.1", Some("A"))]).unwrap();
        assert_eq!(without.soa_rows().count(), 0);
        let unused = Framework::new(with_soa.clone(), vec![requirement("A", None)]).unwrap_err();
        assert_eq!(unused, FrameworkError::SoaKindUnused(RequirementKind::parse("control").unwrap()));
        let mut group = requirement("B", None);
        group.kind = RequirementKind::parse("control").unwrap();
        let grouping = Framework::new(with_soa, vec![group, requirement("B.1", Some("B"))]).unwrap_err();
        assert_eq!(grouping, FrameworkError::SoaRowNotLeaf(RequirementRef::parse("B").unwrap()));
    }

    #[test]
    fn data_round_trips_through_json() {
        let fw =
            Framework::new(info("org/policy:1"), vec![requirement("A", None), requirement("A.1", Some("A"))]).unwrap();
        let text = serde_json::to_string(&fw.data()).unwrap();
        let back: FrameworkData = serde_json::from_str(&text).unwrap();
        assert_eq!(back, fw.data());
        assert_eq!(Framework::from_data(back).unwrap().leaves().count(), 1);
        let validated: Framework = serde_json::from_str(&text).unwrap();
        assert_eq!(validated, fw);
        let broken = text.replace("\"parent\":\"A\"", "\"parent\":\"B\"");
        let error = serde_json::from_str::<Framework>(&broken).unwrap_err();
        assert!(error.to_string().contains("names parent B, which does not exist"), "{error}");
    }

    #[test]
    fn stale_mappings_are_those_whose_target_is_gone_or_groups_others() {
        use crate::control::{Coverage, Mapping};
        let fw = Framework::new(info("t:1"), vec![requirement("A", None), requirement("A.1", Some("A"))]).unwrap();
        let mapping = |framework: &str, reference: &str| Mapping {
            control: crate::ids::ControlCode::parse("C-01").unwrap(),
            framework: FrameworkId::parse(framework).unwrap(),
            requirement: RequirementRef::parse(reference).unwrap(),
            coverage: Coverage::Full,
            rationale: "test".into(),
        };
        let mappings =
            vec![mapping("t:1", "A.1"), mapping("t:1", "A.9"), mapping("t:1", "A"), mapping("org/gone:1", "A.1")];
        let stale = stale_mappings(&[&fw], &mappings);
        let stale: Vec<_> = stale.iter().map(|m| format!("{} {}", m.framework, m.requirement)).collect();
        assert_eq!(stale, ["t:1 A.9", "t:1 A", "org/gone:1 A.1"]);
        assert_eq!(staleness(&[&fw], &mappings[1]), Some(Staleness::UnknownRequirement));
        assert_eq!(staleness(&[&fw], &mappings[2]), Some(Staleness::NotAssessable));
        assert_eq!(staleness(&[&fw], &mappings[3]), Some(Staleness::UnknownFramework));
        assert_eq!(staleness(&[&fw], &mappings[0]), None);
    }
}
