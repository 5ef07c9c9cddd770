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
fn adopting_soc2_keeps_security_mandatory() {
    let evident = Evident::sqlite();
    evident.ok(&["init", "--create-org", "acme", "--admin", "ada@acme.example"]);
    evident.ok(&["frameworks", "adopt", "soc2:2017", "--categories", "availability"]);
    let listed = evident.ok(&["frameworks", "list", "--json"]).json();
    let soc2 = listed.as_array().unwrap().iter().find(|f| f["id"] == "soc2:2017").unwrap();
    assert_eq!(soc2["adopted"], true);
    let bad = evident.fails(&["frameworks", "adopt", "soc2:2017", "--categories", "speed"]);
    assert!(bad.stderr.contains("soc2:2017 has no category \"speed\""), "{}", bad.stderr);
    assert!(bad.stderr.contains("hint: choose from: security, availability"), "{}", bad.stderr);
}
