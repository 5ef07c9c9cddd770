//! `evident readiness`, `evident gap` and `evident crosswalk show`.

use std::process::ExitCode;

use evident_core::gap::Gap;
use evident_core::readiness::{MappingIndex, Score};
use evident_core::{Mapping, Permission};
use evident_store::Change;

use crate::cli::{CrosswalkCommand, Global};
use crate::context::{Session, catalog, failure, framework};
use crate::model::OrgData;
use crate::output::{self, say};

fn score_cells(score: &Score) -> [String; 5] {
    [
        if score.applicable == 0 { "-".to_owned() } else { format!("{:.1}%", score.percent) },
        score.covered.to_string(),
        score.partial.to_string(),
        score.missing.to_string(),
        score.not_applicable.to_string(),
    ]
}

/// A table of scores, one row per labelled score, under the header every readiness table shares.
fn score_table<'a>(label: &str, rows: impl IntoIterator<Item = (String, &'a Score)>) -> String {
    let rows = rows.into_iter().map(|(name, score)| {
        let [percent, covered, partial, missing, na] = score_cells(score);
        [name, percent, covered, partial, missing, na]
    });
    output::table([label, "readiness", "covered", "partial", "missing", "n/a"], rows)
}

pub async fn readiness(global: &Global, only: Option<String>) -> anyhow::Result<ExitCode> {
    let session = Session::open(global).await?;
    session.require(Permission::Read)?;
    let data = OrgData::load(&session).await?;
    let only = only.as_deref().map(framework).transpose()?;
    let result = data.readiness(only)?;
    if global.json {
        output::json(&result)?;
        return Ok(ExitCode::SUCCESS);
    }
    say!("Readiness of {} ({}), {}", session.org.name, session.org.slug, session.now.date_naive());
    say!("{}", score_table("framework", result.frameworks.iter().map(|f| (f.framework.to_string(), &f.score))));
    if only.is_none() {
        let [percent, covered, partial, missing, na] = score_cells(&result.overall);
        say!("overall {percent}: {covered} covered, {partial} partial, {missing} missing, {na} not applicable");
        say!("drill down with: evident readiness --framework ID");
        return Ok(ExitCode::SUCCESS);
    }
    for f in &result.frameworks {
        say!("{}", score_table("group", f.groups.iter().map(|g| (format!("{} {}", g.id, g.title), &g.score))));
        if !f.categories.is_empty() {
            say!("{}", score_table("category", f.categories.iter().map(|g| (g.title.clone(), &g.score))));
        }
        let requirements = f
            .requirements
            .iter()
            .map(|r| [r.reference.to_string(), r.status.to_string(), r.title.clone(), r.reason.clone()]);
        say!("{}", output::table(["ref", "status", "title", "why"], requirements));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn gap(
    global: &Global,
    from: &str,
    to: &str,
    accept: Vec<String>,
    accept_all: bool,
) -> anyhow::Result<ExitCode> {
    let from = framework(from)?;
    let target = framework(to)?;
    let session = Session::open(global).await?;
    session.require(Permission::Read)?;
    let catalog = catalog()?;
    let crosswalk = catalog.crosswalk(from.id(), target.id()).ok_or_else(|| {
        failure(
            format!("there is no crosswalk from {} to {}", from.id(), target.id()),
            "run `evident crosswalk show --from A --to B` for the ones shipped",
        )
    })?;
    let data = OrgData::load(&session).await?;
    let statuses = data.framework_readiness(target).requirements;
    let index = MappingIndex::new(&data.controls, &data.mappings);
    let gap = evident_core::gap::gap(from.id(), target, &statuses, &crosswalk.links, &index);

    if accept_all || !accept.is_empty() {
        session.require(Permission::MappingWrite)?;
        let mut chosen = Vec::new();
        for reference in &accept {
            let reference = crate::context::requirement(target, reference)?;
            let item =
                gap.uncovered.iter().find(|i| i.reference == reference && !i.suggestions.is_empty()).ok_or_else(
                    || {
                        failure(
                            format!("{reference} has no suggestion to accept"),
                            "run the same gap command without --accept to see the suggestions",
                        )
                    },
                )?;
            chosen.push(item);
        }
        if accept_all {
            chosen = gap.uncovered.iter().collect();
        }
        let changes: Vec<Change> = chosen
            .iter()
            .flat_map(|item| {
                item.suggestions.iter().map(|s| {
                    Change::Map(Mapping {
                        control: s.control.clone(),
                        framework: target.id().clone(),
                        requirement: item.reference.clone(),
                        coverage: s.coverage,
                        rationale: format!(
                            "Accepted from the {} → {} crosswalk: {}. {}",
                            from.id(),
                            target.id(),
                            s.path,
                            s.rationale
                        ),
                    })
                })
            })
            .collect();
        let count = changes.len();
        session.store.apply(&session.actor(), changes).await?;
        say!("accepted {count} suggested mapping(s) to {}", target.id());
        return Ok(ExitCode::SUCCESS);
    }
    if global.json {
        output::json(&gap)?;
    } else {
        print_gap(&gap);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_gap(gap: &Gap) {
    let suggested = gap.uncovered.iter().filter(|i| !i.suggestions.is_empty()).count();
    say!(
        "{} → {}: {} requirements covered or not applicable, {} not covered ({} with suggestions from your {} controls), {} no crosswalk reaches",
        gap.from,
        gap.to,
        gap.covered,
        gap.uncovered.len() + gap.unreached.len(),
        suggested,
        gap.from,
        gap.unreached.len()
    );
    let rows = gap.uncovered.iter().flat_map(|item| {
        let head =
            [item.reference.to_string(), item.status.to_string(), item.title.clone(), String::new(), String::new()];
        let suggestions = item.suggestions.iter().map(|s| {
            [
                String::new(),
                String::new(),
                String::new(),
                s.path.clone(),
                format!("{} (strength {})", s.coverage, s.strength),
            ]
        });
        std::iter::once(head).chain(suggestions)
    });
    say!("{}", output::table(["ref", "status", "title", "reached by", "suggested"], rows));
    say!("No crosswalk reaches these; they are new work for {}:", gap.to);
    let rows = gap.unreached.iter().map(|i| [i.reference.to_string(), i.status.to_string(), i.title.clone()]);
    say!("{}", output::table(["ref", "status", "title"], rows));
    say!("accept suggestions with: evident gap --from {} --to {} --accept REF (or --accept-all)", gap.from, gap.to);
}

pub async fn crosswalk(global: &Global, command: CrosswalkCommand) -> anyhow::Result<ExitCode> {
    let CrosswalkCommand::Show { from, to } = command;
    let (from, to) = (framework(&from)?, framework(&to)?);
    let catalog = catalog()?;
    let crosswalk = catalog.crosswalk(from.id(), to.id()).ok_or_else(|| {
        let shipped: Vec<_> = catalog.crosswalks().iter().map(|c| format!("{} ↔ {}", c.from, c.to)).collect();
        failure(
            format!("there is no crosswalk between {} and {}", from.id(), to.id()),
            format!("shipped: {}", shipped.join("; ")),
        )
    })?;
    if global.json {
        output::json(&crosswalk)?;
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{} → {} ({} links, source: {})\n{}",
        crosswalk.from,
        crosswalk.to,
        crosswalk.links.len(),
        crosswalk.source,
        crosswalk.description
    );
    let rows = crosswalk.links.iter().map(|l| {
        [l.from.to_string(), l.relationship.to_string(), l.to.to_string(), l.strength.to_string(), l.rationale.clone()]
    });
    say!("{}", output::table(["from", "relationship", "to", "strength", "rationale"], rows));
    Ok(ExitCode::SUCCESS)
}
