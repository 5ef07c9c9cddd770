//! Times loading + validating NIST's SP 800-53 rev5 catalog and resolving its MODERATE baseline:
//! `cargo run --release -p evident-oscal --example timing -- DIR` (DIR holds NIST's JSON files).

use std::path::PathBuf;
use std::time::Instant;

use evident_oscal::resolve::resolve_file;
use evident_oscal::{Limits, read::read_file, validate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "reference/oscal/sp800-53-rev5/v1.0.0".into()));
    let limits = Limits::default();
    let catalog = dir.join("NIST_SP-800-53_rev5_catalog.json");
    // The first call compiles the embedded schema; it is timed apart.
    let start = Instant::now();
    validate("warm-up", br#"{"catalog": {}}"#, &limits).ok();
    println!("schema compile: {:?}", start.elapsed());
    for _ in 0..3 {
        let start = Instant::now();
        let bytes = read_file(&catalog, &limits)?;
        validate(&catalog.display().to_string(), &bytes, &limits)?;
        println!("load + validate SP 800-53 rev5 catalog: {:?}", start.elapsed());
    }
    for _ in 0..3 {
        let start = Instant::now();
        let resolved = resolve_file(&dir.join("NIST_SP-800-53_rev5_MODERATE-baseline_profile.json"), &limits)?;
        println!(
            "resolve MODERATE (validating profile and catalog): {:?} ({} warnings)",
            start.elapsed(),
            resolved.warnings.len()
        );
    }
    Ok(())
}
