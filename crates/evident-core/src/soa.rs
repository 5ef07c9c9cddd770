//! The Statement of Applicability: for each Annex A control, applicable or excluded and why, how far
//! it is implemented, and which of the organisation's controls implement it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::framework::Framework;
use crate::ids::{ControlCode, RequirementRef};
use crate::macros::named_enum;
use crate::readiness::{RequirementStatus, Status};

named_enum! {
    /// Why a control is included in, or excluded from, the SoA.
    pub enum Reason as "justification reason" {
        RiskTreatment = "risk_treatment",
        Legal = "legal",
        Regulatory = "regulatory",
        Contractual = "contractual",
        BusinessNeed = "business_need",
    }
}

named_enum! {
    /// How far an applicable Annex A control is implemented, from readiness.
    pub enum Implementation as "implementation" {
        Implemented = "implemented",
        PartiallyImplemented = "partially_implemented",
        NotImplemented = "not_implemented",
        NotApplicable = "not_applicable",
    }
}

/// Why a SoA decision is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoaError {
    #[error(
        "excluding {0} needs at least one reason (risk_treatment, legal, regulatory, contractual, business_need) and a justification"
    )]
    ExclusionWithoutJustification(RequirementRef),
    #[error("{0} is not an Annex A control of this framework")]
    NotAControl(RequirementRef),
    #[error("{reference} cannot be excluded: it treats open risk {risks}")]
    TreatsOpenRisk { reference: RequirementRef, risks: String },
}

/// For each requirement of `framework`, the open risks treated by a control mapped to it.
pub fn risks_by_requirement(
    framework: &crate::ids::FrameworkId,
    mappings: &[crate::control::Mapping],
    risks: &[crate::risk::Risk],
) -> HashMap<RequirementRef, Vec<String>> {
    let mut by_control: HashMap<&ControlCode, Vec<&RequirementRef>> = HashMap::new();
    for mapping in mappings.iter().filter(|m| &m.framework == framework) {
        by_control.entry(&mapping.control).or_default().push(&mapping.requirement);
    }
    let mut by_requirement: HashMap<RequirementRef, Vec<String>> = HashMap::new();
    for risk in risks.iter().filter(|r| !r.closed) {
        let requirements = risk.controls.iter().flat_map(|t| by_control.get(&t.control).into_iter().flatten());
        for requirement in requirements {
            let risks = by_requirement.entry((*requirement).clone()).or_default();
            if !risks.contains(&risk.code.to_string()) {
                risks.push(risk.code.to_string());
            }
        }
    }
    by_requirement
}

/// The exclusion rule: an Annex A control that treats an open risk cannot be excluded. Checked
/// wherever the state it guards can change: a decision, a risk import, an approval.
pub fn check_exclusions(
    decisions: &HashMap<RequirementRef, Decision>,
    risks: &HashMap<RequirementRef, Vec<String>>,
) -> Result<(), SoaError> {
    let mut refused: Vec<_> = decisions
        .iter()
        .filter(|(_, d)| !d.applicable)
        .filter_map(|(reference, _)| risks.get(reference).map(|r| (reference, r)))
        .collect();
    refused.sort_by(|a, b| a.0.natural_cmp(b.0));
    match refused.first() {
        None => Ok(()),
        Some((reference, risks)) => {
            Err(SoaError::TreatsOpenRisk { reference: (*reference).clone(), risks: risks.join(", ") })
        }
    }
}

/// The organisation's decision on one Annex A control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub applicable: bool,
    pub reasons: Vec<Reason>,
    pub justification: String,
}

impl Decision {
    /// An exclusion is accepted only with a reason and a written justification.
    pub fn new(
        reference: &RequirementRef,
        applicable: bool,
        mut reasons: Vec<Reason>,
        justification: String,
    ) -> Result<Self, SoaError> {
        reasons.sort();
        reasons.dedup();
        let justification = justification.trim().to_owned();
        if !applicable && (reasons.is_empty() || justification.is_empty()) {
            return Err(SoaError::ExclusionWithoutJustification(reference.clone()));
        }
        Ok(Self { applicable, reasons, justification })
    }
}

/// An approved, immutable Statement of Applicability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoaVersion {
    pub framework: crate::ids::FrameworkId,
    pub version: i64,
    pub approved_by: String,
    pub approved_at: chrono::DateTime<chrono::Utc>,
    /// SHA-256 of the rows as stored; the audit record of the approval carries it too.
    pub digest: crate::ids::Sha256Digest,
    pub rows: Vec<SoaRow>,
}

/// One line of the SoA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoaRow {
    #[serde(rename = "ref")]
    pub reference: RequirementRef,
    pub title: String,
    pub theme: String,
    pub applicable: bool,
    pub reasons: Vec<Reason>,
    pub justification: String,
    pub implementation: Implementation,
    pub implementing_controls: Vec<ControlCode>,
    /// Risks treated by the controls that implement it.
    pub risks: Vec<String>,
}

impl SoaRow {
    /// An applicable control with no recorded reason: the SoA is not finished.
    pub fn justification_missing(&self) -> bool {
        self.reasons.is_empty() || self.justification.is_empty()
    }
}

/// The SoA of `framework`: one row per requirement its data names as a SoA row (ISO 27001's
/// Annex A controls); none for a framework that carries no SoA. `statuses` is its readiness drill-down (with the
/// exclusions applied); `risks` lists, per Annex A control, the risks its implementing controls treat.
pub fn build(
    framework: &Framework,
    decisions: &HashMap<RequirementRef, Decision>,
    statuses: &[RequirementStatus],
    risks: &HashMap<RequirementRef, Vec<String>>,
) -> Vec<SoaRow> {
    let by_ref: HashMap<&RequirementRef, &RequirementStatus> = statuses.iter().map(|s| (&s.reference, s)).collect();
    framework
        .soa_rows()
        .map(|r| {
            let status = by_ref.get(&r.reference);
            let theme = framework.top_level_of(&r.reference).map_or_else(String::new, |t| t.title.clone());
            let mut risks = risks.get(&r.reference).cloned().unwrap_or_default();
            risks.sort_by(|a, b| crate::ids::natural_cmp(a, b));
            risks.dedup();
            let decision = decisions.get(&r.reference);
            let (applicable, mut reasons, mut justification) = match decision {
                Some(d) => (d.applicable, d.reasons.clone(), d.justification.clone()),
                None => (true, Vec::new(), String::new()),
            };
            if applicable && !risks.is_empty() && !reasons.contains(&Reason::RiskTreatment) {
                reasons.push(Reason::RiskTreatment);
                reasons.sort();
            }
            if applicable && justification.is_empty() && !risks.is_empty() {
                justification = format!("Treats risk {}", risks.join(", "));
            }
            let implementation = match status.map(|s| s.status) {
                _ if !applicable => Implementation::NotApplicable,
                Some(Status::Covered) => Implementation::Implemented,
                Some(Status::Partial) => Implementation::PartiallyImplemented,
                Some(Status::NotApplicable) => Implementation::NotApplicable,
                Some(Status::Missing) | None => Implementation::NotImplemented,
            };
            let implementing_controls =
                status.map(|s| s.controls.iter().map(|c| c.control.clone()).collect()).unwrap_or_default();
            SoaRow {
                reference: r.reference.clone(),
                title: r.title.clone(),
                theme,
                applicable,
                reasons,
                justification,
                implementation,
                implementing_controls,
                risks,
            }
        })
        .collect()
}

/// One field of one SoA line that differs between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowChange {
    #[serde(rename = "ref")]
    pub reference: RequirementRef,
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

/// What changed from `old` to `new`, line by line and field by field.
pub fn diff(old: &[SoaRow], new: &[SoaRow]) -> Vec<RowChange> {
    let old_by_ref: HashMap<&RequirementRef, &SoaRow> = old.iter().map(|r| (&r.reference, r)).collect();
    let mut changes = Vec::new();
    let join = |items: &[String]| items.join(", ");
    for row in new {
        let Some(before) = old_by_ref.get(&row.reference) else {
            changes.push(RowChange {
                reference: row.reference.clone(),
                field: "row",
                before: String::new(),
                after: "added".into(),
            });
            continue;
        };
        let fields: [(&'static str, String, String); 6] = [
            ("applicable", before.applicable.to_string(), row.applicable.to_string()),
            (
                "reasons",
                join(&before.reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>()),
                join(&row.reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>()),
            ),
            ("justification", before.justification.clone(), row.justification.clone()),
            ("implementation", before.implementation.to_string(), row.implementation.to_string()),
            (
                "implementing_controls",
                join(&before.implementing_controls.iter().map(|c| c.to_string()).collect::<Vec<_>>()),
                join(&row.implementing_controls.iter().map(|c| c.to_string()).collect::<Vec<_>>()),
            ),
            ("risks", join(&before.risks), join(&row.risks)),
        ];
        for (field, before, after) in fields {
            if before != after {
                changes.push(RowChange { reference: row.reference.clone(), field, before, after });
            }
        }
    }
    changes
}
