//! `evident frameworks list|show|adopt|import`.

use std::process::ExitCode;

use evident_app::Library;
use evident_app::frameworks::listing;
use evident_app::imports::frameworks::Header;
use evident_app::library::Source;

use crate::cli::{FrameworksCommand, Global};
use crate::context;
use crate::output::{self, say};

pub async fn run(global: &Global, command: FrameworksCommand) -> anyhow::Result<ExitCode> {
    match command {
        FrameworksCommand::List => list(global).await?,
        FrameworksCommand::Show { id } => {
            // A built-in framework is in the binary; an imported one belongs to an organisation.
            if id.namespace().is_none() {
                show(global, Library::embedded()?.framework(&id)?)?;
            } else {
                let (app, me) = context::open(global).await?;
                show(global, &app.framework(Some(&me), &id).await?)?;
            }
        }
        FrameworksCommand::Import { file, id, name, framework_version, title, publisher, description } => {
            let (app, me) = context::open(global).await?;
            let header = id.map(|id| Header { id, name, version: framework_version, title, publisher, description });
            let report = app.import_framework_file(&me, &file, header.as_ref()).await?;
            if global.json {
                output::json(&report)?;
            } else if report.created {
                say!(
                    "{} imported {} from {}: {} requirements, {} assessed",
                    me.org.slug,
                    report.id,
                    file.display(),
                    report.requirements,
                    report.assessable
                );
                say!("adopt it with: evident frameworks adopt {}", report.id);
            } else {
                say!("{} has {} with this very content already: nothing changed", me.org.slug, report.id);
            }
        }
        FrameworksCommand::ImportOscal { file, id, max_size } => {
            let (app, me) = context::open(global).await?;
            let report = app.import_oscal_catalog(&me, &file, id, &evident_app::oscal::limits(max_size)).await?;
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            let framework = &report.import;
            if global.json {
                output::json(&report)?;
            } else if framework.created {
                let withdrawn = match report.withdrawn {
                    0 => String::new(),
                    n => format!(" ({n} withdrawn controls left out)"),
                };
                let what = if report.resolved_profile { "the profile" } else { "the catalog" };
                say!(
                    "{} imported {} from {what} {}: {} requirements, {} assessed{withdrawn}",
                    me.org.slug,
                    framework.id,
                    file.display(),
                    framework.requirements,
                    framework.assessable
                );
                say!("adopt it with: evident frameworks adopt {}", framework.id);
            } else {
                say!("{} has {} with this very content already: nothing changed", me.org.slug, framework.id);
            }
        }
        FrameworksCommand::Adopt { id, categories, scope, target } => {
            let (app, me) = context::open(global).await?;
            let adoption = app.adopt(&me, &id, &categories, scope, target).await?;
            if global.json {
                output::json(&adoption)?;
            } else {
                let scope = if adoption.categories.is_empty() {
                    String::new()
                } else {
                    format!(" for {}", adoption.categories.join(", "))
                };
                say!("{} adopted {}{scope}", me.org.slug, adoption.framework);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(global: &Global) -> anyhow::Result<()> {
    // The library is in the binary; adoption needs an organisation, when there is one to ask.
    let ask = global.org.is_some() || global.database_url.is_some() || global.data_dir.exists();
    let listed = if ask {
        let app = context::app(global).await?;
        match context::principal(&app, global).await {
            Ok(me) => app.frameworks(Some(&me)).await?,
            Err(_) if global.org.is_none() => app.frameworks(None).await?,
            Err(e) => return Err(e),
        }
    } else {
        listing(&Library::embedded()?, None)
    };
    if global.json {
        return output::json(&listed);
    }
    let rows = listed.iter().map(|l| {
        let adopted = match l.adopted {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        let source = match l.source {
            Source::Builtin => "builtin",
            Source::Imported => "imported",
        };
        [
            l.id.to_string(),
            format!("{} {}", l.name, l.version),
            match &l.guidance_kind {
                Some(kind) if l.guidance > 0 => {
                    format!("{} (+{} {})", l.assessable, l.guidance, kind.replace('_', " "))
                }
                _ => l.assessable.to_string(),
            },
            source.to_owned(),
            adopted.to_owned(),
            l.title.clone(),
        ]
    });
    say!("{}", output::table(["id", "framework", "requirements", "source", "adopted", "title"], rows));
    Ok(())
}

fn show(global: &Global, framework: &evident_core::Framework) -> anyhow::Result<()> {
    if global.json {
        return output::json(framework);
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
        let reference = match &r.label {
            Some(label) => format!("{}{} ({label})", "  ".repeat(depth), r.reference),
            None => format!("{}{}", "  ".repeat(depth), r.reference),
        };
        // An informative requirement is context (a regulation's definitions): shown, never assessed.
        let kind = if r.informative { format!("{} (informative)", r.kind) } else { r.kind.to_string() };
        [reference, kind, r.title.clone()]
    });
    say!("{}", output::table(["ref", "kind", "title"], rows));
    Ok(())
}
