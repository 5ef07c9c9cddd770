//! OSCAL imports through the use cases: an uploaded catalog lands once, a profile upload is
//! refused (its imports name files), a bad one writes nothing.

use evident_app::Code;
use evident_app::oscal::Limits;

use crate::support::{Backend, code, code_of, email, fw, head, req, slug, small_org, spawn};

const CATALOG: &str = r##"{"catalog": {
  "uuid": "6b5e7f8a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
  "metadata": {"title": "Tiny", "last-modified": "2024-01-01T00:00:00Z", "version": "1", "oscal-version": "1.1.2"},
  "groups": [{"id": "ac", "title": "Access", "controls": [
    {"id": "ac-1", "title": "Policy", "props": [{"name": "label", "value": "AC-1"}],
     "parts": [{"id": "ac-1_smt", "name": "statement", "prose": "Have a policy."}],
     "controls": [{"id": "ac-1.1", "class": "SP800-53-enhancement", "title": "Reviewed", "props": [{"name": "label", "value": "AC-1(1)"}]}]}]}]
}}"##;

async fn uploads_land_once_and_bad_ones_write_nothing(backend: Backend) {
    let Some(test) = spawn(backend).await else { return };
    let app = &test.app;
    let op = small_org(app, &slug("acme"), &email(crate::support::OWNER)).await;
    let limits = Limits::default();
    let first = app.import_oscal_catalog_bytes(&op, "tiny.json", CATALOG.as_bytes(), Some(fw("org/tiny:1")), &limits);
    let first = first.await.unwrap();
    assert_eq!((first.import.requirements, first.import.assessable, first.import.created), (3, 2, true));
    let before = head(app, &op).await;
    let again = app.import_oscal_catalog_bytes(&op, "tiny.json", CATALOG.as_bytes(), Some(fw("org/tiny:1")), &limits);
    assert!(!again.await.unwrap().import.created, "the same catalog again changes nothing");
    let profile = r#"{"profile": {"uuid": "7b5e7f8a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
        "metadata": {"title": "P", "last-modified": "2024-01-01T00:00:00Z", "version": "1", "oscal-version": "1.1.2"},
        "imports": [{"href": "tiny.json", "include-all": {}}]}}"#;
    let refused = app.import_oscal_catalog_bytes(&op, "p.json", profile.as_bytes(), None, &limits).await;
    assert_eq!(code_of(&refused), Some(Code::InvalidFile));
    let broken = CATALOG.replace(r#""title": "Reviewed", "#, "");
    let refused =
        app.import_oscal_catalog_bytes(&op, "bad.json", broken.as_bytes(), Some(fw("org/bad:1")), &limits).await;
    assert_eq!(code_of(&refused), Some(Code::OscalInvalid));
    let other = CATALOG.replace("Have a policy.", "Have two policies.");
    let taken =
        app.import_oscal_catalog_bytes(&op, "tiny.json", other.as_bytes(), Some(fw("org/tiny:1")), &limits).await;
    assert_eq!(code_of(&taken), Some(Code::AlreadyExists), "a new revision is a new id");
    assert_eq!(head(app, &op).await, before, "nothing refused wrote an audit record");
}

/// NIST's SP 800-53 rev5 catalog, vendored in the repository.
fn sp800_53() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../reference/oscal/sp800-53-rev5/v1.0.0/NIST_SP-800-53_rev5_catalog.json")
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

/// The document without the one field that says when it was exported.
fn undated(mut document: serde_json::Value) -> serde_json::Value {
    let root = document.as_object_mut().unwrap().values_mut().next().unwrap();
    root["metadata"].as_object_mut().unwrap().remove("last-modified").unwrap();
    document
}

async fn the_demo_exports_valid_ssp_ar_and_poam_that_diff_cleanly(backend: Backend) {
    use evident_app::oscal::ExportKind;
    let Some(test) = spawn(backend).await else { return };
    let app = &test.app;
    app.demo().await.unwrap();
    let op = app.operator(None, "exporter", None).await.unwrap();
    let iso = fw(crate::support::ISO);
    let export = |app: evident_app::App, kind| {
        let op = op.clone();
        let iso = iso.clone();
        async move { app.export_oscal(&op, kind, &iso, "ssp.json").await.unwrap() }
    };
    let (ssp, ssp_counts) = export(app.clone(), ExportKind::Ssp).await;
    let (ar, ar_counts) = export(app.clone(), ExportKind::AssessmentResults).await;
    let (poam, poam_counts) = export(app.clone(), ExportKind::Poam).await;

    // Every file is valid OSCAL 1.2.1 (NIST's schema and every reference) as evident reads it.
    for (bytes, model) in [
        (&ssp, evident_oscal::Model::SystemSecurityPlan),
        (&ar, evident_oscal::Model::AssessmentResults),
        (&poam, evident_oscal::Model::PlanOfActionAndMilestones),
    ] {
        let document = evident_oscal::validate("export.json", bytes, &Limits::default()).unwrap();
        assert_eq!(document.model(), model);
    }

    // What they hold is what readiness and the records say.
    let readiness = app.readiness(&op, Some(&iso)).await.unwrap().frameworks.remove(0);
    let unmet = readiness.score.partial + readiness.score.missing;
    assert!(unmet > 0 && ssp_counts.implemented_requirements > 0 && ar_counts.observations > 0);
    assert_eq!(ar_counts.findings, unmet, "a finding per requirement not met");
    assert_eq!(poam_counts.poam_items, unmet, "a POA&M item per requirement not met");
    let ssp_json = json(&ssp);
    let implemented =
        ssp_json.pointer("/system-security-plan/control-implementation/implemented-requirements").unwrap();
    assert_eq!(implemented.as_array().unwrap().len(), ssp_counts.implemented_requirements);
    // ISO clause 4.1 is no OSCAL token: it is written `_4.1`.
    let ids: Vec<&str> = implemented.as_array().unwrap().iter().map(|r| r["control-id"].as_str().unwrap()).collect();
    assert!(ids.iter().any(|id| id.starts_with("_4.")), "{ids:?}");
    assert!(ids.iter().any(|id| id.starts_with("A.")), "{ids:?}");

    // The POA&M names the SSP and its system; it does not copy it.
    let poam_json = json(&poam);
    let plan = &poam_json["plan-of-action-and-milestones"];
    assert_eq!(plan["import-ssp"]["href"], "ssp.json");
    assert_eq!(
        plan["system-id"]["id"],
        ssp_json["system-security-plan"]["system-characteristics"]["system-ids"][0]["id"]
    );
    assert!(!String::from_utf8_lossy(&poam).contains("system-characteristics"));

    // A second export, a day later, differs only in its last-modified.
    let later = app.clone().with_clock(std::sync::Arc::new(|| crate::support::now() + chrono::Duration::days(1)));
    for (kind, first) in [(ExportKind::Ssp, &ssp), (ExportKind::AssessmentResults, &ar), (ExportKind::Poam, &poam)] {
        let (second, _) = export(later.clone(), kind).await;
        let (first, second) = (json(first), json(&second));
        assert_ne!(first, second, "{kind:?}: the export time is written");
        assert_eq!(undated(first), undated(second), "{kind:?}: nothing else differs");
    }

    // Only an adopted framework is exported.
    let refused = app.export_oscal(&op, ExportKind::Ssp, &fw("gdpr:2016"), "ssp.json").await;
    assert!(matches!(code_of(&refused), Some(Code::FrameworkNotAdopted | Code::FrameworkNotFound)), "{refused:?}");
}

async fn a_new_revision_is_diffed_and_carries_the_mappings_over(backend: Backend) {
    use evident_app::oscal::RevisionOptions;
    let Some(test) = spawn(backend).await else { return };
    let app = &test.app;
    let op = small_org(app, &slug("acme"), &email(crate::support::OWNER)).await;
    let limits = Limits::default();
    let old = fw("oscal/sp800-53:5.0.1");
    let first = app.import_oscal_catalog(&op, &sp800_53(), Some(old.clone()), &limits).await.unwrap();
    assert!(first.import.created && first.revision.is_none());
    // The same file again: idempotent, not a revision of itself.
    let before = head(app, &op).await;
    let again = app.import_oscal_catalog(&op, &sp800_53(), Some(old.clone()), &limits).await.unwrap();
    assert!(!again.import.created && again.revision.is_none());
    assert_eq!(head(app, &op).await, before, "importing the same version twice writes nothing");

    for (control, requirement) in
        [("MINE-01", "ac-5"), ("MINE-01", "ac-6.1"), ("THEIRS-01", "ac-7"), ("THEIRS-01", "ac-2")]
    {
        app.map_control(&op, &code(control), &old, &req(requirement), evident_core::Coverage::Full, "Does it.")
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let next = dir.path().join("next.json");
    std::fs::write(&next, next_revision()).unwrap();
    let new = fw("oscal/sp800-53:5.0.2");
    let options = RevisionOptions { previous: None, carry_mappings: true };
    let report = app.import_oscal_revision(&op, &next, Some(new.clone()), &options, &limits).await.unwrap();
    let diff = report.revision.as_ref().expect("the earlier revision is found by namespace and name");
    assert_eq!(diff.from, old);
    assert_eq!(diff.removed.len(), 2);
    let carried = report.carried.as_ref().unwrap();
    assert_eq!(carried.mapped, 3, "{carried:?}");
    assert_eq!(carried.not_carried.len(), 1, "{carried:?}");
    assert_eq!(carried.not_carried[0].requirement.as_str(), "ac-5");

    let mut pairs: Vec<(String, String)> = app
        .controls(&op, false)
        .await
        .unwrap()
        .iter()
        .flat_map(|c| {
            c.mappings
                .iter()
                .filter(|m| m.framework == new)
                .map(|m| (c.control.code.to_string(), m.requirement.to_string()))
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [("MINE-01".into(), "ac-6".into()), ("THEIRS-01".into(), "ac-2".into()), ("THEIRS-01".into(), "ac-7".into())]
    );
    // No orphan: readiness finds every mapping on an assessed requirement.
    app.adopt(&op, &new, &[], "Acme".into(), None).await.unwrap();
    assert!(app.readiness(&op, None).await.unwrap().stale_mappings.is_empty());

    // Run again: the framework and its mappings are there already; nothing is written.
    let before = head(app, &op).await;
    let again = app.import_oscal_revision(&op, &next, Some(new.clone()), &options, &limits).await.unwrap();
    assert!(!again.import.created);
    assert_eq!((again.carried.as_ref().unwrap().mapped, again.carried.as_ref().unwrap().already), (0, 3));
    assert_eq!(head(app, &op).await, before);
}

on_each_backend!(
    uploads_land_once_and_bad_ones_write_nothing,
    the_demo_exports_valid_ssp_ar_and_poam_that_diff_cleanly,
    a_new_revision_is_diffed_and_carries_the_mappings_over,
);

/// NIST's catalog with: ac-5 removed, ac-6.1 withdrawn into ac-6, ac-8's title changed, ac-7 moved
/// to the ia family; version 5.0.2 (as `evident-oscal`'s revision test derives it).
fn next_revision() -> Vec<u8> {
    use serde_json::{Value, json};
    let mut next: Value = serde_json::from_slice(&std::fs::read(sp800_53()).unwrap()).unwrap();
    next["catalog"]["metadata"]["version"] = json!("5.0.2");
    let groups = next["catalog"]["groups"].as_array_mut().unwrap();
    let ac = groups.iter_mut().find(|g| g["id"] == "ac").unwrap();
    let controls = ac["controls"].as_array_mut().unwrap();
    controls.retain(|c| c["id"] != "ac-5");
    let ac7 = controls.remove(controls.iter().position(|c| c["id"] == "ac-7").unwrap());
    let ac8 = controls.iter_mut().find(|c| c["id"] == "ac-8").unwrap();
    ac8["title"] = json!("System Use Notice");
    let ac6 = controls.iter_mut().find(|c| c["id"] == "ac-6").unwrap();
    let ac6_1 = ac6["controls"].as_array_mut().unwrap().iter_mut().find(|c| c["id"] == "ac-6.1").unwrap();
    ac6_1["props"] = json!([{"name": "label", "value": "AC-6(1)"}, {"name": "status", "value": "withdrawn"}]);
    ac6_1["links"] = json!([{"href": "#ac-6", "rel": "incorporated-into"}]);
    let ia = groups.iter_mut().find(|g| g["id"] == "ia").unwrap();
    ia["controls"].as_array_mut().unwrap().push(ac7);
    serde_json::to_vec(&next).unwrap()
}
