//! The framework library: the built-in catalog (frameworks, crosswalks, baseline controls) and the
//! frameworks an organisation imported itself, looked up in one place.

use std::sync::Arc;

use evident_catalog::Catalog;
use evident_core::{Crosswalk, Framework, FrameworkId, Requirement, RequirementRef};
use evident_store::ImportedFramework;
use serde::Serialize;

use crate::error::{AppError, Code, Result};

/// Where a framework of the library comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The catalog embedded in the binary.
    Builtin,
    /// An organisation's own framework, kept in the store.
    Imported,
}

/// The built-in catalog, joined by the frameworks one organisation imported. `App::library_for`
/// builds the one a use case works with; `Library::embedded` is the catalog alone, for what needs
/// no organisation. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Library {
    catalog: &'static Catalog,
    /// The organisation's own frameworks, by id; their ids carry a namespace, so none can take
    /// a built-in one's place.
    imported: Arc<[ImportedFramework]>,
}

impl Library {
    pub fn embedded() -> Result<Library> {
        Ok(Library { catalog: Catalog::embedded()?, imported: Arc::new([]) })
    }

    /// This library with an organisation's imported frameworks.
    pub fn with_imported(&self, imported: Vec<ImportedFramework>) -> Library {
        Library { catalog: self.catalog, imported: imported.into() }
    }

    pub fn catalog(&self) -> &'static Catalog {
        self.catalog
    }

    /// Every framework: the built-in ones by id, then the imported ones by id.
    pub fn frameworks(&self) -> impl Iterator<Item = &Framework> {
        self.catalog.frameworks().chain(self.imported.iter().map(|i| &i.framework))
    }

    /// Every framework with where it comes from.
    pub fn sourced(&self) -> impl Iterator<Item = (&Framework, Source)> {
        let builtin = self.catalog.frameworks().map(|f| (f, Source::Builtin));
        builtin.chain(self.imported.iter().map(|i| (&i.framework, Source::Imported)))
    }

    /// The organisation's imported frameworks, with who imported them and when.
    pub fn imported(&self) -> &[ImportedFramework] {
        &self.imported
    }

    pub fn framework(&self, id: &FrameworkId) -> Result<&Framework> {
        let imported = || self.imported.iter().map(|i| &i.framework).find(|f| f.id() == id);
        self.catalog.framework(id).or_else(imported).ok_or_else(|| {
            let hint =
                if id.namespace().is_some() { " (imported frameworks belong to their organisation)" } else { "" };
            AppError::new(Code::FrameworkNotFound, format!("unknown framework {id}{hint}"))
        })
    }

    pub fn source(&self, id: &FrameworkId) -> Option<Source> {
        if self.catalog.framework(id).is_some() {
            Some(Source::Builtin)
        } else {
            self.imported.iter().any(|i| i.framework.id() == id).then_some(Source::Imported)
        }
    }

    /// An assessable requirement of a framework, the target a mapping may have.
    pub fn assessable(&self, framework: &FrameworkId, reference: &RequirementRef) -> Result<&Requirement> {
        Ok(self.framework(framework)?.assessable(reference)?)
    }

    /// The crosswalk from one framework to another. evident ships crosswalks between built-in
    /// frameworks only: an imported framework has none, and the error says so.
    pub fn crosswalk(&self, from: &FrameworkId, to: &FrameworkId) -> Result<Crosswalk> {
        if let Some(imported) = [from, to].into_iter().find(|id| self.source(id) == Some(Source::Imported)) {
            return Err(AppError::new(
                Code::CrosswalkNotFound,
                format!(
                    "there is no crosswalk from {from} to {to}: {imported} is an imported framework, and crosswalks \
                     link built-in frameworks only; map your controls to it directly (its missing requirements are \
                     in `evident readiness --framework {imported}`)"
                ),
            ));
        }
        self.catalog.crosswalk(from, to).ok_or_else(|| {
            let shipped: Vec<_> = self.catalog.crosswalks().iter().map(|c| format!("{} ↔ {}", c.from, c.to)).collect();
            AppError::new(
                Code::CrosswalkNotFound,
                format!("there is no crosswalk from {from} to {to} (shipped: {})", shipped.join("; ")),
            )
        })
    }

    /// The framework whose Statement of Applicability the SoA commands keep when none is named:
    /// ISO/IEC 27001:2022.
    pub fn soa_framework(&self) -> Result<&Framework> {
        self.soa_framework_of(None)
    }

    /// The framework `id` names, which must carry a Statement of Applicability (its data says which
    /// requirements are the rows: ISO 27001's Annex A, ISO 42001's Annex A, an imported one's own).
    pub fn soa_framework_of(&self, id: Option<&FrameworkId>) -> Result<&Framework> {
        let framework = match id {
            Some(id) => self.framework(id)?,
            None => self.framework(&FrameworkId::parse(DEFAULT_SOA_FRAMEWORK)?)?,
        };
        if !framework.has_soa() {
            let with: Vec<_> = self.soa_frameworks().map(|f| f.id().to_string()).collect();
            return Err(AppError::invalid(format!(
                "{} has no Statement of Applicability (frameworks that have one: {})",
                framework.id(),
                with.join(", ")
            )));
        }
        Ok(framework)
    }

    /// Every framework of the library whose data carries a Statement of Applicability.
    pub fn soa_frameworks(&self) -> impl Iterator<Item = &Framework> {
        self.frameworks().filter(|f| f.has_soa())
    }
}

/// The Statement of Applicability the SoA commands keep when no framework is named.
pub const DEFAULT_SOA_FRAMEWORK: &str = "iso27001:2022";
