//! The organisation's audit log, a page at a time, and what verify says of it.

use axum::Json;
use axum::extract::{Path, Query};
use evident_app::Code;
use evident_app::verify::Verdict;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::{AppState, Result, cursor_key};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{ErrorSchema, Org};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditPage {
    /// At most this many records (1 to 500; 100 by default).
    limit: Option<u32>,
    /// Where the previous page ended (its `next_cursor`).
    cursor: Option<String>,
}

/// `GET /api/orgs/{org}/audit?limit=&cursor=`: the audit log, oldest first, paged by position.
#[utoipa::path(get, path = "/api/orgs/{org}/audit", tag = "audit", params(Org, AuditPage),
    responses((status = 200, description = "`{\"items\": [{\"seq\", \"id\", \"at\", \"actor\", \"action\", \"entity_type\", \"entity_id\", \"before\", \"after\", \"prev_hash\", \"hash\"}…], \"next_cursor\"}`", body = Object),
              (status = 400, description = "invalid_input: a limit or cursor out of shape", body = ErrorSchema),
              (status = 403, description = "permission_denied", body = ErrorSchema)))]
pub(crate) async fn log(
    state: AppState,
    Path(org): Path<String>,
    Query(page): Query<AuditPage>,
    caller: Caller,
) -> Result<Json<serde_json::Value>> {
    let principal = caller.in_org(&state, &org).await?;
    let limit = page.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(Code::InvalidInput, format!("limit is 1 to 500, not {limit}")));
    }
    let after = match page.cursor.as_deref() {
        Some(cursor) => cursor_key(cursor)?
            .parse::<i64>()
            .map_err(|_| ApiError::new(Code::InvalidInput, "the cursor is not one this API gave"))?,
        None => 0,
    };
    // One more than asked says whether there is a next page.
    let mut records = state.app.audit_log(&principal, after, limit + 1).await?;
    let more = records.len() > limit as usize;
    records.truncate(limit as usize);
    let next = if more { records.last().map(|r| hex::encode(r.seq.to_string())) } else { None };
    Ok(Json(json!({ "items": records, "next_cursor": next })))
}

/// `GET /api/orgs/{org}/verify`: what `evident verify` says of this organisation alone: its hash
/// chain is whole, its current state is what its log says, its approved SoA versions match their
/// digests and, with an evidence store, its evidence bytes are there and unchanged.
#[utoipa::path(get, path = "/api/orgs/{org}/verify", tag = "audit", params(Org),
    responses((status = 200, description = "the verdict: `{\"organisation\", \"records\", \"ok\", \"problems\": [{\"code\", \"message\"}…], \"head\"}`; `ok` is false when anything was changed outside evident", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 409, description = "conflict: the log kept changing while it was verified; try again", body = ErrorSchema)))]
pub(crate) async fn verify(state: AppState, Path(org): Path<String>, caller: Caller) -> Result<Json<Verdict>> {
    let principal = caller.in_org(&state, &org).await?;
    Ok(Json(state.app.verify_organisation(&principal).await?))
}
