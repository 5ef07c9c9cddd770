//! The Statement of Applicability: the draft, its approved versions, their differences, approval.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use evident_app::soa::{SoaDocument, SoaSelector};
use evident_app::{AppError, Code};
use evident_core::FrameworkId;
use evident_core::soa::{RowChange, SoaRow, SoaVersion};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::frameworks::framework_id;
use super::{AppState, Result, natural_key, paged};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{ErrorSchema, Org};

fn framework(id: Option<&str>) -> Result<Option<FrameworkId>> {
    id.map(framework_id).transpose()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SoaPage {
    /// The framework whose SoA this is; ISO/IEC 27001:2022 when left out.
    framework: Option<String>,
    /// At most this many items (1 to 500; 100 by default).
    limit: Option<usize>,
    /// Where the previous page ended (its `next_cursor`).
    cursor: Option<String>,
}

/// `GET /api/orgs/{org}/soa?framework=&limit=&cursor=`: the current (draft) SoA, a row per
/// Annex A control in the standard's order.
#[utoipa::path(get, path = "/api/orgs/{org}/soa", tag = "soa", params(Org, SoaPage),
    responses((status = 200, description = "`{\"items\": [{\"ref\", \"title\", \"theme\", \"applicable\", \"reasons\", \"justification\", \"implementation\", \"implementing_controls\", \"risks\"}…], \"next_cursor\"}`", body = Object),
              (status = 404, description = "organisation_not_found, framework_not_found", body = ErrorSchema)))]
pub(crate) async fn draft(
    state: AppState,
    Path(org): Path<String>,
    Query(page): Query<SoaPage>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let rows = state.app.soa(&principal, framework(page.framework.as_deref())?.as_ref()).await?;
    let key = |row: &SoaRow| natural_key(row.reference.as_str());
    paged(rows, page.limit, page.cursor.as_deref(), key)
}

/// `GET /api/orgs/{org}/soa/versions?framework=&limit=&cursor=`: the approved versions, oldest
/// first, without their rows.
#[utoipa::path(get, path = "/api/orgs/{org}/soa/versions", tag = "soa", params(Org, SoaPage),
    responses((status = 200, description = "`{\"items\": [{\"version\", \"approved_by\", \"approved_at\", \"digest\", \"rows\", \"excluded\"}…], \"next_cursor\"}`", body = Object),
              (status = 404, description = "organisation_not_found, framework_not_found", body = ErrorSchema)))]
pub(crate) async fn versions(
    state: AppState,
    Path(org): Path<String>,
    Query(page): Query<SoaPage>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let versions = state.app.soa_versions(&principal, framework(page.framework.as_deref())?.as_ref()).await?;
    let summaries: Vec<serde_json::Value> = versions
        .iter()
        .map(|v: &SoaVersion| {
            json!({"version": v.version, "approved_by": v.approved_by, "approved_at": v.approved_at,
                   "digest": v.digest, "rows": v.rows.len(), "excluded": v.rows.iter().filter(|r| !r.applicable).count()})
        })
        .collect();
    let key = |v: &serde_json::Value| format!("{:020}", v["version"].as_i64().unwrap_or_default());
    paged(summaries, page.limit, page.cursor.as_deref(), key)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct WhichFramework {
    /// The framework whose SoA this is; ISO/IEC 27001:2022 when left out.
    framework: Option<String>,
}

/// `GET /api/orgs/{org}/soa/versions/{version}?framework=`: one approved version with its rows.
#[utoipa::path(get, path = "/api/orgs/{org}/soa/versions/{version}", tag = "soa",
    params(Org, ("version" = i64, Path, description = "the version's number"), WhichFramework),
    responses((status = 200, description = "`{\"label\", \"approved_by\", \"approved_at\", \"rows\": […]}`", body = Object),
              (status = 404, description = "soa_version_not_found, framework_not_found", body = ErrorSchema)))]
pub(crate) async fn version(
    state: AppState,
    Path((org, version)): Path<(String, String)>,
    Query(query): Query<WhichFramework>,
    caller: Caller,
) -> Result<Json<SoaDocument>> {
    let principal = caller.in_org(&state, &org).await?;
    let number = version
        .parse::<i64>()
        .map_err(|_| ApiError(AppError::not_found(Code::SoaVersionNotFound, "approved SoA version", &version)))?;
    let framework = framework(query.framework.as_deref())?;
    Ok(Json(state.app.soa_document(&principal, framework.as_ref(), SoaSelector::Version(number)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DiffQuery {
    /// The framework whose SoA this is; ISO/IEC 27001:2022 when left out.
    framework: Option<String>,
    /// A version's number, or `draft`.
    from: String,
    /// A version's number, or `draft` (the default).
    to: Option<String>,
}

fn selector(text: &str) -> Result<SoaSelector> {
    text.parse().map_err(|message: String| ApiError::new(Code::InvalidInput, message))
}

/// `GET /api/orgs/{org}/soa/diff?from=&to=&framework=`: what changed between two versions (or a
/// version and the draft), row by row and field by field.
#[utoipa::path(get, path = "/api/orgs/{org}/soa/diff", tag = "soa", params(Org, DiffQuery),
    responses((status = 200, description = "`{\"from\", \"to\", \"changes\": [{\"ref\", \"field\", \"before\", \"after\"}…]}`", body = Object),
              (status = 400, description = "invalid_input: neither a number nor `draft`", body = ErrorSchema),
              (status = 404, description = "soa_version_not_found, framework_not_found", body = ErrorSchema)))]
pub(crate) async fn diff(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<DiffQuery>,
    caller: Caller,
) -> Result<Json<serde_json::Value>> {
    let principal = caller.in_org(&state, &org).await?;
    let from = selector(&query.from)?;
    let to = query.to.as_deref().map(selector).transpose()?.unwrap_or(SoaSelector::Draft);
    let framework = framework(query.framework.as_deref())?;
    let changes: Vec<RowChange> = state.app.soa_diff(&principal, framework.as_ref(), from, to).await?;
    Ok(Json(json!({"from": from.to_string(), "to": to.to_string(), "changes": changes})))
}

/// `POST /api/orgs/{org}/soa/approve?framework=`: approves the draft as the next immutable
/// version; when it equals the last version, that one stays in force and nothing is written.
#[utoipa::path(post, path = "/api/orgs/{org}/soa/approve", tag = "soa", params(Org, WhichFramework),
    responses((status = 201, description = "a new version: `{\"version\", \"created\": true, \"unjustified\"}`", body = Object),
              (status = 200, description = "nothing changed since the last version: `{\"version\", \"created\": false, \"unjustified\"}`", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 422, description = "rule_violated: an excluded control treats an open risk", body = ErrorSchema)))]
pub(crate) async fn approve(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<WhichFramework>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let framework = framework(query.framework.as_deref())?;
    let approval = state.app.approve_soa(&principal, framework.as_ref()).await?;
    let status = if approval.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(approval)).into_response())
}
