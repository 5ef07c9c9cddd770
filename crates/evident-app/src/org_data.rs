//! An organisation's records, loaded once per use case and handed to the core engines.

use std::collections::HashMap;

use chrono::NaiveDate;
use evident_core::evidence::LatestEvidence;
use evident_core::freshness::{self, ControlEvidence, Freshness, FreshnessPolicy, Latest};
use evident_core::readiness::{self, FrameworkReadiness, MappingIndex, Readiness, ReadinessInput, Scope};
use evident_core::risk::Risk;
use evident_core::soa::{self, Decision, SoaRow};
use evident_core::{Adoption, Control, Framework, FrameworkId, Mapping, OrgId, RequirementRef};
use evident_store::Store;

use crate::error::{AppError, Code, Result};
use crate::library::Library;

#[derive(Debug)]
pub struct OrgData {
    pub adoptions: Vec<Adoption>,
    pub controls: Vec<Control>,
    pub mappings: Vec<Mapping>,
    /// SoA decisions per framework.
    pub decisions: HashMap<FrameworkId, HashMap<RequirementRef, Decision>>,
    pub risks: Vec<Risk>,
    /// The newest current evidence of each control that has any.
    pub latest: Vec<LatestEvidence>,
    /// The active controls' evidence freshness on the day the data was loaded for: an implemented
    /// control whose evidence is overdue counts as partial in readiness.
    pub freshness: Freshness,
}

impl OrgData {
    /// Loads what the engines need, with freshness as of `today`.
    #[tracing::instrument(skip_all)]
    pub async fn load(store: &dyn Store, library: &Library, org: &OrgId, today: NaiveDate) -> Result<OrgData> {
        // The reads are independent: run them at once (SQLite has a pool of readers, PostgreSQL
        // a pool of connections), so the largest, the mappings, sets the time.
        let soa_frameworks: Vec<FrameworkId> = library.soa_frameworks().map(|f| f.id().clone()).collect();
        let decisions = async {
            let adoptions = store.adoptions(org).await?;
            let mut decisions = HashMap::new();
            let mut frameworks: Vec<&FrameworkId> = adoptions.iter().map(|a| &a.framework).collect();
            frameworks.extend(soa_frameworks.iter().filter(|f| !frameworks.contains(f)).collect::<Vec<_>>());
            for framework in frameworks {
                let recorded = store.soa_decisions(org, framework).await?;
                decisions.insert(framework.clone(), recorded.into_iter().collect());
            }
            Ok::<_, evident_store::StoreError>((adoptions, decisions))
        };
        let ((adoptions, decisions), controls, mappings, risks, latest) = tokio::try_join!(
            decisions,
            store.controls(org),
            store.mappings(org),
            store.risks(org),
            store.latest_evidence(org)
        )?;
        let freshness = freshness::freshness(&FreshnessPolicy::default(), today, &evidence_summary(&controls, &latest))
            .map_err(|e| AppError::invalid(e.to_string()))?;
        Ok(OrgData { adoptions, controls, mappings, decisions, risks, latest, freshness })
    }

    /// Each active control's freshness on `today` under `policy`, and its evidence summary.
    pub fn freshness_on(
        &self,
        policy: &FreshnessPolicy,
        today: NaiveDate,
    ) -> Result<(Freshness, Vec<ControlEvidence>)> {
        let summary = evidence_summary(&self.controls, &self.latest);
        let freshness = freshness::freshness(policy, today, &summary).map_err(|e| AppError::invalid(e.to_string()))?;
        Ok((freshness, summary))
    }
}

/// What freshness needs of each active control: its frequency and its newest current evidence.
pub fn evidence_summary(controls: &[Control], latest: &[LatestEvidence]) -> Vec<ControlEvidence> {
    let by_control: HashMap<_, _> = latest.iter().map(|l| (&l.control, l)).collect();
    controls
        .iter()
        .filter(|c| c.is_active())
        .map(|c| ControlEvidence {
            control: c.id.clone(),
            code: c.code.clone(),
            frequency: c.frequency,
            max_age: c.max_evidence_age_days,
            latest: by_control
                .get(&c.id)
                .map(|l| Latest { evidence: Some(l.evidence.clone()), effective: l.effective }),
        })
        .collect()
}

impl OrgData {
    /// For each requirement of `framework`, the open risks treated by a control mapped to it.
    pub fn risks_by_requirement(&self, framework: &FrameworkId) -> HashMap<RequirementRef, Vec<String>> {
        soa::risks_by_requirement(framework, &self.mappings, &self.risks)
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

    /// Readiness of every adopted framework, or only of `only`, with the mappings that point at a
    /// requirement `library` (built-in and the organisation's own frameworks) no longer has.
    pub fn readiness(&self, library: &Library, only: Option<&Framework>) -> Result<Readiness> {
        let frameworks: Vec<&Framework> = match only {
            Some(framework) => vec![framework],
            None => self.adoptions.iter().map(|a| library.framework(&a.framework)).collect::<Result<_>>()?,
        };
        if frameworks.is_empty() {
            return Err(AppError::new(Code::FrameworkNotAdopted, "the organisation has adopted no framework yet"));
        }
        let categories: Vec<Vec<String>> = frameworks.iter().map(|f| self.categories(f)).collect();
        let excluded: Vec<HashMap<RequirementRef, String>> = frameworks.iter().map(|f| self.excluded(f.id())).collect();
        let scopes: Vec<Scope<'_>> = frameworks
            .iter()
            .zip(&categories)
            .zip(&excluded)
            .map(|((framework, categories), excluded)| Scope { framework, categories, excluded })
            .collect();
        let all: Vec<&Framework> = library.frameworks().collect();
        let input = ReadinessInput {
            scopes: &scopes,
            controls: &self.controls,
            mappings: &self.mappings,
            freshness: &self.freshness,
        };
        Ok(readiness::readiness(&input).with_stale_mappings(&all, &self.mappings, only.is_none()))
    }

    /// One framework's readiness, adopted or not.
    pub fn framework_readiness(&self, framework: &Framework) -> FrameworkReadiness {
        let categories = self.categories(framework);
        let excluded = self.excluded(framework.id());
        let index = MappingIndex::new(&self.controls, &self.mappings).with_freshness(&self.freshness);
        readiness::framework_readiness(Scope { framework, categories: &categories, excluded: &excluded }, &index)
    }

    /// The current (draft) Statement of Applicability.
    pub fn soa(&self, framework: &Framework) -> Vec<SoaRow> {
        let statuses = self.framework_readiness(framework).requirements;
        let decisions = self.decisions.get(framework.id()).cloned().unwrap_or_default();
        soa::build(framework, &decisions, &statuses, &self.risks_by_requirement(framework.id()))
    }

    /// The SoA exclusion rule over the data as it would be: no excluded Annex A control treats an open risk.
    pub fn check_exclusions(&self, framework: &FrameworkId) -> Result<()> {
        let decisions = self.decisions.get(framework).cloned().unwrap_or_default();
        soa::check_exclusions(&decisions, &self.risks_by_requirement(framework)).map_err(AppError::rule)
    }
}
