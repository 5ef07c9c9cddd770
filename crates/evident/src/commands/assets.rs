//! `evident assets list|put|import|export`: what the risk register protects.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::ExitCode;

use evident_core::risk::{self, Asset, AssetKind, Classification};
use evident_core::{AssetCode, Email, Permission};
use evident_store::Change;

use crate::cli::{AssetsCommand, Global};
use crate::context::{Session, failure};
use crate::output::{self, say};
use crate::spreadsheet::{self, Sheet};

pub const ASSET_COLUMNS: [&str; 9] =
    ["code", "name", "type", "owner", "classification", "confidentiality", "integrity", "availability", "parent"];

fn asset_row(a: &Asset) -> Vec<String> {
    vec![
        a.code.to_string(),
        a.name.clone(),
        a.kind.to_string(),
        a.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
        a.classification.to_string(),
        a.confidentiality.to_string(),
        a.integrity.to_string(),
        a.availability.to_string(),
        a.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
    ]
}

/// Keeps a value, or records why there is none under its column.
fn take<T>(problems: &mut Vec<(&'static str, String)>, column: &'static str, result: Result<T, String>) -> Option<T> {
    result.map_err(|e| problems.push((column, e))).ok()
}

/// Parses one asset from its cells (in `ASSET_COLUMNS` order), naming the column of each problem.
fn parse_asset(cells: &[&str], members: &HashSet<Email>) -> Result<Asset, Vec<(&'static str, String)>> {
    let mut p = Vec::new();
    let code = take(&mut p, "code", AssetCode::parse(cells[0]).map_err(|e| e.to_string()));
    let name = take(
        &mut p,
        "name",
        if cells[1].is_empty() { Err("an asset needs a name".to_owned()) } else { Ok(cells[1].to_owned()) },
    );
    let kind = take(&mut p, "type", AssetKind::parse(cells[2]).map_err(|e| e.to_string()));
    let owner = take(
        &mut p,
        "owner",
        match cells[3] {
            "" => Ok(None),
            text => match Email::parse(text) {
                Ok(email) if members.contains(&email) => Ok(Some(email)),
                Ok(email) => Err(format!("{email} is not a member")),
                Err(e) => Err(e.to_string()),
            },
        },
    );
    let classification = match cells[4] {
        "" => Some(Classification::Internal),
        text => take(&mut p, "classification", Classification::parse(text).map_err(|e| e.to_string())),
    };
    let value = |text: &str| {
        text.parse::<u8>()
            .ok()
            .filter(|v| (1..=5).contains(v))
            .ok_or_else(|| format!("{text:?} is not a value from 1 to 5"))
    };
    let c = take(&mut p, "confidentiality", value(cells[5]));
    let i = take(&mut p, "integrity", value(cells[6]));
    let a = take(&mut p, "availability", value(cells[7]));
    let parent = match cells[8] {
        "" => Some(None),
        text => take(&mut p, "parent", AssetCode::parse(text).map(Some).map_err(|e| e.to_string())),
    };
    match (code, name, kind, owner, classification, c, i, a, parent) {
        (
            Some(code),
            Some(name),
            Some(kind),
            Some(owner),
            Some(classification),
            Some(c),
            Some(i),
            Some(a),
            Some(parent),
        ) if p.is_empty() => Ok(Asset {
            code,
            name,
            kind,
            owner,
            classification,
            confidentiality: c,
            integrity: i,
            availability: a,
            parent,
        }),
        _ => Err(p),
    }
}

/// Checks parents exist (stored or in the same batch) and form no cycle.
fn check_assets(assets: &[Asset], stored: &[Asset]) -> Vec<(usize, &'static str, String)> {
    let mut parents: HashMap<AssetCode, Option<AssetCode>> =
        stored.iter().map(|a| (a.code.clone(), a.parent.clone())).collect();
    parents.extend(assets.iter().map(|a| (a.code.clone(), a.parent.clone())));
    let mut problems = Vec::new();
    for (i, asset) in assets.iter().enumerate() {
        if let Some(parent) = asset.parent.as_ref().filter(|p| !parents.contains_key(*p)) {
            problems.push((i, "parent", format!("asset {parent} does not exist")));
        } else if let Err(e) = risk::check_asset(asset, |code| parents.get(code).cloned().flatten()) {
            problems.push((i, "parent", e.to_string()));
        }
    }
    problems
}

pub async fn run(global: &Global, command: AssetsCommand) -> anyhow::Result<ExitCode> {
    let session = Session::open(global).await?;
    match command {
        AssetsCommand::List => {
            session.require(Permission::Read)?;
            let assets = session.store.assets(&session.org.id).await?;
            if global.json {
                output::json(&assets)?;
            } else {
                let rows = assets.iter().map(|a| {
                    let r = asset_row(a);
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
            session.require(Permission::AssetWrite)?;
            let values: Vec<&str> = cia.split(',').map(str::trim).collect();
            if values.len() != 3 {
                return Err(failure(format!("--cia {cia:?} needs three values"), "write it as C,I,A, e.g. 4,4,3"));
            }
            let cells = [
                code.as_str(),
                &name,
                &kind,
                owner.as_deref().unwrap_or(""),
                &classification,
                values[0],
                values[1],
                values[2],
                parent.as_deref().unwrap_or(""),
            ];
            let asset = parse_asset(&cells, &session.member_emails().await?).map_err(|problems| {
                let text: Vec<_> = problems.iter().map(|(c, e)| format!("{c}: {e}")).collect();
                failure(text.join("; "), "see `evident assets put --help`")
            })?;
            let stored = session.store.assets(&session.org.id).await?;
            if let Some((_, _, problem)) = check_assets(std::slice::from_ref(&asset), &stored).into_iter().next() {
                return Err(failure(problem, "create the parent first, or choose another"));
            }
            session.store.apply(&session.actor(), vec![Change::PutAsset(asset.clone())]).await?;
            say!("asset {} saved", asset.code);
        }
        AssetsCommand::Import { file } => import_assets(global, &session, &file).await?,
        AssetsCommand::Export { file } => {
            session.require(Permission::Export)?;
            let assets = session.store.assets(&session.org.id).await?;
            let rows: Vec<_> = assets.iter().map(asset_row).collect();
            spreadsheet::write(&file, "Assets", &ASSET_COLUMNS, &rows)?;
            say!("wrote {} assets to {}", assets.len(), file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import_assets(global: &Global, session: &Session, file: &Path) -> anyhow::Result<()> {
    session.require(Permission::Import)?;
    session.require(Permission::AssetWrite)?;
    let sheet = spreadsheet::read(file)?;
    let columns =
        sheet.columns(&ASSET_COLUMNS, &["code", "name", "type", "confidentiality", "integrity", "availability"])?;
    let members = session.member_emails().await?;
    let mut errors = Vec::new();
    let mut assets = Vec::new();
    let mut rows_of = Vec::new();
    let mut seen = HashMap::new();
    for (index, row) in sheet.rows.iter().enumerate() {
        let number = Sheet::row_number(index);
        match parse_asset(&spreadsheet::cells(&columns, row), &members) {
            Ok(asset) => {
                if let Some(first) = seen.insert(asset.code.clone(), number) {
                    errors.push((number, "code", format!("{} is already on row {first}", asset.code)));
                }
                assets.push(asset);
                rows_of.push(number);
            }
            Err(problems) => errors.extend(problems.into_iter().map(|(c, e)| (number, c, e))),
        }
    }
    let stored = session.store.assets(&session.org.id).await?;
    errors.extend(check_assets(&assets, &stored).into_iter().map(|(i, c, e)| (rows_of[i], c, e)));
    if !errors.is_empty() {
        return Err(sheet.reject(&errors));
    }
    // Parents first, so that a batch can bring a parent and its children together.
    let known: HashSet<AssetCode> = stored.iter().map(|a| a.code.clone()).collect();
    let (roots, children): (Vec<_>, Vec<_>) =
        assets.into_iter().partition(|a| a.parent.as_ref().is_none_or(|p| known.contains(p)));
    let mut ordered = roots;
    let mut pending = children;
    while !pending.is_empty() {
        let placed: HashSet<AssetCode> = ordered.iter().map(|a| a.code.clone()).collect();
        let (ready, rest): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|a| a.parent.as_ref().is_some_and(|p| placed.contains(p)));
        if ready.is_empty() {
            return Err(failure("the parents in the file form a cycle", "check the parent column"));
        }
        ordered.extend(ready);
        pending = rest;
    }
    let count = ordered.len();
    session.store.apply(&session.actor(), ordered.into_iter().map(Change::PutAsset).collect()).await?;
    if global.json {
        output::json(&serde_json::json!({"rows": sheet.rows.len(), "assets": count}))?;
    } else {
        say!("imported {}: {count} assets saved", sheet.file);
    }
    Ok(())
}
