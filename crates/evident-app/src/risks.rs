//! The risk register: methodology, assets, risks, acceptances, what is due, the treatment plan.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use evident_core::risk::{
    self, Acceptance, Asset, HeatMap, Methodology, MethodologyVersion, Rating, Risk, Treating, Treatment,
    check_acceptance, heat_map,
};
use evident_core::{AssetCode, Control, ControlCode, Email, Permission, RiskCode};
use evident_store::{Applied, RiskChange};
use serde::Serialize;

use crate::error::{AppError, Code, Result};
use crate::{App, Principal};

/// A risk as a user writes it; checked against the organisation and the methodology in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskDraft {
    pub code: RiskCode,
    pub title: String,
    pub description: String,
    pub assets: Vec<AssetCode>,
    /// Free text, or a starter-list id such as T-01.
    pub threat: String,
    /// Free text, or a starter-list id such as V-03.
    pub vulnerability: String,
    pub owner: Email,
    /// (likelihood, impact) as written: [`RiskContext::check`] makes them a [`Rating`] of the
    /// matrix in force.
    pub inherent: (u8, u8),
    pub treatment: Treatment,
    pub controls: Vec<Treating>,
    /// (likelihood, impact) as written.
    pub residual: (u8, u8),
    pub residual_justification: String,
    pub review_date: NaiveDate,
    pub closed: bool,
}

/// A problem with one field of a risk: the column it is in, and what is wrong.
pub type FieldProblem = (&'static str, String);

/// What a risk must be checked against.
#[derive(Debug, Clone)]
pub struct RiskContext {
    pub members: HashSet<Email>,
    pub assets: HashSet<AssetCode>,
    pub controls: HashSet<ControlCode>,
    pub methodology: MethodologyVersion,
    pub starter: &'static evident_catalog::ThreatList,
}

impl RiskContext {
    /// Turns a draft into a risk assessed with the methodology in force, or every problem found.
    pub fn check(&self, draft: RiskDraft) -> Result<Risk, Vec<FieldProblem>> {
        let mut problems: Vec<FieldProblem> = Vec::new();
        if draft.title.trim().is_empty() {
            problems.push(("title", "a risk needs a title".into()));
        }
        if draft.assets.is_empty() {
            problems.push(("assets", "a risk needs at least one asset".into()));
        }
        for asset in draft.assets.iter().filter(|a| !self.assets.contains(*a)) {
            problems.push(("assets", format!("asset {asset} does not exist")));
        }
        let resolve = |text: &str, list: &[evident_catalog::Threat]| {
            list.iter().find(|t| t.id == text.trim()).map_or_else(|| text.trim().to_owned(), |t| t.name.clone())
        };
        let threat = resolve(&draft.threat, &self.starter.threats);
        let vulnerability = resolve(&draft.vulnerability, &self.starter.vulnerabilities);
        for (column, text) in [("threat", &threat), ("vulnerability", &vulnerability)] {
            if text.is_empty() {
                problems.push((column, format!("a risk needs a {column}")));
            }
        }
        if !self.members.contains(&draft.owner) {
            problems.push(("owner", format!("{} is not a member", draft.owner)));
        }
        let m = &self.methodology.methodology;
        let mut rate = |(likelihood, impact): (u8, u8), columns: [&'static str; 2]| {
            for (column, axis, value) in [(columns[0], "likelihood", likelihood), (columns[1], "impact", impact)] {
                if let Err(risk::RiskError::OutOfScale { max, .. }) = m.on_scale(axis, value) {
                    let version = self.methodology.version;
                    let problem =
                        format!("{axis} {value} is outside the 1–{max} scale of methodology version {version}");
                    problems.push((column, problem));
                }
            }
            m.rating(likelihood, impact).ok()
        };
        let inherent = rate(draft.inherent, ["likelihood", "impact"]);
        let residual = rate(draft.residual, ["residual_likelihood", "residual_impact"]);
        for treating in draft.controls.iter().filter(|t| !self.controls.contains(&t.control)) {
            problems.push(("controls", format!("control {} does not exist (or is retired)", treating.control)));
        }
        let (Some(inherent), Some(residual)) = (inherent, residual) else {
            return Err(problems);
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let risk = Risk {
            code: draft.code,
            title: draft.title.trim().to_owned(),
            description: draft.description.trim().to_owned(),
            assets: draft.assets,
            threat,
            vulnerability,
            owner: draft.owner,
            methodology: self.methodology.version,
            inherent,
            treatment: draft.treatment,
            controls: draft.controls,
            residual,
            residual_justification: draft.residual_justification.trim().to_owned(),
            review_date: draft.review_date,
            acceptance: None,
            closed: draft.closed,
        };
        let column = |e: &risk::RiskError| match e {
            risk::RiskError::ResidualAboveInherent { .. } => "residual_justification",
            _ => "controls",
        };
        risk.validate(m).map_err(|e| vec![(column(&e), e.to_string())])?;
        Ok(risk)
    }
}

/// What is due on `today` across `risks`, each judged by the methodology it was assessed with.
pub(crate) fn due_items(risks: &[Risk], methodologies: &[MethodologyVersion], today: NaiveDate) -> Vec<DueItem> {
    risks
        .iter()
        .flat_map(|r| {
            let methodology = methodologies.iter().find(|v| v.version == r.methodology).map(|v| &v.methodology);
            risk::due(r, methodology, today).into_iter().map(|d| DueItem {
                risk: r.code.clone(),
                title: r.title.clone(),
                owner: r.owner.clone(),
                due: d,
            })
        })
        .collect()
}

/// One item of what is due: which risk, and why.
#[derive(Debug, Clone, Serialize)]
pub struct DueItem {
    pub risk: RiskCode,
    pub title: String,
    pub owner: Email,
    pub due: risk::Due,
}

/// The risk treatment plan: one row per (risk, treating control).
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    pub risk: RiskCode,
    pub title: String,
    pub owner: Email,
    pub residual_level: String,
    pub treatment: Treatment,
    pub control: Option<ControlCode>,
    pub control_title: String,
    pub control_status: String,
    pub planned: bool,
    pub due: Option<NaiveDate>,
    pub control_owner: Option<Email>,
}

/// Which risks a list shows: each field given must match; none given, every risk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskFilter {
    pub owner: Option<Email>,
    pub treatment: Option<Treatment>,
    /// Closed risks only (`true`) or open ones only (`false`).
    pub closed: Option<bool>,
}

impl RiskFilter {
    pub fn matches(&self, risk: &Risk) -> bool {
        self.owner.as_ref().is_none_or(|owner| &risk.owner == owner)
            && self.treatment.is_none_or(|treatment| risk.treatment == treatment)
            && self.closed.is_none_or(|closed| risk.closed == closed)
    }
}

/// A score and its level under the methodology a risk was assessed with.
pub fn scored(methodologies: &[MethodologyVersion], risk: &Risk, rating: Rating) -> Option<(u32, String)> {
    let m = &methodologies.iter().find(|v| v.version == risk.methodology)?.methodology;
    let score = m.score(rating).ok()?;
    Some((score, m.level(score).name.clone()))
}

/// The built-in methodology presets.
pub fn preset(name: &str) -> Result<Methodology> {
    match name {
        "3x3" => Ok(Methodology::three_by_three()),
        "4x4" => Ok(Methodology::four_by_four()),
        "5x5" => Ok(Methodology::five_by_five()),
        other => Err(AppError::invalid(format!("there is no preset {other:?} (choose 3x3, 4x4 or 5x5)"))),
    }
}

impl App {
    /// The methodology in force.
    pub async fn methodology(&self, principal: &Principal) -> Result<MethodologyVersion> {
        let methodologies = self
            .remembered(principal, Permission::Read, "methodologies", async {
                Ok(self.store.methodologies(&principal.org.id).await?)
            })
            .await?;
        methodologies.last().cloned().ok_or_else(|| {
            AppError::new(Code::NoMethodology, format!("{} has no risk methodology yet", principal.org.slug))
        })
    }

    pub async fn methodologies(&self, principal: &Principal) -> Result<Vec<MethodologyVersion>> {
        principal.authorize(Permission::Read)?;
        Ok(self.store.methodologies(&principal.org.id).await?)
    }

    /// Makes a validated methodology the next version; assessed risks keep theirs. Returns the new version.
    pub async fn set_methodology(&self, principal: &Principal, methodology: Methodology) -> Result<i64> {
        principal.authorize(Permission::MethodologyManage)?;
        methodology.validate().map_err(|e| AppError::invalid(format!("the methodology is not valid: {e}")))?;
        let change = RiskChange::SetMethodology(methodology);
        match self.store.apply(&principal.actor(self.now()), vec![change.into()]).await?.as_slice() {
            [Applied::MethodologySet { version }] => Ok(*version),
            other => Err(AppError::new(Code::Unexpected, format!("setting the methodology reported {other:?}"))),
        }
    }

    pub async fn assets(&self, principal: &Principal) -> Result<Vec<Asset>> {
        self.remembered(principal, Permission::Read, "assets", async {
            Ok(self.store.assets(&principal.org.id).await?)
        })
        .await
    }

    /// Creates or changes one asset; its parent must exist and form no cycle.
    pub async fn put_asset(&self, principal: &Principal, asset: Asset) -> Result<Asset> {
        principal.authorize(Permission::AssetWrite)?;
        if let Some(owner) = &asset.owner {
            self.ensure_member(principal, owner).await?;
        }
        let stored = self.store.assets(&principal.org.id).await?;
        if let Some((_, _, problem)) =
            crate::imports::assets::check_assets(std::slice::from_ref(&asset), &stored).into_iter().next()
        {
            return Err(AppError::invalid(problem));
        }
        self.apply(principal, vec![RiskChange::PutAsset(asset.clone()).into()]).await?;
        Ok(asset)
    }

    /// One asset.
    pub async fn asset(&self, principal: &Principal, code: &AssetCode) -> Result<Asset> {
        self.assets(principal)
            .await?
            .into_iter()
            .find(|a| &a.code == code)
            .ok_or_else(|| AppError::not_found(Code::AssetNotFound, "asset", code))
    }

    /// Creates an asset; `already_exists` when its code is taken (checked inside the write).
    pub async fn create_asset(&self, principal: &Principal, asset: Asset) -> Result<Asset> {
        self.put_asset_checked(principal, asset, None).await
    }

    /// Replaces an asset that is still as it was when read: `version` is the [`asset_version`] of
    /// the asset read (`precondition_required` without one); `conflict` when it changed since
    /// (checked inside the write), so an edit never overwrites another.
    pub async fn edit_asset(&self, principal: &Principal, asset: Asset, version: Option<&str>) -> Result<Asset> {
        principal.authorize(Permission::AssetWrite)?;
        let version = version.ok_or_else(|| {
            AppError::new(
                Code::PreconditionRequired,
                "an edit names the version of the asset it is based on (If-Match: its ETag), so it never overwrites another",
            )
        })?;
        let current = self.asset(principal, &asset.code).await?;
        if asset_version(&current) != version {
            return Err(AppError::new(
                Code::Conflict,
                format!("asset {} was changed by someone else since it was read: read it again", asset.code),
            ));
        }
        self.put_asset_checked(principal, asset, Some(current)).await
    }

    async fn put_asset_checked(&self, principal: &Principal, asset: Asset, based_on: Option<Asset>) -> Result<Asset> {
        principal.authorize(Permission::AssetWrite)?;
        if let Some(owner) = &asset.owner {
            self.ensure_member(principal, owner).await?;
        }
        let stored = self.store.assets(&principal.org.id).await?;
        if let Some((_, _, problem)) =
            crate::imports::assets::check_assets(std::slice::from_ref(&asset), &stored).into_iter().next()
        {
            return Err(AppError::invalid(problem));
        }
        let change = RiskChange::PutAssetBasedOn { asset: asset.clone(), based_on: based_on.map(Box::new) };
        self.apply(principal, vec![change.into()]).await.map_err(|e| match e.code {
            Code::AlreadyExists => AppError::new(Code::AlreadyExists, format!("asset {} exists already", asset.code)),
            _ => e,
        })?;
        Ok(asset)
    }

    pub async fn risks(&self, principal: &Principal) -> Result<Vec<Risk>> {
        self.remembered(principal, Permission::Read, "risks", async { Ok(self.store.risks(&principal.org.id).await?) })
            .await
    }

    /// The risks `filter` selects.
    pub async fn risks_where(&self, principal: &Principal, filter: &RiskFilter) -> Result<Vec<Risk>> {
        Ok(self.risks(principal).await?.into_iter().filter(|r| filter.matches(r)).collect())
    }

    /// One risk of the organisation.
    pub async fn risk(&self, principal: &Principal, code: &RiskCode) -> Result<Risk> {
        self.risks(principal)
            .await?
            .into_iter()
            .find(|r| &r.code == code)
            .ok_or_else(|| AppError::not_found(Code::RiskNotFound, "risk", code))
    }

    /// What a risk is checked against: members, assets, active controls, the methodology in force.
    pub async fn risk_context(&self, principal: &Principal) -> Result<RiskContext> {
        let org = &principal.org.id;
        Ok(RiskContext {
            members: self.members_set(principal).await?,
            assets: self.store.assets(org).await?.into_iter().map(|a| a.code).collect(),
            controls: self.store.controls(org).await?.into_iter().filter(Control::is_active).map(|c| c.code).collect(),
            methodology: self.methodology(principal).await?,
            starter: self.library.catalog().threats(),
        })
    }

    /// Creates a risk, assessed with the methodology in force.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, risk = %draft.code))]
    pub async fn create_risk(&self, principal: &Principal, draft: RiskDraft) -> Result<Risk> {
        principal.authorize(Permission::RiskEdit)?;
        let context = self.risk_context(principal).await?;
        let risk = context.check(draft).map_err(|problems| {
            let text: Vec<_> = problems.iter().map(|(c, e)| format!("{c}: {e}")).collect();
            AppError::invalid(text.join("; "))
        })?;
        self.check_soa_with_risks(principal, std::slice::from_ref(&risk)).await?;
        self.apply(principal, vec![RiskChange::Create(risk.clone()).into()]).await?;
        Ok(risk)
    }

    /// What is wrong with a draft, field by field, checked as [`App::create_risk`] and
    /// [`App::edit_risk`] check it; nothing is written. A form shows each problem beside its field.
    pub async fn risk_problems(&self, principal: &Principal, draft: RiskDraft) -> Result<Vec<FieldProblem>> {
        principal.authorize(Permission::RiskEdit)?;
        Ok(self.risk_context(principal).await?.check(draft).err().unwrap_or_default())
    }

    /// Replaces a risk's fields with `draft`'s, re-assessed with the methodology in force, when
    /// the risk is still as it was read: `version` is the [`risk_version`] of the risk read
    /// (`precondition_required` without one); `conflict` when it changed since (checked again
    /// inside the write), so an edit never overwrites another. Its acceptances are kept.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, risk = %draft.code))]
    pub async fn edit_risk(&self, principal: &Principal, draft: RiskDraft, version: Option<&str>) -> Result<Risk> {
        principal.authorize(Permission::RiskEdit)?;
        let version = version.ok_or_else(|| {
            AppError::new(
                Code::PreconditionRequired,
                "an edit names the version of the risk it is based on (If-Match: its ETag), so it never overwrites another",
            )
        })?;
        let current = self.risk(principal, &draft.code).await?;
        let stale = || {
            AppError::new(
                Code::Conflict,
                format!("risk {} was changed by someone else since it was read: read it again", current.code),
            )
        };
        if risk_version(&current) != version {
            return Err(stale());
        }
        let context = self.risk_context(principal).await?;
        let mut risk = context.check(draft).map_err(|problems| {
            let text: Vec<_> = problems.iter().map(|(c, e)| format!("{c}: {e}")).collect();
            AppError::invalid(text.join("; "))
        })?;
        // As the store keeps and reads it back: the acceptance stays, links come back in order.
        risk.acceptance = current.acceptance.clone();
        risk.assets.sort();
        risk.controls.sort_by(|a, b| a.control.cmp(&b.control));
        self.check_soa_with_risks(principal, std::slice::from_ref(&risk)).await?;
        let change = RiskChange::PutBasedOn { risk: risk.clone(), based_on: Box::new(current.clone()) };
        self.apply(principal, vec![change.into()]).await.map_err(|e| match e.code {
            Code::Conflict => stale(),
            _ => e,
        })?;
        Ok(risk)
    }

    /// The SoA exclusion rule, with `changed` risks replacing their stored versions.
    pub(crate) async fn check_soa_with_risks(&self, principal: &Principal, changed: &[Risk]) -> Result<()> {
        let library = self.library_for(principal).await?;
        let mut data =
            crate::org_data::OrgData::load(self.store.as_ref(), &library, &principal.org.id, self.now().date_naive())
                .await?;
        for risk in changed {
            match data.risks.iter_mut().find(|r| r.code == risk.code) {
                Some(stored) => *stored = risk.clone(),
                None => data.risks.push(risk.clone()),
            }
        }
        for framework in library.soa_frameworks() {
            data.check_exclusions(framework.id())?;
        }
        Ok(())
    }

    /// Accepts a risk's residual level until `expires`: its owner or an administrator, never a
    /// read-only member, and only within the acceptance criteria.
    #[tracing::instrument(skip_all, fields(org = %principal.org.slug, risk = %code))]
    pub async fn accept_risk(
        &self,
        principal: &Principal,
        code: &RiskCode,
        expires: NaiveDate,
        note: String,
    ) -> Result<Acceptance> {
        principal.authorize(Permission::RiskAccept)?;
        let member = principal.accountable()?;
        let risks = self.store.risks(&principal.org.id).await?;
        let risk = risks
            .iter()
            .find(|r| &r.code == code)
            .ok_or_else(|| AppError::not_found(Code::RiskNotFound, "risk", code))?;
        let methodologies = self.store.methodologies(&principal.org.id).await?;
        let methodology = methodologies.iter().find(|v| v.version == risk.methodology).ok_or_else(|| {
            AppError::new(Code::StoreCorrupt, format!("methodology version {} is missing", risk.methodology))
        })?;
        let now = self.now();
        check_acceptance(risk, &methodology.methodology, &member.email, member.role, now.date_naive(), expires)
            .map_err(|e| match e {
                risk::RiskError::NotOwnerOrAdmin(_) => {
                    AppError::new(Code::PermissionDenied, format!("cannot accept {code}: {e}"))
                }
                _ => AppError::new(Code::RuleViolated, format!("cannot accept {code}: {e}")),
            })?;
        let acceptance = Acceptance::of(risk, member.email.clone(), now, expires, note);
        self.apply(principal, vec![RiskChange::Accept { code: code.clone(), acceptance: acceptance.clone() }.into()])
            .await?;
        Ok(acceptance)
    }

    /// Risks past their review date, expired or missing acceptances, overdue planned controls.
    pub async fn risks_due(&self, principal: &Principal, on: Option<NaiveDate>) -> Result<(NaiveDate, Vec<DueItem>)> {
        let today = on.unwrap_or_else(|| self.now().date_naive());
        let risks = self.risks(principal).await?;
        let methodologies = self.store.methodologies(&principal.org.id).await?;
        Ok((today, due_items(&risks, &methodologies, today)))
    }

    /// Inherent and residual counts per cell of the matrix in force.
    pub async fn heat_map(&self, principal: &Principal) -> Result<HeatMap> {
        let current = self.methodology(principal).await?;
        let risks = self.risks(principal).await?;
        Ok(heat_map(current.version, &current.methodology, &risks))
    }

    /// The risk treatment plan of the open risks.
    pub async fn treatment_plan(&self, principal: &Principal) -> Result<Vec<PlanRow>> {
        principal.authorize(Permission::Export)?;
        let risks = self.store.risks(&principal.org.id).await?;
        let methodologies = self.store.methodologies(&principal.org.id).await?;
        let controls: HashMap<ControlCode, Control> =
            self.store.controls(&principal.org.id).await?.into_iter().map(|c| (c.code.clone(), c)).collect();
        let mut rows = Vec::new();
        for risk in risks.iter().filter(|r| !r.closed) {
            let level = scored(&methodologies, risk, risk.residual).map(|(_, l)| l).unwrap_or_default();
            let row = |treating: Option<&Treating>| {
                let control = treating.and_then(|t| controls.get(&t.control));
                PlanRow {
                    risk: risk.code.clone(),
                    title: risk.title.clone(),
                    owner: risk.owner.clone(),
                    residual_level: level.clone(),
                    treatment: risk.treatment,
                    control: treating.map(|t| t.control.clone()),
                    control_title: control.map(|c| c.title.clone()).unwrap_or_default(),
                    control_status: control.map(|c| c.status.to_string()).unwrap_or_default(),
                    planned: treating.is_some_and(|t| t.planned),
                    due: treating.and_then(|t| t.due),
                    control_owner: control.and_then(|c| c.owner.clone()),
                }
            };
            if risk.controls.is_empty() {
                rows.push(row(None));
            }
            rows.extend(risk.controls.iter().map(|t| row(Some(t))));
        }
        Ok(rows)
    }

    /// The starter list of threats and vulnerabilities.
    pub fn threats(&self) -> &'static evident_catalog::ThreatList {
        self.library.catalog().threats()
    }
}

/// An asset's version, for an edit to name what it was based on (the API's `ETag`): a digest of
/// everything the asset holds, so any change gives another.
pub fn asset_version(asset: &Asset) -> String {
    version_of(asset)
}

/// A risk's version, for an edit to name what it was based on (the API's `ETag`, the web form's
/// hidden field): a digest of everything the risk holds, its acceptance included, so any change
/// gives another.
pub fn risk_version(risk: &Risk) -> String {
    version_of(risk)
}

/// The first 12 bytes of the SHA-256 of `value`'s JSON, in hex.
pub(crate) fn version_of(value: &impl Serialize) -> String {
    use sha2::{Digest as _, Sha256};
    let json = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..12])
}

impl App {
    /// What a methodology would be if it were set: checked as [`App::set_methodology`] checks it,
    /// by a member who may set one, and written nowhere (not even to the audit log).
    pub fn preview_methodology(&self, principal: &Principal, draft: risk::MethodologyDraft) -> Result<Methodology> {
        principal.authorize(Permission::MethodologyManage)?;
        Methodology::new(draft).map_err(|e| AppError::invalid(format!("the methodology is not valid: {e}")))
    }
}
