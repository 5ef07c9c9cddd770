//! OSCAL imports through the use cases: an uploaded catalog lands once, a profile upload is
//! refused (its imports name files), a bad one writes nothing.

use evident_app::Code;
use evident_app::oscal::Limits;

use crate::support::{Backend, code_of, email, fw, head, slug, small_org, spawn};

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

on_each_backend!(uploads_land_once_and_bad_ones_write_nothing);
