use evident_oscal::{Document, Limits, Model, OscalError, validate};

use crate::{SP800_53, read};

fn check(relative: &str) -> Result<Document, OscalError> {
    validate(relative, &read(relative), &Limits::default())
}

#[test]
fn nist_catalogs_and_profiles_validate() {
    for name in [
        "NIST_SP-800-53_rev5_catalog.json",
        "NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog.json",
        "NIST_SP-800-53_rev5_MODERATE-baseline_profile.json",
        "NIST_SP-800-53_rev5_LOW-baseline_profile.json",
        "NIST_SP-800-53_rev5_HIGH-baseline_profile.json",
        "NIST_SP-800-53_rev5_PRIVACY-baseline_profile.json",
    ] {
        let document = check(&format!("{SP800_53}/{name}")).unwrap_or_else(|e| panic!("{e}"));
        let expected = if name.ends_with("_profile.json") { Model::Profile } else { Model::Catalog };
        assert_eq!(document.model(), expected, "{name}");
    }
    check("csf-2.0/NIST_CSF_v2.0_catalog-min.json").unwrap_or_else(|e| panic!("{e}"));
    check("examples/basic-catalog.json").unwrap_or_else(|e| panic!("{e}"));
}

/// NIST's example documents of every other model: each is named for the model it holds, and
/// passes the schema and the reference checks.
#[test]
fn nists_example_documents_of_every_model_validate() {
    for (name, model) in [
        ("example-component.json", Model::ComponentDefinition),
        ("ssp-example.json", Model::SystemSecurityPlan),
        ("ifa_ssp-example.json", Model::SystemSecurityPlan),
        ("oscal_leveraged-example_ssp.json", Model::SystemSecurityPlan),
        ("oscal_leveraging-example_ssp.json", Model::SystemSecurityPlan),
        ("ifa_assessment-plan-example.json", Model::AssessmentPlan),
        ("ifa_assessment-results-example.json", Model::AssessmentResults),
        ("ifa_plan-of-action-and-milestones.json", Model::PlanOfActionAndMilestones),
    ] {
        let document = check(&format!("examples/{name}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(document.model(), model, "{name}");
    }
    // OSCAL's UUIDs are unique; NIST's example component definition gives two statements one.
    let refused = check("examples/example-component-definition.json").unwrap_err();
    let [violation] = refused.violations() else { panic!("{refused}") };
    assert_eq!(violation.rule, "duplicate_id", "{refused}");
    assert!(violation.message.contains("bb9219b1-e51c-4680-abb0-616a43bbfbb1"), "{refused}");
}

/// A component definition linking to a back-matter resource it does not hold is refused, at the
/// link's path; one defining a UUID twice names both places.
#[test]
fn a_component_definition_with_a_broken_link_or_a_uuid_twice_is_refused() {
    let text = String::from_utf8(read("examples/example-component.json")).unwrap();
    let broken = text.replacen(
        r#""href": "../../../../nist.gov/SP800-53/rev4/xml/NIST_SP-800-53_rev4_catalog.xml""#,
        r##""href": "#00000000-0000-4000-8000-000000000001""##,
        1,
    );
    let refused = validate("broken.json", broken.as_bytes(), &Limits::default()).unwrap_err();
    let [violation] = refused.violations() else { panic!("{refused}") };
    assert_eq!(violation.rule, "unresolved_link", "{refused}");
    assert!(violation.path.starts_with("/component-definition/back-matter/resources/0/rlinks/0"), "{refused}");

    let twice = text.replacen("b036a6ac-6cff-4066-92bc-74ddfd9ad6fa", "8223d65f-57a9-4689-8f06-2a975ae2ad72", 1);
    let refused = validate("twice.json", twice.as_bytes(), &Limits::default()).unwrap_err();
    assert!(refused.violations().iter().any(|v| v.rule == "duplicate_id"), "{refused}");
}

const TINY: &str = r##"{"catalog": {
  "uuid": "6b5e7f8a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
  "metadata": {"title": "Tiny", "last-modified": "2024-01-01T00:00:00Z", "version": "1", "oscal-version": "1.1.2"},
  "groups": [{"id": "ac", "title": "Access", "controls": [
    {"id": "ac-1", "title": "Policy",
     "params": [{"id": "ac-1_prm_1", "label": "frequency"}],
     "props": [{"name": "label", "value": "AC-1"}],
     "links": [{"href": "#11111111-2222-4333-8444-555555555555", "rel": "reference"}],
     "parts": [{"id": "ac-1_smt", "name": "statement", "prose": "Review every {{ insert: param, ac-1_prm_1 }}."}]}
  ]}],
  "back-matter": {"resources": [{"uuid": "11111111-2222-4333-8444-555555555555", "title": "A law"}]}
}}"##;

fn tiny(edit: impl Fn(&str) -> String) -> Result<Document, OscalError> {
    validate("tiny.json", edit(TINY).as_bytes(), &Limits::default())
}

#[test]
fn a_well_formed_catalog_validates() {
    tiny(str::to_owned).unwrap();
}

#[test]
fn every_schema_violation_is_reported_with_its_path() {
    let error = tiny(|t| {
        t.replace(r#""id": "ac-1", "title": "Policy","#, r#""id": "ac 1","#).replace("\"version\": \"1\", ", "")
    })
    .unwrap_err();
    assert_eq!(error.code(), "invalid");
    let found: Vec<(&str, &str)> = error.violations().iter().map(|v| (v.path.as_str(), v.rule)).collect();
    assert!(found.contains(&("/catalog/metadata", "schema")), "{found:?}");
    // The schema writes a group as `anyOf`: what is wrong is still named where it is.
    assert!(found.contains(&("/catalog/groups/0/controls/0", "schema")), "the missing title: {error}");
    assert!(found.contains(&("/catalog/groups/0/controls/0/id", "schema")), "the id's pattern: {error}");
}

#[test]
fn references_a_schema_cannot_check_are_checked() {
    let error = tiny(|t| {
        t.replace("ac-1_prm_1 }}", "ac-1_prm_9 }}")
            .replace("#11111111-2222-4333-8444-555555555555", "#99999999-2222-4333-8444-555555555555")
            .replace(r#""id": "ac", "title""#, r#""id": "ac-1", "title""#)
    })
    .unwrap_err();
    let found: Vec<(&str, &str)> = error.violations().iter().map(|v| (v.path.as_str(), v.rule)).collect();
    assert_eq!(
        found,
        [
            ("/catalog/groups/0/controls/0/id", "duplicate_id"),
            ("/catalog/groups/0/controls/0/parts/0/prose", "unknown_param"),
            ("/catalog/groups/0/controls/0/links", "unresolved_link"),
        ],
        "{error}"
    );
}

#[test]
fn hostile_input_is_refused_before_it_is_parsed() {
    let deep = format!(r#"{{"catalog": {{"groups": {}{}}}}}"#, "[{\"groups\": ".repeat(10_000), "[]}]".repeat(10_000));
    let error = validate("deep.json", deep.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(error.code(), "too_deep", "{error}");
    assert!(error.to_string().contains("deeper than 100 levels"), "{error}");
    let small = Limits { max_bytes: 100, ..Limits::default() };
    assert_eq!(validate("big.json", TINY.as_bytes(), &small).unwrap_err().code(), "too_large");
    assert_eq!(validate("x.json", b"{\"catalog\": ", &Limits::default()).unwrap_err().code(), "syntax");
    let other = validate("map.json", br#"{"mapping-collection": {}}"#, &Limits::default()).unwrap_err();
    assert_eq!(other.code(), "not_supported", "{other}");
    let empty = validate("ssp.json", br#"{"system-security-plan": {}}"#, &Limits::default()).unwrap_err();
    assert_eq!(empty.code(), "invalid", "an SSP is read, and an empty one breaks NIST's schema: {empty}");
}

#[test]
fn a_damaged_nist_catalog_names_every_problem() {
    let text = String::from_utf8(read(&format!("{SP800_53}/NIST_SP-800-53_rev5_catalog.json"))).unwrap();
    let damaged = text.replacen("\"title\": \"Policy and Procedures\"", "\"title\": 7", 3);
    let error = validate("800-53.json", damaged.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(error.violations().len(), 3, "{error}");
}

#[test]
fn the_models_round_trip_nists_files() {
    let files = [
        "NIST_SP-800-53_rev5_catalog.json",
        "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog.json",
        "NIST_SP-800-53_rev5_MODERATE-baseline_profile.json",
        "NIST_SP-800-53_rev5_PRIVACY-baseline_profile.json",
    ];
    // NIST's examples of the other models: what the typed models do not name is kept in `rest`.
    let examples = [
        "example-component.json",
        "ssp-example.json",
        "ifa_ssp-example.json",
        "oscal_leveraged-example_ssp.json",
        "oscal_leveraging-example_ssp.json",
        "ifa_assessment-results-example.json",
        "ifa_plan-of-action-and-milestones.json",
    ];
    let paths = files
        .iter()
        .map(|f| format!("{SP800_53}/{f}"))
        .chain(["csf-2.0/NIST_CSF_v2.0_catalog-min.json".into()])
        .chain(examples.iter().map(|f| format!("examples/{f}")));
    for path in paths {
        let bytes = read(&path);
        let original: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let again = match check(&path).unwrap() {
            Document::Catalog(c) => serde_json::to_value(&c).unwrap(),
            Document::Profile(p) => serde_json::to_value(&p).unwrap(),
            Document::ComponentDefinition(d) => serde_json::to_value(&d).unwrap(),
            Document::SystemSecurityPlan(d) => serde_json::to_value(&d).unwrap(),
            Document::AssessmentResults(d) => serde_json::to_value(&d).unwrap(),
            Document::PlanOfActionAndMilestones(d) => serde_json::to_value(&d).unwrap(),
            Document::AssessmentPlan(value) => *value,
        };
        assert!(original == again, "{path} reads back as it was written");
    }
}

#[test]
fn special_files_are_refused_without_being_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    for path in [dir.path().to_path_buf(), fifo].iter().filter(|p| p.exists()) {
        let error = evident_oscal::read::read_file(path, &Limits::default()).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }
    assert!(made.is_ok_and(|s| s.success()) || cfg!(not(unix)), "mkfifo is there on Unix");
}
