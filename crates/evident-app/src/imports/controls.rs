//! Controls and mappings from a spreadsheet.
//!
//! One row per (control, mapping); a control without mappings has one row with the mapping columns
//! empty, and a control's own fields may be left empty on its later rows (but not contradict the
//! first row). Columns: code (required), title (required for a new control), description, owner (a
//! member's e-mail), frequency, status, framework, requirement, coverage, rationale, and last (so
//! files and exports of the earlier layout keep their positions) max_evidence_age_days: the
//! control's own limit on the age of its evidence, 1 to 1830 days; empty leaves a control's limit
//! as it is and gives a new control none, `none` clears it.

use std::collections::{BTreeMap, HashMap};

use evident_core::freshness::MaxAge;
use evident_core::{
    Control, ControlCode, ControlPatch, Coverage, Email, FrameworkId, Frequency, ImplementationStatus, Mapping,
    NewControl, Permission, RequirementRef,
};
use evident_store::ControlChange;

use super::{ImportMode, ImportReport, Problems, Table};
use crate::error::Result;
use crate::{App, Principal};

pub const COLUMNS: [&str; 11] = [
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
    "max_evidence_age_days",
];
pub const REQUIRED: [&str; 1] = ["code"];

/// The import template's example row.
pub const EXAMPLE: [&str; 11] = [
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
    "",
];

/// A control's fields as the file gives them; empty cells are `None`.
#[derive(Clone, PartialEq)]
struct Fields {
    title: Option<String>,
    description: Option<String>,
    owner: Option<Email>,
    frequency: Option<Frequency>,
    /// `Some(None)`: the file says `none`, clearing the control's own limit.
    max_age: Option<Option<MaxAge>>,
    status: Option<ImplementationStatus>,
}

/// The rows of an export: the active controls with their mappings, in the import layout.
pub fn export_rows(controls: &[Control], mappings: &[Mapping]) -> Vec<Vec<String>> {
    let mut by_control: HashMap<&ControlCode, Vec<&Mapping>> = HashMap::new();
    for mapping in mappings {
        by_control.entry(&mapping.control).or_default().push(mapping);
    }
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
        let max_age = control.max_evidence_age_days.map(|a| a.days().to_string()).unwrap_or_default();
        let mine = by_control.remove(&control.code).unwrap_or_default();
        if mine.is_empty() {
            rows.push(
                fields.iter().cloned().chain(std::iter::repeat_n(String::new(), 4)).chain([max_age.clone()]).collect(),
            );
        }
        for m in mine {
            let mapping =
                [m.framework.to_string(), m.requirement.to_string(), m.coverage.to_string(), m.rationale.clone()];
            rows.push(fields.iter().cloned().chain(mapping).chain([max_age.clone()]).collect());
        }
    }
    rows
}

impl App {
    /// Imports controls and mappings: every row, or none. Unchanged controls and mappings write nothing.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, file = %table.file))]
    pub async fn import_controls(&self, principal: &Principal, table: &Table) -> Result<ImportReport> {
        self.import_controls_as(principal, table, ImportMode::Apply).await
    }

    /// [`App::import_controls`], or its dry run: the same checks and report, nothing written.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, file = %table.file))]
    pub async fn import_controls_as(
        &self,
        principal: &Principal,
        table: &Table,
        mode: ImportMode,
    ) -> Result<ImportReport> {
        principal.authorize(Permission::Import)?;
        principal.authorize(Permission::ControlManage)?;
        principal.authorize(Permission::MappingWrite)?;
        let library = self.library_for(principal).await?;
        let members = self.members_set(principal).await?;
        let existing: HashMap<ControlCode, Control> =
            self.store.controls(&principal.org.id).await?.into_iter().map(|c| (c.code.clone(), c)).collect();
        let stored_mappings: HashMap<(ControlCode, FrameworkId, RequirementRef), Mapping> = self
            .store
            .mappings(&principal.org.id)
            .await?
            .into_iter()
            .map(|m| ((m.control.clone(), m.framework.clone(), m.requirement.clone()), m))
            .collect();
        // Codes compare case-insensitively: `iam-01` beside `IAM-01` is the same control.
        let by_key: HashMap<String, &ControlCode> = existing.keys().map(|c| (c.as_str().to_lowercase(), c)).collect();

        let mut problems = Problems::default();
        let mut controls: BTreeMap<ControlCode, (usize, Fields)> = BTreeMap::new();
        let mut mappings: Vec<Mapping> = Vec::new();
        let mut seen_mappings: HashMap<(ControlCode, FrameworkId, RequirementRef), usize> = HashMap::new();
        let mut seen_keys: HashMap<String, ControlCode> = HashMap::new();
        for row in &table.rows {
            let number = row.number;
            let cell = |column: usize| row.cell(column);
            let code = match ControlCode::parse(cell(0)) {
                Ok(code) => code,
                Err(e) => {
                    problems.push(number, "code", e.to_string());
                    continue;
                }
            };
            let key = code.as_str().to_lowercase();
            if let Some(other) = by_key.get(&key).filter(|c| ***c != code) {
                problems.coded(
                    number,
                    "code",
                    "duplicate",
                    format!("{code} is the existing control {other} in another case"),
                );
                continue;
            }
            if let Some(other) = seen_keys.get(&key).filter(|c| **c != code) {
                problems.coded(number, "code", "duplicate", format!("{code} and {other} differ only in case"));
                continue;
            }
            seen_keys.insert(key, code.clone());
            let text = |column: usize| Some(cell(column).to_owned()).filter(|t| !t.is_empty());
            let mut fields = Fields {
                title: text(1),
                description: text(2),
                owner: None,
                frequency: None,
                max_age: None,
                status: None,
            };
            if let Some(owner) = text(3) {
                match Email::parse(&owner) {
                    Ok(email) if members.contains(&email) => fields.owner = Some(email),
                    Ok(email) => {
                        problems.push(number, "owner", format!("{email} is not a member of {}", principal.org.slug))
                    }
                    Err(e) => problems.push(number, "owner", e.to_string()),
                }
            }
            if let Some(frequency) = text(4) {
                match Frequency::parse(&frequency) {
                    Ok(f) => fields.frequency = Some(f),
                    Err(e) => problems.push(number, "frequency", e.to_string()),
                }
            }
            match text(10).as_deref() {
                None => {}
                Some("none") => fields.max_age = Some(None),
                Some(days) => match MaxAge::parse(days) {
                    Ok(age) => fields.max_age = Some(Some(age)),
                    Err(e) => problems.push(number, "max_evidence_age_days", e.to_string()),
                },
            }
            if let Some(status) = text(5) {
                match ImplementationStatus::parse(&status) {
                    Ok(s) => fields.status = Some(s),
                    Err(e) => problems.push(number, "status", e.to_string()),
                }
            }
            match controls.get_mut(&code) {
                None => {
                    if fields.title.is_none() && !existing.contains_key(&code) {
                        problems.push(number, "title", format!("{code} is a new control and needs a title"));
                    }
                    controls.insert(code.clone(), (number, fields));
                }
                Some((first_row, first)) => {
                    // Later rows may leave the control's fields empty, but not contradict the first row.
                    let pairs: [(&'static str, bool); 6] = [
                        ("title", fields.title.is_some() && fields.title != first.title),
                        ("description", fields.description.is_some() && fields.description != first.description),
                        ("owner", fields.owner.is_some() && fields.owner != first.owner),
                        ("frequency", fields.frequency.is_some() && fields.frequency != first.frequency),
                        ("max_evidence_age_days", fields.max_age.is_some() && fields.max_age != first.max_age),
                        ("status", fields.status.is_some() && fields.status != first.status),
                    ];
                    for (column, differs) in pairs {
                        if differs {
                            problems.push(
                                number,
                                column,
                                format!("differs from row {first_row} for the same control {code}"),
                            );
                        }
                    }
                }
            }
            let (framework, requirement, coverage, rationale) = (cell(6), cell(7), cell(8), cell(9));
            if [framework, requirement, coverage, rationale].iter().all(|c| c.is_empty()) {
                continue;
            }
            let Some(fw) = FrameworkId::parse(framework).ok().and_then(|id| library.framework(&id).ok()) else {
                problems.push(
                    number,
                    "framework",
                    format!("{framework:?} is not a framework of the library (see `frameworks list`)"),
                );
                continue;
            };
            let reference = match RequirementRef::parse(requirement) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(number, "requirement", e.to_string());
                    continue;
                }
            };
            let coverage = match Coverage::parse(coverage) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(number, "coverage", e.to_string());
                    continue;
                }
            };
            let mapping = match Mapping::new(code.clone(), fw, &reference, coverage, rationale) {
                Ok(mapping) => mapping,
                Err(evident_core::control::MappingError::Target(e)) => {
                    problems.push(number, "requirement", e.to_string());
                    continue;
                }
                Err(e) => {
                    problems.push(number, "rationale", e.to_string());
                    continue;
                }
            };
            let key = (code.clone(), fw.id().clone(), reference.clone());
            if let Some(first) = seen_mappings.insert(key, number) {
                problems.coded(
                    number,
                    "requirement",
                    "duplicate",
                    format!("{code} is already mapped to {} {reference} on row {first}", fw.id()),
                );
                continue;
            }
            mappings.push(mapping);
        }
        problems.into_result(table)?;

        let mut report = ImportReport { rows: table.rows.len(), ..ImportReport::default() };
        let mut changes = Vec::new();
        for (code, (_, fields)) in controls {
            match existing.get(&code) {
                None => {
                    report.created += 1;
                    changes.push(
                        ControlChange::Create(NewControl {
                            code,
                            title: fields.title.unwrap_or_default(),
                            description: fields.description.unwrap_or_default(),
                            owner: fields.owner,
                            frequency: fields.frequency.unwrap_or(Frequency::Annual),
                            max_evidence_age_days: fields.max_age.flatten(),
                            status: fields.status.unwrap_or(ImplementationStatus::NotStarted),
                        })
                        .into(),
                    );
                }
                Some(current) => {
                    let patch = ControlPatch {
                        title: fields.title,
                        description: fields.description,
                        owner: fields.owner.map(Some),
                        frequency: fields.frequency,
                        max_evidence_age_days: fields.max_age,
                        status: fields.status,
                    }
                    .against(current)?;
                    if patch.is_empty() {
                        report.unchanged += 1;
                    } else {
                        report.updated += 1;
                        let expected_revision = Some(current.revision);
                        changes.push(ControlChange::Update { code, patch, expected_revision }.into());
                    }
                }
            }
        }
        for mapping in mappings {
            let key = (mapping.control.clone(), mapping.framework.clone(), mapping.requirement.clone());
            if stored_mappings.get(&key) != Some(&mapping) {
                report.mappings += 1;
                changes.push(ControlChange::Map(mapping).into());
            }
        }
        if mode == ImportMode::Apply {
            self.apply(principal, changes).await?;
        }
        Ok(report)
    }

    /// The controls export: needs the export permission.
    pub async fn export_controls(&self, principal: &Principal) -> Result<(usize, Vec<Vec<String>>)> {
        principal.authorize(Permission::Export)?;
        let controls = self.store.controls(&principal.org.id).await?;
        let mappings = self.store.mappings(&principal.org.id).await?;
        Ok((controls.iter().filter(|c| c.is_active()).count(), export_rows(&controls, &mappings)))
    }
}
