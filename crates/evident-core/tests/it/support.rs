use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use evident_core::framework::{FrameworkInfo, Requirement, RequirementKind, SoaRows};
use evident_core::{
    Control, ControlCode, ControlId, Coverage, Framework, FrameworkId, Frequency, ImplementationStatus, Mapping,
    RequirementRef,
};

pub fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

pub fn r(text: &str) -> RequirementRef {
    RequirementRef::parse(text).unwrap()
}

pub fn fw(text: &str) -> FrameworkId {
    FrameworkId::parse(text).unwrap()
}

/// A small framework: groups G1 and G2, each with leaves `G1.1`…; `kind` for the leaves, which
/// are the rows of its Statement of Applicability.
pub fn framework(id: &str, leaves_per_group: usize, kind: &str) -> Framework {
    let kind = RequirementKind::parse(kind).unwrap();
    let mut requirements = Vec::new();
    for g in 1..=2 {
        requirements.push(req(&format!("G{g}"), None, RequirementKind::parse("theme").unwrap()));
        for l in 1..=leaves_per_group {
            requirements.push(req(&format!("G{g}.{l}"), Some(&format!("G{g}")), kind.clone()));
        }
    }
    let info = FrameworkInfo {
        id: fw(id),
        name: id.into(),
        version: "1".into(),
        title: "Test".into(),
        publisher: "evident".into(),
        description: "Test framework.".into(),
        categories: vec![],
        soa: Some(SoaRows { kind }),
        guidance: None,
    };
    Framework::new(info, requirements).unwrap()
}

fn req(reference: &str, parent: Option<&str>, kind: RequirementKind) -> Requirement {
    Requirement {
        reference: r(reference),
        label: None,
        parent: parent.map(r),
        kind,
        title: format!("Title {reference}"),
        description: format!("What {reference} asks."),
        category: None,
        note: None,
        attributes: BTreeMap::new(),
        informative: false,
    }
}

pub fn control(code: &str, status: ImplementationStatus) -> Control {
    Control {
        id: ControlId::parse(&code.to_lowercase()).unwrap(),
        code: ControlCode::parse(code).unwrap(),
        title: code.into(),
        description: String::new(),
        owner: None,
        frequency: Frequency::Quarterly,
        max_evidence_age_days: None,
        status,
        retired_at: None,
        created_at: at(),
        updated_at: at(),
        revision: 1,
    }
}

pub fn mapping(code: &str, framework: &str, requirement: &str, coverage: Coverage) -> Mapping {
    Mapping {
        control: ControlCode::parse(code).unwrap(),
        framework: fw(framework),
        requirement: r(requirement),
        coverage,
        rationale: "test".into(),
    }
}
