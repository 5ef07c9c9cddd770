//! The framework library, adoption and the gap delta.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use evident_app::frameworks::FrameworkListing;
use evident_app::{AppError, Code};
use evident_core::{FrameworkId, RequirementRef};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{AppState, Cursor, Result, paged};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::openapi::{ErrorSchema, Org};

/// A framework id in a path: one that does not parse names no framework.
fn path_framework(id: &str) -> Result<FrameworkId> {
    FrameworkId::parse(id).map_err(|_| ApiError(AppError::not_found(Code::FrameworkNotFound, "framework", id)))
}

/// A framework id in a query or a body: one that does not parse is bad input.
pub(super) fn framework_id(id: &str) -> Result<FrameworkId> {
    Ok(FrameworkId::parse(id).map_err(AppError::from)?)
}

fn listing_page(listing: Vec<FrameworkListing>, page: Cursor) -> Result<Response> {
    paged(listing, page.limit, page.cursor.as_deref(), |f| f.id.to_string())
}

/// `GET /api/frameworks?limit=&cursor=`: the built-in library, by id.
#[utoipa::path(get, path = "/api/frameworks", tag = "frameworks", params(Cursor),
    responses((status = 200, description = "`{\"items\": [{\"id\", \"name\", \"version\", \"title\", \"requirements\", \"assessable\", \"source\"}…], \"next_cursor\"}`", body = Object),
              (status = 401, description = "unauthenticated", body = ErrorSchema)))]
pub(crate) async fn library(state: AppState, Query(page): Query<Cursor>, _caller: Caller) -> Result<Response> {
    listing_page(state.app.frameworks(None).await?, page)
}

/// `GET /api/orgs/{org}/frameworks?limit=&cursor=`: the library with the organisation's imported
/// frameworks, each marked `adopted` or not, by id.
#[utoipa::path(get, path = "/api/orgs/{org}/frameworks", tag = "frameworks", params(Org, Cursor),
    responses((status = 200, description = "`{\"items\": [{\"id\", …, \"source\": \"builtin\"|\"imported\", \"adopted\"}…], \"next_cursor\"}`", body = Object),
              (status = 404, description = "organisation_not_found", body = ErrorSchema)))]
pub(crate) async fn frameworks(
    state: AppState,
    Path(org): Path<String>,
    Query(page): Query<Cursor>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    listing_page(state.app.frameworks(Some(&principal)).await?, page)
}

/// `GET /api/orgs/{org}/frameworks/{id}`: a framework of the organisation's library with every
/// requirement (each names its `parent`: the tree). An id holding `/` (an imported framework's
/// namespace) is sent as `%2F`.
#[utoipa::path(get, path = "/api/orgs/{org}/frameworks/{id}", tag = "frameworks",
    params(Org, ("id" = String, Path, description = "the framework's id, e.g. iso27001:2022 or org%2Facme-policy:2025")),
    responses((status = 200, description = "the framework: id, name, version, title, publisher, description, categories, requirements [{ref, label, title, parent, kind, description, attributes}]", body = Object),
              (status = 404, description = "organisation_not_found, framework_not_found", body = ErrorSchema)))]
pub(crate) async fn framework(
    state: AppState,
    Path((org, id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Json<evident_core::Framework>> {
    let principal = caller.in_org(&state, &org).await?;
    Ok(Json(state.app.framework(Some(&principal), &path_framework(&id)?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAdoption {
    /// The framework's id, e.g. soc2:2017.
    framework: String,
    /// Scope categories (SOC 2: security, availability, processing_integrity, confidentiality,
    /// privacy); the mandatory ones are always in.
    #[serde(default)]
    categories: Vec<String>,
    /// Systems, sites and boundaries in scope.
    #[serde(default)]
    scope: String,
    /// Target date for readiness (YYYY-MM-DD).
    #[schema(value_type = Option<String>, format = Date)]
    target_date: Option<NaiveDate>,
}

/// `POST /api/orgs/{org}/adoptions`: adopts a framework for a scope (again: changes the scope).
#[utoipa::path(post, path = "/api/orgs/{org}/adoptions", tag = "frameworks", params(Org), request_body = NewAdoption,
    responses((status = 201, description = "the adoption: framework, categories, scope, target_date, adopted_at", body = Object),
              (status = 400, description = "invalid_input: an unknown category", body = ErrorSchema),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 404, description = "organisation_not_found, framework_not_found", body = ErrorSchema)))]
pub(crate) async fn adopt(
    state: AppState,
    Path(org): Path<String>,
    caller: Caller,
    ApiJson(body): ApiJson<NewAdoption>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let framework = framework_id(&body.framework)?;
    let adoption = state.app.adopt(&principal, &framework, &body.categories, body.scope, body.target_date).await?;
    Ok((StatusCode::CREATED, Json(adoption)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct GapQuery {
    /// The framework the organisation already works to (e.g. soc2:2017).
    from: String,
    /// The framework it is moving to (e.g. iso27001:2022).
    to: String,
}

/// `GET /api/orgs/{org}/gap?from=&to=`: what `to` adds to what the organisation has for `from`,
/// and which of its controls reach it through the crosswalk, as `evident gap --json`.
#[utoipa::path(get, path = "/api/orgs/{org}/gap", tag = "frameworks", params(Org, GapQuery),
    responses((status = 200, description = "`{\"from\", \"to\", \"covered\", \"uncovered\": [{\"ref\", \"title\", \"status\", \"reason\", \"suggestions\"}…], \"unreached\": […]}`", body = Object),
              (status = 400, description = "invalid_input: a framework id of the wrong shape", body = ErrorSchema),
              (status = 404, description = "organisation_not_found, framework_not_found, crosswalk_not_found", body = ErrorSchema)))]
pub(crate) async fn gap(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<GapQuery>,
    caller: Caller,
) -> Result<Json<evident_core::gap::Gap>> {
    let principal = caller.in_org(&state, &org).await?;
    let (from, to) = (framework_id(&query.from)?, framework_id(&query.to)?);
    Ok(Json(state.app.gap(&principal, &from, &to).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GapAccept {
    from: String,
    to: String,
    /// The target requirements whose suggestions to accept (one or many).
    #[serde(default)]
    refs: Vec<String>,
    /// Accept every suggestion instead (then no `refs`).
    #[serde(default)]
    all: bool,
}

/// `POST /api/orgs/{org}/gap/accept`: maps the suggested controls to the target requirements
/// named in `refs` (or, with `all`, to every one that has a suggestion), each mapping carrying its
/// crosswalk path. A control owner accepts only the suggestions for controls they own.
#[utoipa::path(post, path = "/api/orgs/{org}/gap/accept", tag = "frameworks", params(Org), request_body = GapAccept,
    responses((status = 200, description = "`{\"mappings\": n}`: how many mappings were made", body = Object),
              (status = 400, description = "invalid_input, nothing_to_change (a requirement with no suggestion)", body = ErrorSchema),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 404, description = "framework_not_found, crosswalk_not_found, requirement_not_in_framework", body = ErrorSchema)))]
pub(crate) async fn accept_gap(
    state: AppState,
    Path(org): Path<String>,
    caller: Caller,
    ApiJson(body): ApiJson<GapAccept>,
) -> Result<Json<evident_app::frameworks::Accepted>> {
    let principal = caller.in_org(&state, &org).await?;
    let (from, to) = (framework_id(&body.from)?, framework_id(&body.to)?);
    let refs = body
        .refs
        .iter()
        .map(|r| RequirementRef::parse(r).map_err(AppError::from))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let only = match (body.all, refs.is_empty()) {
        (true, true) => None,
        (false, false) => Some(refs.as_slice()),
        _ => {
            return Err(ApiError::new(
                Code::InvalidInput,
                "name the requirements in refs, or send all: true (not both)",
            ));
        }
    };
    Ok(Json(state.app.accept_gap(&principal, &from, &to, only).await?))
}
