//! Administration: members, tokens, own password.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use evident_app::{AppError, Code, Principal};
use evident_core::{Email, Role};
use serde::Deserialize;

use super::{AppState, CsrfOnly, Frame, NoticeQuery, date, enter, notice};
use crate::State;
use crate::web::{PageResult, Viewer, html, see};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new()
        .route("/o/{org}/admin", get(admin))
        .route("/o/{org}/admin/tokens", post(create_token))
        .route("/o/{org}/admin/tokens/{id}/revoke", post(revoke_token))
        .route("/o/{org}/admin/password", post(change_password))
        .route("/o/{org}/admin/members", post(add_member))
        .route("/o/{org}/admin/members/{email}/role", post(change_role))
        .route("/o/{org}/admin/members/{email}/remove", post(remove_member))
}

struct TokenRow {
    id: String,
    name: String,
    role: String,
    created_by: String,
    expires: String,
    state: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    frame: Frame,
    notice: Option<&'static str>,
    members: Vec<(String, String, String)>,
    tokens: Vec<TokenRow>,
    roles: Vec<String>,
    /// Every role, for a member's (an administrator gives any).
    all_roles: Vec<String>,
    shown: Shown,
}

/// What the page shows besides the records: a notice, a new token's secret, an error, and the
/// add-member form as it was sent with the error of its field.
#[derive(Default)]
struct Shown {
    notice: Option<&'static str>,
    secret: Option<(String, String)>,
    error: Option<String>,
    new_member: MemberForm,
    /// What is wrong with the add-member form, by field (`email`, `role`, `name`).
    member_errors: BTreeMap<&'static str, String>,
}

/// `GET /o/{org}/admin`: members and roles, API tokens, and the viewer's password.
async fn admin(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "admin").await?;
    admin_page(&state, principal, frame, Shown { notice: notice(q.done.as_deref()), ..Shown::default() }).await
}

async fn admin_page(state: &State, principal: Principal, frame: Frame, shown: Shown) -> PageResult {
    let members = state
        .app
        .members(&principal)
        .await?
        .into_iter()
        .map(|m| (m.email.to_string(), m.display_name, m.role.to_string()))
        .collect();
    let now = state.app.now();
    let tokens = state
        .app
        .tokens(&principal)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            state: match (t.revoked_at, t.expires_at < now) {
                (Some(_), _) => "revoked".to_owned(),
                (None, true) => "expired".to_owned(),
                (None, false) => "active".to_owned(),
            },
            id: t.id,
            name: t.name,
            role: t.role.to_string(),
            created_by: t.created_by.to_string(),
            expires: date(t.expires_at.date_naive()),
        })
        .collect();
    let mine = principal.role();
    let roles = Role::ALL.iter().filter(|r| r.within(mine)).map(|r| r.to_string()).collect();
    let all_roles = Role::ALL.iter().map(|r| r.to_string()).collect();
    let page = AdminPage { frame, notice: shown.notice, members, tokens, roles, all_roles, shown };
    Ok(([(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], html(&page)?).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    csrf: String,
    name: String,
    role: String,
    #[serde(default)]
    expires_in_days: String,
}

/// `POST /o/{org}/admin/tokens`: makes a token and shows its secret, this once.
async fn create_token(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    Form(form): Form<TokenForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "admin").await?;
    let created = async {
        let role = Role::parse(&form.role).map_err(AppError::from)?;
        let days = match form.expires_in_days.trim() {
            "" => None,
            d => Some(d.parse::<u32>().map_err(|_| AppError::invalid("the expiry is a number of days, 1 to 366"))?),
        };
        state.app.create_token(&principal, &form.name, role, days).await
    }
    .await;
    match created {
        Ok(created) => {
            let secret = Some((created.token.name.clone(), created.secret.expose().to_owned()));
            admin_page(&state, principal, frame, Shown { secret, ..Shown::default() }).await
        }
        Err(e) if matches!(e.code, Code::InvalidInput | Code::AlreadyExists | Code::PermissionDenied) => {
            let page =
                admin_page(&state, principal, frame, Shown { error: Some(e.message), ..Shown::default() }).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /o/{org}/admin/tokens/{id}/revoke`: revokes a token.
async fn revoke_token(
    AxumState(state): AppState,
    Path((org, id)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let principal = viewer.in_org(&state, &org).await?;
    state.app.revoke_token(&principal, &id).await?;
    Ok(see(&format!("/o/{org}/admin?done=revoked")))
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
}

/// `POST /o/{org}/admin/password`: changes the viewer's password; every session ends.
async fn change_password(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    Form(form): Form<PasswordForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "admin").await?;
    let changed = async {
        let new = evident_app::accounts::Password::parse(form.new)?;
        state.app.change_own_password(&viewer.user, &form.current, new).await
    }
    .await;
    match changed {
        Ok(()) => Ok(see("/login")),
        Err(e) if matches!(e.code, Code::InvalidInput | Code::InvalidCredentials) => {
            let page =
                admin_page(&state, principal, frame, Shown { error: Some(e.message), ..Shown::default() }).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    name: String,
}

/// `POST /o/{org}/admin/members`: adds a member with a role; the form again, its error beside
/// its field, when it cannot.
async fn add_member(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    Form(form): Form<MemberForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "admin").await?;
    let email = match Email::parse(form.email.trim()) {
        Ok(email) => email,
        Err(e) => return member_refused(&state, principal, frame, form, ("email", e.to_string())).await,
    };
    let role = match Role::parse(&form.role) {
        Ok(role) => role,
        Err(e) => return member_refused(&state, principal, frame, form, ("role", AppError::from(e).message)).await,
    };
    match state.app.add_member(&principal, email, role, Some(form.name.clone())).await {
        Ok(()) => Ok(see(&format!("/o/{org}/admin?done=member-added#members"))),
        Err(e) if matches!(e.code, Code::AlreadyExists | Code::InvalidInput) => {
            let field = if e.code == Code::AlreadyExists { "email" } else { "name" };
            member_refused(&state, principal, frame, form, (field, e.message)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn member_refused(
    state: &State,
    principal: Principal,
    frame: Frame,
    form: MemberForm,
    (field, message): (&'static str, String),
) -> PageResult {
    let shown = Shown { new_member: form, member_errors: BTreeMap::from([(field, message)]), ..Shown::default() };
    let page = admin_page(state, principal, frame, shown).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct RoleForm {
    csrf: String,
    role: String,
}

/// `POST /o/{org}/admin/members/{email}/role`: gives a member another role (the last
/// administrator keeps theirs).
async fn change_role(
    AxumState(state): AppState,
    Path((org, email)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<RoleForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "admin").await?;
    let changed = async {
        let email = Email::parse(&email).map_err(AppError::invalid_from)?;
        let role = Role::parse(&form.role).map_err(AppError::from)?;
        state.app.change_member(&principal, &email, Some(role), None).await
    }
    .await;
    member_outcome(
        &state,
        principal,
        frame,
        changed.map(|_| ()),
        &format!("/o/{org}/admin?done=member-changed#members"),
    )
    .await
}

/// `POST /o/{org}/admin/members/{email}/remove`: removes a member from the organisation (their
/// account stays); refused for the last administrator and for an owner of records in force.
async fn remove_member(
    AxumState(state): AppState,
    Path((org, email)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "admin").await?;
    let removed = async {
        let email = Email::parse(&email).map_err(AppError::invalid_from)?;
        state.app.remove_member(&principal, &email).await
    }
    .await;
    member_outcome(&state, principal, frame, removed, &format!("/o/{org}/admin?done=member-removed#members")).await
}

/// A change of a member: to `done` when made; the page with why not when a rule refused it.
async fn member_outcome(
    state: &State,
    principal: Principal,
    frame: Frame,
    outcome: Result<(), AppError>,
    done: &str,
) -> PageResult {
    match outcome {
        Ok(()) => Ok(see(done)),
        Err(e) if matches!(e.code, Code::InvalidInput | Code::RuleViolated | Code::NotAMember) => {
            let page =
                admin_page(state, principal, frame, Shown { error: Some(e.message), ..Shown::default() }).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
