//! Readiness, the SoA and the controls list filtered and grouped by requirement attributes, and
//! the SOC 2 drill-down naming the points of focus each control addresses, on the demo.

use evident_app::attributes::{AttributeFilter, AttributeView};
use evident_core::framework::AttrValue;

use crate::support::*;

fn view(filters: &[&str], group_by: Option<&str>) -> AttributeView {
    AttributeView {
        filters: filters.iter().map(|f| AttributeFilter::parse(f).unwrap()).collect(),
        group_by: group_by.map(str::to_owned),
    }
}

fn carries(_: &evident_app::App, reference: &evident_core::RequirementRef, family: &str, value: &str) -> bool {
    let library = evident_app::Library::embedded().unwrap();
    let iso = library.framework(&fw(ISO)).unwrap();
    matches!(iso.requirement(reference).unwrap().attributes.get(family), Some(AttrValue::List(v)) if v.iter().any(|x| x == value))
}

async fn attributes_filter_and_group_what_the_demo_shows(backend: Backend) {
    let Some(app) = spawn(backend).await else { return };
    let demo = app.demo().await.unwrap().organisation.slug;
    let p = app.member(&demo, &email(DEMO_MANAGER)).await.unwrap();

    // Readiness of ISO 27001 restricted to the defence domain: only those controls, scores recomputed.
    let all = app.readiness(&p, Some(&fw(ISO))).await.unwrap();
    let defence = app.readiness_view(&p, Some(&fw(ISO)), &view(&["security_domain=defence"], None)).await.unwrap();
    let iso = &defence.readiness.frameworks[0];
    assert!(!iso.requirements.is_empty() && iso.requirements.len() < all.frameworks[0].requirements.len());
    assert!(iso.requirements.iter().all(|r| carries(&app, &r.reference, "security_domains", "Defence")));
    assert_eq!(iso.score.applicable + iso.score.not_applicable, iso.requirements.len());
    assert_eq!(defence.readiness.overall.applicable, iso.score.applicable);
    let expected = all.frameworks[0]
        .requirements
        .iter()
        .filter(|r| carries(&app, &r.reference, "security_domains", "Defence"))
        .count();
    assert_eq!(iso.requirements.len(), expected);

    // Grouped by cybersecurity concept: the five concepts, each scored over its own controls.
    let grouped = app.readiness_view(&p, Some(&fw(ISO)), &view(&[], Some("cybersecurity_concepts"))).await.unwrap();
    let groups = &grouped.by_attribute[0].groups;
    let mut names: Vec<_> = groups.iter().map(|g| g.id.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Detect", "Identify", "Protect", "Recover", "Respond"]);
    let recover = groups.iter().find(|g| g.id == "Recover").unwrap();
    let recovering = all.frameworks[0]
        .requirements
        .iter()
        .filter(|r| carries(&app, &r.reference, "cybersecurity_concepts", "Recover"))
        .count();
    assert_eq!(recover.score.applicable + recover.score.not_applicable, recovering);

    // The SoA: detective controls only, then grouped by security property.
    let rows = app.soa_view(&p, None, &view(&["control_type=Detective"], None)).await.unwrap();
    assert!(!rows[0].1.is_empty());
    assert!(rows[0].1.iter().all(|row| carries(&app, &row.reference, "control_type", "Detective")));
    let by_property = app.soa_view(&p, None, &view(&[], Some("information_security_properties"))).await.unwrap();
    assert_eq!(by_property.len(), 3);

    // The controls list: controls mapped to at least one requirement in the resilience domain.
    let controls = app.controls_view(&p, false, &view(&["security_domains=Resilience"], None)).await.unwrap();
    let listed = &controls[0].1;
    assert!(!listed.is_empty() && listed.len() < app.controls(&p, false).await.unwrap().len());
    for c in listed {
        assert!(
            c.mappings
                .iter()
                .any(|m| m.framework == fw(ISO) && carries(&app, &m.requirement, "security_domains", "Resilience")),
            "{} reaches resilience",
            c.control.code
        );
    }

    // A filter nothing carries selects nothing, and a malformed one is refused with a code.
    let none = app.readiness_view(&p, Some(&fw(ISO)), &view(&["security_domains=nowhere"], None)).await.unwrap();
    assert!(none.readiness.frameworks[0].requirements.is_empty());
    assert_eq!(AttributeFilter::parse("no-equals-sign").unwrap_err().code, evident_app::Code::InvalidInput);
}

async fn the_soc2_drill_down_names_the_points_of_focus_each_control_addresses(backend: Backend) {
    let Some(app) = spawn(backend).await else { return };
    let demo = app.demo().await.unwrap().organisation.slug;
    let p = app.member(&demo, &email(DEMO_MANAGER)).await.unwrap();
    let soc2 = app.readiness(&p, Some(&fw(SOC2))).await.unwrap();
    let cc81 = soc2.frameworks[0].requirements.iter().find(|r| r.reference.as_str() == "CC8.1").unwrap();
    let chg01 = cc81.controls.iter().find(|c| c.control.as_str() == "CHG-01").unwrap();
    assert!(
        chg01.guidance.iter().any(|g| g.as_str() == "CC8.1.pf2"),
        "CHG-01 authorises changes: {:?}",
        chg01.guidance
    );
    assert!(chg01.guidance.iter().all(|g| g.as_str().starts_with("CC8.1.pf")));
    // Points of focus are not assessed on their own: the criteria are still the 61 rows.
    assert_eq!(soc2.frameworks[0].requirements.len(), 61);
}

on_each_backend!(
    attributes_filter_and_group_what_the_demo_shows,
    the_soc2_drill_down_names_the_points_of_focus_each_control_addresses,
);
