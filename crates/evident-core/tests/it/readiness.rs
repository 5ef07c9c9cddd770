use std::collections::HashMap;

use chrono::{Days, Duration, NaiveDate};
use evident_core::freshness::{self, ControlEvidence, Freshness, FreshnessPolicy, Latest};
use evident_core::readiness::{
    ControlRef, Explanation, OverdueControl, Readiness, ReadinessInput, Scope, Status, readiness,
};
use evident_core::synthetic::{Size, Synthetic};
use evident_core::{Control, Coverage, EvidenceId, Framework, ImplementationStatus, Mapping};
use proptest::prelude::*;
use serde_json::json;

use crate::support::*;

fn status_of(result: &Readiness, reference: &str) -> (Status, String) {
    let s = result.frameworks[0].requirements.iter().find(|s| s.reference.as_str() == reference).unwrap();
    (s.status, s.reason.to_string())
}

/// Readiness of `frameworks` in full scope, with `freshness`.
fn assess(frameworks: &[&Framework], controls: &[Control], mappings: &[Mapping], freshness: &Freshness) -> Readiness {
    let none = HashMap::new();
    let scopes: Vec<_> = frameworks.iter().map(|f| Scope { framework: f, categories: &[], excluded: &none }).collect();
    readiness(&ReadinessInput { scopes: &scopes, controls, mappings, freshness })
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
    let result = readiness(&ReadinessInput {
        scopes: &[scope],
        controls: &controls,
        mappings: &mappings,
        freshness: &Freshness::none(),
    });
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
    readiness(&ReadinessInput { scopes: &scopes, controls: &s.controls, mappings, freshness: &Freshness::none() })
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The freshness of `controls` on `today`, each evidenced `ages[i]` days ago (or never).
fn freshness_of(controls: &[Control], ages: &[Option<u64>], today: NaiveDate) -> Freshness {
    let evidence: Vec<_> = controls
        .iter()
        .zip(ages.iter().cycle())
        .map(|(c, age)| ControlEvidence {
            control: c.id.clone(),
            code: c.code.clone(),
            frequency: c.frequency,
            max_age: None,
            latest: age.map(|age| Latest { evidence: None, effective: today - Days::new(age) }),
        })
        .collect();
    freshness::freshness(&FreshnessPolicy::default(), today, &evidence).unwrap()
}

#[test]
fn an_overdue_implemented_control_makes_its_requirements_partial_with_the_date_and_never_evidenced_does_not() {
    use Coverage::*;
    use ImplementationStatus::*;
    let f = framework("t:1", 3, "control");
    let controls = vec![control("A", Implemented), control("B", Implemented), control("C", Implemented)];
    let mappings = vec![
        mapping("A", "t:1", "G1.1", Full),    // A alone: overdue, so partial
        mapping("A", "t:1", "G1.2", Partial), // A's part is unproven: the parts do not add up
        mapping("B", "t:1", "G1.2", Partial),
        mapping("C", "t:1", "G1.3", Full), // C never evidenced: covered, as without evidence
        mapping("A", "t:1", "G2.1", Full), // a fresh full mapping covers, whatever A's state
        mapping("B", "t:1", "G2.1", Full),
    ];
    let today = day(2026, 6, 1);
    let quarterly = |code: &str, effective: Option<NaiveDate>| ControlEvidence {
        control: controls.iter().find(|c| c.code.as_str() == code).unwrap().id.clone(),
        code: evident_core::ControlCode::parse(code).unwrap(),
        frequency: evident_core::Frequency::Quarterly,
        max_age: None,
        latest: effective.map(|effective| Latest { evidence: Some(EvidenceId::parse("ev-1").unwrap()), effective }),
    };
    let evidence = [
        quarterly("A", Some(day(2026, 1, 15))), // due 2026-04-15: overdue
        quarterly("B", Some(day(2026, 5, 1))),  // fresh
        quarterly("C", None),
    ];
    let fresh = freshness::freshness(&FreshnessPolicy::default(), today, &evidence).unwrap();
    let with = assess(&[&f], &controls, &mappings, &fresh);
    let without = assess(&[&f], &controls, &mappings, &Freshness::none());

    let overdue_a = "A implemented but its evidence is overdue (due 2026-04-15, last evidence 2026-01-15)";
    assert_eq!(status_of(&with, "G1.1"), (Status::Partial, overdue_a.to_owned()));
    assert_eq!(status_of(&without, "G1.1").0, Status::Covered);
    assert_eq!(
        status_of(&with, "G1.2"),
        (Status::Partial, format!("B implemented with partial coverage; {overdue_a}"))
    );
    assert_eq!(status_of(&without, "G1.2").0, Status::Covered);
    assert_eq!(status_of(&with, "G1.3"), (Status::Covered, "implemented with full coverage by C".to_owned()));
    assert_eq!(status_of(&with, "G1.3"), status_of(&without, "G1.3"), "never evidenced changes nothing");
    assert_eq!(status_of(&with, "G2.1"), (Status::Covered, "implemented with full coverage by B".to_owned()));

    let g11 = with.frameworks[0].requirements.iter().find(|r| r.reference.as_str() == "G1.1").unwrap();
    assert_eq!(
        g11.reason,
        Explanation::Partial {
            partial: vec![],
            overdue: vec![OverdueControl {
                id: controls[0].id.clone(),
                code: controls[0].code.clone(),
                due: day(2026, 4, 15),
                last_effective: day(2026, 1, 15),
                evidence: Some(EvidenceId::parse("ev-1").unwrap()),
            }],
            in_progress: vec![],
            not_started: vec![],
        }
    );
    let a = &g11.controls[0];
    assert_eq!((a.freshness, a.next_due), (Some(freshness::State::Overdue), Some(day(2026, 4, 15))));
}

#[test]
fn explanations_serialise_as_their_rule_and_fields_and_contributions_name_the_control_id() {
    let f = framework("t:1", 1, "control");
    let controls =
        vec![control("A", ImplementationStatus::Implemented), control("B", ImplementationStatus::InProgress)];
    let mappings = vec![mapping("A", "t:1", "G1.1", Coverage::Partial), mapping("B", "t:1", "G1.1", Coverage::Partial)];
    let result = assess(&[&f], &controls, &mappings, &Freshness::none());
    let g11 = &result.frameworks[0].requirements[0];
    assert_eq!(
        serde_json::to_value(&g11.reason).unwrap(),
        json!({
            "rule": "partial",
            "partial": [{ "id": "a", "code": "A" }],
            "overdue": [],
            "in_progress": [{ "id": "b", "code": "B" }],
            "not_started": [],
        })
    );
    assert_eq!(g11.reason.to_string(), "A implemented with partial coverage; B in progress");
    assert_eq!(
        serde_json::to_value(&g11.controls[0]).unwrap(),
        json!({ "control": "A", "control_id": "a", "status": "implemented", "coverage": "partial" })
    );
    let g21 = &result.frameworks[0].requirements[1];
    assert_eq!(serde_json::to_value(&g21.reason).unwrap(), json!({ "rule": "no_control" }));
    assert_eq!(
        Explanation::FullCoverage {
            controls: vec![ControlRef { id: controls[0].id.clone(), code: controls[0].code.clone() }]
        }
        .to_string(),
        "implemented with full coverage by A"
    );
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
    fn overdue_evidence_never_raises_readiness_and_never_evidenced_changes_nothing(
        seed in 0u64..1000,
        ages in prop::collection::vec(prop::option::of(0u64..800), 1..40),
    ) {
        let s = synthetic(seed);
        let frameworks: Vec<_> = s.frameworks.iter().collect();
        let today = day(2026, 6, 1);
        let fresh = freshness_of(&s.controls, &ages, today);
        let without = assess(&frameworks, &s.controls, &s.mappings, &Freshness::none());
        let with = assess(&frameworks, &s.controls, &s.mappings, &fresh);
        for (a, b) in without.frameworks.iter().zip(&with.frameworks) {
            prop_assert!(b.score.points <= a.score.points, "{} rose from {} to {}", a.framework, a.score.points, b.score.points);
            for (x, y) in a.requirements.iter().zip(&b.requirements) {
                let overdue = y.controls.iter().any(|c| c.freshness == Some(freshness::State::Overdue) && c.status == ImplementationStatus::Implemented);
                if !overdue {
                    prop_assert_eq!((x.status, &x.reason), (y.status, &y.reason), "{} changed with no overdue control", x.reference);
                }
            }
        }
        let never = freshness_of(&s.controls, &[None], today);
        let unevidenced = assess(&frameworks, &s.controls, &s.mappings, &never);
        prop_assert_eq!(&unevidenced.overall, &without.overall);
        for (a, b) in without.frameworks.iter().zip(&unevidenced.frameworks) {
            for (x, y) in a.requirements.iter().zip(&b.requirements) {
                prop_assert_eq!((x.status, &x.reason), (y.status, &y.reason));
            }
        }
    }

    #[test]
    fn readiness_is_a_pure_function_of_its_inputs(seed in 0u64..1000) {
        let a = synthetic(seed);
        let b = Synthetic::generate(seed, Size { frameworks: 3, requirements_per_framework: 60, controls: 40, mappings: 150, crosswalk_links: 40 }, at() + Duration::days(0));
        prop_assert_eq!(compute(&a, &a.mappings, &HashMap::new()), compute(&b, &b.mappings, &HashMap::new()));
    }
}
