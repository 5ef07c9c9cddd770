//! Who calls: a session (the `evident_session` cookie) or an API token (`Authorization: Bearer`).
//!
//! CSRF: a browser sends the cookie with any request to us, including one a hostile page makes.
//! So a state-changing request (anything but GET, HEAD, OPTIONS) authenticated by the cookie must
//! carry the session's CSRF token in `X-CSRF-Token`: a value derived from the cookie's secret
//! (`evident_app::accounts::csrf_token`) that the sign-in answer and `GET /api/me` return, and that
//! another site can neither read nor compute. `SameSite=Lax` stops most such requests anyway; the
//! token is the guarantee. A bearer token is never sent by a browser on its own, so a request with
//! one needs no CSRF token. Signing in needs none either, but takes JSON only, which a page on
//! another site cannot send without the browser asking us first (CORS, which we never allow).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use evident_app::accounts::{SignedIn, csrf_token, same_secret};
use evident_app::{AppError, Code, Principal};
use evident_core::OrgSlug;

use crate::error::ApiError;
use crate::{CSRF_HEADER, SESSION_COOKIE, State};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    /// Signed in with a session; `secret` is the cookie's value (for its CSRF token).
    Session { user: SignedIn, secret: String },
    /// An API token of one organisation.
    Token { principal: Box<Principal> },
}

impl Caller {
    /// The caller acting in `org`. An organisation the caller is not in (or a token of another
    /// organisation) is answered as one that does not exist.
    pub(crate) async fn in_org(&self, state: &State, org: &str) -> Result<Principal, ApiError> {
        let no_such = || ApiError(AppError::not_found(Code::OrganisationNotFound, "organisation", org));
        let slug = OrgSlug::parse(org).map_err(|_| no_such())?;
        match self {
            Caller::Session { user, .. } => Ok(state.app.signed_in_member(user, &slug).await?),
            Caller::Token { principal } if principal.org.slug == slug => Ok((**principal).clone()),
            Caller::Token { .. } => Err(no_such()),
        }
    }
}

/// The value of the session cookie, if the request has one.
pub(crate) fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, SESSION_COOKIE)
}

/// The value of the cookie `name`, if the request has one.
pub(crate) fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<State> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Self::Rejection> {
        let unauthenticated =
            || ApiError::new(Code::Unauthenticated, "sign in, or pass a valid API token (Authorization: Bearer …)");
        if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
            let token = authorization
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(str::trim)
                .ok_or_else(unauthenticated)?;
            let principal = state.app.token_principal(token).await?;
            return Ok(Caller::Token { principal: Box::new(principal) });
        }
        let secret = session_cookie(parts).ok_or_else(unauthenticated)?;
        let user = state.app.session_user(&secret).await?;
        if !parts.method.is_safe() {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !same_secret(sent, &csrf_token(&secret)) {
                return Err(ApiError::new(
                    Code::CsrfTokenInvalid,
                    "a change made with the session cookie needs the session's CSRF token in X-CSRF-Token \
                     (from the sign-in answer or GET /api/me)",
                ));
            }
        }
        Ok(Caller::Session { user, secret })
    }
}
