#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod framework;
mod fuzz;
mod resolve;
mod suite;
mod validate;

use std::path::PathBuf;

/// NIST's reference material, beside the repository (`../shared/reference/oscal`).
pub fn reference(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/oscal").join(relative)
}

pub const SP800_53: &str = "sp800-53-rev5/v1.0.0";

pub fn read(relative: &str) -> Vec<u8> {
    std::fs::read(reference(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}
