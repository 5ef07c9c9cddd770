//! Members: roles change, the last administrator stays, and a person's name is per organisation.

use crate::support::Evident;

fn member(evident: &Evident, org: &str, email: &str) -> serde_json::Value {
    let members = evident.ok(&["--org", org, "members", "list", "--json"]).json();
    members.as_array().unwrap().iter().find(|m| m["email"] == email).cloned().unwrap()
}

#[test]
fn a_role_changes_the_last_administrator_stays_and_verify_follows() {
    for evident in Evident::every_backend() {
        evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
        evident.ok(&["members", "add", "olu@acme.example", "--role", "viewer"]);
        evident.ok(&["members", "set", "olu@acme.example", "--role", "control_owner"]);
        assert_eq!(member(&evident, "acme", "olu@acme.example")["role"], "control_owner", "{}", evident.name());
        let again = evident.ok(&["members", "set", "olu@acme.example", "--role", "control_owner"]);
        assert!(again.stdout.contains("nothing changed"), "{}", again.stdout);
        let last = evident.fails(&["members", "set", "ada@acme.example", "--role", "viewer"]);
        assert!(last.stderr.contains("last administrator"), "{}", last.stderr);
        assert_eq!(member(&evident, "acme", "ada@acme.example")["role"], "admin");
        let by_owner =
            evident.fails(&["--as", "olu@acme.example", "members", "set", "olu@acme.example", "--role", "admin"]);
        assert!(by_owner.stderr.contains("code: permission_denied"), "{}", by_owner.stderr);
        evident.ok(&["verify"]);
    }
}

#[test]
fn a_persons_name_belongs_to_each_organisation() {
    let evident = Evident::sqlite();
    evident.ok(&["orgs", "create", "acme", "--admin", "ada@acme.example"]);
    evident.ok(&["orgs", "create", "globex", "--admin", "gus@globex.example"]);
    evident.ok(&[
        "--org",
        "acme",
        "members",
        "add",
        "sam@contractor.example",
        "--role",
        "viewer",
        "--name",
        "Sam (Acme audit)",
    ]);
    evident.ok(&[
        "--org",
        "globex",
        "members",
        "add",
        "sam@contractor.example",
        "--role",
        "auditor",
        "--name",
        "S. Jones",
    ]);
    evident.ok(&["--org", "globex", "members", "set", "sam@contractor.example", "--name", "Samantha Jones"]);
    assert_eq!(member(&evident, "acme", "sam@contractor.example")["display_name"], "Sam (Acme audit)");
    assert_eq!(member(&evident, "globex", "sam@contractor.example")["display_name"], "Samantha Jones");
    assert_eq!(member(&evident, "acme", "sam@contractor.example")["role"], "viewer");
}
