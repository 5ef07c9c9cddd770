//! Spreadsheet import and export of controls and mappings: all rows or none.

use crate::support::Evident;

fn rows(n: usize, bad: Option<usize>) -> String {
    let mut csv =
        String::from("code,title,description,owner,frequency,status,framework,requirement,coverage,rationale\n");
    for i in 0..n {
        let requirement = if Some(i) == bad { "A.9.99" } else { ["A.5.15", "A.8.5", "A.8.13"][i % 3] };
        csv.push_str(&format!(
            "IMP-{i:03},Imported control {i},\"Does thing {i}, carefully\",,monthly,implemented,iso27001:2022,{requirement},partial,Covers part of {requirement}\n"
        ));
    }
    csv
}

fn control_count(evident: &Evident) -> usize {
    evident.ok(&["controls", "list", "--json"]).json().as_array().unwrap().len()
}

#[test]
fn one_bad_row_among_500_writes_nothing_and_the_fixed_file_imports_all() {
    for evident in Evident::every_backend() {
        evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
        let file = evident.dir.path().join("controls.csv");
        std::fs::write(&file, rows(500, Some(316))).unwrap();
        let run = evident.fails(&["controls", "import", file.to_str().unwrap()]);
        assert!(
            run.stderr
                .contains("controls.csv: row 318, column requirement: A.9.99 is not a requirement of iso27001:2022"),
            "{}: {}",
            evident.name(),
            run.stderr
        );
        assert!(run.stderr.contains("nothing was imported: 1 problem(s) in 500 rows"));
        assert_eq!(control_count(&evident), 0, "nothing was written");
        let log = evident.ok(&["verify", "--json"]).json();
        assert_eq!(log[0]["records"], 2, "not even an audit record");

        std::fs::write(&file, rows(500, None)).unwrap();
        let run = evident.ok(&["controls", "import", file.to_str().unwrap(), "--json"]).json();
        assert_eq!((run["created"].as_u64(), run["mappings"].as_u64()), (Some(500), Some(500)));
        assert_eq!(control_count(&evident), 500);
        // Importing the same file again changes nothing but re-sets the same mappings.
        let again = evident.ok(&["controls", "import", file.to_str().unwrap(), "--json"]).json();
        assert_eq!((again["created"].as_u64(), again["updated"].as_u64()), (Some(0), Some(0)));
    }
}

#[test]
fn every_problem_is_named_with_its_row_and_column() {
    let evident = Evident::sqlite();
    evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    let file = evident.dir.path().join("bad.csv");
    std::fs::write(
        &file,
        "code,title,frequency,status,owner,framework,requirement,coverage,rationale\n\
         1BAD,Starts with a digit,,,,,,,\n\
         OK-1,Fine,hourly,,,,,,\n\
         OK-2,Fine,,,nobody@acme.example,soc2:2017,CC6.1,most,Because\n\
         OK-3,,,,,,,,\n\
         OK-4,Fine,,,,iso27001:2022,6.1,full,Because\n\
         OK-5,Fine,,,,iso27001:2022,A.5.1,full,\n",
    )
    .unwrap();
    let run = evident.fails(&["controls", "import", file.to_str().unwrap()]);
    let expected = [
        "row 2, column code: \"1BAD\" is not a valid control code",
        "row 3, column frequency: \"hourly\" is not a valid frequency",
        "row 4, column owner: nobody@acme.example is not a member of acme",
        "row 4, column coverage: \"most\" is not a valid coverage",
        "row 5, column title: OK-3 is a new control and needs a title",
        "row 6, column requirement: 6.1 of iso27001:2022 groups other requirements",
        "row 7, column rationale: a mapping needs a rationale",
    ];
    for line in expected {
        assert!(run.stderr.contains(line), "missing {line:?} in:\n{}", run.stderr);
    }
    assert_eq!(control_count(&evident), 0);
    let unknown_column = evident.dir.path().join("columns.csv");
    std::fs::write(&unknown_column, "code,titel\nX-1,Typo\n").unwrap();
    let run = evident.fails(&["controls", "import", unknown_column.to_str().unwrap()]);
    assert!(run.stderr.contains("column 2 (\"titel\") is not part of the layout"), "{}", run.stderr);
}

#[test]
fn a_problem_the_reader_finds_names_its_row_and_column_once() {
    let evident = Evident::sqlite();
    evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    let file = evident.dir.path().join("controls.csv");
    std::fs::write(&file, "code,title\nOK-1,Fine\nOK-2,Rings a \u{7} bell\n").unwrap();
    let run = evident.fails(&["controls", "import", file.to_str().unwrap()]);
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.contains("control character")).collect();
    let expected =
        format!("error: {}: row 3, column title: the cell contains the control character U+0007", file.display());
    assert_eq!(lines, [expected], "{}", run.stderr);
    assert!(run.stderr.contains("code: invalid_row"), "{}", run.stderr);
    assert_eq!(control_count(&evident), 0);
}

#[test]
fn an_export_imports_back_unchanged_in_csv_and_xlsx() {
    let evident = Evident::sqlite();
    evident.ok(&["demo"]);
    evident.ok(&["controls", "edit", "IAM-01", "--description", "=cmd|' /C calc'!A0 is not a formula here"]);
    evident.ok(&["controls", "edit", "IAM-01", "--max-evidence-age-days", "10"]);
    let before = evident.ok(&["controls", "list", "--json"]).json();
    let iam = before.as_array().unwrap().iter().find(|c| c["code"] == "IAM-01").unwrap();
    assert_eq!(iam["max_evidence_age_days"], 10);
    for name in ["export.csv", "export.xlsx"] {
        let file = evident.dir.path().join(name);
        evident.ok(&["controls", "export", file.to_str().unwrap()]);
        if name.ends_with(".csv") {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(text.contains("'=cmd|"), "the formula is neutralised in the export");
            assert!(text.lines().next().unwrap().ends_with(",max_evidence_age_days"), "the column is last");
            let row = text.lines().find(|l| l.starts_with("IAM-01,")).unwrap();
            assert!(row.ends_with(",10"), "IAM-01's own limit is exported: {row}");
        }
        let imported = evident.ok(&["controls", "import", file.to_str().unwrap(), "--json"]).json();
        assert_eq!(
            (imported["created"].as_u64(), imported["updated"].as_u64()),
            (Some(0), Some(0)),
            "{name}: {imported}"
        );
        assert_eq!(evident.ok(&["controls", "list", "--json"]).json(), before, "{name} round-trips");
    }
    let template = evident.dir.path().join("template.xlsx");
    evident.ok(&["controls", "template", template.to_str().unwrap()]);
    let fresh = Evident::sqlite();
    fresh.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    fresh.ok(&["controls", "import", template.to_str().unwrap()]);
    assert_eq!(control_count(&fresh), 1, "the template imports as it is");
}

#[test]
fn the_baseline_library_can_be_adopted_whole_or_in_part() {
    let evident = Evident::sqlite();
    evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    evident.ok(&["controls", "adopt-baseline", "--only", "IAM-01,GOV-01"]);
    assert_eq!(control_count(&evident), 2);
    evident.ok(&["controls", "adopt-baseline"]);
    let all = control_count(&evident);
    assert!((80..=200).contains(&all), "the whole library: {all}");
    let unknown = evident.fails(&["controls", "adopt-baseline", "--only", "NOPE-99"]);
    assert!(unknown.stderr.contains("NOPE-99 is not in the baseline library"));
}
