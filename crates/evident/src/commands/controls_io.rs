//! Controls and mappings in and out of spreadsheets, and adoption of the baseline library.
//!
//! The layout, one row per (control, mapping); a control without mappings has one row with the
//! mapping columns empty, and a control's own fields may be left empty on its later rows:
//!
//! | column | meaning |
//! |---|---|
//! | code | the control's code, e.g. IAM-01 (required) |
//! | title | required for a new control |
//! | description, owner | owner is a member's e-mail |
//! | frequency | continuous, daily, weekly, monthly, quarterly, semi_annual, annual (default), event_driven |
//! | status | not_started (default), in_progress, implemented |
//! | framework, requirement | e.g. iso27001:2022 and A.5.15 |
//! | coverage | full or partial |
//! | rationale | why the control serves the requirement |
//!
//! An import lands whole or not at all: every row is checked first, every problem is reported with
//! its file, row and column, and only a clean file is written, in one transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::ExitCode;

use evident_core::{
    Control, ControlCode, Coverage, Email, FrameworkId, Frequency, ImplementationStatus, Mapping, Permission,
};
use evident_store::{Change, ControlPatch, NewControl};

use crate::cli::Global;
use crate::context::{Session, catalog, failure};
use crate::output::say;
use crate::spreadsheet::{self, Sheet};

pub const COLUMNS: [&str; 10] = [
    "code",
    "title",
    "description",
    "owner",
    "frequency",
    "status",
    "framework",
    "requirement",
    "coverage",
    "rationale",
];

/// A control's fields as the file gives them; empty cells are `None`.
#[derive(Clone, PartialEq)]
struct ControlFields {
    title: Option<String>,
    description: Option<String>,
    owner: Option<Email>,
    frequency: Option<Frequency>,
    status: Option<ImplementationStatus>,
}

pub async fn import(global: &Global, session: &Session, path: &Path) -> anyhow::Result<ExitCode> {
    session.require(Permission::Import)?;
    let sheet = spreadsheet::read(path)?;
    let columns = sheet.columns(&COLUMNS, &["code"])?;
    let members: HashSet<Email> = session.store.members(&session.org.id).await?.into_iter().map(|m| m.email).collect();
    let existing: HashMap<ControlCode, Control> =
        session.store.controls(&session.org.id).await?.into_iter().map(|c| (c.code.clone(), c)).collect();
    let catalog = catalog()?;

    let mut errors = Vec::new();
    let mut controls: BTreeMap<ControlCode, (usize, ControlFields)> = BTreeMap::new();
    let mut mappings: Vec<Mapping> = Vec::new();
    let mut seen_mappings: HashMap<(ControlCode, FrameworkId, evident_core::RequirementRef), usize> = HashMap::new();
    for (index, row) in sheet.rows.iter().enumerate() {
        let number = Sheet::row_number(index);
        let cells = spreadsheet::cells(&columns, row);
        let cell = |column: usize| cells[column];
        let mut fail = |column: &'static str, reason: String| errors.push((number, column, reason));
        let code = match ControlCode::parse(cell(0)) {
            Ok(code) => code,
            Err(e) => {
                fail("code", e.to_string());
                continue;
            }
        };
        let text = |column: usize| Some(cell(column).to_owned()).filter(|t| !t.is_empty());
        let mut fields =
            ControlFields { title: text(1), description: text(2), owner: None, frequency: None, status: None };
        if let Some(owner) = text(3) {
            match Email::parse(&owner) {
                Ok(email) if members.contains(&email) => fields.owner = Some(email),
                Ok(email) => fail("owner", format!("{email} is not a member of {}", session.org.slug)),
                Err(e) => fail("owner", e.to_string()),
            }
        }
        if let Some(frequency) = text(4) {
            match Frequency::parse(&frequency) {
                Ok(f) => fields.frequency = Some(f),
                Err(e) => fail("frequency", e.to_string()),
            }
        }
        if let Some(status) = text(5) {
            match ImplementationStatus::parse(&status) {
                Ok(s) => fields.status = Some(s),
                Err(e) => fail("status", e.to_string()),
            }
        }
        match controls.get_mut(&code) {
            None => {
                if fields.title.is_none() && !existing.contains_key(&code) {
                    fail("title", format!("{code} is a new control and needs a title"));
                }
                controls.insert(code.clone(), (number, fields));
            }
            Some((first_row, first)) => {
                // Later rows may leave the control's fields empty, but not contradict the first row.
                let pairs: [(&'static str, bool); 5] = [
                    ("title", fields.title.is_some() && fields.title != first.title),
                    ("description", fields.description.is_some() && fields.description != first.description),
                    ("owner", fields.owner.is_some() && fields.owner != first.owner),
                    ("frequency", fields.frequency.is_some() && fields.frequency != first.frequency),
                    ("status", fields.status.is_some() && fields.status != first.status),
                ];
                for (column, differs) in pairs {
                    if differs {
                        fail(column, format!("differs from row {first_row} for the same control {code}"));
                    }
                }
            }
        }
        let (framework, requirement, coverage, rationale) = (cell(6), cell(7), cell(8), cell(9));
        if [framework, requirement, coverage, rationale].iter().all(|c| c.is_empty()) {
            continue;
        }
        let Some(fw) = FrameworkId::parse(framework).ok().and_then(|id| catalog.framework(&id)) else {
            fail(
                "framework",
                format!("{framework:?} is not a framework of the library (see `evident frameworks list`)"),
            );
            continue;
        };
        let reference = match evident_core::RequirementRef::parse(requirement) {
            Ok(r) if fw.is_leaf(&r) => r,
            Ok(r) if fw.contains(&r) => {
                fail(
                    "requirement",
                    format!("{r} of {} groups other requirements; map one of its sub-requirements", fw.id()),
                );
                continue;
            }
            Ok(r) => {
                fail("requirement", format!("{r} is not a requirement of {}", fw.id()));
                continue;
            }
            Err(e) => {
                fail("requirement", e.to_string());
                continue;
            }
        };
        let coverage = match Coverage::parse(coverage) {
            Ok(c) => c,
            Err(e) => {
                fail("coverage", e.to_string());
                continue;
            }
        };
        if rationale.is_empty() {
            fail("rationale", "a mapping needs a rationale".to_owned());
            continue;
        }
        let key = (code.clone(), fw.id().clone(), reference.clone());
        if let Some(first) = seen_mappings.insert(key, number) {
            fail("requirement", format!("{code} is already mapped to {} {reference} on row {first}", fw.id()));
            continue;
        }
        mappings.push(Mapping {
            control: code,
            framework: fw.id().clone(),
            requirement: reference,
            coverage,
            rationale: rationale.to_owned(),
        });
    }

    if !errors.is_empty() {
        return Err(sheet.reject(&errors));
    }

    let (mut created, mut updated) = (0, 0);
    let mut changes = Vec::new();
    for (code, (_, fields)) in controls {
        match existing.get(&code) {
            None => {
                created += 1;
                changes.push(Change::CreateControl(NewControl {
                    code,
                    title: fields.title.unwrap_or_default(),
                    description: fields.description.unwrap_or_default(),
                    owner: fields.owner,
                    frequency: fields.frequency.unwrap_or(Frequency::Annual),
                    status: fields.status.unwrap_or(ImplementationStatus::NotStarted),
                }));
            }
            Some(current) => {
                let patch = ControlPatch {
                    title: fields.title.filter(|t| *t != current.title),
                    description: fields.description.filter(|d| *d != current.description),
                    owner: fields.owner.filter(|o| Some(o) != current.owner.as_ref()).map(Some),
                    frequency: fields.frequency.filter(|f| *f != current.frequency),
                    status: fields.status.filter(|s| *s != current.status),
                };
                if patch != ControlPatch::default() {
                    updated += 1;
                    changes.push(Change::UpdateControl { code, patch });
                }
            }
        }
    }
    let mapped = mappings.len();
    changes.extend(mappings.into_iter().map(Change::Map));
    session.store.apply(&session.actor(), changes).await?;
    let summary =
        serde_json::json!({"rows": sheet.rows.len(), "created": created, "updated": updated, "mappings": mapped});
    if global.json {
        crate::output::json(&summary)?;
    } else {
        say!(
            "imported {}: {created} controls created, {updated} updated, {mapped} mappings set ({} rows)",
            sheet.file,
            sheet.rows.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn export(session: &Session, path: &Path) -> anyhow::Result<ExitCode> {
    session.require(Permission::Export)?;
    let controls = session.store.controls(&session.org.id).await?;
    let mappings = session.store.mappings(&session.org.id).await?;
    let mut rows = Vec::new();
    for control in controls.iter().filter(|c| c.is_active()) {
        let fields = [
            control.code.to_string(),
            control.title.clone(),
            control.description.clone(),
            control.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
            control.frequency.to_string(),
            control.status.to_string(),
        ];
        let mine: Vec<_> = mappings.iter().filter(|m| m.control == control.code).collect();
        if mine.is_empty() {
            rows.push(fields.iter().cloned().chain(std::iter::repeat_n(String::new(), 4)).collect());
        }
        for m in mine {
            let mapping =
                [m.framework.to_string(), m.requirement.to_string(), m.coverage.to_string(), m.rationale.clone()];
            rows.push(fields.iter().cloned().chain(mapping).collect());
        }
    }
    spreadsheet::write(path, "controls", &COLUMNS, &rows)?;
    say!(
        "wrote {} controls in {} rows to {}",
        controls.iter().filter(|c| c.is_active()).count(),
        rows.len(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn template(path: &Path) -> anyhow::Result<ExitCode> {
    let example = [
        "IAM-01",
        "Quarterly access review",
        "System owners review who has access to production systems every quarter and revoke what is no longer needed.",
        "",
        "quarterly",
        "in_progress",
        "iso27001:2022",
        "A.5.18",
        "partial",
        "Reviews access rights; provisioning is covered by another control.",
    ];
    spreadsheet::write(path, "controls", &COLUMNS, &[example.iter().map(|c| c.to_string()).collect()])?;
    say!(
        "wrote the import template to {}: one row per control and mapping; columns {}",
        path.display(),
        COLUMNS.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn adopt_baseline(session: &Session, only: Vec<String>) -> anyhow::Result<ExitCode> {
    session.require(Permission::ControlManage)?;
    let catalog = catalog()?;
    let only: Vec<ControlCode> = only.iter().map(|c| ControlCode::parse(c.trim())).collect::<Result<_, _>>()?;
    for code in &only {
        if !catalog.baseline().iter().any(|b| &b.code == code) {
            return Err(failure(
                format!("{code} is not in the baseline library"),
                "run `evident controls adopt-baseline` without --only for all",
            ));
        }
    }
    let existing: HashSet<ControlCode> =
        session.store.controls(&session.org.id).await?.into_iter().map(|c| c.code).collect();
    let mut changes = Vec::new();
    let (mut adopted, mut skipped) = (0, 0);
    for control in catalog.baseline().iter().filter(|b| only.is_empty() || only.contains(&b.code)) {
        if existing.contains(&control.code) {
            skipped += 1;
            continue;
        }
        adopted += 1;
        changes.push(Change::CreateControl(NewControl {
            code: control.code.clone(),
            title: control.title.clone(),
            description: control.description.clone(),
            owner: None,
            frequency: control.frequency,
            status: ImplementationStatus::NotStarted,
        }));
        changes.extend(control.mappings.iter().map(|m| {
            Change::Map(Mapping {
                control: control.code.clone(),
                framework: m.framework.clone(),
                requirement: m.requirement.clone(),
                coverage: m.coverage,
                rationale: m.rationale.clone(),
            })
        }));
    }
    session.store.apply(&session.actor(), changes).await?;
    say!("adopted {adopted} baseline controls with their mappings ({skipped} already present were left as they are)");
    Ok(ExitCode::SUCCESS)
}
