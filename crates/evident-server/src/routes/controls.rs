//! Creating and retiring controls, and their mappings to framework requirements.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use evident_app::{AppError, Code};
use evident_core::freshness::MaxAge;
use evident_core::{Coverage, Email, Frequency, ImplementationStatus, Mapping, NewControl, RequirementRef};
use serde::Deserialize;
use utoipa::ToSchema;

use super::frameworks::framework_id;
use super::{AppState, Result, control_response, parse_code};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::openapi::{ErrorSchema, Org};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ControlCreate {
    /// The control's code, e.g. IAM-03 (unique without regard to case).
    code: String,
    title: String,
    #[serde(default)]
    description: String,
    /// The e-mail of a member.
    #[schema(value_type = Option<String>)]
    owner: Option<Email>,
    /// continuous, daily, weekly, monthly, quarterly, semi_annual, annual, event_driven.
    #[schema(value_type = String)]
    frequency: Frequency,
    /// 1 to 1830 days; the frequency's own limit when left out.
    #[schema(value_type = Option<u32>)]
    max_evidence_age_days: Option<MaxAge>,
    /// not_started (the default), in_progress, implemented, not_applicable.
    #[schema(value_type = Option<String>)]
    status: Option<ImplementationStatus>,
}

/// `POST /api/orgs/{org}/controls`: creates a control.
#[utoipa::path(post, path = "/api/orgs/{org}/controls", tag = "controls", params(Org), request_body = ControlCreate,
    responses((status = 201, description = "created; the control with its mappings (none) and its ETag", body = Object),
              (status = 400, description = "invalid_input, not_a_member (the owner)", body = ErrorSchema),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 409, description = "already_exists: the code is taken", body = ErrorSchema)))]
pub(crate) async fn create(
    state: AppState,
    Path(org): Path<String>,
    caller: Caller,
    ApiJson(body): ApiJson<ControlCreate>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let code = evident_core::ControlCode::parse(&body.code).map_err(AppError::from)?;
    let status = body.status.unwrap_or(ImplementationStatus::NotStarted);
    let control = NewControl::new(code, &body.title, &body.description, body.owner, body.frequency, status)
        .map_err(AppError::invalid_from)?
        .with_max_evidence_age(body.max_evidence_age_days);
    let created = state.app.create_control(&principal, control).await?;
    let view = state.app.control(&principal, &created.code).await?;
    Ok((StatusCode::CREATED, control_response(view)).into_response())
}

/// `POST /api/orgs/{org}/controls/{code}/retire`: retires the control: it stays on record, with
/// its history, but no longer counts.
#[utoipa::path(post, path = "/api/orgs/{org}/controls/{code}/retire", tag = "controls",
    params(Org, ("code" = String, Path, description = "the control's code")),
    responses((status = 200, description = "retired; the control as it is now (`retired_at` set)", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 404, description = "control_not_found", body = ErrorSchema),
              (status = 409, description = "conflict: it is retired already", body = ErrorSchema)))]
pub(crate) async fn retire(
    state: AppState,
    Path((org, code)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let code = parse_code(&code)?;
    state.app.retire_control(&principal, &code).await?;
    Ok(control_response(state.app.control(&principal, &code).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewMapping {
    /// The framework's id, e.g. iso27001:2022.
    framework: String,
    /// An assessable requirement of it, e.g. A.5.15.
    requirement: String,
    /// full (the default) or partial.
    #[schema(value_type = Option<String>)]
    coverage: Option<Coverage>,
    /// Which part of the requirement the control meets (required).
    rationale: String,
}

/// `POST /api/orgs/{org}/controls/{code}/mappings`: maps the control to a requirement, or changes
/// the coverage and rationale of its mapping there. A control owner maps only their controls.
#[utoipa::path(post, path = "/api/orgs/{org}/controls/{code}/mappings", tag = "controls",
    params(Org, ("code" = String, Path, description = "the control's code")), request_body = NewMapping,
    responses((status = 200, description = "the mapping as it is now", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 404, description = "control_not_found, framework_not_found", body = ErrorSchema),
              (status = 422, description = "requirement_not_in_framework, requirement_not_assessable", body = ErrorSchema)))]
pub(crate) async fn map(
    state: AppState,
    Path((org, code)): Path<(String, String)>,
    caller: Caller,
    ApiJson(body): ApiJson<NewMapping>,
) -> Result<Json<Mapping>> {
    let principal = caller.in_org(&state, &org).await?;
    let code = parse_code(&code)?;
    let framework = framework_id(&body.framework)?;
    let requirement = RequirementRef::parse(&body.requirement).map_err(AppError::from)?;
    let coverage = body.coverage.unwrap_or(Coverage::Full);
    Ok(Json(state.app.map_control(&principal, &code, &framework, &requirement, coverage, &body.rationale).await?))
}

/// `DELETE /api/orgs/{org}/controls/{code}/mappings/{framework}/{ref}`: removes the mapping.
#[utoipa::path(delete, path = "/api/orgs/{org}/controls/{code}/mappings/{framework}/{ref}", tag = "controls",
    params(Org, ("code" = String, Path, description = "the control's code"),
           ("framework" = String, Path, description = "the framework's id (`/` sent as `%2F`)"),
           ("ref" = String, Path, description = "the requirement, e.g. A.5.15")),
    responses((status = 204, description = "removed"),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 404, description = "control_not_found, mapping_not_found", body = ErrorSchema)))]
pub(crate) async fn unmap(
    state: AppState,
    Path((org, code, framework, reference)): Path<(String, String, String, String)>,
    caller: Caller,
) -> Result<StatusCode> {
    let principal = caller.in_org(&state, &org).await?;
    let code = parse_code(&code)?;
    let no_such = || {
        let key = format!("{code} -> {framework} {reference}");
        ApiError(AppError::not_found(Code::MappingNotFound, "mapping", key))
    };
    let framework_id = evident_core::FrameworkId::parse(&framework).map_err(|_| no_such())?;
    let requirement = RequirementRef::parse(&reference).map_err(|_| no_such())?;
    state.app.unmap_control(&principal, &code, &framework_id, &requirement).await?;
    Ok(StatusCode::NO_CONTENT)
}
