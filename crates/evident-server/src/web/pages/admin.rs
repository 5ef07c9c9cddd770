//! Administration: members, tokens, own password.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use evident_app::{AppError, Code, Principal};
use evident_core::Role;
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
    secret: Option<(String, String)>,
    error: Option<String>,
}

/// `GET /o/{org}/admin`: members and roles, API tokens, and the viewer's password.
async fn admin(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "admin").await?;
    admin_page(&state, principal, frame, notice(q.done.as_deref()), None, None).await
}

async fn admin_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    notice: Option<&'static str>,
    secret: Option<(String, String)>,
    error: Option<String>,
) -> PageResult {
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
    let page = AdminPage { frame, notice, members, tokens, roles, secret, error };
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
            admin_page(&state, principal, frame, None, secret, None).await
        }
        Err(e) if matches!(e.code, Code::InvalidInput | Code::AlreadyExists | Code::PermissionDenied) => {
            let page = admin_page(&state, principal, frame, None, None, Some(e.message)).await?;
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
            let page = admin_page(&state, principal, frame, None, None, Some(e.message)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
