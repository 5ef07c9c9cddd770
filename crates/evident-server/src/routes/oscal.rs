//! OSCAL through the API: check an uploaded document, import an uploaded catalog as a framework,
//! and download the organisation's SSP, assessment results or POA&M for an adopted framework.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use evident_app::oscal::{ExportKind, Limits, OscalImport, OscalValidation};
use evident_app::{AppError, Code};
use serde::Deserialize;
use utoipa::IntoParams;

use super::frameworks::framework_id;
use super::{AppState, Result};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::openapi::{ErrorSchema, Org};

/// The body again as bytes: the use cases read OSCAL as a file's bytes.
fn bytes(body: &serde_json::Value) -> Result<Vec<u8>> {
    serde_json::to_vec(body)
        .map_err(|e| ApiError(AppError::new(Code::Unexpected, format!("cannot write the body back as JSON: {e}"))))
}

/// `POST /api/oscal/validate`: checks an OSCAL document (catalog, profile, SSP, assessment results
/// or POA&M) against NIST's schema and its own references, as `evident oscal validate`.
#[utoipa::path(post, path = "/api/oscal/validate", tag = "oscal", request_body(content = Object, description = "an OSCAL document (JSON)"),
    responses((status = 200, description = "`{\"file\", \"model\", \"controls\"}`: the document is valid", body = Object),
              (status = 422, description = "oscal_invalid (every violation with its JSON path), invalid_file", body = ErrorSchema)))]
pub(crate) async fn validate(
    _state: AppState,
    _caller: Caller,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Json<OscalValidation>> {
    let bytes = bytes(&body)?;
    Ok(Json(evident_app::oscal::validate_oscal_bytes("upload.json", &bytes, &Limits::default())?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// The framework's id, with a namespace (NAMESPACE/NAME:VERSION); by default
    /// oscal/<the catalog's title>:<its version>.
    id: Option<String>,
}

/// `POST /api/orgs/{org}/oscal/imports?id=`: imports an OSCAL catalog (the body) into the
/// organisation's library; the same content again changes nothing. A profile is refused: its
/// imports name files (resolve it first, `evident oscal resolve`).
#[utoipa::path(post, path = "/api/orgs/{org}/oscal/imports", tag = "oscal", params(Org, ImportQuery),
    request_body(content = Object, description = "an OSCAL catalog (JSON)"),
    responses((status = 201, description = "imported: `{\"id\", \"requirements\", \"assessable\", \"created\": true, \"withdrawn\", …}`", body = Object),
              (status = 200, description = "this very content was imported already: `created` is false", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 409, description = "already_exists: other content under that id", body = ErrorSchema),
              (status = 422, description = "oscal_invalid, invalid_file", body = ErrorSchema)))]
pub(crate) async fn import(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<ImportQuery>,
    caller: Caller,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let id = query.id.as_deref().map(framework_id).transpose()?;
    let bytes = bytes(&body)?;
    let report: OscalImport =
        state.app.import_oscal_catalog_bytes(&principal, "upload.json", &bytes, id, &Limits::default()).await?;
    let status = if report.import.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(report)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// The adopted framework, e.g. iso27001:2022.
    framework: String,
    /// POA&M: where the SSP is, relative to the POA&M (its import-ssp href); `ssp.json` by default.
    ssp_href: Option<String>,
}

/// `GET /api/orgs/{org}/oscal/exports/{kind}?framework=`: the organisation's SSP (`ssp`),
/// assessment results (`ar`) or POA&M (`poam`) for an adopted framework, OSCAL 1.2.1 JSON, as a
/// download. UUIDs derive from evident's ids: a second download differs only in
/// `metadata/last-modified`.
#[utoipa::path(get, path = "/api/orgs/{org}/oscal/exports/{kind}", tag = "oscal",
    params(Org, ("kind" = String, Path, description = "ssp, ar or poam"), ExportQuery),
    responses((status = 200, description = "the OSCAL document (Content-Disposition: attachment)", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 404, description = "organisation_not_found, framework_not_found, route_not_found (another kind)", body = ErrorSchema),
              (status = 422, description = "framework_not_adopted", body = ErrorSchema)))]
pub(crate) async fn export(
    state: AppState,
    Path((org, kind)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
    caller: Caller,
) -> Result<Response> {
    let Some(kind) = ExportKind::parse(&kind) else {
        return Err(ApiError::new(Code::RouteNotFound, "an OSCAL export is ssp, ar or poam"));
    };
    let principal = caller.in_org(&state, &org).await?;
    let framework = framework_id(&query.framework)?;
    let href = query.ssp_href.as_deref().unwrap_or("ssp.json");
    let (document, _) = state.app.export_oscal(&principal, kind, &framework, href).await?;
    let disposition = format!("attachment; filename=\"{}.json\"", kind.as_str());
    let disposition = HeaderValue::from_str(&disposition).unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        document,
    )
        .into_response())
}
