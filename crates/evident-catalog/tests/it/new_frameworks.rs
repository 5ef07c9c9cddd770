//! GDPR, ISO/IEC 42001:2023 and NIST AI RMF 1.0: every id and title of their reference lists is in
//! the catalog, identical; their crosswalks link requirements that are assessed, with a type and a
//! strength that agree; and no text of the catalog is pasted from another.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use evident_catalog::Catalog;
use evident_core::crosswalk::Relationship;
use evident_core::{Framework, FrameworkId, RequirementRef};

/// Rows of a reference TSV (the repository's vendored copy) as maps from column name to cell.
fn rows(file: &str) -> Vec<HashMap<String, String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reference").join(file);
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| header.iter().map(|h| h.to_string()).zip(l.split('\t').map(str::to_owned)).collect())
        .collect()
}

fn id(text: &str) -> FrameworkId {
    FrameworkId::parse(text).unwrap()
}

fn framework(text: &str) -> &'static Framework {
    Catalog::embedded().unwrap().framework(&id(text)).unwrap_or_else(|| panic!("{text} is in the catalog"))
}

fn reference(text: &str) -> RequirementRef {
    RequirementRef::parse(text).unwrap()
}

fn parent_of(framework: &Framework, text: &str) -> Option<String> {
    framework.requirement(&reference(text)).and_then(|r| r.parent.as_ref()).map(|p| p.to_string())
}

fn assessed(framework: &Framework) -> BTreeSet<String> {
    framework.leaves().map(|r| r.reference.to_string()).collect()
}

#[test]
fn gdpr_has_every_article_with_its_title_in_its_chapter() {
    let gdpr = framework("gdpr:2016");
    let articles = rows("gdpr-articles.tsv");
    assert_eq!(articles.len(), 99);
    for row in &articles {
        let article = format!("Art. {}", row["article"]);
        let requirement = gdpr.requirement(&reference(&article)).unwrap_or_else(|| panic!("{article}"));
        assert_eq!(requirement.title, row["title"], "{article}");
        assert_eq!(requirement.kind.as_str(), "article", "{article}");
        let chapter = format!("Ch. {}", row["chapter"]);
        assert_eq!(parent_of(gdpr, &article).as_deref(), Some(chapter.as_str()), "{article} sits in its chapter");
        assert_eq!(gdpr.requirement(&reference(&chapter)).unwrap().title, row["chapter_title"], "{chapter}");
    }
    assert_eq!(gdpr.requirements().iter().filter(|r| r.kind.as_str() == "article").count(), 99);
    assert_eq!(gdpr.requirements().len(), 99 + 11, "the articles and their eleven chapters, nothing else");
}

#[test]
fn gdpr_assesses_the_articles_that_oblige_and_shows_the_rest_as_informative() {
    let gdpr = framework("gdpr:2016");
    let assessed = assessed(gdpr);
    for obliging in [5, 6, 12, 15, 17, 24, 25, 28, 30, 32, 33, 34, 35, 37, 44, 46] {
        assert!(assessed.contains(&format!("Art. {obliging}")), "Art. {obliging} asks something of a controller");
    }
    // Definitions, scope, the authorities and the Board, remedies and final provisions.
    for context in [1, 2, 3, 4, 23, 40, 45, 51, 58, 63, 68, 77, 83, 94, 99] {
        let article = reference(&format!("Art. {context}"));
        assert!(gdpr.requirement(&article).unwrap().informative, "{article} is informative");
        assert!(gdpr.assessable(&article).is_err(), "{article} cannot be the target of a mapping");
    }
    assert_eq!(assessed.len(), 39);
    assert!(assessed.iter().all(|r| r.starts_with("Art. ")), "chapters only group articles");
    assert!(gdpr.soa_rows().next().is_none(), "a regulation has no Statement of Applicability");
}

#[test]
fn iso42001_has_its_clauses_and_every_annex_a_control_as_a_row_of_its_soa() {
    let iso = framework("iso42001:2023");
    let controls = rows("iso42001-2023-annex-a.tsv");
    assert_eq!(controls.len(), 38);
    for row in &controls {
        let requirement = iso.requirement(&reference(&row["id"])).unwrap_or_else(|| panic!("{}", row["id"]));
        assert_eq!(requirement.title, row["title"], "{}", row["id"]);
        assert!(iso.is_soa_row(&requirement.reference), "{} is a row of the SoA", row["id"]);
        assert!(iso.is_leaf(&requirement.reference), "{} is assessed", row["id"]);
        let area = iso.top_level_of(&requirement.reference).unwrap();
        assert_eq!(area.reference.as_str(), row["control_area"], "{}", row["id"]);
        assert_eq!(area.title, row["control_area_title"], "{}", row["id"]);
    }
    let soa: Vec<_> = iso.soa_rows().map(|r| r.reference.to_string()).collect();
    let expected: Vec<_> = controls.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(soa, expected, "the SoA has one row per Annex A control, in order, nothing else");

    // Clauses 4–10 follow the harmonised structure, as ISO/IEC 27001:2022 does; where the shared
    // text names no subject, the titles are the same.
    let clauses: Vec<_> = iso.requirements().iter().filter(|r| r.kind.as_str() == "clause").collect();
    assert_eq!(clauses.len(), 43);
    let iso27001 = rows("iso27001-2022-clauses.tsv");
    let same_title = ["4.1", "4.2", "5.1", "6.1", "6.1.1", "6.3", "7.1", "7.2", "7.3", "7.4", "7.5.3", "8.1", "9.1"];
    for row in iso27001.iter().filter(|r| same_title.contains(&r["id"].as_str())) {
        assert_eq!(iso.requirement(&reference(&row["id"])).unwrap().title, row["title"], "{}", row["id"]);
    }
    for row in &iso27001 {
        assert!(iso.contains(&reference(&row["id"])), "42001 has clause {} of the harmonised structure", row["id"]);
    }
    let impact = iso.requirement(&reference("6.1.4")).unwrap();
    assert_eq!(
        (impact.title.as_str(), parent_of(iso, "6.1.4").as_deref()),
        ("AI system impact assessment", Some("6.1"))
    );
    assert_eq!(iso.requirement(&reference("8.4")).unwrap().title, "AI system impact assessment");
}

#[test]
fn nist_ai_rmf_has_every_subcategory_under_its_category_and_function() {
    let rmf = framework("nist-ai-rmf:1.0");
    let subcategories = rows("nist-ai-rmf-1.0.tsv");
    assert_eq!(subcategories.len(), 72);
    for row in &subcategories {
        let requirement = rmf.requirement(&reference(&row["id"])).unwrap_or_else(|| panic!("{}", row["id"]));
        assert_eq!(requirement.title, row["short_paraphrase"], "{}", row["id"]);
        assert_eq!(parent_of(rmf, &row["id"]).as_deref(), Some(row["category"].as_str()), "{}", row["id"]);
        assert_eq!(rmf.top_level_of(&requirement.reference).unwrap().reference.as_str(), row["function"]);
    }
    assert_eq!(assessed(rmf).len(), 72, "only the subcategories are assessed");
    let count = |kind: &str| rmf.requirements().iter().filter(|r| r.kind.as_str() == kind).count();
    assert_eq!((count("function"), count("category"), count("subcategory")), (4, 19, 72));
}

/// The crosswalks this file is about, each with the requirements it must reach.
const CROSSWALKS: [(&str, &str); 4] = [
    ("gdpr:2016", "iso27001:2022"),
    ("gdpr:2016", "soc2:2017"),
    ("iso42001:2023", "iso27001:2022"),
    ("nist-ai-rmf:1.0", "iso42001:2023"),
];

#[test]
fn the_new_crosswalks_link_assessed_requirements_with_types_and_strengths_that_agree() {
    let catalog = Catalog::embedded().unwrap();
    for (from, to) in CROSSWALKS {
        let crosswalk = catalog.crosswalk(&id(from), &id(to)).unwrap_or_else(|| panic!("{from} -> {to}"));
        assert!(crosswalk.links.len() >= 30, "{from} -> {to} has a real number of links");
        let (source, target) = (framework(from), framework(to));
        for link in &crosswalk.links {
            let name = format!("{from} -> {to}: {} -> {}", link.from, link.to);
            assert!(source.is_leaf(&link.from), "{name}: {} is an assessed requirement of {from}", link.from);
            assert!(target.is_leaf(&link.to), "{name}: {} is an assessed requirement of {to}", link.to);
            let strength = link.strength.get();
            match link.relationship {
                // Satisfied exactly when the other is: nothing is left to do on either side.
                Relationship::Equal => assert!(strength >= 9, "{name}: equal but strength {strength}"),
                // One contains the other: meeting the larger goes a long way.
                Relationship::SubsetOf | Relationship::SupersetOf => {
                    assert!(strength >= 4, "{name}: contained but strength {strength}")
                }
                // Overlap only: never everything.
                Relationship::Intersects => assert!(strength <= 9, "{name}: intersects but strength {strength}"),
            }
            let rationale = link.rationale.to_lowercase();
            if link.relationship == Relationship::Equal {
                for word in [" also ", " adds ", " wider ", " broader ", " beyond "] {
                    assert!(!rationale.contains(word), "{name}: an equal link whose rationale says{word}");
                }
            }
        }
    }
}

#[test]
fn the_new_crosswalks_reach_what_the_brief_asks() {
    let catalog = Catalog::embedded().unwrap();
    let linked = |from: &str, to: &str| -> BTreeSet<(String, String)> {
        let crosswalk = catalog.crosswalk(&id(from), &id(to)).unwrap();
        crosswalk.links.iter().map(|l| (l.from.to_string(), l.to.to_string())).collect()
    };
    let gdpr_iso = linked("gdpr:2016", "iso27001:2022");
    let expected = [
        ("Art. 5", "A.5.34"),
        ("Art. 32", "A.8.24"),
        ("Art. 32", "A.8.13"),
        ("Art. 33", "A.5.24"),
        ("Art. 33", "A.5.25"),
        ("Art. 33", "A.5.26"),
        ("Art. 28", "A.5.19"),
        ("Art. 28", "A.5.20"),
        ("Art. 28", "A.5.21"),
        ("Art. 28", "A.5.22"),
    ];
    for (article, control) in expected {
        assert!(gdpr_iso.contains(&(article.into(), control.into())), "{article} -> {control}");
    }
    // Every Privacy criterion of SOC 2 is reached from GDPR.
    let gdpr_soc2 = linked("gdpr:2016", "soc2:2017");
    let soc2 = framework("soc2:2017");
    for criterion in soc2.leaves().filter(|r| r.category.as_deref() == Some("privacy")) {
        assert!(gdpr_soc2.iter().any(|(_, to)| *to == criterion.reference.as_str()), "{}", criterion.reference);
    }
    // The shared management-system clauses map one to one.
    let iso42001 = framework("iso42001:2023");
    let clauses = linked("iso42001:2023", "iso27001:2022");
    for clause in iso42001.leaves().filter(|r| r.kind.as_str() == "clause" && r.reference.as_str() != "6.1.4") {
        let reference = clause.reference.to_string();
        let same = if reference == "8.4" { "8.2".to_owned() } else { reference.clone() };
        assert!(clauses.contains(&(reference.clone(), same)), "42001 {reference} meets its 27001 twin");
    }
    // Every AI RMF subcategory reaches ISO/IEC 42001.
    let rmf = linked("nist-ai-rmf:1.0", "iso42001:2023");
    for subcategory in framework("nist-ai-rmf:1.0").leaves() {
        assert!(rmf.iter().any(|(from, _)| *from == subcategory.reference.as_str()), "{}", subcategory.reference);
    }
}

#[test]
fn the_baseline_serves_the_new_frameworks_through_their_assessed_requirements() {
    let catalog = Catalog::embedded().unwrap();
    let mapped = |framework: &str, reference: &str| {
        catalog
            .baseline()
            .iter()
            .any(|c| c.mappings.iter().any(|m| m.framework == id(framework) && m.requirement.as_str() == reference))
    };
    for (framework, reference) in [
        ("gdpr:2016", "Art. 30"),
        ("gdpr:2016", "Art. 35"),
        ("gdpr:2016", "Art. 33"),
        ("gdpr:2016", "Art. 28"),
        ("gdpr:2016", "Art. 21"),
        ("iso42001:2023", "6.1.4"),
        ("iso42001:2023", "A.5.2"),
        ("iso42001:2023", "A.4.2"),
        ("iso42001:2023", "A.7.4"),
        ("iso42001:2023", "A.6.2.4"),
        ("nist-ai-rmf:1.0", "GOVERN 1.6"),
        ("nist-ai-rmf:1.0", "MAP 5.1"),
    ] {
        assert!(mapped(framework, reference), "a baseline control serves {framework} {reference}");
    }
}

// The pasted-text guard over the whole catalog, these frameworks included, is in `content.rs`.
