//! `evident init`, `orgs`, `members` and `demo`.

use std::process::ExitCode;

use chrono::Utc;
use evident_core::risk::{
    Acceptance, Asset, AssetKind, Classification, Methodology, Rating, Risk, Treating, Treatment, check_acceptance,
};
use evident_core::{
    AssetCode, ControlCode, Email, FrameworkId, ImplementationStatus, Mapping, OrgSlug, Permission, RiskCode, Role,
};
use evident_store::{Actor, Adoption, Change, NewControl, NewOrganisation, Store, StoreError};

use crate::cli::{Global, InitArgs, MembersCommand, OrgsCommand};
use crate::context::{Session, catalog, open_store};
use crate::output;
use crate::output::say;

pub async fn init(global: &Global, args: InitArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(global).await?;
    let location = match &global.database_url {
        Some(url) => evident_store_postgres::redact(url),
        None => global.data_dir.join("evident.db").display().to_string(),
    };
    say!("evident is ready: database at {location}");
    if let (Some(slug), Some(admin)) = (args.create_org, args.admin) {
        create_org(store.as_ref(), &slug, args.name, &admin, args.admin_name).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates an organisation, or says it is already there when the same administrator asks again.
async fn create_org(
    store: &dyn Store,
    slug: &str,
    name: Option<String>,
    admin: &str,
    admin_name: Option<String>,
) -> anyhow::Result<()> {
    let slug = OrgSlug::parse(slug)?;
    let admin_email = Email::parse(admin)?;
    let new = NewOrganisation {
        name: name.unwrap_or_else(|| slug.to_string()),
        admin_name: admin_name.unwrap_or_else(|| admin_email.as_str().split('@').next().unwrap_or_default().to_owned()),
        slug,
        admin_email,
    };
    match store.create_org(&new, Utc::now()).await {
        Ok(org) => say!("created organisation {} with administrator {}", org.slug, new.admin_email),
        Err(StoreError::Conflict { .. }) => {
            let org = store.org_by_slug(&new.slug).await?.ok_or_else(|| anyhow::anyhow!("organisation vanished"))?;
            if store.member(&org.id, &new.admin_email).await?.is_none() {
                return Err(crate::context::failure(
                    format!("organisation {} already exists", new.slug),
                    "choose another slug",
                ));
            }
            say!("organisation {} already exists", org.slug);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

pub async fn orgs(global: &Global, command: OrgsCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(global).await?;
    match command {
        OrgsCommand::List => {
            let orgs = store.orgs().await?;
            if global.json {
                output::json(&orgs)?;
            } else {
                let rows =
                    orgs.iter().map(|o| [o.slug.to_string(), o.name.clone(), o.created_at.date_naive().to_string()]);
                say!("{}", output::table(["slug", "name", "created"], rows));
            }
        }
        OrgsCommand::Create { slug, name, admin, admin_name } => {
            create_org(store.as_ref(), &slug, name, &admin, admin_name).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn members(global: &Global, command: MembersCommand) -> anyhow::Result<ExitCode> {
    let session = Session::open(global).await?;
    match command {
        MembersCommand::List => {
            session.require(Permission::Read)?;
            let members = session.store.members(&session.org.id).await?;
            if global.json {
                output::json(&members)?;
            } else {
                let rows = members.iter().map(|m| [m.email.to_string(), m.display_name.clone(), m.role.to_string()]);
                say!("{}", output::table(["email", "name", "role"], rows));
            }
        }
        MembersCommand::Add { email, role, name } => {
            session.require(Permission::MemberManage)?;
            let email = Email::parse(&email)?;
            let role = Role::parse(&role)?;
            let display_name = name.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_owned());
            session
                .store
                .apply(&session.actor(), vec![Change::AddMember { email: email.clone(), display_name, role }])
                .await?;
            say!("added {email} to {} as {role}", session.org.slug);
        }
    }
    Ok(ExitCode::SUCCESS)
}

const DEMO_SLUG: &str = "demo";

/// The demo: Northwind Cloud, a 120-person SaaS company that holds SOC 2 and is working toward
/// ISO/IEC 27001:2022. Its controls come from the baseline library; their statuses and which ISO
/// mappings it has made so far are chosen deterministically, so every run builds the same demo.
pub async fn demo(global: &Global) -> anyhow::Result<ExitCode> {
    let store = open_store(global).await?;
    let slug = OrgSlug::parse(DEMO_SLUG)?;
    let now = evident_core::audit::audit_time(Utc::now());
    if store.org_by_slug(&slug).await?.is_some() {
        say!("the demo organisation already exists; showing it again");
    } else {
        build_demo(store.as_ref(), &slug, now).await?;
        let manager =
            Global { org: Some(DEMO_SLUG.to_owned()), acting_as: Some(COMPLIANCE.to_owned()), ..global.clone() };
        let session = Session::in_store(store.clone(), &manager).await?;
        let iso = crate::context::framework(crate::model::SOA_FRAMEWORK)?;
        let rows = crate::model::OrgData::load(&session).await?.soa(iso);
        session.store.apply(&session.actor(), vec![Change::ApproveSoa { framework: iso.id().clone(), rows }]).await?;
    }
    let global = Global { org: Some(DEMO_SLUG.to_owned()), acting_as: None, ..global.clone() };
    let session = Session::in_store(store, &global).await?;
    let controls = session.store.controls(&session.org.id).await?;
    let mappings = session.store.mappings(&session.org.id).await?;
    let implemented = controls.iter().filter(|c| c.status == ImplementationStatus::Implemented).count();
    say!(
        "demo organisation {} ({}): {} members, {} controls ({} implemented), {} mappings, {} assets, {} risks",
        session.org.slug,
        session.org.name,
        session.store.members(&session.org.id).await?.len(),
        controls.len(),
        implemented,
        mappings.len(),
        session.store.assets(&session.org.id).await?.len(),
        session.store.risks(&session.org.id).await?.len()
    );
    say!("");
    super::readiness::readiness(&global, None).await?;
    say!("next: evident readiness --framework iso27001:2022 | evident gap --from soc2:2017 --to iso27001:2022");
    say!("      evident soa show | evident risks list | evident risks due | evident risks treatment-plan");
    Ok(ExitCode::SUCCESS)
}

const DEMO_PEOPLE: [(&str, &str, Role); 6] = [
    ("ciso@northwind.example", "Morgan Hale", Role::Admin),
    ("compliance@northwind.example", "Priya Raman", Role::ComplianceManager),
    ("platform@northwind.example", "Jonas Berg", Role::ControlOwner),
    ("people@northwind.example", "Amara Okafor", Role::ControlOwner),
    ("it@northwind.example", "Luis Ortega", Role::ControlOwner),
    ("auditor@audit-firm.example", "Dana Whitfield", Role::Auditor),
];

/// A stable pseudo-random number per text, so the demo is the same on every machine.
fn stable_roll(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)) % 100
}

async fn build_demo(store: &dyn Store, slug: &OrgSlug, now: chrono::DateTime<Utc>) -> anyhow::Result<()> {
    let catalog = catalog()?;
    let (admin_email, admin_name, _) = DEMO_PEOPLE[0];
    let org = store
        .create_org(
            &NewOrganisation {
                slug: slug.clone(),
                name: "Northwind Cloud Ltd".into(),
                admin_email: Email::parse(admin_email)?,
                admin_name: admin_name.into(),
            },
            now,
        )
        .await?;
    let actor = Actor { org: org.id.clone(), who: admin_email.into(), at: now };
    let mut changes = Vec::new();
    for (email, name, role) in &DEMO_PEOPLE[1..] {
        changes.push(Change::AddMember { email: Email::parse(email)?, display_name: (*name).into(), role: *role });
    }
    let soc2 = FrameworkId::parse("soc2:2017")?;
    let iso = FrameworkId::parse("iso27001:2022")?;
    changes.push(Change::Adopt(Adoption {
        framework: soc2.clone(),
        categories: vec!["security".into(), "availability".into(), "confidentiality".into()],
        scope: "The Northwind SaaS platform, its production AWS accounts and the support process".into(),
        target_date: None,
        adopted_at: now,
    }));
    changes.push(Change::Adopt(Adoption {
        framework: iso.clone(),
        categories: vec![],
        scope: "Information security of the Northwind SaaS platform, London and Lisbon offices".into(),
        target_date: chrono::NaiveDate::from_ymd_opt(2027, 6, 30),
        adopted_at: now,
    }));
    let owners = [DEMO_PEOPLE[2].0, DEMO_PEOPLE[3].0, DEMO_PEOPLE[4].0];
    for control in catalog.baseline() {
        // A SOC 2-first company: controls that serve only ISO clauses are not written yet.
        if !control.mappings.iter().any(|m| m.framework == soc2) {
            continue;
        }
        let roll = stable_roll(control.code.as_str());
        let status = match roll {
            0..=69 => ImplementationStatus::Implemented,
            70..=86 => ImplementationStatus::InProgress,
            _ => ImplementationStatus::NotStarted,
        };
        let owner = match control.domain.as_str() {
            d if d.contains("Human") || d.contains("People") || d.contains("Privacy") => owners[1],
            d if d.contains("Asset") || d.contains("Physical") => owners[2],
            _ => owners[0],
        };
        changes.push(Change::CreateControl(NewControl {
            code: control.code.clone(),
            title: control.title.clone(),
            description: control.description.clone(),
            owner: Some(Email::parse(owner)?),
            frequency: control.frequency,
            status,
        }));
        for mapping in &control.mappings {
            // So far the ISO mapping has been done for about two controls in three.
            if mapping.framework == iso && stable_roll(&format!("{}{}", control.code, mapping.requirement)) >= 65 {
                continue;
            }
            changes.push(Change::Map(Mapping {
                control: control.code.clone(),
                framework: mapping.framework.clone(),
                requirement: mapping.requirement.clone(),
                coverage: mapping.coverage,
                rationale: mapping.rationale.clone(),
            }));
        }
    }
    changes.extend(demo_register(now)?);
    changes.push(Change::SetSoaDecision {
        framework: iso.clone(),
        requirement: evident_core::RequirementRef::parse("A.8.30")?,
        decision: evident_core::soa::Decision::new(
            &evident_core::RequirementRef::parse("A.8.30")?,
            false,
            vec![evident_core::soa::Reason::BusinessNeed],
            "Northwind develops all software in-house; no development is outsourced.".into(),
        )?,
    });
    store.apply(&actor, changes).await?;
    Ok(())
}

/// One demo asset: code, name, type, classification, C, I, A, parent.
type DemoAsset = (&'static str, &'static str, AssetKind, Classification, u8, u8, u8, Option<&'static str>);

const DEMO_ASSETS: [DemoAsset; 10] = [
    ("AST-PLATFORM", "Northwind SaaS platform", AssetKind::Service, Classification::Confidential, 4, 4, 5, None),
    (
        "AST-DB",
        "Customer database (PostgreSQL)",
        AssetKind::Information,
        Classification::Restricted,
        5,
        5,
        4,
        Some("AST-PLATFORM"),
    ),
    ("AST-BACKUPS", "Database backups", AssetKind::Information, Classification::Restricted, 5, 5, 3, Some("AST-DB")),
    (
        "AST-API",
        "Public API and web application",
        AssetKind::Software,
        Classification::Confidential,
        4,
        4,
        5,
        Some("AST-PLATFORM"),
    ),
    ("AST-AWS", "AWS production accounts", AssetKind::Service, Classification::Restricted, 5, 5, 5, None),
    ("AST-CODE", "Source code and CI/CD pipelines", AssetKind::Software, Classification::Confidential, 4, 5, 3, None),
    ("AST-IDP", "Identity provider (single sign-on)", AssetKind::Service, Classification::Confidential, 4, 5, 4, None),
    ("AST-LAPTOPS", "Staff laptops", AssetKind::Hardware, Classification::Confidential, 4, 3, 3, None),
    ("AST-STAFF", "Engineering and support staff", AssetKind::People, Classification::Internal, 3, 3, 4, None),
    ("AST-OFFICE", "London and Lisbon offices", AssetKind::Site, Classification::Internal, 2, 2, 3, None),
];

/// One demo risk: code, title, assets, threat and vulnerability (starter-list ids), owner,
/// inherent (L, I), treatment, controls in place, planned controls (code, days from now),
/// residual (L, I), review in days from now, accepted by its owner.
type DemoRisk = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static str,
    (u8, u8),
    Treatment,
    &'static [&'static str],
    &'static [(&'static str, i64)],
    (u8, u8),
    i64,
    bool,
);

const PLATFORM: &str = "platform@northwind.example";
const IT: &str = "it@northwind.example";
const PEOPLE: &str = "people@northwind.example";
const CISO: &str = "ciso@northwind.example";
const COMPLIANCE: &str = "compliance@northwind.example";

const DEMO_RISKS: [DemoRisk; 23] = [
    (
        "R-001",
        "Ransomware encrypts production data",
        &["AST-DB", "AST-BACKUPS"],
        "T-01",
        "V-03",
        PLATFORM,
        (4, 5),
        Treatment::Modify,
        &["OPS-05", "OPS-06", "BCP-02"],
        &[],
        (2, 3),
        120,
        true,
    ),
    (
        "R-002",
        "Phishing leads to takeover of a staff account",
        &["AST-IDP", "AST-STAFF"],
        "T-02",
        "V-01",
        IT,
        (4, 4),
        Treatment::Modify,
        &["IAM-03", "HR-05"],
        &[("IAM-04", 60)],
        (2, 3),
        90,
        false,
    ),
    (
        "R-003",
        "Credential stuffing against customer accounts",
        &["AST-API"],
        "T-04",
        "V-07",
        PLATFORM,
        (4, 3),
        Treatment::Modify,
        &["IAM-04", "LOG-02"],
        &[],
        (2, 2),
        180,
        true,
    ),
    (
        "R-004",
        "Insider exfiltrates customer data",
        &["AST-DB"],
        "T-05",
        "V-04",
        CISO,
        (2, 5),
        Treatment::Modify,
        &["IAM-06", "IAM-08", "OPS-08"],
        &[],
        (1, 4),
        200,
        false,
    ),
    (
        "R-005",
        "Public-facing vulnerability is exploited",
        &["AST-API"],
        "T-07",
        "V-02",
        PLATFORM,
        (3, 5),
        Treatment::Modify,
        &["VUL-01", "VUL-02", "VUL-03"],
        &[],
        (2, 4),
        90,
        false,
    ),
    (
        "R-006",
        "Compromised open-source dependency ships to production",
        &["AST-CODE"],
        "T-08",
        "V-13",
        PLATFORM,
        (3, 4),
        Treatment::Modify,
        &["SUP-05", "SDL-04"],
        &[("CHG-02", 30)],
        (2, 3),
        150,
        false,
    ),
    (
        "R-007",
        "Denial of service takes the API offline",
        &["AST-API"],
        "T-09",
        "V-06",
        PLATFORM,
        (3, 4),
        Treatment::Share,
        &["OPS-07"],
        &[],
        (2, 3),
        100,
        false,
    ),
    (
        "R-008",
        "Cloud misconfiguration exposes a storage bucket",
        &["AST-AWS"],
        "T-15",
        "V-12",
        PLATFORM,
        (3, 5),
        Treatment::Modify,
        &["OPS-04", "SUP-06"],
        &[],
        (1, 4),
        120,
        false,
    ),
    (
        "R-009",
        "Accidental deletion of production data",
        &["AST-DB"],
        "T-16",
        "V-04",
        PLATFORM,
        (2, 4),
        Treatment::Modify,
        &["OPS-05", "OPS-06", "IAM-06"],
        &[],
        (1, 3),
        200,
        false,
    ),
    (
        "R-010",
        "Lost or stolen laptop holding customer data",
        &["AST-LAPTOPS"],
        "T-18",
        "V-25",
        IT,
        (4, 3),
        Treatment::Modify,
        &["AST-07", "CRY-02"],
        &[],
        (2, 2),
        150,
        true,
    ),
    (
        "R-011",
        "Secrets leaked in code, logs or tickets",
        &["AST-CODE"],
        "T-20",
        "V-09",
        PLATFORM,
        (3, 4),
        Treatment::Modify,
        &["CRY-04", "IAM-10"],
        &[],
        (2, 3),
        -10,
        false,
    ),
    (
        "R-012",
        "Faulty deployment causes an outage",
        &["AST-PLATFORM"],
        "T-19",
        "V-18",
        PLATFORM,
        (4, 3),
        Treatment::Modify,
        &["CHG-01", "SDL-04"],
        &[],
        (2, 2),
        60,
        false,
    ),
    (
        "R-013",
        "Cloud provider regional outage",
        &["AST-AWS"],
        "T-30",
        "V-06",
        PLATFORM,
        (2, 5),
        Treatment::Modify,
        &["OPS-07", "BCP-02", "BCP-03"],
        &[],
        (2, 3),
        180,
        false,
    ),
    (
        "R-014",
        "Breach at a critical SaaS supplier",
        &["AST-IDP"],
        "T-31",
        "V-19",
        COMPLIANCE,
        (2, 4),
        Treatment::Modify,
        &["SUP-02", "SUP-03", "SUP-04"],
        &[],
        (2, 3),
        200,
        true,
    ),
    (
        "R-015",
        "Identity provider withdraws its service",
        &["AST-IDP"],
        "T-32",
        "V-20",
        CISO,
        (2, 3),
        Treatment::Retain,
        &[],
        &[],
        (2, 3),
        300,
        true,
    ),
    (
        "R-016",
        "Subprocessor misuses personal data",
        &["AST-DB"],
        "T-33",
        "V-21",
        COMPLIANCE,
        (2, 4),
        Treatment::Modify,
        &["PRIV-07", "SUP-03"],
        &[],
        (1, 4),
        200,
        false,
    ),
    (
        "R-017",
        "New data-transfer rules restrict hosting",
        &["AST-DB"],
        "T-38",
        "V-30",
        COMPLIANCE,
        (3, 3),
        Treatment::Modify,
        &["COMP-01", "PRIV-04"],
        &[],
        (2, 3),
        120,
        false,
    ),
    (
        "R-018",
        "Support staff are talked into resetting an account",
        &["AST-STAFF"],
        "T-12",
        "V-22",
        PEOPLE,
        (3, 3),
        Treatment::Modify,
        &["HR-05", "IAM-02"],
        &[],
        (2, 2),
        90,
        false,
    ),
    (
        "R-019",
        "Leavers keep access after they go",
        &["AST-IDP"],
        "T-06",
        "V-15",
        PEOPLE,
        (3, 4),
        Treatment::Modify,
        &["IAM-07", "HR-08"],
        &[("IAM-05", -5)],
        (2, 2),
        100,
        false,
    ),
    (
        "R-020",
        "Office break-in and equipment theft",
        &["AST-OFFICE"],
        "T-14",
        "V-27",
        IT,
        (2, 3),
        Treatment::Modify,
        &["PHY-01", "PHY-04"],
        &[],
        (1, 2),
        250,
        false,
    ),
    (
        "R-021",
        "Expired certificate breaks the API",
        &["AST-API"],
        "T-29",
        "V-08",
        PLATFORM,
        (3, 3),
        Treatment::Modify,
        &["LOG-03", "CHG-01"],
        &[],
        (1, 3),
        150,
        false,
    ),
    (
        "R-022",
        "Key engineer leaves and knowledge is lost",
        &["AST-STAFF"],
        "T-24",
        "V-23",
        PEOPLE,
        (3, 3),
        Treatment::Modify,
        &["OPS-01", "HR-06"],
        &[],
        (2, 2),
        180,
        false,
    ),
    (
        "R-023",
        "Climate-related disruption to the offices",
        &["AST-OFFICE"],
        "T-23",
        "V-28",
        CISO,
        (2, 2),
        Treatment::Retain,
        &[],
        &[],
        (2, 2),
        365,
        true,
    ),
];

/// The demo's methodology, assets, risks and acceptances, checked by the same core rules as user input.
fn demo_register(now: chrono::DateTime<Utc>) -> anyhow::Result<Vec<Change>> {
    let methodology = Methodology::five_by_five();
    let today = now.date_naive();
    let mut changes = vec![Change::SetMethodology(methodology.clone())];
    for (code, name, kind, classification, c, i, a, parent) in DEMO_ASSETS {
        changes.push(Change::PutAsset(Asset {
            code: AssetCode::parse(code)?,
            name: name.into(),
            kind,
            owner: Some(Email::parse(PLATFORM)?),
            classification,
            confidentiality: c,
            integrity: i,
            availability: a,
            parent: parent.map(AssetCode::parse).transpose()?,
        }));
    }
    let starter = catalog()?.threats();
    let name_of = |id: &str, list: &[evident_catalog::Threat]| list.iter().find(|t| t.id == id).map(|t| t.name.clone());
    let mut acceptances = Vec::new();
    for (
        code,
        title,
        assets,
        threat,
        vulnerability,
        owner,
        inherent,
        treatment,
        controls,
        planned,
        residual,
        review,
        accepted,
    ) in DEMO_RISKS
    {
        let mut treating: Vec<Treating> = controls
            .iter()
            .map(|c| Ok(Treating { control: ControlCode::parse(c)?, planned: false, due: None }))
            .collect::<anyhow::Result<_>>()?;
        for (control, days) in planned {
            treating.push(Treating {
                control: ControlCode::parse(control)?,
                planned: true,
                due: Some(today + chrono::Duration::days(*days)),
            });
        }
        let risk = Risk {
            code: RiskCode::parse(code)?,
            title: title.into(),
            description: String::new(),
            assets: assets.iter().map(|a| AssetCode::parse(a)).collect::<Result<_, _>>()?,
            threat: name_of(threat, &starter.threats).unwrap_or_else(|| threat.to_owned()),
            vulnerability: name_of(vulnerability, &starter.vulnerabilities).unwrap_or_else(|| vulnerability.to_owned()),
            owner: Email::parse(owner)?,
            methodology: 1,
            inherent: Rating { likelihood: inherent.0, impact: inherent.1 },
            treatment,
            controls: treating,
            residual: Rating { likelihood: residual.0, impact: residual.1 },
            residual_justification: String::new(),
            review_date: today + chrono::Duration::days(review),
            acceptance: None,
            closed: false,
        };
        risk.validate(&methodology)?;
        if accepted {
            let expires = today + chrono::Duration::days(365);
            check_acceptance(&risk, &methodology, &risk.owner, Role::ControlOwner, today, expires)?;
            let note = "Residual level within the acceptance criteria".to_owned();
            acceptances.push(Change::AcceptRisk {
                code: risk.code.clone(),
                acceptance: Acceptance { by: risk.owner.clone(), at: now, expires, note },
            });
        }
        changes.push(Change::PutRisk(risk));
    }
    changes.extend(acceptances);
    Ok(changes)
}
