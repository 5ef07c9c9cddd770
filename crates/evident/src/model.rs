//! An organisation's records, loaded once per command and handed to the core engines.

use std::collections::HashMap;

use evident_core::readiness::{self, FrameworkReadiness, MappingIndex, Readiness, Scope};
use evident_core::risk::Risk;
use evident_core::soa::{self, Decision, SoaRow};
use evident_core::{Control, Framework, FrameworkId, Mapping, RequirementRef};
use evident_store::Adoption;

use crate::context::{Session, catalog, failure};

/// The framework whose Annex A the Statement of Applicability covers.
pub const SOA_FRAMEWORK: &str = "iso27001:2022";

pub struct OrgData {
    pub adoptions: Vec<Adoption>,
    pub controls: Vec<Control>,
    pub mappings: Vec<Mapping>,
    /// SoA decisions per framework.
    pub decisions: HashMap<FrameworkId, HashMap<RequirementRef, Decision>>,
    pub risks: Vec<Risk>,
}

impl OrgData {
    pub async fn load(session: &Session) -> anyhow::Result<OrgData> {
        let org = &session.org.id;
        let adoptions = session.store.adoptions(org).await?;
        let mut decisions = HashMap::new();
        let soa_framework = FrameworkId::parse(SOA_FRAMEWORK)?;
        for framework in adoptions.iter().map(|a| &a.framework).chain([&soa_framework]) {
            let recorded = session.store.soa_decisions(org, framework).await?;
            decisions.insert(framework.clone(), recorded.into_iter().collect());
        }
        Ok(OrgData {
            adoptions,
            controls: session.store.controls(org).await?,
            mappings: session.store.mappings(org).await?,
            decisions,
            risks: session.store.risks(org).await?,
        })
    }

    /// For each requirement of `framework`, the open risks treated by a control mapped to it.
    pub fn risks_by_requirement(&self, framework: &FrameworkId) -> HashMap<RequirementRef, Vec<String>> {
        let mut by_control: HashMap<&evident_core::ControlCode, Vec<&RequirementRef>> = HashMap::new();
        for mapping in self.mappings.iter().filter(|m| &m.framework == framework) {
            by_control.entry(&mapping.control).or_default().push(&mapping.requirement);
        }
        let mut by_requirement: HashMap<RequirementRef, Vec<String>> = HashMap::new();
        for risk in self.risks.iter().filter(|r| !r.closed) {
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

    /// The requirements excluded in the SoA of `framework`, with their justification.
    fn excluded(&self, framework: &FrameworkId) -> HashMap<RequirementRef, String> {
        self.decisions
            .get(framework)
            .map(|d| {
                d.iter().filter(|(_, d)| !d.applicable).map(|(r, d)| (r.clone(), d.justification.clone())).collect()
            })
            .unwrap_or_default()
    }

    /// The categories in scope: as adopted, or the mandatory ones for a framework not adopted.
    fn categories(&self, framework: &Framework) -> Vec<String> {
        match self.adoptions.iter().find(|a| &a.framework == framework.id()) {
            Some(adoption) => adoption.categories.clone(),
            None => framework.info().categories.iter().filter(|c| c.mandatory).map(|c| c.id.clone()).collect(),
        }
    }

    /// Readiness of every adopted framework, or only of `only`.
    pub fn readiness(&self, only: Option<&Framework>) -> anyhow::Result<Readiness> {
        let frameworks: Vec<&Framework> = match only {
            Some(framework) => vec![framework],
            None => self
                .adoptions
                .iter()
                .map(|a| {
                    catalog()?.framework(&a.framework).ok_or_else(|| {
                        failure(
                            format!("adopted framework {} is not in this version's library", a.framework),
                            "upgrade evident",
                        )
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };
        if frameworks.is_empty() {
            return Err(failure(
                "the organisation has adopted no framework yet",
                "run `evident frameworks adopt iso27001:2022`",
            ));
        }
        let categories: Vec<Vec<String>> = frameworks.iter().map(|f| self.categories(f)).collect();
        let excluded: Vec<HashMap<RequirementRef, String>> = frameworks.iter().map(|f| self.excluded(f.id())).collect();
        let scopes: Vec<Scope<'_>> = frameworks
            .iter()
            .zip(&categories)
            .zip(&excluded)
            .map(|((framework, categories), excluded)| Scope { framework, categories, excluded })
            .collect();
        Ok(readiness::readiness(&scopes, &self.controls, &self.mappings))
    }

    /// One framework's readiness, adopted or not.
    pub fn framework_readiness(&self, framework: &Framework) -> FrameworkReadiness {
        let categories = self.categories(framework);
        let excluded = self.excluded(framework.id());
        let index = MappingIndex::new(&self.controls, &self.mappings);
        readiness::framework_readiness(Scope { framework, categories: &categories, excluded: &excluded }, &index)
    }

    /// The current (draft) Statement of Applicability.
    pub fn soa(&self, framework: &Framework) -> Vec<SoaRow> {
        let statuses = self.framework_readiness(framework).requirements;
        let decisions = self.decisions.get(framework.id()).cloned().unwrap_or_default();
        soa::build(framework, &decisions, &statuses, &self.risks_by_requirement(framework.id()))
    }
}
