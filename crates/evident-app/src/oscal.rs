//! OSCAL documents: validating one, resolving a profile, and importing a catalog (or a resolved
//! profile) into the organisation's library as a framework.
//!
//! Validating and resolving read the user's files and nothing of any organisation, so they take no
//! principal; importing writes the library and checks the importer's permissions inside.

use std::path::Path;

use evident_core::{Framework, FrameworkId};
pub use evident_oscal::Limits;
use evident_oscal::framework::{default_id, to_framework};
use evident_oscal::model::CatalogDocument;
use evident_oscal::resolve::{Resolved, resolve_file};
use evident_oscal::{Document, Model, OscalError, Violation};
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
    /// Controls in a catalog (nested ones included); controls a profile selects by id.
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
}

/// Validates an OSCAL catalog or profile: NIST's schema, then its references. Every violation
/// comes back in the error (`oscal_invalid`), each with its JSON path.
pub fn validate_oscal(path: &Path, limits: &Limits) -> Result<OscalValidation> {
    let file = path.display().to_string();
    let bytes = evident_oscal::read::read_file(path, limits).map_err(app_error)?;
    let document = evident_oscal::validate(&file, &bytes, limits).map_err(app_error)?;
    let controls = match &document {
        Document::Catalog(c) => count_controls(&c.catalog),
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
    let mut text = format!("{file}: {} problem(s); nothing was imported", violations.len());
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
        };
        let report = self.import_catalog(principal, &file, &catalog, id).await?;
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
            Document::Catalog(catalog) => self.import_catalog(principal, name, &catalog, id).await,
            Document::Profile(_) => Err(AppError::new(
                Code::InvalidFile,
                format!(
                    "{name}: a profile imports catalogs from files beside it: resolve it first (evident oscal resolve)"
                ),
            )),
        }
    }

    async fn import_catalog(
        &self,
        principal: &Principal,
        file: &str,
        catalog: &CatalogDocument,
        id: Option<FrameworkId>,
    ) -> Result<OscalImport> {
        let id = match id {
            Some(id) => id,
            None => default_id(&catalog.catalog).map_err(AppError::invalid)?,
        };
        let converted = to_framework(&catalog.catalog, id)
            .map_err(|v| app_error(OscalError::Invalid { file: file.to_owned(), violations: v }))?;
        let withdrawn = converted.withdrawn;
        let framework = Framework::from_data(converted.data).map_err(|e| {
            AppError::new(Code::OscalInvalid, format!("{file}: the catalog does not make a framework: {e}"))
        })?;
        let import = self.import_framework(principal, framework).await?;
        Ok(OscalImport { import, resolved_profile: false, withdrawn, warnings: Vec::new() })
    }
}

fn authorize(principal: &Principal) -> Result<()> {
    principal.authorize(evident_core::Permission::Import)?;
    principal.authorize(evident_core::Permission::FrameworkAdopt)
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
