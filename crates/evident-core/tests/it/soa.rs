use std::collections::HashMap;

use evident_core::readiness::{MappingIndex, Scope, framework_readiness};
use evident_core::soa::{Decision, Implementation, Reason, SoaError, build, diff};
use evident_core::{Coverage, ImplementationStatus};

use crate::support::*;

#[test]
fn an_exclusion_needs_a_reason_and_a_justification() {
    let refused = Decision::new(&r("A.7.1"), false, vec![], "We have no offices".into());
    assert_eq!(refused, Err(SoaError::ExclusionWithoutJustification(r("A.7.1"))));
    assert!(Decision::new(&r("A.7.1"), false, vec![Reason::BusinessNeed], "  ".into()).is_err());
    let ok = Decision::new(&r("A.7.1"), false, vec![Reason::BusinessNeed, Reason::BusinessNeed], "Fully remote".into())
        .unwrap();
    assert_eq!(ok.reasons, [Reason::BusinessNeed]);
    assert!(Decision::new(&r("A.5.1"), true, vec![], String::new()).is_ok(), "inclusion can wait for its reason");
}

#[test]
fn rows_follow_decisions_readiness_and_risks_and_diffs_name_each_field() {
    let iso = framework("iso:1", 2, "control");
    let controls = vec![control("GOV-1", ImplementationStatus::Implemented)];
    let mappings =
        vec![mapping("GOV-1", "iso:1", "G1.1", Coverage::Full), mapping("GOV-1", "iso:1", "G1.2", Coverage::Partial)];
    let decisions = HashMap::from([(
        r("G2.2"),
        Decision::new(&r("G2.2"), false, vec![Reason::BusinessNeed], "Fully remote".into()).unwrap(),
    )]);
    let excluded: HashMap<_, _> =
        decisions.iter().filter(|(_, d)| !d.applicable).map(|(k, d)| (k.clone(), d.justification.clone())).collect();
    let index = MappingIndex::new(&controls, &mappings);
    let statuses =
        framework_readiness(Scope { framework: &iso, categories: &[], excluded: &excluded }, &index).requirements;
    let risks = HashMap::from([(r("G1.1"), vec!["R-02".to_owned(), "R-01".to_owned()])]);
    let v1 = build(&iso, &decisions, &statuses, &risks);

    assert_eq!(v1.len(), 4, "one row per Annex A control, none for themes");
    let g11 = &v1[0];
    assert_eq!((g11.implementation, g11.implementing_controls.len()), (Implementation::Implemented, 1));
    assert_eq!(g11.reasons, [Reason::RiskTreatment], "a control that treats a risk is justified by it");
    assert_eq!(g11.justification, "Treats risk R-01, R-02");
    assert_eq!(v1[1].implementation, Implementation::PartiallyImplemented);
    assert!(v1[1].justification_missing());
    assert_eq!(v1[2].implementation, Implementation::NotImplemented);
    assert_eq!((v1[3].applicable, v1[3].implementation), (false, Implementation::NotApplicable));

    let mut decisions2 = decisions.clone();
    decisions2.insert(
        r("G1.2"),
        Decision::new(&r("G1.2"), true, vec![Reason::Contractual], "Customer contracts".into()).unwrap(),
    );
    let v2 = build(&iso, &decisions2, &statuses, &risks);
    let changes = diff(&v1, &v2);
    let fields: Vec<_> = changes.iter().map(|c| (c.reference.as_str(), c.field, c.after.as_str())).collect();
    assert_eq!(fields, [("G1.2", "reasons", "contractual"), ("G1.2", "justification", "Customer contracts")]);
    assert!(diff(&v2, &v2).is_empty());
}
