//! The reader, the validator, the resolver and the converter never panic, whatever the bytes.
//!
//! The kept corpus (`tests/corpus/`) holds a catalog, a profile that imports it, and the inputs
//! that must be refused (`bad-*`: a profile importing itself, a remote or outside import, duplicate
//! ids, an unknown parameter, truncated JSON, wrong types). Each run checks every corpus file,
//! then damages the catalog and the profile at random; a failure proptest finds is kept in
//! `tests/it/fuzz.proptest-regressions` and run first from then on.

use evident_core::FrameworkId;
use evident_oscal::framework::to_framework;
use evident_oscal::resolve::resolve_file;
use evident_oscal::{Document, Limits, validate};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const SEED: &str = r##"{"catalog": {"uuid": "6b5e7f8a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
  "metadata": {"title": "Tiny", "last-modified": "2024-01-01T00:00:00Z", "version": "1", "oscal-version": "1.1.2"},
  "groups": [{"id": "ac", "title": "Access", "controls": [{"id": "ac-1", "title": "Policy",
    "params": [{"id": "ac-1_prm_1", "select": {"choice": ["{{ insert: param, ac-1_prm_1 }}"]}}],
    "parts": [{"id": "ac-1_smt", "name": "statement", "prose": "Every {{ insert: param, ac-1_prm_1 }} {{"}]}]}]}}"##;

fn check(bytes: &[u8]) {
    let limits = Limits { max_bytes: 1 << 20, max_depth: 100 };
    if let Ok(Document::Catalog(c)) = validate("fuzz.json", bytes, &limits) {
        let _ = to_framework(&c.catalog, FrameworkId::parse("org/fuzz:1").unwrap());
    }
}

fn corpus(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(name)
}

/// Kept beside this file (the test runs in the crate's directory).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/it/fuzz.proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

/// A profile's bytes written beside the corpus catalog, validated, then resolved.
fn check_profile(bytes: &[u8]) {
    let limits = Limits { max_bytes: 1 << 20, max_depth: 100 };
    let _ = validate("fuzz.json", bytes, &limits);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(corpus("catalog.json"), dir.path().join("catalog.json")).unwrap();
    let profile = dir.path().join("profile.json");
    std::fs::write(&profile, bytes).unwrap();
    let _ = resolve_file(&profile, &limits);
}

#[test]
fn the_corpus_resolves_or_is_refused_as_its_names_say() {
    let limits = Limits::default();
    let resolved = resolve_file(&corpus("profile.json"), &limits).unwrap();
    let ids: Vec<&str> = resolved.catalog.catalog.groups.as_ref().unwrap()[0]
        .controls
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, ["ac-1"], "ac-2 excluded; ac-1.1 nested under ac-1");
    let mut checked = 0;
    for entry in std::fs::read_dir(corpus("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let outcome =
            validate(&name, &bytes, &limits).map(|_| ()).and_then(|()| resolve_file(&path, &limits).map(|_| ()));
        assert_eq!(outcome.is_err(), name.starts_with("bad-"), "{name}: {outcome:?}");
        checked += 1;
    }
    assert!(checked >= 9, "{checked} corpus files");
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_profile_damaged_anywhere_never_panics(at in 0usize..2000, cut in 0usize..40, insert in "[\\[\\]{}\",:a-z0-9 .#/-]{0,12}") {
        let mut bytes = std::fs::read(corpus("profile.json")).unwrap();
        let at = at.min(bytes.len());
        let end = (at + cut).min(bytes.len());
        bytes.splice(at..end, insert.bytes());
        check_profile(&bytes);
    }

    #[test]
    fn a_profile_importing_any_href_never_panics(href in "(\\.\\./|/|#|https?://|file:|[a-z.]|catalog\\.json|profile\\.json|%2e){0,8}") {
        let text = std::fs::read_to_string(corpus("profile.json")).unwrap();
        check_profile(text.replace("\"href\": \"catalog.json\"", &format!("\"href\": {}", serde_json::json!(href))).as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn a_catalog_damaged_anywhere_never_panics(at in 0..SEED.len(), cut in 0usize..40, insert in "[\\[\\]{}\",:a-z0-9 ]{0,12}") {
        let mut bytes = SEED.as_bytes().to_vec();
        let end = (at + cut).min(bytes.len());
        bytes.splice(at..end, insert.bytes());
        check(&bytes);
    }

    #[test]
    fn prose_with_any_text_never_panics(prose in "(\\{\\{|\\}\\}|insert:|param,|ac-1_prm_1| |[a-z])*") {
        let text = SEED.replace("Every {{ insert: param, ac-1_prm_1 }} {{", &prose.replace('"', ""));
        check(text.as_bytes());
    }
}

#[test]
fn the_unmodified_seed_is_a_catalog_whose_self_inserting_parameter_terminates() {
    let document = validate("seed.json", SEED.as_bytes(), &Limits::default()).unwrap();
    let Document::Catalog(c) = document else { panic!("a catalog") };
    let converted = to_framework(&c.catalog, FrameworkId::parse("org/fuzz:1").unwrap()).unwrap();
    assert!(converted.data.requirements[1].description.contains("[Selection:"), "{:?}", converted.data.requirements[1]);
}
