//! The routes: each parses its request, calls one use case and renders the answer.

use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use evident_app::accounts::{Password, csrf_token};
use evident_app::controls::ControlView;
use evident_app::derived::Reuse;
use evident_app::{AppError, Code};
use evident_core::freshness::MaxAge;
use evident_core::{ControlCode, ControlPatch, Email, FrameworkId, Frequency, ImplementationStatus, Role};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::list;
use crate::openapi::{ErrorSchema, Org};
use crate::{SESSION_COOKIE, State};

pub(crate) mod assets;
pub(crate) mod audit;
pub(crate) mod controls;
pub(crate) mod docs;
pub(crate) mod evidence;
pub(crate) mod frameworks;
pub(crate) mod imports;
pub(crate) mod members;
pub(crate) mod oscal;
pub(crate) mod risks;
pub(crate) mod soa;

type Result<T, E = ApiError> = std::result::Result<T, E>;
type AppState = AxumState<State>;

pub(crate) fn routes() -> Router<State> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/errors", get(crate::error::codes))
        .route("/api/openapi.json", get(crate::openapi::document))
        .route("/api/session", post(sign_in).delete(sign_out))
        .route("/api/me", get(me))
        .route("/api/me/password", put(change_password))
        .route("/api/orgs", get(orgs))
        .route("/api/frameworks", get(frameworks::library))
        .route("/api/orgs/{org}/frameworks", get(frameworks::frameworks))
        .route("/api/orgs/{org}/frameworks/{id}", get(frameworks::framework))
        .route("/api/orgs/{org}/adoptions", post(frameworks::adopt))
        .route("/api/orgs/{org}/gap", get(frameworks::gap))
        .route("/api/orgs/{org}/gap/accept", post(frameworks::accept_gap))
        .route("/api/orgs/{org}/controls", get(controls).post(controls::create))
        .route("/api/orgs/{org}/controls/{code}", get(control).patch(edit_control))
        .route("/api/orgs/{org}/controls/{code}/retire", post(controls::retire))
        .route("/api/orgs/{org}/controls/{code}/mappings", post(controls::map))
        .route("/api/orgs/{org}/controls/{code}/mappings/{framework}/{ref}", delete(controls::unmap))
        .route("/api/orgs/{org}/readiness", get(readiness))
        .route("/api/orgs/{org}/dashboard", get(dashboard))
        .route("/api/orgs/{org}/audit", get(audit::log))
        .route("/api/orgs/{org}/verify", get(audit::verify))
        .route("/api/orgs/{org}/risks", get(risks::list).post(risks::create))
        .route("/api/orgs/{org}/risks/{code}", get(risks::one).patch(risks::edit))
        .route("/api/orgs/{org}/risks/{code}/accept", post(risks::accept))
        .route("/api/orgs/{org}/heatmap", get(risks::heat_map))
        .route("/api/orgs/{org}/treatment-plan", get(risks::treatment_plan))
        .route("/api/orgs/{org}/methodology", get(risks::methodology).put(risks::set_methodology))
        .route("/api/orgs/{org}/assets", get(assets::list).post(assets::create))
        .route("/api/orgs/{org}/assets/{code}", get(assets::one).patch(assets::edit))
        .route("/api/orgs/{org}/members", get(members::list).post(members::add))
        .route("/api/orgs/{org}/members/{email}", patch(members::change).delete(members::remove))
        .route("/api/orgs/{org}/members/{email}/disable", post(members::disable))
        .route("/api/orgs/{org}/members/{email}/enable", post(members::enable))
        .route("/api/docs", get(docs::page))
        .route("/api/docs/docs.js", get(docs::start))
        .route("/api/docs/swagger-ui-bundle.js", get(docs::bundle))
        .route("/api/docs/swagger-ui.css", get(docs::style))
        .route("/api/orgs/{org}/soa", get(soa::draft))
        .route("/api/orgs/{org}/soa/versions", get(soa::versions))
        .route("/api/orgs/{org}/soa/versions/{version}", get(soa::version))
        .route("/api/orgs/{org}/soa/diff", get(soa::diff))
        .route("/api/orgs/{org}/soa/approve", post(soa::approve))
        .route("/api/orgs/{org}/tokens", post(create_token).get(tokens))
        .route("/api/orgs/{org}/tokens/{id}", delete(revoke_token))
        .route("/api/orgs/{org}/evidence", get(evidence::list))
        .route("/api/orgs/{org}/evidence/{id}", get(evidence::one))
        .route("/api/orgs/{org}/evidence/{id}/content", get(evidence::download))
        .route("/api/orgs/{org}/freshness", get(evidence::freshness))
        .route("/api/orgs/{org}/type2", get(evidence::type2))
        .route("/api/orgs/{org}/type2/export", get(evidence::type2_export))
        .route("/api/orgs/{org}/exports/controls", get(imports::export_controls))
        .route("/api/orgs/{org}/exports/assets", get(imports::export_assets))
        .route("/api/orgs/{org}/exports/risks", get(imports::export_risks))
        .route("/api/orgs/{org}/exports/treatment-plan", get(imports::export_treatment_plan))
        .route("/api/orgs/{org}/oscal/exports/{kind}", get(oscal::export))
        .fallback(|| async { ApiError::new(Code::RouteNotFound, "there is no such route") })
}

/// The evidence uploads: the server's upload limit and timeout instead of the JSON ones.
pub(crate) fn uploads() -> Router<State> {
    Router::new()
        .route("/api/orgs/{org}/evidence", post(evidence::upload))
        .route("/api/orgs/{org}/evidence/{id}/supersede", post(evidence::supersede))
}

/// The imports: the server's import limit instead of the JSON one.
pub(crate) fn imports() -> Router<State> {
    Router::new()
        .route("/api/orgs/{org}/imports/controls", post(imports::controls))
        .route("/api/orgs/{org}/imports/assets", post(imports::assets))
        .route("/api/orgs/{org}/imports/risks", post(imports::risks))
        .route("/api/orgs/{org}/imports/framework", post(imports::framework))
        // An OSCAL catalog is megabytes (SP 800-53 rev5: about 10 MB).
        .route("/api/oscal/validate", post(oscal::validate))
        .route("/api/orgs/{org}/oscal/imports", post(oscal::import))
}

/// A body of JSON text the app rendered already (a stored read model).
fn json_text(body: String) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// Answers that carry a secret are never kept by a cache.
fn no_store() -> (header::HeaderName, HeaderValue) {
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "health", security(), responses((status = 200, description = "alive", body = Object)))]
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The process can serve: its database answers.
#[utoipa::path(get, path = "/readyz", tag = "health", security(),
    responses((status = 200, description = "ready", body = Object), (status = 503, description = "the database does not answer", body = ErrorSchema)))]
pub(crate) async fn readyz(AxumState(state): AppState) -> Result<Json<serde_json::Value>> {
    state.app.ready().await?;
    Ok(Json(json!({"status": "ready"})))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    email: String,
    password: String,
}

/// Whether the request reached us over TLS: we do not terminate TLS ourselves, so only a trusted
/// reverse proxy can say so (`X-Forwarded-Proto: https`).
pub(crate) fn over_tls(state: &State, headers: &HeaderMap) -> bool {
    state.config.trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').next().is_some_and(|first| first.trim().eq_ignore_ascii_case("https")))
}

pub(crate) fn session_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("evident_session=; Max-Age=0"))
}

/// `POST /api/session`: signs in with e-mail and password; the session's secret goes in the
/// cookie, its CSRF token in the body.
#[utoipa::path(post, path = "/api/session", tag = "session", security(), request_body = SignIn,
    responses((status = 201, description = "signed in: `Set-Cookie: evident_session=…; HttpOnly; SameSite=Lax`; the body has `csrf_token`", body = Object),
              (status = 401, description = "invalid_credentials", body = ErrorSchema),
              (status = 429, description = "account_locked (this e-mail), or too_many_requests (this address; `Retry-After` says when to try again)", body = ErrorSchema)))]
pub(crate) async fn sign_in(
    AxumState(state): AppState,
    headers: HeaderMap,
    connection: Option<axum::Extension<crate::limit::ClientAddr>>,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response> {
    let address = crate::limit::client_ip(connection.map(|c| c.0), &headers, state.config.trust_proxy);
    if let Some(address) = address
        && let Err(wait) = state.sign_ins.check(address)
    {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        tracing::warn!(%address, retry_after = seconds, "sign-ins from this address are over the rate limit");
        let mut response = ApiError::new(
            Code::TooManyRequests,
            format!("too many sign-ins from this address: try again in {seconds} s"),
        )
        .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return Ok(response);
    }
    let email = Email::parse(&body.email)
        .map_err(|_| ApiError::new(Code::InvalidCredentials, "the e-mail or the password is not right"))?;
    let opened = state.app.log_in(&email, &body.password).await?;
    let lifetime = (opened.user.expires_at - state.app.now()).num_seconds().max(0);
    let cookie = session_cookie(opened.secret.expose(), lifetime, over_tls(&state, &headers));
    let body = json!({
        "user": {"email": opened.user.email},
        "session": {"expires_at": opened.user.expires_at},
        "csrf_token": csrf_token(opened.secret.expose()),
    });
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, cookie), no_store()], Json(body)).into_response())
}

/// `DELETE /api/session`: signs out and clears the cookie.
#[utoipa::path(delete, path = "/api/session", tag = "session", security(("session" = [])),
    responses((status = 204, description = "signed out"), (status = 400, description = "invalid_input: an API token has no session", body = ErrorSchema),
              (status = 401, description = "unauthenticated", body = ErrorSchema)))]
pub(crate) async fn sign_out(AxumState(state): AppState, headers: HeaderMap, caller: Caller) -> Result<Response> {
    let Caller::Session { user, .. } = caller else {
        return Err(ApiError::new(Code::InvalidInput, "an API token has no session: revoke the token instead"));
    };
    state.app.log_out(&user).await?;
    let cookie = session_cookie("", 0, over_tls(&state, &headers));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// `GET /api/me`: the signed-in user, their session's CSRF token and their memberships; or, for
/// an API token, the token.
#[utoipa::path(get, path = "/api/me", tag = "session",
    responses((status = 200, description = "the user and their memberships, or the token", body = Object),
              (status = 401, description = "unauthenticated", body = ErrorSchema)))]
pub(crate) async fn me(AxumState(state): AppState, caller: Caller) -> Result<Response> {
    let body = match caller {
        Caller::Session { user, secret } => {
            let memberships: Vec<_> = state
                .app
                .memberships(&user)
                .await?
                .into_iter()
                .map(|m| json!({"organisation": {"slug": m.organisation.slug, "name": m.organisation.name}, "role": m.role, "display_name": m.display_name}))
                .collect();
            json!({
                "user": {"email": user.email},
                "session": {"expires_at": user.expires_at},
                "csrf_token": csrf_token(&secret),
                "memberships": memberships,
            })
        }
        Caller::Token { principal } => {
            let evident_app::Acting::Token { id, name, member } = &principal.acting else {
                return Err(ApiError::new(Code::Unexpected, "a token's principal is not a token"));
            };
            json!({"token": {"id": id, "name": name, "role": member.role, "created_by": member.email,
                             "organisation": {"slug": principal.org.slug, "name": principal.org.name}}})
        }
    };
    Ok(([no_store()], Json(body)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    current: String,
    new: String,
}

/// `PUT /api/me/password`: a new password; every session of the user ends, this one too.
#[utoipa::path(put, path = "/api/me/password", tag = "session", security(("session" = [])), request_body = PasswordChange,
    responses((status = 204, description = "changed; every session of the user ended"),
              (status = 401, description = "invalid_credentials: the current password is not right", body = ErrorSchema)))]
pub(crate) async fn change_password(
    AxumState(state): AppState,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode> {
    let Caller::Session { user, .. } = caller else {
        return Err(ApiError::new(Code::PermissionDenied, "an API token cannot change a password"));
    };
    state.app.change_own_password(&user, &body.current, Password::parse(body.new)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/orgs`: the organisations the caller may act in, with their role there.
#[utoipa::path(get, path = "/api/orgs", tag = "organisations",
    responses((status = 200, description = "`{\"items\": [{\"slug\", \"name\", \"role\"}]}`", body = Object)))]
pub(crate) async fn orgs(AxumState(state): AppState, caller: Caller) -> Result<Json<serde_json::Value>> {
    let orgs: Vec<_> = match caller {
        Caller::Session { user, .. } => state
            .app
            .memberships(&user)
            .await?
            .into_iter()
            .map(|m| json!({"slug": m.organisation.slug, "name": m.organisation.name, "role": m.role}))
            .collect(),
        Caller::Token { principal } => {
            vec![json!({"slug": principal.org.slug, "name": principal.org.name, "role": principal.role()})]
        }
    };
    Ok(Json(json!({ "items": orgs })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    /// At most this many items (1 to 500; 100 by default).
    limit: Option<usize>,
    /// Where the previous page ended (its `next_cursor`, in the same sort).
    cursor: Option<String>,
    /// Retired controls too.
    #[serde(default)]
    all: bool,
    /// code (the default), title, status, owner, frequency or updated_at; `-KEY` for
    /// descending. Any other is `invalid_input`.
    sort: Option<String>,
}

/// What the controls list sorts by; `code` is the default.
pub(crate) const CONTROL_SORTS: list::SortKeys = &["code", "title", "status", "owner", "frequency", "updated_at"];

/// A control's sort key: the value sorted by, then its code (unique), so no two tie.
fn control_key(view: &ControlView, sort: &list::Sort) -> String {
    let control = &view.control;
    let value = match sort.key {
        "title" => control.title.to_lowercase(),
        "status" => control.status.as_str().to_owned(),
        "owner" => control.owner.as_ref().map_or(String::new(), |o| o.to_string()),
        "frequency" => control.frequency.as_str().to_owned(),
        "updated_at" => control.updated_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        _ => String::new(),
    };
    format!("{value}\u{0}{}", control.code.as_str())
}

/// The page of a list with no filters of its own.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Cursor {
    /// At most this many items (1 to 500; 100 by default).
    limit: Option<usize>,
    /// Where the previous page ended (its `next_cursor`).
    cursor: Option<String>,
}

/// A cursor is the last item's key, hex-encoded: opaque to clients, stable across pages.
pub(crate) fn cursor_key(cursor: &str) -> Result<String> {
    hex::decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| ApiError::new(Code::InvalidInput, "the cursor is not one this API gave"))
}

/// A key that orders references as people read them: each run of digits padded, so A.5.9 comes
/// before A.5.10.
pub(crate) fn natural_key(text: &str) -> String {
    let mut key = String::with_capacity(text.len() + 16);
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            key.push_str(&format!("{digits:0>12}"));
            digits.clear();
        }
        if c != '\0' {
            key.push(c);
        }
    }
    key
}

/// One page of `items` after `cursor`, ordered by `key` (the lists with one order page this way):
/// at most `limit` (1 to 500, 100 by default) items, and the cursor of the next page if there is one.
pub(crate) fn paged<T>(
    items: Vec<T>,
    limit: Option<usize>,
    cursor: Option<&str>,
    key: impl Fn(&T) -> String,
) -> Result<Response>
where
    T: serde::Serialize,
{
    let order = list::ordered(&items, key);
    let page = list::page(&items, &order, &list::Sort { key: "", descending: false }, limit, cursor)?;
    Ok(Json(page).into_response())
}

/// `GET /api/orgs/{org}/controls?limit=&cursor=&all=&sort=`: controls with their mappings, by code
/// unless sorted otherwise, a page at a time. The list is the one the application shares until the
/// organisation's chain head moves, and its order is kept beside it: a page costs a binary search
/// and its own items, not a sort of the whole list.
#[utoipa::path(get, path = "/api/orgs/{org}/controls", tag = "controls", params(Org, Page),
    responses((status = 200, description = "`{\"items\": [control…], \"next_cursor\": string|null}`", body = Object),
              (status = 400, description = "invalid_input: a sort key, limit or cursor out of shape", body = ErrorSchema),
              (status = 404, description = "organisation_not_found (also for one you are not a member of)", body = ErrorSchema)))]
pub(crate) async fn controls(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(page): Query<Page>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let sort = list::Sort::parse(page.sort.as_deref(), CONTROL_SORTS)?;
    let controls = state.app.controls_shared(&principal, page.all).await?;
    let what = if page.all { "controls, retired too" } else { "controls" };
    let order = state.orders.of((principal.org.id.as_str(), what), &controls, sort, |c| control_key(c, &sort));
    Ok(Json(list::page(&controls, &order, &sort, page.limit, page.cursor.as_deref())?).into_response())
}

fn parse_code(code: &str) -> Result<ControlCode> {
    ControlCode::parse(code).map_err(|_| ApiError(AppError::not_found(Code::ControlNotFound, "control", code)))
}

/// A control's revision as its entity tag.
fn etag(revision: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{revision}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

fn control_response(view: ControlView) -> Response {
    ([(header::ETAG, etag(view.control.revision))], Json(view)).into_response()
}

/// `GET /api/orgs/{org}/controls/{code}`: the control, its mappings, and its revision as `ETag`.
#[utoipa::path(get, path = "/api/orgs/{org}/controls/{code}", tag = "controls", params(Org, ("code" = String, Path, description = "the control's code")),
    responses((status = 200, description = "the control with its mappings; `ETag` is its revision", body = Object),
              (status = 404, description = "organisation_not_found, control_not_found", body = ErrorSchema)))]
pub(crate) async fn control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    Ok(control_response(state.app.control(&principal, &parse_code(&code)?).await?))
}

/// Deserialises a field that may be absent (`None`), null (`Some(None)`) or a value.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ControlEdit {
    title: Option<String>,
    description: Option<String>,
    /// An e-mail of a member; null clears the owner.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    owner: Option<Option<Email>>,
    /// continuous, daily, weekly, monthly, quarterly, semi_annual, annual, event_driven.
    #[schema(value_type = Option<String>)]
    frequency: Option<Frequency>,
    /// 1 to 1830 days; null clears the control's own limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    max_evidence_age_days: Option<Option<MaxAge>>,
    /// not_started, in_progress, implemented, not_applicable.
    #[schema(value_type = Option<String>)]
    status: Option<ImplementationStatus>,
}

/// The revision `If-Match` names: `"3"` (as `ETag` gave it), `W/"3"` or `3`.
fn if_match(headers: &HeaderMap) -> Result<i64> {
    let value = headers.get(header::IF_MATCH).ok_or_else(|| {
        ApiError::new(
            Code::PreconditionRequired,
            "send If-Match with the control's ETag (its revision), so an edit never overwrites another",
        )
    })?;
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| ApiError::new(Code::InvalidInput, "If-Match must be the control's ETag, such as \"3\""))
}

/// `PATCH /api/orgs/{org}/controls/{code}` with `If-Match`: changes the fields given; refused
/// with `conflict` (409) when the control changed since that revision.
#[utoipa::path(patch, path = "/api/orgs/{org}/controls/{code}", tag = "controls",
    params(Org, ("code" = String, Path, description = "the control's code"),
           ("If-Match" = String, Header, description = "the ETag of the control as read (its revision)")),
    request_body = ControlEdit,
    responses((status = 200, description = "changed; the control as it is now, with its new ETag", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 409, description = "conflict: the control changed since that revision; nothing was written", body = ErrorSchema),
              (status = 428, description = "precondition_required: no If-Match", body = ErrorSchema)))]
pub(crate) async fn edit_control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    headers: HeaderMap,
    caller: Caller,
    ApiJson(edit): ApiJson<ControlEdit>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let code = parse_code(&code)?;
    let revision = if_match(&headers)?;
    let patch = ControlPatch {
        title: edit.title,
        description: edit.description,
        owner: edit.owner,
        frequency: edit.frequency,
        max_evidence_age_days: edit.max_evidence_age_days,
        status: edit.status,
    };
    state.app.edit_control(&principal, &code, patch, Some(revision)).await?;
    Ok(control_response(state.app.control(&principal, &code).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReadinessQuery {
    /// One framework with its drill-down (e.g. iso27001:2022).
    framework: Option<String>,
    /// summary (the default: each adopted framework's score and groups) or full (every adopted
    /// framework with every requirement's status and reason: large).
    #[param(value_type = Option<String>)]
    detail: Option<Detail>,
}

/// How much of readiness an answer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Detail {
    Summary,
    Full,
}

/// `GET /api/orgs/{org}/dashboard`: the organisation at a glance (scores per framework, evidence
/// freshness, risk items due), a few hundred bytes; served from the stored read model while nothing
/// it depends on changed.
#[utoipa::path(get, path = "/api/orgs/{org}/dashboard", tag = "readiness", params(Org),
    responses((status = 200, description = "`on`, `overall`, `frameworks` (each with its score), `freshness` (fresh, due_soon, overdue, never_evidenced), `risks_due`, `stale_mappings`", body = Object),
              (status = 404, description = "organisation_not_found", body = ErrorSchema)))]
pub(crate) async fn dashboard(AxumState(state): AppState, Path(org): Path<String>, caller: Caller) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    Ok(json_text(state.app.dashboard_json(&principal, Reuse::Stored).await?))
}

/// `GET /api/orgs/{org}/readiness[?framework=ID][&detail=summary|full]`: by default a summary per
/// adopted framework (scores and groups, a few kilobytes); `framework` gives one framework's
/// drill-down, `detail=full` every adopted framework's. Served from the stored read model while
/// nothing it depends on changed.
#[utoipa::path(get, path = "/api/orgs/{org}/readiness", tag = "readiness", params(Org, ReadinessQuery),
    responses((status = 200, description = "summary: `{\"overall\", \"frameworks\": [{\"framework\", score…, \"groups\", \"categories\"}], \"stale_mappings\": n}`; with `framework` or `detail=full`: as `evident readiness --json`, each requirement with its status and reason", body = Object),
              (status = 404, description = "organisation_not_found, framework_not_found", body = ErrorSchema),
              (status = 422, description = "framework_not_adopted: no framework adopted yet", body = ErrorSchema)))]
pub(crate) async fn readiness(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(query): Query<ReadinessQuery>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let framework = query.framework.as_deref().map(FrameworkId::parse).transpose().map_err(AppError::from)?;
    let body = match (framework, query.detail.unwrap_or(Detail::Summary)) {
        (Some(framework), _) => state.app.readiness_json(&principal, Some(&framework), Reuse::Stored).await?,
        (None, Detail::Full) => state.app.readiness_json(&principal, None, Reuse::Stored).await?,
        (None, Detail::Summary) => state.app.readiness_summary_json(&principal, Reuse::Stored).await?,
    };
    Ok(json_text(body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    /// 1 to 64 letters, digits, '-', '_' or '.'; never reused in the organisation.
    name: String,
    /// admin, compliance_manager, control_owner, auditor or viewer: at most yours.
    role: String,
    /// 1 to 366; 90 by default.
    expires_in_days: Option<u32>,
}

/// `POST /api/orgs/{org}/tokens`: a token, with its secret shown this once.
#[utoipa::path(post, path = "/api/orgs/{org}/tokens", tag = "tokens", params(Org), request_body = NewToken,
    responses((status = 201, description = "`{\"token\": {…}, \"secret\": \"evt_…\"}`: the secret is shown this once", body = Object),
              (status = 403, description = "permission_denied: a role above yours, or a token making a token", body = ErrorSchema),
              (status = 409, description = "already_exists: the name was used", body = ErrorSchema)))]
pub(crate) async fn create_token(
    AxumState(state): AppState,
    Path(org): Path<String>,
    caller: Caller,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let role = Role::parse(&body.role).map_err(AppError::from)?;
    let created = state.app.create_token(&principal, &body.name, role, body.expires_in_days).await?;
    let body = json!({"token": created.token, "secret": created.secret.expose()});
    Ok((StatusCode::CREATED, [no_store()], Json(body)).into_response())
}

/// `GET /api/orgs/{org}/tokens`: an administrator sees every token, anyone else their own.
#[utoipa::path(get, path = "/api/orgs/{org}/tokens", tag = "tokens", params(Org),
    responses((status = 200, description = "`{\"items\": [token…]}`, never a secret", body = Object)))]
pub(crate) async fn tokens(
    AxumState(state): AppState,
    Path(org): Path<String>,
    caller: Caller,
) -> Result<Json<serde_json::Value>> {
    let principal = caller.in_org(&state, &org).await?;
    Ok(Json(json!({ "items": state.app.tokens(&principal).await? })))
}

/// `DELETE /api/orgs/{org}/tokens/{id}`: revokes it; it signs nothing in from then on.
#[utoipa::path(delete, path = "/api/orgs/{org}/tokens/{id}", tag = "tokens", params(Org, ("id" = String, Path, description = "the token's id")),
    responses((status = 204, description = "revoked"), (status = 404, description = "token_not_found", body = ErrorSchema)))]
pub(crate) async fn revoke_token(
    AxumState(state): AppState,
    Path((org, id)): Path<(String, String)>,
    caller: Caller,
) -> Result<StatusCode> {
    let principal = caller.in_org(&state, &org).await?;
    state.app.revoke_token(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The version `If-Match` names, if it is there: `"…"` as `ETag` gave it (`W/` and the quotes are
/// optional), of the `what` it versions. Its absence is the use case's to refuse, after the permission check.
pub(crate) fn if_match_version(headers: &HeaderMap, what: &str) -> Result<Option<String>> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"').to_owned())
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_hexdigit()))
        .map(Some)
        .ok_or_else(|| ApiError::new(Code::InvalidInput, format!("If-Match must be the {what}'s ETag")))
}

#[cfg(test)]
mod tests {
    use super::natural_key;

    #[test]
    fn references_order_as_people_read_them() {
        let mut refs = ["A.5.10", "A.5.9", "A.8.1", "A.5.1", "CC10.1", "CC2.1"];
        refs.sort_by_key(|r| natural_key(r));
        assert_eq!(refs, ["A.5.1", "A.5.9", "A.5.10", "A.8.1", "CC2.1", "CC10.1"]);
    }
}
