//! OSCAL through the CLI: NIST's SP 800-53 rev5 imported, adopted, mapped and assessed; bad
//! documents and imports refused with every problem named and nothing written.

use crate::support::Evident;

const MODERATE: &str = "nist/sp800-53-moderate:5.0.1";

fn nist(name: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../reference/oscal/sp800-53-rev5/v1.0.0");
    format!("{dir}/NIST_SP-800-53_rev5_{name}")
}

#[test]
fn sp800_53_moderate_is_imported_adopted_mapped_and_assessed() {
    for evident in Evident::every_backend() {
        let backend = evident.name();
        evident.ok(&["demo"]);
        let profile = nist("MODERATE-baseline_profile.json");
        let imported = evident.ok(&["frameworks", "import-oscal", &profile, "--id", MODERATE, "--json"]).json();
        assert_eq!(imported["id"], MODERATE, "{backend}");
        assert_eq!((imported["requirements"].as_u64(), imported["assessable"].as_u64()), (Some(305), Some(287)));
        assert_eq!((imported["created"].as_bool(), imported["resolved_profile"].as_bool()), (Some(true), Some(true)));
        let again = evident.ok(&["frameworks", "import-oscal", &profile, "--id", MODERATE, "--json"]).json();
        assert_eq!(again["created"], false, "{backend}: the same version again changes nothing");

        let shown = evident.ok(&["frameworks", "show", MODERATE, "--json"]).json();
        let requirements = shown["requirements"].as_array().unwrap();
        let ac2_1 = requirements.iter().find(|r| r["ref"] == "ac-2.1").unwrap();
        assert_eq!((ac2_1["label"].as_str(), ac2_1["parent"].as_str()), (Some("AC-2(1)"), Some("ac")));

        evident.ok(&["frameworks", "adopt", MODERATE]);
        evident.ok(&["controls", "map", "IAM-01", MODERATE, "ac-2", "--rationale", "Quarterly access reviews."]);
        let family = evident.fails(&["controls", "map", "IAM-01", MODERATE, "ac", "--rationale", "A family."]);
        assert!(family.stderr.contains("code: requirement_not_assessable"), "{backend}: {}", family.stderr);
        let drill = evident.ok(&["readiness", "--framework", MODERATE, "--json"]).json();
        let framework = &drill["frameworks"][0];
        assert_eq!((framework["applicable"].as_u64(), framework["covered"].as_u64()), (Some(287), Some(1)));
        let ac2 = framework["requirements"].as_array().unwrap().iter().find(|r| r["ref"] == "ac-2").unwrap();
        assert_eq!((ac2["status"].as_str(), ac2["controls"][0]["control"].as_str()), (Some("covered"), Some("IAM-01")));

        let catalog = evident.ok(&["frameworks", "import-oscal", &nist("catalog.json"), "--json"]).json();
        assert_eq!(catalog["id"], "oscal/nist-special-publication-800-53:5.0.1", "{backend}");
        assert_eq!((catalog["assessable"].as_u64(), catalog["withdrawn"].as_u64()), (Some(1007), Some(182)));
        let verified = evident.ok(&["verify", "--json"]).json();
        assert_eq!(verified[0]["ok"], true, "{backend}: the log replays the imports: {verified}");
    }
}

#[test]
fn a_bad_catalog_is_refused_whole_with_every_problem_and_its_path() {
    let evident = Evident::sqlite();
    evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    let text = std::fs::read_to_string(nist("catalog.json")).unwrap();
    let damaged = text.replacen("\"title\": \"Policy and Procedures\"", "\"title\": 7", 2).replacen(
        "{{ insert: param, ac-1_prm_1 }}",
        "{{ insert: param, ac-1_prm_99 }}",
        1,
    );
    let bad = evident.dir.path().join("bad.json");
    std::fs::write(&bad, &damaged).unwrap();
    let bad = bad.display().to_string();
    let validated = evident.fails(&["oscal", "validate", &bad]);
    assert!(validated.stderr.contains("2 problem(s)"), "{}", validated.stderr);
    assert!(validated.stderr.contains("/catalog/groups/0/controls/0/title"), "{}", validated.stderr);
    assert!(validated.stderr.contains("code: oscal_invalid"), "{}", validated.stderr);
    let imported = evident.fails(&["frameworks", "import-oscal", &bad, "--id", "org/bad:1"]);
    assert!(imported.stderr.contains("code: oscal_invalid"), "{}", imported.stderr);
    let library = evident.ok(&["frameworks", "list", "--json"]).json();
    assert!(library.as_array().unwrap().iter().all(|f| f["source"] != "imported"), "nothing was imported");

    let fixed = damaged.replacen("\"title\": 7", "\"title\": \"Policy and Procedures\"", 2);
    std::fs::write(evident.dir.path().join("bad.json"), fixed).unwrap();
    let references = evident.fails(&["oscal", "validate", &bad]);
    assert!(
        references.stderr.contains("ac-1_prm_99, which the catalog does not define (unknown_param)"),
        "{}",
        references.stderr
    );

    let deep = evident.dir.path().join("deep.json");
    std::fs::write(&deep, format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))).unwrap();
    let deep = evident.fails(&["oscal", "validate", &deep.display().to_string()]);
    assert!(
        deep.stderr.contains("deeper than 100 levels") && deep.stderr.contains("code: invalid_file"),
        "{}",
        deep.stderr
    );
    let big = evident.fails(&["oscal", "validate", &nist("catalog.json"), "--max-size", "1000"]);
    assert!(big.stderr.contains("code: file_too_large"), "{}", big.stderr);
}

#[test]
fn a_profile_resolves_to_a_valid_catalog_and_a_circular_one_is_named() {
    let evident = Evident::sqlite();
    let out = evident.dir.path().join("moderate.json").display().to_string();
    evident.ok(&["oscal", "resolve", &nist("MODERATE-baseline_profile.json"), "-o", &out]);
    let validated = evident.ok(&["oscal", "validate", &out, "--json"]).json();
    assert_eq!((validated["model"].as_str(), validated["controls"].as_u64()), (Some("catalog"), Some(287)));

    let profile = |other: &str| {
        format!(
            r#"{{"profile": {{"uuid": "7b5e7f8a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
            "metadata": {{"title": "P", "last-modified": "2024-01-01T00:00:00Z", "version": "1", "oscal-version": "1.1.2"}},
            "imports": [{{"href": "{other}", "include-all": {{}}}}]}}}}"#
        )
    };
    std::fs::write(evident.dir.path().join("a.json"), profile("b.json")).unwrap();
    std::fs::write(evident.dir.path().join("b.json"), profile("a.json")).unwrap();
    let a = evident.dir.path().join("a.json").display().to_string();
    let circular = evident.fails(&["oscal", "resolve", &a]);
    assert!(circular.stderr.contains("circular import: a.json → b.json → a.json"), "{}", circular.stderr);
    assert!(circular.stderr.contains("code: oscal_unresolvable"), "{}", circular.stderr);
}
