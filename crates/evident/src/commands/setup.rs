//! `evident init`, `orgs` and `members`.

use std::process::ExitCode;

use crate::cli::{Global, InitArgs, MembersCommand, OrgsCommand};
use crate::context;
use crate::output::{self, say};

pub async fn init(global: &Global, args: InitArgs) -> anyhow::Result<ExitCode> {
    let app = context::app(global).await?;
    let location = match &global.database_url {
        Some(url) => evident_store_postgres::redact(url),
        None => global.data_dir.join("evident.db").display().to_string(),
    };
    say!("evident is ready: database at {location}");
    if let (Some(slug), Some(admin)) = (args.create_org, args.admin) {
        report(app.create_organisation(slug, args.name, admin.clone(), args.admin_name).await?, &admin);
    }
    Ok(ExitCode::SUCCESS)
}

fn report(created: evident_app::members::Created, admin: &evident_core::Email) {
    if created.created {
        say!("created organisation {} with administrator {admin}", created.organisation.slug);
    } else {
        say!("organisation {} already exists", created.organisation.slug);
    }
}

pub async fn orgs(global: &Global, command: OrgsCommand) -> anyhow::Result<ExitCode> {
    let app = context::app(global).await?;
    match command {
        OrgsCommand::List => {
            let orgs = app.organisations().await?;
            if global.json {
                output::json(&orgs)?;
            } else {
                let rows =
                    orgs.iter().map(|o| [o.slug.to_string(), o.name.clone(), o.created_at.date_naive().to_string()]);
                say!("{}", output::table(["slug", "name", "created"], rows));
            }
        }
        OrgsCommand::Create { slug, name, admin, admin_name } => {
            report(app.create_organisation(slug, name, admin.clone(), admin_name).await?, &admin);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn members(global: &Global, command: MembersCommand) -> anyhow::Result<ExitCode> {
    let (app, me) = context::open(global).await?;
    match command {
        MembersCommand::List => {
            let members = app.members(&me).await?;
            if global.json {
                output::json(&members)?;
            } else {
                let rows = members.iter().map(|m| [m.email.to_string(), m.display_name.clone(), m.role.to_string()]);
                say!("{}", output::table(["email", "name", "role"], rows));
            }
        }
        MembersCommand::Set { email, role, name } => {
            if app.change_member(&me, &email, role, name).await? {
                say!("changed {email} in {}", me.org.slug);
            } else {
                say!("{email} is already so in {}: nothing changed", me.org.slug);
            }
        }
        MembersCommand::Add { email, role, name } => {
            app.add_member(&me, email.clone(), role, name).await?;
            say!("added {email} to {} as {role}", me.org.slug);
        }
    }
    Ok(ExitCode::SUCCESS)
}
