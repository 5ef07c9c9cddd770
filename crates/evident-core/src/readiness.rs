//! Readiness: for each adopted framework, whether each assessable requirement is covered,
//! partially covered, missing or not applicable, and a percentage with a drill-down that explains
//! every number.
//!
//! The rule, per requirement, over the active (not retired) controls mapped to it:
//! - **not applicable** when its category is out of scope or the organisation excluded it (SoA);
//! - **covered** when an implemented control meets it fully, or when two or more implemented controls
//!   each meet part of it and every mapped control is implemented (their parts are taken to add up);
//! - **partial** when some implemented control meets part of it, or a mapped control is in progress;
//! - **missing** otherwise.
//!
//! A requirement scores 1 when covered, ½ when partial, 0 when missing; the percentage is points over
//! applicable requirements. Not-applicable requirements leave the denominator.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::control::{Control, Coverage, ImplementationStatus, Mapping};
use crate::framework::{Framework, Staleness, staleness};
use crate::ids::{ControlCode, FrameworkId, RequirementRef};
use crate::macros::named_enum;

named_enum! {
    /// Where one requirement stands.
    pub enum Status as "readiness status" {
        Covered = "covered",
        Partial = "partial",
        Missing = "missing",
        NotApplicable = "not_applicable",
    }
}

impl Status {
    pub fn points(self) -> f64 {
        match self {
            Status::Covered => 1.0,
            Status::Partial => 0.5,
            Status::Missing | Status::NotApplicable => 0.0,
        }
    }
}

/// One adopted framework and what the organisation has put out of scope.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub framework: &'a Framework,
    /// Categories in scope; ignored for frameworks without categories.
    pub categories: &'a [String],
    /// Requirements excluded by the organisation (the SoA), with the reason.
    pub excluded: &'a HashMap<RequirementRef, String>,
}

/// Counts and percentage for a set of requirements.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Score {
    pub percent: f64,
    pub points: f64,
    pub applicable: usize,
    pub covered: usize,
    pub partial: usize,
    pub missing: usize,
    pub not_applicable: usize,
}

impl Score {
    fn add(&mut self, status: Status) {
        match status {
            Status::Covered => self.covered += 1,
            Status::Partial => self.partial += 1,
            Status::Missing => self.missing += 1,
            Status::NotApplicable => self.not_applicable += 1,
        }
        if status != Status::NotApplicable {
            self.applicable += 1;
            self.points += status.points();
        }
        self.percent = if self.applicable == 0 { 100.0 } else { self.points * 100.0 / self.applicable as f64 };
    }

    fn merge(&mut self, other: &Score) {
        self.points += other.points;
        self.applicable += other.applicable;
        self.covered += other.covered;
        self.partial += other.partial;
        self.missing += other.missing;
        self.not_applicable += other.not_applicable;
        self.percent = if self.applicable == 0 { 100.0 } else { self.points * 100.0 / self.applicable as f64 };
    }
}

/// A control's part in a requirement's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contribution {
    pub control: ControlCode,
    pub status: ImplementationStatus,
    pub coverage: Coverage,
}

/// One requirement's status and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementStatus {
    #[serde(rename = "ref")]
    pub reference: RequirementRef,
    pub title: String,
    /// The top-level group it counts in (clause 6, theme A.5, series CC6).
    pub group: RequirementRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub status: Status,
    pub reason: String,
    pub controls: Vec<Contribution>,
}

/// A group's (or category's) share of a framework.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupScore {
    pub id: String,
    pub title: String,
    #[serde(flatten)]
    pub score: Score,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkReadiness {
    pub framework: FrameworkId,
    #[serde(flatten)]
    pub score: Score,
    pub groups: Vec<GroupScore>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<GroupScore>,
    pub requirements: Vec<RequirementStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    pub overall: Score,
    pub frameworks: Vec<FrameworkReadiness>,
    /// Mappings that point at a requirement the library no longer has as an assessable one: they
    /// count nowhere, so they are listed (see [`Readiness::with_stale_mappings`]).
    pub stale_mappings: Vec<StaleMapping>,
}

/// A mapping readiness cannot count, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleMapping {
    pub control: ControlCode,
    pub framework: FrameworkId,
    #[serde(rename = "ref")]
    pub requirement: RequirementRef,
    pub reason: Staleness,
}

impl Readiness {
    /// Lists the stale ones among `mappings` (of the frameworks assessed here, or every one when
    /// `all`), checked against `library`, the whole framework library.
    pub fn with_stale_mappings(mut self, library: &[&Framework], mappings: &[Mapping], all: bool) -> Self {
        let assessed: Vec<&FrameworkId> = self.frameworks.iter().map(|f| &f.framework).collect();
        self.stale_mappings = mappings
            .iter()
            .filter(|m| all || assessed.contains(&&m.framework))
            .filter_map(|m| {
                staleness(library, m).map(|reason| StaleMapping {
                    control: m.control.clone(),
                    framework: m.framework.clone(),
                    requirement: m.requirement.clone(),
                    reason,
                })
            })
            .collect();
        self
    }
}

/// Mappings indexed by (framework, requirement), with each control looked up once.
/// The active controls mapped to one requirement, with their mappings.
pub type Mapped<'a> = Vec<(&'a Mapping, &'a Control)>;

#[derive(Debug)]
pub struct MappingIndex<'a> {
    by_requirement: HashMap<&'a FrameworkId, HashMap<&'a RequirementRef, Mapped<'a>>>,
}

impl<'a> MappingIndex<'a> {
    /// Indexes the mappings of active controls; mappings of retired or unknown controls are ignored.
    pub fn new(controls: &'a [Control], mappings: &'a [Mapping]) -> Self {
        let by_code: HashMap<&ControlCode, &Control> = controls.iter().map(|c| (&c.code, c)).collect();
        let mut by_requirement: HashMap<_, HashMap<_, Vec<_>>> = HashMap::new();
        for mapping in mappings {
            if let Some(control) = by_code.get(&mapping.control).filter(|c| c.is_active()) {
                by_requirement
                    .entry(&mapping.framework)
                    .or_default()
                    .entry(&mapping.requirement)
                    .or_default()
                    .push((mapping, *control));
            }
        }
        Self { by_requirement }
    }

    pub fn for_requirement(
        &self,
        framework: &FrameworkId,
        requirement: &RequirementRef,
    ) -> &[(&'a Mapping, &'a Control)] {
        self.by_requirement.get(framework).and_then(|m| m.get(requirement)).map_or(&[], Vec::as_slice)
    }
}

fn list(codes: &[&Contribution]) -> String {
    codes.iter().map(|c| c.control.as_str()).collect::<Vec<_>>().join(", ")
}

/// A requirement's status from the controls mapped to it.
pub fn assess(mapped: &[(&Mapping, &Control)]) -> (Status, String, Vec<Contribution>) {
    let mut contributions: Vec<Contribution> = mapped
        .iter()
        .map(|(m, c)| Contribution { control: c.code.clone(), status: c.status, coverage: m.coverage })
        .collect();
    contributions.sort_by(|a, b| crate::ids::natural_cmp(a.control.as_str(), b.control.as_str()));
    let implemented = |c: &&Contribution| c.status == ImplementationStatus::Implemented;
    let full: Vec<_> = contributions.iter().filter(|c| c.coverage == Coverage::Full).filter(implemented).collect();
    let partial: Vec<_> =
        contributions.iter().filter(|c| c.coverage == Coverage::Partial).filter(implemented).collect();
    let in_progress: Vec<_> = contributions.iter().filter(|c| c.status == ImplementationStatus::InProgress).collect();
    let not_started: Vec<_> = contributions.iter().filter(|c| c.status == ImplementationStatus::NotStarted).collect();
    let (status, reason) = if !full.is_empty() {
        (Status::Covered, format!("implemented with full coverage by {}", list(&full)))
    } else if partial.len() >= 2 && in_progress.is_empty() && not_started.is_empty() {
        (Status::Covered, format!("implemented by {} together, each covering part of it", list(&partial)))
    } else if !partial.is_empty() || !in_progress.is_empty() {
        let mut why = Vec::new();
        if !partial.is_empty() {
            why.push(format!("{} implemented with partial coverage", list(&partial)));
        }
        if !in_progress.is_empty() {
            why.push(format!("{} in progress", list(&in_progress)));
        }
        if !not_started.is_empty() {
            why.push(format!("{} not started", list(&not_started)));
        }
        (Status::Partial, why.join("; "))
    } else if !not_started.is_empty() {
        (Status::Missing, format!("mapped controls not started: {}", list(&not_started)))
    } else {
        (Status::Missing, "no control is mapped to it".to_owned())
    };
    (status, reason, contributions)
}

/// Readiness of one framework in its scope.
pub fn framework_readiness(scope: Scope<'_>, index: &MappingIndex<'_>) -> FrameworkReadiness {
    let framework = scope.framework;
    let id = framework.id();
    let categorised = !framework.info().categories.is_empty();
    let mut groups: BTreeMap<usize, Score> = BTreeMap::new();
    let mut categories: BTreeMap<&str, Score> = BTreeMap::new();
    let mut score = Score::default();
    let mut requirements = Vec::new();
    for requirement in framework.leaves() {
        let out_of_scope =
            categorised && requirement.category.as_ref().is_some_and(|c| !scope.categories.iter().any(|s| s == c));
        let (status, reason, controls) = if out_of_scope {
            let category = requirement.category.as_deref().unwrap_or_default();
            (Status::NotApplicable, format!("category {category} is not in scope"), Vec::new())
        } else if let Some(why) = scope.excluded.get(&requirement.reference) {
            (Status::NotApplicable, format!("excluded: {why}"), Vec::new())
        } else {
            assess(index.for_requirement(id, &requirement.reference))
        };
        let top = framework.top_level_of(&requirement.reference).unwrap_or(requirement);
        let position = framework.position(&top.reference).unwrap_or_default();
        groups.entry(position).or_default().add(status);
        if let Some(category) = &requirement.category {
            categories.entry(category.as_str()).or_default().add(status);
        }
        score.add(status);
        requirements.push(RequirementStatus {
            reference: requirement.reference.clone(),
            title: requirement.title.clone(),
            group: top.reference.clone(),
            category: requirement.category.clone(),
            status,
            reason,
            controls,
        });
    }
    let groups = groups
        .into_iter()
        .map(|(position, score)| {
            let top = &framework.requirements()[position];
            GroupScore { id: top.reference.to_string(), title: top.title.clone(), score }
        })
        .collect();
    let categories = framework
        .info()
        .categories
        .iter()
        .filter_map(|c| {
            categories.get(c.id.as_str()).map(|s| GroupScore {
                id: c.id.clone(),
                title: c.title.clone(),
                score: s.clone(),
            })
        })
        .collect();
    FrameworkReadiness { framework: id.clone(), score, groups, categories, requirements }
}

/// Readiness of every adopted framework, and overall (all applicable requirements pooled).
pub fn readiness(scopes: &[Scope<'_>], controls: &[Control], mappings: &[Mapping]) -> Readiness {
    let index = MappingIndex::new(controls, mappings);
    let frameworks: Vec<_> = scopes.iter().map(|s| framework_readiness(*s, &index)).collect();
    let mut overall = Score { percent: 100.0, ..Score::default() };
    for f in &frameworks {
        overall.merge(&f.score);
    }
    Readiness { overall, frameworks, stale_mappings: Vec::new() }
}
