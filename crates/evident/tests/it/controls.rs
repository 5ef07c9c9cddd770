//! A control's identity, its revisions and who may touch it, as a user of the CLI sees them.

use crate::support::Evident;

fn control(evident: &Evident, code: &str) -> serde_json::Value {
    evident.ok(&["controls", "show", code, "--json"]).json()
}

#[test]
fn a_renamed_control_keeps_its_id_mappings_and_risk_links_on_every_backend() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let before = control(&evident, "IAM-03");
        let risks_before = evident.ok(&["risks", "list", "--json"]).json().to_string();
        assert!(risks_before.contains("\"IAM-03\""), "a demo risk is treated by IAM-03");
        evident.ok(&["controls", "rename", "IAM-03", "IAM-003"]);
        let after = control(&evident, "IAM-003");
        assert_eq!(after["id"], before["id"], "{}: the id survives the rename", evident.name());
        assert_eq!(after["mappings"].as_array().unwrap().len(), before["mappings"].as_array().unwrap().len());
        let risks_after = evident.ok(&["risks", "list", "--json"]).json().to_string();
        assert!(risks_after.contains("\"IAM-003\"") && !risks_after.contains("\"IAM-03\""), "risk links follow");
        let gone = evident.fails(&["controls", "show", "IAM-03"]);
        assert!(gone.stderr.contains("code: control_not_found"), "{}", gone.stderr);
        evident.ok(&["verify"]);
    }
}

#[test]
fn codes_are_unique_whatever_their_case() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let taken = evident.fails(&["controls", "create", "iam-01", "--title", "Another access review"]);
        assert!(taken.stderr.contains("code: already_exists"), "{}: {}", evident.name(), taken.stderr);
        let renamed = evident.fails(&["controls", "rename", "IAM-02", "iam-01"]);
        assert!(renamed.stderr.contains("code: already_exists"), "{}", renamed.stderr);
        assert_eq!(control(&evident, "IAM-02")["code"], "IAM-02", "the refused rename changed nothing");
    }
}

#[test]
fn an_edit_based_on_a_stale_revision_is_refused_and_the_other_edit_stays() {
    for evident in Evident::every_backend() {
        evident.ok(&["demo"]);
        let seen = control(&evident, "IAM-01")["revision"].as_i64().unwrap().to_string();
        evident.ok(&["controls", "edit", "IAM-01", "--title", "First editor's title", "--revision", &seen]);
        let late =
            evident.fails(&["controls", "edit", "IAM-01", "--title", "Second editor's title", "--revision", &seen]);
        assert!(late.stderr.contains("code: conflict"), "{}: {}", evident.name(), late.stderr);
        assert!(late.stderr.contains("changed by someone else"), "{}", late.stderr);
        assert_eq!(control(&evident, "IAM-01")["title"], "First editor's title", "nothing was lost");
    }
}

#[test]
fn a_control_owner_edits_only_their_own_controls() {
    let evident = Evident::sqlite();
    evident.ok(&["demo"]);
    let listed = evident.ok(&["controls", "list", "--json"]).json();
    let owned_by = |email: &str| {
        listed.as_array().unwrap().iter().find(|c| c["owner"] == email).unwrap()["code"].as_str().unwrap().to_owned()
    };
    let (mine, theirs) = (owned_by("platform@northwind.example"), owned_by("people@northwind.example"));
    let owner = ["--as", "platform@northwind.example"];
    evident.ok(&[&owner[..], &["controls", "edit", &mine, "--status", "implemented"]].concat());
    let refused = evident.fails(&[&owner[..], &["controls", "edit", &theirs, "--status", "implemented"]].concat());
    assert!(refused.stderr.contains("may change only the controls they own"), "{}", refused.stderr);
    assert!(refused.stderr.contains("code: permission_denied"), "{}", refused.stderr);
    let map = ["controls", "map", &theirs, "iso27001:2022", "A.5.1", "--rationale", "Sets the policy."];
    assert!(evident.fails(&[&owner[..], &map[..]].concat()).stderr.contains("code: permission_denied"));
    // Read-only roles never write, whatever they own.
    let auditor = evident.fails(&["--as", "auditor@audit-firm.example", "controls", "edit", &mine, "--title", "x"]);
    assert!(auditor.stderr.contains("code: permission_denied"), "{}", auditor.stderr);
}
