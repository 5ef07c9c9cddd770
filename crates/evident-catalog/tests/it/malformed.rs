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

#[test]
fn a_builtin_framework_id_carries_no_namespace() {
    let broken = FRAMEWORK.replace("id = \"t:1\"", "id = \"org/t:1\"");
    let error = load(&broken, CROSSWALK, BASELINE).unwrap_err();
    assert!(error.problem.contains("must not carry a namespace"), "{error}");
}

#[test]
fn kinds_are_open_and_the_soa_rows_must_exist_and_be_assessed() {
    let open = FRAMEWORK.replace("kind = \"control\"", "kind = \"article\"");
    let catalog = load(&open, CROSSWALK, BASELINE).unwrap();
    let framework = catalog.frameworks().next().unwrap();
    assert_eq!(framework.requirements()[1].kind.as_str(), "article");
    assert_eq!(framework.soa_rows().count(), 0, "no SoA unless the data names one");

    let with_soa =
        FRAMEWORK.replace("description = \"For tests.\"", "description = \"For tests.\"\nsoa = { kind = \"control\" }");
    let catalog = load(&with_soa, CROSSWALK, BASELINE).unwrap();
    let rows: Vec<_> = catalog.frameworks().next().unwrap().soa_rows().map(|r| r.reference.to_string()).collect();
    assert_eq!(rows, ["A.1"]);

    let unused = with_soa.replace("kind = \"control\"\ntitle", "kind = \"article\"\ntitle");
    let error = load(&unused, CROSSWALK, BASELINE).unwrap_err();
    assert!(error.problem.contains("names kind \"control\", which no requirement has"), "{error}");
    let group = with_soa.replace("kind = \"theme\"", "kind = \"control\"");
    let error = load(&group, CROSSWALK, BASELINE).unwrap_err();
    assert_eq!(error.entry.as_deref(), Some("A"), "{error}");
    assert!(error.problem.contains("groups other requirements"), "{error}");
    let bad_kind = FRAMEWORK.replace("kind = \"control\"", "kind = \"Control\"");
    assert!(load(&bad_kind, CROSSWALK, BASELINE).unwrap_err().problem.contains("not a valid requirement kind"));
}

#[test]
fn a_label_is_shown_beside_the_ref_and_cannot_be_empty() {
    let labelled = FRAMEWORK.replace("ref = \"A.1\"", "ref = \"A.1\"\nlabel = \"A(1)\"");
    let catalog = load(&labelled, CROSSWALK, BASELINE).unwrap();
    assert_eq!(catalog.frameworks().next().unwrap().requirements()[1].label.as_deref(), Some("A(1)"));
    let empty = FRAMEWORK.replace("ref = \"A.1\"", "ref = \"A.1\"\nlabel = \" \"");
    assert!(load(&empty, CROSSWALK, BASELINE).unwrap_err().problem.contains("empty label"));
}

#[test]
fn an_unknown_framework_field_is_refused() {
    let typo = FRAMEWORK.replace("publisher = \"evident\"", "publisher = \"evident\"\nsao = { kind = \"control\" }");
    let error = load(&typo, CROSSWALK, BASELINE).unwrap_err();
    assert!(error.problem.contains("sao"), "{error}");
}
