//! Errors, sign-in and sign-out.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use evident_app::{AppError, Code};
use evident_core::Email;
use serde::Deserialize;

use super::{AppState, CsrfOnly};
use crate::State;
use crate::web::{PageError, PageResult, Viewer, html, see};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new().route("/", get(home)).route("/login", get(login_form).post(login)).route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

/// `GET /`: the viewer's first organisation, or the sign-in form.
async fn home(AxumState(state): AppState, viewer: Viewer) -> PageResult {
    let memberships = state.app.memberships(&viewer.user).await?;
    match memberships.first() {
        Some(m) => Ok(see(&format!("/o/{}", m.organisation.slug))),
        None => Err(PageError(AppError::new(
            Code::NotAMember,
            "your account is not a member of any organisation yet: ask an administrator to add you",
        ))),
    }
}

/// The cookie that ties the sign-in form to the browser that asked for it.
const LOGIN_COOKIE: &str = "evident_login";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    token: String,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

/// Only a path of ours is a place to go back to after signing in (never another site).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn login_page(token: String, next: String, email: String, error: Option<String>, status: StatusCode) -> PageResult {
    let cookie = format!("{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600");
    let page = LoginPage { token, next, email, error };
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| AppError::new(Code::Unexpected, e.to_string()))?;
    Ok((
        status,
        [(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        html(&page)?,
    )
        .into_response())
}

/// `GET /login`: the sign-in form.
async fn login_form(Query(query): Query<LoginQuery>) -> PageResult {
    let token = uuid::Uuid::new_v4().simple().to_string();
    login_page(token, local_path(query.next.as_deref()), String::new(), None, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    email: String,
    password: String,
    token: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: signs in and goes back where the viewer was going.
async fn login(AxumState(state): AppState, headers: HeaderMap, Form(form): Form<LoginForm>) -> PageResult {
    let next = local_path(Some(&form.next));
    let again = |error: &str, status| {
        let token = uuid::Uuid::new_v4().simple().to_string();
        login_page(token, next.clone(), form.email.clone(), Some(error.to_owned()), status)
    };
    // A sign-in form another site made would carry a token without our cookie (login CSRF).
    let expected = crate::auth::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !evident_app::accounts::same_secret(&form.token, &expected) {
        return again("This form had expired: please sign in again.", StatusCode::BAD_REQUEST);
    }
    let Ok(email) = Email::parse(form.email.trim()) else {
        return again("The e-mail or the password is not right.", StatusCode::UNAUTHORIZED);
    };
    match state.app.log_in(&email, &form.password).await {
        Ok(opened) => {
            let lifetime = (opened.user.expires_at - state.app.now()).num_seconds().max(0);
            let secure = crate::routes::over_tls(&state, &headers);
            let cookie = crate::routes::session_cookie(opened.secret.expose(), lifetime, secure);
            let clear = HeaderValue::from_static("evident_login=; Path=/login; Max-Age=0");
            Ok((
                StatusCode::SEE_OTHER,
                [(header::LOCATION, HeaderValue::from_str(&next).unwrap_or(HeaderValue::from_static("/")))],
                // Two cookies: a plain array would keep only the last header of a name.
                axum::response::AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, clear)]),
            )
                .into_response())
        }
        Err(e) if e.code == Code::InvalidCredentials => {
            again("The e-mail or the password is not right.", StatusCode::UNAUTHORIZED)
        }
        Err(e) if e.code == Code::AccountLocked => again(&e.message, StatusCode::TOO_MANY_REQUESTS),
        Err(e) => Err(e.into()),
    }
}

/// `POST /logout`: ends the session.
async fn logout(
    AxumState(state): AppState,
    headers: HeaderMap,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    state.app.log_out(&viewer.user).await?;
    let cookie = crate::routes::session_cookie("", 0, crate::routes::over_tls(&state, &headers));
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static("/login"))],
        [(header::SET_COOKIE, cookie)],
    )
        .into_response())
}
