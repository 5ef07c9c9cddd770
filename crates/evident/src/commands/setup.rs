//! `evident init`, `orgs` and `members`.

use std::process::ExitCode;

use chrono::Utc;
use evident_core::{Email, OrgSlug, Permission, Role};
use evident_store::{Change, NewOrganisation, Store, StoreError};

use crate::cli::{Global, InitArgs, MembersCommand, OrgsCommand};
use crate::context::{Session, open_store};
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
