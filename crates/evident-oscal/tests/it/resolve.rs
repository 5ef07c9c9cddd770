use std::collections::BTreeMap;
use std::path::Path;

use evident_oscal::model::{Catalog, Control, Group, Parameter};
use evident_oscal::resolve::resolve_file;
use evident_oscal::{Document, Limits, validate};

use crate::{SP800_53, read, reference};

/// Every control id of a catalog, and every parameter's values, selection and label, by id.
fn facts(catalog: &Catalog) -> (Vec<String>, BTreeMap<String, String>) {
    fn controls(list: &[Control], ids: &mut Vec<String>, params: &mut BTreeMap<String, String>) {
        for control in list {
            ids.push(control.id.clone());
            for p in control.params.iter().flatten() {
                params.insert(p.id.clone(), describe(p));
            }
            controls(control.controls.as_deref().unwrap_or_default(), ids, params);
        }
    }
    fn groups(list: &[Group], ids: &mut Vec<String>, params: &mut BTreeMap<String, String>) {
        for group in list {
            controls(group.controls.as_deref().unwrap_or_default(), ids, params);
            groups(group.groups.as_deref().unwrap_or_default(), ids, params);
        }
    }
    fn describe(p: &Parameter) -> String {
        serde_json::to_string(&(&p.values, &p.select, &p.label)).unwrap()
    }
    let (mut ids, mut params) = (Vec::new(), BTreeMap::new());
    controls(catalog.controls.as_deref().unwrap_or_default(), &mut ids, &mut params);
    groups(catalog.groups.as_deref().unwrap_or_default(), &mut ids, &mut params);
    (ids, params)
}

#[test]
fn nist_baselines_resolve_to_nists_resolved_catalogs() {
    for baseline in ["LOW", "MODERATE", "HIGH", "PRIVACY"] {
        let profile = reference(&format!("{SP800_53}/NIST_SP-800-53_rev5_{baseline}-baseline_profile.json"));
        let resolved = resolve_file(&profile, &Limits::default()).unwrap_or_else(|e| panic!("{baseline}: {e}"));
        let orphans = if baseline == "PRIVACY" { 6 } else { 0 };
        assert_eq!(resolved.warnings.len(), orphans, "{baseline}: {:?}", resolved.warnings);
        let expected = format!("{SP800_53}/NIST_SP-800-53_rev5_{baseline}-baseline-resolved-profile_catalog.json");
        let Document::Catalog(nist) = validate(&expected, &read(&expected), &Limits::default()).unwrap() else {
            panic!("{expected} is a catalog")
        };
        let (ours, nists) = (facts(&resolved.catalog.catalog), facts(&nist.catalog));
        assert_eq!(ours.0, nists.0, "{baseline}: the same controls in the same order");
        assert_eq!(ours.1, nists.1, "{baseline}: the same parameters");
        let group_ids = |c: &Catalog| c.groups.iter().flatten().map(|g| g.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            group_ids(&resolved.catalog.catalog),
            group_ids(&nist.catalog),
            "{baseline}: as-is keeps the families"
        );
        // What we write is itself a valid catalog.
        let bytes = serde_json::to_vec(&resolved.catalog).unwrap();
        validate(baseline, &bytes, &Limits::default()).unwrap_or_else(|e| panic!("{baseline}: {e}"));
        if baseline == "MODERATE" {
            assert_eq!(ours.0.len(), 287, "MODERATE selects 287 controls and enhancements");
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const CATALOG: &str = r##"{"catalog": {
  "uuid": "6b5e7f8a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
  "metadata": {"title": "Tiny", "last-modified": "2024-01-01T00:00:00Z", "version": "1", "oscal-version": "1.1.2"},
  "groups": [{"id": "ac", "title": "Access", "controls": [
    {"id": "ac-1", "title": "Policy",
     "params": [{"id": "ac-1_prm_1", "label": "frequency"}],
     "parts": [{"id": "ac-1_smt", "name": "statement", "prose": "Review every {{ insert: param, ac-1_prm_1 }}."},
               {"id": "ac-1_gdn", "name": "guidance", "prose": "Why."}],
     "controls": [{"id": "ac-1.1", "title": "Enhanced"}]},
    {"id": "ac-2", "title": "Accounts"}
  ]}, {"id": "au", "title": "Audit", "controls": [{"id": "au-1", "title": "Logs"}]}]
}}"##;

fn profile(imports: &str, rest: &str) -> String {
    format!(
        r#"{{"profile": {{"uuid": "7b5e7f8a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
  "metadata": {{"title": "P", "last-modified": "2024-01-01T00:00:00Z", "version": "1", "oscal-version": "1.1.2"}},
  "imports": [{imports}]{rest}}}}}"#
    )
}

fn resolve(files: &[(&str, String)]) -> Result<Catalog, evident_oscal::OscalError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    write(dir.path(), "catalog.json", CATALOG);
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    resolve_file(&dir.path().join(files[0].0), &Limits::default()).map(|r| r.catalog.catalog)
}

fn ids(catalog: &Catalog) -> Vec<String> {
    facts(catalog).0
}

#[test]
fn imports_select_by_id_match_and_children_and_exclude() {
    let by_id = resolve(&[(
        "p.json",
        profile(
            r#"{"href": "catalog.json", "include-controls": [{"with-ids": ["ac-1"], "with-child-controls": "yes"}]}"#,
            "",
        ),
    )])
    .unwrap();
    assert_eq!(ids(&by_id), ["ac-1", "ac-1.1"]);
    assert!(by_id.groups.is_none(), "no merge directive: flat");
    let matching = resolve(&[(
        "p.json",
        profile(
            r#"{"href": "catalog.xml", "include-controls": [{"matching": [{"pattern": "a*"}]}],
                "exclude-controls": [{"with-ids": ["ac-2"]}]}"#,
            r#", "merge": {"as-is": true}"#,
        ),
    )])
    .unwrap();
    assert_eq!(ids(&matching), ["ac-1", "ac-1.1", "au-1"], "the .xml href reads the .json beside it");
    assert_eq!(matching.groups.as_ref().map(Vec::len), Some(2));
}

#[test]
fn modify_sets_parameters_and_alters_controls() {
    let catalog = resolve(&[(
        "p.json",
        profile(
            r#"{"href": "catalog.json", "include-all": {}}"#,
            r#", "merge": {"as-is": true}, "modify": {
                "set-parameters": [{"param-id": "ac-1_prm_1", "values": ["annually"]}],
                "alters": [{"control-id": "ac-1",
                    "removes": [{"by-name": "guidance"}],
                    "adds": [{"position": "ending", "props": [{"name": "priority", "value": "P1"}]}]}]}"#,
        ),
    )])
    .unwrap();
    let ac1 = &catalog.groups.as_ref().unwrap()[0].controls.as_ref().unwrap()[0];
    assert_eq!(ac1.params.as_ref().unwrap()[0].values.as_deref(), Some(&["annually".to_owned()][..]));
    assert_eq!(ac1.parts.as_ref().unwrap().len(), 1, "the guidance is removed");
    assert_eq!(ac1.prop("priority"), Some("P1"));
}

#[test]
fn a_profile_of_a_profile_resolves_and_first_wins() {
    let catalog = resolve(&[
        (
            "outer.json",
            profile(
                r#"{"href": "sub/inner.json", "include-all": {}}, {"href": "catalog.json", "include-all": {}}"#,
                r#", "merge": {"combine": {}, "flat": {}}"#,
            ),
        ),
        ("sub/inner.json", profile(r#"{"href": "../catalog.json", "include-controls": [{"with-ids": ["au-1"]}]}"#, "")),
    ])
    .unwrap();
    assert_eq!(ids(&catalog), ["au-1", "ac-1", "ac-1.1", "ac-2"]);
}

#[test]
fn bad_imports_are_refused_with_a_clear_error() {
    let circular = resolve(&[
        ("a.json", profile(r#"{"href": "b.json", "include-all": {}}"#, "")),
        ("b.json", profile(r#"{"href": "a.json", "include-all": {}}"#, "")),
    ])
    .unwrap_err();
    assert_eq!(circular.code(), "unresolvable");
    assert!(circular.to_string().contains("circular import: a.json → b.json → a.json"), "{circular}");
    let myself = resolve(&[("a.json", profile(r#"{"href": "a.json", "include-all": {}}"#, ""))]).unwrap_err();
    assert!(myself.to_string().contains("circular import: a.json → a.json"), "{myself}");
    let missing = resolve(&[("a.json", profile(r#"{"href": "nowhere.json", "include-all": {}}"#, ""))]).unwrap_err();
    assert!(missing.to_string().contains("nowhere.json"), "{missing}");
    let network = resolve(&[("a.json", profile(r#"{"href": "https://example.com/c.json", "include-all": {}}"#, ""))])
        .unwrap_err();
    assert!(network.to_string().contains("never the network"), "{network}");
    let outside =
        resolve(&[("a.json", profile(r#"{"href": "../../etc/c.json", "include-all": {}}"#, ""))]).unwrap_err();
    assert!(outside.to_string().contains("only files in the profile's directory"), "{outside}");
    let resource = resolve(&[(
        "a.json",
        profile(r##"{"href": "#11111111-2222-4333-8444-555555555555", "include-all": {}}"##, ""),
    )])
    .unwrap_err();
    assert!(resource.to_string().contains("back-matter does not hold"), "{resource}");
}

#[test]
fn a_long_chain_of_profiles_is_refused() {
    let mut files: Vec<(String, String)> = (0..40)
        .map(|i| (format!("p{i}.json"), profile(&format!(r#"{{"href": "p{}.json", "include-all": {{}}}}"#, i + 1), "")))
        .collect();
    files.push(("p40.json".into(), CATALOG.into()));
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let error = resolve(&files).unwrap_err();
    assert!(error.to_string().contains("more than 32 deep"), "{error}");
}

#[test]
fn an_import_may_name_a_back_matter_resource() {
    let catalog = resolve(&[(
        "a.json",
        profile(
            r##"{"href": "#11111111-2222-4333-8444-555555555555", "include-all": {}}"##,
            r#", "back-matter": {"resources": [{"uuid": "11111111-2222-4333-8444-555555555555",
                "rlinks": [{"href": "catalog.json"}]}]}"#,
        ),
    )])
    .unwrap();
    assert_eq!(ids(&catalog).len(), 4);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

    /// Whatever a profile names and selects, resolution answers with a catalog or an error.
    #[test]
    fn any_import_resolves_or_is_refused(
        href in "(catalog\\.json|catalog\\.xml|\\.\\./x\\.json|/etc/passwd|https://h/c\\.json|#[0-9a-f-]{0,36}|p\\.json|[a-z./]{0,12})",
        ids in proptest::collection::vec("[a-z0-9.*?-]{0,6}", 0..4),
        children in proptest::option::of("(yes|no)"),
        merge in "(|, \"merge\": \\{\"as-is\": true\\}|, \"merge\": \\{\"flat\": \\{\\}\\})",
    ) {
        let mut fields = Vec::new();
        let quoted: Vec<String> = ids.iter().map(|i| format!("{i:?}")).collect();
        if !quoted.is_empty() {
            fields.push(format!(r#""with-ids": [{}]"#, quoted.join(", ")));
        }
        let patterns: Vec<String> =
            ids.iter().filter(|i| !i.is_empty()).map(|i| format!(r#"{{"pattern": {i:?}}}"#)).collect();
        if !patterns.is_empty() {
            fields.push(format!(r#""matching": [{}]"#, patterns.join(", ")));
        }
        if let Some(children) = children {
            fields.push(format!(r#""with-child-controls": "{children}""#));
        }
        let selector = format!("{{{}}}", fields.join(", "));
        let import = format!(r#"{{"href": {href:?}, "include-controls": [{selector}], "exclude-controls": [{{"with-ids": ["ac-2"]}}]}}"#);
        let _ = resolve(&[("p.json", profile(&import, &merge))]);
    }
}
