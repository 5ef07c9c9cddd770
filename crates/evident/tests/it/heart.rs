//! One control set, every framework: readiness, gap delta, crosswalk and SoA through the CLI.

use crate::support::Evident;

#[test]
fn readiness_drill_down_adds_up_on_every_backend() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let readiness = evident.ok(&["readiness", "--json"]).json();
        let frameworks = readiness["frameworks"].as_array().unwrap();
        let ids: Vec<_> = frameworks.iter().map(|f| f["framework"].as_str().unwrap()).collect();
        assert_eq!(ids, ["iso27001:2022", "soc2:2017"], "{}", evident.name());
        let (mut points, mut applicable) = (0.0, 0);
        for f in frameworks {
            let requirements = f["requirements"].as_array().unwrap();
            let statuses = |s: &str| requirements.iter().filter(|r| r["status"] == s).count();
            assert_eq!(statuses("covered"), f["covered"].as_u64().unwrap() as usize);
            assert_eq!(statuses("partial"), f["partial"].as_u64().unwrap() as usize);
            assert_eq!(statuses("missing"), f["missing"].as_u64().unwrap() as usize);
            let group_points: f64 = f["groups"].as_array().unwrap().iter().map(|g| g["points"].as_f64().unwrap()).sum();
            assert!((group_points - f["points"].as_f64().unwrap()).abs() < 1e-9, "groups add up to the framework");
            let expected = f["points"].as_f64().unwrap() * 100.0 / f["applicable"].as_f64().unwrap();
            assert!((f["percent"].as_f64().unwrap() - expected).abs() < 1e-9);
            assert!(
                requirements.iter().all(|r| !r["reason"]["rule"].as_str().unwrap().is_empty()),
                "every status says why"
            );
            points += f["points"].as_f64().unwrap();
            applicable += f["applicable"].as_u64().unwrap();
        }
        let overall = readiness["overall"]["percent"].as_f64().unwrap();
        assert!((overall - points * 100.0 / applicable as f64).abs() < 1e-9);
        // SOC 2 categories the demo left out of scope are not applicable.
        let soc2 = &frameworks[1];
        let privacy = soc2["requirements"].as_array().unwrap().iter().find(|r| r["ref"] == "P1.1").unwrap();
        assert_eq!(privacy["status"], "not_applicable");
        assert_eq!(privacy["reason"], serde_json::json!({ "rule": "not_in_scope", "category": "privacy" }));
    }
}

#[test]
fn the_gap_names_what_no_crosswalk_reaches_and_accepting_maps() {
    let evident = Evident::sqlite();
    evident.ok(&["demo"]);
    let gap = evident.ok(&["gap", "--from", "soc2:2017", "--to", "iso27001:2022", "--json"]).json();
    let unreached: Vec<_> =
        gap["unreached"].as_array().unwrap().iter().map(|i| i["ref"].as_str().unwrap().to_owned()).collect();
    // Every ISMS clause is reached by some criterion now; what no criterion reaches is what the
    // crosswalk lists as unlinked, with its reason.
    assert_eq!(unreached, ["A.5.32", "A.8.34"], "reached by no crosswalk");
    let with_suggestion =
        gap["uncovered"].as_array().unwrap().iter().find(|i| !i["suggestions"].as_array().unwrap().is_empty()).unwrap();
    let reference = with_suggestion["ref"].as_str().unwrap();
    let suggestion = &with_suggestion["suggestions"][0];
    let path = suggestion["path"].as_str().unwrap();
    assert!(path.starts_with(&format!("control {} → ", suggestion["control"].as_str().unwrap())), "{path}");
    assert!(path.ends_with(&format!("→ {reference}")), "{path}");

    let refused = evident.fails(&["gap", "--from", "soc2:2017", "--to", "iso27001:2022", "--accept", "A.5.32"]);
    assert!(refused.stderr.contains("A.5.32 has no suggestion to accept"), "{}", refused.stderr);
    evident.ok(&["gap", "--from", "soc2:2017", "--to", "iso27001:2022", "--accept", reference]);
    let control = evident.ok(&["controls", "show", suggestion["control"].as_str().unwrap(), "--json"]).json();
    let mapped = control["mappings"].as_array().unwrap().iter().find(|m| m["requirement"] == reference).unwrap();
    assert_eq!(mapped["coverage"], suggestion["coverage"]);
    assert!(mapped["rationale"].as_str().unwrap().contains(path), "the mapping records the path it came from");
    let after = evident.ok(&["gap", "--from", "soc2:2017", "--to", "iso27001:2022", "--json"]).json();
    let still = after["uncovered"].as_array().unwrap().iter().find(|i| i["ref"] == reference);
    assert!(
        still.is_none_or(|i| i["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["control"] != suggestion["control"]))
    );
}

#[test]
fn the_crosswalk_lists_every_link_with_its_type_and_rationale() {
    let evident = Evident::sqlite();
    let crosswalk = evident.ok(&["crosswalk", "show", "--from", "soc2:2017", "--to", "iso27001:2022", "--json"]).json();
    let links = crosswalk["links"].as_array().unwrap();
    assert!(links.len() >= 100, "a careful crosswalk, got {}", links.len());
    for link in links {
        for field in ["from", "to", "relationship", "strength", "rationale"] {
            assert!(!link[field].is_null(), "{link}");
        }
        assert!(["equal", "subset_of", "superset_of", "intersects"].contains(&link["relationship"].as_str().unwrap()));
    }
    let reversed = evident.ok(&["crosswalk", "show", "--from", "iso27001:2022", "--to", "soc2:2017", "--json"]).json();
    assert_eq!(reversed["links"].as_array().unwrap().len(), links.len());
    let missing = evident.fails(&["crosswalk", "show", "--from", "soc2:2017", "--to", "iso27001:2013"]);
    assert!(missing.stderr.contains("there is no crosswalk from soc2:2017 to iso27001:2013"));
}

#[test]
fn an_approved_soa_is_frozen_and_versions_diff() {
    let evident = Evident::sqlite();
    evident.ok(&["demo"]);
    let refused = evident.fails(&["soa", "set", "A.5.32", "--exclude"]);
    assert!(refused.stderr.contains("excluding A.5.32 needs at least one reason"), "{}", refused.stderr);
    let not_annex =
        evident.fails(&["soa", "set", "6.1.2", "--exclude", "--reason", "business_need", "--justification", "x"]);
    assert!(not_annex.stderr.contains("6.1.2 is not an Annex A control"));
    let demo_versions = evident.ok(&["soa", "versions", "--json"]).json().as_array().unwrap().len() as i64;
    assert_eq!(demo_versions, 1, "the demo approved its SoA once");
    let (v1, v2) = (demo_versions + 1, demo_versions + 2);
    let exclude = [
        "soa",
        "set",
        "A.5.32",
        "--exclude",
        "--reason",
        "business_need",
        "--justification",
        "No third-party intellectual property is used",
    ];
    evident.ok(&exclude);
    evident.ok(&["soa", "approve"]);

    let draft = evident.ok(&["soa", "show", "--json"]).json();
    assert_eq!(draft.as_array().unwrap().len(), 93);
    let a532 = draft.as_array().unwrap().iter().find(|r| r["ref"] == "A.5.32").unwrap();
    assert_eq!((a532["applicable"].as_bool(), a532["implementation"].as_str()), (Some(false), Some("not_applicable")));

    // Changing the draft leaves the approved version as it was; approving again makes the next one.
    let include = [
        "soa",
        "set",
        "A.5.32",
        "--reason",
        "contractual",
        "--justification",
        "A customer contract requires licence tracking",
    ];
    evident.ok(&include);
    let versions = evident.ok(&["soa", "versions", "--json"]).json();
    let approved = &versions[v1 as usize - 1];
    assert_eq!(
        approved["rows"].as_array().unwrap().iter().find(|r| r["ref"] == "A.5.32").unwrap()["applicable"],
        false
    );
    evident.ok(&["--as", "compliance@northwind.example", "soa", "approve"]);
    let versions = evident.ok(&["soa", "versions", "--json"]).json();
    let numbers: Vec<_> = versions.as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [1, v1, v2]);
    assert_eq!(
        versions[v2 as usize - 1]["approved_by"],
        "operator:unknown as compliance@northwind.example",
        "the operator acting as the compliance manager approved it"
    );

    let diff = evident.ok(&["soa", "diff", &v1.to_string(), &v2.to_string(), "--json"]).json();
    let changed: Vec<_> =
        diff.as_array().unwrap().iter().map(|c| (c["ref"].as_str().unwrap(), c["field"].as_str().unwrap())).collect();
    assert!(changed.contains(&("A.5.32", "applicable")), "{changed:?}");
    assert!(changed.contains(&("A.5.32", "justification")), "{changed:?}");
    assert!(changed.iter().all(|(r, _)| *r == "A.5.32"), "nothing else changed: {changed:?}");
    assert!(evident.ok(&["soa", "diff", &v2.to_string()]).stdout.contains("no differences"));

    let owner = evident.fails(&["--as", "platform@northwind.example", "soa", "approve"]);
    assert!(owner.stderr.contains("may not do this"), "control owners do not approve the SoA");
}

#[test]
fn the_soa_exports_in_an_auditors_layout() {
    let evident = Evident::sqlite();
    evident.ok(&["demo"]);
    evident.ok(&["soa", "set", "A.5.32", "--exclude", "--reason", "business_need", "--justification", "=Fully remote"]);
    evident.ok(&["soa", "approve"]);
    let csv = evident.dir.path().join("soa.csv");
    evident.ok(&["soa", "export", csv.to_str().unwrap(), "--version", "2"]);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<_> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[..4], ["Annex A control", "Title", "Theme", "Applicable"]);
    let rows: Vec<_> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 93);
    let a532 = rows.iter().find(|r| &r[0] == "A.5.32").unwrap();
    assert_eq!(
        (&a532[3], &a532[4], &a532[5], &a532[9]),
        ("No", "business_need", "'=Fully remote", "2"),
        "formulas are neutralised"
    );
    let xlsx = evident.dir.path().join("soa.xlsx");
    evident.ok(&["soa", "export", xlsx.to_str().unwrap()]);
    use calamine::Reader as _;
    let mut workbook = calamine::open_workbook_auto(&xlsx).unwrap();
    let sheet = workbook.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(sheet.rows().count(), 94, "a header and 93 controls");
}
