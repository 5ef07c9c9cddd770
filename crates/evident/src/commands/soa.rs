//! `evident soa show|set|approve|versions|diff|export`.

use std::process::ExitCode;

use evident_app::soa::{DecisionDraft, SoaDocument, SoaSelector};

use crate::cli::{Global, SoaArgs, SoaCommand};
use crate::context;
use crate::output::{self, say};
use crate::spreadsheet;

pub async fn run(global: &Global, args: SoaArgs) -> anyhow::Result<ExitCode> {
    let (app, me) = context::open(global).await?;
    let framework = args.framework.as_ref();
    match args.command {
        SoaCommand::Show { attributes } if attributes.group_by.is_none() => {
            let rows = app.soa_view(&me, framework, &attributes.view()).await?;
            show(global, &rows.into_iter().flat_map(|(_, rows)| rows).collect::<Vec<_>>())?
        }
        SoaCommand::Show { attributes } => {
            let groups = app.soa_view(&me, framework, &attributes.view()).await?;
            if global.json {
                let groups: Vec<_> =
                    groups.iter().map(|(value, rows)| serde_json::json!({"value": value, "rows": rows})).collect();
                output::json(&groups)?;
            } else {
                for (value, rows) in &groups {
                    say!("{} = {value}", attributes.group_by.as_deref().unwrap_or_default());
                    show(global, rows)?;
                }
            }
        }
        SoaCommand::Set { reference, exclude, reasons, justification } => {
            let decision = app
                .set_soa(
                    &me,
                    framework,
                    &reference,
                    DecisionDraft { applicable: !exclude, reasons, justification },
                    None,
                )
                .await?;
            let verb = if decision.applicable { "applicable" } else { "excluded" };
            say!("{reference} is {verb} in the draft SoA");
        }
        SoaCommand::Approve => {
            let approval = app.approve_soa(&me, framework).await?;
            if approval.created {
                say!("approved SoA version {} by {}", approval.version, me.audit_name());
            } else {
                say!("the SoA has not changed since version {}: no new version was made", approval.version);
            }
            if approval.unjustified > 0 {
                say!(
                    "note: {} applicable controls have no recorded reason; an auditor will ask why they are in",
                    approval.unjustified
                );
            }
        }
        SoaCommand::Versions => {
            let versions = app.soa_versions(&me, framework).await?;
            if global.json {
                output::json(&versions)?;
            } else {
                let rows = versions.iter().map(|v| {
                    let excluded = v.rows.iter().filter(|r| !r.applicable).count();
                    [
                        v.version.to_string(),
                        v.approved_by.clone(),
                        v.approved_at.to_rfc3339(),
                        excluded.to_string(),
                        v.digest.to_string(),
                    ]
                });
                say!("{}", output::table(["version", "approved by", "approved at", "excluded", "sha-256"], rows));
            }
        }
        SoaCommand::Diff { from, to } => {
            let changes = app.soa_diff(&me, framework, from, to).await?;
            if global.json {
                output::json(&changes)?;
            } else if changes.is_empty() {
                say!("no differences between {from} and {to}");
            } else {
                let rows = changes
                    .iter()
                    .map(|c| [c.reference.to_string(), c.field.to_owned(), c.before.clone(), c.after.clone()]);
                say!("{from} → {to}: {} change(s)", changes.len());
                say!("{}", output::table(["ref", "field", "before", "after"], rows));
            }
        }
        SoaCommand::Export { file, version } => {
            let which = version.map_or(SoaSelector::Draft, SoaSelector::Version);
            let document = app.export_soa(&me, framework, which).await?;
            spreadsheet::write(&file, "Statement of Applicability", &SoaDocument::COLUMNS, &document.table())?;
            say!("wrote the {} SoA ({} controls) to {}", document.label, document.rows.len(), file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(global: &Global, rows: &[evident_core::soa::SoaRow]) -> anyhow::Result<()> {
    if global.json {
        return output::json(rows);
    }
    let table = rows.iter().map(|r| {
        let applicable = if r.applicable { "yes" } else { "EXCLUDED" };
        let justification = if r.applicable && r.justification_missing() {
            "(no reason recorded)".to_owned()
        } else {
            r.justification.clone()
        };
        let controls = r.implementing_controls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ");
        [
            r.reference.to_string(),
            r.title.clone(),
            applicable.to_owned(),
            justification,
            r.implementation.to_string(),
            controls,
        ]
    });
    say!(
        "{}",
        output::table(["control", "title", "applicable", "justification", "implementation", "implemented by"], table)
    );
    let excluded = rows.iter().filter(|r| !r.applicable).count();
    let missing = rows.iter().filter(|r| r.applicable && r.justification_missing()).count();
    say!(
        "{} controls: {} applicable, {excluded} excluded, {missing} without a recorded reason",
        rows.len(),
        rows.len() - excluded
    );
    Ok(())
}
