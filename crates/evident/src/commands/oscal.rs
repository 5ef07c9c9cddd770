//! `evident oscal validate|resolve`: files only, no database.

use std::process::ExitCode;

use evident_app::oscal::{limits, resolve_oscal, resolve_oscal_to, validate_oscal};

use crate::cli::{Global, OscalCommand};
use crate::output::{self, say};

pub fn run(global: &Global, command: OscalCommand) -> anyhow::Result<ExitCode> {
    match command {
        OscalCommand::Validate { file, max_size } => {
            let report = validate_oscal(&file, &limits(max_size))?;
            if global.json {
                output::json(&report)?;
            } else {
                say!(
                    "{}: a valid OSCAL {} ({} controls); NIST's schema and every reference check out",
                    report.file,
                    report.model.as_str(),
                    report.controls
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
    }
    Ok(ExitCode::SUCCESS)
}
