use std::collections::HashMap;

use chrono::Duration;
use evident_core::readiness::{Readiness, Scope, Status, readiness};
use evident_core::synthetic::{Size, Synthetic};
use evident_core::{Coverage, ImplementationStatus, Mapping};
use proptest::prelude::*;

use crate::support::*;

fn status_of(result: &Readiness, reference: &str) -> (Status, String) {
    let s = result.frameworks[0].requirements.iter().find(|s| s.reference.as_str() == reference).unwrap();
    (s.status, s.reason.clone())
}

#[test]
fn each_rule_gives_its_status_and_says_why() {
    use Coverage::*;
    use ImplementationStatus::*;
    let f = framework("t:1", 6, "control");
    let controls = vec![
        control("A", Implemented),
        control("B", Implemented),
        control("C", InProgress),
        control("D", NotStarted),
        {
            let mut retired = control("E", Implemented);
            retired.retired_at = Some(at());
            retired
        },
    ];
    let mappings = vec![
        mapping("A", "t:1", "G1.1", Full),    // covered by one full
        mapping("A", "t:1", "G1.2", Partial), // two partials, all implemented: covered
        mapping("B", "t:1", "G1.2", Partial),
        mapping("A", "t:1", "G1.3", Partial), // one partial: partial
        mapping("C", "t:1", "G1.4", Full),    // in progress: partial
        mapping("D", "t:1", "G1.5", Full),    // not started: missing
        mapping("E", "t:1", "G1.6", Full),    // retired: does not count
        mapping("B", "t:1", "G2.1", Partial), // two partials but one not started: partial
        mapping("D", "t:1", "G2.1", Partial),
    ];
    let excluded = HashMap::from([(r("G2.2"), "no such systems".to_owned())]);
    let scope = Scope { framework: &f, categories: &[], excluded: &excluded };
    let result = readiness(&[scope], &controls, &mappings);
    assert_eq!(status_of(&result, "G1.1"), (Status::Covered, "implemented with full coverage by A".into()));
    assert_eq!(
        status_of(&result, "G1.2"),
        (Status::Covered, "implemented by A, B together, each covering part of it".into())
    );
    assert_eq!(status_of(&result, "G1.3"), (Status::Partial, "A implemented with partial coverage".into()));
    assert_eq!(status_of(&result, "G1.4"), (Status::Partial, "C in progress".into()));
    assert_eq!(status_of(&result, "G1.5"), (Status::Missing, "mapped controls not started: D".into()));
    assert_eq!(status_of(&result, "G1.6"), (Status::Missing, "no control is mapped to it".into()));
    assert_eq!(status_of(&result, "G2.1").0, Status::Partial);
    assert_eq!(status_of(&result, "G2.2"), (Status::NotApplicable, "excluded: no such systems".into()));
    let score = &result.frameworks[0].score;
    assert_eq!((score.covered, score.partial, score.missing, score.not_applicable), (2, 3, 6, 1));
    assert_eq!(score.applicable, 11);
    assert!((score.percent - 3.5 * 100.0 / 11.0).abs() < 1e-9, "{}", score.percent);
}

fn synthetic(seed: u64) -> Synthetic {
    let size = Size { frameworks: 3, requirements_per_framework: 60, controls: 40, mappings: 150, crosswalk_links: 40 };
    Synthetic::generate(seed, size, at())
}

fn compute(s: &Synthetic, mappings: &[Mapping], excluded: &HashMap<evident_core::RequirementRef, String>) -> Readiness {
    let scopes: Vec<_> = s.frameworks.iter().map(|f| Scope { framework: f, categories: &[], excluded }).collect();
    readiness(&scopes, &s.controls, mappings)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mapping_one_more_implemented_control_never_lowers_readiness(seed in 0u64..1000, pick in 0usize..10_000, full in any::<bool>()) {
        let mut s = synthetic(seed);
        let none = HashMap::new();
        let before = compute(&s, &s.mappings, &none);
        let control = pick % s.controls.len();
        s.controls[control].status = ImplementationStatus::Implemented;
        // Implementing a control alone never lowers readiness either.
        let implemented = compute(&s, &s.mappings, &none);
        prop_assert!(implemented.overall.points >= before.overall.points);
        let framework = &s.frameworks[pick % s.frameworks.len()];
        let leaf = framework.leaves().nth(pick % 60).unwrap().reference.clone();
        let mut mappings = s.mappings.clone();
        mappings.retain(|m| !(m.control == s.controls[control].code && m.framework == *framework.id() && m.requirement == leaf));
        let without = compute(&s, &mappings, &none);
        mappings.push(Mapping {
            control: s.controls[control].code.clone(),
            framework: framework.id().clone(),
            requirement: leaf,
            coverage: if full { Coverage::Full } else { Coverage::Partial },
            rationale: "more".into(),
        });
        let with = compute(&s, &mappings, &none);
        for (a, b) in without.frameworks.iter().zip(&with.frameworks) {
            prop_assert!(b.score.points >= a.score.points, "{} fell from {} to {}", a.framework, a.score.points, b.score.points);
        }
    }

    #[test]
    fn not_applicable_requirements_leave_the_denominator(seed in 0u64..1000, pick in 0usize..60) {
        let s = synthetic(seed);
        let leaf = s.frameworks[0].leaves().nth(pick).unwrap().reference.clone();
        let before = compute(&s, &s.mappings, &HashMap::new());
        let excluded = HashMap::from([(leaf.clone(), "out of scope".to_owned())]);
        let after = compute(&s, &s.mappings, &excluded);
        let (b, a) = (&before.frameworks[0].score, &after.frameworks[0].score);
        let was = before.frameworks[0].requirements.iter().find(|r| r.reference == leaf).unwrap().status;
        prop_assert_eq!(a.applicable, b.applicable - 1);
        prop_assert_eq!(a.not_applicable, b.not_applicable + 1);
        prop_assert!((a.points - (b.points - was.points())).abs() < 1e-9);
    }

    #[test]
    fn every_drill_down_adds_up(seed in 0u64..1000) {
        let s = synthetic(seed);
        let result = compute(&s, &s.mappings, &HashMap::new());
        let mut pooled_points = 0.0;
        let mut pooled_applicable = 0;
        for f in &result.frameworks {
            let group_points: f64 = f.groups.iter().map(|g| g.score.points).sum();
            let group_applicable: usize = f.groups.iter().map(|g| g.score.applicable).sum();
            prop_assert!((group_points - f.score.points).abs() < 1e-9);
            prop_assert_eq!(group_applicable, f.score.applicable);
            let listed_points: f64 = f.requirements.iter().map(|r| r.status.points()).sum();
            prop_assert!((listed_points - f.score.points).abs() < 1e-9);
            prop_assert_eq!(f.requirements.len(), f.score.covered + f.score.partial + f.score.missing + f.score.not_applicable);
            prop_assert!((0.0..=100.0).contains(&f.score.percent));
            pooled_points += f.score.points;
            pooled_applicable += f.score.applicable;
        }
        prop_assert!((result.overall.percent - pooled_points * 100.0 / pooled_applicable as f64).abs() < 1e-9);
    }

    #[test]
    fn readiness_is_a_pure_function_of_its_inputs(seed in 0u64..1000) {
        let a = synthetic(seed);
        let b = Synthetic::generate(seed, Size { frameworks: 3, requirements_per_framework: 60, controls: 40, mappings: 150, crosswalk_links: 40 }, at() + Duration::days(0));
        prop_assert_eq!(compute(&a, &a.mappings, &HashMap::new()), compute(&b, &b.mappings, &HashMap::new()));
    }
}
