//! A synthetic organisation of any size, from a seed: frameworks, a crosswalk between the first two,
//! controls and mappings; and a year of evidence for the Type 2 analysis. The benchmarks and the
//! property tests use them.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::control::{Control, Coverage, Frequency, ImplementationStatus, Mapping};
use crate::crosswalk::{Crosswalk, CrosswalkLink, Relationship};
use crate::dates::Period;
use crate::framework::{Framework, FrameworkInfo, Requirement, RequirementKind};
use crate::ids::{ControlCode, ControlId, EvidenceId, FrameworkId, RequirementRef};
use crate::type2::{AuditWindow, AuditedControl, EvidenceItem, WindowError};

#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub frameworks: usize,
    /// Assessable requirements per framework, in groups of 25.
    pub requirements_per_framework: usize,
    pub controls: usize,
    pub mappings: usize,
    /// Links from framework 0 to framework 1.
    pub crosswalk_links: usize,
}

impl Size {
    /// The size the readiness benchmark targets: 10 frameworks, 5,000 requirements, 2,000 controls, 20,000 mappings.
    pub const BENCHMARK: Size = Size {
        frameworks: 10,
        requirements_per_framework: 500,
        controls: 2_000,
        mappings: 20_000,
        crosswalk_links: 750,
    };
}

#[derive(Debug, Clone)]
pub struct Synthetic {
    pub frameworks: Vec<Framework>,
    pub crosswalk: Crosswalk,
    pub controls: Vec<Control>,
    pub mappings: Vec<Mapping>,
}

fn parse<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    // Generated identifiers are well formed by construction.
    #[allow(clippy::unwrap_used)]
    r.unwrap()
}

impl Synthetic {
    pub fn generate(seed: u64, size: Size, at: DateTime<Utc>) -> Synthetic {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let group_size = 25;
        let frameworks: Vec<Framework> = (0..size.frameworks)
            .map(|f| {
                let id = parse(FrameworkId::parse(&format!("synthetic{f}:1")));
                let mut requirements = Vec::new();
                let (theme, control) =
                    (parse(RequirementKind::parse("theme")), parse(RequirementKind::parse("control")));
                let groups = size.requirements_per_framework.div_ceil(group_size);
                for g in 0..groups {
                    let group = parse(RequirementRef::parse(&format!("G{g}")));
                    requirements.push(requirement(group.clone(), None, theme.clone()));
                    let leaves = group_size.min(size.requirements_per_framework - g * group_size);
                    for l in 0..leaves {
                        let leaf = parse(RequirementRef::parse(&format!("G{g}.{l}")));
                        requirements.push(requirement(leaf, Some(group.clone()), control.clone()));
                    }
                }
                let info = FrameworkInfo {
                    id,
                    name: format!("Synthetic {f}"),
                    version: "1".into(),
                    title: "Synthetic framework".into(),
                    publisher: "evident".into(),
                    description: "Generated for benchmarks and tests.".into(),
                    categories: vec![],
                    soa: None,
                    guidance: None,
                };
                parse(Framework::new(info, requirements))
            })
            .collect();
        let leaves: Vec<Vec<RequirementRef>> =
            frameworks.iter().map(|f| f.leaves().map(|r| r.reference.clone()).collect()).collect();
        let controls: Vec<Control> = (0..size.controls)
            .map(|i| Control {
                id: parse(ControlId::parse(&format!("c-{i:04}"))),
                code: parse(ControlCode::parse(&format!("C-{i:04}"))),
                title: format!("Control {i}"),
                description: "Generated.".into(),
                owner: None,
                frequency: Frequency::ALL[rng.random_range(0..Frequency::ALL.len())],
                max_evidence_age_days: None,
                status: ImplementationStatus::ALL[rng.random_range(0..ImplementationStatus::ALL.len())],
                retired_at: None,
                created_at: at,
                updated_at: at,
                revision: 1,
            })
            .collect();
        let mut unique = BTreeMap::new();
        while unique.len() < size.mappings && !controls.is_empty() && !frameworks.is_empty() {
            let control = rng.random_range(0..controls.len());
            let framework = rng.random_range(0..frameworks.len());
            let requirement = rng.random_range(0..leaves[framework].len());
            let coverage = if rng.random_bool(0.5) { Coverage::Full } else { Coverage::Partial };
            unique.entry((control, framework, requirement)).or_insert(coverage);
        }
        let mappings = unique
            .into_iter()
            .map(|((c, f, r), coverage)| Mapping {
                control: controls[c].code.clone(),
                framework: frameworks[f].id().clone(),
                requirement: leaves[f][r].clone(),
                coverage,
                rationale: "Generated.".into(),
            })
            .collect();
        let (from, to) = match frameworks.as_slice() {
            [a, b, ..] => (a.id().clone(), b.id().clone()),
            [a] => (a.id().clone(), a.id().clone()),
            [] => (parse(FrameworkId::parse("none:0")), parse(FrameworkId::parse("none:0"))),
        };
        let mut links = BTreeMap::new();
        if leaves.len() >= 2 {
            while links.len() < size.crosswalk_links.min(leaves[0].len() * leaves[1].len()) {
                let a = rng.random_range(0..leaves[0].len());
                let b = rng.random_range(0..leaves[1].len());
                links.entry((a, b)).or_insert_with(|| {
                    (Relationship::ALL[rng.random_range(0..Relationship::ALL.len())], rng.random_range(1..=10u8))
                });
            }
        }
        let crosswalk = Crosswalk {
            from,
            to,
            source: "synthetic".into(),
            description: "Generated.".into(),
            links: links
                .into_iter()
                .map(|((a, b), (relationship, strength))| CrosswalkLink {
                    from: leaves[0][a].clone(),
                    to: leaves[1][b].clone(),
                    relationship,
                    strength: crate::crosswalk::Strength::new(strength)
                        .unwrap_or_else(|_| unreachable!("drawn from 1..=10")),
                    rationale: "Generated.".into(),
                })
                .collect(),
            unlinked: Vec::new(),
        };
        Synthetic { frameworks, crosswalk, controls, mappings }
    }
}

fn requirement(reference: RequirementRef, parent: Option<RequirementRef>, kind: RequirementKind) -> Requirement {
    Requirement {
        title: format!("Requirement {reference}"),
        description: format!("What {reference} asks."),
        reference,
        label: None,
        parent,
        kind,
        category: None,
        note: None,
        attributes: BTreeMap::new(),
        informative: false,
    }
}

/// Daily controls over a one-year Type 2 window, each with evidence for most days.
#[derive(Debug, Clone)]
pub struct Type2Synthetic {
    pub window: AuditWindow,
    pub controls: Vec<AuditedControl>,
}

impl Type2Synthetic {
    /// The size the Type 2 benchmark targets: 500 daily controls over a year.
    pub const BENCHMARK_CONTROLS: usize = 500;

    /// `controls` daily controls over the year from `from`. Each day is evidenced with a
    /// probability of 97 %; every tenth control is evidenced by weekly exports that each cover
    /// their seven days (a period), the others by one record a day.
    pub fn generate(seed: u64, controls: usize, from: NaiveDate) -> Result<Type2Synthetic, WindowError> {
        let to = from.checked_add_months(Months::new(12)).and_then(|d| d.pred_opt()).unwrap_or(from);
        let window = AuditWindow::new(from, to)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        let controls = (0..controls)
            .map(|i| {
                let weekly = i % 10 == 9;
                let evidence = days
                    .iter()
                    .enumerate()
                    .filter(|(n, _)| !weekly || n % 7 == 6)
                    .filter(|_| rng.random_bool(0.97))
                    .map(|(n, day)| EvidenceItem {
                        id: parse(EvidenceId::parse(&format!("ev-{i:04}-{n:03}"))),
                        effective: *day,
                        period: weekly.then(|| parse(Period::new(*day - Days::new(6), *day))),
                    })
                    .collect();
                AuditedControl {
                    control: parse(ControlId::parse(&format!("c-{i:04}"))),
                    code: parse(ControlCode::parse(&format!("C-{i:04}"))),
                    frequency: Frequency::Daily,
                    evidence,
                }
            })
            .collect();
        Ok(Type2Synthetic { window, controls })
    }
}
