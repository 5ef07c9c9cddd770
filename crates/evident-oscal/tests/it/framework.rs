use evident_core::{Framework, FrameworkId};
use evident_oscal::framework::{default_id, to_framework};
use evident_oscal::{Document, Limits, validate};

use crate::{SP800_53, read};

fn catalog(relative: &str) -> evident_oscal::model::Catalog {
    match validate(relative, &read(relative), &Limits::default()).unwrap() {
        Document::Catalog(c) => c.catalog,
        _ => panic!("{relative} is a catalog"),
    }
}

#[test]
fn sp800_53_becomes_a_framework_of_families_controls_and_enhancements() {
    let catalog = catalog(&format!("{SP800_53}/NIST_SP-800-53_rev5_catalog.json"));
    let id = default_id(&catalog).unwrap();
    assert_eq!(id.as_str(), "oscal/nist-special-publication-800-53:5.0.1");
    let converted = to_framework(&catalog, id).unwrap();
    let framework = Framework::from_data(converted.data.clone()).unwrap();
    let by_ref = |r: &str| converted.data.requirements.iter().find(|q| q.reference.as_str() == r).unwrap();
    let ac2 = by_ref("ac-2");
    assert_eq!(ac2.label.as_deref(), Some("AC-2"));
    assert_eq!(ac2.parent.as_ref().map(|p| p.as_str()), Some("ac"));
    assert!(ac2.description.contains("a. Define and document the types of accounts"), "{}", ac2.description);
    let ac2_1 = by_ref("ac-2.1");
    assert_eq!(ac2_1.label.as_deref(), Some("AC-2(1)"));
    assert_eq!(ac2_1.parent.as_ref().map(|p| p.as_str()), Some("ac"), "an enhancement sits beside its control");
    assert!(ac2_1.description.contains("[Assignment: organization-defined"), "{}", ac2_1.description);
    let ac1 = by_ref("ac-1");
    assert!(ac1.description.contains("[Selection (one or more): Organization-level;"), "{}", ac1.description);
    assert!(ac1.attributes.contains_key("oscal_params") && ac1.attributes.contains_key("oscal_parts"));
    assert!(converted.data.requirements.iter().all(|r| r.reference.as_str() != "ac-2.10"), "withdrawn");
    let families = framework.requirements().iter().filter(|r| r.parent.is_none()).count();
    assert_eq!(families, 20);
    println!(
        "800-53: {} requirements, {} assessable, {} withdrawn left out",
        framework.requirements().len(),
        framework.leaves().count(),
        converted.withdrawn
    );
    assert_eq!(framework.leaves().count() + families, framework.requirements().len());
}

#[test]
fn the_resolved_moderate_baseline_has_its_287_controls() {
    let catalog = catalog(&format!("{SP800_53}/NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog.json"));
    let converted = to_framework(&catalog, FrameworkId::parse("nist/moderate:5.1.1").unwrap()).unwrap();
    let framework = Framework::from_data(converted.data).unwrap();
    assert_eq!(framework.leaves().count(), 287);
    assert_eq!(converted.withdrawn, 0);
}

#[test]
fn ids_evident_cannot_use_are_named() {
    let text = String::from_utf8(read("examples/basic-catalog.json")).unwrap();
    let catalog = match validate("basic", text.as_bytes(), &Limits::default()).unwrap() {
        Document::Catalog(c) => c.catalog,
        _ => unreachable!(),
    };
    match to_framework(&catalog, FrameworkId::parse("org/basic:1").unwrap()) {
        Ok(converted) => assert!(!converted.data.requirements.is_empty()),
        Err(violations) => assert!(violations.iter().all(|v| v.rule == "unusable_id"), "{violations:?}"),
    }
}

#[test]
fn csf_2_subcategories_are_assessed_under_their_categories() {
    let catalog = catalog("csf-2.0/NIST_CSF_v2.0_catalog-min.json");
    let converted = to_framework(&catalog, FrameworkId::parse("nist/csf:2.0").unwrap()).unwrap();
    let framework = Framework::from_data(converted.data.clone()).unwrap();
    let by_ref = |r: &str| converted.data.requirements.iter().find(|q| q.reference.as_str() == r).unwrap();
    assert_eq!(by_ref("GV.OC-01").parent.as_ref().map(|p| p.as_str()), Some("GV.OC"));
    assert_eq!(by_ref("GV.OC-01").kind.as_str(), "subcategory");
    assert_eq!(by_ref("GV.OC").kind.as_str(), "category");
    assert_eq!(framework.requirements().iter().filter(|r| r.parent.is_none()).count(), 6, "six functions");
    assert_eq!(framework.leaves().count(), 106, "CSF 2.0 has 106 subcategories");
}
