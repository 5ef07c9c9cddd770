//! Controls.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use evident_app::controls::ControlView;
use evident_app::{AppError, Code, Principal};
use evident_core::freshness::MaxAge;
use evident_core::{
    ControlCode, ControlPatch, Coverage, Email, FrameworkId, Frequency, ImplementationStatus, NewControl,
    RequirementRef,
};
use serde::Deserialize;

use super::evidence::{EvidenceRow, evidence_row};
use super::{AppState, CsrfOnly, Frame, NoticeQuery, date, enter, notice};
use crate::State;
use crate::web::{PageError, PageResult, Viewer, html, see};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new()
        .route("/o/{org}/controls", get(controls).post(create_control))
        .route("/o/{org}/controls/baseline", post(adopt_baseline))
        .route("/o/{org}/controls/{code}", get(control).post(edit_control))
        .route("/o/{org}/controls/{code}/map", post(map_control))
        .route("/o/{org}/controls/{code}/unmap", post(unmap_control))
        .route("/o/{org}/controls/{code}/retire", post(retire_control))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ControlFilter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    framework: String,
    #[serde(default)]
    freshness: String,
    #[serde(default)]
    page: usize,
    done: Option<String>,
}

struct ControlRow {
    code: String,
    title: String,
    owner: String,
    status: String,
    frequency: String,
    frameworks: String,
    freshness: String,
}

/// How many controls one page of the list shows.
const CONTROLS_PAGE: usize = 100;

#[derive(Template)]
#[template(path = "controls.html")]
struct ControlsPage {
    frame: Frame,
    notice: Option<&'static str>,
    filter: ControlFilter,
    rows: Vec<ControlRow>,
    total: usize,
    next: Option<usize>,
    previous: Option<usize>,
    owners: Vec<String>,
    frameworks: Vec<String>,
    statuses: Vec<String>,
    states: Vec<String>,
    form: ControlForm,
    errors: BTreeMap<&'static str, String>,
}

#[derive(Template)]
#[template(path = "controls_table.html")]
struct ControlsTable {
    frame: Frame,
    filter: ControlFilter,
    rows: Vec<ControlRow>,
    total: usize,
    next: Option<usize>,
    previous: Option<usize>,
}

/// `GET /o/{org}/controls`: the list, filtered by owner, status, framework, freshness and text;
/// an htmx request gets the table alone.
async fn controls(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(filter): Query<ControlFilter>,
    headers: HeaderMap,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "controls").await?;
    let partial = headers.contains_key("hx-request");
    controls_page(&state, principal, frame, filter, ControlForm::default(), BTreeMap::new(), partial).await
}

async fn controls_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    filter: ControlFilter,
    form: ControlForm,
    errors: BTreeMap<&'static str, String>,
    partial: bool,
) -> PageResult {
    let all = state.app.controls_shared(&principal, false).await?;
    let freshness = if filter.freshness.is_empty() {
        BTreeMap::new()
    } else {
        state
            .app
            .freshness(&principal, 0)
            .await?
            .controls
            .into_iter()
            .map(|c| (c.code.to_string(), c.state.to_string()))
            .collect()
    };
    let q = filter.q.trim().to_lowercase();
    let matching: Vec<&ControlView> = all
        .iter()
        .filter(|v| {
            let c = &v.control;
            (q.is_empty() || c.code.as_str().to_lowercase().contains(&q) || c.title.to_lowercase().contains(&q))
                && (filter.owner.is_empty()
                    || c.owner.as_ref().map(|o| o.as_str()) == Some(filter.owner.as_str())
                    || (filter.owner == "-" && c.owner.is_none()))
                && (filter.status.is_empty() || c.status.as_str() == filter.status)
                && (filter.framework.is_empty()
                    || v.mappings.iter().any(|m| m.framework.to_string() == filter.framework))
                && (filter.freshness.is_empty()
                    || freshness.get(c.code.as_str()).map(String::as_str) == Some(filter.freshness.as_str()))
        })
        .collect();
    let total = matching.len();
    let start = filter.page.saturating_mul(CONTROLS_PAGE).min(total);
    let rows = matching[start..(start + CONTROLS_PAGE).min(total)]
        .iter()
        .map(|v| {
            let mut frameworks: Vec<String> = v.mappings.iter().map(|m| m.framework.to_string()).collect();
            frameworks.dedup();
            frameworks.sort();
            frameworks.dedup();
            ControlRow {
                code: v.control.code.to_string(),
                title: v.control.title.clone(),
                owner: v.control.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
                status: v.control.status.to_string(),
                frequency: v.control.frequency.to_string(),
                frameworks: frameworks.join(", "),
                freshness: freshness.get(v.control.code.as_str()).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let next = (start + CONTROLS_PAGE < total).then_some(filter.page + 1);
    let previous = filter.page.checked_sub(1);
    if partial {
        return html(&ControlsTable { frame, filter, rows, total, next, previous });
    }
    let mut owners: Vec<String> = all.iter().filter_map(|v| v.control.owner.as_ref().map(|o| o.to_string())).collect();
    owners.sort();
    owners.dedup();
    let frameworks = state
        .app
        .frameworks(Some(&principal))
        .await?
        .into_iter()
        .filter(|f| f.adopted == Some(true))
        .map(|f| f.id.to_string())
        .collect();
    html(&ControlsPage {
        notice: notice(filter.done.as_deref()),
        rows,
        total,
        next,
        previous,
        owners,
        frameworks,
        statuses: ImplementationStatus::ALL.iter().map(|s| s.to_string()).collect(),
        states: evident_core::freshness::State::ALL.iter().map(|s| s.to_string()).collect(),
        filter,
        form,
        errors,
        frame,
    })
}

/// A control form's typed fields: owner, frequency, status, maximum evidence age.
type ControlFields = (Option<Email>, Frequency, ImplementationStatus, Option<MaxAge>);
/// Each problem of a form under its field's name (`form` for the form as a whole).
type FieldErrors = BTreeMap<&'static str, String>;

/// A control's fields as a form holds them (text, as typed).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct ControlForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    frequency: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    max_age: String,
    #[serde(default)]
    revision: i64,
}

impl ControlForm {
    fn of(control: &evident_core::Control) -> ControlForm {
        ControlForm {
            csrf: String::new(),
            code: control.code.to_string(),
            title: control.title.clone(),
            description: control.description.clone(),
            owner: control.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
            frequency: control.frequency.to_string(),
            status: control.status.to_string(),
            max_age: control.max_evidence_age_days.map(|m| m.days().to_string()).unwrap_or_default(),
            revision: control.revision,
        }
    }

    /// The typed fields, each problem under its field's name.
    fn fields(&self) -> Result<ControlFields, FieldErrors> {
        let mut errors = BTreeMap::new();
        let owner = match self.owner.trim() {
            "" => None,
            o => Email::parse(o).map_err(|_| errors.insert("owner", format!("{o:?} is not an e-mail address"))).ok(),
        };
        let frequency = Frequency::parse(&self.frequency)
            .map_err(|_| errors.insert("frequency", "choose how often the control operates".to_owned()))
            .ok();
        let status = ImplementationStatus::parse(&self.status)
            .map_err(|_| errors.insert("status", "choose the control's status".to_owned()))
            .ok();
        let max_age = match self.max_age.trim() {
            "" => None,
            days => days.parse::<u32>().ok().and_then(|d| MaxAge::new(d).ok()).or_else(|| {
                errors.insert("max_age", "a number of days, 1 to 1830, or empty".to_owned());
                None
            }),
        };
        if self.title.trim().is_empty() {
            errors.insert("title", "a control needs a title".to_owned());
        }
        match (frequency, status) {
            (Some(f), Some(s)) if errors.is_empty() => Ok((owner, f, s, max_age)),
            _ => Err(errors),
        }
    }
}

/// Where a use case's refusal of a control form belongs.
fn control_error(e: AppError) -> PageResult<BTreeMap<&'static str, String>> {
    let field = match e.code {
        Code::NotAMember => "owner",
        Code::AlreadyExists => "code",
        Code::InvalidInput | Code::NothingToChange | Code::Conflict => "form",
        _ => return Err(e.into()),
    };
    Ok(BTreeMap::from([(field, e.message)]))
}

/// `POST /o/{org}/controls`: creates a control.
async fn create_control(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    Form(form): Form<ControlForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "controls").await?;
    let mut errors = BTreeMap::new();
    let code = ControlCode::parse(form.code.trim()).map_err(|e| errors.insert("code", e.to_string())).ok();
    let fields = form.fields().map_err(|e| errors.extend(e)).ok();
    if let (Some(code), Some((owner, frequency, status, max_age))) = (code, fields) {
        let new = NewControl {
            code: code.clone(),
            title: form.title.trim().to_owned(),
            description: form.description.trim().to_owned(),
            owner,
            frequency,
            max_evidence_age_days: max_age,
            status,
        };
        match state.app.create_control(&principal, new).await {
            Ok(_) => return Ok(see(&format!("/o/{org}/controls/{code}?done=created"))),
            Err(e) => errors = control_error(e)?,
        }
    }
    let page = controls_page(&state, principal, frame, ControlFilter::default(), form, errors, false).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// `POST /o/{org}/controls/baseline`: adopts the baseline library's controls with their mappings.
async fn adopt_baseline(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let principal = viewer.in_org(&state, &org).await?;
    state.app.adopt_baseline(&principal, &[]).await?;
    Ok(see(&format!("/o/{org}/controls?done=baseline")))
}

struct MappingRow {
    framework: String,
    requirement: String,
    coverage: String,
    rationale: String,
}

#[derive(Template)]
#[template(path = "control.html")]
struct ControlPage {
    frame: Frame,
    notice: Option<&'static str>,
    code: String,
    title: String,
    description: String,
    owner: String,
    status: String,
    frequency: String,
    retired: bool,
    may_edit: bool,
    may_map: bool,
    mappings: Vec<MappingRow>,
    evidence: Vec<EvidenceRow>,
    freshness: Option<(String, String, String)>,
    risks: Vec<(String, String)>,
    form: ControlForm,
    errors: BTreeMap<&'static str, String>,
    /// The control as someone else saved it meanwhile, when an edit came too late.
    conflict: Option<ControlForm>,
    members: Vec<String>,
    frequencies: Vec<String>,
    statuses: Vec<String>,
    frameworks: Vec<String>,
}

/// `GET /o/{org}/controls/{code}`: the control, its mappings across frameworks, its evidence
/// and freshness, the risks it treats; its forms for those who may use them.
async fn control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "controls").await?;
    let code = control_code(&code)?;
    control_page(&state, principal, frame, &code, notice(q.done.as_deref()), None, BTreeMap::new(), None).await
}

fn control_code(code: &str) -> PageResult<ControlCode> {
    ControlCode::parse(code).map_err(|_| PageError(AppError::not_found(Code::ControlNotFound, "control", code)))
}

#[allow(clippy::too_many_arguments)]
async fn control_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    code: &ControlCode,
    notice: Option<&'static str>,
    form: Option<ControlForm>,
    errors: BTreeMap<&'static str, String>,
    conflict: Option<ControlForm>,
) -> PageResult {
    let view = state.app.control(&principal, code).await?;
    let control = &view.control;
    let evidence = state.app.evidence_list(&principal, Some(code), true, Some(50)).await?;
    let freshness = state.app.control_freshness(&principal, code).await?.map(|c| {
        (
            c.state.to_string(),
            c.last_effective.map(date).unwrap_or_else(|| "never".to_owned()),
            c.next_due.map(date).unwrap_or_else(|| "now".to_owned()),
        )
    });
    let risks = state
        .app
        .risks(&principal)
        .await?
        .into_iter()
        .filter(|r| r.controls.iter().any(|t| &t.control == code))
        .map(|r| (r.code.to_string(), r.title))
        .collect();
    let may_edit = principal.authorize_control(evident_core::Permission::ControlEdit, control.owner.as_ref()).is_ok()
        && control.is_active();
    let may_map = principal.authorize_control(evident_core::Permission::MappingWrite, control.owner.as_ref()).is_ok()
        && control.is_active();
    let members = if may_edit {
        let mut m: Vec<String> =
            state.app.members(&principal).await?.into_iter().map(|m| m.email.to_string()).collect();
        m.sort();
        m
    } else {
        Vec::new()
    };
    let frameworks = if may_map {
        state
            .app
            .frameworks(Some(&principal))
            .await?
            .into_iter()
            .filter(|f| f.adopted == Some(true))
            .map(|f| f.id.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let mut mappings: Vec<MappingRow> = view
        .mappings
        .iter()
        .map(|m| MappingRow {
            framework: m.framework.to_string(),
            requirement: m.requirement.to_string(),
            coverage: m.coverage.to_string(),
            rationale: m.rationale.clone(),
        })
        .collect();
    mappings.sort_by(|a, b| (&a.framework, &a.requirement).cmp(&(&b.framework, &b.requirement)));
    html(&ControlPage {
        notice,
        code: control.code.to_string(),
        title: control.title.clone(),
        description: control.description.clone(),
        owner: control.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
        status: control.status.to_string(),
        frequency: control.frequency.to_string(),
        retired: !control.is_active(),
        may_edit,
        may_map,
        mappings,
        evidence: evidence.iter().map(evidence_row).collect(),
        freshness,
        risks,
        form: form.unwrap_or_else(|| ControlForm::of(control)),
        errors,
        conflict,
        members,
        frequencies: Frequency::ALL.iter().map(|f| f.to_string()).collect(),
        statuses: ImplementationStatus::ALL.iter().map(|s| s.to_string()).collect(),
        frameworks,
        frame,
    })
}

/// `POST /o/{org}/controls/{code}`: saves an edit made on the revision the form was drawn from; if
/// someone saved another change meanwhile, nothing is written and the page shows both.
async fn edit_control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<ControlForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "controls").await?;
    let code = control_code(&code)?;
    let errors = match form.fields() {
        Ok((owner, frequency, status, max_age)) => {
            let patch = ControlPatch {
                title: Some(form.title.trim().to_owned()),
                description: Some(form.description.trim().to_owned()),
                owner: Some(owner),
                frequency: Some(frequency),
                max_evidence_age_days: Some(max_age),
                status: Some(status),
            };
            match state.app.edit_control(&principal, &code, patch, Some(form.revision)).await {
                Ok(_) => return Ok(see(&format!("/o/{org}/controls/{code}?done=saved"))),
                Err(e) if e.code == Code::NothingToChange => {
                    return Ok(see(&format!("/o/{org}/controls/{code}")));
                }
                Err(e) if e.code == Code::Conflict => {
                    let now = state.app.control(&principal, &code).await?;
                    let theirs = ControlForm::of(&now.control);
                    // The viewer's text stays in the form; saving it again now overwrites
                    // knowingly, on the revision they have seen.
                    let mine = ControlForm { revision: theirs.revision, ..form };
                    let errors = BTreeMap::from([(
                        "form",
                        "Someone else saved a change to this control while you were editing it. Nothing of \
                         yours was saved: compare their version with yours below, then save again if yours \
                         should win."
                            .to_owned(),
                    )]);
                    let page =
                        control_page(&state, principal, frame, &code, None, Some(mine), errors, Some(theirs)).await?;
                    return Ok((StatusCode::CONFLICT, page).into_response());
                }
                Err(e) => control_error(e)?,
            }
        }
        Err(errors) => errors,
    };
    let page = control_page(&state, principal, frame, &code, None, Some(form), errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct MapForm {
    csrf: String,
    framework: String,
    requirement: String,
    coverage: String,
    #[serde(default)]
    rationale: String,
}

/// `POST /o/{org}/controls/{code}/map`: maps the control to a requirement.
async fn map_control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<MapForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "controls").await?;
    let code = control_code(&code)?;
    let mapped = async {
        let framework = FrameworkId::parse(&form.framework).map_err(AppError::from)?;
        let requirement = RequirementRef::parse(form.requirement.trim()).map_err(AppError::from)?;
        let coverage = Coverage::parse(&form.coverage).map_err(AppError::from)?;
        state.app.map_control(&principal, &code, &framework, &requirement, coverage, form.rationale.trim()).await
    }
    .await;
    match mapped {
        Ok(_) => Ok(see(&format!("/o/{org}/controls/{code}?done=mapped"))),
        Err(e)
            if matches!(
                e.code,
                Code::InvalidInput
                    | Code::RequirementNotInFramework
                    | Code::RequirementNotAssessable
                    | Code::FrameworkNotFound
                    | Code::FrameworkNotAdopted
            ) =>
        {
            let errors = BTreeMap::from([("map", e.message)]);
            let page = control_page(&state, principal, frame, &code, None, None, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct UnmapForm {
    csrf: String,
    framework: String,
    requirement: String,
}

/// `POST /o/{org}/controls/{code}/unmap`: removes one mapping.
async fn unmap_control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<UnmapForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let principal = viewer.in_org(&state, &org).await?;
    let code = control_code(&code)?;
    let framework = FrameworkId::parse(&form.framework).map_err(AppError::from)?;
    let requirement = RequirementRef::parse(&form.requirement).map_err(AppError::from)?;
    state.app.unmap_control(&principal, &code, &framework, &requirement).await?;
    Ok(see(&format!("/o/{org}/controls/{code}?done=unmapped")))
}

/// `POST /o/{org}/controls/{code}/retire`: retires the control.
async fn retire_control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let principal = viewer.in_org(&state, &org).await?;
    let code = control_code(&code)?;
    state.app.retire_control(&principal, &code).await?;
    Ok(see(&format!("/o/{org}/controls/{code}?done=retired")))
}
