//! The risk register through the CLI: methodology versions, assets, risks, acceptance, reports.

use crate::support::Evident;

fn count(evident: &Evident, args: &[&str]) -> usize {
    evident.ok(args).json().as_array().unwrap().len()
}

fn audit_records(evident: &Evident) -> u64 {
    evident.ok(&["verify", "--json"]).json()[0]["records"].as_u64().unwrap()
}

#[test]
fn the_demo_register_is_realistic_and_linked_to_controls_and_the_soa() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let risks = evident.ok(&["risks", "list", "--json"]).json();
        let risks = risks.as_array().unwrap();
        assert!(risks.len() >= 20, "{}: {} risks", evident.name(), risks.len());
        let assets: std::collections::HashSet<_> = risks
            .iter()
            .flat_map(|r| r["assets"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()))
            .collect();
        assert!(assets.len() >= 5, "risks span several assets: {assets:?}");
        assert!(risks.iter().filter(|r| !r["controls"].as_array().unwrap().is_empty()).count() >= 18);
        let soa = evident.ok(&["soa", "show", "--json"]).json();
        let justified: Vec<_> =
            soa.as_array().unwrap().iter().filter(|r| !r["risks"].as_array().unwrap().is_empty()).collect();
        assert!(justified.len() >= 10, "Annex A controls justified by risks: {}", justified.len());
        assert!(justified.iter().all(|r| r["reasons"].as_array().unwrap().iter().any(|x| x == "risk_treatment")));
        let a813 = soa.as_array().unwrap().iter().find(|r| r["ref"] == "A.8.13").unwrap();
        let treated_by: Vec<_> = a813["risks"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        assert!(treated_by.contains(&"R-001"), "backups treat the ransomware risk: {treated_by:?}");
        let refused =
            evident.fails(&["soa", "set", "A.8.13", "--exclude", "--reason", "business_need", "--justification", "x"]);
        assert!(refused.stderr.contains("A.8.13 cannot be excluded: it treats open risk R-001"), "{}", refused.stderr);
        assert_eq!(count(&evident, &["soa", "versions", "--json"]), 1, "the demo SoA is approved once");
        let due = evident.ok(&["risks", "due", "--json"]).json();
        let due: Vec<_> = due
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["risk"].as_str().unwrap(), d["due"]["why"].as_str().unwrap()))
            .collect();
        assert!(due.contains(&("R-011", "review_overdue")), "{due:?}");
        assert!(due.contains(&("R-019", "planned_control_overdue")), "{due:?}");
    }
}

fn new_org_with_register(evident: &Evident) {
    evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    evident.ok(&["members", "add", "olu@acme.example", "--role", "control_owner"]);
    evident.ok(&["members", "add", "cam@acme.example", "--role", "compliance_manager"]);
    evident.ok(&["controls", "adopt-baseline", "--only", "OPS-05,OPS-06,IAM-03"]);
    evident.ok(&[
        "assets",
        "put",
        "AST-DB",
        "--name",
        "Customer database",
        "--type",
        "information",
        "--classification",
        "restricted",
        "--cia",
        "5,5,4",
    ]);
}

fn create_risk(evident: &Evident, code: &str, likelihood: &str, asset: &str) -> crate::support::Run {
    evident.run(&[
        "risks",
        "create",
        code,
        "--title",
        "Ransomware encrypts the database",
        "--asset",
        asset,
        "--threat",
        "T-01",
        "--vulnerability",
        "V-03",
        "--owner",
        "olu@acme.example",
        "--likelihood",
        likelihood,
        "--impact",
        "4",
        "--treatment",
        "modify",
        "--control",
        "OPS-05",
        "--planned",
        "OPS-06@2027-03-31",
        "--residual-likelihood",
        "2",
        "--residual-impact",
        "2",
        "--review",
        "2027-06-30",
    ])
}

#[test]
fn a_4x4_and_a_5x5_methodology_both_work_and_a_change_does_not_rewrite_history() {
    for evident in Evident::every_backend() {
        new_org_with_register(&evident);
        evident.ok(&["methodology", "set", "--preset", "5x5"]);
        let created = create_risk(&evident, "R-1", "5", "AST-DB");
        assert_eq!(created.code, 0, "{}", created.stderr);
        let before = evident.ok(&["risks", "list", "--json"]).json();
        assert_eq!(before[0]["methodology"], 1);
        assert_eq!(before[0]["threat"], "Ransomware", "a starter-list id resolves to its name");

        evident.ok(&["methodology", "set", "--preset", "4x4"]);
        let after = evident.ok(&["risks", "list", "--json"]).json();
        assert_eq!(after, before, "{}: the 5x5 assessment is untouched", evident.name());
        let csv = evident.dir.path().join("register.csv");
        evident.ok(&["risks", "export", csv.to_str().unwrap()]);
        let register = std::fs::read_to_string(&csv).unwrap();
        assert!(
            register.contains(",20,High,") || register.contains(",20,Critical,"),
            "scored on its own 5x5 matrix: {register}"
        );

        let out_of_scale = evident.fails(&[
            "risks",
            "create",
            "R-2",
            "--title",
            "x",
            "--asset",
            "AST-DB",
            "--threat",
            "t",
            "--vulnerability",
            "v",
            "--owner",
            "olu@acme.example",
            "--likelihood",
            "5",
            "--impact",
            "1",
            "--treatment",
            "retain",
            "--residual-likelihood",
            "1",
            "--residual-impact",
            "1",
            "--review",
            "2027-01-01",
        ]);
        assert!(
            out_of_scale.stderr.contains("likelihood 5 is outside the 1–4 scale of methodology version 2"),
            "{}",
            out_of_scale.stderr
        );
        assert_eq!(create_risk(&evident, "R-3", "4", "AST-DB").code, 0);
        let heat = evident.ok(&["risks", "heatmap", "--json"]).json();
        assert_eq!((heat["methodology"].as_i64(), heat["other_versions"].as_u64()), (Some(2), Some(1)));
        assert_eq!(heat["inherent"].as_array().unwrap().len(), 4);
        assert_eq!(heat["inherent"][3][3], 1, "R-3 sits at likelihood 4, impact 4");
        let history = evident.ok(&["methodology", "history", "--json"]).json();
        assert_eq!(history.as_array().unwrap().len(), 2);
        let bad = evident.dir.path().join("bad.toml");
        std::fs::write(&bad, "likelihood = [{name = \"a\"}, {name = \"b\"}]\nimpact = [{name = \"a\"}, {name = \"b\"}, {name = \"c\"}]\nlevels = [{name = \"Low\", min_score = 1, colour = \"#00ff00\"}]\nacceptance_level = \"Low\"\n").unwrap();
        let refused = evident.fails(&["methodology", "set", "--file", bad.to_str().unwrap()]);
        assert!(refused.stderr.contains("the matrix must have 3 to 5 likelihood levels, not 2"), "{}", refused.stderr);
        assert_eq!(evident.ok(&["methodology", "history", "--json"]).json().as_array().unwrap().len(), 2);
    }
}

#[test]
fn bad_risk_input_is_named_and_writes_nothing() {
    let evident = Evident::sqlite();
    new_org_with_register(&evident);
    evident.ok(&["methodology", "set", "--preset", "5x5"]);
    assert_eq!(create_risk(&evident, "R-1", "4", "AST-DB").code, 0);
    let records = audit_records(&evident);

    let unknown_asset = create_risk(&evident, "R-2", "4", "AST-NOPE");
    assert_ne!(unknown_asset.code, 0);
    assert!(unknown_asset.stderr.contains("assets: asset AST-NOPE does not exist"), "{}", unknown_asset.stderr);
    let outside = create_risk(&evident, "R-2", "6", "AST-DB");
    assert!(outside.stderr.contains("likelihood 6 is outside the 1–5 scale"), "{}", outside.stderr);

    let today = chrono::Utc::now().date_naive();
    let in_a_year = (today + chrono::Days::new(365)).to_string();
    let not_owner = evident.fails(&["--as", "cam@acme.example", "risks", "accept", "R-1", "--expires", &in_a_year]);
    assert!(
        not_owner.stderr.contains("cam@acme.example is neither the risk owner nor an administrator"),
        "{}",
        not_owner.stderr
    );
    let past = evident.fails(&["--as", "olu@acme.example", "risks", "accept", "R-1", "--expires", "2020-01-01"]);
    assert!(past.stderr.contains("the acceptance expiry 2020-01-01 is not after today"), "{}", past.stderr);
    let too_far = (today + chrono::Days::new(4000)).to_string();
    let forever = evident.fails(&["--as", "olu@acme.example", "risks", "accept", "R-1", "--expires", &too_far]);
    assert!(forever.stderr.contains("more than three years away"), "{}", forever.stderr);
    let not_a_date = evident.fails(&["--as", "olu@acme.example", "risks", "accept", "R-1", "--expires", "next year"]);
    assert!(not_a_date.stderr.contains("invalid value 'next year' for '--expires <EXPIRES>'"), "{}", not_a_date.stderr);
    assert_eq!(audit_records(&evident), records, "none of the refused changes was written");
    assert_eq!(count(&evident, &["risks", "list", "--json"]), 1);

    evident.ok(&[
        "--as",
        "olu@acme.example",
        "risks",
        "accept",
        "R-1",
        "--expires",
        &in_a_year,
        "--note",
        "Within appetite",
    ]);
    let risk = &evident.ok(&["risks", "list", "--json"]).json()[0];
    assert_eq!(
        (risk["acceptance"]["by"].as_str(), risk["acceptance"]["expires"].as_str()),
        (Some("olu@acme.example"), Some(in_a_year.as_str()))
    );
    let after_expiry = (today + chrono::Days::new(400)).to_string();
    let due = evident.ok(&["risks", "due", "--on", &after_expiry, "--json"]).json();
    let whys: Vec<_> = due.as_array().unwrap().iter().map(|d| d["due"]["why"].as_str().unwrap()).collect();
    assert_eq!(whys, ["review_overdue", "acceptance_expired", "planned_control_overdue"]);
}

#[test]
fn assets_and_risks_import_whole_or_not_at_all_and_reports_export() {
    let evident = Evident::sqlite();
    new_org_with_register(&evident);
    evident.ok(&["methodology", "set", "--preset", "4x4"]);
    let assets = evident.dir.path().join("assets.csv");
    std::fs::write(
        &assets,
        "code,name,type,owner,classification,confidentiality,integrity,availability,parent\n\
         AST-APP,Web application,software,olu@acme.example,confidential,4,4,5,AST-PLATFORM\n\
         AST-PLATFORM,Platform,service,,internal,3,3,5,\n\
         AST-BAD,Broken,spaceship,,internal,9,3,3,AST-GHOST\n",
    )
    .unwrap();
    let run = evident.fails(&["assets", "import", assets.to_str().unwrap()]);
    for expected in [
        "row 4, column type: \"spaceship\" is not a valid asset type",
        "row 4, column confidentiality: \"9\" is not a value from 1 to 5",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    assert_eq!(count(&evident, &["assets", "list", "--json"]), 1, "only the asset made before");
    let text = std::fs::read_to_string(&assets).unwrap();
    std::fs::write(&assets, text.lines().take(3).collect::<Vec<_>>().join("\n")).unwrap();
    evident.ok(&["assets", "import", assets.to_str().unwrap()]);
    assert_eq!(count(&evident, &["assets", "list", "--json"]), 3, "a child listed before its parent imports too");

    let risks = evident.dir.path().join("risks.csv");
    let header = "code,title,assets,threat,vulnerability,owner,likelihood,impact,treatment,controls,residual_likelihood,residual_impact,residual_justification,review_date\n";
    let good = "R-10,Outage of the web app,AST-APP,T-30,V-06,olu@acme.example,3,4,modify,OPS-05; OPS-06@2027-02-01,2,2,,2027-06-01\n";
    let bad =
        "R-11,Worse after treatment,AST-APP;AST-NOPE,T-01,V-03,olu@acme.example,1,1,modify,IAM-99,2,2,,2027-06-01\n";
    std::fs::write(&risks, format!("{header}{good}{bad}")).unwrap();
    let run = evident.fails(&["risks", "import", risks.to_str().unwrap()]);
    assert!(run.stderr.contains("row 3, column assets: asset AST-NOPE does not exist"), "{}", run.stderr);
    assert!(run.stderr.contains("row 3, column controls: control IAM-99 does not exist"), "{}", run.stderr);
    assert_eq!(count(&evident, &["risks", "list", "--json"]), 0, "the good row was not written either");
    let justified = "R-11,Worse after treatment,AST-APP,T-01,V-03,olu@acme.example,1,1,retain,,2,2,A new integration widened exposure,2027-06-01\n";
    std::fs::write(&risks, format!("{header}{good}{justified}")).unwrap();
    evident.ok(&["risks", "import", risks.to_str().unwrap()]);
    assert_eq!(count(&evident, &["risks", "list", "--json"]), 2);

    // The register exports in three formats and the CSV imports back as it is.
    for name in ["register.csv", "register.xlsx", "register.md"] {
        let file = evident.dir.path().join(name);
        evident.ok(&["risks", "export", file.to_str().unwrap()]);
        assert!(std::fs::metadata(&file).unwrap().len() > 100, "{name}");
    }
    let before = evident.ok(&["risks", "list", "--json"]).json();
    evident.ok(&["risks", "import", evident.dir.path().join("register.csv").to_str().unwrap()]);
    assert_eq!(evident.ok(&["risks", "list", "--json"]).json(), before);
    // Closing a risk is an edit of its status column.
    let exported = std::fs::read_to_string(evident.dir.path().join("register.csv")).unwrap();
    let closing: String = exported
        .lines()
        .map(|l| if l.starts_with("R-11,") { l.replacen(",open", ",closed", 1) } else { l.to_owned() } + "\n")
        .collect();
    let edited = evident.dir.path().join("closing.csv");
    std::fs::write(&edited, closing.replace(",closed", ",archived")).unwrap();
    let refused = evident.fails(&["risks", "import", edited.to_str().unwrap()]);
    assert!(
        refused.stderr.contains("row 3, column status: \"archived\" is not a status (open, closed)"),
        "{}",
        refused.stderr
    );
    std::fs::write(&edited, closing).unwrap();
    evident.ok(&["risks", "import", edited.to_str().unwrap()]);
    let listed = evident.ok(&["risks", "list", "--json"]).json();
    let closed: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["code"].as_str().unwrap(), r["closed"].as_bool().unwrap()))
        .collect();
    assert_eq!(closed, [("R-10", false), ("R-11", true)]);
    let markdown = std::fs::read_to_string(evident.dir.path().join("register.md")).unwrap();
    assert!(markdown.contains("| R-10 ") && markdown.contains("| Outage of the web app"), "{markdown}");

    let plan = evident.ok(&["risks", "treatment-plan", "--format", "md"]).stdout;
    assert!(
        plan.contains("| R-10 ")
            && plan.contains("| OPS-06 ")
            && plan.contains("| planned ")
            && plan.contains("2027-02-01"),
        "{plan}"
    );
    let plan_csv = evident.ok(&["risks", "treatment-plan", "--format", "csv"]).stdout;
    assert_eq!(plan_csv.lines().count(), 1 + 2, "a header and R-10's two controls; the closed R-11 is not planned");
    let xlsx = evident.dir.path().join("plan.xlsx");
    evident.ok(&["risks", "treatment-plan", "--format", "xlsx", "--output", xlsx.to_str().unwrap()]);
    use calamine::Reader as _;
    let mut workbook = calamine::open_workbook_auto(&xlsx).unwrap();
    assert_eq!(workbook.worksheet_range_at(0).unwrap().unwrap().rows().count(), 3);
    assert!(evident.fails(&["risks", "treatment-plan", "--format", "xlsx"]).stderr.contains("needs a file"));
}

#[test]
fn an_acceptance_stops_holding_when_the_risk_is_re_rated_and_the_risk_shows_as_due() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let register = evident.ok(&["risks", "list", "--json"]).json();
        let accepted = register.as_array().unwrap().iter().find(|r| !r["acceptance"].is_null()).unwrap();
        let code = accepted["code"].as_str().unwrap().to_owned();
        let due_before = evident.ok(&["risks", "due", "--json"]).json().to_string();
        assert!(!due_before.contains("acceptance_lapsed"), "every demo acceptance holds");

        let file = evident.dir.path().join("register.csv");
        evident.ok(&["risks", "export", file.to_str().unwrap()]);
        let text = std::fs::read_to_string(&file).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        let column = |name: &str| header.iter().position(|h| h == name).unwrap();
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&header).unwrap();
        for record in reader.records() {
            let mut row: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
            if row[0] == code {
                row[column("residual_likelihood")] = "5".into();
                row[column("residual_impact")] = "5".into();
                row[column("residual_justification")] = "A new supplier widened the exposure".into();
            }
            writer.write_record(&row).unwrap();
        }
        std::fs::write(&file, writer.into_inner().unwrap()).unwrap();
        evident.ok(&["risks", "import", file.to_str().unwrap()]);

        let due = evident.ok(&["risks", "due", "--json"]).json();
        let lapsed: Vec<_> = due
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["due"]["why"] == "acceptance_lapsed")
            .map(|d| d["risk"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            lapsed,
            std::slice::from_ref(&code),
            "{}: only the re-rated risk's acceptance lapsed",
            evident.name()
        );
        let human = evident.ok(&["risks", "due"]);
        assert!(human.stdout.contains("the acceptance no longer holds: re-rated"), "{}", human.stdout);
    }
}
