//! `evident risks …`: the risk register, its treatment plan, acceptances and heat map.
//!
//! A risk from the command line and a risk from an imported row take the same path: raw text in
//! a [`RiskInput`], checked against the organisation (members, assets, controls) and the
//! methodology in force, then validated by the core.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::ExitCode;

use chrono::NaiveDate;
use evident_core::risk::{self, Acceptance, Rating, Risk, Treating, Treatment, check_acceptance, heat_map};
use evident_core::{AssetCode, ControlCode, Email, Permission, RiskCode};
use evident_store::{Change, MethodologyVersion};

use super::methodology::current_methodology;
use crate::cli::{Global, RisksCommand};
use crate::context::{Session, catalog, failure, parse_date};
use crate::output::{self, say};
use crate::spreadsheet::{self, Sheet};

/// The register's columns: what import reads, plus scores, levels and acceptance that export adds.
pub const RISK_COLUMNS: [&str; 23] = [
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
const RISK_REQUIRED: [&str; 12] = [
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

/// What a risk must be checked against.
pub struct RiskContext {
    pub members: HashSet<Email>,
    pub assets: HashSet<AssetCode>,
    pub controls: HashSet<ControlCode>,
    pub methodology: MethodologyVersion,
}

impl RiskContext {
    pub async fn load(session: &Session) -> anyhow::Result<RiskContext> {
        let org = &session.org.id;
        Ok(RiskContext {
            members: session.member_emails().await?,
            assets: session.store.assets(org).await?.into_iter().map(|a| a.code).collect(),
            controls: session
                .store
                .controls(org)
                .await?
                .into_iter()
                .filter(|c| c.is_active())
                .map(|c| c.code)
                .collect(),
            methodology: current_methodology(session).await?,
        })
    }

    /// Builds a risk from its cells (the first 15 `RISK_COLUMNS`), naming the column of each problem.
    pub fn risk(&self, cells: &[&str]) -> Result<Risk, Vec<(&'static str, String)>> {
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        let code = RiskCode::parse(cells[0]).map_err(|e| problems.push(("code", e.to_string()))).ok();
        if cells[1].is_empty() {
            problems.push(("title", "a risk needs a title".into()));
        }
        let mut assets = Vec::new();
        for text in cells[3].split(';').map(str::trim).filter(|t| !t.is_empty()) {
            match AssetCode::parse(text) {
                Ok(code) if self.assets.contains(&code) => assets.push(code),
                Ok(code) => problems.push(("assets", format!("asset {code} does not exist"))),
                Err(e) => problems.push(("assets", e.to_string())),
            }
        }
        if assets.is_empty() && !problems.iter().any(|(c, _)| *c == "assets") {
            problems.push(("assets", "a risk needs at least one asset".into()));
        }
        let starter = catalog().ok().map(|c| c.threats());
        let resolve = |text: &str, list: Option<&Vec<evident_catalog::Threat>>| {
            list.and_then(|l| l.iter().find(|t| t.id == text)).map_or_else(|| text.to_owned(), |t| t.name.clone())
        };
        let threat = resolve(cells[4], starter.map(|s| &s.threats));
        let vulnerability = resolve(cells[5], starter.map(|s| &s.vulnerabilities));
        for (column, text) in [("threat", &threat), ("vulnerability", &vulnerability)] {
            if text.is_empty() {
                problems.push((column, format!("a risk needs a {column}")));
            }
        }
        let owner = match Email::parse(cells[6]) {
            Ok(email) if self.members.contains(&email) => Some(email),
            Ok(email) => {
                problems.push(("owner", format!("{email} is not a member")));
                None
            }
            Err(e) => {
                problems.push(("owner", e.to_string()));
                None
            }
        };
        let m = &self.methodology.methodology;
        let mut rating = |lc: &'static str, ic: &'static str, l: &str, i: &str| {
            let mut scale = |column: &'static str, text: &str, axis: &str, max: usize| match text.parse::<u8>() {
                Ok(v) if (1..=max).contains(&usize::from(v)) => Some(v),
                _ => {
                    problems.push((
                        column,
                        format!(
                            "{axis} {text:?} is outside the 1–{max} scale of methodology version {}",
                            self.methodology.version
                        ),
                    ));
                    None
                }
            };
            let likelihood = scale(lc, l, "likelihood", m.likelihood.len());
            let impact = scale(ic, i, "impact", m.impact.len());
            likelihood.zip(impact).map(|(likelihood, impact)| Rating { likelihood, impact })
        };
        let inherent = rating("likelihood", "impact", cells[7], cells[8]);
        let residual = rating("residual_likelihood", "residual_impact", cells[11], cells[12]);
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
                Ok(c) if self.controls.contains(&c) => {
                    controls.push(Treating { control: c, planned: due.is_some(), due })
                }
                Ok(c) => problems.push(("controls", format!("control {c} does not exist (or is retired)"))),
                Err(e) => problems.push(("controls", e.to_string())),
            }
        }
        let review_date = NaiveDate::parse_from_str(cells[14], "%Y-%m-%d")
            .map_err(|_| problems.push(("review_date", format!("{:?} is not a date (YYYY-MM-DD)", cells[14]))))
            .ok();
        let (Some(code), Some(owner), Some(inherent), Some(residual), Some(treatment), Some(review_date)) =
            (code, owner, inherent, residual, treatment, review_date)
        else {
            return Err(problems);
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let risk = Risk {
            code,
            title: cells[1].to_owned(),
            description: cells[2].to_owned(),
            assets,
            threat,
            vulnerability,
            owner,
            methodology: self.methodology.version,
            inherent,
            treatment,
            controls,
            residual,
            residual_justification: cells[13].to_owned(),
            review_date,
            acceptance: None,
            closed: false,
        };
        let column = |e: &risk::RiskError| match e {
            risk::RiskError::ResidualAboveInherent { .. } => "residual_justification",
            _ => "controls",
        };
        risk.validate(m).map_err(|e| vec![(column(&e), e.to_string())])?;
        Ok(risk)
    }
}

fn risk_row(risk: &Risk, methodologies: &[MethodologyVersion]) -> Vec<String> {
    let m = methodologies.iter().find(|v| v.version == risk.methodology).map(|v| &v.methodology);
    let scored = |rating: Rating| match m.map(|m| (m, m.score(rating))) {
        Some((m, Ok(score))) => (score.to_string(), m.level(score).name.clone()),
        _ => (String::new(), String::new()),
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
        risk.inherent.likelihood.to_string(),
        risk.inherent.impact.to_string(),
        risk.treatment.to_string(),
        controls.join("; "),
        risk.residual.likelihood.to_string(),
        risk.residual.impact.to_string(),
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

pub async fn risks(global: &Global, command: RisksCommand) -> anyhow::Result<ExitCode> {
    if let RisksCommand::Threats = command {
        return threats(global);
    }
    let session = Session::open(global).await?;
    match command {
        RisksCommand::Threats => unreachable!("handled before opening the store"),
        RisksCommand::List => {
            session.require(Permission::Read)?;
            let risks = session.store.risks(&session.org.id).await?;
            if global.json {
                output::json(&risks)?;
                return Ok(ExitCode::SUCCESS);
            }
            let methodologies = session.store.methodologies(&session.org.id).await?;
            let today = session.now.date_naive();
            let rows = risks.iter().map(|r| {
                let row = risk_row(r, &methodologies);
                let due = risk::due(r, today);
                [
                    row[0].clone(),
                    row[1].clone(),
                    row[6].clone(),
                    format!("{} {}", row[15], row[16]),
                    row[9].clone(),
                    format!("{} {}", row[17], row[18]),
                    row[14].clone(),
                    row[21].clone(),
                    if due.is_empty() { String::new() } else { "DUE".to_owned() },
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
            session.require(Permission::RiskEdit)?;
            let context = RiskContext::load(&session).await?;
            let existing = session.store.risks(&session.org.id).await?;
            if existing.iter().any(|r| r.code.as_str() == code) {
                return Err(failure(
                    format!("risk {code} already exists"),
                    "choose another code, or import a file to change it",
                ));
            }
            let controls = controls.into_iter().chain(planned).collect::<Vec<_>>().join(";");
            let (l, i, rl, ri) = (
                likelihood.to_string(),
                impact.to_string(),
                residual_likelihood.to_string(),
                residual_impact.to_string(),
            );
            let cells = [
                code.as_str(),
                &title,
                &description,
                &assets.join(";"),
                &threat,
                &vulnerability,
                &owner,
                &l,
                &i,
                &treatment,
                &controls,
                &rl,
                &ri,
                &residual_justification,
                &review,
            ];
            let risk = context.risk(&cells).map_err(|problems| {
                let text: Vec<_> = problems.iter().map(|(c, e)| format!("{c}: {e}")).collect();
                failure(text.join("; "), "nothing was written; see `evident risks create --help`")
            })?;
            session.store.apply(&session.actor(), vec![Change::PutRisk(risk.clone())]).await?;
            say!("risk {} recorded with methodology version {}", risk.code, risk.methodology);
        }
        RisksCommand::Import { file } => import_risks(global, &session, &file).await?,
        RisksCommand::Export { file } => {
            session.require(Permission::Export)?;
            let risks = session.store.risks(&session.org.id).await?;
            let methodologies = session.store.methodologies(&session.org.id).await?;
            let rows: Vec<_> = risks.iter().map(|r| risk_row(r, &methodologies)).collect();
            spreadsheet::write(&file, "Risk register", &RISK_COLUMNS, &rows)?;
            say!("wrote the risk register ({} risks) to {}", risks.len(), file.display());
        }
        RisksCommand::Accept { code, expires, note } => {
            session.require(Permission::Read)?;
            let code = RiskCode::parse(&code)?;
            let expires = parse_date(&expires, "expiry")?;
            let risks = session.store.risks(&session.org.id).await?;
            let risk = risks
                .iter()
                .find(|r| r.code == code)
                .ok_or_else(|| failure(format!("there is no risk {code}"), "run `evident risks list`"))?;
            let methodologies = session.store.methodologies(&session.org.id).await?;
            let methodology = methodologies.iter().find(|v| v.version == risk.methodology).ok_or_else(|| {
                failure(format!("methodology version {} is missing", risk.methodology), "run `evident verify`")
            })?;
            check_acceptance(
                risk,
                &methodology.methodology,
                &session.member.email,
                session.member.role,
                session.now.date_naive(),
                expires,
            )
            .map_err(|e| failure(format!("cannot accept {code}: {e}"), "nothing was written"))?;
            let acceptance = Acceptance { by: session.member.email.clone(), at: session.now, expires, note };
            session.store.apply(&session.actor(), vec![Change::AcceptRisk { code: code.clone(), acceptance }]).await?;
            say!("{} accepted the residual risk of {code} until {expires}", session.member.email);
        }
        RisksCommand::Due { on } => {
            session.require(Permission::Read)?;
            let today = match on {
                Some(text) => parse_date(&text, "date")?,
                None => session.now.date_naive(),
            };
            let risks = session.store.risks(&session.org.id).await?;
            let due: Vec<_> = risks.iter().flat_map(|r| risk::due(r, today).into_iter().map(move |d| (r, d))).collect();
            if global.json {
                let items: Vec<_> =
                    due.iter().map(|(r, d)| serde_json::json!({"risk": r.code, "owner": r.owner, "due": d})).collect();
                output::json(&items)?;
            } else {
                let rows = due.iter().map(|(r, d)| {
                    let why = match d {
                        risk::Due::ReviewOverdue { since } => format!("review overdue since {since}"),
                        risk::Due::AcceptanceExpired { since } => format!("acceptance expired on {since}"),
                        risk::Due::NotAccepted => "retained but nobody has accepted it".to_owned(),
                        risk::Due::PlannedControlOverdue { control, since } => {
                            format!("planned control {control} was due {since}")
                        }
                    };
                    [r.code.to_string(), r.title.clone(), r.owner.to_string(), why]
                });
                say!("due on {today}:");
                say!("{}", output::table(["risk", "title", "owner", "why"], rows));
            }
        }
        RisksCommand::TreatmentPlan { format, output: file } => {
            session.require(Permission::Export)?;
            let (header, rows) = treatment_plan(&session).await?;
            match (format.as_str(), file) {
                ("xlsx" | "csv" | "md", Some(path)) => {
                    if spreadsheet::extension(&path).as_deref() != Some(format.as_str()) {
                        return Err(failure(
                            format!("{} does not end in .{format}", path.display()),
                            "name the file after its format",
                        ));
                    }
                    spreadsheet::write(&path, "Risk treatment plan", &header, &rows)?;
                    say!("wrote the risk treatment plan ({} rows) to {}", rows.len(), path.display());
                }
                ("md", None) => say!("# Risk treatment plan\n\n{}", spreadsheet::markdown(&header, &rows)),
                ("csv", None) => {
                    let mut writer = csv::Writer::from_writer(Vec::new());
                    writer.write_record(header)?;
                    for row in &rows {
                        writer.write_record(row.iter().map(|c| spreadsheet::neutralise(c)))?;
                    }
                    say!("{}", String::from_utf8(writer.into_inner()?)?.trim_end());
                }
                ("xlsx", None) => {
                    return Err(failure("an XLSX treatment plan needs a file", "pass --output plan.xlsx"));
                }
                (other, _) => return Err(failure(format!("unknown format {other:?}"), "choose csv, xlsx or md")),
            }
        }
        RisksCommand::Heatmap => {
            session.require(Permission::Read)?;
            let current = current_methodology(&session).await?;
            let risks = session.store.risks(&session.org.id).await?;
            let map = heat_map(current.version, &current.methodology, &risks);
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

async fn import_risks(global: &Global, session: &Session, file: &Path) -> anyhow::Result<()> {
    session.require(Permission::Import)?;
    session.require(Permission::RiskEdit)?;
    let sheet = spreadsheet::read(file)?;
    let columns = sheet.columns(&RISK_COLUMNS, &RISK_REQUIRED)?;
    let context = RiskContext::load(session).await?;
    let mut errors = Vec::new();
    let mut risks = Vec::new();
    let mut seen = HashMap::new();
    for (index, row) in sheet.rows.iter().enumerate() {
        let number = Sheet::row_number(index);
        let cells = spreadsheet::cells(&columns, row);
        let closed = match cells[22] {
            "" | "open" => false,
            "closed" => true,
            other => {
                errors.push((number, "status", format!("{other:?} is not a status (open, closed)")));
                continue;
            }
        };
        match context.risk(&cells[..15]) {
            Ok(risk) => {
                let risk = Risk { closed, ..risk };
                if let Some(first) = seen.insert(risk.code.clone(), number) {
                    errors.push((number, "code", format!("{} is already on row {first}", risk.code)));
                }
                risks.push(risk);
            }
            Err(problems) => errors.extend(problems.into_iter().map(|(c, e)| (number, c, e))),
        }
    }
    if !errors.is_empty() {
        return Err(sheet.reject(&errors));
    }
    let count = risks.len();
    session.store.apply(&session.actor(), risks.into_iter().map(Change::PutRisk).collect()).await?;
    if global.json {
        output::json(&serde_json::json!({"rows": sheet.rows.len(), "risks": count}))?;
    } else {
        say!("imported {}: {count} risks saved with methodology version {}", sheet.file, context.methodology.version);
    }
    Ok(())
}

const PLAN_COLUMNS: [&str; 11] = [
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

async fn treatment_plan(session: &Session) -> anyhow::Result<([&'static str; 11], Vec<Vec<String>>)> {
    let risks = session.store.risks(&session.org.id).await?;
    let methodologies = session.store.methodologies(&session.org.id).await?;
    let controls: HashMap<ControlCode, evident_core::Control> =
        session.store.controls(&session.org.id).await?.into_iter().map(|c| (c.code.clone(), c)).collect();
    let mut rows = Vec::new();
    for risk in risks.iter().filter(|r| !r.closed) {
        let register = risk_row(risk, &methodologies);
        let head = vec![
            risk.code.to_string(),
            risk.title.clone(),
            risk.owner.to_string(),
            register[18].clone(),
            risk.treatment.to_string(),
        ];
        if risk.controls.is_empty() {
            rows.push(head.iter().cloned().chain(std::iter::repeat_n(String::new(), 6)).collect());
        }
        for treating in &risk.controls {
            let control = controls.get(&treating.control);
            let mut row = head.clone();
            row.extend([
                treating.control.to_string(),
                control.map(|c| c.title.clone()).unwrap_or_default(),
                control.map(|c| c.status.to_string()).unwrap_or_default(),
                if treating.planned { "planned" } else { "in place" }.to_owned(),
                treating.due.map(|d| d.to_string()).unwrap_or_default(),
                control.and_then(|c| c.owner.as_ref()).map(|o| o.to_string()).unwrap_or_default(),
            ]);
            rows.push(row);
        }
    }
    Ok((PLAN_COLUMNS, rows))
}

fn threats(global: &Global) -> anyhow::Result<ExitCode> {
    let list = catalog()?.threats();
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

#[cfg(test)]
mod tests {
    use super::*;
    use evident_core::risk::Methodology;
    use proptest::prelude::*;

    fn context() -> RiskContext {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        RiskContext {
            members: HashSet::from([Email::parse("olu@acme.example").unwrap()]),
            assets: HashSet::from([AssetCode::parse("AST-DB").unwrap()]),
            controls: HashSet::from([ControlCode::parse("OPS-05").unwrap()]),
            methodology: MethodologyVersion {
                version: 1,
                methodology: Methodology::four_by_four(),
                created_by: "x".into(),
                created_at: at,
            },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_row_is_a_valid_risk_or_named_problems(cells in proptest::collection::vec("\\PC{0,20}", 15)) {
            let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
            if let Err(problems) = context().risk(&cells) {
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.iter().all(|(column, reason)| RISK_COLUMNS.contains(column) && !reason.is_empty()));
            }
        }

        #[test]
        fn near_valid_rows_never_panic(l in 0u8..8, i in 0u8..8, rl in 0u8..8, ri in 0u8..8, treatment in 0usize..5, planned in any::<bool>()) {
            let (l, i, rl, ri) = (l.to_string(), i.to_string(), rl.to_string(), ri.to_string());
            let treatment = ["modify", "retain", "avoid", "share", "ignore"][treatment];
            let controls = if planned { "OPS-05@2027-01-01" } else { "OPS-05" };
            let cells = ["R-1", "A risk", "", "AST-DB", "T-01", "V-01", "olu@acme.example", &l, &i, treatment, controls, &rl, &ri, "", "2027-06-01"];
            match context().risk(&cells) {
                Ok(risk) => prop_assert!(risk.validate(&Methodology::four_by_four()).is_ok()),
                Err(problems) => prop_assert!(!problems.is_empty()),
            }
        }
    }
}
