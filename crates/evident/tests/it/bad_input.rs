//! Bad input gets one clear message naming what and where, a non-zero exit, and writes nothing.

use crate::support::Evident;

#[test]
fn an_unknown_framework_is_named() {
    let evident = Evident::sqlite();
    let run = evident.fails(&["frameworks", "show", "iso27001:2099"]);
    assert_eq!(run.stderr.lines().next(), Some("error: unknown framework iso27001:2099"));
    assert!(run.stderr.contains("hint: run `evident frameworks list`"));
    let malformed = evident.fails(&["frameworks", "show", "ISO 27001"]);
    assert!(malformed.stderr.contains("\"ISO 27001\" is not a valid framework id"), "{}", malformed.stderr);
}

#[test]
fn a_bad_or_unknown_requirement_ref_is_named_and_nothing_is_mapped() {
    let evident = Evident::sqlite();
    evident.ok(&["demo"]);
    let before = evident.ok(&["controls", "show", "IAM-01", "--json"]).json()["mappings"].as_array().unwrap().len();
    let malformed = evident.fails(&["controls", "map", "IAM-01", "iso27001:2022", "A..5", "--rationale", "x"]);
    assert!(malformed.stderr.contains("\"A..5\" is not a valid requirement ref"), "{}", malformed.stderr);
    let unknown = evident.fails(&["controls", "map", "IAM-01", "iso27001:2022", "A.9.99", "--rationale", "x"]);
    assert!(unknown.stderr.contains("A.9.99 is not a requirement of iso27001:2022"), "{}", unknown.stderr);
    let group = evident.fails(&["controls", "map", "IAM-01", "iso27001:2022", "6.1", "--rationale", "x"]);
    assert!(group.stderr.contains("map one of: 6.1.1, 6.1.2, 6.1.3"), "{}", group.stderr);
    assert!(group.stderr.contains("code: requirement_not_assessable"), "{}", group.stderr);
    let after = evident.ok(&["controls", "show", "IAM-01", "--json"]).json()["mappings"].as_array().unwrap().len();
    assert_eq!(before, after);
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let evident = Evident::sqlite();
    let run = evident.fails(&["--database-url", "postgres://evident:s3cret@127.0.0.1:1/evident", "orgs", "list"]);
    assert!(
        run.stderr.contains("cannot reach the database: postgres://evident:***@127.0.0.1:1/evident"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret"));
    assert!(run.stderr.contains("hint: check --database-url"));
    let scheme = evident.fails(&["--database-url", "mysql://localhost/x", "orgs", "list"]);
    assert!(scheme.stderr.contains("unsupported database URL"), "{}", scheme.stderr);
}

#[test]
fn a_data_directory_that_cannot_be_created_is_named_and_left_alone() {
    let mut evident = Evident::sqlite();
    let file = evident.dir.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let target = file.join("data");
    evident.data_dir = target.clone();
    let run = evident.fails(&["init"]);
    assert!(run.stderr.contains("cannot create the data directory"), "{}", run.stderr);
    assert!(run.stderr.contains(target.to_str().unwrap()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x", "nothing was written");
}

#[test]
fn roles_are_enforced_with_the_reason() {
    let evident = Evident::sqlite();
    evident.ok(&["demo"]);
    let run = evident.fails(&["--as", "auditor@audit-firm.example", "controls", "retire", "IAM-01"]);
    assert!(run.stderr.contains("auditor@audit-firm.example is auditor in demo and may not do this"), "{}", run.stderr);
    assert!(run.stderr.contains("this needs one of the roles: admin, compliance_manager"), "{}", run.stderr);
    assert!(run.stderr.contains("code: permission_denied"), "{}", run.stderr);
    let control = evident.ok(&["controls", "show", "IAM-01", "--json"]).json();
    assert!(control["retired_at"].is_null(), "the refused change was not made");
    // A control owner may edit but not retire.
    evident.ok(&["--as", "platform@northwind.example", "controls", "edit", "IAM-01", "--status", "implemented"]);
    evident.fails(&["--as", "platform@northwind.example", "controls", "retire", "IAM-01"]);
}

#[test]
fn init_is_idempotent() {
    let evident = Evident::sqlite();
    evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    let again = evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    assert!(again.stdout.contains("organisation acme already exists"));
    assert_eq!(evident.ok(&["orgs", "list", "--json"]).json().as_array().unwrap().len(), 1);
    let taken = evident.fails(&["init", "--create-org", "acme", "--admin", "eve@other.example"]);
    assert!(taken.stderr.contains("organisation acme already exists"));
}
