//! The OSCAL models besides catalog and profile: component definition, system security plan
//! (SSP), assessment results and plan of action and milestones (POA&M). What evident writes and
//! reads is typed; what it neither writes nor reads (a system's users and inventory, an
//! assessment's local definitions and the like) is kept as JSON in each object's `rest`, so a
//! document read and written again loses nothing. The exports are built from these types.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{BackMatter, Metadata};

/// The members of an object the model does not name, kept as they were.
pub type Rest = Map<String, Value>;

macro_rules! document {
    ($(#[$doc:meta])* $name:ident, $key:literal, $field:ident: $model:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// A JSON schema directive (`$schema`), which the OSCAL schemas allow at the root.
            #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
            pub schema: Option<String>,
            #[serde(rename = $key)]
            pub $field: $model,
        }
    };
}

document!(
    /// `{"component-definition": …}`
    ComponentDefinitionDocument, "component-definition", component_definition: ComponentDefinition
);
document!(
    /// `{"system-security-plan": …}`
    SspDocument, "system-security-plan", system_security_plan: SystemSecurityPlan
);
document!(
    /// `{"assessment-results": …}`
    AssessmentResultsDocument, "assessment-results", assessment_results: AssessmentResults
);
document!(
    /// `{"plan-of-action-and-milestones": …}`
    PoamDocument, "plan-of-action-and-milestones", plan_of_action_and_milestones: PlanOfActionAndMilestones
);

/// A link to another document, or to a back-matter resource by `#uuid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Import {
    pub href: String,
    #[serde(flatten)]
    pub rest: Rest,
}

/// An operational state (`operational`, `under-development`, `planned`, `implemented`…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct State {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

impl State {
    pub fn new(state: &str, remarks: Option<&str>) -> Self {
        State { state: state.to_owned(), remarks: remarks.map(str::to_owned), rest: Rest::new() }
    }
}

/// What implements a control: a component definition's, or an SSP's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImplementedRequirement {
    pub uuid: String,
    pub control_id: String,
    /// A component definition's says how; an SSP's says it by component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_components: Option<Vec<ByComponent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statements: Option<Vec<Statement>>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// How one component implements a requirement (or a statement of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ByComponent {
    pub component_uuid: String,
    pub uuid: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation_status: Option<State>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// One statement (part) of a control, implemented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Statement {
    pub statement_id: String,
    pub uuid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_components: Option<Vec<ByComponent>>,
    #[serde(flatten)]
    pub rest: Rest,
}

// ---------------------------------------------------------------------------------------------
// Component definition

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ComponentDefinition {
    pub uuid: String,
    pub metadata: Metadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<DefinedComponent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_matter: Option<BackMatter>,
    #[serde(flatten)]
    pub rest: Rest,
}

impl ComponentDefinition {
    /// Every requirement every component says it implements.
    pub fn implemented_requirements(&self) -> impl Iterator<Item = &ImplementedRequirement> {
        self.components
            .iter()
            .flatten()
            .flat_map(|c| c.control_implementations.iter().flatten())
            .flat_map(|i| i.implemented_requirements.iter())
    }
}

/// A component as its supplier defines it, with the controls it implements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DefinedComponent {
    pub uuid: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_implementations: Option<Vec<ControlImplementationSet>>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// The controls of one catalog or profile (`source`) a component implements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ControlImplementationSet {
    pub uuid: String,
    pub source: String,
    pub description: String,
    pub implemented_requirements: Vec<ImplementedRequirement>,
    #[serde(flatten)]
    pub rest: Rest,
}

// ---------------------------------------------------------------------------------------------
// System security plan

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemSecurityPlan {
    pub uuid: String,
    pub metadata: Metadata,
    pub import_profile: Import,
    pub system_characteristics: SystemCharacteristics,
    pub system_implementation: SystemImplementation,
    pub control_implementation: ControlImplementation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_matter: Option<BackMatter>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemCharacteristics {
    pub system_ids: Vec<SystemId>,
    pub system_name: String,
    pub description: String,
    pub system_information: SystemInformation,
    pub status: State,
    pub authorization_boundary: Described,
    #[serde(flatten)]
    pub rest: Rest,
}

/// A system's identifier, in the scheme `identifier-type` names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemId {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_type: Option<String>,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemInformation {
    pub information_types: Vec<InformationType>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct InformationType {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    pub title: String,
    pub description: String,
    #[serde(flatten)]
    pub rest: Rest,
}

/// An object whose one required member is its description (an authorization boundary…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Described {
    pub description: String,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemImplementation {
    pub components: Vec<SystemComponent>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// A component of the system: for evident, the system itself and each control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemComponent {
    pub uuid: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub description: String,
    pub status: State,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ControlImplementation {
    pub description: String,
    pub implemented_requirements: Vec<ImplementedRequirement>,
    #[serde(flatten)]
    pub rest: Rest,
}

// ---------------------------------------------------------------------------------------------
// Assessment results

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AssessmentResults {
    pub uuid: String,
    pub metadata: Metadata,
    pub import_ap: Import,
    pub results: Vec<AssessmentResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_matter: Option<BackMatter>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// One assessment's result: what was observed, and what was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AssessmentResult {
    pub uuid: String,
    pub title: String,
    pub description: String,
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Which controls were reviewed: kept as JSON (evident reviews them all).
    pub reviewed_controls: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observations: Option<Vec<Observation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<Finding>>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// Something observed (for evident: an evidence record), how, when and about what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Observation {
    pub uuid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub description: String,
    /// `EXAMINE`, `INTERVIEW`, `TEST` or `UNKNOWN`.
    pub methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subjects: Option<Vec<Subject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant_evidence: Option<Vec<RelevantEvidence>>,
    pub collected: String,
    #[serde(flatten)]
    pub rest: Rest,
}

/// What an observation is about, by UUID (a component of the SSP assessed…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Subject {
    pub subject_uuid: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RelevantEvidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    pub description: String,
    #[serde(flatten)]
    pub rest: Rest,
}

/// A requirement's assessed state, and the observations behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Finding {
    pub uuid: String,
    pub title: String,
    pub description: String,
    pub target: FindingTarget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_observations: Option<Vec<RelatedObservation>>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FindingTarget {
    /// `statement-id` or `objective-id`.
    #[serde(rename = "type")]
    pub kind: String,
    pub target_id: String,
    pub status: TargetStatus,
    #[serde(flatten)]
    pub rest: Rest,
}

/// `satisfied` or `not-satisfied`, and why (`pass`, `fail`, `other`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TargetStatus {
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RelatedObservation {
    pub observation_uuid: String,
}

// ---------------------------------------------------------------------------------------------
// Plan of action and milestones

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PlanOfActionAndMilestones {
    pub uuid: String,
    pub metadata: Metadata,
    /// The SSP it plans for, named rather than copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_ssp: Option<Import>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_id: Option<SystemId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observations: Option<Vec<Observation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risks: Option<Vec<Risk>>,
    pub poam_items: Vec<PoamItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_matter: Option<BackMatter>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// A risk: for evident, a requirement not met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Risk {
    pub uuid: String,
    pub title: String,
    pub description: String,
    pub statement: String,
    /// `open`, `investigating`, `remediating`, `deviation-requested`, `deviation-approved`, `closed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// One item of the plan, and the risks it addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PoamItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    pub title: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_risks: Option<Vec<RelatedRisk>>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RelatedRisk {
    pub risk_uuid: String,
}
