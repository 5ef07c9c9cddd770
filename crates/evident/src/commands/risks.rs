//! `evident risks …`: the risk register, its treatment plan, acceptances and heat map.

use std::process::ExitCode;

use evident_app::Library;
use evident_app::imports::risks::{COLUMNS, PLAN_COLUMNS, REQUIRED};
use evident_app::risks::{RiskDraft, scored};
use evident_core::risk::{self, Rating, Treating};

use crate::cli::{Global, RisksCommand};
use crate::context::{self, failure};
use crate::output::{self, say};
use crate::spreadsheet;

pub async fn risks(global: &Global, command: RisksCommand) -> anyhow::Result<ExitCode> {
    if let RisksCommand::Threats = command {
        return threats(global);
    }
    let (app, me) = context::open(global).await?;
    match command {
        RisksCommand::Threats => unreachable!("handled before opening the store"),
        RisksCommand::List => {
            let risks = app.risks(&me).await?;
            if global.json {
                output::json(&risks)?;
                return Ok(ExitCode::SUCCESS);
            }
            let methodologies = app.methodologies(&me).await?;
            let today = app.now().date_naive();
            let methodology =
                |r: &risk::Risk| methodologies.iter().find(|v| v.version == r.methodology).map(|v| &v.methodology);
            let level = |r: &risk::Risk, rating: Rating| {
                scored(&methodologies, r, rating).map_or_else(String::new, |(s, l)| format!("{s} {l}"))
            };
            let rows = risks.iter().map(|r| {
                [
                    r.code.to_string(),
                    r.title.clone(),
                    r.owner.to_string(),
                    level(r, r.inherent),
                    r.treatment.to_string(),
                    level(r, r.residual),
                    r.review_date.to_string(),
                    r.acceptance.as_ref().map(|a| a.expires.to_string()).unwrap_or_default(),
                    if risk::due(r, methodology(r), today).is_empty() { String::new() } else { "DUE".to_owned() },
                ]
            });
            say!(
                "{}",
                output::table(
                    ["code", "title", "owner", "inherent", "treatment", "residual", "review", "accepted until", ""],
                    rows
                )
            );
            say!("{} risks", risks.len());
        }
        RisksCommand::Create {
            code,
            title,
            description,
            assets,
            threat,
            vulnerability,
            owner,
            likelihood,
            impact,
            treatment,
            controls,
            planned,
            residual_likelihood,
            residual_impact,
            residual_justification,
            review,
        } => {
            let mut treating: Vec<Treating> =
                controls.into_iter().map(|control| Treating { control, planned: false, due: None }).collect();
            treating.extend(planned.into_iter().map(|(control, due)| Treating {
                control,
                planned: true,
                due: Some(due),
            }));
            let draft = RiskDraft {
                code,
                title,
                description,
                assets,
                threat,
                vulnerability,
                owner,
                inherent: (likelihood, impact),
                treatment,
                controls: treating,
                residual: (residual_likelihood, residual_impact),
                residual_justification,
                review_date: review,
                closed: false,
            };
            let risk = app.create_risk(&me, draft).await?;
            say!("risk {} recorded with methodology version {}", risk.code, risk.methodology);
        }
        RisksCommand::Import { file } => {
            let table = spreadsheet::table(&file, &COLUMNS, &REQUIRED)?;
            let (report, version) = app.import_risks(&me, &table).await?;
            if global.json {
                output::json(&report)?;
            } else {
                say!(
                    "imported {}: {} risks created, {} updated, {} unchanged, with methodology version {version}",
                    table.file,
                    report.created,
                    report.updated,
                    report.unchanged
                );
            }
        }
        RisksCommand::Export { file } => {
            let rows = app.export_risks(&me).await?;
            spreadsheet::write(&file, "Risk register", &COLUMNS, &rows)?;
            say!("wrote the risk register ({} risks) to {}", rows.len(), file.display());
        }
        RisksCommand::Accept { code, expires, note } => {
            let acceptance = app.accept_risk(&me, &code, expires, note).await?;
            say!("{} accepted the residual risk of {code} until {}", acceptance.by, acceptance.expires);
        }
        RisksCommand::Due { on } => {
            let (today, due) = app.risks_due(&me, on).await?;
            if global.json {
                output::json(&due)?;
            } else {
                let rows = due.iter().map(|item| {
                    let why = item.due.to_string();
                    [item.risk.to_string(), item.title.clone(), item.owner.to_string(), why]
                });
                say!("due on {today}:");
                say!("{}", output::table(["risk", "title", "owner", "why"], rows));
            }
        }
        RisksCommand::TreatmentPlan { format, output: file } => {
            let rows = app.export_treatment_plan(&me).await?;
            match (format.as_str(), file) {
                (_, Some(path)) => {
                    if spreadsheet::extension(&path).as_deref() != Some(format.as_str()) {
                        return Err(failure(
                            format!("{} does not end in .{format}", path.display()),
                            "name the file after its format",
                        ));
                    }
                    spreadsheet::write(&path, "Risk treatment plan", &PLAN_COLUMNS, &rows)?;
                    say!("wrote the risk treatment plan ({} rows) to {}", rows.len(), path.display());
                }
                ("md", None) => say!("# Risk treatment plan\n\n{}", spreadsheet::markdown(&PLAN_COLUMNS, &rows)),
                ("csv", None) => {
                    let mut writer = csv::Writer::from_writer(Vec::new());
                    writer.write_record(PLAN_COLUMNS)?;
                    for row in &rows {
                        writer.write_record(row.iter().map(|c| spreadsheet::neutralise(c)))?;
                    }
                    say!("{}", String::from_utf8(writer.into_inner()?)?.trim_end());
                }
                _ => return Err(failure("an XLSX treatment plan needs a file", "pass --output plan.xlsx")),
            }
        }
        RisksCommand::Heatmap => {
            let map = app.heat_map(&me).await?;
            if global.json {
                output::json(&map)?;
            } else {
                let mut header = vec!["likelihood \\ impact".to_owned()];
                header.extend(map.impact.iter().cloned());
                let rows: Vec<Vec<String>> = (0..map.likelihood.len())
                    .rev()
                    .map(|l| {
                        let mut row = vec![map.likelihood[l].clone()];
                        row.extend(
                            (0..map.impact.len()).map(|i| format!("{} → {}", map.inherent[l][i], map.residual[l][i])),
                        );
                        row
                    })
                    .collect();
                say!("open risks per cell, inherent → residual (methodology version {})", map.methodology);
                say!("{}", spreadsheet::markdown(&header.iter().map(String::as_str).collect::<Vec<_>>(), &rows));
                if map.other_versions > 0 {
                    say!(
                        "{} open risks were assessed with an earlier methodology and are not placed",
                        map.other_versions
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn threats(global: &Global) -> anyhow::Result<ExitCode> {
    let list = Library::embedded()?.catalog().threats();
    if global.json {
        output::json(list)?;
        return Ok(ExitCode::SUCCESS);
    }
    for (title, items) in [("Threats", &list.threats), ("Vulnerabilities", &list.vulnerabilities)] {
        say!("{title}");
        let rows = items.iter().map(|t| [t.id.clone(), t.category.clone(), t.name.clone(), t.description.clone()]);
        say!("{}", output::table(["id", "category", "name", "description"], rows));
    }
    Ok(ExitCode::SUCCESS)
}
