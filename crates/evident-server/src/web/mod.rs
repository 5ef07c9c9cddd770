//! The web pages: HTML rendered on the server (askama templates, escaped by default) over the
//! same use cases as the API, with htmx for the few places where a part of a page is redrawn.
//!
//! Invariants:
//! - No rule here: each page reads through `evident-app` as the signed-in member, each form
//!   calls one use case; what a role may not do is decided by the principal's permissions
//!   ([`Can`]), and a control a role may not use is not drawn at all.
//! - Sessions are the API's (one cookie). Every form that changes something carries the session's
//!   CSRF token in a hidden `csrf` field, checked before the use case runs; the sign-in form,
//!   made before there is a session, carries a double-submit token of its own.
//! - A change is a POST answered with a redirect (303) to the page that shows it, or with the form
//!   again, each error beside its field. Pages are GETs that change nothing.
//! - Every page is sent with a Content-Security-Policy that allows no inline script or style,
//!   `frame-ancestors 'none'`, `nosniff` and a referrer policy; every asset is in the binary.

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Router, middleware};
use evident_app::accounts::{SignedIn, csrf_token, same_secret};
use evident_app::{AppError, Code, Principal};
use evident_core::{OrgSlug, Permission};

use crate::State;
use crate::auth::session_cookie;

mod assets;
mod pages;
mod svg;

/// The pages; a form's body is at most `body_limit` bytes, an evidence upload `upload_limit`.
pub(crate) fn routes(body_limit: usize, upload_limit: usize) -> Router<State> {
    Router::new()
        .merge(pages::session::routes())
        .route("/assets/{name}", get(assets::asset))
        .merge(pages::dashboard::routes())
        .merge(pages::frameworks::routes())
        .merge(pages::controls::routes())
        .merge(pages::gap::routes())
        .merge(pages::soa::routes())
        .merge(pages::imports::routes())
        .merge(pages::risks::routes())
        .merge(pages::assets::routes())
        .merge(pages::methodology::routes())
        .merge(pages::evidence::routes(upload_limit))
        .merge(pages::type2::routes())
        .merge(pages::audit::routes())
        .merge(pages::admin::routes())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::map_response(security_headers))
}

/// What every page is sent with. No inline script or style anywhere, so the policy can forbid
/// both; htmx is told (by its meta config) not to add the inline style it would otherwise add.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The signed-in person looking at a page. Without a session, a page answers with a redirect to
/// the sign-in form, which comes back here afterwards.
pub(crate) struct Viewer {
    pub(crate) user: SignedIn,
    pub(crate) secret: String,
}

impl Viewer {
    pub(crate) fn csrf(&self) -> String {
        csrf_token(&self.secret)
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub(crate) fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if same_secret(sent, &self.csrf()) {
            Ok(())
        } else {
            Err(PageError(AppError::new(
                Code::CsrfTokenInvalid,
                "this form is out of date or did not come from evident: reload the page and try again",
            )))
        }
    }

    /// The viewer acting in `org`; an organisation they are not in answers as one that does not
    /// exist.
    pub(crate) async fn in_org(&self, state: &State, org: &str) -> Result<Principal, PageError> {
        let slug = OrgSlug::parse(org)
            .map_err(|_| PageError(AppError::not_found(Code::OrganisationNotFound, "organisation", org)))?;
        Ok(state.app.signed_in_member(&self.user, &slug).await?)
    }
}

impl FromRequestParts<State> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Self::Rejection> {
        let to_login = || {
            let back = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let query = serde_urlencoded_pair("next", back);
            Redirect::to(&format!("/login?{query}")).into_response()
        };
        let Some(secret) = session_cookie(parts) else { return Err(to_login()) };
        match state.app.session_user(&secret).await {
            Ok(user) => Ok(Viewer { user, secret }),
            Err(e) if e.code == Code::Unauthenticated => Err(to_login()),
            Err(e) => Err(PageError(e).into_response()),
        }
    }
}

/// `name=value`, the value percent-encoded for a query string.
fn serde_urlencoded_pair(name: &str, value: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new()).append_pair(name, value).finish()
}

/// What the viewer may do in the organisation, for the templates to leave out what they may not.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Can {
    pub(crate) adopt: bool,
    pub(crate) manage_controls: bool,
    pub(crate) map: bool,
    pub(crate) add_evidence: bool,
    pub(crate) approve_soa: bool,
    pub(crate) accept_risk: bool,
    pub(crate) read_audit: bool,
    pub(crate) export: bool,
    pub(crate) manage_members: bool,
    pub(crate) import: bool,
}

impl Can {
    pub(crate) fn of(principal: &Principal) -> Can {
        let role = principal.role();
        Can {
            adopt: role.can(Permission::FrameworkAdopt),
            manage_controls: role.can(Permission::ControlManage),
            map: role.can(Permission::MappingWrite),
            add_evidence: role.can(Permission::EvidenceAdd),
            approve_soa: role.can(Permission::SoaApprove),
            accept_risk: role.can(Permission::RiskAccept),
            read_audit: role.can(Permission::AuditLogRead),
            export: role.can(Permission::Export),
            manage_members: role.can(Permission::MemberManage),
            import: role.can(Permission::Import),
        }
    }
}

/// A failure shown as a page: the message, its stable code, and the way back.
#[derive(Debug)]
pub(crate) struct PageError(pub(crate) AppError);

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        PageError(error)
    }
}

impl From<askama::Error> for PageError {
    fn from(error: askama::Error) -> Self {
        PageError(AppError::new(Code::Unexpected, format!("a page could not be drawn: {error}")))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = crate::error::status_for(self.0.code);
        if status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        if status.is_server_error() {
            tracing::error!(code = self.0.code.as_str(), error = %self.0.message, "a page failed");
        }
        let page = pages::session::ErrorPage {
            status: status.as_u16(),
            code: self.0.code.as_str(),
            message: if status.is_server_error() {
                "something went wrong on our side; it has been logged".to_owned()
            } else {
                self.0.message.clone()
            },
        };
        match askama::Template::render(&page) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.0.message).into_response(),
        }
    }
}

pub(crate) type PageResult<T = Response> = Result<T, PageError>;

/// A rendered template as an HTML answer.
pub(crate) fn html(template: &impl askama::Template) -> PageResult {
    Ok(Html(template.render()?).into_response())
}

/// After a change: to the page that shows it (a 303, so reloading does not send the form again).
pub(crate) fn see(location: &str) -> Response {
    Redirect::to(location).into_response()
}
