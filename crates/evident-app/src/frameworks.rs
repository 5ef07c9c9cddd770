//! The framework library, adoption, readiness, the gap delta and crosswalks.

use std::sync::Arc;

use chrono::NaiveDate;
use evident_core::gap::Gap;
use evident_core::readiness::{MappingIndex, Readiness};
use evident_core::{Adoption, Framework, FrameworkId, Permission, RequirementRef};
use evident_store::{ControlChange, FrameworkChange};
use serde::Serialize;

use crate::derived::Reuse;
use crate::error::{AppError, Code, Result};
use crate::library::{Library, Source};
use crate::org_data::OrgData;
use crate::{App, Principal};

/// One framework of the library, as `frameworks list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FrameworkListing {
    pub id: FrameworkId,
    pub name: String,
    pub version: String,
    pub title: String,
    pub requirements: usize,
    pub assessable: usize,
    /// Guidance under the assessable requirements (SOC 2's points of focus), and its kind.
    #[serde(skip_serializing_if = "is_zero")]
    pub guidance: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guidance_kind: Option<String>,
    /// `builtin` (the catalog in the binary) or `imported` (the organisation's own).
    pub source: Source,
    /// Whether the organisation adopted it; absent when there is no organisation to ask.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
}

/// What accepting gap suggestions did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Accepted {
    pub mappings: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The library's frameworks, marked with what was adopted when that is known.
pub fn listing(library: &Library, adopted: Option<&[FrameworkId]>) -> Vec<FrameworkListing> {
    library
        .sourced()
        .map(|(f, source)| FrameworkListing {
            id: f.id().clone(),
            name: f.info().name.clone(),
            version: f.info().version.clone(),
            title: f.info().title.clone(),
            requirements: f.requirements().len(),
            assessable: f.leaves().count(),
            guidance: f.requirements().iter().filter(|r| f.is_guidance(&r.reference)).count(),
            guidance_kind: f.info().guidance.as_ref().map(|g| g.kind.to_string()),
            source,
            adopted: adopted.map(|a| a.contains(f.id())),
        })
        .collect()
}

impl App {
    /// The library (with the organisation's own frameworks), marked with what it adopted.
    pub async fn frameworks(&self, principal: Option<&Principal>) -> Result<Vec<FrameworkListing>> {
        match principal {
            Some(principal) => {
                let library = self.library_for(principal).await?;
                let adoptions = self.store.adoptions(&principal.org.id).await?;
                let adopted: Vec<_> = adoptions.into_iter().map(|a| a.framework).collect();
                Ok(listing(&library, Some(&adopted)))
            }
            None => Ok(listing(&self.library, None)),
        }
    }

    /// A framework of the library, with every requirement: a built-in one, or (given the
    /// principal) one its organisation imported.
    pub async fn framework(&self, principal: Option<&Principal>, id: &FrameworkId) -> Result<Framework> {
        match principal {
            Some(principal) => Ok(self.library_for(principal).await?.framework(id)?.clone()),
            None => Ok(self.library.framework(id)?.clone()),
        }
    }

    /// Adopts a framework for a scope: mandatory categories are always in, unknown ones refused.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, framework = %framework))]
    pub async fn adopt(
        &self,
        principal: &Principal,
        framework: &FrameworkId,
        categories: &[String],
        scope: String,
        target: Option<NaiveDate>,
    ) -> Result<Adoption> {
        principal.authorize(Permission::FrameworkAdopt)?;
        let library = self.library_for(principal).await?;
        let framework = library.framework(framework)?;
        let adoption =
            Adoption::new(framework, categories, scope, target, self.now()).map_err(AppError::invalid_from)?;
        self.apply(principal, vec![FrameworkChange::Adopt(adoption.clone()).into()]).await?;
        Ok(adoption)
    }

    /// Loads the organisation's records for the engines, with the library the caller already has
    /// for this principal (`library_for`), so the imported frameworks are read once.
    pub async fn org_data(&self, principal: &Principal, library: &Library) -> Result<OrgData> {
        principal.authorize(Permission::Read)?;
        OrgData::load(self.store.as_ref(), library, &principal.org.id, self.now().date_naive()).await
    }

    /// [`App::org_data`] for a read: a remembering application loads it once per change of the
    /// records (and per day) and shares it between reads ([`App::remembered`]).
    pub(crate) async fn org_data_shared(&self, principal: &Principal, library: &Library) -> Result<Arc<OrgData>> {
        self.remembered(principal, Permission::Read, "records", async {
            Ok(Arc::new(self.org_data(principal, library).await?))
        })
        .await
    }

    /// Readiness of every adopted framework, or the drill-down of one.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn readiness(&self, principal: &Principal, only: Option<&FrameworkId>) -> Result<Readiness> {
        let what = format!("readiness {only:?}");
        self.remembered(principal, Permission::Read, &what, self.readiness_of(principal, only)).await
    }

    async fn readiness_of(&self, principal: &Principal, only: Option<&FrameworkId>) -> Result<Readiness> {
        let library = self.library_for(principal).await?;
        let data = self.org_data_shared(principal, &library).await?;
        let only = only.map(|id| library.framework(id)).transpose()?;
        data.readiness(&library, only)
    }

    /// [`App::readiness`] as JSON, served from the store while nothing it depends
    /// on has changed ([`crate::derived`]).
    pub async fn readiness_json(
        &self,
        principal: &Principal,
        only: Option<&FrameworkId>,
        reuse: Reuse,
    ) -> Result<String> {
        let name = match only {
            Some(framework) => format!("readiness {framework}"),
            None => "readiness".to_owned(),
        };
        self.derived(principal, Permission::Read, (&name, reuse), self.readiness(principal, only)).await
    }

    /// What `to` adds to what the organisation has for `from`, and which controls reach it.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn gap(&self, principal: &Principal, from: &FrameworkId, to: &FrameworkId) -> Result<Gap> {
        let library = self.library_for(principal).await?;
        let data = self.org_data_shared(principal, &library).await?;
        gap_of(&library, &data, from, to)
    }

    /// Accepts the suggestions for the target requirements named (or all): maps the suggested
    /// controls, each mapping carrying its crosswalk path. A control owner accepts only the
    /// suggestions for the controls they own.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn accept_gap(
        &self,
        principal: &Principal,
        from: &FrameworkId,
        to: &FrameworkId,
        only: Option<&[RequirementRef]>,
    ) -> Result<Accepted> {
        principal.authorize(Permission::MappingWrite)?;
        let library = self.library_for(principal).await?;
        let data = self.org_data(principal, &library).await?;
        let gap = gap_of(&library, &data, from, to)?;
        let target = library.framework(to)?;
        let chosen: Vec<_> = match only {
            None => gap.uncovered.iter().collect(),
            Some(references) => {
                let mut chosen = Vec::new();
                for reference in references {
                    target.assessable(reference)?;
                    let item = gap
                        .uncovered
                        .iter()
                        .find(|i| &i.reference == reference && !i.suggestions.is_empty())
                        .ok_or_else(|| {
                            AppError::new(Code::NothingToChange, format!("{reference} has no suggestion to accept"))
                        })?;
                    chosen.push(item);
                }
                chosen
            }
        };
        let owners: std::collections::HashMap<_, _> =
            data.controls.iter().map(|c| (&c.code, c.owner.as_ref())).collect();
        let mut changes = Vec::new();
        for item in chosen {
            for suggestion in &item.suggestions {
                let owner = owners.get(&suggestion.control).copied().flatten();
                principal.authorize_control(Permission::MappingWrite, owner)?;
                changes.push(ControlChange::Map(suggestion.to_mapping(from, to, &item.reference)).into());
            }
        }
        let accepted = Accepted { mappings: changes.len() };
        self.apply(principal, changes).await?;
        Ok(accepted)
    }
}

/// The gap from `from` to `to` over the organisation's data, through the crosswalk between them.
fn gap_of(library: &Library, data: &OrgData, from: &FrameworkId, to: &FrameworkId) -> Result<Gap> {
    let from = library.framework(from)?;
    let target = library.framework(to)?;
    let crosswalk = library.crosswalk(from.id(), target.id())?;
    let statuses = data.framework_readiness(target).requirements;
    let index = MappingIndex::new(&data.controls, &data.mappings);
    Ok(evident_core::gap::gap_between(Some(from), from.id(), target, &statuses, &crosswalk.links, &index))
}
