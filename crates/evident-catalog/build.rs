//! Converts the catalog's TOML data files to JSON at build time: the binary embeds the JSON, which
//! parses an order of magnitude faster than TOML, and every command loads the catalog at start.
//! The TOML files stay the source; a syntax error in one fails the build, naming the file.

use std::path::Path;

fn main() {
    let data = Path::new("data");
    println!("cargo::rerun-if-changed=data");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    for name in [
        "frameworks/iso27001-2022.toml",
        "frameworks/iso27001-2013.toml",
        "frameworks/soc2-2017.toml",
        "frameworks/gdpr-2016.toml",
        "frameworks/iso42001-2023.toml",
        "frameworks/nist-ai-rmf-1.0.toml",
        "crosswalks/soc2-2017--iso27001-2022.toml",
        "crosswalks/iso27001-2013--iso27001-2022.toml",
        "crosswalks/gdpr-2016--iso27001-2022.toml",
        "crosswalks/gdpr-2016--soc2-2017.toml",
        "crosswalks/iso42001-2023--iso27001-2022.toml",
        "crosswalks/nist-ai-rmf-1.0--iso42001-2023.toml",
        "baseline-controls.toml",
        "threats.toml",
    ] {
        let text = std::fs::read_to_string(data.join(name)).unwrap_or_else(|e| panic!("data/{name}: {e}"));
        let value: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("data/{name}: {e}"));
        let json = serde_json::to_string(&value).unwrap_or_else(|e| panic!("data/{name}: {e}"));
        let target = Path::new(&out).join(name).with_extension("json");
        std::fs::create_dir_all(target.parent().expect("a file in a folder")).expect("OUT_DIR is writable");
        std::fs::write(&target, json).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
    }
}
