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
//! Freshness ([`crate::freshness`]) is an input: an implemented control whose evidence is
//! **overdue** counts as partial, never as full coverage, for every requirement it maps to (nor as
//! one of the parts that add up to covered), and the explanation names it with its due date and its
//! last evidence. A control that has **never been evidenced** counts as before, so an organisation
//! that does not record evidence yet keeps its figures; `due_soon` and `fresh` change nothing.
//! [`Freshness::none`] gives readiness without evidence.
//!
//! Guidance rolls up ([`Framework::guidance_of`], SOC 2's points of focus): a control mapped to
//! points of focus of a requirement counts toward that requirement, fully when it meets every one
//! of them fully and in part otherwise, unless it is also mapped to the requirement itself, whose
//! coverage then rules. Each contribution lists the points of focus its control addresses.
//!
//! A requirement scores 1 when covered, ½ when partial, 0 when missing; the percentage is points over
//! applicable requirements. Not-applicable requirements leave the denominator.
//!
//! Every status carries an [`Explanation`]: the rule that decided it and the controls (id and code)
//! it names, which front ends render as a sentence (`Display`) or as links (the JSON: `rule` and
//! its fields).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use crate::control::{Control, Coverage, ImplementationStatus, Mapping};
use crate::framework::{Framework, Staleness, staleness};
use crate::freshness::{self, Freshness};
use crate::ids::{ControlCode, ControlId, EvidenceId, FrameworkId, RequirementRef};
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
    pub control_id: ControlId,
    pub status: ImplementationStatus,
    pub coverage: Coverage,
    /// Its evidence's freshness, when freshness was given for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness: Option<freshness::State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_due: Option<NaiveDate>,
    /// The guidance under the requirement (points of focus) the control is mapped to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guidance: Vec<RequirementRef>,
}

/// A control an explanation names: its id to link to, its code to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlRef {
    pub id: ControlId,
    pub code: ControlCode,
}

/// An implemented control whose evidence is overdue, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverdueControl {
    pub id: ControlId,
    pub code: ControlCode,
    /// When its next evidence was due.
    pub due: NaiveDate,
    /// The effective date of its latest evidence.
    pub last_effective: NaiveDate,
    /// Its latest evidence record, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceId>,
}

/// Why a requirement has its status: the rule that decided it and what it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Explanation {
    /// Not applicable: its category is not in the scope adopted.
    NotInScope { category: String },
    /// Not applicable: the organisation excluded it (SoA), with this justification.
    Excluded { justification: String },
    /// Covered: these implemented controls each meet it fully.
    FullCoverage { controls: Vec<ControlRef> },
    /// Covered: these implemented controls each meet part of it, and nothing mapped is unfinished.
    PartsTogether { controls: Vec<ControlRef> },
    /// Partial: what is implemented in part, overdue, in progress and not started.
    Partial {
        partial: Vec<ControlRef>,
        overdue: Vec<OverdueControl>,
        in_progress: Vec<ControlRef>,
        not_started: Vec<ControlRef>,
    },
    /// Missing: the mapped controls are not started.
    NotStarted { controls: Vec<ControlRef> },
    /// Missing: no active control maps to it.
    NoControl,
}

fn codes(controls: &[ControlRef]) -> String {
    controls.iter().map(|c| c.code.as_str()).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Explanation::NotInScope { category } => write!(f, "category {category} is not in scope"),
            Explanation::Excluded { justification } => write!(f, "excluded: {justification}"),
            Explanation::FullCoverage { controls } => {
                write!(f, "implemented with full coverage by {}", codes(controls))
            }
            Explanation::PartsTogether { controls } => {
                write!(f, "implemented by {} together, each covering part of it", codes(controls))
            }
            Explanation::Partial { partial, overdue, in_progress, not_started } => {
                let mut why = Vec::new();
                if !partial.is_empty() {
                    why.push(format!("{} implemented with partial coverage", codes(partial)));
                }
                for c in overdue {
                    why.push(format!(
                        "{} implemented but its evidence is overdue (due {}, last evidence {})",
                        c.code, c.due, c.last_effective
                    ));
                }
                if !in_progress.is_empty() {
                    why.push(format!("{} in progress", codes(in_progress)));
                }
                if !not_started.is_empty() {
                    why.push(format!("{} not started", codes(not_started)));
                }
                f.write_str(&why.join("; "))
            }
            Explanation::NotStarted { controls } => write!(f, "mapped controls not started: {}", codes(controls)),
            Explanation::NoControl => f.write_str("no control is mapped to it"),
        }
    }
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
    pub reason: Explanation,
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

impl FrameworkReadiness {
    /// Keeps only the requirements `keep` accepts (an attribute filter), with the framework's
    /// score, groups and categories recomputed from them.
    pub fn retain(&mut self, framework: &Framework, mut keep: impl FnMut(&RequirementStatus) -> bool) {
        self.requirements.retain(|r| keep(r));
        let mut score = Score::default();
        let mut groups: BTreeMap<usize, Score> = BTreeMap::new();
        let mut categories: BTreeMap<&str, Score> = BTreeMap::new();
        for r in &self.requirements {
            score.add(r.status);
            groups.entry(framework.position(&r.group).unwrap_or_default()).or_default().add(r.status);
            if let Some(category) = &r.category {
                categories.entry(category.as_str()).or_default().add(r.status);
            }
        }
        self.groups = groups
            .into_iter()
            .map(|(position, score)| {
                let top = &framework.requirements()[position];
                GroupScore { id: top.reference.to_string(), title: top.title.clone(), score }
            })
            .collect();
        self.categories = framework
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
        self.score = score;
    }

    /// Scores of the requirements grouped by the values `values_of` gives each (an attribute's
    /// values: a requirement with several counts in each), in the order values are first met.
    pub fn scores_by(&self, mut values_of: impl FnMut(&RequirementStatus) -> Vec<String>) -> Vec<GroupScore> {
        let mut groups: Vec<GroupScore> = Vec::new();
        for r in &self.requirements {
            for value in values_of(r) {
                let position = match groups.iter().position(|g| g.id == value) {
                    Some(p) => p,
                    None => {
                        groups.push(GroupScore { id: value.clone(), title: value, score: Score::default() });
                        groups.len() - 1
                    }
                };
                groups[position].score.add(r.status);
            }
        }
        groups
    }
}

impl Readiness {
    /// Recomputes the overall score from the frameworks' (after [`FrameworkReadiness::retain`]).
    pub fn rescore(&mut self) {
        let mut overall = Score { percent: 100.0, ..Score::default() };
        for f in &self.frameworks {
            overall.merge(&f.score);
        }
        self.overall = overall;
    }

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
    freshness: Option<&'a Freshness>,
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
        Self { by_requirement, freshness: None }
    }

    /// The same index, assessing with the controls' evidence freshness.
    pub fn with_freshness(self, freshness: &'a Freshness) -> Self {
        Self { freshness: Some(freshness), ..self }
    }

    pub fn for_requirement(
        &self,
        framework: &FrameworkId,
        requirement: &RequirementRef,
    ) -> &[(&'a Mapping, &'a Control)] {
        self.by_requirement.get(framework).and_then(|m| m.get(requirement)).map_or(&[], Vec::as_slice)
    }
}

/// A requirement's status from the controls mapped to it, and from their evidence's freshness
/// when given.
pub fn assess(
    mapped: &[(&Mapping, &Control)],
    freshness: Option<&Freshness>,
) -> (Status, Explanation, Vec<Contribution>) {
    let mut mapped: Vec<_> = mapped.to_vec();
    mapped.sort_by(|a, b| crate::ids::natural_cmp(a.1.code.as_str(), b.1.code.as_str()));
    let reference = |c: &Control| ControlRef { id: c.id.clone(), code: c.code.clone() };
    let (mut full, mut partial, mut overdue, mut in_progress, mut not_started) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut contributions = Vec::with_capacity(mapped.len());
    for (mapping, control) in &mapped {
        let fresh = freshness.and_then(|f| f.get(&control.id));
        contributions.push(Contribution {
            control: control.code.clone(),
            control_id: control.id.clone(),
            status: control.status,
            coverage: mapping.coverage,
            freshness: fresh.map(|f| f.state),
            next_due: fresh.and_then(|f| f.next_due),
            guidance: Vec::new(),
        });
        // Overdue is a state only evidenced controls with a due date have.
        let overdue_since = fresh
            .filter(|f| f.state == freshness::State::Overdue)
            .and_then(|f| Some((f.next_due?, f.last_effective?, f.evidence.clone())));
        match control.status {
            ImplementationStatus::Implemented => match overdue_since {
                Some((due, last_effective, evidence)) => overdue.push(OverdueControl {
                    id: control.id.clone(),
                    code: control.code.clone(),
                    due,
                    last_effective,
                    evidence,
                }),
                None if mapping.coverage == Coverage::Full => full.push(reference(control)),
                None => partial.push(reference(control)),
            },
            ImplementationStatus::InProgress => in_progress.push(reference(control)),
            ImplementationStatus::NotStarted => not_started.push(reference(control)),
        }
    }
    let (status, reason) = if !full.is_empty() {
        (Status::Covered, Explanation::FullCoverage { controls: full })
    } else if partial.len() >= 2 && overdue.is_empty() && in_progress.is_empty() && not_started.is_empty() {
        (Status::Covered, Explanation::PartsTogether { controls: partial })
    } else if !partial.is_empty() || !overdue.is_empty() || !in_progress.is_empty() {
        (Status::Partial, Explanation::Partial { partial, overdue, in_progress, not_started })
    } else if !not_started.is_empty() {
        (Status::Missing, Explanation::NotStarted { controls: not_started })
    } else {
        (Status::Missing, Explanation::NoControl)
    };
    (status, reason, contributions)
}

/// A requirement's status from the controls mapped to it and to its guidance (points of focus),
/// each control counted once (see the module's rule).
pub fn assess_rolled_up(
    framework: &Framework,
    requirement: &RequirementRef,
    index: &MappingIndex<'_>,
) -> (Status, Explanation, Vec<Contribution>) {
    let id = framework.id();
    let direct = index.for_requirement(id, requirement);
    let guidance: Vec<&RequirementRef> = framework.guidance_of(requirement).map(|g| &g.reference).collect();
    if guidance.is_empty() {
        return assess(direct, index.freshness);
    }
    // Per control: the points of focus it is mapped to, and whether it meets each one fully.
    let mut addressed: BTreeMap<&ControlCode, (Vec<RequirementRef>, bool, &Control)> = BTreeMap::new();
    for g in &guidance {
        for (mapping, control) in index.for_requirement(id, g) {
            let entry = addressed.entry(&control.code).or_insert((Vec::new(), true, control));
            entry.0.push((*g).clone());
            entry.1 &= mapping.coverage == Coverage::Full;
        }
    }
    let rolled: Vec<(Mapping, &Control)> = addressed
        .iter()
        .filter(|(code, _)| !direct.iter().any(|(_, c)| &&c.code == *code))
        .map(|(code, (addressed, all_full, control))| {
            let coverage =
                if *all_full && addressed.len() == guidance.len() { Coverage::Full } else { Coverage::Partial };
            let mapping = Mapping {
                control: (*code).clone(),
                framework: id.clone(),
                requirement: requirement.clone(),
                coverage,
                rationale: String::new(),
            };
            (mapping, *control)
        })
        .collect();
    let mut mapped: Vec<(&Mapping, &Control)> = direct.to_vec();
    mapped.extend(rolled.iter().map(|(m, c)| (m, *c)));
    let (status, reason, mut contributions) = assess(&mapped, index.freshness);
    for contribution in &mut contributions {
        if let Some((addressed, ..)) = addressed.get(&contribution.control) {
            contribution.guidance = addressed.clone();
        }
    }
    (status, reason, contributions)
}

/// Readiness of one framework in its scope, with the mappings (and the freshness) of `index`.
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
            let category = requirement.category.clone().unwrap_or_default();
            (Status::NotApplicable, Explanation::NotInScope { category }, Vec::new())
        } else if let Some(why) = scope.excluded.get(&requirement.reference) {
            (Status::NotApplicable, Explanation::Excluded { justification: why.clone() }, Vec::new())
        } else {
            assess_rolled_up(framework, &requirement.reference, index)
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

/// What readiness is computed from.
#[derive(Debug, Clone, Copy)]
pub struct ReadinessInput<'a> {
    /// The frameworks assessed, each in its scope.
    pub scopes: &'a [Scope<'a>],
    pub controls: &'a [Control],
    pub mappings: &'a [Mapping],
    /// The controls' evidence freshness; [`Freshness::none`] to leave evidence out.
    pub freshness: &'a Freshness,
}

impl<'a> ReadinessInput<'a> {
    /// The mappings indexed for [`framework_readiness`], with the freshness.
    pub fn index(&self) -> MappingIndex<'a> {
        MappingIndex::new(self.controls, self.mappings).with_freshness(self.freshness)
    }
}

/// Readiness of every framework of `input`, and overall (all applicable requirements pooled).
pub fn readiness(input: &ReadinessInput<'_>) -> Readiness {
    let index = input.index();
    let frameworks: Vec<_> = input.scopes.iter().map(|s| framework_readiness(*s, &index)).collect();
    let mut overall = Score { percent: 100.0, ..Score::default() };
    for f in &frameworks {
        overall.merge(&f.score);
    }
    Readiness { overall, frameworks, stale_mappings: Vec::new() }
}
