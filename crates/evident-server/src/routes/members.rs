//! An organisation's members, and the accounts an administrator may disable.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use evident_app::accounts::AccountsBy;
use evident_app::{AppError, Code, Principal};
use evident_core::{Email, Member, Role};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::{AppState, Result};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::list::{self, Sort, SortKeys};
use crate::openapi::{ErrorSchema, Org};

/// What the members list sorts by: `email` (the default), `name`, `role`, `joined_at`.
pub(crate) const SORTS: SortKeys = &["email", "name", "role", "joined_at"];

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct MemberQuery {
    /// Only the members with this role: admin, compliance_manager, control_owner, auditor, viewer.
    #[param(value_type = Option<String>)]
    role: Option<Role>,
    /// email (the default), name, role or joined_at; `-KEY` for descending. Any other is
    /// `invalid_input`.
    sort: Option<String>,
    /// At most this many items (1 to 500; 100 by default).
    limit: Option<usize>,
    /// Where the previous page ended (its `next_cursor`, in the same sort).
    cursor: Option<String>,
}

/// A member's sort key: the value sorted by, then the e-mail (unique), so no two tie.
fn sort_key(member: &Member, sort: &Sort) -> String {
    let value = match sort.key {
        "name" => member.display_name.to_lowercase(),
        "role" => member.role.as_str().to_owned(),
        "joined_at" => member.joined_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        _ => String::new(),
    };
    format!("{value}\u{0}{}", member.email)
}

/// `GET /api/orgs/{org}/members?role=&sort=&limit=&cursor=`: the organisation's members.
#[utoipa::path(get, path = "/api/orgs/{org}/members", tag = "members", params(Org, MemberQuery),
    responses((status = 200, description = "`{\"items\": [{\"email\", \"display_name\", \"role\", \"joined_at\"}…], \"next_cursor\"}`", body = Object),
              (status = 400, description = "invalid_input: a filter, sort key, limit or cursor out of shape", body = ErrorSchema)))]
pub(crate) async fn list(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<MemberQuery>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let sort = Sort::parse(query.sort.as_deref(), SORTS)?;
    let members: Vec<Member> =
        state.app.members(&principal).await?.into_iter().filter(|m| query.role.is_none_or(|r| m.role == r)).collect();
    let order = list::ordered(&members, |m| sort_key(m, &sort));
    Ok(Json(list::page(&members, &order, &sort, query.limit, query.cursor.as_deref())?).into_response())
}

fn parse_email(email: &str) -> Result<Email> {
    Email::parse(email).map_err(|e| ApiError(AppError::from(e)))
}

/// The member as the organisation has them now.
async fn member(state: &AppState, principal: &Principal, email: &Email) -> Result<Member> {
    state
        .app
        .members(principal)
        .await?
        .into_iter()
        .find(|m| &m.email == email)
        .ok_or_else(|| ApiError::new(Code::NotAMember, format!("{email} is not a member of {}", principal.org.slug)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewMember {
    /// The person's e-mail; they sign in with an account of that e-mail (`evident users create`,
    /// or an administrator's `PUT …/members/{email}/password` where that exists).
    #[schema(value_type = String)]
    email: Email,
    /// admin, compliance_manager, control_owner, auditor or viewer.
    #[schema(value_type = String)]
    role: Role,
    /// How this organisation names them; the e-mail's local part when left out.
    display_name: Option<String>,
}

/// `POST /api/orgs/{org}/members`: adds a user to the organisation with a role.
#[utoipa::path(post, path = "/api/orgs/{org}/members", tag = "members", params(Org), request_body = NewMember,
    responses((status = 201, description = "the member", body = Object),
              (status = 403, description = "permission_denied: only an administrator manages members", body = ErrorSchema),
              (status = 409, description = "already_exists: they are a member already", body = ErrorSchema)))]
pub(crate) async fn add(
    state: AppState,
    Path(org): Path<String>,
    caller: Caller,
    ApiJson(body): ApiJson<NewMember>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    state.app.add_member(&principal, body.email.clone(), body.role, body.display_name).await.map_err(|e| {
        match e.code {
            Code::AlreadyExists => AppError::new(
                Code::AlreadyExists,
                format!("{} is a member of {} already", body.email, principal.org.slug),
            ),
            _ => e,
        }
    })?;
    let added = member(&state, &principal, &body.email).await?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberEdit {
    /// The new role; the last administrator keeps theirs.
    #[schema(value_type = Option<String>)]
    role: Option<Role>,
    /// How this organisation names them.
    display_name: Option<String>,
}

/// The e-mail in the path.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documents the `{email}` path parameter
pub(crate) struct MemberPath {
    /// The member's e-mail.
    email: String,
}

/// `PATCH /api/orgs/{org}/members/{email}`: changes a member's role or display name.
#[utoipa::path(patch, path = "/api/orgs/{org}/members/{email}", tag = "members", params(Org, MemberPath),
    request_body = MemberEdit,
    responses((status = 200, description = "the member as they are now", body = Object),
              (status = 400, description = "invalid_input (the last administrator cannot be demoted), nothing_to_change", body = ErrorSchema),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 422, description = "not_a_member", body = ErrorSchema)))]
pub(crate) async fn change(
    state: AppState,
    Path((org, email)): Path<(String, String)>,
    caller: Caller,
    ApiJson(body): ApiJson<MemberEdit>,
) -> Result<Json<Member>> {
    let principal = caller.in_org(&state, &org).await?;
    let email = parse_email(&email)?;
    if body.role.is_none() && body.display_name.is_none() {
        return Err(ApiError::new(Code::NothingToChange, "send role, display_name or both"));
    }
    state.app.change_member(&principal, &email, body.role, body.display_name).await?;
    Ok(Json(member(&state, &principal, &email).await?))
}

/// `DELETE /api/orgs/{org}/members/{email}`: removes the member from the organisation (their
/// account and other memberships stay; the tokens they made here stop working).
#[utoipa::path(delete, path = "/api/orgs/{org}/members/{email}", tag = "members", params(Org, MemberPath),
    responses((status = 204, description = "removed"),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 422, description = "not_a_member; rule_violated: the last administrator, or one who still owns controls, open risks or assets", body = ErrorSchema)))]
pub(crate) async fn remove(
    state: AppState,
    Path((org, email)): Path<(String, String)>,
    caller: Caller,
) -> Result<StatusCode> {
    let principal = caller.in_org(&state, &org).await?;
    state.app.remove_member(&principal, &parse_email(&email)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/orgs/{org}/members/{email}/disable`: disables the member's account: it signs in
/// no more, and its sessions and API tokens stop working at once. An administrator may disable
/// a member of their organisation who belongs to no other, never themselves.
#[utoipa::path(post, path = "/api/orgs/{org}/members/{email}/disable", tag = "members", params(Org, MemberPath),
    responses((status = 200, description = "`{\"email\", \"disabled\": true, \"changed\"}`", body = Object),
              (status = 403, description = "permission_denied: not an administrator, or the member belongs to another organisation too", body = ErrorSchema),
              (status = 404, description = "account_not_found: the member has no account", body = ErrorSchema),
              (status = 422, description = "not_a_member; rule_violated: your own account", body = ErrorSchema)))]
pub(crate) async fn disable(
    state: AppState,
    Path((org, email)): Path<(String, String)>,
    caller: Caller,
) -> Result<Json<serde_json::Value>> {
    let principal = caller.in_org(&state, &org).await?;
    let email = parse_email(&email)?;
    let changed = state.app.disable_account(AccountsBy::Admin(&principal), &email).await?;
    Ok(Json(json!({"email": email, "disabled": true, "changed": changed})))
}

/// `POST /api/orgs/{org}/members/{email}/enable`: enables a disabled account again (its old
/// sessions stay ended).
#[utoipa::path(post, path = "/api/orgs/{org}/members/{email}/enable", tag = "members", params(Org, MemberPath),
    responses((status = 200, description = "`{\"email\", \"disabled\": false, \"changed\"}`", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 404, description = "account_not_found", body = ErrorSchema),
              (status = 422, description = "not_a_member", body = ErrorSchema)))]
pub(crate) async fn enable(
    state: AppState,
    Path((org, email)): Path<(String, String)>,
    caller: Caller,
) -> Result<Json<serde_json::Value>> {
    let principal = caller.in_org(&state, &org).await?;
    let email = parse_email(&email)?;
    let changed = state.app.enable_account(AccountsBy::Admin(&principal), &email).await?;
    Ok(Json(json!({"email": email, "disabled": false, "changed": changed})))
}
