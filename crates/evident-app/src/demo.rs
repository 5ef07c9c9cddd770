//! The demo organisation, Northwind Cloud: built from `demo/northwind.toml` and the baseline
//! library, through the same core checks as user input.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use evident_core::risk::{Acceptance, Asset, AssetKind, Classification, Risk, Treating, Treatment, check_acceptance};
use evident_core::soa::{Decision, Reason};
use evident_core::{
    Adoption, AssetCode, Control, ControlCode, ControlId, Email, FrameworkId, ImplementationStatus, OrgSlug,
    Organisation, RequirementRef, RiskCode, Role,
};
use evident_store::{
    Change, ControlChange, FrameworkChange, MemberChange, NewOrganisation, RiskChange, SoaChange, StoreError,
};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::controls::{baseline_control, baseline_mapping};
use crate::error::{AppError, Code, Result};
use crate::org_data::OrgData;

const NORTHWIND: &str = include_str!("../demo/northwind.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Demo {
    slug: OrgSlug,
    name: String,
    methodology: String,
    people: Vec<Person>,
    adoptions: Vec<DemoAdoption>,
    soa_exclusions: Vec<Exclusion>,
    assets: Vec<DemoAsset>,
    risks: Vec<DemoRisk>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Person {
    email: Email,
    name: String,
    role: Role,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAdoption {
    framework: FrameworkId,
    categories: Vec<String>,
    scope: String,
    target_date: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Exclusion {
    #[serde(rename = "ref")]
    reference: RequirementRef,
    reasons: Vec<Reason>,
    justification: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAsset {
    code: AssetCode,
    name: String,
    #[serde(rename = "type")]
    kind: AssetKind,
    owner: Email,
    classification: Classification,
    cia: [u8; 3],
    parent: Option<AssetCode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoRisk {
    code: RiskCode,
    title: String,
    assets: Vec<AssetCode>,
    /// Starter-list ids.
    threat: String,
    vulnerability: String,
    owner: Email,
    inherent: [u8; 2],
    treatment: Treatment,
    controls: Vec<ControlCode>,
    #[serde(default)]
    planned: Vec<Planned>,
    residual: [u8; 2],
    review_in_days: i64,
    accepted: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Planned {
    control: ControlCode,
    due_in_days: i64,
}

/// What `demo` did.
#[derive(Debug, Clone, Serialize)]
pub struct DemoOutcome {
    pub organisation: Organisation,
    /// False when the demo organisation was there already.
    pub created: bool,
    /// Evidence records added by this run (0 when the organisation had its evidence already, or
    /// no evidence store is configured).
    pub evidence: usize,
    /// The Type 2 window the demo's evidence is ready for.
    pub type2_window: (NaiveDate, NaiveDate),
}

impl App {
    /// Creates the demo organisation, or finds it. An operator's use case.
    ///
    /// One transaction: the organisation, everything in it, and the compliance manager's approval
    /// of its first SoA (computed from the same changes) land together. A run killed at any moment
    /// leaves nothing or the complete organisation; two runs at once end with one.
    pub async fn demo(&self) -> Result<DemoOutcome> {
        let demo: Demo =
            toml::from_str(NORTHWIND).map_err(|e| AppError::new(Code::Unexpected, format!("demo data: {e}")))?;
        let now = self.now();
        let person = |role: Role| {
            demo.people
                .iter()
                .find(|p| p.role == role)
                .ok_or_else(|| AppError::new(Code::Unexpected, format!("the demo needs a {role}")))
        };
        let (admin, manager) = (person(Role::Admin)?, person(Role::ComplianceManager)?);
        let (organisation, created) = match self.store.org_by_slug(&demo.slug).await? {
            Some(organisation) => (organisation, false),
            None => self.create_demo(&demo, admin, manager, now).await?,
        };
        // The evidence is a second step (its records name the controls' ids, which the store
        // gives): a run killed between the two leaves the organisation whole, and the next run
        // adds the evidence.
        let evidence = self.demo_evidence(&organisation, manager.email.as_str()).await?;
        let type2_window = crate::demo_evidence::demo_window(now.date_naive());
        Ok(DemoOutcome { organisation, created, evidence, type2_window })
    }

    /// The organisation and everything in it, in one transaction; `false` when another run
    /// created it meanwhile.
    async fn create_demo(
        &self,
        demo: &Demo,
        admin: &Person,
        manager: &Person,
        now: DateTime<Utc>,
    ) -> Result<(Organisation, bool)> {
        let new = NewOrganisation {
            slug: demo.slug.clone(),
            name: demo.name.clone(),
            admin_email: admin.email.clone(),
            admin_name: admin.name.clone(),
        };
        let build = self.build(demo, now)?;
        // The compliance manager approves the first SoA, as a real organisation would.
        let iso = self.library.soa_framework()?;
        let rows = projected(&build, now)?.soa(iso);
        let approve = vec![SoaChange::Approve { framework: iso.id().clone(), rows }.into()];
        let batches = vec![(admin.email.to_string(), build), (manager.email.to_string(), approve)];
        match self.store.create_org_with(&new, now, batches).await {
            Ok(organisation) => Ok((organisation, true)),
            // Another run created it meanwhile, whole.
            Err(StoreError::Conflict { what: "organisation", .. }) => {
                Ok((self.organisation(Some(&demo.slug)).await?, false))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Everything of the demo after its first administrator, as one batch.
    fn build(&self, demo: &Demo, now: DateTime<Utc>) -> Result<Vec<Change>> {
        // The first administrator came with the organisation.
        let first_admin = demo.people.iter().find(|p| p.role == Role::Admin).map(|p| &p.email);
        let mut changes: Vec<Change> = demo
            .people
            .iter()
            .filter(|p| Some(&p.email) != first_admin)
            .map(|p| MemberChange::Add { email: p.email.clone(), display_name: p.name.clone(), role: p.role }.into())
            .collect();
        for a in &demo.adoptions {
            let framework = self.library.framework(&a.framework)?;
            let adoption = Adoption::new(framework, &a.categories, a.scope.clone(), a.target_date, now)
                .map_err(AppError::invalid_from)?;
            changes.push(FrameworkChange::Adopt(adoption).into());
        }
        changes.extend(self.demo_controls(demo)?);
        changes.extend(self.register(demo, now)?);
        let iso = self.library.soa_framework()?.id().clone();
        for exclusion in &demo.soa_exclusions {
            let decision =
                Decision::new(&exclusion.reference, false, exclusion.reasons.clone(), exclusion.justification.clone())
                    .map_err(AppError::invalid_from)?;
            changes.push(
                SoaChange::Decide { framework: iso.clone(), requirement: exclusion.reference.clone(), decision }.into(),
            );
        }
        Ok(changes)
    }

    /// The baseline controls of a SOC 2-first company: controls that serve only ISO clauses are not
    /// written yet, statuses vary, and the ISO mapping is done for about two controls in three.
    fn demo_controls(&self, demo: &Demo) -> Result<Vec<Change>> {
        let soc2 = FrameworkId::parse("soc2:2017")?;
        let iso = FrameworkId::parse("iso27001:2022")?;
        let owners: Vec<&Email> =
            demo.people.iter().filter(|p| p.role == Role::ControlOwner).map(|p| &p.email).collect();
        let owner_for = |domain: &str| match domain {
            d if d.contains("Human") || d.contains("People") || d.contains("Privacy") => owners.get(1),
            d if d.contains("Asset") || d.contains("Physical") => owners.get(2),
            _ => owners.first(),
        };
        let mut changes = Vec::new();
        for control in self.library.catalog().baseline() {
            if !control.mappings.iter().any(|m| m.framework == soc2) {
                continue;
            }
            let status = match stable_roll(control.code.as_str()) {
                0..=69 => ImplementationStatus::Implemented,
                70..=86 => ImplementationStatus::InProgress,
                _ => ImplementationStatus::NotStarted,
            };
            changes.push(
                ControlChange::Create(baseline_control(
                    control,
                    owner_for(&control.domain).map(|e| (*e).clone()),
                    status,
                ))
                .into(),
            );
            for mapping in &control.mappings {
                if mapping.framework == iso && stable_roll(&format!("{}{}", control.code, mapping.requirement)) >= 65 {
                    continue;
                }
                changes.push(ControlChange::Map(baseline_mapping(control, mapping)).into());
            }
        }
        Ok(changes)
    }

    /// The methodology, assets, risks and acceptances, each checked by the core as user input is.
    fn register(&self, demo: &Demo, now: DateTime<Utc>) -> Result<Vec<Change>> {
        let methodology = crate::risks::preset(&demo.methodology)?;
        let today = now.date_naive();
        let mut changes = vec![RiskChange::SetMethodology(methodology.clone()).into()];
        for a in &demo.assets {
            changes.push(
                RiskChange::PutAsset(Asset {
                    code: a.code.clone(),
                    name: a.name.clone(),
                    kind: a.kind,
                    owner: Some(a.owner.clone()),
                    classification: a.classification,
                    confidentiality: a.cia[0],
                    integrity: a.cia[1],
                    availability: a.cia[2],
                    parent: a.parent.clone(),
                })
                .into(),
            );
        }
        let starter = self.library.catalog().threats();
        let name_of = |id: &str, list: &[evident_catalog::Threat]| {
            list.iter().find(|t| t.id == id).map_or_else(|| id.to_owned(), |t| t.name.clone())
        };
        let mut acceptances = Vec::new();
        for r in &demo.risks {
            let mut controls: Vec<Treating> =
                r.controls.iter().map(|c| Treating { control: c.clone(), planned: false, due: None }).collect();
            controls.extend(r.planned.iter().map(|p| Treating {
                control: p.control.clone(),
                planned: true,
                due: Some(today + Duration::days(p.due_in_days)),
            }));
            let risk = Risk {
                code: r.code.clone(),
                title: r.title.clone(),
                description: String::new(),
                assets: r.assets.clone(),
                threat: name_of(&r.threat, &starter.threats),
                vulnerability: name_of(&r.vulnerability, &starter.vulnerabilities),
                owner: r.owner.clone(),
                methodology: 1,
                inherent: methodology.rating(r.inherent[0], r.inherent[1]).map_err(AppError::invalid_from)?,
                treatment: r.treatment,
                controls,
                residual: methodology.rating(r.residual[0], r.residual[1]).map_err(AppError::invalid_from)?,
                residual_justification: String::new(),
                review_date: today + Duration::days(r.review_in_days),
                acceptance: None,
                closed: false,
            };
            risk.validate(&methodology).map_err(AppError::invalid_from)?;
            if r.accepted {
                let expires = today + Duration::days(365);
                check_acceptance(&risk, &methodology, &risk.owner, Role::ControlOwner, today, expires)
                    .map_err(AppError::invalid_from)?;
                let note = "Residual level within the acceptance criteria".to_owned();
                let acceptance = Acceptance::of(&risk, risk.owner.clone(), now, expires, note);
                acceptances.push(RiskChange::Accept { code: risk.code.clone(), acceptance }.into());
            }
            changes.push(RiskChange::Put(risk).into());
        }
        changes.extend(acceptances);
        Ok(changes)
    }
}

/// The organisation's records as `changes` will leave them, for the engines: what the store would
/// read back once they land, in the order it reads them.
fn projected(changes: &[Change], now: DateTime<Utc>) -> Result<OrgData> {
    let mut data = OrgData {
        adoptions: Vec::new(),
        controls: Vec::new(),
        mappings: Vec::new(),
        decisions: std::collections::HashMap::new(),
        risks: Vec::new(),
        latest: Vec::new(),
        freshness: evident_core::freshness::Freshness::none(),
    };
    for change in changes {
        match change {
            Change::Framework(FrameworkChange::Adopt(adoption)) => data.adoptions.push(adoption.clone()),
            Change::Control(ControlChange::Create(new)) => data.controls.push(Control {
                id: ControlId::parse(&new.code.as_str().to_lowercase())?,
                code: new.code.clone(),
                title: new.title.clone(),
                description: new.description.clone(),
                owner: new.owner.clone(),
                frequency: new.frequency,
                max_evidence_age_days: new.max_evidence_age_days,
                status: new.status,
                retired_at: None,
                created_at: now,
                updated_at: now,
                revision: 1,
            }),
            Change::Control(ControlChange::Map(mapping)) => data.mappings.push(mapping.clone()),
            Change::Soa(SoaChange::Decide { framework, requirement, decision }) => {
                data.decisions.entry(framework.clone()).or_default().insert(requirement.clone(), decision.clone());
            }
            Change::Risk(RiskChange::Put(risk) | RiskChange::Create(risk)) => data.risks.push(risk.clone()),
            Change::Risk(RiskChange::Accept { code, acceptance }) => {
                if let Some(risk) = data.risks.iter_mut().find(|r| &r.code == code) {
                    risk.acceptance = Some(acceptance.clone());
                }
            }
            _ => {}
        }
    }
    data.controls.sort_by(|a, b| evident_core::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
    evident_store::sort_mappings(&mut data.mappings);
    data.risks.sort_by(|a, b| evident_core::ids::natural_cmp(a.code.as_str(), b.code.as_str()));
    Ok(data)
}

/// A stable pseudo-random number in 0..100 per text, so the demo is the same on every machine.
fn stable_roll(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)) % 100
}
