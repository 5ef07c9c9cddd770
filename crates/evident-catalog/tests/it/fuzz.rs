//! The loader never panics on broken files: it loads, or names the file and the problem.

use evident_catalog::{Catalog, Source};
use proptest::prelude::*;

const SOC2: &str = include_str!("../../data/frameworks/soc2-2017.toml");
const EMPTY_BASELINE: &str = "controls = []\n";
const EMPTY_THREATS: &str = "threats = []\nvulnerabilities = []\n";

fn load(framework: &str) -> Result<Catalog, evident_catalog::CatalogError> {
    Catalog::load(
        &[Source { name: "frameworks/fuzzed.toml", text: framework }],
        &[],
        Source { name: "baseline-controls.toml", text: EMPTY_BASELINE },
        Source { name: "threats.toml", text: EMPTY_THREATS },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_is_refused_with_the_file_named(text in "\\PC{0,400}") {
        if let Err(error) = load(&text) {
            prop_assert_eq!(error.file, "frameworks/fuzzed.toml");
            prop_assert!(!error.problem.is_empty());
        }
    }

    #[test]
    fn a_mutated_real_file_loads_or_is_refused_with_its_place(
        line in 0usize..2_000,
        action in 0u8..4,
        junk in "[a-z=\\[\\]\"\\.A-Z0-9 ]{0,12}",
    ) {
        let mut lines: Vec<String> = SOC2.lines().map(str::to_owned).collect();
        let at = line % lines.len();
        match action {
            0 => { lines.remove(at); }
            1 => { let copy = lines[at].clone(); lines.insert(at, copy); }
            2 => lines[at].push_str(&junk),
            _ => lines[at] = junk.clone(),
        }
        match load(&lines.join("\n")) {
            Ok(catalog) => prop_assert_eq!(catalog.frameworks().count(), 1),
            Err(error) => prop_assert_eq!(error.file, "frameworks/fuzzed.toml"),
        }
    }
}
