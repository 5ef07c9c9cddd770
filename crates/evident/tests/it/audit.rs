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
