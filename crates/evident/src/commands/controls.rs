//! `evident controls …`: the organisation's own controls and their mappings.

use std::path::Path;
use std::process::ExitCode;

use evident_app::AppError;
use evident_app::controls::ControlView;
use evident_app::imports::controls::{COLUMNS, EXAMPLE, REQUIRED};
use evident_core::freshness::MaxAge;
use evident_core::{ControlPatch, Email, NewControl};
use serde::Serialize;

use crate::cli::{ControlsCommand, Global};
use crate::context;
use crate::output::{self, say};
use crate::spreadsheet;

pub async fn run(global: &Global, command: ControlsCommand) -> anyhow::Result<ExitCode> {
    if let ControlsCommand::Template { file } = &command {
        return template(file);
    }
    let (app, me) = context::open(global).await?;
    match command {
        ControlsCommand::Template { .. } => unreachable!("handled before opening the store"),
        ControlsCommand::Import { file } => {
            let table = spreadsheet::table(&file, &COLUMNS, &REQUIRED)?;
            let report = app.import_controls(&me, &table).await?;
            if global.json {
                output::json(&report)?;
            } else {
                say!(
                    "imported {}: {} controls created, {} updated, {} unchanged, {} mappings set ({} rows)",
                    table.file,
                    report.created,
                    report.updated,
                    report.unchanged,
                    report.mappings,
                    report.rows
                );
            }
        }
        ControlsCommand::Export { file } => {
            let (controls, rows) = app.export_controls(&me).await?;
            spreadsheet::write(&file, "controls", &COLUMNS, &rows)?;
            say!("wrote {controls} controls in {} rows to {}", rows.len(), file.display());
        }
        ControlsCommand::AdoptBaseline { only } => {
            let report = app.adopt_baseline(&me, &only).await?;
            say!(
                "adopted {} baseline controls with their mappings ({} already present were left as they are)",
                report.adopted,
                report.skipped
            );
        }
        ControlsCommand::List { all, attributes, recompute } if global.json && attributes.view().is_empty() => {
            output::json_text(&app.controls_json(&me, all, output::reuse(recompute)).await?)?;
        }
        ControlsCommand::List { all, attributes, .. } if attributes.view().is_empty() => {
            list(&app.controls(&me, all).await?)
        }
        ControlsCommand::List { all, attributes, .. } => {
            let groups = app.controls_view(&me, all, &attributes.view()).await?;
            if global.json {
                let groups: Vec<_> = groups
                    .iter()
                    .map(|(value, controls)| serde_json::json!({"value": value, "controls": controls}))
                    .collect();
                output::json(&groups)?;
            } else {
                for (value, controls) in &groups {
                    if let Some(key) = &attributes.group_by {
                        say!("{key} = {value}");
                    }
                    list(controls);
                }
            }
        }
        ControlsCommand::Show { code } => show(global, &app.control(&me, &code).await?)?,
        ControlsCommand::Create { code, title, description, owner, frequency, max_evidence_age_days, status } => {
            let max_age = max_evidence_age_days.as_deref().map(max_age).transpose()?;
            let control = NewControl::new(code, &title, &description, owner, frequency, status)
                .map_err(AppError::from)?
                .with_max_evidence_age(max_age);
            let control = app.create_control(&me, control).await?;
            done(global, &format!("created control {}", control.code), &control)?;
        }
        ControlsCommand::Edit {
            code,
            title,
            description,
            owner,
            frequency,
            max_evidence_age_days,
            status,
            revision,
        } => {
            let owner = match owner.as_deref() {
                Some("none") => Some(None),
                Some(email) => Some(Some(Email::parse(email)?)),
                None => None,
            };
            let max_evidence_age_days = match max_evidence_age_days.as_deref() {
                Some("none") => Some(None),
                Some(days) => Some(Some(max_age(days)?)),
                None => None,
            };
            let patch = ControlPatch { title, description, owner, frequency, max_evidence_age_days, status };
            let applied = app.edit_control(&me, &code, patch, revision).await?;
            let message = if applied.is_empty() {
                format!("control {code} already says that: nothing changed")
            } else {
                format!("updated control {code}")
            };
            done(global, &message, &applied)?;
        }
        ControlsCommand::Rename { code, to } => {
            let control = app.rename_control(&me, &code, &to).await?;
            done(global, &format!("renamed control {code} to {}", control.code), &control)?;
        }
        ControlsCommand::Retire { code } => {
            app.retire_control(&me, &code).await?;
            done(global, &format!("retired control {code}"), &code)?;
        }
        ControlsCommand::Map { code, framework, requirement, coverage, rationale } => {
            let mapping = app.map_control(&me, &code, &framework, &requirement, coverage, &rationale).await?;
            done(
                global,
                &format!(
                    "mapped {} to {} {} ({})",
                    mapping.control, mapping.framework, mapping.requirement, mapping.coverage
                ),
                &mapping,
            )?;
        }
        ControlsCommand::Unmap { code, framework, requirement } => {
            app.unmap_control(&me, &code, &framework, &requirement).await?;
            let unmapped = serde_json::json!({"control": code, "framework": framework, "requirement": requirement});
            done(global, &format!("unmapped {code} from {framework} {requirement}"), &unmapped)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A maximum evidence age as typed; a bad one is `invalid_input`, like any other bad value.
fn max_age(days: &str) -> Result<MaxAge, AppError> {
    MaxAge::parse(days).map_err(|e| AppError::invalid(format!("--max-evidence-age-days: {e}")))
}

fn done<T: Serialize>(global: &Global, message: &str, value: &T) -> anyhow::Result<()> {
    if global.json {
        output::json(value)
    } else {
        say!("{message}");
        Ok(())
    }
}

fn list(shown: &[ControlView]) {
    let rows = shown.iter().map(|v| {
        let c = &v.control;
        [
            c.code.to_string(),
            c.title.clone(),
            c.owner.as_ref().map_or("-".to_owned(), |o| o.to_string()),
            c.frequency.to_string(),
            if c.is_active() { c.status.to_string() } else { "retired".to_owned() },
            v.mappings.len().to_string(),
        ]
    });
    say!("{}", output::table(["code", "title", "owner", "frequency", "status", "mappings"], rows));
    say!("{} controls", shown.len());
}

fn show(global: &Global, view: &ControlView) -> anyhow::Result<()> {
    if global.json {
        return output::json(view);
    }
    let control = &view.control;
    say!("{} — {}", control.code, control.title);
    say!("{}", control.description);
    say!(
        "owner: {}   frequency: {}{}   status: {}{}",
        control.owner.as_ref().map_or("-".to_owned(), |o| o.to_string()),
        control.frequency,
        control.max_evidence_age_days.map(|a| format!("   max evidence age: {a}")).unwrap_or_default(),
        control.status,
        control.retired_at.map(|t| format!("   retired {}", t.date_naive())).unwrap_or_default()
    );
    let rows = view
        .mappings
        .iter()
        .map(|m| [m.framework.to_string(), m.requirement.to_string(), m.coverage.to_string(), m.rationale.clone()]);
    say!("{}", output::table(["framework", "requirement", "coverage", "rationale"], rows));
    Ok(())
}

fn template(path: &Path) -> anyhow::Result<ExitCode> {
    spreadsheet::write(path, "controls", &COLUMNS, &[EXAMPLE.iter().map(|c| c.to_string()).collect()])?;
    say!(
        "wrote the import template to {}: one row per control and mapping; columns {}",
        path.display(),
        COLUMNS.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
