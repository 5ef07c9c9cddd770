//! The risk register: risks, acceptance, the heat map, the treatment plan, the methodology.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use evident_app::risks::{PlanRow, RiskDraft, RiskFilter, risk_version};
use evident_app::{AppError, Code};
use evident_core::risk::{
    Acceptance, HeatMap, Methodology, MethodologyDraft, MethodologyVersion, Risk, Treating, Treatment,
};
use evident_core::{AssetCode, ControlCode, Email, RiskCode};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{AppState, Cursor, Result, natural_key, paged};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::list::{self, Sort, SortKeys};
use crate::openapi::{ErrorSchema, Org};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RiskQuery {
    /// Only the risks this member owns (an e-mail).
    #[param(value_type = Option<String>)]
    owner: Option<Email>,
    /// Only the risks with this treatment: modify, retain, avoid, share.
    #[param(value_type = Option<String>)]
    treatment: Option<Treatment>,
    /// Only closed (true) or open (false) risks.
    closed: Option<bool>,
    /// code (the default), title, owner, treatment, review_date, inherent or residual (the
    /// rating's likelihood × impact); `-KEY` for descending. Any other is `invalid_input`.
    sort: Option<String>,
    /// At most this many items (1 to 500; 100 by default).
    limit: Option<usize>,
    /// Where the previous page ended (its `next_cursor`, in the same sort).
    cursor: Option<String>,
}

/// What the risks list sorts by; `code` is the default.
pub(crate) const SORTS: SortKeys = &["code", "title", "owner", "treatment", "review_date", "inherent", "residual"];

/// A risk's sort key: the value sorted by, then its code (unique), so no two tie.
fn sort_key(risk: &Risk, sort: &Sort) -> String {
    let rating = |r: evident_core::risk::Rating| list::number(u32::from(r.likelihood()) * u32::from(r.impact()));
    let value = match sort.key {
        "title" => risk.title.to_lowercase(),
        "owner" => risk.owner.to_string(),
        "treatment" => risk.treatment.as_str().to_owned(),
        "review_date" => risk.review_date.to_string(),
        "inherent" => rating(risk.inherent),
        "residual" => rating(risk.residual),
        _ => String::new(),
    };
    format!("{value}\u{0}{}", natural_key(risk.code.as_str()))
}

/// `GET /api/orgs/{org}/risks?owner=&treatment=&closed=&sort=&limit=&cursor=`: the register, by
/// code unless sorted otherwise.
#[utoipa::path(get, path = "/api/orgs/{org}/risks", tag = "risks", params(Org, RiskQuery),
    responses((status = 200, description = "`{\"items\": [risk…], \"next_cursor\"}`, each as `evident risks list --json`", body = Object),
              (status = 400, description = "invalid_input: a filter, sort key, limit or cursor out of shape", body = ErrorSchema),
              (status = 404, description = "organisation_not_found", body = ErrorSchema)))]
pub(crate) async fn list(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<RiskQuery>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let sort = Sort::parse(query.sort.as_deref(), SORTS)?;
    let filter = RiskFilter { owner: query.owner, treatment: query.treatment, closed: query.closed };
    let risks = state.app.risks_where(&principal, &filter).await?;
    let order = list::ordered(&risks, |r| sort_key(r, &sort));
    Ok(Json(list::page(&risks, &order, &sort, query.limit, query.cursor.as_deref())?).into_response())
}

fn parse_risk(code: &str) -> Result<RiskCode> {
    RiskCode::parse(code).map_err(|_| ApiError(AppError::not_found(Code::RiskNotFound, "risk", code)))
}

/// The risk with its version as `ETag`.
fn risk_response(risk: Risk) -> Response {
    let tag = HeaderValue::from_str(&format!("\"{}\"", risk_version(&risk)))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    ([(header::ETAG, tag)], Json(risk)).into_response()
}

/// `GET /api/orgs/{org}/risks/{code}`: one risk, its version as `ETag`.
#[utoipa::path(get, path = "/api/orgs/{org}/risks/{code}", tag = "risks",
    params(Org, ("code" = String, Path, description = "the risk's code")),
    responses((status = 200, description = "the risk; `ETag` is its version", body = Object),
              (status = 404, description = "organisation_not_found, risk_not_found", body = ErrorSchema)))]
pub(crate) async fn one(
    state: AppState,
    Path((org, code)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    Ok(risk_response(state.app.risk(&principal, &parse_risk(&code)?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Planned {
    #[schema(value_type = String)]
    control: ControlCode,
    #[schema(value_type = String, format = Date)]
    due: NaiveDate,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRisk {
    /// The risk's code, e.g. R-001.
    code: String,
    title: String,
    #[serde(default)]
    description: String,
    /// Asset codes (at least one).
    #[schema(value_type = Vec<String>)]
    assets: Vec<AssetCode>,
    /// Free text, or a starter-list id such as T-01.
    threat: String,
    /// Free text, or a starter-list id such as V-03.
    vulnerability: String,
    /// The e-mail of the member who owns the risk.
    #[schema(value_type = String)]
    owner: Email,
    likelihood: u8,
    impact: u8,
    /// modify, retain, avoid or share.
    #[schema(value_type = String)]
    treatment: Treatment,
    /// Controls in place that treat the risk.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    controls: Vec<ControlCode>,
    /// Planned controls with their due dates.
    #[serde(default)]
    planned: Vec<Planned>,
    residual_likelihood: u8,
    residual_impact: u8,
    /// Required when the residual score is above the inherent one.
    #[serde(default)]
    residual_justification: String,
    #[schema(value_type = String, format = Date)]
    review_date: NaiveDate,
}

/// `POST /api/orgs/{org}/risks`: creates a risk, assessed with the methodology in force.
#[utoipa::path(post, path = "/api/orgs/{org}/risks", tag = "risks", params(Org), request_body = NewRisk,
    responses((status = 201, description = "the risk as recorded", body = Object),
              (status = 400, description = "invalid_input: every problem with the risk, by field", body = ErrorSchema),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 409, description = "already_exists", body = ErrorSchema),
              (status = 422, description = "no_methodology", body = ErrorSchema)))]
pub(crate) async fn create(
    state: AppState,
    Path(org): Path<String>,
    caller: Caller,
    ApiJson(body): ApiJson<NewRisk>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let code = RiskCode::parse(&body.code).map_err(AppError::from)?;
    let in_place = body.controls.into_iter().map(|control| Treating { control, planned: false, due: None });
    let planned = body.planned.into_iter().map(|p| Treating { control: p.control, planned: true, due: Some(p.due) });
    let draft = RiskDraft {
        code,
        title: body.title,
        description: body.description,
        assets: body.assets,
        threat: body.threat,
        vulnerability: body.vulnerability,
        owner: body.owner,
        inherent: (body.likelihood, body.impact),
        treatment: body.treatment,
        controls: in_place.chain(planned).collect(),
        residual: (body.residual_likelihood, body.residual_impact),
        residual_justification: body.residual_justification,
        review_date: body.review_date,
        closed: false,
    };
    let risk = state.app.create_risk(&principal, draft).await?;
    Ok((StatusCode::CREATED, Json(risk)).into_response())
}

/// The fields of a risk to change; those left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RiskEdit {
    title: Option<String>,
    description: Option<String>,
    /// Asset codes (at least one); replaces the list.
    #[schema(value_type = Option<Vec<String>>)]
    assets: Option<Vec<AssetCode>>,
    /// Free text, or a starter-list id such as T-01.
    threat: Option<String>,
    /// Free text, or a starter-list id such as V-03.
    vulnerability: Option<String>,
    /// The e-mail of the member who owns the risk.
    #[schema(value_type = Option<String>)]
    owner: Option<Email>,
    likelihood: Option<u8>,
    impact: Option<u8>,
    /// modify, retain, avoid or share.
    #[schema(value_type = Option<String>)]
    treatment: Option<Treatment>,
    /// Controls in place that treat the risk; replaces those in place, keeps the planned ones.
    #[schema(value_type = Option<Vec<String>>)]
    controls: Option<Vec<ControlCode>>,
    /// Planned controls with their due dates; replaces those planned, keeps those in place.
    planned: Option<Vec<Planned>>,
    residual_likelihood: Option<u8>,
    residual_impact: Option<u8>,
    /// Required when the residual score is above the inherent one.
    residual_justification: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    review_date: Option<NaiveDate>,
    /// A closed risk stays on record but is no longer open.
    closed: Option<bool>,
}

/// `PATCH /api/orgs/{org}/risks/{code}` with `If-Match`: changes the fields given, re-assessed
/// with the methodology in force; acceptances are kept. Refused with `conflict` (409) when the
/// risk changed since that version.
#[utoipa::path(patch, path = "/api/orgs/{org}/risks/{code}", tag = "risks",
    params(Org, ("code" = String, Path, description = "the risk's code"),
           ("If-Match" = String, Header, description = "the ETag of the risk as read (its version)")),
    request_body = RiskEdit,
    responses((status = 200, description = "changed; the risk as it is now, with its new ETag", body = Object),
              (status = 400, description = "invalid_input: every problem with the risk, by field", body = ErrorSchema),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 404, description = "organisation_not_found, risk_not_found", body = ErrorSchema),
              (status = 409, description = "conflict: the risk changed since that version; nothing was written", body = ErrorSchema),
              (status = 422, description = "no_methodology, rule_violated (an SoA exclusion the change would break)", body = ErrorSchema),
              (status = 428, description = "precondition_required: no If-Match", body = ErrorSchema)))]
pub(crate) async fn edit(
    state: AppState,
    Path((org, code)): Path<(String, String)>,
    headers: HeaderMap,
    caller: Caller,
    ApiJson(edit): ApiJson<RiskEdit>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let code = parse_risk(&code)?;
    let version = super::if_match_version(&headers, "risk")?;
    let current = state.app.risk(&principal, &code).await?;
    let (planned, in_place): (Vec<Treating>, Vec<Treating>) = current.controls.into_iter().partition(|t| t.planned);
    let in_place = match edit.controls {
        Some(controls) => controls.into_iter().map(|control| Treating { control, planned: false, due: None }).collect(),
        None => in_place,
    };
    let planned = match edit.planned {
        Some(planned) => {
            planned.into_iter().map(|p| Treating { control: p.control, planned: true, due: Some(p.due) }).collect()
        }
        None => planned,
    };
    let draft = RiskDraft {
        code,
        title: edit.title.unwrap_or(current.title),
        description: edit.description.unwrap_or(current.description),
        assets: edit.assets.unwrap_or(current.assets),
        threat: edit.threat.unwrap_or(current.threat),
        vulnerability: edit.vulnerability.unwrap_or(current.vulnerability),
        owner: edit.owner.unwrap_or(current.owner),
        inherent: (
            edit.likelihood.unwrap_or(current.inherent.likelihood()),
            edit.impact.unwrap_or(current.inherent.impact()),
        ),
        treatment: edit.treatment.unwrap_or(current.treatment),
        controls: in_place.into_iter().chain(planned).collect(),
        residual: (
            edit.residual_likelihood.unwrap_or(current.residual.likelihood()),
            edit.residual_impact.unwrap_or(current.residual.impact()),
        ),
        residual_justification: edit.residual_justification.unwrap_or(current.residual_justification),
        review_date: edit.review_date.unwrap_or(current.review_date),
        closed: edit.closed.unwrap_or(current.closed),
    };
    Ok(risk_response(state.app.edit_risk(&principal, draft, version.as_deref()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RiskAcceptance {
    /// Until when (YYYY-MM-DD, after today).
    #[schema(value_type = String, format = Date)]
    expires: NaiveDate,
    #[serde(default)]
    note: String,
}

/// `POST /api/orgs/{org}/risks/{code}/accept`: accepts the risk's residual level until a date. A
/// person decides this (the risk's owner or an administrator, signed in): an API token cannot.
#[utoipa::path(post, path = "/api/orgs/{org}/risks/{code}/accept", tag = "risks",
    params(Org, ("code" = String, Path, description = "the risk's code")), request_body = RiskAcceptance,
    responses((status = 201, description = "the acceptance: by, at, expires, note, terms", body = Object),
              (status = 403, description = "permission_denied (not the owner nor an administrator), member_required (an API token)", body = ErrorSchema),
              (status = 404, description = "risk_not_found", body = ErrorSchema),
              (status = 422, description = "rule_violated: above the acceptance criteria, or a date not after today", body = ErrorSchema)))]
pub(crate) async fn accept(
    state: AppState,
    Path((org, code)): Path<(String, String)>,
    caller: Caller,
    ApiJson(body): ApiJson<RiskAcceptance>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let code = parse_risk(&code)?;
    let acceptance: Acceptance = state.app.accept_risk(&principal, &code, body.expires, body.note).await?;
    Ok((StatusCode::CREATED, Json(acceptance)).into_response())
}

/// `GET /api/orgs/{org}/heatmap`: open risks per cell of the matrix in force, inherent and residual.
#[utoipa::path(get, path = "/api/orgs/{org}/heatmap", tag = "risks", params(Org),
    responses((status = 200, description = "`{\"methodology\", \"likelihood\", \"impact\", \"inherent\", \"residual\", \"colours\"}`", body = Object),
              (status = 422, description = "no_methodology", body = ErrorSchema)))]
pub(crate) async fn heat_map(state: AppState, Path(org): Path<String>, caller: Caller) -> Result<Json<HeatMap>> {
    let principal = caller.in_org(&state, &org).await?;
    Ok(Json(state.app.heat_map(&principal).await?))
}

/// `GET /api/orgs/{org}/treatment-plan?limit=&cursor=`: each open risk with its treating controls,
/// their status and due dates, by risk and control.
#[utoipa::path(get, path = "/api/orgs/{org}/treatment-plan", tag = "risks", params(Org, Cursor),
    responses((status = 200, description = "`{\"items\": [{\"risk\", \"title\", \"owner\", \"residual_level\", \"treatment\", \"control\", \"control_title\", \"control_status\", \"planned\", \"due\", \"control_owner\"}…], \"next_cursor\"}`", body = Object),
              (status = 403, description = "permission_denied: the plan is an export", body = ErrorSchema)))]
pub(crate) async fn treatment_plan(
    state: AppState,
    Path(org): Path<String>,
    Query(page): Query<Cursor>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let plan = state.app.treatment_plan(&principal).await?;
    let key = |row: &PlanRow| {
        let control = row.control.as_ref().map_or("", |c| c.as_str());
        format!("{}\u{0}{}", natural_key(row.risk.as_str()), natural_key(control))
    };
    paged(plan, page.limit, page.cursor.as_deref(), key)
}

/// `GET /api/orgs/{org}/methodology`: the risk methodology in force, with its version.
#[utoipa::path(get, path = "/api/orgs/{org}/methodology", tag = "risks", params(Org),
    responses((status = 200, description = "`{\"version\", \"methodology\": {likelihood, impact, scores, levels, acceptance_level}, \"created_by\", \"created_at\"}`", body = Object),
              (status = 422, description = "no_methodology", body = ErrorSchema)))]
pub(crate) async fn methodology(
    state: AppState,
    Path(org): Path<String>,
    caller: Caller,
) -> Result<Json<MethodologyVersion>> {
    let principal = caller.in_org(&state, &org).await?;
    Ok(Json(state.app.methodology(&principal).await?))
}

/// A new methodology: one of the presets, or one written out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewMethodology {
    /// 3x3, 4x4 or 5x5 (give this or `methodology`).
    preset: Option<String>,
    /// `{likelihood: [{name, description}…], impact: […], scores?: [[…]…], levels: [{name,
    /// min_score, colour}…], acceptance_level}` (give this or `preset`).
    #[schema(value_type = Option<Object>)]
    methodology: Option<MethodologyDraft>,
}

/// `PUT /api/orgs/{org}/methodology`: makes a methodology the one in force, as its next version;
/// risks assessed before keep the version they were assessed with.
#[utoipa::path(put, path = "/api/orgs/{org}/methodology", tag = "risks", params(Org), request_body = NewMethodology,
    responses((status = 200, description = "the methodology now in force: `{\"version\", \"methodology\", \"created_by\", \"created_at\"}`", body = Object),
              (status = 400, description = "invalid_input: not a valid methodology (what is wrong is named), or not exactly one of preset and methodology", body = ErrorSchema),
              (status = 403, description = "permission_denied", body = ErrorSchema)))]
pub(crate) async fn set_methodology(
    state: AppState,
    Path(org): Path<String>,
    caller: Caller,
    ApiJson(body): ApiJson<NewMethodology>,
) -> Result<Json<MethodologyVersion>> {
    let principal = caller.in_org(&state, &org).await?;
    let methodology = match (body.preset, body.methodology) {
        (Some(preset), None) => evident_app::risks::preset(&preset)?,
        (None, Some(draft)) => {
            Methodology::new(draft).map_err(|e| AppError::invalid(format!("the methodology is not valid: {e}")))?
        }
        _ => return Err(ApiError::new(Code::InvalidInput, "give either preset or methodology")),
    };
    state.app.set_methodology(&principal, methodology).await?;
    Ok(Json(state.app.methodology(&principal).await?))
}
