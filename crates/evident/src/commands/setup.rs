//! `evident init`, `orgs`, `members` and `demo`.

use std::process::ExitCode;

use chrono::Utc;
use evident_core::{Email, FrameworkId, ImplementationStatus, Mapping, OrgSlug, Permission, Role};
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
    let now = Utc::now();
    if store.org_by_slug(&slug).await?.is_some() {
        say!("the demo organisation already exists; showing it again");
    } else {
        build_demo(store.as_ref(), &slug, now).await?;
    }
    let global = Global { org: Some(DEMO_SLUG.to_owned()), acting_as: None, ..global.clone() };
    let session = Session::in_store(store, &global).await?;
    let controls = session.store.controls(&session.org.id).await?;
    let mappings = session.store.mappings(&session.org.id).await?;
    let implemented = controls.iter().filter(|c| c.status == ImplementationStatus::Implemented).count();
    say!(
        "demo organisation {} ({}): {} members, {} controls ({} implemented), {} mappings",
        session.org.slug,
        session.org.name,
        session.store.members(&session.org.id).await?.len(),
        controls.len(),
        implemented,
        mappings.len()
    );
    say!("");
    super::readiness::readiness(&global, None).await?;
    say!(
        "next: evident readiness --framework iso27001:2022 | evident gap --from soc2:2017 --to iso27001:2022 | evident soa show"
    );
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
    store.apply(&actor, changes).await?;
    Ok(())
}
