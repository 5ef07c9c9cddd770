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
        FrameworksCommand::ImportOscal { file, id, max_size, previous, carry_mappings } => {
            let (app, me) = context::open(global).await?;
            let options = evident_app::oscal::RevisionOptions { previous, carry_mappings };
            let limits = evident_app::oscal::limits(max_size);
            let report = app.import_oscal_revision(&me, &file, id, &options, &limits).await?;
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
            if !global.json {
                revision(&report);
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

/// A new revision's diff and crosswalk, and the mappings carried over, for humans.
fn revision(report: &evident_app::oscal::OscalImport) {
    let Some(diff) = &report.revision else { return };
    say!(
        "against {}: {} added, {} removed, {} changed, {} moved, {} unchanged",
        diff.from,
        diff.added.len(),
        diff.removed.len(),
        diff.changed.len(),
        diff.moved.len(),
        diff.unchanged
    );
    for (what, list) in
        [("added", &diff.added), ("removed", &diff.removed), ("changed", &diff.changed), ("moved", &diff.moved)]
    {
        for d in list {
            say!("  {what:<8} {:<12} {}: {}", d.reference, d.title, d.explanation);
        }
    }
    let gone = diff.crosswalk.iter().filter(|c| c.to.is_empty()).count();
    say!(
        "crosswalk {} -> {}: {} assessed requirements, {} with no successor (--json lists every one)",
        diff.from,
        diff.to,
        diff.crosswalk.len(),
        gone
    );
    match &report.carried {
        Some(carried) => {
            say!(
                "mappings carried over: {} made, {} there already, {} not carried",
                carried.mapped,
                carried.already,
                carried.not_carried.len()
            );
            for n in &carried.not_carried {
                say!("  not carried: {} -> {}: {}", n.control, n.requirement, n.reason);
            }
        }
        None => say!("carry the mappings over with: --carry-mappings"),
    }
}
