//! `evident assets list|put|import|export`.

use std::process::ExitCode;

use evident_app::imports::assets::{COLUMNS, REQUIRED, row};
use evident_core::risk::Asset;

use crate::cli::{AssetsCommand, Global};
use crate::context;
use crate::output::{self, say};
use crate::spreadsheet;

pub async fn run(global: &Global, command: AssetsCommand) -> anyhow::Result<ExitCode> {
    let (app, me) = context::open(global).await?;
    match command {
        AssetsCommand::List => {
            let assets = app.assets(&me).await?;
            if global.json {
                output::json(&assets)?;
            } else {
                let rows = assets.iter().map(|a| {
                    let r = row(a);
                    [
                        r[0].clone(),
                        r[1].clone(),
                        r[2].clone(),
                        r[3].clone(),
                        r[4].clone(),
                        format!("{}/{}/{}", r[5], r[6], r[7]),
                        r[8].clone(),
                    ]
                });
                say!("{}", output::table(["code", "name", "type", "owner", "classification", "C/I/A", "parent"], rows));
            }
        }
        AssetsCommand::Put { code, name, kind, owner, classification, cia, parent } => {
            let asset = Asset {
                code,
                name,
                kind,
                owner,
                classification,
                confidentiality: cia[0],
                integrity: cia[1],
                availability: cia[2],
                parent,
            };
            let asset = app.put_asset(&me, asset).await?;
            say!("asset {} saved", asset.code);
        }
        AssetsCommand::Import { file } => {
            let table = spreadsheet::table(&file, &COLUMNS, &REQUIRED)?;
            let report = app.import_assets(&me, &table).await?;
            if global.json {
                output::json(&report)?;
            } else {
                say!(
                    "imported {}: {} assets created, {} updated, {} unchanged",
                    table.file,
                    report.created,
                    report.updated,
                    report.unchanged
                );
            }
        }
        AssetsCommand::Export { file } => {
            let rows = app.export_assets(&me).await?;
            spreadsheet::write(&file, "Assets", &COLUMNS, &rows)?;
            say!("wrote {} assets to {}", rows.len(), file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
