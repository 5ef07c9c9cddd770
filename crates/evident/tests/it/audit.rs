//! `evident demo` and `evident verify` on every backend, untouched and tampered with.

use crate::support::Evident;

fn demo_org_id(evident: &Evident) -> String {
    // The organisation id is internal; tampering needs it, so read it the way an attacker would.
    let orgs = evident.ok(&["orgs", "list", "--json"]).json();
    assert_eq!(orgs[0]["slug"], "demo");
    orgs[0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn the_demo_is_idempotent_and_its_audit_log_verifies() {
    for evident in Evident::every_backend() {
        let first = evident.ok(&["demo"]);
        assert!(first.stdout.contains("demo organisation demo (Northwind Cloud Ltd)"), "{}", first.stdout);
        let controls = evident.ok(&["controls", "list", "--json"]).json();
        let count = controls.as_array().unwrap().len();
        assert!(count >= 80, "{}: the demo has a realistic control set, got {count}", evident.name());

        let again = evident.ok(&["demo"]);
        assert!(again.stdout.contains("already exists"));
        assert_eq!(
            evident.ok(&["controls", "list", "--json"]).json().as_array().unwrap().len(),
            count,
            "nothing doubled"
        );

        let verified = evident.ok(&["verify", "--json"]).json();
        assert_eq!(verified[0]["ok"], true, "{}: {verified}", evident.name());
        assert!(verified[0]["records"].as_u64().unwrap() > count as u64, "every control creation was logged");
    }
}

#[test]
fn an_edited_audit_record_fails_verification_and_is_named() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let org = demo_org_id(&evident);
        evident.tamper(&format!(
            "UPDATE audit_log SET after_json = '{{\"forged\":true}}' WHERE org_id = '{org}' AND seq = 7"
        ));
        let run = evident.fails(&["verify"]);
        assert!(run.stderr.contains("record #7"), "{}: {}", evident.name(), run.stderr);
        assert!(run.stderr.contains("was edited"), "{}", run.stderr);
    }
}

#[test]
fn a_deleted_audit_record_fails_verification_and_is_named() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let org = demo_org_id(&evident);
        evident.tamper(&format!("DELETE FROM audit_log WHERE org_id = '{org}' AND seq = 12"));
        let run = evident.fails(&["verify"]);
        assert!(run.stderr.contains("a record before #13"), "{}: {}", evident.name(), run.stderr);
        assert!(run.stderr.contains("deleted"), "{}", run.stderr);
    }
}

#[test]
fn reordered_audit_records_fail_verification_and_are_named() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let org = demo_org_id(&evident);
        for (from, to) in [(20, -1), (21, 20), (-1, 21)] {
            evident.tamper(&format!("UPDATE audit_log SET seq = {to} WHERE org_id = '{org}' AND seq = {from}"));
        }
        let run = evident.fails(&["verify", "--json"]);
        let verdict = &run.json()[0];
        assert_eq!(verdict["ok"], false);
        assert_eq!(verdict["problem"]["problem"], "reordered", "{}: {verdict}", evident.name());
        assert_eq!(verdict["problem"]["seq"], 20);
    }
}

/// Re-chains the demo organisation's whole log after an edit, as a forger who knows the algorithm
/// would, and sets its head to match.
fn rehash(evident: &Evident, org: &str) {
    let org = evident_core::OrgId::from_store(org.to_owned());
    crate::support::runtime().block_on(async {
        match &evident.database_url {
            Some(url) => {
                let store = evident_store_postgres::PostgresStore::connect(url).await.unwrap();
                evident_store::testkit::verify::rehash_chain(&store, &org).await;
            }
            None => {
                let store =
                    evident_store_sqlite::SqliteStore::open(&evident.data_dir.join("evident.db")).await.unwrap();
                evident_store::testkit::verify::rehash_chain(&store, &org).await;
            }
        }
    });
}

#[test]
fn a_state_row_changed_behind_the_log_is_named() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let org = demo_org_id(&evident);
        let members = evident.ok(&["members", "list", "--json"]).json();
        let viewer = members.as_array().unwrap().iter().find(|m| m["role"] != "admin").unwrap();
        let (email, role) = (viewer["email"].as_str().unwrap(), viewer["role"].as_str().unwrap());
        evident.tamper(&format!(
            "UPDATE memberships SET role = 'admin' WHERE org_id = '{org}' \
             AND user_id = (SELECT id FROM users WHERE email = '{email}')"
        ));
        let run = evident.fails(&["verify"]);
        let named = format!("memberships: {email} has role admin, the audit log says {role} (record ");
        assert!(run.stderr.contains(&named), "{}: {}", evident.name(), run.stderr);
        let verdict = &evident.fails(&["verify", "--json"]).json()[0];
        assert_eq!(verdict["ok"], false);
        assert_eq!(verdict["problems"][0]["code"], "state_differs", "{verdict}");
    }
}

#[test]
fn an_emptied_log_fails_verification_even_without_a_witness() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let org = demo_org_id(&evident);
        evident.tamper(&format!("DELETE FROM audit_log WHERE org_id = '{org}'"));
        evident.tamper(&format!(
            "UPDATE organisations SET audit_head_seq = 0, audit_head_hash = '{}' WHERE id = '{org}'",
            "0".repeat(64)
        ));
        let run = evident.fails(&["verify"]);
        assert!(run.stderr.contains("is in the table, but the audit log never wrote it"), "{}", run.stderr);
    }
}

#[test]
fn a_re_hashed_log_passes_alone_and_fails_against_its_witness() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let org = demo_org_id(&evident);
        let witness = evident.dir.path().join("elsewhere").join("witness.jsonl");
        std::fs::create_dir_all(witness.parent().unwrap()).unwrap();
        let witness = witness.to_str().unwrap();
        let anchored = evident.ok(&["anchor", "--witness", witness]);
        assert!(anchored.stdout.contains("demo: anchored head #"), "{}", anchored.stdout);
        let line: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(witness).unwrap().lines().next().unwrap()).unwrap();
        assert_eq!((line["organisation"].as_str(), line["organisation_id"].as_str()), (Some("demo"), Some(&*org)));
        assert!(evident.ok(&["verify", "--witness", witness]).stdout.contains("extends the witnessed head"));

        // Who did it is not state: an edit of the actor, re-chained, leaves nothing to replay.
        evident
            .tamper(&format!("UPDATE audit_log SET actor = 'mallory@evil.example' WHERE org_id = '{org}' AND seq = 7"));
        rehash(&evident, &org);
        let alone = evident.ok(&["verify"]);
        assert!(alone.stdout.contains("without a witness"), "{}", alone.stdout);
        let run = evident.fails(&["verify", "--witness", witness]);
        assert!(run.stderr.contains("witness_not_extended"), "{}: {}", evident.name(), run.stderr);
        assert!(run.stderr.contains("no longer has the hash the witness recorded"), "{}", run.stderr);
        let refused = evident.fails(&["anchor", "--witness", witness]);
        assert!(refused.stderr.contains("code: witness_not_extended"), "{}", refused.stderr);
        assert_eq!(std::fs::read_to_string(witness).unwrap().lines().count(), 1, "nothing appended");
    }
}

#[test]
fn a_missing_witness_file_is_an_error_with_its_code() {
    let evident = Evident::sqlite();
    evident.ok(&["demo"]);
    let run = evident.fails(&["verify", "--witness", "/nonexistent/witness.jsonl"]);
    assert!(run.stderr.contains("cannot read the witness file"), "{}", run.stderr);
    assert!(run.stderr.contains("witness_unreadable"), "{}", run.stderr);
}

#[test]
fn a_mapping_to_a_requirement_that_no_longer_exists_is_reported_by_verify_and_readiness() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        evident.tamper(
            "UPDATE mappings SET requirement_ref = 'CC9.9' WHERE control_code = 'IAM-01' AND framework_id = 'soc2:2017' \
             AND requirement_ref = (SELECT MIN(requirement_ref) FROM mappings WHERE control_code = 'IAM-01' \
             AND framework_id = 'soc2:2017')",
        );
        let run = evident.run(&["verify", "--json"]);
        assert_ne!(run.code, 0, "{}: verify fails", evident.name());
        assert!(run.stdout.contains("stale_mapping"), "{}: {}", evident.name(), run.stdout);
        assert!(run.stdout.contains("IAM-01 is mapped to soc2:2017 CC9.9"), "{}", run.stdout);
        let readiness = evident.ok(&["readiness", "--json"]).json();
        let stale = readiness["stale_mappings"].to_string();
        assert!(stale.contains("CC9.9"), "readiness lists it too: {stale}");
    }
}
