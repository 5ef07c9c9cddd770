//! `evident backup DIR` and `evident restore DIR`: operator commands over the whole installation.
//! The work is `evident_app::backup`; this module renders it.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use evident_app::Operator;

use crate::cli::Global;
use crate::context::{self, operator_name};
use crate::output::{self, say};

/// A byte count for people.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

pub async fn backup(global: &Global, dir: &Path) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let app = context::app(global).await?;
    let report = app.backup(&Operator::new(operator_name()), dir).await?;
    if global.json {
        output::json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let manifest = &report.manifest;
    say!(
        "backed up to {}: {} tables, {} rows, {} evidence files ({}); {} schema version {}; in {:.2} s",
        dir.display(),
        manifest.tables.len(),
        manifest.rows(),
        manifest.blobs.len(),
        size(manifest.blob_bytes()),
        manifest.backend,
        manifest.schema_version,
        started.elapsed().as_secs_f64()
    );
    say!(
        "restore it with `evident restore {}` into an empty installation; keep it where the database's administrators cannot write",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(global: &Global, dir: &Path) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let app = context::app(global).await?;
    let report = app.restore(&Operator::new(operator_name()), dir).await?;
    if global.json {
        output::json(&report)?;
    } else {
        let manifest = &report.manifest;
        say!(
            "restored {} (taken {} by evident {}): {} tables, {} rows, {} evidence files ({}); in {:.2} s",
            dir.display(),
            manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
            manifest.evident_version,
            manifest.tables.len(),
            manifest.rows(),
            manifest.blobs.len(),
            size(manifest.blob_bytes()),
            started.elapsed().as_secs_f64()
        );
    }
    for verdict in &report.verdicts {
        if verdict.ok {
            if !global.json {
                say!("{}: audit log intact, state matches it ({} records)", verdict.organisation, verdict.records);
            }
            continue;
        }
        eprintln!("error: the restored audit log of {} does not verify:", verdict.organisation);
        for problem in &verdict.problems {
            eprintln!("  {}: {}", problem.code, problem.message);
        }
    }
    Ok(if report.verified() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
