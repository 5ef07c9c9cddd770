use std::collections::HashMap;

use evident_core::crosswalk::{CrosswalkLink, Relationship};
use evident_core::gap::{gap, suggested_coverage};
use evident_core::readiness::{MappingIndex, Scope, framework_readiness};
use evident_core::{Coverage, ImplementationStatus};

use crate::support::*;

fn link(from: &str, to: &str, relationship: Relationship, strength: u8) -> CrosswalkLink {
    let strength = evident_core::crosswalk::Strength::new(strength).unwrap();
    CrosswalkLink { from: r(from), to: r(to), relationship, strength, rationale: format!("{from} and {to} overlap.") }
}

#[test]
fn the_gap_names_reaching_controls_with_their_path_and_the_unreached_requirements() {
    let target = framework("dst:1", 3, "control");
    let controls =
        vec![control("AC-3", ImplementationStatus::Implemented), control("OPS-1", ImplementationStatus::InProgress)];
    let mappings = vec![
        mapping("AC-3", "src:1", "G1.1", Coverage::Full),
        mapping("OPS-1", "src:1", "G1.2", Coverage::Full),
        mapping("AC-3", "dst:1", "G1.1", Coverage::Full), // target G1.1 already covered
    ];
    let links = vec![
        link("G1.1", "G1.1", Relationship::Equal, 10),
        link("G1.1", "G1.2", Relationship::Intersects, 5),
        link("G1.2", "G1.2", Relationship::SupersetOf, 8),
        link("G1.1", "G2.1", Relationship::SupersetOf, 7),
        link("G2.2", "G2.2", Relationship::Equal, 10), // reaches G2.2, but no control maps to src G2.2
    ];
    let index = MappingIndex::new(&controls, &mappings);
    let none = HashMap::new();
    let statuses =
        framework_readiness(Scope { framework: &target, categories: &[], excluded: &none }, &index).requirements;
    let result = gap(&fw("src:1"), &target, &statuses, &links, &index);

    assert_eq!(result.covered, 1, "G1.1 is covered already");
    let uncovered: Vec<_> = result.uncovered.iter().map(|g| g.reference.as_str()).collect();
    assert_eq!(uncovered, ["G1.2", "G2.1", "G2.2"]);
    let g12 = &result.uncovered[0];
    let paths: Vec<_> = g12.suggestions.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["control OPS-1 → G1.2 → superset_of → G1.2", "control AC-3 → G1.1 → intersects → G1.2"]);
    assert_eq!(g12.suggestions[0].coverage, Coverage::Full, "a superset link carries full coverage");
    assert_eq!(g12.suggestions[1].coverage, Coverage::Partial, "an intersecting link only ever suggests partial");
    assert!(
        result.uncovered[2].suggestions.is_empty(),
        "reached by the crosswalk but no control of ours is on the source side"
    );
    let unreached: Vec<_> = result.unreached.iter().map(|g| g.reference.as_str()).collect();
    assert_eq!(unreached, ["G1.3", "G2.3"]);
}

#[test]
fn suggested_coverage_never_claims_more_than_the_link_allows() {
    for relationship in Relationship::ALL {
        assert_eq!(suggested_coverage(Coverage::Partial, *relationship), Coverage::Partial);
    }
    assert_eq!(suggested_coverage(Coverage::Full, Relationship::Equal), Coverage::Full);
    assert_eq!(suggested_coverage(Coverage::Full, Relationship::SubsetOf), Coverage::Partial);
}
