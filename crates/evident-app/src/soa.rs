//! The Statement of Applicability: decisions, approved versions, differences, export.

use evident_core::soa::{self, Decision, Reason, RowChange, SoaRow, SoaVersion};
use evident_core::{FrameworkId, Permission, RequirementRef};
use evident_store::{Applied, SoaChange};
use serde::Serialize;

use crate::error::{AppError, Code, Result};
use crate::{App, Principal};

/// Which SoA: an approved version, or the current draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoaSelector {
    Draft,
    Version(i64),
}

impl std::str::FromStr for SoaSelector {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "draft" => Ok(SoaSelector::Draft),
            number => number
                .parse()
                .map(SoaSelector::Version)
                .map_err(|_| format!("{number:?} is not a version number or `draft`")),
        }
    }
}

impl std::fmt::Display for SoaSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SoaSelector::Draft => f.write_str("draft"),
            SoaSelector::Version(n) => write!(f, "{n}"),
        }
    }
}

/// An SoA as exported: its rows and which version it is.
#[derive(Debug, Clone, Serialize)]
pub struct SoaDocument {
    pub label: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub rows: Vec<SoaRow>,
}

impl SoaDocument {
    /// The columns of an exported SoA, in the order an ISO auditor reads them.
    pub const COLUMNS: [&'static str; 12] = [
        "Annex A control",
        "Title",
        "Theme",
        "Applicable",
        "Reasons",
        "Justification",
        "Implementation status",
        "Implementing controls",
        "Related risks",
        "SoA version",
        "Approved by",
        "Approved on",
    ];

    /// The rows under [`SoaDocument::COLUMNS`]: the one layout every front end exports.
    pub fn table(&self) -> Vec<Vec<String>> {
        let approved_by = self.approved_by.clone().unwrap_or_default();
        let approved_on = self.approved_at.map(|t| t.date_naive().to_string()).unwrap_or_default();
        let joined = |items: Vec<String>| items.join("; ");
        self.rows
            .iter()
            .map(|r| {
                vec![
                    r.reference.to_string(),
                    r.title.clone(),
                    r.theme.clone(),
                    if r.applicable { "Yes" } else { "No" }.to_owned(),
                    joined(r.reasons.iter().map(ToString::to_string).collect()),
                    r.justification.clone(),
                    r.implementation.to_string(),
                    joined(r.implementing_controls.iter().map(ToString::to_string).collect()),
                    r.risks.join("; "),
                    self.label.clone(),
                    approved_by.clone(),
                    approved_on.clone(),
                ]
            })
            .collect()
    }
}

/// What an approval did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// The version now in force: new, or the last one when nothing changed since.
    pub version: i64,
    /// False when the draft equals the last approved version, so no new version was made.
    pub created: bool,
    /// Applicable controls with no recorded reason; an auditor will ask why they are in.
    pub unjustified: usize,
}

/// A decision on one SoA row as someone makes it: [`App::set_soa`] checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionDraft {
    pub applicable: bool,
    pub reasons: Vec<Reason>,
    pub justification: String,
}

/// The version of an SoA row's decision as a reader saw it (applicable, reasons, justification):
/// what [`App::set_soa`] compares before it writes.
pub fn soa_row_version(row: &SoaRow) -> String {
    crate::risks::version_of(&(row.applicable, &row.reasons, &row.justification))
}

impl App {
    /// The current (draft) SoA.
    /// The current (draft) SoA of `framework` (ISO/IEC 27001:2022 when none is named).
    pub async fn soa(&self, principal: &Principal, framework: Option<&FrameworkId>) -> Result<Vec<SoaRow>> {
        let library = self.library_for(principal).await?;
        let iso = library.soa_framework_of(framework)?;
        Ok(self.org_data_shared(principal, &library).await?.soa(iso))
    }

    /// Records the decision on one Annex A control. An exclusion needs reasons and a justification,
    /// and is refused for a control that treats an open risk. With `based_on` (the row's
    /// [`soa_row_version`] when it was read), the decision lands only while the row is still as
    /// read; otherwise it is a conflict, so one person's decision never silently replaces another's.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, reference = %reference))]
    pub async fn set_soa(
        &self,
        principal: &Principal,
        framework: Option<&FrameworkId>,
        reference: &RequirementRef,
        draft: DecisionDraft,
        based_on: Option<&str>,
    ) -> Result<Decision> {
        principal.authorize(Permission::SoaEdit)?;
        let library = self.library_for(principal).await?;
        let iso = library.soa_framework_of(framework)?;
        if !iso.is_soa_row(reference) {
            let rows = iso.info().soa.as_ref().map_or_else(String::new, |s| s.kind.to_string());
            return Err(AppError::new(
                Code::RequirementNotInFramework,
                format!(
                    "{reference} is not an Annex A control of {}: its Statement of Applicability lists its {rows} requirements",
                    iso.id()
                ),
            ));
        }
        let decision = Decision::new(reference, draft.applicable, draft.reasons, draft.justification)
            .map_err(AppError::invalid_from)?;
        let mut data = self.org_data(principal, &library).await?;
        let stale = || {
            AppError::new(
                Code::Conflict,
                format!("the decision on {reference} was changed by someone else since it was read: read it again"),
            )
        };
        let stored = data.decisions.get(iso.id()).and_then(|d| d.get(reference)).cloned();
        if let Some(version) = based_on {
            let rows = data.soa(iso);
            let current = rows.iter().find(|r| &r.reference == reference).map(soa_row_version);
            if current.as_deref() != Some(version) {
                return Err(stale());
            }
        }
        data.decisions.entry(iso.id().clone()).or_default().insert(reference.clone(), decision.clone());
        data.check_exclusions(iso.id())?;
        let (framework, requirement) = (iso.id().clone(), reference.clone());
        let change = match based_on {
            Some(_) => SoaChange::DecideBasedOn {
                framework,
                requirement,
                decision: decision.clone(),
                based_on: stored.map(Box::new),
            },
            None => SoaChange::Decide { framework, requirement, decision: decision.clone() },
        };
        self.apply(principal, vec![change.into()]).await.map_err(|e| match e.code {
            Code::Conflict => stale(),
            _ => e,
        })?;
        Ok(decision)
    }

    /// Approves the draft as the next immutable version, unless it equals the last one.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn approve_soa(&self, principal: &Principal, framework: Option<&FrameworkId>) -> Result<Approval> {
        principal.authorize(Permission::SoaApprove)?;
        let library = self.library_for(principal).await?;
        let iso = library.soa_framework_of(framework)?;
        let data = self.org_data(principal, &library).await?;
        data.check_exclusions(iso.id())?;
        let rows = data.soa(iso);
        let unjustified = rows.iter().filter(|r| r.applicable && r.justification_missing()).count();
        let versions = self.store.soa_versions(&principal.org.id, iso.id()).await?;
        if let Some(last) = versions.last().filter(|v| v.rows == rows) {
            return Ok(Approval { version: last.version, created: false, unjustified });
        }
        let change = SoaChange::Approve { framework: iso.id().clone(), rows };
        let applied = self.store.apply(&principal.actor(self.now()), vec![change.into()]).await?;
        match applied.as_slice() {
            [Applied::SoaApproved { version }] => Ok(Approval { version: *version, created: true, unjustified }),
            other => Err(AppError::new(Code::Unexpected, format!("approving the SoA reported {other:?}"))),
        }
    }

    pub async fn soa_versions(
        &self,
        principal: &Principal,
        framework: Option<&FrameworkId>,
    ) -> Result<Vec<SoaVersion>> {
        principal.authorize(Permission::Read)?;
        let library = self.library_for(principal).await?;
        let iso = library.soa_framework_of(framework)?;
        Ok(self.store.soa_versions(&principal.org.id, iso.id()).await?)
    }

    /// An approved version or the draft, for export and comparison.
    pub async fn soa_document(
        &self,
        principal: &Principal,
        framework: Option<&FrameworkId>,
        which: SoaSelector,
    ) -> Result<SoaDocument> {
        principal.authorize(Permission::Read)?;
        match which {
            SoaSelector::Draft => Ok(SoaDocument {
                label: "draft".into(),
                approved_by: None,
                approved_at: None,
                rows: self.soa(principal, framework).await?,
            }),
            SoaSelector::Version(n) => {
                let version = self
                    .soa_versions(principal, framework)
                    .await?
                    .into_iter()
                    .find(|v| v.version == n)
                    .ok_or_else(|| AppError::not_found(Code::SoaVersionNotFound, "approved SoA version", n))?;
                Ok(SoaDocument {
                    label: version.version.to_string(),
                    approved_by: Some(version.approved_by),
                    approved_at: Some(version.approved_at),
                    rows: version.rows,
                })
            }
        }
    }

    /// What changed between two versions (or a version and the draft), field by field.
    pub async fn soa_diff(
        &self,
        principal: &Principal,
        framework: Option<&FrameworkId>,
        from: SoaSelector,
        to: SoaSelector,
    ) -> Result<Vec<RowChange>> {
        let old = self.soa_document(principal, framework, from).await?;
        let new = self.soa_document(principal, framework, to).await?;
        Ok(soa::diff(&old.rows, &new.rows))
    }

    /// The SoA to export: needs the export permission.
    pub async fn export_soa(
        &self,
        principal: &Principal,
        framework: Option<&FrameworkId>,
        which: SoaSelector,
    ) -> Result<SoaDocument> {
        principal.authorize(Permission::Export)?;
        self.soa_document(principal, framework, which).await
    }
}
