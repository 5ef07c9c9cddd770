//! What the catalog's content promises an auditor: crosswalk links between requirements that are
//! assessed, relationship types that mean what NIST IR 8477 says, SOC 2 points of focus behind
//! every claim of full coverage, every ISO 27002 attribute family, and no pasted text.

use std::collections::{BTreeSet, HashMap, HashSet};

use evident_catalog::Catalog;
use evident_core::framework::AttrValue;
use evident_core::{Coverage, Crosswalk, Framework, FrameworkId, Relationship, RequirementRef};

fn catalog() -> &'static Catalog {
    Catalog::embedded().unwrap()
}

fn framework(id: &str) -> &'static Framework {
    catalog().framework(&FrameworkId::parse(id).unwrap()).unwrap()
}

fn crosswalk(from: &str, to: &str) -> Crosswalk {
    catalog().crosswalk(&FrameworkId::parse(from).unwrap(), &FrameworkId::parse(to).unwrap()).unwrap()
}

/// The assessed requirement a link end stands for: itself, or the one its point of focus sits under.
fn assessed<'a>(framework: &'a Framework, reference: &'a RequirementRef) -> &'a RequirementRef {
    if framework.is_guidance(reference) {
        framework.requirement(reference).and_then(|r| r.parent.as_ref()).unwrap()
    } else {
        reference
    }
}

#[test]
fn every_crosswalk_link_joins_two_assessed_requirements() {
    for c in catalog().crosswalks() {
        let (from, to) = (catalog().framework(&c.from).unwrap(), catalog().framework(&c.to).unwrap());
        assert!(!c.links.is_empty());
        for link in &c.links {
            for (framework, end) in [(from, &link.from), (to, &link.to)] {
                assert!(
                    framework.is_leaf(end) || framework.is_guidance(end),
                    "{} -> {}: {end} is not assessed in {}, so readiness could never use the link",
                    link.from,
                    link.to,
                    framework.id()
                );
            }
        }
    }
}

#[test]
fn relationship_and_strength_agree() {
    for c in catalog().crosswalks() {
        for link in &c.links {
            let strength = link.strength.get();
            let name = format!("{} {} -> {} ({} {strength})", c.from, link.from, link.to, link.relationship);
            match link.relationship {
                // Each is met exactly when the other is: nothing is missing either way.
                Relationship::Equal => assert_eq!(strength, 10, "{name}: an equal link is a full match"),
                // A partial overlap can never achieve all of the other requirement.
                Relationship::Intersects => assert!(strength <= 9, "{name}: an overlap is not a full match"),
                Relationship::SubsetOf | Relationship::SupersetOf => {
                    assert!((3..=9).contains(&strength), "{name}: containment is more than a hint, less than equal")
                }
            }
        }
    }
}

#[test]
fn no_rationale_contradicts_its_relationship() {
    // Words that say one side asks more than the other: a link whose rationale uses them is not equal.
    let more = [
        "also",
        "wider",
        "widen",
        "widened",
        "widens",
        "broader",
        "broadened",
        "adds",
        "added",
        "extends",
        "extended",
        "expands",
        "expanded",
        "more",
        "narrow",
        "narrower",
        "beyond",
        "further",
    ];
    for c in catalog().crosswalks() {
        for link in c.links.iter().filter(|l| l.relationship == Relationship::Equal) {
            let words: Vec<String> =
                link.rationale.split(|ch: char| !ch.is_alphanumeric()).map(str::to_lowercase).collect();
            let said = more.iter().find(|w| words.iter().any(|x| x == *w));
            assert!(
                said.is_none(),
                "{} -> {} is equal but its rationale says {:?}: {}",
                link.from,
                link.to,
                said.unwrap(),
                link.rationale
            );
        }
    }
}

#[test]
fn the_soc2_iso_crosswalk_reaches_everything_or_says_why_not() {
    let (soc2, iso) = (framework("soc2:2017"), framework("iso27001:2022"));
    let c = crosswalk("soc2:2017", "iso27001:2022");
    let reached_soc2: HashSet<&RequirementRef> = c.links.iter().map(|l| assessed(soc2, &l.from)).collect();
    let reached_iso: HashSet<&RequirementRef> = c.links.iter().map(|l| assessed(iso, &l.to)).collect();
    let unlinked: HashMap<&RequirementRef, &str> =
        c.unlinked.iter().map(|u| (&u.reference, u.reason.as_str())).collect();
    for criterion in soc2.leaves() {
        assert!(reached_soc2.contains(&criterion.reference), "{} has no link", criterion.reference);
    }
    for requirement in iso.leaves() {
        let reached = reached_iso.contains(&requirement.reference);
        let why = unlinked.get(&requirement.reference);
        assert!(
            reached || why.is_some_and(|w| w.len() > 40),
            "{} is neither linked nor explained",
            requirement.reference
        );
        assert!(!(reached && why.is_some()), "{} is linked but also listed as unlinked", requirement.reference);
    }
    // The Annex A controls that do the bulk of the access, logging, incident and development work.
    for (criterion, control) in [
        ("CC6.1", "A.5.16"),
        ("CC6.1", "A.5.17"),
        ("CC6.3", "A.8.2"),
        ("CC6.6", "A.8.20"),
        ("CC7.2", "A.8.15"),
        ("CC7.2", "A.8.16"),
        ("CC7.4", "A.5.26"),
        ("CC8.1", "A.8.25"),
        ("CC8.1", "A.8.28"),
    ] {
        assert!(
            c.links.iter().any(|l| assessed(soc2, &l.from).as_str() == criterion && l.to.as_str() == control),
            "{criterion} -> {control}"
        );
    }
}

#[test]
fn the_2013_crosswalk_carries_every_clause_and_prepares_every_new_control() {
    let (iso2013, iso2022) = (framework("iso27001:2013"), framework("iso27001:2022"));
    let c = crosswalk("iso27001:2013", "iso27001:2022");
    let clauses_2013: Vec<_> = iso2013.leaves().filter(|r| r.kind.as_str() == "clause").collect();
    assert_eq!(clauses_2013.len(), 26, "2013 clauses 4–10 down to their sub-clauses");
    for clause in &clauses_2013 {
        assert!(c.links.iter().any(|l| l.from == clause.reference), "2013 clause {} reaches 2022", clause.reference);
    }
    for clause in iso2022.leaves().filter(|r| r.kind.as_str() == "clause") {
        assert!(c.links.iter().any(|l| l.to == clause.reference), "2022 clause {} is reached", clause.reference);
    }
    // The 2022 additions are not equal to anything in 2013.
    for added in ["4.2", "6.2", "8.1", "9.3.2"] {
        for link in c.links.iter().filter(|l| l.to.as_str() == added) {
            assert_ne!(link.relationship, Relationship::Equal, "2022 {added} asks more than 2013 {}", link.from);
        }
    }
    let planning = c.links.iter().find(|l| l.to.as_str() == "6.3").expect("6.3 Planning of changes is reached");
    assert_eq!(planning.relationship, Relationship::Intersects);
    let new: Vec<_> = iso2022
        .requirements()
        .iter()
        .filter(|r| r.attributes.get("new_in_2022") == Some(&AttrValue::Bool(true)))
        .collect();
    assert_eq!(new.len(), 11);
    for control in new {
        let hints: Vec<_> = c.links.iter().filter(|l| l.to == control.reference).collect();
        assert!(!hints.is_empty(), "{} has 2013 controls that prepared for it", control.reference);
        assert!(hints.iter().all(|l| l.relationship == Relationship::Intersects), "{}", control.reference);
    }
}

#[test]
fn soc2_criteria_carry_points_of_focus_in_our_words() {
    let soc2 = framework("soc2:2017");
    assert_eq!(soc2.leaves().count(), 61, "points of focus do not turn criteria into groups");
    let points: Vec<_> = soc2.requirements().iter().filter(|r| soc2.is_guidance(&r.reference)).collect();
    assert!(points.len() > 250, "{} points of focus", points.len());
    for criterion in soc2.leaves() {
        let under: Vec<_> = soc2.guidance_of(&criterion.reference).collect();
        assert!(!under.is_empty(), "{} has points of focus", criterion.reference);
        for (n, point) in under.iter().enumerate() {
            assert_eq!(point.reference.as_str(), format!("{}.pf{}", criterion.reference, n + 1));
            assert_eq!(point.category, criterion.category, "{}", point.reference);
        }
    }
}

#[test]
fn full_soc2_coverage_names_every_point_of_focus() {
    let soc2 = framework("soc2:2017");
    let mut partial_with_points = 0;
    for control in catalog().baseline() {
        let mapped: HashSet<&RequirementRef> =
            control.mappings.iter().filter(|m| m.framework == *soc2.id()).map(|m| &m.requirement).collect();
        for mapping in control.mappings.iter().filter(|m| m.framework == *soc2.id() && soc2.is_leaf(&m.requirement)) {
            let points: Vec<_> = soc2.guidance_of(&mapping.requirement).collect();
            let addressed = points.iter().filter(|p| mapped.contains(&p.reference)).count();
            match mapping.coverage {
                Coverage::Full => assert_eq!(
                    addressed,
                    points.len(),
                    "{} claims full coverage of {} but addresses {addressed} of its {} points of focus",
                    control.code,
                    mapping.requirement,
                    points.len()
                ),
                Coverage::Partial => partial_with_points += usize::from(addressed > 0),
            }
        }
    }
    assert!(partial_with_points > 150, "partial mappings say which points of focus they address");
}

#[test]
fn every_annex_a_control_carries_all_five_attribute_families() {
    let iso = framework("iso27001:2022");
    let families: [(&str, &[&str]); 5] = [
        ("control_type", &["Preventive", "Detective", "Corrective"]),
        ("information_security_properties", &["Confidentiality", "Integrity", "Availability"]),
        ("cybersecurity_concepts", &["Identify", "Protect", "Detect", "Respond", "Recover"]),
        (
            "operational_capabilities",
            &[
                "Governance",
                "Asset_management",
                "Information_protection",
                "Human_resource_security",
                "Physical_security",
                "System_and_network_security",
                "Application_security",
                "Secure_configuration",
                "Identity_and_access_management",
                "Threat_and_vulnerability_management",
                "Continuity",
                "Supplier_relationships_security",
                "Legal_and_compliance",
                "Information_security_event_management",
                "Information_security_assurance",
            ],
        ),
        ("security_domains", &["Governance_and_Ecosystem", "Protection", "Defence", "Resilience"]),
    ];
    let controls: Vec<_> = iso.soa_rows().collect();
    assert_eq!(controls.len(), 93);
    let mut seen: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for control in controls {
        for (family, allowed) in families {
            let Some(AttrValue::List(values)) = control.attributes.get(family) else {
                panic!("{} has no {family}", control.reference)
            };
            assert!(!values.is_empty(), "{} {family}", control.reference);
            for v in values {
                assert!(allowed.contains(&v.as_str()), "{} {family} = {v}", control.reference);
                seen.entry(family).or_default().insert(v.clone());
            }
        }
    }
    for (family, allowed) in families {
        assert_eq!(seen[family].len(), allowed.len(), "every value of {family} is used somewhere");
    }
    // Spot checks a reader can verify against what the controls ask.
    let values = |r: &str, family: &str| match iso
        .requirement(&RequirementRef::parse(r).unwrap())
        .unwrap()
        .attributes
        .get(family)
    {
        Some(AttrValue::List(v)) => v.clone(),
        _ => Vec::new(),
    };
    assert_eq!(values("A.5.30", "information_security_properties"), ["Availability"]);
    assert_eq!(values("A.8.13", "cybersecurity_concepts"), ["Recover"]);
    assert!(values("A.8.16", "security_domains").contains(&"Defence".to_owned()));
    assert_eq!(values("A.6.6", "information_security_properties"), ["Confidentiality"]);
}

/// Texts written for the catalog: descriptions and rationales, each named for messages. Mappings
/// to points of focus are left out: the loader writes their rationale from a template.
fn texts() -> Vec<(String, String)> {
    let c = catalog();
    let mut texts = Vec::new();
    for f in c.frameworks() {
        texts.push((format!("{} description", f.id()), f.info().description.clone()));
        for r in f.requirements() {
            texts.push((format!("{} {}", f.id(), r.reference), r.description.clone()));
            if let Some(note) = &r.note {
                texts.push((format!("{} {} note", f.id(), r.reference), note.clone()));
            }
        }
    }
    for x in c.crosswalks() {
        texts.push((format!("crosswalk {} -> {}", x.from, x.to), x.description.clone()));
        for l in &x.links {
            texts.push((format!("link {} -> {}", l.from, l.to), l.rationale.clone()));
        }
        for u in &x.unlinked {
            texts.push((format!("unlinked {}", u.reference), u.reason.clone()));
        }
    }
    for control in c.baseline() {
        texts.push((format!("control {}", control.code), control.description.clone()));
        for m in &control.mappings {
            let generated = c.framework(&m.framework).is_some_and(|f| f.is_guidance(&m.requirement));
            if !generated {
                texts.push((format!("control {} -> {}", control.code, m.requirement), m.rationale.clone()));
            }
        }
    }
    for t in c.threats().threats.iter().chain(&c.threats().vulnerabilities) {
        texts.push((format!("threat {}", t.id), t.description.clone()));
    }
    texts
}

#[test]
fn no_text_shares_twelve_consecutive_words_with_another() {
    const RUN: usize = 12;
    let mut first_seen: HashMap<Vec<String>, usize> = HashMap::new();
    let texts = texts();
    assert!(texts.len() > 1500, "{} texts", texts.len());
    let mut shared = Vec::new();
    for (i, (_, text)) in texts.iter().enumerate() {
        let words: Vec<String> = text
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        let runs: HashSet<Vec<String>> = words.windows(RUN).map(<[String]>::to_vec).collect();
        for run in runs {
            match first_seen.get(&run) {
                Some(&j) if j != i => shared.push(format!("{} and {}: \"{}\"", texts[j].0, texts[i].0, run.join(" "))),
                Some(_) => {}
                None => {
                    first_seen.insert(run, i);
                }
            }
        }
    }
    shared.dedup();
    assert!(
        shared.is_empty(),
        "{} shared runs of {RUN} words, e.g. {:#?}",
        shared.len(),
        &shared[..shared.len().min(10)]
    );
}
