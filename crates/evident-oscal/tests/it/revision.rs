//! A new revision of SP 800-53, derived from NIST's catalog in the test (a control removed, one
//! withdrawn into another, two changed, one moved to another family, one added), against the
//! original: every difference is found and explained, and the crosswalk leads every assessed
//! requirement of the old revision somewhere, or says it has nowhere to go.

use evident_core::FrameworkId;
use evident_oscal::framework::to_framework;
use evident_oscal::model::CatalogDocument;
use evident_oscal::revision::{Relation, diff};
use evident_oscal::{Document, Limits, validate};
use serde_json::{Value, json};

use crate::{SP800_53, read};

fn catalog(bytes: &[u8]) -> CatalogDocument {
    match validate("catalog.json", bytes, &Limits::default()).unwrap() {
        Document::Catalog(c) => *c,
        _ => panic!("a catalog"),
    }
}

fn control<'a>(catalog: &'a mut Value, group: &str, id: &str) -> &'a mut Value {
    let groups = catalog["catalog"]["groups"].as_array_mut().unwrap();
    let group = groups.iter_mut().find(|g| g["id"] == group).unwrap();
    let mut found = None;
    for control in group["controls"].as_array_mut().unwrap() {
        if control["id"] == id {
            found = Some(control);
            break;
        }
        if let Some(children) = control.get_mut("controls").and_then(Value::as_array_mut)
            && let Some(child) = children.iter_mut().find(|c| c["id"] == id)
        {
            found = Some(child);
            break;
        }
    }
    found.unwrap_or_else(|| panic!("{id}"))
}

/// NIST's catalog with: ac-5 removed, ac-6.1 withdrawn into ac-6, ac-8's title and ac-3's
/// statement changed, ac-7 moved to the ia family, and ac-26 added; version 5.0.2.
pub fn next_revision() -> Vec<u8> {
    let mut next: Value =
        serde_json::from_slice(&read(&format!("{SP800_53}/NIST_SP-800-53_rev5_catalog.json"))).unwrap();
    next["catalog"]["metadata"]["version"] = json!("5.0.2");
    next["catalog"]["uuid"] = json!("5d1f6a3c-2b4e-4f7a-9c8d-1e2f3a4b5c6d");
    let ac = next["catalog"]["groups"].as_array_mut().unwrap().iter_mut().find(|g| g["id"] == "ac").unwrap();
    let controls = ac["controls"].as_array_mut().unwrap();
    controls.retain(|c| c["id"] != "ac-5");
    let at = controls.iter().position(|c| c["id"] == "ac-7").unwrap();
    let ac7 = controls.remove(at);
    controls.push(json!({"id": "ac-26", "class": "SP800-53", "title": "Revision Test Control",
        "props": [{"name": "label", "value": "AC-26"}],
        "parts": [{"id": "ac-26_smt", "name": "statement", "prose": "Do what the new revision asks."}]}));
    let ia = next["catalog"]["groups"].as_array_mut().unwrap().iter_mut().find(|g| g["id"] == "ia").unwrap();
    ia["controls"].as_array_mut().unwrap().push(ac7);
    let ac6_1 = control(&mut next, "ac", "ac-6.1");
    ac6_1["props"] = json!([{"name": "label", "value": "AC-6(1)"}, {"name": "status", "value": "withdrawn"}]);
    ac6_1["links"] = json!([{"href": "#ac-6", "rel": "incorporated-into"}]);
    ac6_1.as_object_mut().unwrap().remove("params");
    ac6_1.as_object_mut().unwrap().remove("parts");
    control(&mut next, "ac", "ac-8")["title"] = json!("System Use Notice");
    let ac3 = control(&mut next, "ac", "ac-3");
    ac3["parts"][0]["prose"] = json!("Enforce approved authorizations for every access, as the new revision asks.");
    serde_json::to_vec(&next).unwrap()
}

#[test]
fn a_new_revision_is_explained_and_its_crosswalk_leaves_nothing_behind() {
    let old_catalog = catalog(&read(&format!("{SP800_53}/NIST_SP-800-53_rev5_catalog.json")));
    let new_catalog = catalog(&next_revision());
    let old = to_framework(&old_catalog.catalog, FrameworkId::parse("oscal/sp800-53:5.0.1").unwrap()).unwrap();
    let new = to_framework(&new_catalog.catalog, FrameworkId::parse("oscal/sp800-53:5.0.2").unwrap()).unwrap();
    assert_eq!(new.successors.get("ac-6.1"), Some(&vec![("incorporated-into".to_owned(), "ac-6".to_owned())]));
    let diff = diff(&old.data, &new.data, &new.successors);
    let refs = |list: &[evident_oscal::revision::Difference]| -> Vec<String> {
        list.iter().map(|d| d.reference.as_str().to_owned()).collect()
    };
    assert_eq!(refs(&diff.added), ["ac-26"]);
    assert_eq!(refs(&diff.removed), ["ac-5", "ac-6.1"]);
    assert_eq!(refs(&diff.changed), ["ac-3", "ac-8"]);
    assert_eq!(refs(&diff.moved), ["ac-7"]);
    let explained = |list: &[evident_oscal::revision::Difference], r: &str| {
        list.iter().find(|d| d.reference.as_str() == r).unwrap().explanation.clone()
    };
    assert_eq!(explained(&diff.changed, "ac-8"), "title changed");
    assert_eq!(explained(&diff.changed, "ac-3"), "statement changed");
    assert_eq!(explained(&diff.moved, "ac-7"), "moved from ac to ia");
    assert_eq!(explained(&diff.removed, "ac-6.1"), "withdrawn: incorporated into ac-6");
    assert!(explained(&diff.removed, "ac-5").contains("names no successor"), "{}", explained(&diff.removed, "ac-5"));
    assert_eq!(diff.unchanged, old.data.requirements.len() - 5, "everything else is unchanged");

    let crossing = |r: &str| diff.crosswalk.iter().find(|c| c.from.as_str() == r).unwrap();
    assert_eq!(crossing("ac-6.1").relation, Relation::IncorporatedInto);
    assert_eq!(crossing("ac-6.1").to.iter().map(|r| r.as_str()).collect::<Vec<_>>(), ["ac-6"]);
    assert_eq!(crossing("ac-7").relation, Relation::Moved);
    assert_eq!(crossing("ac-3").relation, Relation::Changed);
    assert_eq!(crossing("ac-2").relation, Relation::Unchanged);
    assert_eq!((crossing("ac-5").relation, crossing("ac-5").to.len()), (Relation::Removed, 0));
    // Every assessed requirement of the old revision is in the crosswalk, and every one it leads
    // to is an assessed requirement of the new revision.
    let new_framework = evident_core::Framework::from_data(new.data.clone()).unwrap();
    let old_framework = evident_core::Framework::from_data(old.data.clone()).unwrap();
    assert_eq!(diff.crosswalk.len(), old_framework.leaves().count());
    for crossing in &diff.crosswalk {
        for to in &crossing.to {
            assert!(
                new_framework.is_leaf(to),
                "{} leads to {to}, which the new revision does not assess",
                crossing.from
            );
        }
    }
    assert_eq!(diff.crosswalk.iter().filter(|c| c.to.is_empty()).count(), 1, "only ac-5 has nowhere to go");
}

#[test]
fn the_same_revision_against_itself_differs_in_nothing() {
    let old_catalog = catalog(&read(&format!("{SP800_53}/NIST_SP-800-53_rev5_catalog.json")));
    let a = to_framework(&old_catalog.catalog, FrameworkId::parse("oscal/sp800-53:5.0.1").unwrap()).unwrap();
    let diff = diff(&a.data, &a.data, &a.successors);
    assert!(diff.added.is_empty() && diff.removed.is_empty() && diff.changed.is_empty() && diff.moved.is_empty());
    assert_eq!(diff.unchanged, a.data.requirements.len());
    assert!(diff.crosswalk.iter().all(|c| c.relation == Relation::Unchanged && c.to == [c.from.clone()]));
}
