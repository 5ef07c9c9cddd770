//! A broken catalog file is reported with the file, the entry and the problem.

use evident_catalog::{Catalog, CatalogError, Source};

const FRAMEWORK: &str = r#"
id = "t:1"
name = "Test"
version = "1"
title = "A test framework"
publisher = "evident"
description = "For tests."

[[requirements]]
ref = "A"
kind = "theme"
title = "Group"
description = "Groups things."

[[requirements]]
ref = "A.1"
parent = "A"
kind = "control"
title = "Leaf"
description = "Asks for a thing."
"#;

const CROSSWALK: &str = r#"
from = "t:1"
to = "t:1"
source = "evident"
description = "Self links, for tests."

[[links]]
from = "A.1"
to = "A.1"
relationship = "equal"
strength = 10
rationale = "The same requirement."
"#;

const BASELINE: &str = r#"
[[controls]]
code = "T-01"
domain = "Test"
title = "A control"
description = "Does a thing."
frequency = "monthly"
evidence = ["A record"]
[[controls.mappings]]
framework = "t:1"
ref = "A.1"
coverage = "full"
rationale = "Meets it."
"#;

const THREATS: &str = "threats = []\nvulnerabilities = []\n";

fn load(framework: &str, crosswalk: &str, baseline: &str) -> Result<Catalog, CatalogError> {
    Catalog::load(
        &[Source { name: "frameworks/t.toml", text: framework }],
        &[Source { name: "crosswalks/t.toml", text: crosswalk }],
        Source { name: "baseline-controls.toml", text: baseline },
        Source { name: "threats.toml", text: THREATS },
    )
}

#[test]
fn well_formed_files_load() {
    let catalog = load(FRAMEWORK, CROSSWALK, BASELINE).unwrap();
    assert_eq!(catalog.frameworks().count(), 1);
    assert_eq!(catalog.baseline().len(), 1);
}

#[test]
fn a_duplicate_requirement_names_the_file_and_entry() {
    let broken = FRAMEWORK.replace("ref = \"A.1\"", "ref = \"A\"");
    let error = load(&broken, CROSSWALK, BASELINE).unwrap_err();
    assert_eq!(error.to_string(), "catalog file frameworks/t.toml, entry A: requirement A is defined twice");
}

#[test]
fn a_missing_parent_names_the_child() {
    let broken = FRAMEWORK.replace("parent = \"A\"", "parent = \"B\"");
    let error = load(&broken, CROSSWALK, BASELINE).unwrap_err();
    assert_eq!(error.entry.as_deref(), Some("A.1"));
    assert!(error.problem.contains("parent B, which does not exist"), "{error}");
}

#[test]
fn a_syntax_error_names_the_line() {
    let broken = FRAMEWORK.replace("kind = \"control\"", "kind = control");
    let error = load(&broken, CROSSWALK, BASELINE).unwrap_err();
    assert_eq!(error.file, "frameworks/t.toml");
    assert!(error.problem.starts_with("line 18:"), "{error}");
}

#[test]
fn a_bad_ref_or_unknown_field_is_refused() {
    let bad_ref = FRAMEWORK.replace("ref = \"A.1\"", "ref = \"A..1\"");
    assert!(load(&bad_ref, CROSSWALK, BASELINE).unwrap_err().problem.contains("not a valid requirement ref"));
    let typo = FRAMEWORK.replace("parent = \"A\"", "parnet = \"A\"");
    assert!(load(&typo, CROSSWALK, BASELINE).unwrap_err().problem.contains("parnet"));
}

#[test]
fn a_crosswalk_to_an_unknown_requirement_is_refused() {
    let broken = CROSSWALK.replace("to = \"A.1\"", "to = \"A.9\"");
    let error = load(FRAMEWORK, &broken, BASELINE).unwrap_err();
    assert_eq!(error.to_string(), "catalog file crosswalks/t.toml, entry A.1 -> A.9: A.9 is not a requirement of t:1");
    let unknown_framework = CROSSWALK.replace("to = \"t:1\"", "to = \"x:1\"");
    assert!(load(FRAMEWORK, &unknown_framework, BASELINE).unwrap_err().problem.contains("unknown framework x:1"));
    let strength = CROSSWALK.replace("strength = 10", "strength = 11");
    assert!(load(FRAMEWORK, &strength, BASELINE).unwrap_err().problem.contains("outside 1–10"));
}

#[test]
fn a_baseline_control_mapped_to_a_group_is_refused() {
    let broken = BASELINE.replace("ref = \"A.1\"", "ref = \"A\"");
    let error = load(FRAMEWORK, CROSSWALK, &broken).unwrap_err();
    assert_eq!(
        error.to_string(),
        "catalog file baseline-controls.toml, entry T-01: A is not an assessable requirement of t:1"
    );
}
