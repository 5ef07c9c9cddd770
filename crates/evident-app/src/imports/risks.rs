//! The risk register from a spreadsheet; and its export, which imports back unchanged.

use std::collections::HashMap;

use chrono::NaiveDate;
use evident_core::risk::{MethodologyVersion, Rating, Risk, Treating, Treatment};
use evident_core::{AssetCode, ControlCode, Email, Permission, RiskCode};
use evident_store::{Change, RiskChange};

use super::{ImportMode, ImportReport, Problems, Table};
use crate::error::Result;
use crate::risks::{FieldProblem, PlanRow, RiskDraft, scored};
use crate::{App, Principal};

/// The register's columns: what import reads, plus scores, levels and acceptance that export adds.
pub const COLUMNS: [&str; 23] = [
    "code",
    "title",
    "description",
    "assets",
    "threat",
    "vulnerability",
    "owner",
    "likelihood",
    "impact",
    "treatment",
    "controls",
    "residual_likelihood",
    "residual_impact",
    "residual_justification",
    "review_date",
    "inherent_score",
    "inherent_level",
    "residual_score",
    "residual_level",
    "methodology",
    "accepted_by",
    "accepted_until",
    "status",
];
pub const REQUIRED: [&str; 12] = [
    "code",
    "title",
    "assets",
    "threat",
    "vulnerability",
    "owner",
    "likelihood",
    "impact",
    "treatment",
    "residual_likelihood",
    "residual_impact",
    "review_date",
];

/// A risk's cells in `COLUMNS` order, for export.
pub fn row(risk: &Risk, methodologies: &[MethodologyVersion]) -> Vec<String> {
    let scored = |rating: Rating| {
        scored(methodologies, risk, rating).map_or((String::new(), String::new()), |(s, l)| (s.to_string(), l))
    };
    let (inherent_score, inherent_level) = scored(risk.inherent);
    let (residual_score, residual_level) = scored(risk.residual);
    let controls: Vec<String> = risk
        .controls
        .iter()
        .map(|t| match t.due.filter(|_| t.planned) {
            Some(due) => format!("{}@{due}", t.control),
            None => t.control.to_string(),
        })
        .collect();
    vec![
        risk.code.to_string(),
        risk.title.clone(),
        risk.description.clone(),
        risk.assets.iter().map(|a| a.to_string()).collect::<Vec<_>>().join("; "),
        risk.threat.clone(),
        risk.vulnerability.clone(),
        risk.owner.to_string(),
        risk.inherent.likelihood().to_string(),
        risk.inherent.impact().to_string(),
        risk.treatment.to_string(),
        controls.join("; "),
        risk.residual.likelihood().to_string(),
        risk.residual.impact().to_string(),
        risk.residual_justification.clone(),
        risk.review_date.to_string(),
        inherent_score,
        inherent_level,
        residual_score,
        residual_level,
        risk.methodology.to_string(),
        risk.acceptance.as_ref().map(|a| a.by.to_string()).unwrap_or_default(),
        risk.acceptance.as_ref().map(|a| a.expires.to_string()).unwrap_or_default(),
        if risk.closed { "closed" } else { "open" }.to_owned(),
    ]
}

/// Parses a row's cells (in `COLUMNS` order) into a draft, naming the column of each problem.
pub fn parse(cells: &[&str]) -> Result<RiskDraft, Vec<FieldProblem>> {
    let mut problems: Vec<FieldProblem> = Vec::new();
    let code = RiskCode::parse(cells[0]).map_err(|e| problems.push(("code", e.to_string()))).ok();
    let mut assets = Vec::new();
    for text in cells[3].split(';').map(str::trim).filter(|t| !t.is_empty()) {
        match AssetCode::parse(text) {
            Ok(code) => assets.push(code),
            Err(e) => problems.push(("assets", e.to_string())),
        }
    }
    let owner = Email::parse(cells[6]).map_err(|e| problems.push(("owner", e.to_string()))).ok();
    let mut scale = |column: &'static str, text: &str| {
        text.parse::<u8>().map_err(|_| problems.push((column, format!("{text:?} is not a whole number")))).ok()
    };
    let (l, i) = (scale("likelihood", cells[7]), scale("impact", cells[8]));
    let (rl, ri) = (scale("residual_likelihood", cells[11]), scale("residual_impact", cells[12]));
    let treatment = Treatment::parse(cells[9]).map_err(|e| problems.push(("treatment", e.to_string()))).ok();
    let mut controls = Vec::new();
    for text in cells[10].split(';').map(str::trim).filter(|t| !t.is_empty()) {
        let (code, due) = match text.split_once('@') {
            Some((code, date)) => match NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") {
                Ok(d) => (code.trim(), Some(d)),
                Err(_) => {
                    problems.push(("controls", format!("{date:?} after {code}@ is not a date (YYYY-MM-DD)")));
                    continue;
                }
            },
            None => (text, None),
        };
        match ControlCode::parse(code) {
            Ok(c) => controls.push(Treating { control: c, planned: due.is_some(), due }),
            Err(e) => problems.push(("controls", e.to_string())),
        }
    }
    let review_date = NaiveDate::parse_from_str(cells[14], "%Y-%m-%d")
        .map_err(|_| problems.push(("review_date", format!("{:?} is not a date (YYYY-MM-DD)", cells[14]))))
        .ok();
    let closed = match cells.get(22).copied().unwrap_or("") {
        "" | "open" => Some(false),
        "closed" => Some(true),
        other => {
            problems.push(("status", format!("{other:?} is not a status (open, closed)")));
            None
        }
    };
    match (code, owner, l, i, rl, ri, treatment, review_date, closed) {
        (
            Some(code),
            Some(owner),
            Some(l),
            Some(i),
            Some(rl),
            Some(ri),
            Some(treatment),
            Some(review_date),
            Some(closed),
        ) if problems.is_empty() => Ok(RiskDraft {
            code,
            title: cells[1].to_owned(),
            description: cells[2].to_owned(),
            assets,
            threat: cells[4].to_owned(),
            vulnerability: cells[5].to_owned(),
            owner,
            inherent: (l, i),
            treatment,
            controls,
            residual: (rl, ri),
            residual_justification: cells[13].to_owned(),
            review_date,
            closed,
        }),
        _ => Err(problems),
    }
}

impl App {
    /// Imports the register: every row, or none. Unchanged risks write nothing; the SoA exclusion
    /// rule is checked against the register as it would be.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, file = %table.file))]
    pub async fn import_risks(&self, principal: &Principal, table: &Table) -> Result<(ImportReport, i64)> {
        self.import_risks_as(principal, table, ImportMode::Apply).await
    }

    /// [`App::import_risks`], or its dry run: the same checks and report, nothing written.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, file = %table.file))]
    pub async fn import_risks_as(
        &self,
        principal: &Principal,
        table: &Table,
        mode: ImportMode,
    ) -> Result<(ImportReport, i64)> {
        principal.authorize(Permission::Import)?;
        principal.authorize(Permission::RiskEdit)?;
        let context = self.risk_context(principal).await?;
        let stored: HashMap<RiskCode, Risk> =
            self.store.risks(&principal.org.id).await?.into_iter().map(|r| (r.code.clone(), r)).collect();
        let mut problems = Problems::default();
        let mut risks = Vec::new();
        let mut seen = HashMap::new();
        for row in &table.rows {
            let cells: Vec<&str> = (0..COLUMNS.len()).map(|c| row.cell(c)).collect();
            match parse(&cells).and_then(|draft| context.check(draft)) {
                Ok(risk) => {
                    if let Some(first) = seen.insert(risk.code.clone(), row.number) {
                        problems.coded(
                            row.number,
                            "code",
                            "duplicate",
                            format!("{} is already on row {first}", risk.code),
                        );
                    }
                    risks.push(risk);
                }
                Err(found) => found.into_iter().for_each(|(c, e)| problems.push(row.number, c, e)),
            }
        }
        problems.into_result(table)?;
        let mut report = ImportReport { rows: table.rows.len(), ..ImportReport::default() };
        let mut changed = Vec::new();
        for risk in risks {
            match stored.get(&risk.code) {
                Some(current) if Risk { acceptance: current.acceptance.clone(), ..risk.clone() } == *current => {
                    report.unchanged += 1
                }
                Some(_) => {
                    report.updated += 1;
                    changed.push(risk);
                }
                None => {
                    report.created += 1;
                    changed.push(risk);
                }
            }
        }
        self.check_soa_with_risks(principal, &changed).await?;
        if mode == ImportMode::Apply {
            self.apply(principal, changed.into_iter().map(RiskChange::Put).map(Change::from).collect()).await?;
        }
        Ok((report, context.methodology.version))
    }

    /// The register export: needs the export permission.
    pub async fn export_risks(&self, principal: &Principal) -> Result<Vec<Vec<String>>> {
        principal.authorize(Permission::Export)?;
        let risks = self.store.risks(&principal.org.id).await?;
        let methodologies = self.store.methodologies(&principal.org.id).await?;
        Ok(risks.iter().map(|r| row(r, &methodologies)).collect())
    }

    /// The risk treatment plan as the rows of a file ([`PLAN_COLUMNS`]): each open risk with each
    /// of its treating controls. Needs the export permission, as [`App::treatment_plan`] does.
    pub async fn export_treatment_plan(&self, principal: &Principal) -> Result<Vec<Vec<String>>> {
        Ok(self.treatment_plan(principal).await?.iter().map(plan_cells).collect())
    }
}

/// The columns of the risk treatment plan as a file.
pub const PLAN_COLUMNS: [&str; 11] = [
    "Risk",
    "Title",
    "Risk owner",
    "Residual level",
    "Treatment",
    "Control",
    "Control title",
    "Control status",
    "In place or planned",
    "Due",
    "Control owner",
];

fn plan_cells(row: &PlanRow) -> Vec<String> {
    vec![
        row.risk.to_string(),
        row.title.clone(),
        row.owner.to_string(),
        row.residual_level.clone(),
        row.treatment.to_string(),
        row.control.as_ref().map(|c| c.to_string()).unwrap_or_default(),
        row.control_title.clone(),
        row.control_status.clone(),
        match (&row.control, row.planned) {
            (None, _) => String::new(),
            (Some(_), true) => "planned".to_owned(),
            (Some(_), false) => "in place".to_owned(),
        },
        row.due.map(|d| d.to_string()).unwrap_or_default(),
        row.control_owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
    ]
}
