//! The binary embeds the data files converted to JSON by the build script: that conversion must
//! not change a single value of what the TOML files say.

use evident_catalog::{Catalog, Source};

macro_rules! toml_file {
    ($path:literal) => {
        Source { name: $path, text: include_str!(concat!("../../data/", $path)) }
    };
}

#[test]
fn the_embedded_catalog_is_exactly_what_the_toml_files_say() {
    let from_toml = Catalog::load(
        &[
            toml_file!("frameworks/iso27001-2022.toml"),
            toml_file!("frameworks/iso27001-2013.toml"),
            toml_file!("frameworks/soc2-2017.toml"),
            toml_file!("frameworks/gdpr-2016.toml"),
            toml_file!("frameworks/iso42001-2023.toml"),
            toml_file!("frameworks/nist-ai-rmf-1.0.toml"),
        ],
        &[
            toml_file!("crosswalks/soc2-2017--iso27001-2022.toml"),
            toml_file!("crosswalks/iso27001-2013--iso27001-2022.toml"),
            toml_file!("crosswalks/gdpr-2016--iso27001-2022.toml"),
            toml_file!("crosswalks/gdpr-2016--soc2-2017.toml"),
            toml_file!("crosswalks/iso42001-2023--iso27001-2022.toml"),
            toml_file!("crosswalks/nist-ai-rmf-1.0--iso42001-2023.toml"),
        ],
        toml_file!("baseline-controls.toml"),
        toml_file!("threats.toml"),
    )
    .unwrap();
    let embedded = Catalog::embedded().unwrap();
    assert_eq!(embedded.frameworks().count(), 6);
    assert!(!embedded.baseline().is_empty() && !embedded.crosswalks().is_empty());
    // Everything but the frameworks' lookup indexes, whose order is a hash map's.
    let content = |catalog: &Catalog| {
        let frameworks: Vec<_> = catalog.frameworks().map(|f| (f.info().clone(), f.requirements().to_vec())).collect();
        format!("{frameworks:#?}\n{:#?}\n{:#?}\n{:#?}", catalog.crosswalks(), catalog.baseline(), catalog.threats())
    };
    let (embedded, from_toml) = (content(embedded), content(&from_toml));
    let difference = embedded.lines().zip(from_toml.lines()).enumerate().find(|(_, (a, b))| a != b);
    assert_eq!(difference, None, "the first line that differs (embedded, TOML)");
    assert_eq!(embedded.lines().count(), from_toml.lines().count());
}
