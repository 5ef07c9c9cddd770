//! Guidance (SOC 2's points of focus): under an assessed requirement without turning it into a
//! group, mappable, and rolled up into the requirement's status with the points each control
//! addresses.

use std::collections::{BTreeMap, HashMap};

use evident_core::framework::{FrameworkInfo, GuidanceRows, Requirement, RequirementKind};
use evident_core::freshness::Freshness;
use evident_core::readiness::{ReadinessInput, Scope, Status, readiness};
use evident_core::{Coverage, Framework, FrameworkError, ImplementationStatus};

use crate::support::*;

fn node(reference: &str, parent: Option<&str>, kind: &str) -> Requirement {
    Requirement {
        reference: r(reference),
        label: None,
        parent: parent.map(r),
        kind: RequirementKind::parse(kind).unwrap(),
        title: format!("Title {reference}"),
        description: format!("What {reference} asks."),
        category: None,
        note: None,
        informative: false,
        attributes: BTreeMap::new(),
    }
}

fn info(guidance: bool) -> FrameworkInfo {
    FrameworkInfo {
        id: fw("g:1"),
        name: "G".into(),
        version: "1".into(),
        title: "Guided".into(),
        publisher: "evident".into(),
        description: "Test framework with points of focus.".into(),
        categories: vec![],
        soa: None,
        guidance: guidance.then(|| GuidanceRows { kind: RequirementKind::parse("point_of_focus").unwrap() }),
    }
}

/// Series S with criteria S.1 (points of focus S.1.pf1–pf3) and S.2 (none).
fn guided() -> Framework {
    Framework::new(
        info(true),
        vec![
            node("S", None, "series"),
            node("S.1", Some("S"), "criterion"),
            node("S.1.pf1", Some("S.1"), "point_of_focus"),
            node("S.1.pf2", Some("S.1"), "point_of_focus"),
            node("S.1.pf3", Some("S.1"), "point_of_focus"),
            node("S.2", Some("S"), "criterion"),
        ],
    )
    .unwrap()
}

#[test]
fn points_of_focus_leave_their_criterion_assessed_and_can_be_mapped() {
    let f = guided();
    let leaves: Vec<_> = f.leaves().map(|r| r.reference.as_str()).collect();
    assert_eq!(leaves, ["S.1", "S.2"]);
    assert!(f.is_guidance(&r("S.1.pf2")) && !f.is_leaf(&r("S.1.pf2")));
    assert!(f.assessable(&r("S.1.pf2")).is_ok(), "a point of focus is a mapping target");
    assert!(f.assessable(&r("S")).is_err(), "a series still is not");
    let criterion = r("S.1");
    let under: Vec<_> = f.guidance_of(&criterion).map(|g| g.reference.as_str()).collect();
    assert_eq!(under, ["S.1.pf1", "S.1.pf2", "S.1.pf3"]);
    // Without the `guidance` declaration the same data makes S.1 a group.
    let plain = Framework::new(info(false), f.requirements().to_vec()).unwrap();
    assert!(!plain.is_leaf(&r("S.1")));
}

#[test]
fn a_point_of_focus_must_sit_under_an_assessed_requirement() {
    let misplaced = Framework::new(
        info(true),
        vec![
            node("S", None, "series"),
            node("S.1", Some("S"), "criterion"),
            node("S.pf1", Some("S"), "point_of_focus"),
        ],
    );
    assert_eq!(misplaced.unwrap_err(), FrameworkError::GuidanceMisplaced(r("S.pf1")));
    let orphan = Framework::new(info(true), vec![node("X.pf1", None, "point_of_focus")]);
    assert_eq!(orphan.unwrap_err(), FrameworkError::GuidanceMisplaced(r("X.pf1")));
}

#[test]
fn points_of_focus_roll_up_into_their_criterion() {
    use Coverage::*;
    use ImplementationStatus::*;
    let f = guided();
    let status = |controls: &[evident_core::Control], mappings: &[evident_core::Mapping]| {
        let none = HashMap::new();
        let scopes = [Scope { framework: &f, categories: &[], excluded: &none }];
        let result = readiness(&ReadinessInput { scopes: &scopes, controls, mappings, freshness: &Freshness::none() });
        result.frameworks[0].requirements.iter().find(|s| s.reference.as_str() == "S.1").unwrap().clone()
    };
    // One control meeting every point of focus meets the criterion.
    let all = [
        mapping("A", "g:1", "S.1.pf1", Full),
        mapping("A", "g:1", "S.1.pf2", Full),
        mapping("A", "g:1", "S.1.pf3", Full),
    ];
    let s = status(&[control("A", Implemented)], &all);
    assert_eq!(s.status, Status::Covered);
    assert_eq!(s.controls[0].guidance, [r("S.1.pf1"), r("S.1.pf2"), r("S.1.pf3")]);
    // One meeting some of them meets part of it, and says which.
    let s = status(&[control("A", Implemented)], &all[..2]);
    assert_eq!(s.status, Status::Partial);
    assert_eq!(s.controls[0].guidance, [r("S.1.pf1"), r("S.1.pf2")]);
    // Two controls sharing the points of focus meet it together.
    let shared = [all[0].clone(), mapping("B", "g:1", "S.1.pf2", Full), mapping("B", "g:1", "S.1.pf3", Full)];
    let s = status(&[control("A", Implemented), control("B", Implemented)], &shared);
    assert_eq!(s.status, Status::Covered);
    assert!(s.reason.to_string().contains("together"), "{}", s.reason);
    // A direct mapping's coverage rules; its points of focus are still shown.
    let direct = [mapping("A", "g:1", "S.1", Partial), all[0].clone(), all[1].clone(), all[2].clone()];
    let s = status(&[control("A", Implemented)], &direct);
    assert_eq!((s.status, s.controls.len()), (Status::Partial, 1));
    assert_eq!(s.controls[0].guidance.len(), 3);
    // Nothing on the points of focus: as before.
    let s = status(&[control("A", Implemented)], &[mapping("A", "g:1", "S.2", Full)]);
    assert_eq!(s.status, Status::Missing);
    assert!(s.controls.is_empty());
}
