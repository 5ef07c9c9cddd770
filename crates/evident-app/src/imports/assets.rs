//! Assets from a spreadsheet.

use std::collections::{HashMap, HashSet};

use evident_core::risk::{self, Asset, AssetKind, Classification};
use evident_core::{AssetCode, Email, Permission};
use evident_store::{Change, RiskChange};

use super::{ImportMode, ImportReport, Problems, Table};
use crate::error::{AppError, Result};
use crate::risks::FieldProblem;
use crate::{App, Principal};

pub const COLUMNS: [&str; 9] =
    ["code", "name", "type", "owner", "classification", "confidentiality", "integrity", "availability", "parent"];
pub const REQUIRED: [&str; 6] = ["code", "name", "type", "confidentiality", "integrity", "availability"];

/// An asset's cells in `COLUMNS` order, for export.
pub fn row(a: &Asset) -> Vec<String> {
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
fn take<T>(problems: &mut Vec<FieldProblem>, column: &'static str, result: Result<T, String>) -> Option<T> {
    result.map_err(|e| problems.push((column, e))).ok()
}

/// Parses one asset from its cells (in `COLUMNS` order), naming the column of each problem.
pub fn parse(cells: &[&str], members: &HashSet<Email>) -> Result<Asset, Vec<FieldProblem>> {
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
pub(crate) fn check_assets(assets: &[Asset], stored: &[Asset]) -> Vec<(usize, &'static str, String)> {
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

impl App {
    /// Imports assets: every row, or none. Unchanged rows write nothing.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, file = %table.file))]
    pub async fn import_assets(&self, principal: &Principal, table: &Table) -> Result<ImportReport> {
        self.import_assets_as(principal, table, ImportMode::Apply).await
    }

    /// [`App::import_assets`], or its dry run: the same checks and report, nothing written.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, file = %table.file))]
    pub async fn import_assets_as(
        &self,
        principal: &Principal,
        table: &Table,
        mode: ImportMode,
    ) -> Result<ImportReport> {
        principal.authorize(Permission::Import)?;
        principal.authorize(Permission::AssetWrite)?;
        let members = self.members_set(principal).await?;
        let mut problems = Problems::default();
        let mut assets = Vec::new();
        let mut rows_of = Vec::new();
        let mut seen = HashMap::new();
        for row in &table.rows {
            let cells: Vec<&str> = (0..COLUMNS.len()).map(|c| row.cell(c)).collect();
            match parse(&cells, &members) {
                Ok(asset) => {
                    if let Some(first) = seen.insert(asset.code.clone(), row.number) {
                        problems.coded(
                            row.number,
                            "code",
                            "duplicate",
                            format!("{} is already on row {first}", asset.code),
                        );
                    }
                    assets.push(asset);
                    rows_of.push(row.number);
                }
                Err(found) => found.into_iter().for_each(|(c, e)| problems.push(row.number, c, e)),
            }
        }
        let stored = self.store.assets(&principal.org.id).await?;
        for (i, column, problem) in check_assets(&assets, &stored) {
            problems.push(rows_of[i], column, problem);
        }
        problems.into_result(table)?;
        let stored: HashMap<AssetCode, Asset> = stored.into_iter().map(|a| (a.code.clone(), a)).collect();
        let mut report = ImportReport { rows: table.rows.len(), ..ImportReport::default() };
        // Parents first, so that a batch can bring a parent and its children together.
        let mut pending: Vec<Asset> = Vec::new();
        for asset in assets {
            match stored.get(&asset.code) {
                Some(current) if *current == asset => report.unchanged += 1,
                Some(_) => {
                    report.updated += 1;
                    pending.push(asset);
                }
                None => {
                    report.created += 1;
                    pending.push(asset);
                }
            }
        }
        let mut placed: HashSet<AssetCode> = stored.keys().cloned().collect();
        let mut ordered = Vec::with_capacity(pending.len());
        while !pending.is_empty() {
            let (ready, rest): (Vec<_>, Vec<_>) =
                pending.into_iter().partition(|a| a.parent.as_ref().is_none_or(|p| placed.contains(p)));
            if ready.is_empty() {
                return Err(AppError::invalid("the parents in the file form a cycle"));
            }
            placed.extend(ready.iter().map(|a| a.code.clone()));
            ordered.extend(ready);
            pending = rest;
        }
        if mode == ImportMode::Apply {
            self.apply(principal, ordered.into_iter().map(RiskChange::PutAsset).map(Change::from).collect()).await?;
        }
        Ok(report)
    }
}

impl App {
    /// The assets export: needs the export permission.
    pub async fn export_assets(&self, principal: &Principal) -> Result<Vec<Vec<String>>> {
        principal.authorize(Permission::Export)?;
        Ok(self.store.assets(&principal.org.id).await?.iter().map(row).collect())
    }
}
