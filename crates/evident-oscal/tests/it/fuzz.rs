//! The reader, the validator and the converter never panic, whatever the bytes.

use evident_core::FrameworkId;
use evident_oscal::framework::to_framework;
use evident_oscal::{Document, Limits, validate};
use proptest::prelude::*;

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

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
