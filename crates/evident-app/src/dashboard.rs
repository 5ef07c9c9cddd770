//! The dashboard: what a compliance lead looks at first, and on every page view: readiness per
//! framework, where the evidence stands, what in the risk register is due. Small (a few hundred
//! bytes, where the readiness drill-down of a large organisation is megabytes), and served from
//! the store while nothing it is computed from has changed ([`crate::derived`]).

use chrono::NaiveDate;
use evident_core::freshness::State;
use evident_core::readiness::{GroupScore, Score};
use evident_core::{FrameworkId, Permission};
use serde::Serialize;

use crate::derived::Reuse;
use crate::error::Result;
use crate::{App, Principal};

/// The organisation at a glance, on a day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    /// The day it holds for: freshness and what is due depend on it.
    pub on: NaiveDate,
    pub overall: Score,
    /// Each adopted framework's score (the drill-down is `readiness`).
    pub frameworks: Vec<FrameworkScore>,
    /// How many active controls stand where.
    pub freshness: FreshnessCounts,
    /// Risk register items due on the day: reviews, acceptances expired or missing, planned
    /// controls late.
    pub risks_due: usize,
    /// Mappings to requirements the library no longer assesses: they count nowhere.
    pub stale_mappings: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkScore {
    pub framework: FrameworkId,
    #[serde(flatten)]
    pub score: Score,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FreshnessCounts {
    pub fresh: usize,
    pub due_soon: usize,
    pub overdue: usize,
    pub never_evidenced: usize,
}

/// Readiness without its drill-down: each adopted framework's score with its top-level groups
/// (and SOC 2 categories), not each requirement. A few kilobytes, where the whole answer of a
/// large organisation is megabytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadinessSummary {
    pub overall: Score,
    pub frameworks: Vec<FrameworkSummary>,
    /// How many mappings point at requirements the library no longer assesses.
    pub stale_mappings: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkSummary {
    pub framework: FrameworkId,
    #[serde(flatten)]
    pub score: Score,
    pub groups: Vec<GroupScore>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<GroupScore>,
}

impl App {
    /// Readiness per adopted framework, without the drill-down (`readiness` has it).
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn readiness_summary(&self, principal: &Principal) -> Result<ReadinessSummary> {
        let readiness = self.readiness(principal, None).await?;
        Ok(ReadinessSummary {
            overall: readiness.overall,
            frameworks: readiness
                .frameworks
                .into_iter()
                .map(|f| FrameworkSummary {
                    framework: f.framework,
                    score: f.score,
                    groups: f.groups,
                    categories: f.categories,
                })
                .collect(),
            stale_mappings: readiness.stale_mappings.len(),
        })
    }

    /// [`App::readiness_summary`] as JSON, served from the store while nothing it depends on has
    /// changed.
    pub async fn readiness_summary_json(&self, principal: &Principal, reuse: Reuse) -> Result<String> {
        self.derived(principal, Permission::Read, ("readiness summary", reuse), self.readiness_summary(principal)).await
    }

    /// The organisation at a glance today.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn dashboard(&self, principal: &Principal) -> Result<Dashboard> {
        principal.authorize(Permission::Read)?;
        let library = self.library_for(principal).await?;
        let data = self.org_data_shared(principal, &library).await?;
        // An organisation that has adopted nothing yet has a dashboard too: an empty one.
        let readiness = match data.readiness(&library, None) {
            Ok(readiness) => readiness,
            Err(e) if e.code == crate::Code::FrameworkNotAdopted => evident_core::readiness::Readiness {
                overall: Score::default(),
                frameworks: Vec::new(),
                stale_mappings: Vec::new(),
            },
            Err(e) => return Err(e),
        };
        let on = self.now().date_naive();
        // The risks are in `data` already; only the methodologies they were assessed with are not.
        let methodologies = self.store.methodologies(&principal.org.id).await?;
        let due = crate::risks::due_items(&data.risks, &methodologies, on);
        let counts = data.freshness.counts();
        let count = |state| counts.get(&state).copied().unwrap_or(0);
        Ok(Dashboard {
            on,
            overall: readiness.overall,
            frameworks: readiness
                .frameworks
                .into_iter()
                .map(|f| FrameworkScore { framework: f.framework, score: f.score })
                .collect(),
            freshness: FreshnessCounts {
                fresh: count(State::Fresh),
                due_soon: count(State::DueSoon),
                overdue: count(State::Overdue),
                never_evidenced: count(State::NeverEvidenced),
            },
            risks_due: due.len(),
            stale_mappings: readiness.stale_mappings.len(),
        })
    }

    /// [`App::dashboard`] as JSON, served from the store while nothing it depends on has changed.
    pub async fn dashboard_json(&self, principal: &Principal, reuse: Reuse) -> Result<String> {
        self.derived(principal, Permission::Read, ("dashboard", reuse), self.dashboard(principal)).await
    }
}
