//! OSCAL documents: validating one, resolving a profile, importing a catalog (or a resolved
//! profile) into the organisation's library as a framework, and exporting the organisation's work
//! on an adopted framework as an SSP, assessment results or a POA&M.
//!
//! Validating and resolving read the user's files and nothing of any organisation, so they take no
//! principal; importing writes the library and checks the importer's permissions inside.

use std::path::Path;

use evident_core::{ControlCode, Coverage, Framework, FrameworkId, Mapping, Permission, RequirementRef};
pub use evident_oscal::Limits;
pub use evident_oscal::export::{Counts as ExportCounts, Kind as ExportKind};
use evident_oscal::export::{System, export};
use evident_oscal::framework::{default_id, to_framework};
use evident_oscal::model::CatalogDocument;
use evident_oscal::resolve::{Resolved, resolve_file};
pub use evident_oscal::revision::{Relation, RevisionDiff};
use evident_oscal::{Document, Model, OscalError, Violation};
use evident_store::EvidenceQuery;
use evident_store::{ControlChange, FrameworkChange};
use serde::Serialize;

use crate::error::{AppError, Code, Result};
use crate::imports::frameworks::FrameworkImport;
use crate::{App, Principal};

/// The largest OSCAL file read by default: 64 MiB (NIST's SP 800-53 rev5 catalog is under 6 MB).
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The reader's limits with the largest file set to `max_bytes`.
pub fn limits(max_bytes: u64) -> Limits {
    Limits { max_bytes, ..Limits::default() }
}

/// A document that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OscalValidation {
    pub file: String,
    pub model: Model,
    /// Controls in a catalog (nested ones included); controls a profile selects by id; requirements
    /// an SSP or a component definition implements.
    pub controls: usize,
}

/// What importing an OSCAL catalog (or profile) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OscalImport {
    #[serde(flatten)]
    pub import: FrameworkImport,
    /// A profile is resolved first, and its resolved catalog imported.
    pub resolved_profile: bool,
    /// Withdrawn controls and enhancements left out.
    pub withdrawn: usize,
    /// What resolution noticed without refusing.
    pub warnings: Vec<String>,
    /// A new revision of a catalog imported before: what changed against it, and the crosswalk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<RevisionDiff>,
    /// The mappings carried over from the previous revision, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carried: Option<Carried>,
}

/// How an import treats an earlier revision of the same catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevisionOptions {
    /// The earlier revision to compare with; by default the last imported framework with the same
    /// namespace and name (`oscal/<title>`) and another version.
    pub previous: Option<FrameworkId>,
    /// Map each control mapped to the earlier revision to where the crosswalk leads, in the same
    /// transaction as the import.
    pub carry_mappings: bool,
}

/// The mappings carried from one revision to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Carried {
    /// New mappings made.
    pub mapped: usize,
    /// Mappings the organisation has already (an import run again).
    pub already: usize,
    /// Mappings that could not be carried, each with why: none is left pointing nowhere.
    pub not_carried: Vec<NotCarried>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCarried {
    pub control: ControlCode,
    #[serde(rename = "ref")]
    pub requirement: RequirementRef,
    pub reason: String,
}

/// Validates an OSCAL catalog or profile: NIST's schema, then its references. Every violation
/// comes back in the error (`oscal_invalid`), each with its JSON path.
pub fn validate_oscal(path: &Path, limits: &Limits) -> Result<OscalValidation> {
    let file = path.display().to_string();
    let bytes = evident_oscal::read::read_file(path, limits).map_err(app_error)?;
    validate_oscal_bytes(&file, &bytes, limits)
}

/// [`validate_oscal`] for a document's bytes (an upload), named `file` in what it says.
pub fn validate_oscal_bytes(file: &str, bytes: &[u8], limits: &Limits) -> Result<OscalValidation> {
    let file = file.to_owned();
    let document = evident_oscal::validate(&file, bytes, limits).map_err(app_error)?;
    let controls = match &document {
        Document::Catalog(c) => count_controls(&c.catalog),
        Document::SystemSecurityPlan(ssp) => {
            ssp.system_security_plan.control_implementation.implemented_requirements.len()
        }
        Document::ComponentDefinition(cd) => cd.component_definition.implemented_requirements().count(),
        Document::AssessmentPlan(_) | Document::AssessmentResults(_) | Document::PlanOfActionAndMilestones(_) => 0,
        Document::Profile(p) => p
            .profile
            .imports
            .iter()
            .flat_map(|i| i.include_controls.iter().flatten())
            .map(|s| s.with_ids.as_ref().map_or(0, Vec::len))
            .sum(),
    };
    Ok(OscalValidation { file, model: document.model(), controls })
}

/// Resolves an OSCAL profile into a catalog; a catalog resolves to itself.
pub fn resolve_oscal(path: &Path, limits: &Limits) -> Result<Resolved> {
    resolve_file(path, limits).map_err(app_error)
}

fn count_controls(catalog: &evident_oscal::model::Catalog) -> usize {
    fn controls(list: &[evident_oscal::model::Control]) -> usize {
        list.iter().map(|c| 1 + controls(c.controls.as_deref().unwrap_or_default())).sum()
    }
    fn groups(list: &[evident_oscal::model::Group]) -> usize {
        list.iter()
            .map(|g| {
                controls(g.controls.as_deref().unwrap_or_default()) + groups(g.groups.as_deref().unwrap_or_default())
            })
            .sum()
    }
    controls(catalog.controls.as_deref().unwrap_or_default()) + groups(catalog.groups.as_deref().unwrap_or_default())
}

/// An OSCAL failure in the app's codes.
pub fn app_error(error: OscalError) -> AppError {
    let code = match &error {
        OscalError::TooLarge { .. } => Code::FileTooLarge,
        OscalError::Invalid { .. } => Code::OscalInvalid,
        OscalError::Unresolvable { .. } => Code::OscalUnresolvable,
        OscalError::Unreadable { .. }
        | OscalError::TooDeep { .. }
        | OscalError::Syntax { .. }
        | OscalError::NotSupported { .. } => Code::InvalidFile,
    };
    let message = match &error {
        OscalError::Invalid { file, violations } => listed(file, violations),
        other => other.to_string(),
    };
    AppError::new(code, message)
}

/// Every violation, one a line, so the CLI and the API show them all.
fn listed(file: &str, violations: &[Violation]) -> String {
    let mut text = format!("{file}: {} problem(s)", violations.len());
    for violation in violations {
        text.push_str("\n  ");
        text.push_str(&violation.to_string());
    }
    text
}

impl App {
    /// Imports an OSCAL catalog as a framework of the organisation's library, under `id` or one
    /// made from the catalog's title and version (`oscal/<title>:<version>`). A profile is resolved
    /// first (its imports read from its own directory). Importing the same content again changes
    /// nothing; other content under a taken id is refused. All or nothing.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, file = %path.display()))]
    pub async fn import_oscal_catalog(
        &self,
        principal: &Principal,
        path: &Path,
        id: Option<FrameworkId>,
        limits: &Limits,
    ) -> Result<OscalImport> {
        authorize(principal)?;
        let file = path.display().to_string();
        let bytes = evident_oscal::read::read_file(path, limits).map_err(app_error)?;
        let document = evident_oscal::validate(&file, &bytes, limits).map_err(app_error)?;
        let (catalog, resolved_profile, warnings): (CatalogDocument, bool, Vec<String>) = match document {
            Document::Catalog(catalog) => (*catalog, false, Vec::new()),
            Document::Profile(_) => {
                let resolved = resolve_oscal(path, limits)?;
                (resolved.catalog, true, resolved.warnings)
            }
            other => return Err(not_a_catalog(&file, other.model())),
        };
        let report = self.import_catalog(principal, &file, &catalog, id, &RevisionOptions::default()).await?;
        Ok(OscalImport { resolved_profile, warnings, ..report })
    }

    /// [`App::import_oscal_catalog`] comparing with an earlier revision as `options` say, and
    /// carrying the organisation's mappings over if asked.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, file = %path.display()))]
    pub async fn import_oscal_revision(
        &self,
        principal: &Principal,
        path: &Path,
        id: Option<FrameworkId>,
        options: &RevisionOptions,
        limits: &Limits,
    ) -> Result<OscalImport> {
        authorize(principal)?;
        if options.carry_mappings {
            principal.authorize(Permission::MappingWrite)?;
        }
        let file = path.display().to_string();
        let bytes = evident_oscal::read::read_file(path, limits).map_err(app_error)?;
        let (catalog, resolved_profile, warnings) =
            match evident_oscal::validate(&file, &bytes, limits).map_err(app_error)? {
                Document::Catalog(catalog) => (*catalog, false, Vec::new()),
                Document::Profile(_) => {
                    let resolved = resolve_oscal(path, limits)?;
                    (resolved.catalog, true, resolved.warnings)
                }
                other => return Err(not_a_catalog(&file, other.model())),
            };
        let report = self.import_catalog(principal, &file, &catalog, id, options).await?;
        Ok(OscalImport { resolved_profile, warnings, ..report })
    }

    /// Imports an uploaded OSCAL catalog (the web server's path): the bytes of a catalog, not a
    /// profile, whose imports would name files beside it.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, file = %name))]
    pub async fn import_oscal_catalog_bytes(
        &self,
        principal: &Principal,
        name: &str,
        bytes: &[u8],
        id: Option<FrameworkId>,
        limits: &Limits,
    ) -> Result<OscalImport> {
        authorize(principal)?;
        match evident_oscal::validate(name, bytes, limits).map_err(app_error)? {
            Document::Catalog(catalog) => {
                self.import_catalog(principal, name, &catalog, id, &RevisionOptions::default()).await
            }
            Document::Profile(_) => Err(AppError::new(
                Code::InvalidFile,
                format!(
                    "{name}: a profile imports catalogs from files beside it: resolve it first (evident oscal resolve)"
                ),
            )),
            other => Err(not_a_catalog(name, other.model())),
        }
    }

    async fn import_catalog(
        &self,
        principal: &Principal,
        file: &str,
        catalog: &CatalogDocument,
        id: Option<FrameworkId>,
        options: &RevisionOptions,
    ) -> Result<OscalImport> {
        let id = match id {
            Some(id) => id,
            None => default_id(&catalog.catalog).map_err(AppError::invalid)?,
        };
        let converted = to_framework(&catalog.catalog, id)
            .map_err(|v| app_error(OscalError::Invalid { file: file.to_owned(), violations: v }))?;
        let withdrawn = converted.withdrawn;
        let successors = converted.successors;
        let framework = Framework::from_data(converted.data).map_err(|e| {
            AppError::new(Code::OscalInvalid, format!("{file}: the catalog does not make a framework: {e}"))
        })?;
        crate::imports::frameworks::check_namespace(framework.id()).map_err(AppError::invalid)?;
        let library = self.library_for(principal).await?;
        let previous = match &options.previous {
            Some(previous) => {
                let found = library.imported().iter().find(|i| i.framework.id() == previous);
                Some(
                    found
                        .ok_or_else(|| AppError::not_found(Code::FrameworkNotFound, "imported framework", previous))?,
                )
            }
            // The last imported revision of the same catalog: same namespace and name.
            None => library
                .imported()
                .iter()
                .filter(|i| {
                    let (old, new) = (i.framework.id(), framework.id());
                    old != new && old.namespace() == new.namespace() && old.name() == new.name()
                })
                .max_by_key(|i| i.imported_at),
        };
        if options.carry_mappings && previous.is_none() {
            return Err(AppError::new(
                Code::FrameworkNotFound,
                format!("no earlier revision of {} to carry mappings from: name it with --previous", framework.id()),
            ));
        }
        let revision =
            previous.map(|p| evident_oscal::revision::diff(&p.framework.data(), &framework.data(), &successors));
        let import = FrameworkImport {
            id: framework.id().clone(),
            requirements: framework.requirements().len(),
            assessable: framework.leaves().count(),
            created: true,
        };
        let mut changes = Vec::new();
        let created = match library.imported().iter().find(|i| i.framework.id() == framework.id()) {
            Some(existing) if existing.framework == framework => false,
            Some(existing) => {
                return Err(AppError::new(
                    Code::AlreadyExists,
                    format!(
                        "{} was imported on {} by {} with other content; an imported framework never changes: \
                         import the new revision under a new id (--id, e.g. {}:{}-2)",
                        import.id,
                        existing.imported_at.date_naive(),
                        existing.imported_by,
                        import.id.as_str().rsplit_once(':').map_or("", |(n, _)| n),
                        import.id.version(),
                    ),
                ));
            }
            None => true,
        };
        let mut carried = None;
        if options.carry_mappings
            && let Some(revision) = &revision
        {
            let (report, maps) = self.carry(principal, revision, &framework).await?;
            changes.extend(maps.into_iter().map(|m| ControlChange::Map(m).into()));
            carried = Some(report);
        }
        if created {
            changes.insert(0, FrameworkChange::Import(Box::new(framework)).into());
        }
        if !changes.is_empty() {
            self.apply(principal, changes).await?;
        }
        Ok(OscalImport {
            import: FrameworkImport { created, ..import },
            resolved_profile: false,
            withdrawn,
            warnings: Vec::new(),
            revision,
            carried,
        })
    }

    /// The mappings to make on `framework` (the new revision) for those the organisation has on
    /// the previous one, following the crosswalk; and the report of what happens to each.
    async fn carry(
        &self,
        principal: &Principal,
        revision: &RevisionDiff,
        framework: &Framework,
    ) -> Result<(Carried, Vec<Mapping>)> {
        let org = &principal.org.id;
        let (controls, mappings) = tokio::try_join!(self.store.controls(org), self.store.mappings(org))?;
        let active: std::collections::HashMap<&str, &evident_core::Control> =
            controls.iter().filter(|c| c.is_active()).map(|c| (c.code.as_str(), c)).collect();
        let mut report = Carried::default();
        let mut made: Vec<Mapping> = Vec::new();
        for mapping in mappings.iter().filter(|m| m.framework == revision.from) {
            let not_carried = |reason: String| NotCarried {
                control: mapping.control.clone(),
                requirement: mapping.requirement.clone(),
                reason,
            };
            let Some(control) = active.get(mapping.control.as_str()) else {
                report.not_carried.push(not_carried("the control is retired".into()));
                continue;
            };
            principal.authorize_control(Permission::MappingWrite, control.owner.as_ref())?;
            let Some(crossing) = revision.crossing(&mapping.requirement) else {
                report.not_carried.push(not_carried(format!("{} assesses no such requirement", revision.from)));
                continue;
            };
            if crossing.to.is_empty() {
                report.not_carried.push(not_carried(format!(
                    "{} removed it and names no successor: map the control by hand",
                    revision.to
                )));
                continue;
            }
            // Incorporated into another: the control meets a part of that one at most.
            let coverage = match crossing.relation {
                Relation::IncorporatedInto => Coverage::Partial,
                _ => mapping.coverage,
            };
            for target in &crossing.to {
                let exists = mappings.iter().chain(&made).any(|m| {
                    m.control == mapping.control && &m.framework == framework.id() && &m.requirement == target
                });
                if exists {
                    report.already += 1;
                    continue;
                }
                let rationale = format!(
                    "{} (carried over from {} {}: {})",
                    mapping.rationale.trim(),
                    revision.from,
                    mapping.requirement,
                    serde_json::to_value(crossing.relation)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                );
                made.push(Mapping::new(mapping.control.clone(), framework, target, coverage, rationale.trim())?);
                report.mapped += 1;
            }
        }
        Ok((report, made))
    }
}

fn not_a_catalog(file: &str, model: Model) -> AppError {
    AppError::new(
        Code::InvalidFile,
        format!("{file}: an OSCAL {} is no framework: import a catalog or a profile", model.as_str()),
    )
}

/// What an OSCAL export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OscalExport {
    pub kind: &'static str,
    pub framework: FrameworkId,
    pub file: String,
    pub bytes: usize,
    #[serde(flatten)]
    pub counts: ExportCounts,
}

impl App {
    /// The organisation's work on an adopted framework as an OSCAL document (pretty JSON): its
    /// SSP, assessment results or POA&M (which names the SSP at `ssp_href`). The document is
    /// checked against NIST's schema and its own references before it is handed out.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, framework = %framework, kind = kind.as_str()))]
    pub async fn export_oscal(
        &self,
        principal: &Principal,
        kind: ExportKind,
        framework: &FrameworkId,
        ssp_href: &str,
    ) -> Result<(Vec<u8>, ExportCounts)> {
        principal.authorize(Permission::Export)?;
        let library = self.library_for(principal).await?;
        let data = self.org_data(principal, &library).await?;
        let assessed = library.framework(framework)?;
        let Some(adoption) = data.adoptions.iter().find(|a| &a.framework == framework) else {
            return Err(AppError::new(
                Code::FrameworkNotAdopted,
                format!(
                    "{} has not adopted {framework}: adopt it first (evident frameworks adopt {framework})",
                    principal.org.slug
                ),
            ));
        };
        let readiness = data.framework_readiness(assessed);
        let evidence = self
            .store
            .evidence(&principal.org.id, &EvidenceQuery { control: None, superseded: false, limit: None })
            .await?;
        let mappings: Vec<Mapping> = data.mappings.iter().filter(|m| &m.framework == framework).cloned().collect();
        let system = System {
            org_id: principal.org.id.as_str(),
            org_name: &principal.org.name,
            framework: assessed,
            scope: &adoption.scope,
            adopted_at: Some(adoption.adopted_at),
            target_date: adoption.target_date,
            controls: &data.controls,
            mappings: &mappings,
            readiness: &readiness,
            evidence: &evidence,
            now: self.now(),
            tool_version: env!("CARGO_PKG_VERSION"),
        };
        let (document, counts) = export(&system, kind, ssp_href);
        let bytes = serde_json::to_vec_pretty(&document)
            .map_err(|e| AppError::new(Code::Unexpected, format!("cannot write the document as JSON: {e}")))?;
        // Never hand out a file NIST's tools would refuse: a failure here is a bug of evident's.
        let checked = Limits { max_bytes: u64::MAX, ..Limits::default() };
        evident_oscal::validate(kind.as_str(), &bytes, &checked).map_err(|e| {
            AppError::new(Code::Unexpected, format!("the exported {} is not valid OSCAL: {e}", kind.as_str()))
        })?;
        Ok((bytes, counts))
    }

    /// [`App::export_oscal`] written to `out`, atomically: a file already there is replaced whole
    /// or left as it was.
    pub async fn export_oscal_to(
        &self,
        principal: &Principal,
        kind: ExportKind,
        framework: &FrameworkId,
        out: &Path,
        ssp_href: &str,
    ) -> Result<OscalExport> {
        let (bytes, counts) = self.export_oscal(principal, kind, framework, ssp_href).await?;
        crate::type2::write_atomically(out, &bytes)?;
        Ok(OscalExport {
            kind: kind.as_str(),
            framework: framework.clone(),
            file: out.display().to_string(),
            bytes: bytes.len(),
            counts,
        })
    }
}

fn authorize(principal: &Principal) -> Result<()> {
    principal.authorize(Permission::Import)?;
    principal.authorize(Permission::FrameworkAdopt)
}

/// Resolves a profile and writes its catalog (pretty JSON) to `out`, atomically: a file already
/// there is replaced whole or left as it was.
pub fn resolve_oscal_to(path: &Path, out: &Path, limits: &Limits) -> Result<Resolved> {
    let resolved = resolve_oscal(path, limits)?;
    let json = serde_json::to_vec_pretty(&resolved.catalog)
        .map_err(|e| AppError::new(Code::Unexpected, format!("cannot write the catalog as JSON: {e}")))?;
    crate::type2::write_atomically(out, &json)?;
    Ok(resolved)
}
