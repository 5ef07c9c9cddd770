//! Every id and title of the reference lists is in the catalog, identical.

use std::path::{Path, PathBuf};

use evident_catalog::Catalog;
use evident_core::framework::AttrValue;
use evident_core::{FrameworkId, RequirementRef};

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reference")
}

/// Rows of a reference TSV as maps from column name to cell.
fn rows(file: &str) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(reference_dir().join(file)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| header.iter().map(|h| h.to_string()).zip(l.split('\t').map(str::to_owned)).collect())
        .collect()
}

fn framework(id: &str) -> &'static evident_core::Framework {
    Catalog::embedded().unwrap().framework(&FrameworkId::parse(id).unwrap()).unwrap()
}

fn title_of(framework: &evident_core::Framework, reference: &str) -> Option<String> {
    framework.requirement(&RequirementRef::parse(reference).unwrap()).map(|r| r.title.clone())
}

#[test]
fn iso27001_2022_has_every_clause_with_its_title() {
    let iso = framework("iso27001:2022");
    let clauses = rows("iso27001-2022-clauses.tsv");
    assert_eq!(clauses.len(), 41);
    for row in &clauses {
        assert_eq!(title_of(iso, &row["id"]).as_deref(), Some(row["title"].as_str()), "clause {}", row["id"]);
    }
    let in_catalog = iso.requirements().iter().filter(|r| r.kind.as_str() == "clause").count();
    assert_eq!(in_catalog, 41);
    for climate in ["4.1", "4.2"] {
        let note = iso.requirement(&RequirementRef::parse(climate).unwrap()).unwrap().note.clone();
        assert!(note.unwrap_or_default().to_lowercase().contains("climate"), "{climate} carries the Amd 1:2024 note");
    }
}

#[test]
fn iso27001_2022_has_every_annex_a_control_with_its_attributes() {
    let iso = framework("iso27001:2022");
    let controls = rows("iso27001-2022-annex-a.tsv");
    assert_eq!(controls.len(), 93);
    for row in &controls {
        let reference = format!("A.{}", row["id"]);
        let requirement =
            iso.requirement(&RequirementRef::parse(&reference).unwrap()).unwrap_or_else(|| panic!("{reference}"));
        assert_eq!(requirement.title, row["title"], "{reference}");
        assert_eq!(requirement.kind.as_str(), "control");
        assert!(iso.is_soa_row(&requirement.reference), "{reference} is a row of the SoA");
        assert_eq!(
            requirement.attributes.get("new_in_2022"),
            Some(&AttrValue::Bool(row["new_in_2022"] == "yes")),
            "{reference}"
        );
        let list = |column: &str| AttrValue::List(row[column].split(';').map(str::to_owned).collect());
        assert_eq!(requirement.attributes.get("control_type"), Some(&list("control_type")), "{reference}");
        assert_eq!(
            requirement.attributes.get("operational_capabilities"),
            Some(&list("operational_capabilities")),
            "{reference}"
        );
        let theme = iso.top_level_of(&requirement.reference).unwrap();
        assert_eq!(theme.title.split_whitespace().next(), Some(row["theme"].as_str()), "{reference} sits in its theme");
    }
    let per_theme: Vec<usize> = ["A.5", "A.6", "A.7", "A.8"]
        .iter()
        .map(|t| iso.requirements().iter().filter(|r| r.parent.as_ref().map(|p| p.as_str()) == Some(*t)).count())
        .collect();
    assert_eq!(per_theme, [37, 8, 14, 34]);
    assert_eq!(iso.soa_rows().count(), 93, "the SoA has one row per Annex A control, nothing else");
}

#[test]
fn iso27001_2013_has_every_control_and_each_reaches_2022() {
    let iso2013 = framework("iso27001:2013");
    let catalog = Catalog::embedded().unwrap();
    let crosswalk = catalog
        .crosswalk(&FrameworkId::parse("iso27001:2013").unwrap(), &FrameworkId::parse("iso27001:2022").unwrap())
        .unwrap();
    let controls = rows("iso27001-2013-to-2022.tsv");
    assert_eq!(controls.len(), 114);
    for row in &controls {
        assert_eq!(
            title_of(iso2013, &row["id_2013"]).as_deref(),
            Some(row["title_2013"].as_str()),
            "{}",
            row["id_2013"]
        );
        for target in row["ids_2022"].split(';') {
            let linked = crosswalk
                .links
                .iter()
                .any(|l| l.from.as_str() == row["id_2013"] && l.to.as_str() == format!("A.{target}"));
            assert!(linked, "{} -> A.{target} is in the 2013 → 2022 crosswalk", row["id_2013"]);
        }
    }
    assert_eq!(iso2013.requirements().iter().filter(|r| r.kind.as_str() == "control").count(), 114);
}

#[test]
fn soc2_has_every_criterion_in_its_category() {
    let soc2 = framework("soc2:2017");
    let criteria = rows("soc2-tsc-2017.tsv");
    assert_eq!(criteria.len(), 61);
    for row in &criteria {
        let requirement =
            soc2.requirement(&RequirementRef::parse(&row["id"]).unwrap()).unwrap_or_else(|| panic!("{}", row["id"]));
        assert_eq!(requirement.title, row["short_title"], "{}", row["id"]);
        let category = soc2.category(requirement.category.as_deref().unwrap()).unwrap();
        assert_eq!(category.title, row["category"], "{}", row["id"]);
        assert_eq!(requirement.parent.as_ref().unwrap().as_str(), row["series"], "{}", row["id"]);
    }
    assert_eq!(soc2.leaves().count(), 61);
    let mandatory: Vec<_> = soc2.info().categories.iter().filter(|c| c.mandatory).map(|c| c.id.as_str()).collect();
    assert_eq!(mandatory, ["security"]);
}

#[test]
fn every_requirement_has_a_description_of_our_own() {
    for framework in Catalog::embedded().unwrap().frameworks() {
        for r in framework.requirements() {
            assert!(r.description.len() >= 20, "{} {} needs a real description", framework.id(), r.reference);
            assert_ne!(r.description, r.title, "{} {} repeats its title", framework.id(), r.reference);
        }
    }
}

#[test]
fn the_vendored_reference_lists_match_the_shared_ones() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference");
    if !shared.is_dir() {
        eprintln!("no shared reference folder beside the repository; the vendored copy is used as is");
        return;
    }
    for entry in std::fs::read_dir(reference_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tsv") {
            let name = path.file_name().unwrap();
            let ours = std::fs::read(&path).unwrap();
            let theirs = std::fs::read(shared.join(name)).unwrap();
            assert!(ours == theirs, "reference/{} differs from the shared copy", name.to_string_lossy());
        }
    }
}
