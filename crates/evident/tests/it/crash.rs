//! Killed at any moment (SIGKILL, no chance to clean up), evident leaves all or nothing: the next
//! run completes the demo, an import either landed whole or not at all, an evidence import never
//! leaves a record without its bytes, and the log verifies.

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

/// Runs a command and kills it after `after` unless it finished first; whether it finished and
/// reported success (acknowledged what it did).
fn killed(evident: &Evident, args: &[&str], after: Duration) -> bool {
    let mut child = evident.spawn(args);
    std::thread::sleep(after);
    if let Some(status) = child.try_wait().unwrap() {
        return status.success();
    }
    let _ = child.kill();
    child.wait().unwrap();
    false
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
                assert_eq!(demo_counts(&evident), (137, 23, 1), "{}: a demo is whole or absent", evident.name());
            }
        }
        evident.ok(&["demo"]);
        assert_eq!(demo_counts(&evident), (137, 23, 1), "{}: the demo is complete, once", evident.name());
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

/// Pseudo-random bytes, different for every `seed` (the same LCG walk as `moments`).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

#[test]
fn an_evidence_import_killed_at_any_moment_records_all_or_nothing_and_never_a_missing_byte() {
    for evident in Evident::every_backend() {
        evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
        evident.ok(&["controls", "adopt-baseline", "--only", "IAM-01,GOV-01"]);
        // 200 files of 1 KB to 400 KB (about 6 MB), and their manifest.
        let dir = evident.dir.path().join("evidence-to-import");
        std::fs::create_dir(&dir).unwrap();
        let effective = (chrono::Utc::now().date_naive() - chrono::Duration::days(3)).to_string();
        let mut manifest = String::from("file,controls,effective,description\n");
        let mut sources = std::collections::HashMap::new();
        for i in 0..200u64 {
            let len = if i % 20 == 7 { 100_000 + (i * 7_919) % 300_000 } else { 1_000 + (i * 4_513) % 39_000 };
            let name = format!("export-{i:03}.bin");
            let bytes = noise(i, len as usize);
            std::fs::write(dir.join(&name), &bytes).unwrap();
            manifest.push_str(&format!("{name},IAM-01;GOV-01,{effective},nightly export {i}\n"));
            sources.insert(name, bytes);
        }
        let manifest_path = evident.dir.path().join("manifest.csv");
        std::fs::write(&manifest_path, manifest).unwrap();
        let import = ["evidence", "import", dir.to_str().unwrap(), "--manifest", manifest_path.to_str().unwrap()];
        let blobs = evident.data_dir.join("evidence").join("sha256");

        let mut landed: Option<serde_json::Value> = None;
        for after in moments(10, 2_000) {
            let acknowledged = killed(&evident, &import, after);
            let listed = evident.ok(&["evidence", "list", "--all", "--json"]).json();
            let records = listed.as_array().unwrap();
            assert!(
                records.is_empty() || records.len() == 200,
                "{}: one transaction, all or nothing; found {} records",
                evident.name(),
                records.len()
            );
            assert!(!acknowledged || records.len() == 200, "{}: the import said it was done", evident.name());
            // No record points at missing or different bytes (read straight from the store).
            for record in records {
                let digest = record["digest"].as_str().unwrap();
                let stored = std::fs::read(blobs.join(&digest[..2]).join(digest)).unwrap_or_default();
                assert!(
                    stored == sources[record["file_name"].as_str().unwrap()],
                    "{}: {record} has its bytes",
                    evident.name()
                );
            }
            match &landed {
                // The first time they are there, every record's file comes back through the CLI.
                None if !records.is_empty() => {
                    for record in records {
                        let out = evident.dir.path().join("got.bin");
                        evident.ok(&["evidence", "get", record["id"].as_str().unwrap(), "-o", out.to_str().unwrap()]);
                        assert!(
                            std::fs::read(&out).unwrap() == sources[record["file_name"].as_str().unwrap()],
                            "{}: {record} comes back as imported",
                            evident.name()
                        );
                    }
                    landed = Some(listed);
                }
                // Afterwards a killed re-import changes nothing that was recorded.
                Some(before) => assert_eq!(&listed, before, "{}: recorded evidence never changes", evident.name()),
                None => {}
            }
            evident.ok(&["verify"]);
        }
        let report = evident.ok(&[&import[..], &["--json"]].concat()).json();
        let recorded = report["recorded"].as_u64().unwrap() + report["unchanged"].as_u64().unwrap();
        assert_eq!(recorded, 200, "{}: the next run completes: {report}", evident.name());
        assert_eq!(evident.ok(&["evidence", "list", "--json"]).json().as_array().unwrap().len(), 200);
        evident.ok(&["verify"]);
    }
}
