//! An organisation's work on one framework as OSCAL 1.2.1: the system security plan (SSP), the
//! assessment results (AR) and the plan of action and milestones (POA&M).
//!
//! Every UUID is derived from evident's own ids (UUID v5 in [`NAMESPACE`], named by the
//! organisation, the framework, the kind of object and its id), so exporting the same records
//! again gives the same document apart from `metadata/last-modified`, the moment of the export.
//! Lists are in a fixed order (the framework's requirement order, control codes, evidence ids).
//!
//! What maps where:
//! - SSP: the organisation is the system (its adoption scope the boundary); each active control
//!   mapped to the framework is a component (`process-procedure`, status from its implementation
//!   status); each requirement with mappings is an implemented requirement whose by-components are
//!   its mappings (implementation state from the control's status and the mapping's coverage).
//!   The framework is a back-matter resource that `import-profile` names.
//! - AR: one result, started when the framework was adopted; an observation per current evidence
//!   record of a mapped control (method `TEST` for the result of an automated check, `EXAMINE`
//!   otherwise; collected on its effective date); a finding per assessed requirement readiness
//!   says is not met (partial or missing), with readiness's explanation and the observations of
//!   the controls mapped to it.
//! - POA&M: names the SSP (`import-ssp`, and the same system id) rather than copying it; a risk
//!   and an item per requirement not met, due by the adoption's target date.
//!
//! A requirement ref that is not an OSCAL token (`4.1`, an ISO clause) gets a leading `_`.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use evident_core::evidence::{Evidence, EvidenceSource};
use evident_core::readiness::{FrameworkReadiness, Status};
use evident_core::{Control, Coverage, Framework, ImplementationStatus, Mapping, RequirementRef};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::documents::{
    AssessmentResult, AssessmentResults, AssessmentResultsDocument, ByComponent, ControlImplementation, Described,
    Finding, FindingTarget, ImplementedRequirement, Import, InformationType, Observation, PlanOfActionAndMilestones,
    PoamDocument, PoamItem, RelatedObservation, RelatedRisk, RelevantEvidence, Rest, Risk, SspDocument, State, Subject,
    SystemCharacteristics, SystemComponent, SystemId, SystemImplementation, SystemInformation, SystemSecurityPlan,
    TargetStatus,
};
use crate::model::{BackMatter, Metadata, Resource};

/// The namespace of every UUID evident derives (fixed forever: changing it changes every export).
pub const NAMESPACE: Uuid = Uuid::from_u128(0x0b81_fd7f_58da_43c1_8984_ce0a_f589_07b8);

/// The OSCAL version the exports are written in (the schemas embedded in this crate).
pub const OSCAL_VERSION: &str = "1.2.1";

/// What an export is made from: one organisation's records for one framework.
#[derive(Debug, Clone)]
pub struct System<'a> {
    /// The organisation's stable id (it names every UUID) and its name.
    pub org_id: &'a str,
    pub org_name: &'a str,
    pub framework: &'a Framework,
    /// The adoption's scope in the organisation's words, its date and target date.
    pub scope: &'a str,
    pub adopted_at: Option<DateTime<Utc>>,
    pub target_date: Option<NaiveDate>,
    /// The organisation's controls (retired ones are left out here).
    pub controls: &'a [Control],
    /// The mappings to this framework.
    pub mappings: &'a [Mapping],
    pub readiness: &'a FrameworkReadiness,
    /// Current evidence records (superseded ones are left out here).
    pub evidence: &'a [Evidence],
    /// The moment of the export: `metadata/last-modified`, and the AR's start when not adopted.
    pub now: DateTime<Utc>,
    /// The version of evident writing the file.
    pub tool_version: &'a str,
}

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ssp,
    AssessmentResults,
    Poam,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "ssp" => Some(Kind::Ssp),
            "ar" => Some(Kind::AssessmentResults),
            "poam" => Some(Kind::Poam),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ssp => "ssp",
            Kind::AssessmentResults => "ar",
            Kind::Poam => "poam",
        }
    }
}

/// What an export holds, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub components: usize,
    pub implemented_requirements: usize,
    pub observations: usize,
    pub findings: usize,
    pub poam_items: usize,
}

impl System<'_> {
    fn uuid(&self, kind: &str, key: &str) -> String {
        let name = format!("evident/{}/{}/{kind}/{key}", self.org_id, self.framework.id());
        Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
    }

    fn active_controls(&self) -> Vec<&Control> {
        let mapped: std::collections::HashSet<&str> = self.mappings.iter().map(|m| m.control.as_str()).collect();
        let mut controls: Vec<&Control> =
            self.controls.iter().filter(|c| c.is_active() && mapped.contains(c.code.as_str())).collect();
        controls.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
        controls
    }

    fn component_uuid(&self, control: &Control) -> String {
        self.uuid("component", control.id.as_str())
    }

    fn system_uuid(&self) -> String {
        self.uuid("system", "")
    }

    fn framework_resource(&self) -> String {
        self.uuid("framework", "")
    }

    fn metadata(&self, title: String) -> Metadata {
        Metadata {
            title,
            published: None,
            last_modified: self.now.to_rfc3339_opts(SecondsFormat::Secs, true),
            version: format!("{} (evident {})", self.framework.id(), self.tool_version),
            oscal_version: OSCAL_VERSION.to_owned(),
            revisions: None,
            document_ids: None,
            props: None,
            links: None,
            roles: None,
            locations: None,
            parties: Some(vec![json!({
                "uuid": self.uuid("party", "organisation"),
                "type": "organization",
                "name": self.org_name,
            })]),
            responsible_parties: None,
            actions: None,
            remarks: None,
        }
    }

    fn back_matter(&self) -> BackMatter {
        let info = self.framework.info();
        BackMatter {
            resources: Some(vec![Resource {
                uuid: self.framework_resource(),
                title: Some(format!("{} {}", info.title, info.version)),
                description: Some(format!(
                    "The framework assessed: {} ({}), published by {}.",
                    info.id, info.name, info.publisher
                )),
                props: None,
                document_ids: None,
                citation: None,
                rlinks: None,
                base64: None,
                remarks: None,
            }]),
        }
    }

    /// A link to the framework, the back-matter resource every document names.
    fn framework_import(&self) -> Import {
        Import { href: format!("#{}", self.framework_resource()), rest: Rest::new() }
    }

    fn system_id(&self) -> SystemId {
        SystemId { identifier_type: Some("https://ietf.org/rfc/rfc4122".into()), id: self.system_uuid() }
    }

    /// Requirements not met, in the framework's order: readiness's partial and missing ones.
    fn unmet(&self) -> impl Iterator<Item = &evident_core::readiness::RequirementStatus> {
        self.readiness.requirements.iter().filter(|r| matches!(r.status, Status::Partial | Status::Missing))
    }

    fn label(&self, reference: &RequirementRef) -> String {
        self.framework
            .requirement(reference)
            .and_then(|r| r.label.clone())
            .unwrap_or_else(|| reference.as_str().to_owned())
    }

    /// The observations' UUIDs of the evidence of each control.
    fn evidence_of(&self, control: &Control) -> Vec<String> {
        let mut records: Vec<&Evidence> = self
            .evidence
            .iter()
            .filter(|e| e.is_current() && e.record.links.iter().any(|l| l.control == control.id))
            .collect();
        records.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        records.iter().map(|e| self.uuid("observation", e.id.as_str())).collect()
    }
}

/// A requirement ref as an OSCAL token (a letter or `_` first; letters, digits, `.`, `-`, `_`).
pub fn control_id(reference: &RequirementRef) -> String {
    let mut id: String = reference
        .as_str()
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    if !id.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        id.insert(0, '_');
    }
    id
}

fn implementation_state(control: &Control, coverage: Coverage) -> &'static str {
    match (control.status, coverage) {
        (ImplementationStatus::Implemented, Coverage::Full) => "implemented",
        (ImplementationStatus::Implemented, Coverage::Partial) => "partial",
        (ImplementationStatus::InProgress | ImplementationStatus::NotStarted, _) => "planned",
    }
}

fn component_state(control: &Control) -> (&'static str, Option<&'static str>) {
    match control.status {
        ImplementationStatus::Implemented => ("operational", None),
        ImplementationStatus::InProgress => ("under-development", None),
        ImplementationStatus::NotStarted => ("other", Some("Not started.")),
    }
}

fn text(value: &str, otherwise: &str) -> String {
    if value.trim().is_empty() { otherwise.to_owned() } else { value.trim().to_owned() }
}

/// The system security plan.
pub fn ssp(system: &System<'_>) -> (Value, Counts) {
    let info = system.framework.info();
    let controls = system.active_controls();
    let by_code: std::collections::HashMap<&str, &Control> = controls.iter().map(|c| (c.code.as_str(), *c)).collect();
    let mut components = vec![SystemComponent {
        uuid: system.uuid("component", "this-system"),
        kind: "this-system".into(),
        title: system.org_name.to_owned(),
        description: text(system.scope, "The organisation's systems in scope of the framework."),
        status: State::new("operational", None),
        rest: Rest::new(),
    }];
    for control in &controls {
        let (state, remarks) = component_state(control);
        components.push(SystemComponent {
            uuid: system.component_uuid(control),
            kind: "process-procedure".into(),
            title: format!("{}: {}", control.code, control.title),
            description: text(&control.description, &control.title),
            status: State::new(state, remarks),
            rest: Rest::new(),
        });
    }
    let mut implemented = Vec::new();
    for requirement in system.framework.requirements() {
        let mut mappings: Vec<(&Mapping, &Control)> = system
            .mappings
            .iter()
            .filter(|m| m.requirement == requirement.reference)
            .filter_map(|m| by_code.get(m.control.as_str()).map(|c| (m, *c)))
            .collect();
        if mappings.is_empty() {
            continue;
        }
        mappings.sort_by(|a, b| a.1.code.as_str().cmp(b.1.code.as_str()));
        let by_components = mappings
            .iter()
            .map(|(mapping, control)| {
                let coverage = match mapping.coverage {
                    Coverage::Full => "fully",
                    Coverage::Partial => "in part",
                };
                let mut description = format!("{} meets this requirement {coverage}.", control.code);
                if !mapping.rationale.trim().is_empty() {
                    description.push(' ');
                    description.push_str(mapping.rationale.trim());
                }
                ByComponent {
                    component_uuid: system.component_uuid(control),
                    uuid: system.uuid("by-component", &format!("{}/{}", requirement.reference, control.id.as_str())),
                    description,
                    implementation_status: Some(State::new(implementation_state(control, mapping.coverage), None)),
                    rest: Rest::new(),
                }
            })
            .collect();
        implemented.push(ImplementedRequirement {
            uuid: system.uuid("implemented-requirement", requirement.reference.as_str()),
            control_id: control_id(&requirement.reference),
            description: None,
            by_components: Some(by_components),
            statements: None,
            rest: Rest::new(),
        });
    }
    let counts =
        Counts { components: components.len(), implemented_requirements: implemented.len(), ..Counts::default() };
    let boundary = text(system.scope, "The organisation's systems in scope of the framework.");
    let plan = SystemSecurityPlan {
        uuid: system.uuid("ssp", ""),
        metadata: system.metadata(format!("{}: system security plan for {}", system.org_name, info.title)),
        import_profile: system.framework_import(),
        system_characteristics: SystemCharacteristics {
            system_ids: vec![system.system_id()],
            system_name: system.org_name.to_owned(),
            description: format!("{}'s systems in scope of {}.", system.org_name, info.title),
            system_information: SystemInformation {
                information_types: vec![InformationType {
                    uuid: Some(system.uuid("information-type", "in-scope")),
                    title: "Information in scope".into(),
                    description: text(system.scope, "The information the organisation's systems in scope hold."),
                    rest: Rest::new(),
                }],
                rest: Rest::new(),
            },
            status: State::new("operational", None),
            authorization_boundary: Described { description: boundary, rest: Rest::new() },
            rest: Rest::new(),
        },
        system_implementation: SystemImplementation { components, rest: Rest::new() },
        control_implementation: ControlImplementation {
            description: format!(
                "How {}'s controls meet the requirements of {}: one component per control, one by-component per mapping.",
                system.org_name, info.id
            ),
            implemented_requirements: implemented,
            rest: Rest::new(),
        },
        back_matter: Some(system.back_matter()),
        rest: Rest::new(),
    };
    (as_json(&SspDocument { schema: None, system_security_plan: plan }), counts)
}

/// A document as JSON. Serialising these types cannot fail (string keys, no maps of other keys):
/// should it, the export says so by being empty, which validation then refuses.
fn as_json<T: serde::Serialize>(document: &T) -> Value {
    serde_json::to_value(document).unwrap_or_default()
}

/// The assessment results: observations from evidence and checks, findings from requirements
/// not met.
pub fn assessment_results(system: &System<'_>) -> (Value, Counts) {
    let info = system.framework.info();
    let controls = system.active_controls();
    let mut records: Vec<&Evidence> = system
        .evidence
        .iter()
        .filter(|e| e.is_current() && e.record.links.iter().any(|l| controls.iter().any(|c| c.id == l.control)))
        .collect();
    records.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let observations: Vec<Observation> = records
        .iter()
        .map(|evidence| {
            let record = &evidence.record;
            let method = if record.source == EvidenceSource::Check { "TEST" } else { "EXAMINE" };
            let subjects = controls
                .iter()
                .filter(|c| record.links.iter().any(|l| l.control == c.id))
                .map(|c| Subject {
                    subject_uuid: system.component_uuid(c),
                    kind: "component".into(),
                    title: Some(c.code.as_str().to_owned()),
                    rest: Rest::new(),
                })
                .collect();
            let description = if record.description.trim().is_empty() {
                format!("{} ({} evidence)", record.file_name.as_str(), record.source.as_str())
            } else {
                record.description.trim().to_owned()
            };
            Observation {
                uuid: system.uuid("observation", evidence.id.as_str()),
                title: Some(record.file_name.as_str().to_owned()),
                description,
                methods: vec![method.to_owned()],
                subjects: Some(subjects),
                relevant_evidence: Some(vec![RelevantEvidence {
                    href: None,
                    description: format!(
                        "Evidence {} in evident: {}, {} bytes, sha256 {}.",
                        evidence.id.as_str(),
                        record.media_type,
                        record.size,
                        record.digest.as_str()
                    ),
                    rest: Rest::new(),
                }]),
                collected: midnight(record.effective),
                rest: Rest::new(),
            }
        })
        .collect();
    let by_id: std::collections::HashMap<&str, &Control> = controls.iter().map(|c| (c.id.as_str(), *c)).collect();
    let findings: Vec<Finding> = system
        .unmet()
        .map(|requirement| {
            let mut related: Vec<String> = requirement
                .controls
                .iter()
                .filter_map(|c| by_id.get(c.control_id.as_str()))
                .flat_map(|c| system.evidence_of(c))
                .collect();
            related.sort();
            related.dedup();
            let status = match requirement.status {
                Status::Partial => "partial",
                _ => "missing",
            };
            Finding {
                uuid: system.uuid("finding", requirement.reference.as_str()),
                title: format!("{} {}: {status}", system.label(&requirement.reference), requirement.title),
                description: format!("Readiness says {status}: {}.", requirement.reason),
                target: FindingTarget {
                    kind: "objective-id".into(),
                    target_id: control_id(&requirement.reference),
                    status: TargetStatus {
                        state: "not-satisfied".into(),
                        reason: Some(status_reason(requirement.status).into()),
                        rest: Rest::new(),
                    },
                    rest: Rest::new(),
                },
                related_observations: Some(
                    related.into_iter().map(|observation_uuid| RelatedObservation { observation_uuid }).collect(),
                )
                .filter(|r: &Vec<_>| !r.is_empty()),
                rest: Rest::new(),
            }
        })
        .collect();
    let counts = Counts { observations: observations.len(), findings: findings.len(), ..Counts::default() };
    let start = system.adopted_at.unwrap_or(system.now);
    let result = AssessmentResult {
        uuid: system.uuid("result", ""),
        title: format!("Continuous assessment of {}", info.title),
        description: format!(
            "What evident knows of {}'s controls for {}: readiness {:.1} % ({} assessed requirements, {} covered, {} partial, {} missing).",
            system.org_name,
            info.id,
            system.readiness.score.percent,
            system.readiness.score.applicable,
            system.readiness.score.covered,
            system.readiness.score.partial,
            system.readiness.score.missing
        ),
        start: start.to_rfc3339_opts(SecondsFormat::Secs, true),
        end: None,
        reviewed_controls: json!({"control-selections": [{"include-all": {}}]}),
        observations: Some(observations).filter(|o| !o.is_empty()),
        findings: Some(findings).filter(|f| !f.is_empty()),
        rest: Rest::new(),
    };
    let results = AssessmentResults {
        uuid: system.uuid("assessment-results", ""),
        metadata: system.metadata(format!("{}: assessment results for {}", system.org_name, info.title)),
        import_ap: system.framework_import(),
        results: vec![result],
        back_matter: Some(system.back_matter()),
        rest: Rest::new(),
    };
    (as_json(&AssessmentResultsDocument { schema: None, assessment_results: results }), counts)
}

fn status_reason(status: Status) -> &'static str {
    // OSCAL's reasons are `pass`, `fail` or `other`; anything not met fails.
    match status {
        Status::Covered | Status::NotApplicable => "pass",
        Status::Partial | Status::Missing => "fail",
    }
}

fn midnight(date: NaiveDate) -> String {
    date.and_hms_opt(0, 0, 0).map(|d| d.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap_or_default()
}

/// The POA&M: one risk and one item per requirement not met; `ssp_href` is where the SSP is
/// (relative to the POA&M), named rather than copied.
pub fn poam(system: &System<'_>, ssp_href: &str) -> (Value, Counts) {
    let info = system.framework.info();
    let mut risks = Vec::new();
    let mut items = Vec::new();
    for requirement in system.unmet() {
        let key = requirement.reference.as_str();
        let label = system.label(&requirement.reference);
        let status = match requirement.status {
            Status::Partial => "partly met",
            _ => "not met",
        };
        let risk_uuid = system.uuid("risk", key);
        risks.push(Risk {
            uuid: risk_uuid.clone(),
            title: format!("{label} {} is {status}", requirement.title),
            description: format!("Readiness says: {}.", requirement.reason),
            statement: format!("Until {label} is met, {} lacks a safeguard {} asks for.", system.org_name, info.title),
            status: "open".into(),
            deadline: system.target_date.map(midnight),
            rest: Rest::new(),
        });
        items.push(PoamItem {
            uuid: Some(system.uuid("poam-item", key)),
            title: format!("Meet {label} {}", requirement.title),
            description: match requirement.status {
                Status::Partial => {
                    "Finish the controls mapped to it, or map one that meets it in full, and keep their evidence fresh."
                        .to_owned()
                }
                _ => "Map a control that meets it, implement it and record its evidence.".to_owned(),
            },
            related_risks: Some(vec![RelatedRisk { risk_uuid }]),
            rest: Rest::new(),
        });
    }
    let counts = Counts { poam_items: items.len(), ..Counts::default() };
    let plan = PlanOfActionAndMilestones {
        uuid: system.uuid("poam", ""),
        metadata: system.metadata(format!("{}: plan of action and milestones for {}", system.org_name, info.title)),
        import_ssp: Some(Import { href: ssp_href.to_owned(), rest: Rest::new() }),
        system_id: Some(system.system_id()),
        observations: None,
        risks: Some(risks).filter(|r| !r.is_empty()),
        poam_items: items,
        back_matter: None,
        rest: Rest::new(),
    };
    (as_json(&PoamDocument { schema: None, plan_of_action_and_milestones: plan }), counts)
}

/// The document of `kind`.
pub fn export(system: &System<'_>, kind: Kind, ssp_href: &str) -> (Value, Counts) {
    match kind {
        Kind::Ssp => ssp(system),
        Kind::AssessmentResults => assessment_results(system),
        Kind::Poam => poam(system, ssp_href),
    }
}
