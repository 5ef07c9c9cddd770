//! Risks.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::NaiveDate;
use evident_app::risks::{RiskDraft, RiskFilter, risk_version};
use evident_app::{AppError, Code, Principal};
use evident_core::risk::{Risk, Treating, Treatment};
use evident_core::{AssetCode, ControlCode, Email, Permission, RiskCode, Role};
use serde::Deserialize;

use super::{AppState, Frame, NoticeQuery, Pairs, date, enter, notice};
use crate::State;
use crate::web::{PageResult, Viewer, html, see, svg};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new()
        .route("/o/{org}/risks", get(risks).post(create_risk))
        .route("/o/{org}/risks/{code}", get(risk).post(edit_risk))
        .route("/o/{org}/risks/{code}/accept", post(accept_risk))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RiskQuery {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    treatment: String,
    #[serde(default)]
    closed: bool,
    done: Option<String>,
}

struct RiskRow {
    code: String,
    title: String,
    owner: String,
    treatment: String,
    inherent: String,
    residual: String,
    review: String,
    accepted: String,
}

/// Each problem of a form under its field's name (`form` for the form as a whole).
type FieldErrors = BTreeMap<&'static str, String>;

/// A risk's fields as a form holds them (text, as typed).
#[derive(Debug, Default, Clone)]
pub(crate) struct RiskForm {
    code: String,
    title: String,
    description: String,
    assets: Vec<String>,
    threat: String,
    vulnerability: String,
    owner: String,
    likelihood: String,
    impact: String,
    treatment: String,
    /// Controls in place.
    controls: Vec<String>,
    /// Planned controls as typed: `CODE YYYY-MM-DD`, separated by commas or lines.
    planned: String,
    residual_likelihood: String,
    residual_impact: String,
    residual_justification: String,
    review_date: String,
    closed: bool,
    /// The version of the risk the form was drawn from.
    version: String,
}

impl RiskForm {
    fn of(risk: &Risk) -> RiskForm {
        let planned: Vec<String> = risk
            .controls
            .iter()
            .filter(|t| t.planned)
            .map(|t| format!("{} {}", t.control, t.due.map(date).unwrap_or_default()).trim().to_owned())
            .collect();
        RiskForm {
            code: risk.code.to_string(),
            title: risk.title.clone(),
            description: risk.description.clone(),
            assets: risk.assets.iter().map(|a| a.to_string()).collect(),
            threat: risk.threat.clone(),
            vulnerability: risk.vulnerability.clone(),
            owner: risk.owner.to_string(),
            likelihood: risk.inherent.likelihood().to_string(),
            impact: risk.inherent.impact().to_string(),
            treatment: risk.treatment.to_string(),
            controls: risk.controls.iter().filter(|t| !t.planned).map(|t| t.control.to_string()).collect(),
            planned: planned.join(", "),
            residual_likelihood: risk.residual.likelihood().to_string(),
            residual_impact: risk.residual.impact().to_string(),
            residual_justification: risk.residual_justification.clone(),
            review_date: date(risk.review_date),
            closed: risk.closed,
            version: risk_version(risk),
        }
    }

    fn parse(form: &Pairs) -> RiskForm {
        let text = |name: &str| form.one(name).to_owned();
        let many = |name: &str| {
            form.all(name)
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
        };
        RiskForm {
            code: text("code"),
            title: text("title"),
            description: text("description"),
            assets: many("assets"),
            threat: text("threat"),
            vulnerability: text("vulnerability"),
            owner: text("owner"),
            likelihood: text("likelihood"),
            impact: text("impact"),
            treatment: text("treatment"),
            controls: many("controls"),
            planned: text("planned"),
            residual_likelihood: text("residual_likelihood"),
            residual_impact: text("residual_impact"),
            residual_justification: text("residual_justification"),
            review_date: text("review_date"),
            closed: form.one("closed") == "true",
            version: text("version"),
        }
    }

    fn has_asset(&self, code: &str) -> bool {
        self.assets.iter().any(|a| a == code)
    }

    fn has_control(&self, code: &str) -> bool {
        self.controls.iter().any(|c| c == code)
    }

    /// The draft the form says, or each problem of its shape under its field's name (what the
    /// risk means for the organisation is the use case's to check).
    fn draft(&self, code: Option<&RiskCode>) -> Result<RiskDraft, FieldErrors> {
        let mut errors = BTreeMap::new();
        let code = match code {
            Some(code) => Some(code.clone()),
            None => RiskCode::parse(self.code.trim()).map_err(|e| errors.insert("code", e.to_string())).ok(),
        };
        let owner =
            Email::parse(self.owner.trim()).map_err(|_| errors.insert("owner", "choose the risk's owner".into())).ok();
        let mut assets = Vec::new();
        for text in &self.assets {
            match AssetCode::parse(text) {
                Ok(code) => assets.push(code),
                Err(_) => {
                    errors.insert("assets", format!("{text:?} is not an asset code"));
                }
            }
        }
        let mut scale = |name: &'static str, text: &str| {
            text.trim().parse::<u8>().map_err(|_| errors.insert(name, "choose a level".into())).unwrap_or_default()
        };
        let inherent = (scale("likelihood", &self.likelihood), scale("impact", &self.impact));
        let residual =
            (scale("residual_likelihood", &self.residual_likelihood), scale("residual_impact", &self.residual_impact));
        let treatment = Treatment::parse(self.treatment.trim())
            .map_err(|_| errors.insert("treatment", "choose a treatment".into()))
            .ok();
        let mut controls = Vec::new();
        for text in &self.controls {
            match ControlCode::parse(text) {
                Ok(control) => controls.push(Treating { control, planned: false, due: None }),
                Err(_) => {
                    errors.insert("controls", format!("{text:?} is not a control code"));
                }
            }
        }
        for entry in self.planned.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty()) {
            let mut words = entry.split_whitespace();
            let control = words.next().and_then(|c| ControlCode::parse(c).ok());
            let due = words.next().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            match (control, due, words.next()) {
                (Some(control), Some(due), None) => controls.push(Treating { control, planned: true, due: Some(due) }),
                _ => {
                    errors.insert(
                        "planned",
                        format!("{entry:?} is not a control code and its due date, such as OPS-01 2027-01-31"),
                    );
                }
            }
        }
        let review_date = NaiveDate::parse_from_str(self.review_date.trim(), "%Y-%m-%d")
            .map_err(|_| errors.insert("review_date", "the review date is a date such as 2027-06-30".into()))
            .ok();
        match (code, owner, treatment, review_date) {
            (Some(code), Some(owner), Some(treatment), Some(review_date)) if errors.is_empty() => Ok(RiskDraft {
                code,
                title: self.title.clone(),
                description: self.description.clone(),
                assets,
                threat: self.threat.clone(),
                vulnerability: self.vulnerability.clone(),
                owner,
                inherent,
                treatment,
                controls,
                residual,
                residual_justification: self.residual_justification.clone(),
                review_date,
                closed: self.closed,
            }),
            _ => Err(errors),
        }
    }
}

/// What a risk form offers to choose from: the members, assets and controls in force, the
/// methodology's scales, the treatments.
#[derive(Debug, Default)]
struct RiskChoices {
    members: Vec<String>,
    /// (code, name)
    assets: Vec<(String, String)>,
    /// (code, title)
    controls: Vec<(String, String)>,
    /// (value, "value – name")
    likelihood: Vec<(String, String)>,
    impact: Vec<(String, String)>,
    treatments: Vec<String>,
}

impl RiskChoices {
    async fn load(state: &State, principal: &Principal) -> PageResult<RiskChoices> {
        let methodology = state.app.methodology(principal).await?.methodology;
        let scale = |levels: &[evident_core::risk::ScaleLevel]| {
            levels.iter().enumerate().map(|(i, l)| ((i + 1).to_string(), format!("{} – {}", i + 1, l.name))).collect()
        };
        let mut members: Vec<String> =
            state.app.members(principal).await?.into_iter().map(|m| m.email.to_string()).collect();
        members.sort();
        Ok(RiskChoices {
            members,
            assets: state.app.assets(principal).await?.into_iter().map(|a| (a.code.to_string(), a.name)).collect(),
            controls: state
                .app
                .controls_shared(principal, false)
                .await?
                .iter()
                .map(|c| (c.control.code.to_string(), c.control.title.clone()))
                .collect(),
            likelihood: scale(&methodology.likelihood),
            impact: scale(&methodology.impact),
            treatments: Treatment::ALL.iter().map(|t| t.to_string()).collect(),
        })
    }
}

/// The use case's verdict on a draft, each problem under its field's name.
fn problems(found: Vec<(&'static str, String)>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for (field, problem) in found {
        errors.entry(field).and_modify(|e: &mut String| e.push_str(&format!("; {problem}"))).or_insert(problem);
    }
    errors
}

/// Where a use case's refusal of a risk form belongs.
fn risk_error(e: AppError) -> PageResult<FieldErrors> {
    let field = match e.code {
        Code::NotAMember => "owner",
        Code::AlreadyExists => "code",
        Code::InvalidInput | Code::RuleViolated | Code::Conflict => "form",
        _ => return Err(e.into()),
    };
    Ok(BTreeMap::from([(field, e.message)]))
}

#[derive(Template)]
#[template(path = "risks.html")]
struct RisksPage {
    frame: Frame,
    notice: Option<&'static str>,
    filter: RiskQuery,
    rows: Vec<RiskRow>,
    owners: Vec<String>,
    treatments: Vec<String>,
    maps: Vec<(&'static str, svg::Grid)>,
    cell: u32,
    other_versions: usize,
    /// The new-risk form, for those who may create risks once a methodology is set.
    may_create: bool,
    /// A methodology is set (risks can be assessed).
    assessable: bool,
    editing: bool,
    form: RiskForm,
    errors: FieldErrors,
    choices: RiskChoices,
}

fn rating(r: evident_core::risk::Rating) -> String {
    format!("L{} × I{}", r.likelihood(), r.impact())
}

/// `GET /o/{org}/risks`: the register with its filters, and the heat maps.
async fn risks(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(filter): Query<RiskQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "risks").await?;
    risks_page(&state, principal, frame, filter, RiskForm::default(), FieldErrors::new()).await
}

async fn risks_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    filter: RiskQuery,
    form: RiskForm,
    errors: FieldErrors,
) -> PageResult {
    let all = state.app.risks(&principal).await?;
    let mut owners: Vec<String> = all.iter().map(|r| r.owner.to_string()).collect();
    owners.sort();
    owners.dedup();
    let wanted = RiskFilter {
        owner: if filter.owner.is_empty() { None } else { Email::parse(&filter.owner).ok() },
        treatment: Treatment::parse(&filter.treatment).ok(),
        closed: Some(filter.closed),
    };
    let rows = all
        .iter()
        .filter(|r| wanted.matches(r))
        .map(|r| RiskRow {
            code: r.code.to_string(),
            title: r.title.clone(),
            owner: r.owner.to_string(),
            treatment: r.treatment.to_string(),
            inherent: rating(r.inherent),
            residual: rating(r.residual),
            review: date(r.review_date),
            accepted: r.acceptance.as_ref().map(|a| format!("until {}", date(a.expires))).unwrap_or_default(),
        })
        .collect();
    let (maps, other_versions, assessable) = match state.app.heat_map(&principal).await {
        Ok(map) => (
            vec![
                ("Inherent", svg::grid(&map, &map.inherent, "inherent")),
                ("Residual", svg::grid(&map, &map.residual, "residual")),
            ],
            map.other_versions,
            true,
        ),
        Err(e) if e.code == Code::NoMethodology => (Vec::new(), 0, false),
        Err(e) => return Err(e.into()),
    };
    let may_create = principal.role().can(Permission::RiskEdit);
    let choices =
        if may_create && assessable { RiskChoices::load(state, &principal).await? } else { RiskChoices::default() };
    html(&RisksPage {
        notice: notice(filter.done.as_deref()),
        filter,
        rows,
        owners,
        treatments: Treatment::ALL.iter().map(|t| t.to_string()).collect(),
        maps,
        cell: svg::CELL,
        other_versions,
        may_create,
        assessable,
        editing: false,
        form,
        errors,
        choices,
        frame,
    })
}

/// `POST /o/{org}/risks`: creates a risk from the new-risk form; each problem is shown beside its
/// field and nothing is written until there is none.
async fn create_risk(AxumState(state): AppState, Path(org): Path<String>, viewer: Viewer, body: Bytes) -> PageResult {
    let pairs = Pairs::parse(&body);
    viewer.check_csrf(pairs.one("csrf"))?;
    let (principal, frame) = enter(&state, &viewer, &org, "risks").await?;
    principal.authorize(Permission::RiskEdit)?;
    let form = RiskForm::parse(&pairs);
    let errors = match form.draft(None) {
        Ok(draft) => {
            let found = problems(state.app.risk_problems(&principal, draft.clone()).await?);
            if found.is_empty() {
                match state.app.create_risk(&principal, draft).await {
                    Ok(_) => return Ok(see(&format!("/o/{org}/risks?done=risk-created"))),
                    Err(e) => risk_error(e)?,
                }
            } else {
                found
            }
        }
        Err(errors) => errors,
    };
    let page = risks_page(&state, principal, frame, RiskQuery::default(), form, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Template)]
#[template(path = "risk.html")]
struct RiskPage {
    frame: Frame,
    notice: Option<&'static str>,
    risk: Risk,
    inherent: String,
    residual: String,
    may_accept: bool,
    error: Option<String>,
    /// The edit form, for those who may edit risks.
    may_edit: bool,
    editing: bool,
    form: RiskForm,
    errors: FieldErrors,
    /// The risk as someone else saved it meanwhile, when an edit came too late.
    conflict: Option<RiskForm>,
    choices: RiskChoices,
}

/// `GET /o/{org}/risks/{code}`: one risk with its treatment and acceptance.
async fn risk(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "risks").await?;
    let edit = Edit::default();
    risk_page(&state, principal, frame, &code, notice(q.done.as_deref()), None, edit).await
}

/// The edit form as the page shows it: as typed (after a refusal), its problems, and the
/// version someone else saved meanwhile.
#[derive(Default)]
struct Edit {
    form: Option<RiskForm>,
    errors: FieldErrors,
    conflict: Option<RiskForm>,
}

async fn risk_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    code: &str,
    notice: Option<&'static str>,
    error: Option<String>,
    edit: Edit,
) -> PageResult {
    let code = risk_code(code)?;
    let risk = state.app.risk(&principal, &code).await?;
    // Only the risk's owner or an administrator may accept it; the use case decides, the page
    // offers the form to them alone.
    let may_accept = frame.can.accept_risk
        && (principal.role() == Role::Admin || frame.email == risk.owner.as_str())
        && !risk.closed;
    let may_edit = principal.role().can(Permission::RiskEdit);
    let choices = if may_edit {
        match RiskChoices::load(state, &principal).await {
            Ok(choices) => choices,
            Err(e) if e.0.code == Code::NoMethodology => RiskChoices::default(),
            Err(e) => return Err(e),
        }
    } else {
        RiskChoices::default()
    };
    html(&RiskPage {
        inherent: rating(risk.inherent),
        residual: rating(risk.residual),
        may_accept,
        notice,
        error,
        may_edit: may_edit && !choices.likelihood.is_empty(),
        editing: true,
        form: edit.form.unwrap_or_else(|| RiskForm::of(&risk)),
        errors: edit.errors,
        conflict: edit.conflict,
        choices,
        risk,
        frame,
    })
}

fn risk_code(code: &str) -> PageResult<RiskCode> {
    Ok(RiskCode::parse(code).map_err(|_| AppError::not_found(Code::RiskNotFound, "risk", code))?)
}

/// `POST /o/{org}/risks/{code}`: saves an edit made on the version the form was drawn from; if
/// someone saved another change meanwhile, nothing is written and the page shows both.
async fn edit_risk(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    body: Bytes,
) -> PageResult {
    let pairs = Pairs::parse(&body);
    viewer.check_csrf(pairs.one("csrf"))?;
    let (principal, frame) = enter(&state, &viewer, &org, "risks").await?;
    principal.authorize(Permission::RiskEdit)?;
    let risk = risk_code(&code)?;
    let form = RiskForm { code: risk.to_string(), ..RiskForm::parse(&pairs) };
    let errors = match form.draft(Some(&risk)) {
        Ok(draft) => {
            let found = problems(state.app.risk_problems(&principal, draft.clone()).await?);
            if found.is_empty() {
                match state.app.edit_risk(&principal, draft, Some(&form.version)).await {
                    Ok(_) => return Ok(see(&format!("/o/{org}/risks/{risk}?done=risk-saved"))),
                    Err(e) if e.code == Code::Conflict => {
                        let now = state.app.risk(&principal, &risk).await?;
                        let theirs = RiskForm::of(&now);
                        // The viewer's text stays in the form; saving it again now overwrites
                        // knowingly, on the version they have seen.
                        let mine = RiskForm { version: theirs.version.clone(), ..form };
                        let errors = BTreeMap::from([(
                            "form",
                            "Someone else saved a change to this risk while you were editing it. Nothing of \
                             yours was saved: compare their version with yours below, then save again if yours \
                             should win."
                                .to_owned(),
                        )]);
                        let edit = Edit { form: Some(mine), errors, conflict: Some(theirs) };
                        let page = risk_page(&state, principal, frame, &code, None, None, edit).await?;
                        return Ok((StatusCode::CONFLICT, page).into_response());
                    }
                    Err(e) => risk_error(e)?,
                }
            } else {
                found
            }
        }
        Err(errors) => errors,
    };
    let edit = Edit { form: Some(form), errors, conflict: None };
    let page = risk_page(&state, principal, frame, &code, None, None, edit).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct AcceptForm {
    csrf: String,
    expires: String,
    #[serde(default)]
    note: String,
}

/// `POST /o/{org}/risks/{code}/accept`: records the owner's acceptance of the residual risk.
async fn accept_risk(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<AcceptForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "risks").await?;
    let risk = risk_code(&code)?;
    let accepted = async {
        let expires = NaiveDate::parse_from_str(form.expires.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::invalid("the expiry is a date such as 2027-06-30"))?;
        state.app.accept_risk(&principal, &risk, expires, form.note.trim().to_owned()).await
    }
    .await;
    match accepted {
        Ok(_) => Ok(see(&format!("/o/{org}/risks/{code}?done=risk-accepted"))),
        Err(e) if e.code == Code::InvalidInput => {
            let page = risk_page(&state, principal, frame, &code, None, Some(e.message), Edit::default()).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
