//! `evident readiness`, `evident gap` and `evident crosswalk show`.

use std::process::ExitCode;

use evident_app::Library;
use evident_app::attributes::{AttributeView, ReadinessView};
use evident_core::gap::Gap;
use evident_core::readiness::Score;
use evident_core::{FrameworkId, RequirementRef};

use crate::cli::{CrosswalkCommand, Global};
use crate::context;
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

pub async fn readiness(
    global: &Global,
    only: Option<FrameworkId>,
    view: &AttributeView,
    recompute: bool,
) -> anyhow::Result<ExitCode> {
    let (app, me) = context::open(global).await?;
    if global.json && view.is_empty() {
        output::json_text(&app.readiness_json(&me, only.as_ref(), output::reuse(recompute)).await?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let ReadinessView { readiness: result, by_attribute } = app.readiness_view(&me, only.as_ref(), view).await?;
    if global.json {
        output::json(&ReadinessView { readiness: result, by_attribute })?;
        return Ok(ExitCode::SUCCESS);
    }
    let only_these = view.filters.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", ");
    let selection = if only_these.is_empty() { String::new() } else { format!(", requirements with {only_these}") };
    say!("Readiness of {} ({}), {}{selection}", me.org.name, me.org.slug, app.now().date_naive());
    say!("{}", score_table("framework", result.frameworks.iter().map(|f| (f.framework.to_string(), &f.score))));
    if !result.stale_mappings.is_empty() {
        say!(
            "{} mapping(s) point at a requirement the library no longer assesses; they count nowhere:",
            result.stale_mappings.len()
        );
        let rows = result.stale_mappings.iter().map(|m| {
            let reason = serde_json::to_value(&m.reason).ok().and_then(|v| v.as_str().map(str::to_owned));
            [m.control.to_string(), m.framework.to_string(), m.requirement.to_string(), reason.unwrap_or_default()]
        });
        say!("{}", output::table(["control", "framework", "ref", "why"], rows));
        say!("remove them with: evident controls unmap CODE FRAMEWORK REF");
    }
    for grouped in &by_attribute {
        say!("{} by {}", grouped.framework, grouped.attribute);
        say!("{}", score_table(&grouped.attribute, grouped.groups.iter().map(|g| (g.title.clone(), &g.score))));
    }
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
        let requirements = f.requirements.iter().map(|r| {
            // Which points of focus (guidance) each control addresses, when it says.
            let addressed: Vec<String> = r
                .controls
                .iter()
                .filter(|c| !c.guidance.is_empty())
                .map(|c| {
                    let refs = c.guidance.iter().map(|g| g.to_string()).collect::<Vec<_>>().join(", ");
                    format!("{} addresses {refs}", c.control)
                })
                .collect();
            let why = if addressed.is_empty() {
                r.reason.to_string()
            } else {
                format!("{}; {}", r.reason, addressed.join("; "))
            };
            [r.reference.to_string(), r.status.to_string(), r.title.clone(), why]
        });
        say!("{}", output::table(["ref", "status", "title", "why"], requirements));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn gap(
    global: &Global,
    from: &FrameworkId,
    to: &FrameworkId,
    accept: Vec<RequirementRef>,
    accept_all: bool,
) -> anyhow::Result<ExitCode> {
    let (app, me) = context::open(global).await?;
    if accept_all || !accept.is_empty() {
        let only = if accept_all { None } else { Some(accept.as_slice()) };
        let accepted = app.accept_gap(&me, from, to, only).await?;
        say!("accepted {} suggested mapping(s) to {to}", accepted.mappings);
        return Ok(ExitCode::SUCCESS);
    }
    let gap = app.gap(&me, from, to).await?;
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
    let library = Library::embedded()?;
    library.framework(&from)?;
    library.framework(&to)?;
    let crosswalk = library.crosswalk(&from, &to)?;
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
