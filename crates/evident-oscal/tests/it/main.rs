#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod framework;
mod fuzz;
mod resolve;
mod revision;
mod suite;
mod validate;

use std::path::PathBuf;

/// NIST's reference material, vendored in the repository (`reference/oscal`, a copy of the
/// shared reference folder's), so the tests run from a clean clone.
pub fn reference(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../reference/oscal").join(relative)
}

pub const SP800_53: &str = "sp800-53-rev5/v1.0.0";

pub fn read(relative: &str) -> Vec<u8> {
    std::fs::read(reference(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Every vendored file, compared with the shared reference folder's when it is beside the
/// repository: the copy never drifts from what it copies.
#[test]
fn the_vendored_oscal_files_match_the_shared_ones() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/oscal");
    if !shared.is_dir() {
        eprintln!("no shared reference folder beside the repository; the vendored copy is used as is");
        return;
    }
    let mut stack = vec![reference("")];
    let mut compared = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(reference("")).unwrap();
            let theirs = std::fs::read(shared.join(relative)).unwrap_or_else(|e| panic!("{}: {e}", relative.display()));
            assert!(std::fs::read(&path).unwrap() == theirs, "{} differs from the shared copy", relative.display());
            compared += 1;
        }
    }
    assert!(compared > 10, "only {compared} files compared");
}
