//! `evident methodology show|history|set`: how the organisation rates risks, versioned.

use std::process::ExitCode;

use evident_core::risk::{Methodology, MethodologyVersion};

use crate::cli::{Global, MethodologyCommand};
use crate::context::{self, failure};
use crate::output::{self, say};
use crate::spreadsheet;

pub async fn run(global: &Global, command: MethodologyCommand) -> anyhow::Result<ExitCode> {
    let (app, me) = context::open(global).await?;
    match command {
        MethodologyCommand::Show => {
            let current = app.methodology(&me).await?;
            if global.json {
                output::json(&current)?;
            } else {
                print_methodology(&current);
            }
        }
        MethodologyCommand::History => {
            let versions = app.methodologies(&me).await?;
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
        MethodologyCommand::Set { preset, file } => {
            let methodology = match (preset, file) {
                (Some(name), _) => evident_app::risks::preset(&name)?,
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
            let version = app.set_methodology(&me, methodology).await?;
            say!(
                "methodology version {version} is in force; risks assessed before keep version {} until they are re-assessed",
                version - 1
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
                let score = m.rating(l as u8, i as u8).and_then(|rating| m.score(rating)).unwrap_or_default();
                format!("{score} {}", m.level(score).name)
            }));
            row
        })
        .collect();
    say!("{}", spreadsheet::markdown(&header.iter().map(String::as_str).collect::<Vec<_>>(), &rows));
    let levels: Vec<_> = m.levels.iter().map(|l| format!("{} ≥ {} ({})", l.name, l.min_score, l.colour)).collect();
    say!("levels: {}; a residual risk may be retained at or below {}", levels.join(", "), m.acceptance_level);
}
