//! Validation: the OSCAL JSON schema (NIST's, 1.2.1, embedded; no reference is ever fetched), then
//! what a schema cannot say: ids defined twice, parameters inserted but never defined, and links to
//! `#uuid` that name no back-matter resource. Every violation comes back, each with its JSON path.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::Value;

use crate::documents::{AssessmentResultsDocument, ComponentDefinitionDocument, PoamDocument, SspDocument};
use crate::error::{OscalError, Violation};
use crate::model::{
    BackMatter, Catalog, CatalogDocument, Control, Group, Link, Parameter, Part, Profile, ProfileDocument,
};
use crate::read::{Limits, Model, check_bounds, model_of, parse_value, sniff};

const CATALOG_SCHEMA: &str = include_str!("../schemas/oscal_catalog_schema.json");
const PROFILE_SCHEMA: &str = include_str!("../schemas/oscal_profile_schema.json");
const COMPONENT_SCHEMA: &str = include_str!("../schemas/oscal_component_schema.json");
const AP_SCHEMA: &str = include_str!("../schemas/oscal_assessment-plan_schema.json");
const SSP_SCHEMA: &str = include_str!("../schemas/oscal_ssp_schema.json");
const AR_SCHEMA: &str = include_str!("../schemas/oscal_assessment-results_schema.json");
const POAM_SCHEMA: &str = include_str!("../schemas/oscal_poam_schema.json");

/// The most schema violations reported for one document; the count of the rest is said.
pub const MAX_VIOLATIONS: usize = 1000;

/// A document that passed every check, in its model.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    Catalog(Box<CatalogDocument>),
    Profile(Box<ProfileDocument>),
    ComponentDefinition(Box<ComponentDefinitionDocument>),
    SystemSecurityPlan(Box<SspDocument>),
    /// An assessment plan: checked, and kept as JSON (evident neither writes nor reads one).
    AssessmentPlan(Box<Value>),
    AssessmentResults(Box<AssessmentResultsDocument>),
    PlanOfActionAndMilestones(Box<PoamDocument>),
}

impl Document {
    pub fn model(&self) -> Model {
        match self {
            Document::Catalog(_) => Model::Catalog,
            Document::Profile(_) => Model::Profile,
            Document::ComponentDefinition(_) => Model::ComponentDefinition,
            Document::SystemSecurityPlan(_) => Model::SystemSecurityPlan,
            Document::AssessmentPlan(_) => Model::AssessmentPlan,
            Document::AssessmentResults(_) => Model::AssessmentResults,
            Document::PlanOfActionAndMilestones(_) => Model::PlanOfActionAndMilestones,
        }
    }
}

fn validator(model: Model) -> &'static jsonschema::Validator {
    static CATALOG: OnceLock<jsonschema::Validator> = OnceLock::new();
    static PROFILE: OnceLock<jsonschema::Validator> = OnceLock::new();
    static COMPONENT: OnceLock<jsonschema::Validator> = OnceLock::new();
    static SSP: OnceLock<jsonschema::Validator> = OnceLock::new();
    static AP: OnceLock<jsonschema::Validator> = OnceLock::new();
    static AR: OnceLock<jsonschema::Validator> = OnceLock::new();
    static POAM: OnceLock<jsonschema::Validator> = OnceLock::new();
    let (cell, text) = match model {
        Model::Catalog => (&CATALOG, CATALOG_SCHEMA),
        Model::Profile => (&PROFILE, PROFILE_SCHEMA),
        Model::ComponentDefinition => (&COMPONENT, COMPONENT_SCHEMA),
        Model::SystemSecurityPlan => (&SSP, SSP_SCHEMA),
        Model::AssessmentPlan => (&AP, AP_SCHEMA),
        Model::AssessmentResults => (&AR, AR_SCHEMA),
        Model::PlanOfActionAndMilestones => (&POAM, POAM_SCHEMA),
    };
    cell.get_or_init(|| {
        // The schemas are NIST's own files, embedded: a failure here is a broken build, which the
        // crate's tests catch before anything ships.
        #[allow(clippy::expect_used)]
        let schema: Value = serde_json::from_str(text).expect("the embedded OSCAL schema is JSON");
        #[allow(clippy::expect_used)]
        jsonschema::validator_for(&schema).expect("the embedded OSCAL schema compiles")
    })
}

/// Bounds, parses and validates a document: the schema first, then the references.
///
/// The same bytes are read three ways at once, on as many threads: the schema for the model the
/// document's first key names is compiled (once per process), the document is parsed as JSON and
/// checked against it, and a catalog or profile is parsed into its typed model and its references
/// checked. What is reported does not depend on the threads: schema violations if there are any,
/// else a document the typed model refuses, else the references that do not resolve.
pub fn validate(file: &str, bytes: &[u8], limits: &Limits) -> Result<Document, OscalError> {
    check_bounds(file, bytes, limits)?;
    let guess = sniff(bytes);
    std::thread::scope(|scope| {
        if let Some(model) = guess {
            scope.spawn(move || validator(model));
        }
        let checked = scope.spawn(|| schema_checked(file, bytes));
        // The large models are read beside the schema check; the others after it.
        let typed = match guess {
            Some(model @ (Model::Catalog | Model::Profile)) => Some(typed_model(file, bytes, model)),
            _ => None,
        };
        let model = checked.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        let (document, violations) = match typed {
            // The guess cannot miss for a document the schema accepts, but costs nothing if it does.
            Some(typed) if guess == Some(model) => typed?,
            _ => typed_model(file, bytes, model)?,
        };
        if violations.is_empty() { Ok(document) } else { Err(OscalError::Invalid { file: file.into(), violations }) }
    })
}

/// A document the schema accepted, in its typed model, with what the references checks found.
fn typed_model(file: &str, bytes: &[u8], model: Model) -> Result<(Document, Vec<Violation>), OscalError> {
    Ok(match model {
        Model::Catalog => {
            let c = typed::<CatalogDocument>(file, bytes)?;
            let violations = catalog_violations(&c.catalog);
            (Document::Catalog(c), violations)
        }
        Model::Profile => {
            let p = typed::<ProfileDocument>(file, bytes)?;
            let violations = profile_violations(&p.profile);
            (Document::Profile(p), violations)
        }
        // Their references were checked on the JSON, beside the schema.
        Model::ComponentDefinition => (Document::ComponentDefinition(typed(file, bytes)?), Vec::new()),
        Model::SystemSecurityPlan => (Document::SystemSecurityPlan(typed(file, bytes)?), Vec::new()),
        Model::AssessmentPlan => (Document::AssessmentPlan(Box::new(parse_value(file, bytes)?)), Vec::new()),
        Model::AssessmentResults => (Document::AssessmentResults(typed(file, bytes)?), Vec::new()),
        Model::PlanOfActionAndMilestones => (Document::PlanOfActionAndMilestones(typed(file, bytes)?), Vec::new()),
    })
}

/// A document in its typed model; what the model refuses and the schema allowed is reported as a
/// schema violation.
fn typed<T: serde::de::DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<Box<T>, OscalError> {
    serde_json::from_slice(bytes).map(Box::new).map_err(|e| OscalError::Invalid {
        file: file.into(),
        violations: vec![Violation { path: String::new(), rule: "schema", message: e.to_string() }],
    })
}

/// Parses a document, names its model and checks it against the model's schema; any model but a
/// catalog or profile has its UUID references checked here too.
fn schema_checked(file: &str, bytes: &[u8]) -> Result<Model, OscalError> {
    let value = parse_value(file, bytes)?;
    let model = model_of(file, &value)?;
    let mut violations = match older_combine(&value) {
        Some(checked) => schema_violations(model, &checked),
        None => schema_violations(model, &value),
    };
    if violations.is_empty() && !matches!(model, Model::Catalog | Model::Profile) {
        violations = uuid_violations(&value);
    }
    if violations.is_empty() { Ok(model) } else { Err(OscalError::Invalid { file: file.into(), violations }) }
}

/// OSCAL 1.0 and 1.1 profiles say how to combine duplicates (`combine: {method: use-first}`),
/// and 1.0 ones may give that rule alone, with no structuring directive; the 1.2 schema dropped
/// the method and asks for a directive. Such a profile is checked without them (the resolver
/// still reads the method; no directive is flat), so that a profile valid in its own version is
/// not refused for it.
fn older_combine(value: &Value) -> Option<Value> {
    let profile = value.get("profile")?;
    let version = profile.pointer("/metadata/oscal-version")?.as_str()?;
    if !(version.starts_with("1.0") || version.starts_with("1.1")) {
        return None;
    }
    let merge = profile.get("merge")?.as_object()?;
    let structured = ["as-is", "flat", "custom"].iter().any(|k| merge.contains_key(*k));
    let named = profile.pointer("/merge/combine/method").is_some();
    if structured && !named {
        return None;
    }
    let mut checked = value.clone();
    let merge = checked.pointer_mut("/profile/merge")?.as_object_mut()?;
    if structured {
        merge.get_mut("combine")?.as_object_mut()?.remove("method");
    } else if merge.keys().all(|k| k == "combine") {
        checked.pointer_mut("/profile")?.as_object_mut()?.remove("merge");
    }
    Some(checked)
}

/// Every schema violation of a parsed document, at most [`MAX_VIOLATIONS`] and a count of the rest.
pub fn schema_violations(model: Model, value: &Value) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut more = 0usize;
    for error in validator(model).iter_errors(value) {
        let mut found = Vec::new();
        innermost(&error, &mut found);
        for (path, message) in found {
            if violations.len() == MAX_VIOLATIONS {
                more += 1;
                continue;
            }
            violations.push(Violation { path, rule: "schema", message: shorten(&message) });
        }
    }
    if more > 0 {
        violations.push(Violation {
            path: String::new(),
            rule: "schema",
            message: format!("and {more} more schema violation(s)"),
        });
    }
    violations
}

/// The errors that say what is wrong. OSCAL's schema writes a group as `anyOf` (groups or
/// controls), so a control broken deep inside a group fails the group as a whole, quoting all of
/// it; the alternative whose errors reach deepest into the document is the one the author meant,
/// and its errors are the ones to show.
fn innermost(error: &jsonschema::ValidationError<'_>, found: &mut Vec<(String, String)>) {
    use jsonschema::error::ValidationErrorKind as Kind;
    let depth = |e: &jsonschema::ValidationError<'_>| e.instance_path().to_string().matches('/').count();
    let alternatives = match error.kind() {
        Kind::AnyOf { context } | Kind::OneOfNotValid { context } => context,
        _ => {
            found.push((error.instance_path().to_string(), error.to_string()));
            return;
        }
    };
    let best = alternatives
        .iter()
        .filter(|errors| !errors.is_empty())
        .max_by_key(|errors| (errors.iter().map(depth).max().unwrap_or_default(), std::cmp::Reverse(errors.len())));
    match best {
        Some(errors) if errors.iter().map(depth).max().unwrap_or_default() > depth(error) => {
            errors.iter().for_each(|e| innermost(e, found));
        }
        _ => found.push((error.instance_path().to_string(), error.to_string())),
    }
}

/// A violation quotes the offending value, which may be a whole control: keep it readable.
fn shorten(message: &str) -> String {
    const MAX: usize = 300;
    if message.len() <= MAX {
        return message.to_owned();
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

/// What a catalog's schema cannot check: each control, group and parameter id defined once;
/// each `{{ insert: param, id }}` naming a parameter of the catalog; each `#uuid` link naming a
/// back-matter resource.
pub fn catalog_violations(catalog: &Catalog) -> Vec<Violation> {
    let mut walk = Walk { resources: resource_uuids(catalog.back_matter.as_ref()), ..Walk::default() };
    let root = At::Root("catalog");
    walk.params(&root, catalog.params.as_deref());
    walk.controls(&root, catalog.controls.as_deref());
    walk.groups(&root, catalog.groups.as_deref());
    walk.links(&At::Field(&root, "metadata"), catalog.metadata.links.as_deref());
    let mut violations = walk.duplicates;
    // A parameter may be inserted before the text defining it: those are looked up again at the end.
    for (path, id) in walk.later {
        if !walk.param_ids.contains(id) {
            violations.push(Violation {
                path,
                rule: "unknown_param",
                message: format!("inserts parameter {id}, which the catalog does not define"),
            });
        }
    }
    violations.extend(walk.unresolved);
    violations
}

/// Where in a document the walk is, as a JSON pointer written out only when a violation needs it.
enum At<'a> {
    Root(&'static str),
    Field(&'a At<'a>, &'static str),
    Item(&'a At<'a>, &'static str, usize),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Root(name) => write!(f, "/{name}"),
            At::Field(parent, name) => write!(f, "{parent}/{name}"),
            At::Item(parent, list, index) => write!(f, "{parent}/{list}/{index}"),
        }
    }
}

#[derive(Default)]
struct Walk<'a> {
    /// Every id seen and where, to name both places of a duplicate.
    ids: HashMap<&'a str, String>,
    param_ids: HashSet<&'a str>,
    duplicates: Vec<Violation>,
    /// Inserts of a parameter not defined (yet) when they were met.
    later: Vec<(String, &'a str)>,
    resources: HashSet<&'a str>,
    unresolved: Vec<Violation>,
}

impl<'a> Walk<'a> {
    fn id(&mut self, at: &At<'_>, id: &'a str, what: &str) {
        let path = format!("{at}/id");
        if let Some(first) = self.ids.get(id) {
            self.duplicates.push(Violation {
                path,
                rule: "duplicate_id",
                message: format!("{what} id {id} is defined twice (first at {first})"),
            });
        } else {
            self.ids.insert(id, path);
        }
    }

    fn groups(&mut self, at: &At<'_>, groups: Option<&'a [Group]>) {
        for (i, group) in groups.unwrap_or_default().iter().enumerate() {
            let at = At::Item(at, "groups", i);
            if let Some(id) = &group.id {
                self.id(&at, id, "group");
            }
            self.params(&at, group.params.as_deref());
            self.parts(&at, group.parts.as_deref());
            self.links(&at, group.links.as_deref());
            self.groups(&at, group.groups.as_deref());
            self.controls(&at, group.controls.as_deref());
        }
    }

    fn controls(&mut self, at: &At<'_>, controls: Option<&'a [Control]>) {
        for (i, control) in controls.unwrap_or_default().iter().enumerate() {
            let at = At::Item(at, "controls", i);
            self.id(&at, &control.id, "control");
            self.params(&at, control.params.as_deref());
            self.parts(&at, control.parts.as_deref());
            self.links(&at, control.links.as_deref());
            self.controls(&at, control.controls.as_deref());
        }
    }

    fn params(&mut self, at: &At<'_>, params: Option<&'a [Parameter]>) {
        for (i, param) in params.unwrap_or_default().iter().enumerate() {
            let at = At::Item(at, "params", i);
            self.id(&at, &param.id, "parameter");
            self.param_ids.insert(&param.id);
            if let Some(label) = &param.label {
                self.text(&At::Field(&at, "label"), label);
            }
            for (g, guideline) in param.guidelines.iter().flatten().enumerate() {
                self.text(&At::Field(&At::Item(&at, "guidelines", g), "prose"), &guideline.prose);
            }
            let select = At::Field(&at, "select");
            for (c, choice) in param.select.iter().flat_map(|s| s.choice.iter().flatten()).enumerate() {
                self.text(&At::Item(&select, "choice", c), choice);
            }
        }
    }

    fn parts(&mut self, at: &At<'_>, parts: Option<&'a [Part]>) {
        for (i, part) in parts.unwrap_or_default().iter().enumerate() {
            let at = At::Item(at, "parts", i);
            // Part ids are not checked for duplicates: NIST's own test catalogs repeat them, and
            // nothing evident does depends on them being unique.
            if let Some(prose) = &part.prose {
                self.text(&At::Field(&at, "prose"), prose);
            }
            self.links(&at, part.links.as_deref());
            self.parts(&at, part.parts.as_deref());
        }
    }

    fn text(&mut self, at: &At<'_>, text: &'a str) {
        for id in inserted_params(text) {
            if !self.param_ids.contains(id) {
                self.later.push((at.to_string(), id));
            }
        }
    }

    fn links(&mut self, at: &At<'_>, links: Option<&'a [Link]>) {
        for uuid in links.unwrap_or_default().iter().filter_map(|l| resource_link(&l.href)) {
            if !self.resources.contains(uuid) {
                self.unresolved.push(unresolved(format!("{at}/links"), uuid, "catalog"));
            }
        }
    }
}

/// The parameter ids a text inserts: `{{ insert: param, ac-1_prm_1 }}`.
pub fn inserted_params(text: &str) -> impl Iterator<Item = &str> {
    text.split("{{").skip(1).filter_map(|rest| {
        let inner = rest.split_once("}}")?.0;
        let (kind, id) = inner.trim().strip_prefix("insert:")?.split_once(',')?;
        (kind.trim() == "param").then(|| id.trim())
    })
}

/// The UUIDs of a document's back-matter resources.
fn resource_uuids(back_matter: Option<&BackMatter>) -> HashSet<&str> {
    back_matter.and_then(|b| b.resources.as_deref()).unwrap_or_default().iter().map(|r| r.uuid.as_str()).collect()
}

/// The resource a link names by `#uuid`, if it names one.
fn resource_link(href: &str) -> Option<&str> {
    href.strip_prefix('#').filter(|fragment| looks_like_uuid(fragment))
}

fn unresolved(path: String, uuid: &str, what: &str) -> Violation {
    Violation {
        path,
        rule: "unresolved_link",
        message: format!("links to #{uuid}, which is no resource in the {what}'s back-matter"),
    }
}

/// What a profile's schema cannot check here: each `#uuid` link of its metadata naming a
/// back-matter resource.
fn profile_violations(profile: &Profile) -> Vec<Violation> {
    let resources = resource_uuids(profile.back_matter.as_ref());
    let links = profile.metadata.links.as_deref().unwrap_or_default();
    links
        .iter()
        .filter_map(|l| resource_link(&l.href))
        .filter(|uuid| !resources.contains(uuid))
        .map(|uuid| unresolved("/profile/metadata/links".into(), uuid, "profile"))
        .collect()
}

/// A UUID in its canonical text form (8-4-4-4-12 hex digits).
pub fn looks_like_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The fields of a component definition, SSP, assessment plan or results or POA&M that name an
/// object of the same document by its UUID. (A subject's UUID names a component of the SSP the
/// results assess, so it is not one.)
const UUID_REFERENCES: [&str; 4] = ["component-uuid", "observation-uuid", "finding-uuid", "risk-uuid"];

/// What the schema of a component definition, SSP, assessment plan or results or POA&M cannot
/// check: every UUID defined once, every reference by UUID (and every `#uuid` link) naming an
/// object the document defines.
pub fn uuid_violations(document: &Value) -> Vec<Violation> {
    let mut defined: HashMap<&str, String> = HashMap::new();
    let mut references: Vec<(String, &str)> = Vec::new();
    let mut violations = Vec::new();
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), document)];
    while let Some((path, value)) = stack.pop() {
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    let at = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                    match (key.as_str(), child.as_str()) {
                        ("uuid", Some(uuid)) => {
                            if let Some(first) = defined.get(uuid) {
                                violations.push(Violation {
                                    path: at.clone(),
                                    rule: "duplicate_id",
                                    message: format!("uuid {uuid} is defined twice (first at {first})"),
                                });
                            } else {
                                defined.insert(uuid, at.clone());
                            }
                        }
                        ("href", Some(href)) => {
                            if let Some(uuid) = href.strip_prefix('#').filter(|u| looks_like_uuid(u)) {
                                references.push((at.clone(), uuid));
                            }
                        }
                        (key, Some(uuid)) if UUID_REFERENCES.contains(&key) => {
                            references.push((at.clone(), uuid));
                        }
                        _ => {}
                    }
                    stack.push((at, child));
                }
            }
            Value::Array(items) => {
                stack.extend(items.iter().enumerate().map(|(i, item)| (format!("{path}/{i}"), item)));
            }
            _ => {}
        }
    }
    for (path, uuid) in references {
        if !defined.contains_key(uuid) {
            violations.push(Violation {
                path,
                rule: "unresolved_link",
                message: format!("names {uuid}, which nothing in the document defines"),
            });
        }
    }
    violations.sort_by(|a, b| a.path.cmp(&b.path));
    violations
}
