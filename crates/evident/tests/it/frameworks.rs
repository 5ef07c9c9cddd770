//! The framework library as a user sees it through the CLI.

use crate::support::Evident;

fn requirements(framework: &str) -> Vec<serde_json::Value> {
    let shown = Evident::sqlite().ok(&["frameworks", "show", framework, "--json"]).json();
    assert_eq!(shown["id"], framework);
    shown["requirements"].as_array().unwrap().clone()
}

fn count(requirements: &[serde_json::Value], kind: &str) -> usize {
    requirements.iter().filter(|r| r["kind"] == kind).count()
}

#[test]
fn iso27001_2022_lists_41_clauses_and_93_annex_a_controls() {
    let all = requirements("iso27001:2022");
    assert_eq!(count(&all, "clause"), 41);
    assert_eq!(count(&all, "control"), 93);
    let a515 = all.iter().find(|r| r["ref"] == "A.5.15").unwrap();
    assert_eq!(a515["title"], "Access control");
    assert_eq!(a515["parent"], "A.5");
    assert_eq!(a515["attributes"]["new_in_2022"], false);
    assert!(a515["description"].as_str().unwrap().len() > 20);
}

#[test]
fn soc2_lists_61_criteria_and_iso27001_2013_lists_114_controls() {
    assert_eq!(count(&requirements("soc2:2017"), "criterion"), 61);
    assert_eq!(count(&requirements("iso27001:2013"), "control"), 114);
}

#[test]
fn soc2_carries_points_of_focus_and_iso27001_2013_its_clauses() {
    let soc2 = requirements("soc2:2017");
    assert!(count(&soc2, "point_of_focus") > 250);
    let pf = soc2.iter().find(|r| r["ref"] == "CC6.1.pf3").unwrap();
    assert_eq!(pf["parent"], "CC6.1");
    assert_eq!(count(&requirements("iso27001:2013"), "clause"), 35, "7 clauses, 2 groups, 26 sub-clauses");
    let listed = Evident::sqlite().ok(&["frameworks", "list", "--json"]).json();
    let listed = listed.as_array().unwrap().iter().find(|f| f["id"] == "soc2:2017").unwrap().clone();
    assert_eq!((listed["assessable"].as_u64(), listed["guidance_kind"].as_str()), (Some(61), Some("point_of_focus")));
    assert!(listed["guidance"].as_u64().unwrap() > 250);
}

#[test]
fn readiness_soa_and_controls_filter_and_group_by_attribute() {
    let evident = Evident::sqlite();
    evident.ok(&["demo"]);
    let args = ["readiness", "--framework", "iso27001:2022", "--attribute", "security_domain=defence", "--json"];
    let defence = evident.ok(&args).json();
    let rows = defence["frameworks"][0]["requirements"].as_array().unwrap();
    let iso = requirements("iso27001:2022");
    let domains = |reference: &serde_json::Value| {
        iso.iter().find(|r| r["ref"] == *reference).unwrap()["attributes"]["security_domains"].clone()
    };
    assert!(!rows.is_empty() && rows.len() < 93, "{} rows", rows.len());
    assert!(rows.iter().all(|r| domains(&r["ref"]).as_array().unwrap().contains(&"Defence".into())));
    let grouped = evident.ok(&["readiness", "--framework", "iso27001:2022", "--group-by", "cybersecurity_concepts"]);
    assert!(grouped.stdout.contains("iso27001:2022 by cybersecurity_concepts"), "{}", grouped.stdout);
    assert!(grouped.stdout.contains("Recover"), "{}", grouped.stdout);
    let soa = evident.ok(&["soa", "show", "--attribute", "control_type=corrective", "--json"]).json();
    assert!(soa.as_array().unwrap().iter().any(|r| r["ref"] == "A.5.26"), "A.5.26 incident response is corrective");
    assert!(soa.as_array().unwrap().iter().all(|r| r["ref"] != "A.5.1"));
    let controls = evident.ok(&[
        "controls",
        "list",
        "--attribute",
        "security_domains=resilience",
        "--group-by",
        "security_domains",
    ]);
    assert!(controls.stdout.contains("security_domains = Resilience"), "{}", controls.stdout);
    let bad = evident.fails(&["readiness", "--attribute", "defence"]);
    assert!(bad.stderr.contains("is not KEY=VALUE"), "{}", bad.stderr);
    // The SOC 2 drill-down names the points of focus each control addresses.
    let soc2 = evident.ok(&["readiness", "--framework", "soc2:2017", "--json"]).json();
    let cc81 =
        soc2["frameworks"][0]["requirements"].as_array().unwrap().iter().find(|r| r["ref"] == "CC8.1").unwrap().clone();
    let chg01 = cc81["controls"].as_array().unwrap().iter().find(|c| c["control"] == "CHG-01").unwrap().clone();
    assert!(chg01["guidance"].as_array().unwrap().contains(&"CC8.1.pf2".into()), "{chg01}");
}

#[test]
fn adopting_soc2_keeps_security_mandatory() {
    let evident = Evident::sqlite();
    evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    evident.ok(&["frameworks", "adopt", "soc2:2017", "--categories", "availability"]);
    let listed = evident.ok(&["frameworks", "list", "--json"]).json();
    let soc2 = listed.as_array().unwrap().iter().find(|f| f["id"] == "soc2:2017").unwrap();
    assert_eq!(soc2["adopted"], true);
    let bad = evident.fails(&["frameworks", "adopt", "soc2:2017", "--categories", "speed"]);
    assert!(bad.stderr.contains("soc2:2017 has no category \"speed\""), "{}", bad.stderr);
    assert!(bad.stderr.contains("choose from: security, availability"), "{}", bad.stderr);
}

// ---- An organisation's own frameworks: import, adopt, map, readiness, isolation. ----

/// An internal security policy in our own words: 5 sections of 5 statements, 30 requirements of
/// which the 25 statements are assessed. Two refs carry a display label.
fn acme_policy() -> String {
    let sections = [
        ("AP-1", "Access", "Who may reach what, and how that is kept true."),
        ("AP-2", "Operations", "How systems are run, changed and watched."),
        ("AP-3", "People", "What staff learn and promise."),
        ("AP-4", "Suppliers", "What we ask of those who handle our data."),
        ("AP-5", "Incidents", "How we notice, handle and learn from incidents."),
    ];
    let mut text = String::from(
        "# Acme's internal security policy, as a framework.\n\
         id = \"org/acme-policy:2025\"\n\
         name = \"Acme security policy\"\n\
         version = \"2025\"\n\
         title = \"Acme information security policy\"\n\
         publisher = \"Acme Ltd\"\n\
         description = \"The statements of our own policy that every control is held against.\"\n",
    );
    for (reference, title, description) in sections {
        text.push_str(&format!(
            "\n[[requirements]]\nref = \"{reference}\"\nkind = \"section\"\ntitle = \"{title}\"\ndescription = \"{description}\"\n"
        ));
        for n in 1..=5 {
            let label = if reference == "AP-1" && n <= 2 { format!("label = \"AP-1({n})\"\n") } else { String::new() };
            text.push_str(&format!(
                "\n[[requirements]]\nref = \"{reference}.{n}\"\n{label}parent = \"{reference}\"\nkind = \"statement\"\n\
                 title = \"{title} statement {n}\"\ndescription = \"Statement {n} of the {title} section, in our words.\"\n"
            ));
        }
    }
    text
}

fn write(evident: &Evident, name: &str, text: &str) -> String {
    let path = evident.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The number of audit records of an organisation, read from its chain head.
fn audit_records(evident: &Evident, slug: &str) -> i64 {
    use evident_store::Store;
    crate::support::runtime().block_on(async {
        let store: Box<dyn Store> = match &evident.database_url {
            Some(url) => Box::new(evident_store_postgres::PostgresStore::connect(url).await.unwrap()),
            None => {
                Box::new(evident_store_sqlite::SqliteStore::open(&evident.data_dir.join("evident.db")).await.unwrap())
            }
        };
        let slug = evident_core::OrgSlug::parse(slug).unwrap();
        let org = store.org_by_slug(&slug).await.unwrap().unwrap();
        store.chain_head(&org.id).await.unwrap().seq
    })
}

fn listed(evident: &Evident, org: &str) -> Vec<serde_json::Value> {
    evident.ok(&["--org", org, "frameworks", "list", "--json"]).json().as_array().unwrap().clone()
}

const POLICY: &str = "org/acme-policy:2025";

#[test]
fn an_imported_policy_is_adopted_mapped_and_assessed_beside_the_builtin_ones() {
    for evident in Evident::every_backend() {
        let backend = evident.name();
        evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
        let policy = write(&evident, "acme-policy.toml", &acme_policy());

        let imported = evident.ok(&["frameworks", "import", &policy, "--json"]).json();
        assert_eq!(imported["id"], POLICY, "{backend}");
        assert_eq!((imported["requirements"].as_u64(), imported["assessable"].as_u64()), (Some(30), Some(25)));
        assert_eq!(imported["created"], true);

        let library = listed(&evident, "acme");
        let mine = library.iter().find(|f| f["id"] == POLICY).unwrap_or_else(|| panic!("{backend}: {library:?}"));
        assert_eq!((mine["source"].as_str(), mine["adopted"].as_bool()), (Some("imported"), Some(false)));
        assert_eq!(mine["assessable"], 25);
        let iso = library.iter().find(|f| f["id"] == "iso27001:2022").unwrap();
        assert_eq!(iso["source"], "builtin");

        let shown = evident.ok(&["frameworks", "show", POLICY, "--json"]).json();
        let requirements = shown["requirements"].as_array().unwrap();
        assert_eq!(requirements.len(), 30);
        assert_eq!(
            (requirements[1]["ref"].as_str(), requirements[1]["label"].as_str()),
            (Some("AP-1.1"), Some("AP-1(1)"))
        );
        assert!(requirements[3].get("label").is_none(), "no label where the ref is the label");
        assert_eq!(requirements[1]["kind"], "statement", "kinds are the data's own words");

        evident.ok(&["frameworks", "adopt", POLICY]);
        for (code, status) in
            [("IAM-01", "implemented"), ("OPS-01", "in_progress"), ("OPS-02", "implemented"), ("HR-01", "not_started")]
        {
            evident.ok(&["controls", "create", code, "--title", &format!("Control {code}"), "--status", status]);
        }
        for reference in ["AP-1.1", "AP-1.2", "AP-1.3"] {
            evident.ok(&["controls", "map", "IAM-01", POLICY, reference, "--rationale", "Reviews access quarterly."]);
        }
        evident.ok(&[
            "controls",
            "map",
            "OPS-01",
            POLICY,
            "AP-2.1",
            "--rationale",
            "Change approval, being rolled out.",
        ]);
        evident.ok(&[
            "controls",
            "map",
            "OPS-02",
            POLICY,
            "AP-2.2",
            "--coverage",
            "partial",
            "--rationale",
            "Monitoring, not alerting.",
        ]);
        evident.ok(&["controls", "map", "HR-01", POLICY, "AP-3.1", "--rationale", "Awareness training."]);
        let group = evident.fails(&["controls", "map", "IAM-01", POLICY, "AP-1", "--rationale", "A section."]);
        assert!(group.stderr.contains("code: requirement_not_assessable"), "{backend}: {}", group.stderr);

        // 3 covered, 2 partial, 20 missing of 25: (3 + 2 × ½) / 25 = 16 %.
        let readiness = evident.ok(&["readiness", "--json"]).json();
        let frameworks = readiness["frameworks"].as_array().unwrap();
        let mine = frameworks.iter().find(|f| f["framework"] == POLICY).unwrap();
        let counts =
            ["covered", "partial", "missing", "not_applicable", "applicable"].map(|k| mine[k].as_u64().unwrap());
        assert_eq!(counts, [3, 2, 20, 0, 25], "{backend}");
        assert!((mine["percent"].as_f64().unwrap() - 16.0).abs() < 1e-9, "{backend}: {mine}");
        assert_eq!(mine["groups"].as_array().unwrap().len(), 5, "one group per section");
        assert_eq!(readiness["stale_mappings"], serde_json::json!([]), "every mapping points at a requirement");
        let drill = evident.ok(&["readiness", "--framework", POLICY, "--json"]).json();
        let ap21 =
            drill["frameworks"][0]["requirements"].as_array().unwrap().iter().find(|r| r["ref"] == "AP-2.1").unwrap();
        let why = &ap21["reason"];
        assert_eq!(
            (ap21["status"].as_str(), why["rule"].as_str(), why["in_progress"][0]["code"].as_str()),
            (Some("partial"), Some("partial"), Some("OPS-01"))
        );

        // No crosswalk reaches an imported framework: the gap says so and what to do instead.
        evident.ok(&["frameworks", "adopt", "soc2:2017"]);
        let gap = evident.fails(&["gap", "--from", "soc2:2017", "--to", POLICY]);
        assert!(gap.stderr.contains("code: crosswalk_not_found"), "{backend}: {}", gap.stderr);
        assert!(gap.stderr.contains(&format!("{POLICY} is an imported framework")), "{}", gap.stderr);
        assert!(gap.stderr.contains(&format!("evident readiness --framework {POLICY}")), "{}", gap.stderr);

        // The SoA is ISO 27001's Annex A, whatever else the library holds.
        let soa = evident.ok(&["soa", "show", "--json"]).json();
        let rows = soa.as_array().unwrap();
        assert_eq!(rows.len(), 93, "{backend}");
        assert!(rows.iter().all(|r| r["ref"].as_str().unwrap().starts_with("A.")));

        // The same file again changes nothing, not even the audit log.
        let before = audit_records(&evident, "acme");
        let again = evident.ok(&["frameworks", "import", &policy, "--json"]).json();
        assert_eq!(again["created"], false, "{backend}");
        assert_eq!(audit_records(&evident, "acme"), before, "{backend}: an idempotent import writes no audit record");
        // Other content under the same id is refused: a new version needs a new id.
        let edited = write(
            &evident,
            "edited.toml",
            &acme_policy().replace("Statement 1 of the Access", "Statement one of the Access"),
        );
        let refused = evident.fails(&["frameworks", "import", &edited]);
        assert!(refused.stderr.contains("code: already_exists"), "{backend}: {}", refused.stderr);
        assert!(refused.stderr.contains("with other content"), "{}", refused.stderr);
        assert_eq!(audit_records(&evident, "acme"), before);
        let v2 = write(&evident, "v2.toml", &acme_policy().replace("org/acme-policy:2025", "org/acme-policy:2026"));
        evident.ok(&["frameworks", "import", &v2]);
        assert_eq!(audit_records(&evident, "acme"), before + 1, "one audit record per imported framework");

        // Another organisation sees none of it.
        evident.ok(&["orgs", "create", "globex", "--admin", "grace@globex.example"]);
        let theirs = listed(&evident, "globex");
        assert!(theirs.iter().all(|f| f["source"] == "builtin"), "{backend}: {theirs:?}");
        assert!(theirs.iter().any(|f| f["id"] == "iso27001:2022"));
        for args in [
            vec!["--org", "globex", "frameworks", "show", POLICY],
            vec!["--org", "globex", "frameworks", "adopt", POLICY],
            vec!["--org", "globex", "readiness", "--framework", POLICY],
        ] {
            let refused = evident.fails(&args);
            assert!(refused.stderr.contains("code: framework_not_found"), "{backend} {args:?}: {}", refused.stderr);
        }
        evident.ok(&["--org", "globex", "controls", "create", "IAM-01", "--title", "Access review"]);
        let map =
            evident.fails(&["--org", "globex", "controls", "map", "IAM-01", POLICY, "AP-1.1", "--rationale", "x"]);
        assert!(map.stderr.contains("code: framework_not_found"), "{backend}: {}", map.stderr);
        // The import is in the log, and the log agrees with the state.
        evident.ok(&["verify"]);
    }
}

#[test]
fn a_malformed_framework_is_refused_whole_with_every_problem_named() {
    for evident in Evident::every_backend() {
        let backend = evident.name();
        evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
        let records = audit_records(&evident, "acme");

        // CSV: row 1 is the header; every problem of the file comes back at once.
        let csv = write(
            &evident,
            "policy.csv",
            "ref,label,title,parent,kind,description\n\
             P-1,,Access,,section,Who may reach what.\n\
             P-1.1,P-1(a),Reviews,P-1,,Access is reviewed.\n\
             P-1.1,,Reviews again,P-1,,A second statement under the same ref.\n\
             P-2.1,,Orphan,P-9,,Its parent is nowhere.\n\
             P-3,,Loop one,P-4,,Part of a cycle.\n\
             P-4,,Loop two,P-3,,Part of a cycle.\n\
             P-5,,,,,Has no title.\n\
             P-6,,Bad kind,,Section!,The kind is not a label.\n",
        );
        let refused = evident.fails(&["frameworks", "import", &csv, "--id", "org/policy:1"]);
        let stderr = &refused.stderr;
        assert!(stderr.contains("code: invalid_row"), "{backend}: {stderr}");
        for expected in [
            "row 4, column ref: requirement P-1.1 is defined twice",
            "row 5, column parent: requirement P-2.1 names parent P-9, which does not exist",
            "row 6, column parent: requirement P-3 is its own ancestor",
            "row 8, column title: requirement P-5 has an empty title or description",
            "row 9, column kind: \"Section!\" is not a valid requirement kind",
        ] {
            assert!(stderr.contains(expected), "{backend}: expected {expected:?} in\n{stderr}");
        }

        let no_namespace = evident.fails(&["frameworks", "import", &csv, "--id", "iso27001:2022"]);
        assert!(no_namespace.stderr.contains("--id: iso27001:2022 has no namespace"), "{}", no_namespace.stderr);
        let no_id = evident.fails(&["frameworks", "import", &csv]);
        assert!(no_id.stderr.contains("name the framework with --id"), "{}", no_id.stderr);

        // TOML: a row is a line of the file.
        let policy = acme_policy();
        let bare = write(&evident, "bare.toml", &policy.replace("org/acme-policy:2025", "acme-policy:2025"));
        let refused = evident.fails(&["frameworks", "import", &bare]);
        assert!(
            refused.stderr.contains("row 2, column id: acme-policy:2025 has no namespace"),
            "{backend}: {}",
            refused.stderr
        );
        let bad_id = write(&evident, "bad-id.toml", &policy.replace("org/acme-policy:2025", "Org/Acme Policy:2025"));
        let refused = evident.fails(&["frameworks", "import", &bad_id]);
        assert!(
            refused.stderr.contains("row 2, column id: \"Org/Acme Policy:2025\" is not a valid framework id"),
            "{}",
            refused.stderr
        );
        // The duplicate is the [[requirements]] entry starting on line 21 (AP-1.2 renamed AP-1.1).
        let duplicate = write(&evident, "dup.toml", &policy.replace("ref = \"AP-1.2\"", "ref = \"AP-1.1\""));
        let refused = evident.fails(&["frameworks", "import", &duplicate]);
        let line = policy.lines().position(|l| l == "ref = \"AP-1.2\"").unwrap(); // 0-based: the header above it
        assert!(
            refused.stderr.contains(&format!("row {line}, column ref: requirement AP-1.1 is defined twice")),
            "{backend}: {}",
            refused.stderr
        );
        let with_flags =
            evident.fails(&["frameworks", "import", &write(&evident, "ok.toml", &policy), "--id", "org/x:1"]);
        assert!(with_flags.stderr.contains("names its framework itself"), "{}", with_flags.stderr);

        // A file far larger than any framework is refused before it is read.
        let huge = evident.dir.path().join("huge.toml");
        std::fs::File::create(&huge).unwrap().set_len(5 * 1024 * 1024).unwrap();
        let refused = evident.fails(&["frameworks", "import", huge.to_str().unwrap()]);
        assert!(refused.stderr.contains("more than the 4194304 bytes allowed"), "{}", refused.stderr);
        assert!(refused.stderr.contains("code: invalid_file"), "{}", refused.stderr);

        assert!(listed(&evident, "acme").iter().all(|f| f["source"] == "builtin"), "{backend}: nothing landed");
        assert_eq!(audit_records(&evident, "acme"), records, "{backend}: not even an audit record");
    }
}

/// A framework with a Statement of Applicability of its own (as ISO 42001 has): its data says so.
fn ai_policy() -> String {
    let mut text = String::from(
        "id = \"org/ai-controls:2026\"\nname = \"Acme AI controls\"\nversion = \"2026\"\n\
         title = \"Acme controls for AI systems\"\npublisher = \"Acme Ltd\"\n\
         description = \"The AI controls we decide on one by one.\"\nsoa = { kind = \"control\" }\n\
         \n[[requirements]]\nref = \"AI\"\nkind = \"theme\"\ntitle = \"AI controls\"\ndescription = \"Our AI controls.\"\n",
    );
    for n in 1..=3 {
        text.push_str(&format!(
            "\n[[requirements]]\nref = \"AI.{n}\"\nparent = \"AI\"\nkind = \"control\"\ntitle = \"AI control {n}\"\n\
             description = \"What AI control {n} asks, in our words.\"\n"
        ));
    }
    text
}

#[test]
fn a_framework_whose_data_carries_an_soa_gets_one_beside_iso_27001() {
    for evident in Evident::every_backend() {
        evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
        let file = evident.dir.path().join("ai.toml");
        std::fs::write(&file, ai_policy()).unwrap();
        evident.ok(&["frameworks", "import", file.to_str().unwrap()]);
        let ai = ["soa", "--framework", "org/ai-controls:2026"];
        let rows = evident.ok(&[&ai[..], &["show", "--json"]].concat()).json();
        let refs: Vec<_> = rows.as_array().unwrap().iter().map(|r| r["ref"].as_str().unwrap().to_owned()).collect();
        assert_eq!(refs, ["AI.1", "AI.2", "AI.3"], "{}: its rows are its controls", evident.name());
        let exclude =
            ["set", "AI.2", "--exclude", "--reason", "business_need", "--justification", "No models in production"];
        evident.ok(&[&ai[..], &exclude[..]].concat());
        evident.ok(&[&ai[..], &["approve"]].concat());
        let versions = evident.ok(&[&ai[..], &["versions", "--json"]].concat()).json();
        assert_eq!(versions.as_array().unwrap().len(), 1);
        assert_eq!(versions[0]["rows"][1]["applicable"], false);
        let iso = evident.ok(&["soa", "show", "--json"]).json();
        assert_eq!(iso.as_array().unwrap().len(), 93, "ISO 27001's SoA is untouched");
        assert!(iso.as_array().unwrap().iter().all(|r| r["applicable"] == true));
        let none = evident.fails(&["soa", "--framework", "soc2:2017", "show"]);
        assert!(none.stderr.contains("soc2:2017 has no Statement of Applicability"), "{}", none.stderr);
        evident.ok(&["verify"]);
    }
}
