//! Killed at any moment (SIGKILL, no chance to clean up), evident leaves all or nothing: the next
//! run completes the demo, an import either landed whole or not at all, and the log verifies.

use std::time::Duration;

use crate::support::Evident;

/// Delays spread over a command's run, the same on every machine (a small linear congruential walk).
fn moments(count: usize, max_ms: u64) -> Vec<Duration> {
    let mut x: u64 = 12_345;
    (0..count)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            Duration::from_millis((x >> 33) % max_ms)
        })
        .collect()
}

fn killed(evident: &Evident, args: &[&str], after: Duration) {
    let mut child = evident.spawn(args);
    std::thread::sleep(after);
    let _ = child.kill();
    child.wait().unwrap();
}

/// The demo's figures when it is all there: controls, risks, approved SoA versions.
fn demo_counts(evident: &Evident) -> (usize, usize, usize) {
    let count = |args: &[&str]| evident.ok(args).json().as_array().unwrap().len();
    (count(&["controls", "list", "--json"]), count(&["risks", "list", "--json"]), count(&["soa", "versions", "--json"]))
}

#[test]
fn a_demo_killed_at_any_moment_leaves_nothing_or_the_whole_organisation() {
    for evident in Evident::every_backend() {
        for after in moments(12, 400) {
            killed(&evident, &["demo"], after);
            let listed = evident.run(&["orgs", "list", "--json"]);
            if listed.code == 0 && !listed.json().as_array().unwrap().is_empty() {
                assert_eq!(demo_counts(&evident), (126, 23, 1), "{}: a demo is whole or absent", evident.name());
            }
        }
        evident.ok(&["demo"]);
        assert_eq!(demo_counts(&evident), (126, 23, 1), "{}: the demo is complete, once", evident.name());
        evident.ok(&["verify"]);
    }
}

#[test]
fn an_import_killed_at_any_moment_lands_whole_or_not_at_all() {
    let evident = Evident::sqlite();
    evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    let file = evident.dir.path().join("controls.csv");
    let mut csv = String::from("code,title,frequency,status,framework,requirement,coverage,rationale\n");
    for i in 0..3000 {
        csv.push_str(&format!(
            "C-{i:04},Control {i},monthly,implemented,iso27001:2022,A.5.1,partial,Sets policy {i}.\n"
        ));
    }
    std::fs::write(&file, csv).unwrap();
    let import = ["controls", "import", file.to_str().unwrap()];
    for after in moments(8, 600) {
        killed(&evident, &import, after);
        let count = evident.ok(&["controls", "list", "--json"]).json().as_array().unwrap().len();
        assert!(count == 0 || count == 3000, "all or nothing, found {count} controls");
        evident.ok(&["verify"]);
    }
    evident.ok(&import);
    assert_eq!(evident.ok(&["controls", "list", "--json"]).json().as_array().unwrap().len(), 3000);
}
