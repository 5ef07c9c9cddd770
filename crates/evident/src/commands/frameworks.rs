//! `evident frameworks list|show|adopt`.

use std::process::ExitCode;

use evident_core::Permission;
use evident_store::{Adoption, Change};
use serde::Serialize;

use crate::cli::{FrameworksCommand, Global};
use crate::context::{Session, catalog, failure, framework, open_store};
use crate::output;
use crate::output::say;

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    name: &'a str,
    version: &'a str,
    title: &'a str,
    requirements: usize,
    assessable: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    adopted: Option<bool>,
}

pub async fn run(global: &Global, command: FrameworksCommand) -> anyhow::Result<ExitCode> {
    match command {
        FrameworksCommand::List => list(global).await,
        FrameworksCommand::Show { id } => show(global, &id),
        FrameworksCommand::Adopt { id, categories, scope, target } => {
            adopt(global, &id, categories, scope, target).await
        }
    }
}

async fn list(global: &Global) -> anyhow::Result<ExitCode> {
    // The library is in the binary; adoption needs an organisation, when there is one to ask.
    let adopted: Option<Vec<_>> = if global.org.is_some() || global.database_url.is_some() || global.data_dir.exists() {
        let store = open_store(global).await?;
        match Session::in_store(store, global).await {
            Ok(session) => {
                Some(session.store.adoptions(&session.org.id).await?.into_iter().map(|a| a.framework).collect())
            }
            Err(_) if global.org.is_none() => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let listed: Vec<_> = catalog()?
        .frameworks()
        .map(|f| Listed {
            id: f.id().as_str(),
            name: &f.info().name,
            version: &f.info().version,
            title: &f.info().title,
            requirements: f.requirements().len(),
            assessable: f.leaves().count(),
            adopted: adopted.as_ref().map(|a| a.contains(f.id())),
        })
        .collect();
    if global.json {
        output::json(&listed)?;
    } else {
        let rows = listed.iter().map(|l| {
            let adopted = match l.adopted {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            };
            [
                l.id.to_owned(),
                format!("{} {}", l.name, l.version),
                l.assessable.to_string(),
                adopted.to_owned(),
                l.title.to_owned(),
            ]
        });
        say!("{}", output::table(["id", "framework", "requirements", "adopted", "title"], rows));
    }
    Ok(ExitCode::SUCCESS)
}

fn show(global: &Global, id: &str) -> anyhow::Result<ExitCode> {
    let framework = framework(id)?;
    if global.json {
        output::json(framework)?;
        return Ok(ExitCode::SUCCESS);
    }
    let info = framework.info();
    say!("{} — {} {}: {}", info.id, info.name, info.version, info.title);
    say!("{}\n", info.description);
    if !info.categories.is_empty() {
        let categories: Vec<_> = info
            .categories
            .iter()
            .map(|c| format!("{}{}", c.id, if c.mandatory { " (mandatory)" } else { "" }))
            .collect();
        say!("categories: {}\n", categories.join(", "));
    }
    let rows = framework.requirements().iter().map(|r| {
        let depth =
            std::iter::successors(r.parent.as_ref(), |p| framework.requirement(p).and_then(|r| r.parent.as_ref()))
                .count();
        [format!("{}{}", "  ".repeat(depth), r.reference), format!("{:?}", r.kind).to_lowercase(), r.title.clone()]
    });
    say!("{}", output::table(["ref", "kind", "title"], rows));
    Ok(ExitCode::SUCCESS)
}

async fn adopt(
    global: &Global,
    id: &str,
    categories: Vec<String>,
    scope: String,
    target: Option<String>,
) -> anyhow::Result<ExitCode> {
    let framework = framework(id)?;
    let session = Session::open(global).await?;
    session.require(Permission::FrameworkAdopt)?;
    let declared = &framework.info().categories;
    let mut chosen: Vec<String> = declared.iter().filter(|c| c.mandatory).map(|c| c.id.clone()).collect();
    for category in categories.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        if framework.category(category).is_none() {
            let known: Vec<_> = declared.iter().map(|c| c.id.as_str()).collect();
            return Err(failure(
                format!("{} has no category {category:?}", framework.id()),
                if known.is_empty() {
                    "this framework has no scope categories".to_owned()
                } else {
                    format!("choose from: {}", known.join(", "))
                },
            ));
        }
        if !chosen.iter().any(|c| c == category) {
            chosen.push(category.to_owned());
        }
    }
    let target_date = target.map(|t| crate::context::parse_date(&t, "target date")).transpose()?;
    let adoption =
        Adoption { framework: framework.id().clone(), categories: chosen, scope, target_date, adopted_at: session.now };
    session.store.apply(&session.actor(), vec![Change::Adopt(adoption.clone())]).await?;
    if global.json {
        output::json(&adoption)?;
    } else {
        let scope = if adoption.categories.is_empty() {
            String::new()
        } else {
            format!(" for {}", adoption.categories.join(", "))
        };
        say!("{} adopted {}{scope}", session.org.slug, framework.id());
    }
    Ok(ExitCode::SUCCESS)
}
