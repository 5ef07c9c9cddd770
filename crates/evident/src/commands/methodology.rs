//! `evident methodology show|history|set`: how the organisation rates risks, versioned.

use std::process::ExitCode;

use evident_core::Permission;
use evident_core::risk::{Methodology, Rating};
use evident_store::{Change, MethodologyVersion};

use crate::cli::{Global, MethodologyCommand};
use crate::context::{Session, failure};
use crate::output::{self, say};
use crate::spreadsheet;

/// The methodology in force, or a hint to set one.
pub async fn current_methodology(session: &Session) -> anyhow::Result<MethodologyVersion> {
    session.store.methodologies(&session.org.id).await?.pop().ok_or_else(|| {
        failure(
            format!("{} has no risk methodology yet", session.org.slug),
            "run `evident methodology set --preset 5x5`",
        )
    })
}

pub fn preset(name: &str) -> anyhow::Result<Methodology> {
    match name {
        "3x3" => Ok(Methodology::three_by_three()),
        "4x4" => Ok(Methodology::four_by_four()),
        "5x5" => Ok(Methodology::five_by_five()),
        other => Err(failure(format!("there is no preset {other:?}"), "choose 3x3, 4x4 or 5x5, or pass --file")),
    }
}

pub async fn run(global: &Global, command: MethodologyCommand) -> anyhow::Result<ExitCode> {
    let session = Session::open(global).await?;
    match command {
        MethodologyCommand::Show => {
            session.require(Permission::Read)?;
            let current = current_methodology(&session).await?;
            if global.json {
                output::json(&current)?;
            } else {
                print_methodology(&current);
            }
        }
        MethodologyCommand::History => {
            session.require(Permission::Read)?;
            let versions = session.store.methodologies(&session.org.id).await?;
            if global.json {
                output::json(&versions)?;
            } else {
                let rows = versions.iter().map(|v| {
                    let m = &v.methodology;
                    [
                        v.version.to_string(),
                        format!("{}×{}", m.likelihood.len(), m.impact.len()),
                        m.acceptance_level.clone(),
                        v.created_by.clone(),
                        v.created_at.to_rfc3339(),
                    ]
                });
                say!("{}", output::table(["version", "matrix", "accept up to", "set by", "set at"], rows));
            }
        }
        MethodologyCommand::Set { preset: name, file } => {
            session.require(Permission::MethodologyManage)?;
            let methodology = match (name, file) {
                (Some(name), _) => preset(&name)?,
                (None, Some(file)) => {
                    let text = std::fs::read_to_string(&file)
                        .map_err(|e| failure(format!("cannot read {}: {e}", file.display()), "check the path"))?;
                    toml::from_str::<Methodology>(&text).map_err(|e| {
                        failure(
                            format!("{}: {}", file.display(), e.message()),
                            "see `evident methodology show --json` for the shape",
                        )
                    })?
                }
                (None, None) => return Err(failure("nothing to set", "pass --preset 5x5 or --file FILE")),
            };
            methodology
                .validate()
                .map_err(|e| failure(format!("the methodology is not valid: {e}"), "nothing was changed"))?;
            let previous = session.store.methodologies(&session.org.id).await?.last().map_or(0, |v| v.version);
            session.store.apply(&session.actor(), vec![Change::SetMethodology(methodology)]).await?;
            say!(
                "methodology version {} is in force; risks assessed before keep version {previous} until they are re-assessed",
                previous + 1
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_methodology(current: &MethodologyVersion) {
    let m = &current.methodology;
    say!(
        "methodology version {} (set by {} on {})",
        current.version,
        current.created_by,
        current.created_at.date_naive()
    );
    let mut header = vec!["likelihood \\ impact".to_owned()];
    header.extend(m.impact.iter().enumerate().map(|(i, s)| format!("{} {}", i + 1, s.name)));
    let rows: Vec<Vec<String>> = (1..=m.likelihood.len())
        .rev()
        .map(|l| {
            let mut row = vec![format!("{l} {}", m.likelihood[l - 1].name)];
            row.extend((1..=m.impact.len()).map(|i| {
                let rating = Rating { likelihood: l as u8, impact: i as u8 };
                let score = m.score(rating).unwrap_or_default();
                format!("{score} {}", m.level(score).name)
            }));
            row
        })
        .collect();
    say!("{}", spreadsheet::markdown(&header.iter().map(String::as_str).collect::<Vec<_>>(), &rows));
    let levels: Vec<_> = m.levels.iter().map(|l| format!("{} ≥ {} ({})", l.name, l.min_score, l.colour)).collect();
    say!("levels: {}; a residual risk may be retained at or below {}", levels.join(", "), m.acceptance_level);
}
