//! The asset inventory the risk register rates: list, one, create, edit (with `ETag`/`If-Match`).

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use evident_app::risks::asset_version;
use evident_app::{AppError, Code};
use evident_core::risk::{Asset, AssetKind, Classification};
use evident_core::{AssetCode, Email};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{AppState, Result, natural_key, present};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::list::{self, Sort, SortKeys};
use crate::openapi::{ErrorSchema, Org};

/// What the assets list sorts by: `code` (the default), `name`, `kind`, `classification`,
/// `owner`, `value` (the highest of confidentiality, integrity and availability).
pub(crate) const SORTS: SortKeys = &["code", "name", "kind", "classification", "owner", "value"];

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AssetQuery {
    /// Only this kind: information, software, hardware, service, people, site.
    #[param(value_type = Option<String>)]
    kind: Option<AssetKind>,
    /// Only this classification: public, internal, confidential, restricted.
    #[param(value_type = Option<String>)]
    classification: Option<Classification>,
    /// Only the assets this member owns (an e-mail).
    #[param(value_type = Option<String>)]
    owner: Option<Email>,
    /// Only the children of this asset (its code).
    #[param(value_type = Option<String>)]
    parent: Option<AssetCode>,
    /// code (the default), name, kind, classification, owner or value; `-KEY` for descending.
    /// Any other is `invalid_input`.
    sort: Option<String>,
    /// At most this many items (1 to 500; 100 by default).
    limit: Option<usize>,
    /// Where the previous page ended (its `next_cursor`, in the same sort).
    cursor: Option<String>,
}

/// An asset's sort key: the value sorted by, then its code (unique), so no two tie.
fn sort_key(asset: &Asset, sort: &Sort) -> String {
    let value = match sort.key {
        "name" => asset.name.to_lowercase(),
        "kind" => asset.kind.as_str().to_owned(),
        // Ranked by sensitivity, not by name.
        "classification" => match asset.classification {
            Classification::Public => "0",
            Classification::Internal => "1",
            Classification::Confidential => "2",
            Classification::Restricted => "3",
        }
        .to_owned(),
        "owner" => asset.owner.as_ref().map_or(String::new(), |o| o.to_string()),
        "value" => list::number(asset.confidentiality.max(asset.integrity).max(asset.availability)),
        _ => String::new(),
    };
    format!("{value}\u{0}{}", natural_key(asset.code.as_str()))
}

/// `GET /api/orgs/{org}/assets?kind=&classification=&owner=&parent=&sort=&limit=&cursor=`.
#[utoipa::path(get, path = "/api/orgs/{org}/assets", tag = "risks", params(Org, AssetQuery),
    responses((status = 200, description = "`{\"items\": [{\"code\", \"name\", \"kind\", \"owner\", \"classification\", \"confidentiality\", \"integrity\", \"availability\", \"parent\"}…], \"next_cursor\"}`", body = Object),
              (status = 400, description = "invalid_input: a filter, sort key, limit or cursor out of shape", body = ErrorSchema)))]
pub(crate) async fn list(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<AssetQuery>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let sort = Sort::parse(query.sort.as_deref(), SORTS)?;
    let assets: Vec<Asset> = state
        .app
        .assets(&principal)
        .await?
        .into_iter()
        .filter(|a| query.kind.is_none_or(|k| a.kind == k))
        .filter(|a| query.classification.is_none_or(|c| a.classification == c))
        .filter(|a| query.owner.as_ref().is_none_or(|o| a.owner.as_ref() == Some(o)))
        .filter(|a| query.parent.as_ref().is_none_or(|p| a.parent.as_ref() == Some(p)))
        .collect();
    let order = list::ordered(&assets, |a| sort_key(a, &sort));
    Ok(Json(list::page(&assets, &order, &sort, query.limit, query.cursor.as_deref())?).into_response())
}

fn parse_asset(code: &str) -> Result<AssetCode> {
    AssetCode::parse(code).map_err(|_| ApiError(AppError::not_found(Code::AssetNotFound, "asset", code)))
}

/// The asset with its version as `ETag`.
fn asset_response(asset: Asset) -> Response {
    let tag = HeaderValue::from_str(&format!("\"{}\"", asset_version(&asset)))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    ([(header::ETAG, tag)], Json(asset)).into_response()
}

/// The code in the path.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documents the `{code}` path parameter
pub(crate) struct AssetPath {
    /// The asset's code, e.g. AST-01.
    code: String,
}

/// `GET /api/orgs/{org}/assets/{code}`: one asset, its version as `ETag`.
#[utoipa::path(get, path = "/api/orgs/{org}/assets/{code}", tag = "risks", params(Org, AssetPath),
    responses((status = 200, description = "the asset; `ETag` is its version", body = Object),
              (status = 404, description = "organisation_not_found, asset_not_found", body = ErrorSchema)))]
pub(crate) async fn one(
    state: AppState,
    Path((org, code)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    Ok(asset_response(state.app.asset(&principal, &parse_asset(&code)?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAsset {
    /// The asset's code, e.g. AST-01.
    #[schema(value_type = String)]
    code: AssetCode,
    name: String,
    /// information, software, hardware, service, people, site.
    #[schema(value_type = String)]
    kind: AssetKind,
    /// The e-mail of the member who owns it.
    #[schema(value_type = Option<String>)]
    owner: Option<Email>,
    /// public, internal, confidential, restricted.
    #[schema(value_type = String)]
    classification: Classification,
    /// 1 (low) to 5 (critical).
    confidentiality: u8,
    /// 1 (low) to 5 (critical).
    integrity: u8,
    /// 1 (low) to 5 (critical).
    availability: u8,
    /// The code of the asset this one is part of.
    #[schema(value_type = Option<String>)]
    parent: Option<AssetCode>,
}

/// `POST /api/orgs/{org}/assets`: adds an asset.
#[utoipa::path(post, path = "/api/orgs/{org}/assets", tag = "risks", params(Org), request_body = NewAsset,
    responses((status = 201, description = "the asset; `ETag` is its version", body = Object),
              (status = 400, description = "invalid_input: a value out of range, an unknown parent, a cycle", body = ErrorSchema),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 409, description = "already_exists: the code is taken", body = ErrorSchema),
              (status = 422, description = "not_a_member: the owner", body = ErrorSchema)))]
pub(crate) async fn create(
    state: AppState,
    Path(org): Path<String>,
    caller: Caller,
    ApiJson(body): ApiJson<NewAsset>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let asset = Asset {
        code: body.code,
        name: body.name,
        kind: body.kind,
        owner: body.owner,
        classification: body.classification,
        confidentiality: body.confidentiality,
        integrity: body.integrity,
        availability: body.availability,
        parent: body.parent,
    };
    let created = state.app.create_asset(&principal, asset).await?;
    Ok((StatusCode::CREATED, asset_response(created)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssetEdit {
    name: Option<String>,
    #[schema(value_type = Option<String>)]
    kind: Option<AssetKind>,
    /// An e-mail of a member; null clears the owner.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    owner: Option<Option<Email>>,
    #[schema(value_type = Option<String>)]
    classification: Option<Classification>,
    confidentiality: Option<u8>,
    integrity: Option<u8>,
    availability: Option<u8>,
    /// The code of the asset this one is part of; null makes it stand alone.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    parent: Option<Option<AssetCode>>,
}

/// `PATCH /api/orgs/{org}/assets/{code}` with `If-Match`: changes the fields given; refused with
/// `conflict` (409) when the asset changed since that version.
#[utoipa::path(patch, path = "/api/orgs/{org}/assets/{code}", tag = "risks",
    params(Org, AssetPath, ("If-Match" = String, Header, description = "the ETag of the asset as read (its version)")),
    request_body = AssetEdit,
    responses((status = 200, description = "changed; the asset as it is now, with its new ETag", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 409, description = "conflict: the asset changed since that version; nothing was written", body = ErrorSchema),
              (status = 422, description = "not_a_member: the owner", body = ErrorSchema),
              (status = 428, description = "precondition_required: no If-Match", body = ErrorSchema)))]
pub(crate) async fn edit(
    state: AppState,
    Path((org, code)): Path<(String, String)>,
    headers: HeaderMap,
    caller: Caller,
    ApiJson(edit): ApiJson<AssetEdit>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let code = parse_asset(&code)?;
    let version = super::if_match_version(&headers, "asset")?;
    let current = state.app.asset(&principal, &code).await?;
    let asset = Asset {
        code,
        name: edit.name.unwrap_or(current.name),
        kind: edit.kind.unwrap_or(current.kind),
        owner: edit.owner.unwrap_or(current.owner),
        classification: edit.classification.unwrap_or(current.classification),
        confidentiality: edit.confidentiality.unwrap_or(current.confidentiality),
        integrity: edit.integrity.unwrap_or(current.integrity),
        availability: edit.availability.unwrap_or(current.availability),
        parent: edit.parent.unwrap_or(current.parent),
    };
    Ok(asset_response(state.app.edit_asset(&principal, asset, version.as_deref()).await?))
}
