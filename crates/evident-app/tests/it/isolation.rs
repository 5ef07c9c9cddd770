//! Tenant isolation through every read use case: the demo organisation and Globex hold different
//! data (some of it under the same codes), and each principal sees only its own organisation's.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use evident_app::soa::SoaSelector;
use evident_app::{App, Code, Principal};
use evident_core::risk::{Methodology, Treating, Treatment};
use evident_core::{ControlPatch, Coverage, OrgSlug, Role};

use crate::support::*;

const GLOBEX_ADMIN: &str = "gina@globex.example";

/// Globex, built by its administrator: ISO 27001:2013 only, the 3×3 methodology, its own `IAM-01`
/// and `AST-DB` (codes the demo uses too) and `R-001`, the control `GLX-01` that only Globex
/// has, mapped to A.8.30 (which the demo excludes from its SoA), an approved SoA, and the demo's
/// platform owner as a mere viewer under another name.
async fn globex(app: &App) -> OrgSlug {
    let globex = slug("globex");
    app.create_organisation(globex.clone(), Some("Globex".into()), email(GLOBEX_ADMIN), None).await.unwrap();
    let gina = app.member(&globex, &email(GLOBEX_ADMIN)).await.unwrap();
    app.add_member(&gina, email(DEMO_OWNER), Role::Viewer, Some("Jonas at Globex".into())).await.unwrap();
    app.adopt(&gina, &fw("iso27001:2013"), &[], "The Globex ledger".into(), None).await.unwrap();
    app.set_methodology(&gina, Methodology::three_by_three()).await.unwrap();
    app.put_asset(&gina, asset("AST-DB", "Globex ledger", Some(email(GLOBEX_ADMIN)))).await.unwrap();
    app.create_control(&gina, draft("IAM-01", "Globex access review", Some(email(GLOBEX_ADMIN)))).await.unwrap();
    app.map_control(&gina, &code("IAM-01"), &fw("iso27001:2013"), &req("A.9.2.5"), Coverage::Full, "Reviews rights.")
        .await
        .unwrap();
    app.create_control(&gina, draft("GLX-01", "Globex outsourcing oversight", None)).await.unwrap();
    app.map_control(&gina, &code("GLX-01"), &fw(ISO), &req("A.8.30"), Coverage::Full, "Oversees the contractor.")
        .await
        .unwrap();
    let mut risk = risk("R-001", email(GLOBEX_ADMIN));
    risk.title = "Globex ledger tampering".into();
    risk.assets = vec![asset_code("AST-DB")];
    risk.inherent = (3, 3);
    risk.treatment = Treatment::Modify;
    risk.controls = vec![Treating { control: code("GLX-01"), planned: false, due: None }];
    risk.residual = (1, 2);
    app.create_risk(&gina, risk).await.unwrap();
    app.approve_soa(&gina, None).await.unwrap();
    globex
}

/// A day on which every open risk of both organisations is past its review date.
fn far_future() -> NaiveDate {
    NaiveDate::from_ymd_opt(2031, 1, 1).unwrap()
}

fn set<T: Ord>(items: impl IntoIterator<Item = T>) -> BTreeSet<T> {
    items.into_iter().collect()
}

/// What one organisation holds, as the checks below expect to read it back.
struct Own {
    /// Every control code (retired included).
    controls: BTreeSet<String>,
    /// A code only the other organisation has.
    foreign_control: &'static str,
    iam_01_title: &'static str,
    adopted: BTreeSet<&'static str>,
    members: BTreeSet<String>,
    /// The demo's platform owner's role here.
    platform_owner: Role,
    administrators: Vec<String>,
    risk_titles: BTreeSet<(String, String)>,
    asset_names: BTreeSet<(String, String)>,
    scale: usize,
    methodology_by: &'static str,
    a_8_30_applicable: bool,
    approvers: Vec<&'static str>,
}

async fn demo_own(app: &App, demo: &Principal) -> Own {
    // The demo's own lists, read from the store with its id: the oracle for the app's reads.
    let store = app.store();
    let id = &demo.org.id;
    Own {
        controls: set(store.controls(id).await.unwrap().into_iter().map(|c| c.code.to_string())),
        foreign_control: "GLX-01",
        iam_01_title: "Access control policy",
        adopted: set([SOC2, ISO]),
        members: set(store.members(id).await.unwrap().into_iter().map(|m| m.email.to_string())),
        platform_owner: Role::ControlOwner,
        administrators: vec![DEMO_ADMIN.into()],
        risk_titles: set(store.risks(id).await.unwrap().into_iter().map(|r| (r.code.to_string(), r.title))),
        asset_names: set(store.assets(id).await.unwrap().into_iter().map(|a| (a.code.to_string(), a.name))),
        scale: 5,
        methodology_by: DEMO_ADMIN,
        a_8_30_applicable: false,
        approvers: vec![DEMO_MANAGER],
    }
}

fn globex_own() -> Own {
    Own {
        controls: set(["GLX-01".to_owned(), "IAM-01".to_owned()]),
        foreign_control: "OPS-05",
        iam_01_title: "Globex access review",
        adopted: set(["iso27001:2013"]),
        members: set([GLOBEX_ADMIN.to_owned(), DEMO_OWNER.to_owned()]),
        platform_owner: Role::Viewer,
        administrators: vec![GLOBEX_ADMIN.into()],
        risk_titles: set([("R-001".to_owned(), "Globex ledger tampering".to_owned())]),
        asset_names: set([("AST-DB".to_owned(), "Globex ledger".to_owned())]),
        scale: 3,
        methodology_by: GLOBEX_ADMIN,
        a_8_30_applicable: true,
        approvers: vec![GLOBEX_ADMIN],
    }
}

/// Every read use case, by `p`, returns `own`'s data and nothing of the other organisation's.
async fn sees_only_its_own(app: &App, p: &Principal, own: &Own) {
    let who = p.audit_name();
    let codes = |items: &mut dyn Iterator<Item = String>| set(items);

    let controls = app.controls(p, true).await.unwrap();
    assert_eq!(codes(&mut controls.iter().map(|c| c.control.code.to_string())), own.controls, "controls, {who}");
    let mapped = codes(&mut controls.iter().flat_map(|c| c.mappings.iter().map(|m| m.control.to_string())));
    assert!(mapped.is_subset(&own.controls), "controls' mappings, {who}: {mapped:?}");

    assert_eq!(app.control(p, &code("IAM-01")).await.unwrap().control.title, own.iam_01_title, "control, {who}");
    let foreign = app.control(p, &code(own.foreign_control)).await;
    assert_eq!(code_of(&foreign), Some(Code::ControlNotFound), "control {}, {who}", own.foreign_control);

    let frameworks = app.frameworks(Some(p)).await.unwrap();
    let adopted = set(frameworks.iter().filter(|f| f.adopted == Some(true)).map(|f| f.id.as_str()));
    assert_eq!(adopted, own.adopted, "frameworks' adopted flags, {who}");

    let readiness = app.readiness(p, None).await.unwrap();
    assert_eq!(set(readiness.frameworks.iter().map(|f| f.framework.as_str())), own.adopted, "readiness, {who}");
    let contributing = set(readiness
        .frameworks
        .iter()
        .flat_map(|f| f.requirements.iter().flat_map(|r| r.controls.iter().map(|c| c.control.to_string()))));
    assert!(!contributing.is_empty() && contributing.is_subset(&own.controls), "readiness' controls, {who}");

    let gap = app.gap(p, &fw(SOC2), &fw(ISO)).await.unwrap();
    let suggested = set(gap.uncovered.iter().flat_map(|i| i.suggestions.iter().map(|s| s.control.to_string())));
    assert!(suggested.is_subset(&own.controls), "gap suggestions, {who}: {suggested:?}");
    assert_eq!(
        suggested.is_empty(),
        !own.adopted.contains(SOC2),
        "gap suggestions come from the SOC 2 mappings, {who}"
    );

    let soa = app.soa(p, None).await.unwrap();
    let a_8_30 = soa.iter().find(|r| r.reference == req("A.8.30")).unwrap();
    assert_eq!(a_8_30.applicable, own.a_8_30_applicable, "soa A.8.30, {who}");
    let implementing = set(soa.iter().flat_map(|r| r.implementing_controls.iter().map(|c| c.to_string())));
    assert!(!implementing.is_empty() && implementing.is_subset(&own.controls), "soa's controls, {who}");
    let exported = app.export_soa(p, None, SoaSelector::Draft).await.unwrap();
    assert_eq!(exported.rows, soa, "export_soa draft, {who}");

    let versions = app.soa_versions(p, None).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| v.approved_by.as_str()).collect::<Vec<_>>(),
        own.approvers,
        "soa_versions, {who}"
    );
    let first = app.export_soa(p, None, SoaSelector::Version(1)).await.unwrap();
    assert_eq!(first.approved_by.as_deref(), Some(own.approvers[0]), "export_soa version 1, {who}");
    let missing = app.soa_document(p, None, SoaSelector::Version(2)).await;
    assert_eq!(code_of(&missing), Some(Code::SoaVersionNotFound), "soa_document version 2, {who}");

    let log = app.audit_log(p, 0, evident_app::audit::MAX_PAGE).await.unwrap();
    let (stored, _) = app.store().audit_log(&p.org.id).await.unwrap();
    let first_page: Vec<_> = stored.into_iter().take(evident_app::audit::MAX_PAGE as usize).collect();
    assert_eq!(log, first_page, "audit_log, {who}");
    let verdict = app.verify_organisation(p).await.unwrap();
    assert_eq!((verdict.organisation.as_str(), verdict.ok), (p.org.slug.as_str(), true), "verify_organisation, {who}");

    let members = app.members(p).await.unwrap();
    assert_eq!(set(members.iter().map(|m| m.email.to_string())), own.members, "members, {who}");
    let platform = members.iter().find(|m| m.email == email(DEMO_OWNER)).unwrap();
    assert_eq!(platform.role, own.platform_owner, "the platform owner's role here, {who}");
    let administrators: Vec<String> = app.administrators(p).await.unwrap().iter().map(|e| e.to_string()).collect();
    assert_eq!(administrators, own.administrators, "administrators, {who}");

    let risks = app.risks(p).await.unwrap();
    assert_eq!(set(risks.iter().map(|r| (r.code.to_string(), r.title.clone()))), own.risk_titles, "risks, {who}");
    for (code, title) in &own.risk_titles {
        let one = app.risk(p, &evident_core::RiskCode::parse(code).unwrap()).await.unwrap();
        assert_eq!(&one.title, title, "risk {code}, {who}");
    }
    let assets = app.assets(p).await.unwrap();
    assert_eq!(set(assets.iter().map(|a| (a.code.to_string(), a.name.clone()))), own.asset_names, "assets, {who}");

    let methodology = app.methodology(p).await.unwrap();
    assert_eq!(methodology.methodology.likelihood.len(), own.scale, "methodology, {who}");
    assert_eq!(methodology.created_by, own.methodology_by, "methodology's author, {who}");
    assert_eq!(app.methodologies(p).await.unwrap(), vec![methodology.clone()], "methodologies, {who}");

    let heat = app.heat_map(p).await.unwrap();
    assert_eq!(heat.inherent.len(), own.scale, "heat map rows, {who}");
    let placed: usize = heat.inherent.iter().flatten().sum();
    assert_eq!(placed, own.risk_titles.len(), "heat map counts every open risk, {who}");

    let titles = set(own.risk_titles.iter().map(|(_, t)| t.clone()));
    let plan = app.treatment_plan(p).await.unwrap();
    assert!(!plan.is_empty(), "treatment plan, {who}");
    for row in &plan {
        assert!(titles.contains(&row.title), "treatment plan row {} {:?}, {who}", row.risk, row.title);
        if let Some(control) = &row.control {
            assert!(own.controls.contains(control.as_str()), "treatment plan control {control}, {who}");
        }
    }

    let (_, due) = app.risks_due(p, Some(far_future())).await.unwrap();
    let due_titles = set(due.iter().map(|d| d.title.clone()));
    assert_eq!(due_titles, titles, "risks_due (every review is overdue by then), {who}");

    let (active, rows) = app.export_controls(p).await.unwrap();
    assert_eq!(active, own.controls.len(), "export_controls' count, {who}");
    assert_eq!(set(rows.iter().map(|r| r[0].clone())), own.controls, "export_controls, {who}");
    let rows = app.export_assets(p).await.unwrap();
    assert_eq!(set(rows.iter().map(|r| (r[0].clone(), r[1].clone()))), own.asset_names, "export_assets, {who}");
    let rows = app.export_risks(p).await.unwrap();
    assert_eq!(set(rows.iter().map(|r| (r[0].clone(), r[1].clone()))), own.risk_titles, "export_risks, {who}");
}

/// Two organisations with different data: each principal, member or operator, reads only its own.
async fn every_read_sees_only_its_own_organisation(backend: Backend) {
    let Some(app) = spawn(backend).await else { return };
    let demo = app.demo().await.unwrap().organisation.slug;
    let globex = globex(&app).await;

    let demo_admin = app.member(&demo, &email(DEMO_ADMIN)).await.unwrap();
    let demo_own = demo_own(&app, &demo_admin).await;
    assert!(demo_own.controls.contains("IAM-01") && demo_own.risk_titles.iter().any(|(c, _)| c == "R-001"));
    for p in [
        demo_admin.clone(),
        app.member(&demo, &email(DEMO_AUDITOR)).await.unwrap(),
        app.operator(Some(&demo), "op", None).await.unwrap(),
        app.operator(Some(&demo), "op", Some(&email(DEMO_OWNER))).await.unwrap(),
    ] {
        sees_only_its_own(&app, &p, &demo_own).await;
    }
    let globex_own = globex_own();
    for p in [
        app.member(&globex, &email(GLOBEX_ADMIN)).await.unwrap(),
        app.operator(Some(&globex), "op", None).await.unwrap(),
    ] {
        sees_only_its_own(&app, &p, &globex_own).await;
    }

    // Evidence: the demo's year of records is the demo's alone, by list, by id, by bytes, in
    // freshness and in a Type 2 window.
    let demo_records = app.evidence_list(&demo_admin, None, true, None).await.unwrap();
    assert!(!demo_records.is_empty(), "the demo has its evidence");
    assert!(demo_records.iter().all(|r| r.controls.iter().all(|c| demo_own.controls.contains(c.as_str()))));
    let gina = app.member(&globex, &email(GLOBEX_ADMIN)).await.unwrap();
    assert!(app.evidence_list(&gina, None, true, None).await.unwrap().is_empty(), "evidence_list, globex");
    let theirs = &demo_records[0].evidence.id;
    assert_eq!(code_of(&app.evidence_show(&gina, theirs).await), Some(Code::EvidenceNotFound), "evidence_show");
    assert_eq!(
        app.evidence_bytes(&gina, theirs).await.err().map(|e| e.code),
        Some(Code::EvidenceNotFound),
        "evidence_bytes"
    );
    let freshness = app.freshness(&gina, 30).await.unwrap();
    assert!(freshness.controls.iter().all(|c| globex_own.controls.contains(c.code.as_str())), "freshness");
    assert!(freshness.controls.iter().all(|c| c.last_effective.is_none()), "freshness sees no demo evidence");
    let (from, to) = (NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
    let sampling = evident_app::type2::Sampling::Preset("frequency".into());
    let window = app.type2(&gina, &fw(ISO), from, to, sampling, Some(1)).await.unwrap();
    assert!(window.controls.iter().all(|c| c.evidenced == 0 && c.population == 0 || c.expected > 0), "type2");
    assert!(
        window.controls.iter().all(|c| c.sample.iter().all(|s| s.evidence.is_empty())),
        "type2 sees no demo evidence"
    );
}

/// A write in one organisation under a code both use changes only that organisation's record.
async fn a_write_under_a_shared_code_stays_in_its_organisation(backend: Backend) {
    let Some(app) = spawn(backend).await else { return };
    let demo = app.demo().await.unwrap().organisation.slug;
    let globex = globex(&app).await;
    let gina = app.member(&globex, &email(GLOBEX_ADMIN)).await.unwrap();
    let demo_admin = app.member(&demo, &email(DEMO_ADMIN)).await.unwrap();
    let demo_before = head(&app, &demo_admin).await;

    let patch = ControlPatch { title: Some("Globex access review, monthly".into()), ..ControlPatch::default() };
    app.edit_control(&gina, &code("IAM-01"), patch, None).await.unwrap();
    app.retire_control(&gina, &code("IAM-01")).await.unwrap();

    let demo_iam = app.control(&demo_admin, &code("IAM-01")).await.unwrap().control;
    assert_eq!(demo_iam.title, "Access control policy");
    assert!(demo_iam.is_active(), "retiring Globex's IAM-01 left the demo's alone");
    assert_eq!(head(&app, &demo_admin).await, demo_before, "the demo's audit log did not move");
    let globex_iam = app.control(&gina, &code("IAM-01")).await.unwrap().control;
    assert_eq!((globex_iam.title.as_str(), globex_iam.is_active()), ("Globex access review, monthly", false));
}
/// Someone from another organisation does not resolve as a principal of this one, neither signed
/// in nor through the operator, and what they do in their own organisation stays there.
async fn a_member_of_another_organisation_is_not_a_member_here(backend: Backend) {
    let Some(app) = spawn(backend).await else { return };
    let acme = slug("acme");
    let acme_op = small_org(&app, &acme, &email(OWNER)).await;
    let globex = slug("globex");
    let outsider = email("gina@globex.example");
    app.create_organisation(globex.clone(), None, outsider.clone(), None).await.unwrap();
    let before = head(&app, &acme_op).await;

    let signed_in = app.member(&acme, &outsider).await;
    assert_eq!(code_of(&signed_in), Some(Code::NotAMember), "{signed_in:?}");
    let through_operator = app.operator(Some(&acme), "op", Some(&outsider)).await;
    assert_eq!(code_of(&through_operator), Some(Code::NotAMember), "{through_operator:?}");

    // Acme's people are not Globex's either, even its administrator.
    let acme_admin_in_globex = app.member(&globex, &email(ADMIN)).await;
    assert_eq!(code_of(&acme_admin_in_globex), Some(Code::NotAMember), "{acme_admin_in_globex:?}");

    // Globex's administrator may do anything in Globex, and reaches nothing of Acme's.
    let gina = app.member(&globex, &outsider).await.unwrap();
    let patch = ControlPatch { title: Some("Taken over".into()), ..ControlPatch::default() };
    let edit = app.edit_control(&gina, &code(MINE), patch, None).await;
    assert_eq!(code_of(&edit), Some(Code::ControlNotFound), "{edit:?}");
    let accept = app.accept_risk(&gina, &risk_code(MY_RISK), today() + chrono::Duration::days(30), String::new()).await;
    assert_eq!(code_of(&accept), Some(Code::RiskNotFound), "{accept:?}");
    let owner_from_acme = app.create_control(&gina, draft("GLX-01", "Globex control", Some(email(OWNER)))).await;
    assert_eq!(code_of(&owner_from_acme), Some(Code::NotAMember), "{owner_from_acme:?}");
    app.create_control(&gina, draft(MINE, "Globex's own MINE-01", None)).await.unwrap();

    assert_eq!(head(&app, &acme_op).await, before, "nothing Globex did reached Acme's audit log");
    assert_eq!(app.control(&acme_op, &code(MINE)).await.unwrap().control.title, "MINE-01 as created");
}

/// How many organisations take part in the concurrent stories, and how many times they try: the
/// rounds make the writes overlap even on a busy machine.
const AT_ONCE: usize = 8;
const ROUNDS: usize = 4;

/// A person may found several organisations: created at the same moment with the same first
/// administrator, each is created, with that person as its administrator.
async fn one_person_founds_several_organisations_at_once(backend: Backend) {
    let Some(app) = spawn(backend).await else { return };
    for round in 0..ROUNDS {
        let founder = email(&format!("founder-{round}@holding.example"));
        let creating: Vec<_> = (0..AT_ONCE)
            .map(|i| {
                let (app, founder, org) = (app.app.clone(), founder.clone(), slug(&format!("sub-{round}-{i}")));
                tokio::spawn(async move { (org.clone(), app.create_organisation(org, None, founder, None).await) })
            })
            .collect();
        for creation in creating {
            let (org, created) = creation.await.unwrap();
            assert!(
                created.as_ref().is_ok_and(|c| c.created),
                "creating {org} with {founder} as its first admin, as other organisations are: {created:?}"
            );
            assert_eq!(app.member(&org, &founder).await.unwrap().role(), Role::Admin, "{founder} in {org}");
        }
    }
}

/// A person may belong to several organisations, and joins each independently: administrators
/// adding the same person at the same moment all succeed, and the person is a member of each.
async fn one_person_joins_several_organisations_at_once(backend: Backend) {
    let Some(app) = spawn(backend).await else { return };
    let mut admins = Vec::new();
    for i in 0..AT_ONCE {
        let (org, admin) = (slug(&format!("sub-{i}")), email(&format!("admin@sub-{i}.example")));
        app.create_organisation(org.clone(), None, admin.clone(), None).await.unwrap();
        admins.push(app.member(&org, &admin).await.unwrap());
    }
    for round in 0..ROUNDS {
        let consultant = email(&format!("consultant-{round}@advisers.example"));
        let joining: Vec<_> = admins
            .iter()
            .map(|admin| {
                let (app, admin, consultant) = (app.app.clone(), admin.clone(), consultant.clone());
                tokio::spawn(async move {
                    let joined = app.add_member(&admin, consultant, Role::Auditor, None).await;
                    (admin.org.slug, joined)
                })
            })
            .collect();
        for joining in joining {
            let (org, joined) = joining.await.unwrap();
            assert!(joined.is_ok(), "adding {consultant} to {org} as other organisations add them too: {joined:?}");
            assert_eq!(app.member(&org, &consultant).await.unwrap().role(), Role::Auditor, "{consultant} in {org}");
        }
    }
}

on_each_backend! {
    every_read_sees_only_its_own_organisation,
    a_write_under_a_shared_code_stays_in_its_organisation,
    a_member_of_another_organisation_is_not_a_member_here,
    one_person_founds_several_organisations_at_once,
    one_person_joins_several_organisations_at_once,
}
