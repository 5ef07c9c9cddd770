//! `evident oscal validate|resolve` (files only, no database) and `evident oscal export`.

use std::process::ExitCode;

use evident_app::oscal::{ExportKind, limits, resolve_oscal, resolve_oscal_to, validate_oscal};

use crate::cli::{Global, OscalCommand};
use crate::context;
use crate::output::{self, say};

pub async fn run(global: &Global, command: OscalCommand) -> anyhow::Result<ExitCode> {
    match command {
        OscalCommand::Validate { file, max_size } => {
            let report = validate_oscal(&file, &limits(max_size))?;
            if global.json {
                output::json(&report)?;
            } else {
                // An SSP and a component definition count their implemented requirements;
                // assessment plans, results and POA&Ms count no controls.
                let controls = match report.model.as_str() {
                    "assessment-plan" | "assessment-results" | "plan-of-action-and-milestones" => String::new(),
                    _ => format!(" ({} controls)", report.controls),
                };
                say!(
                    "{}: a valid OSCAL {}{controls}; NIST's schema and every reference check out",
                    report.file,
                    report.model.as_str()
                );
            }
        }
        OscalCommand::Resolve { profile, out, max_size } => {
            let limits = limits(max_size);
            let resolved = match &out {
                Some(out) => resolve_oscal_to(&profile, out, &limits)?,
                None => resolve_oscal(&profile, &limits)?,
            };
            for warning in &resolved.warnings {
                eprintln!("warning: {warning}");
            }
            match &out {
                Some(out) => say!("resolved {} into {}", profile.display(), out.display()),
                None => output::json_text(&serde_json::to_string_pretty(&resolved.catalog)?)?,
            }
        }
        OscalCommand::Export { kind, framework, out, ssp_href } => {
            let kind = ExportKind::parse(&kind).ok_or_else(|| anyhow::anyhow!("unknown export kind {kind}"))?;
            let (app, me) = context::open(global).await?;
            let report = app.export_oscal_to(&me, kind, &framework, &out, &ssp_href).await?;
            if global.json {
                output::json(&report)?;
            } else {
                let c = &report.counts;
                let what = match kind {
                    ExportKind::Ssp => {
                        format!("{} components, {} implemented requirements", c.components, c.implemented_requirements)
                    }
                    ExportKind::AssessmentResults => {
                        format!("{} observations, {} findings", c.observations, c.findings)
                    }
                    ExportKind::Poam => format!("{} POA&M items", c.poam_items),
                };
                say!("exported the {} of {} for {} to {}: {what}", kind.as_str(), me.org.slug, framework, report.file);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
