//! Evidence through the CLI: files added and imported come back byte for byte, stored once;
//! corrections keep the record; hostile manifests and inputs are named and write nothing; the
//! demo's year of evidence drives freshness, readiness and the Type 2 window; the same on S3.

use std::path::{Path, PathBuf};

use chrono::{Duration, Months, NaiveDate, Utc};
use evident_core::Sha256Digest;
use evident_evidence::testkit::{Moto, SECRET_ACCESS_KEY, files_under};
use serde_json::Value;

use crate::support::Evident;

/// A day that is in the past for the binary too, whatever the time of day.
fn days_ago(days: i64) -> NaiveDate {
    Utc::now().date_naive() - Duration::days(days)
}

fn sha256(bytes: &[u8]) -> String {
    Sha256Digest::of(bytes).as_str().to_owned()
}

/// An organisation with two controls to attach evidence to.
fn organisation(evident: &Evident) {
    evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    evident.ok(&["controls", "adopt-baseline", "--only", "IAM-01,GOV-01"]);
}

/// Every record, superseded ones too.
fn records(evident: &Evident) -> Vec<Value> {
    evident.ok(&["evidence", "list", "--all", "--json"]).json().as_array().unwrap().clone()
}

/// A date before the earliest evidence an organisation created today can hold (three years
/// back), and that earliest date.
fn before_the_records_can_go_back() -> (NaiveDate, NaiveDate) {
    let earliest = Utc::now().date_naive().checked_sub_months(Months::new(36)).unwrap();
    (earliest - Duration::days(10), earliest)
}

/// The files the local evidence store holds (blobs and anything staged).
fn stored_files(evident: &Evident) -> Vec<PathBuf> {
    files_under(&evident.data_dir.join("evidence"))
}

fn blob_files(evident: &Evident) -> usize {
    files_under(&evident.data_dir.join("evidence").join("sha256")).len()
}

/// How many audit records the organisation's log holds.
fn audit_records(evident: &Evident) -> u64 {
    evident.ok(&["verify", "--json"]).json()[0]["records"].as_u64().unwrap()
}

fn add(evident: &Evident, file: &Path, control: &str, effective: NaiveDate) -> Value {
    let effective = effective.to_string();
    let args = ["evidence", "add", file.to_str().unwrap(), "--control", control, "--effective", &effective, "--json"];
    evident.ok(&args).json()
}

/// The bytes `evidence get` writes for a record.
fn get(evident: &Evident, id: &str) -> Vec<u8> {
    let out = evident.dir.path().join(format!("got-{id}"));
    evident.ok(&["evidence", "get", id, "-o", out.to_str().unwrap()]);
    let bytes = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    bytes
}

fn id(record: &Value) -> &str {
    record["id"].as_str().unwrap()
}

#[test]
fn added_evidence_comes_back_byte_for_byte_and_identical_bytes_are_stored_once() {
    for evident in Evident::every_backend() {
        organisation(&evident);
        let every_byte: Vec<u8> = (0..=255u8).cycle().take(256 * 64 + 7).collect();
        let binary = evident.dir.path().join("all-bytes.bin");
        std::fs::write(&binary, &every_byte).unwrap();
        let added = add(&evident, &binary, "IAM-01", days_ago(3));
        assert_eq!(get(&evident, id(&added)), every_byte, "{}: the bytes come back exactly", evident.name());

        // The media type comes from the bytes: a PDF named .txt is a PDF.
        let pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
        let named_txt = evident.dir.path().join("access-review.txt");
        std::fs::write(&named_txt, pdf).unwrap();
        let review = add(&evident, &named_txt, "GOV-01", days_ago(10));
        let shown = evident.ok(&["evidence", "show", id(&review), "--json"]).json();
        assert_eq!(shown["digest"], sha256(pdf), "{}: {shown}", evident.name());
        assert_eq!(shown["size"], pdf.len());
        assert_eq!(shown["media_type"], "application/pdf");
        assert_eq!(shown["file_name"], "access-review.txt");
        assert_eq!(shown["effective"], days_ago(10).to_string());
        assert_eq!(shown["controls"], serde_json::json!(["GOV-01"]));
        assert_eq!(blob_files(&evident), 2);

        // The same bytes again, under another name and for another control: a second record,
        // the same single blob on disk, and both records give the bytes back.
        let copy = evident.dir.path().join("copy-of-all-bytes.bin");
        std::fs::write(&copy, &every_byte).unwrap();
        let again = add(&evident, &copy, "GOV-01", days_ago(2));
        assert_ne!(id(&again), id(&added));
        assert_eq!(again["digest"], added["digest"]);
        assert_eq!(blob_files(&evident), 2, "{}: identical bytes are stored once", evident.name());
        assert_eq!(records(&evident).len(), 3, "{}: but recorded twice", evident.name());
        assert_eq!(get(&evident, id(&again)), every_byte);
        assert_eq!(get(&evident, id(&added)), every_byte);
        evident.ok(&["verify"]);
    }
}

#[test]
fn a_superseded_record_stays_on_record_but_no_longer_counts_and_is_superseded_once() {
    for evident in Evident::every_backend() {
        organisation(&evident);
        let old_file = evident.dir.path().join("review-draft.csv");
        std::fs::write(&old_file, "user,reviewed\nada,yes\n").unwrap();
        let old = add(&evident, &old_file, "IAM-01", days_ago(40));
        let iam = |evident: &Evident| {
            let report = evident.ok(&["freshness", "--json"]).json();
            report["controls"].as_array().unwrap().iter().find(|c| c["code"] == "IAM-01").unwrap().clone()
        };
        assert_eq!(iam(&evident)["last_effective"], days_ago(40).to_string());

        let new_file = evident.dir.path().join("review-final.csv");
        std::fs::write(&new_file, "user,reviewed\nada,yes\nbob,yes\n").unwrap();
        let effective = days_ago(5).to_string();
        let new = evident
            .ok(&["evidence", "supersede", id(&old), new_file.to_str().unwrap(), "--effective", &effective, "--json"])
            .json();
        assert_eq!(new["supersedes"], old["id"]);
        assert_eq!(new["controls"], serde_json::json!(["IAM-01"]), "the old record's controls carry over");

        let current: Vec<Value> = evident.ok(&["evidence", "list", "--json"]).json().as_array().unwrap().clone();
        assert_eq!(current.iter().map(id).collect::<Vec<_>>(), [id(&new)], "{}: list hides it", evident.name());
        let all = records(&evident);
        let kept = all.iter().find(|r| r["id"] == old["id"]).expect("the superseded record stays on record");
        assert_eq!(kept["superseded_by"], new["id"]);
        assert_eq!(kept["digest"], old["digest"]);
        assert_eq!(get(&evident, id(&old)), b"user,reviewed\nada,yes\n", "its bytes stay too");
        let fresh = iam(&evident);
        assert_eq!(fresh["last_effective"], effective, "{}: freshness takes the new one", evident.name());
        assert_eq!(fresh["evidence"], new["id"]);

        let blobs = blob_files(&evident);
        let third = evident.dir.path().join("review-third.csv");
        std::fs::write(&third, "user,reviewed\nada,no\n").unwrap();
        let twice =
            evident.fails(&["evidence", "supersede", id(&old), third.to_str().unwrap(), "--effective", &effective]);
        assert!(twice.stderr.contains("code: conflict"), "{}: {}", evident.name(), twice.stderr);
        assert!(twice.stderr.contains(&format!("already superseded by {}", id(&new))), "{}", twice.stderr);
        assert_eq!(records(&evident).len(), 2, "nothing was recorded");
        assert_eq!(blob_files(&evident), blobs, "nothing was stored");
        evident.ok(&["verify"]);
    }
}

#[test]
fn damaged_or_missing_bytes_are_never_served_and_an_earlier_download_stays() {
    use std::os::unix::fs::PermissionsExt as _;
    let evident = Evident::sqlite();
    organisation(&evident);
    let file = evident.dir.path().join("access-review.csv");
    std::fs::write(&file, "user,reviewed\nada,yes\nbob,yes\n").unwrap();
    let added = add(&evident, &file, "IAM-01", days_ago(1));
    let digest = added["digest"].as_str().unwrap();
    let blob = evident.data_dir.join("evidence").join("sha256").join(&digest[..2]).join(digest);
    let downloads = evident.dir.path().join("downloads");
    std::fs::create_dir(&downloads).unwrap();
    let out = downloads.join("review.csv");
    std::fs::write(&out, "an earlier download").unwrap();

    // One byte changed behind evident's back (placed blobs are read-only: make it writable).
    std::fs::set_permissions(&blob, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&blob, "user,reviewed\nada,yes\nbob,no!\n").unwrap();
    let damaged = evident.fails(&["evidence", "get", id(&added), "-o", out.to_str().unwrap()]);
    assert!(damaged.stderr.contains(&format!("the stored evidence {digest} is corrupt")), "{}", damaged.stderr);
    assert!(damaged.stderr.contains("code: evidence_corrupt"), "{}", damaged.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "an earlier download", "the earlier file stays");
    assert_eq!(files_under(&downloads), [PathBuf::from("review.csv")], "no partial file is left");

    std::fs::remove_file(&blob).unwrap();
    let missing = evident.fails(&["evidence", "get", id(&added), "-o", out.to_str().unwrap()]);
    assert!(missing.stderr.contains(&format!("no stored evidence has the digest {digest}")), "{}", missing.stderr);
    assert!(missing.stderr.contains("code: evidence_corrupt"), "{}", missing.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "an earlier download");
}

/// A directory to import from, with good files, hostile entries, and a file outside it.
struct ImportDir {
    dir: PathBuf,
    outside: PathBuf,
}

fn import_dir(evident: &Evident) -> ImportDir {
    let dir = evident.dir.path().join("to-import");
    std::fs::create_dir(&dir).unwrap();
    for i in 1..=7 {
        std::fs::write(dir.join(format!("good-{i}.csv")), format!("check,result\nbackup-{i},pass\n")).unwrap();
    }
    std::fs::write(dir.join("empty.csv"), "").unwrap();
    let outside = evident.dir.path().join("outside.txt");
    std::fs::write(&outside, "not for import\n").unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("link-out.csv")).unwrap();
    std::os::unix::fs::symlink(dir.join("good-1.csv"), dir.join("link-in.csv")).unwrap();
    ImportDir { dir, outside }
}

fn import(evident: &Evident, dir: &Path, manifest: &Path) -> crate::support::Run {
    evident.run(&["evidence", "import", dir.to_str().unwrap(), "--manifest", manifest.to_str().unwrap()])
}

#[test]
fn hostile_manifest_rows_are_each_named_and_nothing_is_written() {
    for evident in Evident::every_backend() {
        organisation(&evident);
        let ImportDir { dir, outside } = import_dir(&evident);
        let manifest = evident.dir.path().join("manifest.csv");
        let header = "file,controls,effective,period,description\n";
        let good = format!("good-1.csv,IAM-01,{},,a good row\n", days_ago(1));
        let future = Utc::now().date_naive() + Duration::days(2);
        let (too_early, earliest) = before_the_records_can_go_back();
        let day = days_ago(1);
        // (the bad row, the column and what the message says)
        let hostile: Vec<(String, &str, String)> = vec![
            (format!("../outside.txt,IAM-01,{day},,"), "file", "../outside.txt leaves the manifest's directory".into()),
            (
                format!("{},IAM-01,{day},,", outside.display()),
                "file",
                format!("{} is an absolute path", outside.display()),
            ),
            (format!("link-out.csv,IAM-01,{day},,"), "file", "link-out.csv is reached through a symbolic link".into()),
            (format!("link-in.csv,IAM-01,{day},,"), "file", "link-in.csv is reached through a symbolic link".into()),
            (format!("empty.csv,IAM-01,{day},,"), "file", "empty.csv is empty".into()),
            (format!("good-2.csv,IAM-01;NOPE-99,{day},,"), "controls", "there is no control NOPE-99".into()),
            (
                format!("good-3.csv,IAM-01,{future},,"),
                "effective",
                format!("the effective date {future} is in the future"),
            ),
            (
                format!("good-4.csv,GOV-01,{too_early},,"),
                "effective",
                format!("the effective date {too_early} is before {earliest}, the earliest evidence"),
            ),
            (format!("good-1.csv,GOV-01,{day},,"), "file", "good-1.csv is listed twice (first in row 2)".into()),
            (format!("good-5.csv,IAM-01;IAM-01,{day},,"), "controls", "control IAM-01 is named twice".into()),
            (
                format!("good-7.csv,IAM-01,{day},{}..{},", day - Duration::days(5), day + Duration::days(1)),
                "period",
                format!(
                    "the period {}..{} ends after the effective date {day}",
                    day - Duration::days(5),
                    day + Duration::days(1)
                ),
            ),
            (
                format!("good-6.csv,IAM-01,{day},,{}", "x".repeat(4_001)),
                "description",
                "the description is 4001 characters long".into(),
            ),
        ];
        let audit = audit_records(&evident);
        for (row, column, message) in &hostile {
            std::fs::write(&manifest, format!("{header}{good}{row}\n")).unwrap();
            let run = import(&evident, &dir, &manifest);
            assert_ne!(run.code, 0, "{}: {row} was imported", evident.name());
            let named = format!("row 3, column {column}: {message}");
            assert!(run.stderr.contains(&named), "{}: {row}: missing {named:?} in:\n{}", evident.name(), run.stderr);
            assert!(run.stderr.contains("code: invalid_row"), "{}", run.stderr);
            assert!(records(&evident).is_empty(), "{}: {row}: not even the good row", evident.name());
            assert_eq!(stored_files(&evident), Vec::<PathBuf>::new(), "{}: {row}: no bytes stored", evident.name());
        }

        // All of them in one manifest: every row is named, as the user numbers them.
        let rows: String = hostile.iter().map(|(row, _, _)| format!("{row}\n")).collect();
        std::fs::write(&manifest, format!("{header}{good}{rows}")).unwrap();
        let run = import(&evident, &dir, &manifest);
        assert_ne!(run.code, 0);
        for (i, (_, column, message)) in hostile.iter().enumerate() {
            let named = format!("row {}, column {column}: {message}", i + 3);
            assert!(run.stderr.contains(&named), "{}: missing {named:?} in:\n{}", evident.name(), run.stderr);
        }
        let summary = format!("nothing was imported: {} problem(s) in {} rows", hostile.len(), hostile.len() + 1);
        assert!(run.stderr.contains(&summary), "{}", run.stderr);
        assert!(records(&evident).is_empty());
        assert_eq!(stored_files(&evident), Vec::<PathBuf>::new());
        assert_eq!(audit_records(&evident), audit, "{}: not even an audit record", evident.name());
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "not for import\n");
    }
}

#[test]
fn a_file_name_with_a_control_character_is_refused_in_a_manifest_and_by_add() {
    let evident = Evident::sqlite();
    organisation(&evident);
    let dir = evident.dir.path().join("to-import");
    std::fs::create_dir(&dir).unwrap();
    let manifest = evident.dir.path().join("manifest.csv");
    let effective = days_ago(1).to_string();
    // A bell the manifest's reader refuses in any cell; a tab, which a cell may hold, that only
    // the import's own check of file names refuses.
    let cases = [
        ("bell\u{7}.csv", "the cell contains the control character U+0007", r#"the file name "bell\u{7}.csv""#),
        ("tab\t.csv", r#""tab\t.csv" contains a control character"#, r#"the file name "tab\t.csv""#),
    ];
    for (name, in_manifest, by_add) in cases {
        std::fs::write(dir.join(name), "check,result\nbell,pass\n").unwrap();
        std::fs::write(&manifest, format!("file,controls,effective\n\"{name}\",IAM-01,{effective}\n")).unwrap();
        let run = import(&evident, &dir, &manifest);
        assert_ne!(run.code, 0, "imported {name:?}");
        assert!(run.stderr.contains("row 2, column file: "), "{name:?}: the row is named:\n{}", run.stderr);
        let line = run.stderr.lines().find(|l| l.contains(in_manifest)).unwrap_or_default();
        assert_eq!(line.matches("row 2").count(), 1, "{name:?}: the row is named once: {line}");

        let path = dir.join(name);
        let path = path.to_str().unwrap();
        let added = evident.fails(&["evidence", "add", path, "--control", "IAM-01", "--effective", &effective]);
        let message = format!("{by_add} contains a control character");
        assert!(added.stderr.contains(&message), "{name:?}: missing {message:?} in {}", added.stderr);
        assert!(records(&evident).is_empty());
        assert_eq!(stored_files(&evident), Vec::<PathBuf>::new());
    }
}

#[test]
fn evidence_add_refuses_bad_input_by_name_and_stores_nothing() {
    for evident in Evident::every_backend() {
        organisation(&evident);
        let file = evident.dir.path().join("export.csv");
        std::fs::write(&file, "check,result\nmfa,pass\n").unwrap();
        let empty = evident.dir.path().join("empty.csv");
        std::fs::write(&empty, "").unwrap();
        let future = (Utc::now().date_naive() + Duration::days(2)).to_string();
        let (too_early, earliest) = before_the_records_can_go_back();
        let too_early = too_early.to_string();
        let day = days_ago(1).to_string();
        let (file, empty) = (file.to_str().unwrap(), empty.to_str().unwrap());
        // (the file, the controls, the date, the code and what the message says)
        let cases: [(&str, &[&str], &str, &str, String); 5] = [
            (empty, &["IAM-01"], &day, "invalid_input", "the evidence is empty".into()),
            (file, &["NOPE-99"], &day, "control_not_found", "there is no control NOPE-99".into()),
            (file, &["IAM-01", "IAM-01"], &day, "invalid_input", "control IAM-01 is named twice".into()),
            (file, &["IAM-01"], &future, "invalid_input", format!("the effective date {future} is in the future")),
            (
                file,
                &["IAM-01"],
                &too_early,
                "invalid_input",
                format!("the effective date {too_early} is before {earliest}, the earliest evidence"),
            ),
        ];
        for (path, controls, effective, code, message) in cases {
            let mut args = vec!["evidence", "add", path, "--effective", effective];
            args.extend(controls.iter().flat_map(|c| ["--control", c]));
            let run = evident.fails(&args);
            assert!(run.stderr.contains(&message), "{}: missing {message:?} in:\n{}", evident.name(), run.stderr);
            assert!(run.stderr.contains(&format!("code: {code}")), "{}", run.stderr);
            assert!(records(&evident).is_empty(), "{}: {message}: nothing recorded", evident.name());
            assert_eq!(stored_files(&evident), Vec::<PathBuf>::new(), "{}: {message}: nothing stored", evident.name());
        }
        evident.ok(&["verify"]);
    }
}

#[test]
fn a_bad_type2_window_seed_or_preset_is_named() {
    let evident = Evident::sqlite();
    organisation(&evident);
    let long = evident.fails(&["type2", "--from", "2025-01-01", "--to", "2026-01-31"]);
    assert!(long.stderr.contains("code: invalid_input"), "{}", long.stderr);
    assert!(long.stderr.contains("the window is 13 months"), "{}", long.stderr);
    let seed = evident.run(&["type2", "--from", "2025-01-01", "--to", "2025-12-31", "--seed", "abc"]);
    assert_eq!(seed.code, 2, "a usage error: {}", seed.stderr);
    assert!(seed.stderr.contains("invalid value 'abc' for '--seed <SEED>'"), "{}", seed.stderr);
    let preset = evident.fails(&["type2", "--from", "2025-01-01", "--to", "2025-12-31", "--preset", "generous"]);
    assert!(preset.stderr.contains("generous"), "the preset is named: {}", preset.stderr);
    assert!(preset.stderr.contains("code: invalid_input"), "{}", preset.stderr);
}

#[test]
fn importing_the_same_manifest_twice_records_once() {
    for evident in Evident::every_backend() {
        organisation(&evident);
        let ImportDir { dir, .. } = import_dir(&evident);
        let manifest = evident.dir.path().join("manifest.csv");
        let month = days_ago(40);
        let period = format!("{}..{}", month - Duration::days(30), month);
        let mut csv = String::from("file,controls,effective,period,description\n");
        for i in 1..=6 {
            let controls = if i % 2 == 0 { "IAM-01;GOV-01" } else { "IAM-01" };
            csv.push_str(&format!("good-{i}.csv,{controls},{},{period},backup check {i}\n", days_ago(i)));
        }
        std::fs::write(&manifest, csv).unwrap();
        let args = ["evidence", "import", dir.to_str().unwrap(), "--manifest", manifest.to_str().unwrap(), "--json"];
        let first = evident.ok(&args).json();
        assert_eq!((first["files"].as_u64(), first["recorded"].as_u64()), (Some(6), Some(6)), "{first}");
        let second = evident.ok(&args).json();
        assert_eq!(
            (second["recorded"].as_u64(), second["unchanged"].as_u64()),
            (Some(0), Some(6)),
            "{}: {second}",
            evident.name()
        );
        let text = evident.ok(&args[..args.len() - 1]);
        assert!(text.stdout.contains("0 recorded, 6 already recorded"), "{}", text.stdout);
        let all = records(&evident);
        assert_eq!(all.len(), 6, "{}: recorded once", evident.name());
        assert_eq!(blob_files(&evident), 6);
        let six = all.iter().find(|r| r["file_name"] == "good-6.csv").unwrap();
        assert_eq!(six["controls"].as_array().unwrap().len(), 2, "`;` separates controls: {six}");
        assert_eq!(get(&evident, id(six)), b"check,result\nbackup-6,pass\n");
        evident.ok(&["verify"]);
    }
}

/// The Type 2 window `demo` suggests: `evident type2 --from FROM --to TO` in its output.
fn demo_window(demo: &str) -> (String, String) {
    let line = demo.lines().find(|l| l.contains("evident type2 --from")).expect("demo names the Type 2 window");
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |flag: &str| words[words.iter().position(|w| *w == flag).unwrap() + 1].to_owned();
    (after("--from"), after("--to"))
}

/// Data rows of a CSV or XLSX export (the header excluded).
fn data_rows(path: &Path) -> usize {
    if path.extension().is_some_and(|e| e == "xlsx") {
        use calamine::Reader as _;
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
        let sheet = book.worksheet_range_at(0).unwrap().unwrap();
        sheet.rows().count() - 1
    } else {
        csv::Reader::from_path(path).unwrap().records().count()
    }
}

#[test]
fn the_demo_type2_sample_is_reproducible_and_its_exports_carry_their_digest_and_row_count() {
    for evident in Evident::every_backend() {
        let demo = evident.ok(&["demo"]);
        let (from, to) = demo_window(&demo.stdout);
        let today = Utc::now().date_naive();
        let first_of_month = today - Duration::days(i64::from(chrono::Datelike::day0(&today)));
        assert_eq!(to, (first_of_month - Duration::days(1)).to_string(), "the window ends last month");
        assert_eq!(from, first_of_month.checked_sub_months(Months::new(12)).unwrap().to_string());

        let analysis = |extra: &[&str]| {
            let mut args = vec!["type2", "--from", &from, "--to", &to, "--seed", "42", "--json"];
            args.extend_from_slice(extra);
            evident.ok(&args).json()
        };
        let once = analysis(&[]);
        assert_eq!(once, analysis(&[]), "{}: the same seed draws the same sample", evident.name());
        assert_eq!(once["seed"], 42);
        let controls = once["controls"].as_array().unwrap();
        let gaps: Vec<&Value> =
            controls.iter().filter(|c| !c["missing_periods"].as_array().unwrap().is_empty()).collect();
        assert!(!gaps.is_empty(), "{}: the demo's year has a control with missing periods", evident.name());
        let exceptions =
            controls.iter().flat_map(|c| c["sample"].as_array().unwrap()).filter(|s| s["evidenced"] == false).count();
        assert!(exceptions >= 1, "{}: the sample finds at least one exception", evident.name());

        let population = evident.dir.path().join("pop.csv");
        let sample = evident.dir.path().join("s.xlsx");
        let exported = analysis(&["--population", population.to_str().unwrap(), "--sample", sample.to_str().unwrap()]);
        assert_eq!(exported, once, "exporting changes nothing in the analysis");
        let expected_rows = [
            (&population, controls.iter().map(|c| c["occurrences"].as_array().unwrap().len()).sum::<usize>()),
            (&sample, controls.iter().map(|c| c["sample"].as_array().unwrap().len()).sum::<usize>()),
        ];
        for (file, rows) in expected_rows {
            let bytes = std::fs::read(file).unwrap();
            let record_path = PathBuf::from(format!("{}.ca.json", file.display()));
            let record: Value = serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
            assert_eq!(record["sha256"], sha256(&bytes), "{}: {}", evident.name(), record_path.display());
            assert_eq!(record["rows"], data_rows(file), "{}: {}", evident.name(), record_path.display());
            assert_eq!(record["rows"], rows, "{}: every {} row is there", evident.name(), file.display());
            assert!(record["filters"].as_str().unwrap().contains("seed 42"), "{record}");
        }
        evident.ok(&["verify"]);
    }
}

#[test]
fn the_demo_has_overdue_controls_and_readiness_names_them_with_their_due_date() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let report = evident.ok(&["freshness", "--json"]).json();
        let today = report["today"].as_str().unwrap().to_owned();
        let overdue: Vec<&Value> =
            report["controls"].as_array().unwrap().iter().filter(|c| c["state"] == "overdue").collect();
        assert!(!overdue.is_empty(), "{}: some demo controls are overdue", evident.name());
        for control in &overdue {
            let due = control["next_due"].as_str().unwrap();
            assert!(due < today.as_str(), "{control}: overdue means due before {today}");
        }

        let readiness = evident.ok(&["readiness", "--framework", "soc2:2017", "--json"]).json();
        let mut named = Vec::new();
        walk(&readiness, &mut |value| {
            if value["rule"] == "partial" {
                named.extend(value["overdue"].as_array().unwrap().iter().cloned());
            }
        });
        assert!(!named.is_empty(), "{}: a requirement is partial because evidence is overdue", evident.name());
        for reason in &named {
            let control = overdue
                .iter()
                .find(|c| c["code"] == reason["code"])
                .unwrap_or_else(|| panic!("{reason} names a control freshness does not call overdue"));
            assert_eq!(reason["due"], control["next_due"], "the reason gives the due date: {reason}");
            assert_eq!(reason["last_effective"], control["last_effective"]);
        }
        evident.ok(&["verify"]);
    }
}

/// Calls `visit` on every value in a JSON tree.
fn walk(value: &Value, visit: &mut impl FnMut(&Value)) {
    visit(value);
    match value {
        Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        Value::Object(fields) => fields.values().for_each(|v| walk(v, visit)),
        _ => {}
    }
}

/// `args` with `--evidence-store STORE` in front.
fn on_store<'a>(store: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    [&["--evidence-store", store][..], args].concat()
}

#[test]
fn evidence_on_s3_round_trips_through_the_cli_and_a_lost_store_is_named_without_secrets() {
    let test = "evidence_on_s3_round_trips_through_the_cli_and_a_lost_store_is_named_without_secrets";
    let Some(moto) = Moto::start(test) else { return };
    let installations: Vec<(Evident, String)> = Evident::every_backend()
        .into_iter()
        .map(|evident| {
            let evident = Moto::credentials_env().iter().fold(evident, |e, (key, value)| e.with_env(key, value));
            let bucket = format!("evidence-{}", evident.name());
            moto.create_bucket(&bucket);
            let address = moto.address(&bucket);
            (evident, address)
        })
        .collect();
    let every_byte: Vec<u8> = (0..=255u8).cycle().take(3 * 1024 * 1024 + 5).collect();
    for (evident, store) in &installations {
        let demo = evident.ok(&on_store(store, &["demo"]));
        assert!(demo.stdout.contains("records over the past year"), "{}: {}", evident.name(), demo.stdout);

        let file = evident.dir.path().join("all-bytes.bin");
        std::fs::write(&file, &every_byte).unwrap();
        let effective = days_ago(1).to_string();
        let path = file.to_str().unwrap();
        let add = ["evidence", "add", path, "--control", "IAM-01", "--effective", &effective, "--json"];
        let added = evident.ok(&on_store(store, &add)).json();
        let out = evident.dir.path().join("back.bin");
        evident.ok(&on_store(store, &["evidence", "get", id(&added), "-o", out.to_str().unwrap()]));
        assert!(std::fs::read(&out).unwrap() == every_byte, "{}: the bytes come back exactly", evident.name());
        let listed = evident.ok(&on_store(store, &["evidence", "list", "--json"])).json();
        let demo_record = listed.as_array().unwrap().iter().find(|r| id(r).starts_with("demo-")).unwrap().clone();
        let demo_out = evident.dir.path().join("demo-record");
        evident.ok(&on_store(store, &["evidence", "get", id(&demo_record), "-o", demo_out.to_str().unwrap()]));
        assert_eq!(sha256(&std::fs::read(&demo_out).unwrap()), demo_record["digest"].as_str().unwrap());
        assert_eq!(stored_files(evident), Vec::<PathBuf>::new(), "{}: nothing under the data dir", evident.name());
        evident.ok(&on_store(store, &["verify"]));
    }

    // The store goes away: adding is refused, named by its endpoint, and records nothing.
    moto.killer()();
    for (evident, store) in &installations {
        let count =
            || evident.ok(&on_store(store, &["evidence", "list", "--all", "--json"])).json().as_array().unwrap().len();
        let before = count();
        let file = evident.dir.path().join("after-the-outage.csv");
        std::fs::write(&file, "check,result\nmfa,pass\n").unwrap();
        let effective = days_ago(1).to_string();
        let path = file.to_str().unwrap();
        let add = ["evidence", "add", path, "--control", "IAM-01", "--effective", &effective];
        let run = evident.run(&on_store(store, &add));
        assert_ne!(run.code, 0, "{}: added without a store", evident.name());
        assert!(run.stderr.contains("code: evidence_store_unavailable"), "{}: {}", evident.name(), run.stderr);
        assert!(run.stderr.contains(&moto.endpoint()), "the endpoint is named: {}", run.stderr);
        assert!(
            !run.stderr.contains(SECRET_ACCESS_KEY) && !run.stdout.contains(SECRET_ACCESS_KEY),
            "the secret key shows: {}",
            run.stderr
        );
        assert_eq!(count(), before, "{}: nothing was recorded", evident.name());
        assert_eq!(stored_files(evident), Vec::<PathBuf>::new());
    }
}

/// The freshness of one control, from `freshness --json`.
fn freshness_of(evident: &Evident, code: &str) -> Value {
    let report = evident.ok(&["freshness", "--json"]).json();
    report["controls"].as_array().unwrap().iter().find(|c| c["code"] == code).cloned().unwrap()
}

#[test]
fn a_control_with_a_10_day_limit_is_overdue_where_its_monthly_frequency_alone_would_be_fresh() {
    for evident in Evident::every_backend() {
        evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
        let create = |code: &str, extra: &[&str]| {
            let args =
                [&["controls", "create", code, "--title", "Backup restore test", "--frequency", "monthly"], extra]
                    .concat();
            evident.ok(&args);
        };
        create("OPS-10", &["--max-evidence-age-days", "10"]);
        create("OPS-11", &[]);
        // Evidence of 12 days ago: a month has not passed (fresh, even with 14 days' lead), but
        // 10 days have.
        let effective = days_ago(12);
        let file = evident.dir.path().join("restore.csv");
        std::fs::write(&file, "restore,result\nnightly,pass\n").unwrap();
        add(&evident, &file, "OPS-10", effective);
        add(&evident, &file, "OPS-11", effective);

        let limited = freshness_of(&evident, "OPS-10");
        assert_eq!(limited["state"], "overdue", "{}: {limited}", evident.name());
        assert_eq!(limited["next_due"], (effective + Duration::days(10)).to_string());
        assert_eq!(limited["max_age"], 10);
        let monthly = freshness_of(&evident, "OPS-11");
        assert_eq!(monthly["state"], "fresh", "{}: the same evidence, monthly alone: {monthly}", evident.name());
        assert_eq!(monthly["next_due"], effective.checked_add_months(Months::new(1)).unwrap().to_string());
        assert_eq!(monthly["max_age"], Value::Null);

        let text = evident.ok(&["freshness"]).stdout;
        let line = text.lines().find(|l| l.contains("OPS-10")).unwrap_or_default();
        assert!(line.contains("monthly, max age 10 days") && line.contains("overdue"), "{text}");
        assert!(!text.lines().take_while(|l| !l.is_empty()).any(|l| l.contains("OPS-11")), "fresh: {text}");
        let shown = evident.ok(&["controls", "show", "OPS-10"]).stdout;
        assert!(shown.contains("frequency: monthly   max evidence age: 10 days"), "{shown}");
        assert_eq!(evident.ok(&["controls", "show", "OPS-10", "--json"]).json()["max_evidence_age_days"], 10);

        // A bad value is refused with a stable code and changes nothing.
        for bad in ["0", "1831", "ten", "-3"] {
            let run = evident.fails(&["controls", "edit", "OPS-10", "--max-evidence-age-days", bad]);
            assert!(run.stderr.contains("code: invalid_input"), "{bad}: {}", run.stderr);
            assert!(run.stderr.contains("--max-evidence-age-days"), "{bad}: the flag is named: {}", run.stderr);
        }
        let refused = evident.fails(&["controls", "create", "OPS-12", "--title", "X", "--max-evidence-age-days", "0"]);
        assert!(refused.stderr.contains("code: invalid_input"), "{}", refused.stderr);
        assert_eq!(evident.ok(&["controls", "show", "OPS-10", "--json"]).json()["revision"], 1);
        assert_eq!(evident.ok(&["controls", "list", "--json"]).json().as_array().unwrap().len(), 2);

        // Cleared, the monthly frequency decides again; set again, the limit does.
        evident.ok(&["controls", "edit", "OPS-10", "--max-evidence-age-days", "none"]);
        assert_eq!(freshness_of(&evident, "OPS-10")["state"], "fresh");
        assert_eq!(evident.ok(&["controls", "show", "OPS-10", "--json"]).json()["max_evidence_age_days"], Value::Null);
        evident.ok(&["controls", "edit", "OPS-10", "--max-evidence-age-days", "10"]);
        assert_eq!(freshness_of(&evident, "OPS-10")["state"], "overdue");
        evident.ok(&["verify"]);

        // The column edited behind evident's back: verify names it against the audit log.
        evident.tamper("UPDATE controls SET max_evidence_age_days = 30 WHERE code = 'OPS-10'");
        let run = evident.fails(&["verify"]);
        assert!(
            run.stderr.contains("controls: OPS-10 has max_evidence_age_days 30, the audit log says 10"),
            "{}: {}",
            evident.name(),
            run.stderr
        );
    }
}

#[test]
fn two_imports_of_one_manifest_at_once_record_each_row_once() {
    let evident = Evident::sqlite();
    organisation(&evident);
    let dir = evident.dir.path().join("to-import");
    std::fs::create_dir(&dir).unwrap();
    let rows: usize = 40;
    let mut csv = String::from("file,controls,effective,description\n");
    for i in 0..rows {
        std::fs::write(dir.join(format!("check-{i}.csv")), format!("check,result\nrestore-{i},pass\n")).unwrap();
        let controls = if i % 3 == 0 { "IAM-01;GOV-01" } else { "GOV-01" };
        csv.push_str(&format!("check-{i}.csv,{controls},{},restore check {i}\n", days_ago(1 + (i % 20) as i64)));
    }
    let manifest = evident.dir.path().join("manifest.csv");
    std::fs::write(&manifest, csv).unwrap();
    let args = ["evidence", "import", dir.to_str().unwrap(), "--manifest", manifest.to_str().unwrap()];

    // Two processes on one data directory, started together.
    let mut first = evident.spawn(&args);
    let mut second = evident.spawn(&args);
    assert!(first.wait().unwrap().success(), "the first import succeeds");
    assert!(second.wait().unwrap().success(), "the second import succeeds: what is there is not an error");

    let all = records(&evident);
    assert_eq!(all.len(), rows, "each row of the manifest is recorded once");
    let mut names: Vec<&str> = all.iter().map(|r| r["file_name"].as_str().unwrap()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), rows, "no file is recorded twice");
    assert_eq!(blob_files(&evident), rows, "and stored once");
    let again = evident.ok(&[&args[..], &["--json"]].concat()).json();
    assert_eq!((again["recorded"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(rows as u64)), "{again}");
    evident.ok(&["verify"]);
}
