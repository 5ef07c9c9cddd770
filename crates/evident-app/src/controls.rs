//! The organisation's own controls and their mappings.

use std::collections::HashSet;

use evident_core::{
    Control, ControlCode, ControlPatch, Coverage, Email, FrameworkId, ImplementationStatus, Mapping, NewControl,
    Permission, RequirementRef,
};
use evident_store::{Change, ControlChange};
use serde::Serialize;

use crate::derived::Reuse;
use crate::error::{AppError, Code, Result};
use crate::{App, Principal};

/// A control with its mappings, as lists and detail pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct ControlView {
    #[serde(flatten)]
    pub control: Control,
    pub mappings: Vec<Mapping>,
}

/// What adopting the baseline library did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BaselineReport {
    pub adopted: usize,
    pub skipped: usize,
}

impl App {
    pub(crate) async fn apply(&self, principal: &Principal, changes: Vec<Change>) -> Result<()> {
        self.applied(principal, changes).await.map(drop)
    }

    /// Writes `changes` as `principal`, saying what each one did.
    pub(crate) async fn applied(
        &self,
        principal: &Principal,
        changes: Vec<Change>,
    ) -> Result<Vec<evident_store::Applied>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.apply(&principal.actor(self.now()), changes).await?)
    }

    /// Checks that `email` belongs to a member of the principal's organisation (owners, assignees).
    pub(crate) async fn ensure_member(&self, principal: &Principal, email: &Email) -> Result<()> {
        match self.store.member(&principal.org.id, email).await? {
            Some(_) => Ok(()),
            None => Err(AppError::new(Code::NotAMember, format!("{email} is not a member of {}", principal.org.slug))),
        }
    }

    pub(crate) async fn members_set(&self, principal: &Principal) -> Result<HashSet<Email>> {
        Ok(self.store.members(&principal.org.id).await?.into_iter().map(|m| m.email).collect())
    }

    async fn existing_control(&self, principal: &Principal, code: &ControlCode) -> Result<Control> {
        self.store
            .control(&principal.org.id, code)
            .await?
            .ok_or_else(|| AppError::not_found(Code::ControlNotFound, "control", code))
    }

    /// Controls with their mappings, active ones only unless `all`.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug))]
    pub async fn controls(&self, principal: &Principal, all: bool) -> Result<Vec<ControlView>> {
        principal.authorize(Permission::Read)?;
        let controls = self.store.controls(&principal.org.id).await?;
        let mappings = self.store.mappings(&principal.org.id).await?;
        let mut by_control: std::collections::HashMap<&ControlCode, Vec<Mapping>> = std::collections::HashMap::new();
        for mapping in &mappings {
            by_control.entry(&mapping.control).or_default().push(mapping.clone());
        }
        Ok(controls
            .iter()
            .filter(|c| all || c.is_active())
            .map(|c| ControlView { control: c.clone(), mappings: by_control.remove(&c.code).unwrap_or_default() })
            .collect())
    }

    /// [`App::controls`] as JSON, served from the store while nothing it depends on
    /// has changed ([`crate::derived`]).
    pub async fn controls_json(&self, principal: &Principal, all: bool, reuse: Reuse) -> Result<String> {
        let name = if all { "controls all" } else { "controls" };
        self.derived(principal, Permission::Read, (name, reuse), self.controls(principal, all)).await
    }

    pub async fn control(&self, principal: &Principal, code: &ControlCode) -> Result<ControlView> {
        principal.authorize(Permission::Read)?;
        let control = self.existing_control(principal, code).await?;
        let mappings =
            self.store.mappings(&principal.org.id).await?.into_iter().filter(|m| &m.control == code).collect();
        Ok(ControlView { control, mappings })
    }

    /// Creates a control (`NewControl::new` checks its fields); its owner must be a member.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, code = %control.code))]
    pub async fn create_control(&self, principal: &Principal, control: NewControl) -> Result<NewControl> {
        principal.authorize(Permission::ControlManage)?;
        if let Some(owner) = &control.owner {
            self.ensure_member(principal, owner).await?;
        }
        self.apply(principal, vec![ControlChange::Create(control.clone()).into()]).await?;
        Ok(control)
    }

    /// Changes what differs in `patch`; a control owner may edit only the controls they own.
    /// The edit is based on `revision` (the one the user saw), or on the one read now: either way
    /// a concurrent edit in between is refused with `conflict`, never overwritten.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, code = %code))]
    pub async fn edit_control(
        &self,
        principal: &Principal,
        code: &ControlCode,
        patch: ControlPatch,
        revision: Option<i64>,
    ) -> Result<ControlPatch> {
        principal.authorize(Permission::ControlEdit)?;
        if patch.is_empty() {
            return Err(AppError::new(Code::NothingToChange, "nothing to change"));
        }
        let current = self.existing_control(principal, code).await?;
        principal.authorize_control(Permission::ControlEdit, current.owner.as_ref())?;
        if let Some(Some(owner)) = &patch.owner {
            self.ensure_member(principal, owner).await?;
        }
        let expected = revision.unwrap_or(current.revision);
        if expected != current.revision {
            return Err(AppError::new(
                Code::Conflict,
                format!(
                    "control {code} was changed by someone else since revision {expected} (it is at revision {})",
                    current.revision
                ),
            ));
        }
        let patch = patch.against(&current)?;
        if patch.is_empty() {
            return Ok(patch);
        }
        let change =
            ControlChange::Update { code: code.clone(), patch: patch.clone(), expected_revision: Some(expected) };
        self.apply(principal, vec![change.into()]).await?;
        Ok(patch)
    }

    /// Gives a control a new code; its id, mappings and risk links follow. Codes are unique
    /// without regard to case.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, code = %code))]
    pub async fn rename_control(&self, principal: &Principal, code: &ControlCode, to: &ControlCode) -> Result<Control> {
        principal.authorize(Permission::ControlManage)?;
        if code == to {
            return Err(AppError::new(Code::NothingToChange, format!("{code} is already called {to}")));
        }
        self.existing_control(principal, code).await?;
        self.apply(principal, vec![ControlChange::Rename { code: code.clone(), to: to.clone() }.into()]).await?;
        self.existing_control(principal, to).await
    }

    pub async fn retire_control(&self, principal: &Principal, code: &ControlCode) -> Result<()> {
        principal.authorize(Permission::ControlManage)?;
        self.apply(principal, vec![ControlChange::Retire { code: code.clone() }.into()]).await
    }

    /// Maps a control to an assessable requirement, or changes the mapping's coverage and rationale.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, code = %code))]
    pub async fn map_control(
        &self,
        principal: &Principal,
        code: &ControlCode,
        framework: &FrameworkId,
        requirement: &RequirementRef,
        coverage: Coverage,
        rationale: &str,
    ) -> Result<Mapping> {
        principal.authorize(Permission::MappingWrite)?;
        let library = self.library_for(principal).await?;
        let framework = library.framework(framework)?;
        let mapping = Mapping::new(code.clone(), framework, requirement, coverage, rationale)?;
        let control = self.existing_control(principal, code).await?;
        principal.authorize_control(Permission::MappingWrite, control.owner.as_ref())?;
        self.apply(principal, vec![ControlChange::Map(mapping.clone()).into()]).await?;
        Ok(mapping)
    }

    pub async fn unmap_control(
        &self,
        principal: &Principal,
        code: &ControlCode,
        framework: &FrameworkId,
        requirement: &RequirementRef,
    ) -> Result<()> {
        principal.authorize(Permission::MappingWrite)?;
        let control = self.existing_control(principal, code).await?;
        principal.authorize_control(Permission::MappingWrite, control.owner.as_ref())?;
        let change = ControlChange::Unmap {
            control: code.clone(),
            framework: framework.clone(),
            requirement: requirement.clone(),
        };
        self.apply(principal, vec![change.into()]).await
    }

    /// Adopts controls from the baseline library (all, or `only` these), with their mappings;
    /// controls the organisation already has are left as they are.
    pub async fn adopt_baseline(&self, principal: &Principal, only: &[ControlCode]) -> Result<BaselineReport> {
        principal.authorize(Permission::ControlManage)?;
        let baseline = self.library.catalog().baseline();
        for code in only {
            if !baseline.iter().any(|b| &b.code == code) {
                return Err(AppError::new(Code::ControlNotFound, format!("{code} is not in the baseline library")));
            }
        }
        let existing: HashSet<ControlCode> =
            self.store.controls(&principal.org.id).await?.into_iter().map(|c| c.code).collect();
        let mut changes = Vec::new();
        let mut report = BaselineReport { adopted: 0, skipped: 0 };
        for control in baseline.iter().filter(|b| only.is_empty() || only.contains(&b.code)) {
            if existing.contains(&control.code) {
                report.skipped += 1;
                continue;
            }
            report.adopted += 1;
            let new = baseline_control(control, None, ImplementationStatus::NotStarted);
            changes.push(ControlChange::Create(new).into());
            changes.extend(control.mappings.iter().map(|m| ControlChange::Map(baseline_mapping(control, m)).into()));
        }
        self.apply(principal, changes).await?;
        Ok(report)
    }
}

pub(crate) fn baseline_control(
    control: &evident_catalog::BaselineControl,
    owner: Option<Email>,
    status: ImplementationStatus,
) -> NewControl {
    NewControl {
        code: control.code.clone(),
        title: control.title.clone(),
        description: control.description.clone(),
        owner,
        frequency: control.frequency,
        max_evidence_age_days: None,
        status,
    }
}

pub(crate) fn baseline_mapping(
    control: &evident_catalog::BaselineControl,
    mapping: &evident_catalog::BaselineMapping,
) -> Mapping {
    Mapping {
        control: control.code.clone(),
        framework: mapping.framework.clone(),
        requirement: mapping.requirement.clone(),
        coverage: mapping.coverage,
        rationale: mapping.rationale.clone(),
    }
}
