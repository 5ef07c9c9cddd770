//! Each page: read through the use cases as the signed-in member, shape what the template shows.
//! Each form: check its CSRF token, call one use case, redirect to the page that shows the result.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::{Form, body::Bytes};
use chrono::NaiveDate;
use evident_app::controls::ControlView;
use evident_app::derived::Reuse;
use evident_app::evidence::{AddEvidence, EvidenceView};
use evident_app::risks::RiskFilter;
use evident_app::soa::SoaSelector;
use evident_app::{AppError, Code, Principal};
use evident_core::freshness::MaxAge;
use evident_core::{
    ControlCode, ControlPatch, Coverage, Email, EvidenceId, FrameworkId, Frequency, ImplementationStatus, NewControl,
    RequirementRef, RiskCode, Role,
};
use futures::TryStreamExt as _;
use serde::Deserialize;

use super::{Can, PageError, PageResult, Viewer, html, see, svg};
use crate::State;

type AppState = AxumState<State>;

/// What every page of an organisation shows around its content: who, where, and what they may do.
pub(crate) struct Frame {
    pub(crate) org: String,
    pub(crate) org_name: String,
    pub(crate) email: String,
    pub(crate) role: String,
    pub(crate) csrf: String,
    /// The navigation entry of this page.
    pub(crate) nav: &'static str,
    pub(crate) can: Can,
    /// The viewer's other organisations, to switch to.
    pub(crate) others: Vec<(String, String)>,
}

/// The viewer in `org`, with the frame of its pages.
async fn enter(state: &State, viewer: &Viewer, org: &str, nav: &'static str) -> PageResult<(Principal, Frame)> {
    let principal = viewer.in_org(state, org).await?;
    let others = state
        .app
        .memberships(&viewer.user)
        .await?
        .into_iter()
        .filter(|m| m.organisation.slug != principal.org.slug)
        .map(|m| (m.organisation.slug.to_string(), m.organisation.name))
        .collect();
    let frame = Frame {
        org: principal.org.slug.to_string(),
        org_name: principal.org.name.clone(),
        email: viewer.user.email.to_string(),
        role: principal.role().to_string(),
        csrf: viewer.csrf(),
        nav,
        can: Can::of(&principal),
        others,
    };
    Ok((principal, frame))
}

/// A short note shown at the top of a page after a change: chosen from a fixed list by its key,
/// so a link cannot put words of its own on our page.
fn notice(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "adopted" => "The framework is adopted: its requirements now count in readiness.",
        "baseline" => "The baseline controls are adopted, with their mappings.",
        "created" => "The control is created.",
        "saved" => "Your changes are saved.",
        "mapped" => "The mapping is saved.",
        "unmapped" => "The mapping is removed.",
        "retired" => "The control is retired; it stays on record.",
        "accepted" => "The suggestions are accepted as mappings.",
        "approved" => "The Statement of Applicability is approved as a new version.",
        "uploaded" => "The evidence is stored and linked.",
        "risk-accepted" => "The risk acceptance is recorded.",
        "revoked" => "The token is revoked.",
        "password" => "Your password is changed; sign in again.",
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct NoticeQuery {
    done: Option<String>,
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn percent(p: f64) -> String {
    format!("{p:.1}")
}

// ---------------------------------------------------------------------------------------------
// Errors, sign-in and sign-out.

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

/// `GET /`: the viewer's first organisation, or the sign-in form.
pub(crate) async fn home(AxumState(state): AppState, viewer: Viewer) -> PageResult {
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
pub(crate) async fn login_form(Query(query): Query<LoginQuery>) -> PageResult {
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

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// `POST /login`: signs in and goes back where the viewer was going.
pub(crate) async fn login(AxumState(state): AppState, headers: HeaderMap, Form(form): Form<LoginForm>) -> PageResult {
    let next = local_path(Some(&form.next));
    let again = |error: &str, status| {
        let token = uuid::Uuid::new_v4().simple().to_string();
        login_page(token, next.clone(), form.email.clone(), Some(error.to_owned()), status)
    };
    // A sign-in form another site made would carry a token without our cookie (login CSRF).
    let expected = cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default();
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

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    csrf: String,
}

/// `POST /logout`: ends the session.
pub(crate) async fn logout(
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

// ---------------------------------------------------------------------------------------------
// The dashboard.

/// The stored dashboard, as the app serialises it (read back, so a page view after no change
/// costs no computation).
#[derive(Debug, Deserialize)]
struct DashboardData {
    on: NaiveDate,
    overall: ScoreData,
    frameworks: Vec<FrameworkScoreData>,
    freshness: FreshnessData,
    risks_due: usize,
    stale_mappings: usize,
}

#[derive(Debug, Deserialize)]
struct ScoreData {
    percent: f64,
    applicable: usize,
    covered: usize,
    partial: usize,
    missing: usize,
}

#[derive(Debug, Deserialize)]
struct FrameworkScoreData {
    framework: String,
    #[serde(flatten)]
    score: ScoreData,
}

#[derive(Debug, Deserialize)]
struct FreshnessData {
    fresh: usize,
    due_soon: usize,
    overdue: usize,
    never_evidenced: usize,
}

struct Bar {
    framework: String,
    percent: String,
    length: u32,
    band: &'static str,
    covered: usize,
    partial: usize,
    missing: usize,
    applicable: usize,
}

struct Due {
    risk: String,
    title: String,
    owner: String,
    what: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: Frame,
    notice: Option<&'static str>,
    on: String,
    overall: String,
    overall_band: &'static str,
    overall_length: u32,
    bars: Vec<Bar>,
    bar_width: u32,
    fresh: usize,
    due_soon: usize,
    overdue: usize,
    never: usize,
    risks_due: usize,
    due: Vec<Due>,
    stale_mappings: usize,
    soa: Option<(i64, String, String)>,
    recent: Vec<(String, String, String, String)>,
}

/// `GET /o/{org}`: the organisation at a glance.
pub(crate) async fn dashboard(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "dashboard").await?;
    let text = state.app.dashboard_json(&principal, Reuse::Stored).await?;
    let data: DashboardData = serde_json::from_str(&text)
        .map_err(|e| AppError::new(Code::Unexpected, format!("the dashboard could not be read: {e}")))?;
    let bars: Vec<Bar> = data
        .frameworks
        .iter()
        .map(|f| Bar {
            framework: f.framework.clone(),
            percent: percent(f.score.percent),
            length: svg::bar_length(f.score.percent),
            band: svg::band(f.score.percent),
            covered: f.score.covered,
            partial: f.score.partial,
            missing: f.score.missing,
            applicable: f.score.applicable,
        })
        .collect();
    let (_, due_items) = state.app.risks_due(&principal, Some(data.on)).await?;
    let due = due_items
        .iter()
        .take(5)
        .map(|d| Due {
            risk: d.risk.to_string(),
            title: d.title.clone(),
            owner: d.owner.to_string(),
            what: d.due.to_string(),
        })
        .collect();
    let soa = match state.app.soa_versions(&principal, None).await {
        Ok(versions) => versions.last().map(|v| (v.version, v.approved_by.clone(), date(v.approved_at.date_naive()))),
        Err(e) if e.code == Code::FrameworkNotAdopted || e.code == Code::FrameworkNotFound => None,
        Err(e) => return Err(e.into()),
    };
    let recent = if frame.can.read_audit { recent_changes(&state, &principal, data.on).await? } else { Vec::new() };
    html(&DashboardPage {
        notice: notice(q.done.as_deref()),
        on: date(data.on),
        overall: percent(data.overall.percent),
        overall_band: svg::band(data.overall.percent),
        overall_length: svg::bar_length(data.overall.percent),
        bars,
        bar_width: svg::BAR_WIDTH,
        fresh: data.freshness.fresh,
        due_soon: data.freshness.due_soon,
        overdue: data.freshness.overdue,
        never: data.freshness.never_evidenced,
        risks_due: data.risks_due,
        due,
        stale_mappings: data.stale_mappings,
        soa,
        recent,
        frame,
    })
}

/// What changed in the last seven days, newest first (at most ten), from the audit log.
async fn recent_changes(
    state: &State,
    principal: &Principal,
    today: NaiveDate,
) -> PageResult<Vec<(String, String, String, String)>> {
    let since = today - chrono::Days::new(7);
    let mut after = 0;
    let mut recent = std::collections::VecDeque::new();
    loop {
        let page = state.app.audit_log(principal, after, evident_app::audit::MAX_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let full = page.len() as u32 == evident_app::audit::MAX_PAGE;
        for record in page.into_iter().filter(|r| r.entry.at.date_naive() >= since) {
            recent.push_back(record);
            if recent.len() > 10 {
                recent.pop_front();
            }
        }
        if !full {
            break;
        }
    }
    Ok(recent
        .into_iter()
        .rev()
        .map(|r| (date(r.entry.at.date_naive()), r.entry.actor, r.entry.action, r.entry.entity_id))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Frameworks.

struct FrameworkRow {
    id: String,
    title: String,
    source: String,
    requirements: usize,
    assessable: usize,
    adopted: bool,
}

#[derive(Template)]
#[template(path = "frameworks.html")]
struct FrameworksPage {
    frame: Frame,
    notice: Option<&'static str>,
    frameworks: Vec<FrameworkRow>,
}

/// `GET /o/{org}/frameworks`: the library, built-in and imported, and what is adopted.
pub(crate) async fn frameworks(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "frameworks").await?;
    let frameworks = state
        .app
        .frameworks(Some(&principal))
        .await?
        .into_iter()
        .map(|f| FrameworkRow {
            id: f.id.to_string(),
            title: f.title,
            source: format!("{:?}", f.source).to_lowercase(),
            requirements: f.requirements,
            assessable: f.assessable,
            adopted: f.adopted.unwrap_or(false),
        })
        .collect();
    html(&FrameworksPage { frame, notice: notice(q.done.as_deref()), frameworks })
}

struct RequirementRow {
    reference: String,
    title: String,
    depth: usize,
    assessable: bool,
    status: String,
    why: String,
    controls: Vec<String>,
}

#[derive(Template)]
#[template(path = "framework.html")]
struct FrameworkPage {
    frame: Frame,
    id: String,
    title: String,
    description: String,
    adopted: bool,
    score: Option<String>,
    categories: Vec<(String, String)>,
    rows: Vec<RequirementRow>,
    error: Option<String>,
}

/// `GET /o/{org}/frameworks/{id}`: the requirement tree, each requirement with its status and why.
pub(crate) async fn framework(
    AxumState(state): AppState,
    Path((org, id)): Path<(String, String)>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "frameworks").await?;
    framework_page(&state, principal, frame, &id, None).await
}

async fn framework_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    id: &str,
    error: Option<String>,
) -> PageResult {
    let id = FrameworkId::parse(id).map_err(|_| AppError::not_found(Code::FrameworkNotFound, "framework", id))?;
    let framework = state.app.framework(Some(&principal), &id).await?;
    let adopted = state.app.frameworks(Some(&principal)).await?.iter().any(|f| f.id == id && f.adopted == Some(true));
    let (statuses, score) = if adopted {
        let readiness = state.app.readiness(&principal, Some(&id)).await?;
        match readiness.frameworks.into_iter().next() {
            Some(f) => (
                f.requirements.into_iter().map(|r| (r.reference.clone(), r)).collect::<BTreeMap<_, _>>(),
                Some(percent(f.score.percent)),
            ),
            None => (BTreeMap::new(), None),
        }
    } else {
        (BTreeMap::new(), None)
    };
    let parents: BTreeMap<&RequirementRef, Option<&RequirementRef>> =
        framework.requirements().iter().map(|r| (&r.reference, r.parent.as_ref())).collect();
    let depth = |r: &RequirementRef| {
        let mut d = 0;
        let mut parent = parents.get(r).copied().flatten();
        while let Some(p) = parent {
            d += 1;
            if d > 16 {
                break;
            }
            parent = parents.get(p).copied().flatten();
        }
        d
    };
    let groups: std::collections::HashSet<&RequirementRef> =
        framework.requirements().iter().filter_map(|r| r.parent.as_ref()).collect();
    let rows = framework
        .requirements()
        .iter()
        .map(|r| {
            let status = statuses.get(&r.reference);
            RequirementRow {
                reference: r.label.clone().unwrap_or_else(|| r.reference.to_string()),
                title: r.title.clone(),
                depth: depth(&r.reference).min(4),
                assessable: !groups.contains(&r.reference),
                status: status.map(|s| s.status.to_string()).unwrap_or_default(),
                why: status.map(|s| s.reason.to_string()).unwrap_or_default(),
                controls: status
                    .map(|s| s.controls.iter().map(|c| c.control.to_string()).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    html(&FrameworkPage {
        frame,
        id: id.to_string(),
        title: framework.info().title.clone(),
        description: framework.info().description.clone(),
        adopted,
        score,
        categories: framework.info().categories.iter().map(|c| (c.id.clone(), c.title.clone())).collect(),
        rows,
        error,
    })
}

/// `POST /o/{org}/frameworks`: adopts a framework with the categories ticked.
pub(crate) async fn adopt(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    body: Bytes,
) -> PageResult {
    let form = Pairs::parse(&body);
    viewer.check_csrf(form.one("csrf"))?;
    let (principal, frame) = enter(&state, &viewer, &org, "frameworks").await?;
    let id = form.one("framework").to_owned();
    let framework = FrameworkId::parse(&id).map_err(AppError::from)?;
    let categories: Vec<String> = form.all("category").map(str::to_owned).collect();
    let target = match form.one("target_date") {
        "" => None,
        d => Some(
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| AppError::invalid("the target date is a date such as 2027-06-30"))?,
        ),
    };
    match state.app.adopt(&principal, &framework, &categories, form.one("scope").to_owned(), target).await {
        Ok(_) => Ok(see(&format!("/o/{org}/frameworks?done=adopted"))),
        Err(e) if e.code == Code::InvalidInput || e.code == Code::AlreadyExists => {
            framework_page(&state, principal, frame, &id, Some(e.message)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A form's fields as sent, repeated names kept (checkboxes).
pub(crate) struct Pairs(Vec<(String, String)>);

impl Pairs {
    pub(crate) fn parse(body: &[u8]) -> Pairs {
        Pairs(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, or "".
    pub(crate) fn one(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Controls.

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ControlFilter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    framework: String,
    #[serde(default)]
    freshness: String,
    #[serde(default)]
    page: usize,
    done: Option<String>,
}

struct ControlRow {
    code: String,
    title: String,
    owner: String,
    status: String,
    frequency: String,
    frameworks: String,
    freshness: String,
}

/// How many controls one page of the list shows.
const CONTROLS_PAGE: usize = 100;

#[derive(Template)]
#[template(path = "controls.html")]
struct ControlsPage {
    frame: Frame,
    notice: Option<&'static str>,
    filter: ControlFilter,
    rows: Vec<ControlRow>,
    total: usize,
    next: Option<usize>,
    previous: Option<usize>,
    owners: Vec<String>,
    frameworks: Vec<String>,
    statuses: Vec<String>,
    states: Vec<String>,
    form: ControlForm,
    errors: BTreeMap<&'static str, String>,
}

#[derive(Template)]
#[template(path = "controls_table.html")]
struct ControlsTable {
    frame: Frame,
    filter: ControlFilter,
    rows: Vec<ControlRow>,
    total: usize,
    next: Option<usize>,
    previous: Option<usize>,
}

/// `GET /o/{org}/controls`: the list, filtered by owner, status, framework, freshness and text;
/// an htmx request gets the table alone.
pub(crate) async fn controls(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(filter): Query<ControlFilter>,
    headers: HeaderMap,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "controls").await?;
    let partial = headers.contains_key("hx-request");
    controls_page(&state, principal, frame, filter, ControlForm::default(), BTreeMap::new(), partial).await
}

async fn controls_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    filter: ControlFilter,
    form: ControlForm,
    errors: BTreeMap<&'static str, String>,
    partial: bool,
) -> PageResult {
    let all = state.app.controls_shared(&principal, false).await?;
    let freshness = if filter.freshness.is_empty() {
        BTreeMap::new()
    } else {
        state
            .app
            .freshness(&principal, 0)
            .await?
            .controls
            .into_iter()
            .map(|c| (c.code.to_string(), c.state.to_string()))
            .collect()
    };
    let q = filter.q.trim().to_lowercase();
    let matching: Vec<&ControlView> = all
        .iter()
        .filter(|v| {
            let c = &v.control;
            (q.is_empty() || c.code.as_str().to_lowercase().contains(&q) || c.title.to_lowercase().contains(&q))
                && (filter.owner.is_empty()
                    || c.owner.as_ref().map(|o| o.as_str()) == Some(filter.owner.as_str())
                    || (filter.owner == "-" && c.owner.is_none()))
                && (filter.status.is_empty() || c.status.as_str() == filter.status)
                && (filter.framework.is_empty()
                    || v.mappings.iter().any(|m| m.framework.to_string() == filter.framework))
                && (filter.freshness.is_empty()
                    || freshness.get(c.code.as_str()).map(String::as_str) == Some(filter.freshness.as_str()))
        })
        .collect();
    let total = matching.len();
    let start = filter.page.saturating_mul(CONTROLS_PAGE).min(total);
    let rows = matching[start..(start + CONTROLS_PAGE).min(total)]
        .iter()
        .map(|v| {
            let mut frameworks: Vec<String> = v.mappings.iter().map(|m| m.framework.to_string()).collect();
            frameworks.dedup();
            frameworks.sort();
            frameworks.dedup();
            ControlRow {
                code: v.control.code.to_string(),
                title: v.control.title.clone(),
                owner: v.control.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
                status: v.control.status.to_string(),
                frequency: v.control.frequency.to_string(),
                frameworks: frameworks.join(", "),
                freshness: freshness.get(v.control.code.as_str()).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let next = (start + CONTROLS_PAGE < total).then_some(filter.page + 1);
    let previous = filter.page.checked_sub(1);
    if partial {
        return html(&ControlsTable { frame, filter, rows, total, next, previous });
    }
    let mut owners: Vec<String> = all.iter().filter_map(|v| v.control.owner.as_ref().map(|o| o.to_string())).collect();
    owners.sort();
    owners.dedup();
    let frameworks = state
        .app
        .frameworks(Some(&principal))
        .await?
        .into_iter()
        .filter(|f| f.adopted == Some(true))
        .map(|f| f.id.to_string())
        .collect();
    html(&ControlsPage {
        notice: notice(filter.done.as_deref()),
        rows,
        total,
        next,
        previous,
        owners,
        frameworks,
        statuses: ImplementationStatus::ALL.iter().map(|s| s.to_string()).collect(),
        states: evident_core::freshness::State::ALL.iter().map(|s| s.to_string()).collect(),
        filter,
        form,
        errors,
        frame,
    })
}

/// A control form's typed fields: owner, frequency, status, maximum evidence age.
type ControlFields = (Option<Email>, Frequency, ImplementationStatus, Option<MaxAge>);
/// Each problem of a form under its field's name (`form` for the form as a whole).
type FieldErrors = BTreeMap<&'static str, String>;

/// A control's fields as a form holds them (text, as typed).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct ControlForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    frequency: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    max_age: String,
    #[serde(default)]
    revision: i64,
}

impl ControlForm {
    fn of(control: &evident_core::Control) -> ControlForm {
        ControlForm {
            csrf: String::new(),
            code: control.code.to_string(),
            title: control.title.clone(),
            description: control.description.clone(),
            owner: control.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
            frequency: control.frequency.to_string(),
            status: control.status.to_string(),
            max_age: control.max_evidence_age_days.map(|m| m.days().to_string()).unwrap_or_default(),
            revision: control.revision,
        }
    }

    /// The typed fields, each problem under its field's name.
    fn fields(&self) -> Result<ControlFields, FieldErrors> {
        let mut errors = BTreeMap::new();
        let owner = match self.owner.trim() {
            "" => None,
            o => Email::parse(o).map_err(|_| errors.insert("owner", format!("{o:?} is not an e-mail address"))).ok(),
        };
        let frequency = Frequency::parse(&self.frequency)
            .map_err(|_| errors.insert("frequency", "choose how often the control operates".to_owned()))
            .ok();
        let status = ImplementationStatus::parse(&self.status)
            .map_err(|_| errors.insert("status", "choose the control's status".to_owned()))
            .ok();
        let max_age = match self.max_age.trim() {
            "" => None,
            days => days.parse::<u32>().ok().and_then(|d| MaxAge::new(d).ok()).or_else(|| {
                errors.insert("max_age", "a number of days, 1 to 1830, or empty".to_owned());
                None
            }),
        };
        if self.title.trim().is_empty() {
            errors.insert("title", "a control needs a title".to_owned());
        }
        match (frequency, status) {
            (Some(f), Some(s)) if errors.is_empty() => Ok((owner, f, s, max_age)),
            _ => Err(errors),
        }
    }
}

/// Where a use case's refusal of a control form belongs.
fn control_error(e: AppError) -> PageResult<BTreeMap<&'static str, String>> {
    let field = match e.code {
        Code::NotAMember => "owner",
        Code::AlreadyExists => "code",
        Code::InvalidInput | Code::NothingToChange | Code::Conflict => "form",
        _ => return Err(e.into()),
    };
    Ok(BTreeMap::from([(field, e.message)]))
}

/// `POST /o/{org}/controls`: creates a control.
pub(crate) async fn create_control(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    Form(form): Form<ControlForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "controls").await?;
    let mut errors = BTreeMap::new();
    let code = ControlCode::parse(form.code.trim()).map_err(|e| errors.insert("code", e.to_string())).ok();
    let fields = form.fields().map_err(|e| errors.extend(e)).ok();
    if let (Some(code), Some((owner, frequency, status, max_age))) = (code, fields) {
        let new = NewControl {
            code: code.clone(),
            title: form.title.trim().to_owned(),
            description: form.description.trim().to_owned(),
            owner,
            frequency,
            max_evidence_age_days: max_age,
            status,
        };
        match state.app.create_control(&principal, new).await {
            Ok(_) => return Ok(see(&format!("/o/{org}/controls/{code}?done=created"))),
            Err(e) => errors = control_error(e)?,
        }
    }
    let page = controls_page(&state, principal, frame, ControlFilter::default(), form, errors, false).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// `POST /o/{org}/controls/baseline`: adopts the baseline library's controls with their mappings.
pub(crate) async fn adopt_baseline(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let principal = viewer.in_org(&state, &org).await?;
    state.app.adopt_baseline(&principal, &[]).await?;
    Ok(see(&format!("/o/{org}/controls?done=baseline")))
}

struct MappingRow {
    framework: String,
    requirement: String,
    coverage: String,
    rationale: String,
}

struct EvidenceRow {
    id: String,
    file: String,
    effective: String,
    description: String,
    superseded: bool,
    controls: String,
    digest: String,
}

fn evidence_row(v: &EvidenceView) -> EvidenceRow {
    let record = &v.evidence.record;
    EvidenceRow {
        id: v.evidence.id.to_string(),
        file: record.file_name.to_string(),
        effective: date(record.effective),
        description: record.description.clone(),
        superseded: v.evidence.superseded_by.is_some(),
        controls: v.controls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", "),
        digest: record.digest.to_string(),
    }
}

#[derive(Template)]
#[template(path = "control.html")]
struct ControlPage {
    frame: Frame,
    notice: Option<&'static str>,
    code: String,
    title: String,
    description: String,
    owner: String,
    status: String,
    frequency: String,
    retired: bool,
    may_edit: bool,
    may_map: bool,
    mappings: Vec<MappingRow>,
    evidence: Vec<EvidenceRow>,
    freshness: Option<(String, String, String)>,
    risks: Vec<(String, String)>,
    form: ControlForm,
    errors: BTreeMap<&'static str, String>,
    /// The control as someone else saved it meanwhile, when an edit came too late.
    conflict: Option<ControlForm>,
    members: Vec<String>,
    frequencies: Vec<String>,
    statuses: Vec<String>,
    frameworks: Vec<String>,
}

/// `GET /o/{org}/controls/{code}`: the control, its mappings across frameworks, its evidence
/// and freshness, the risks it treats; its forms for those who may use them.
pub(crate) async fn control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "controls").await?;
    let code = control_code(&code)?;
    control_page(&state, principal, frame, &code, notice(q.done.as_deref()), None, BTreeMap::new(), None).await
}

fn control_code(code: &str) -> PageResult<ControlCode> {
    ControlCode::parse(code).map_err(|_| PageError(AppError::not_found(Code::ControlNotFound, "control", code)))
}

#[allow(clippy::too_many_arguments)]
async fn control_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    code: &ControlCode,
    notice: Option<&'static str>,
    form: Option<ControlForm>,
    errors: BTreeMap<&'static str, String>,
    conflict: Option<ControlForm>,
) -> PageResult {
    let view = state.app.control(&principal, code).await?;
    let control = &view.control;
    let evidence = state.app.evidence_list(&principal, Some(code), true, Some(50)).await?;
    let freshness = state.app.freshness(&principal, 0).await?.controls.into_iter().find(|c| &c.code == code).map(|c| {
        (
            c.state.to_string(),
            c.last_effective.map(date).unwrap_or_else(|| "never".to_owned()),
            c.next_due.map(date).unwrap_or_else(|| "now".to_owned()),
        )
    });
    let risks = state
        .app
        .risks(&principal)
        .await?
        .into_iter()
        .filter(|r| r.controls.iter().any(|t| &t.control == code))
        .map(|r| (r.code.to_string(), r.title))
        .collect();
    let may_edit = principal.authorize_control(evident_core::Permission::ControlEdit, control.owner.as_ref()).is_ok()
        && control.is_active();
    let may_map = principal.authorize_control(evident_core::Permission::MappingWrite, control.owner.as_ref()).is_ok()
        && control.is_active();
    let members = if may_edit {
        let mut m: Vec<String> =
            state.app.members(&principal).await?.into_iter().map(|m| m.email.to_string()).collect();
        m.sort();
        m
    } else {
        Vec::new()
    };
    let frameworks = if may_map {
        state
            .app
            .frameworks(Some(&principal))
            .await?
            .into_iter()
            .filter(|f| f.adopted == Some(true))
            .map(|f| f.id.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let mut mappings: Vec<MappingRow> = view
        .mappings
        .iter()
        .map(|m| MappingRow {
            framework: m.framework.to_string(),
            requirement: m.requirement.to_string(),
            coverage: m.coverage.to_string(),
            rationale: m.rationale.clone(),
        })
        .collect();
    mappings.sort_by(|a, b| (&a.framework, &a.requirement).cmp(&(&b.framework, &b.requirement)));
    html(&ControlPage {
        notice,
        code: control.code.to_string(),
        title: control.title.clone(),
        description: control.description.clone(),
        owner: control.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
        status: control.status.to_string(),
        frequency: control.frequency.to_string(),
        retired: !control.is_active(),
        may_edit,
        may_map,
        mappings,
        evidence: evidence.iter().map(evidence_row).collect(),
        freshness,
        risks,
        form: form.unwrap_or_else(|| ControlForm::of(control)),
        errors,
        conflict,
        members,
        frequencies: Frequency::ALL.iter().map(|f| f.to_string()).collect(),
        statuses: ImplementationStatus::ALL.iter().map(|s| s.to_string()).collect(),
        frameworks,
        frame,
    })
}

/// `POST /o/{org}/controls/{code}`: saves an edit made on the revision the form was drawn from; if
/// someone saved another change meanwhile, nothing is written and the page shows both.
pub(crate) async fn edit_control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<ControlForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "controls").await?;
    let code = control_code(&code)?;
    let errors = match form.fields() {
        Ok((owner, frequency, status, max_age)) => {
            let patch = ControlPatch {
                title: Some(form.title.trim().to_owned()),
                description: Some(form.description.trim().to_owned()),
                owner: Some(owner),
                frequency: Some(frequency),
                max_evidence_age_days: Some(max_age),
                status: Some(status),
            };
            match state.app.edit_control(&principal, &code, patch, Some(form.revision)).await {
                Ok(_) => return Ok(see(&format!("/o/{org}/controls/{code}?done=saved"))),
                Err(e) if e.code == Code::NothingToChange => {
                    return Ok(see(&format!("/o/{org}/controls/{code}")));
                }
                Err(e) if e.code == Code::Conflict => {
                    let now = state.app.control(&principal, &code).await?;
                    let theirs = ControlForm::of(&now.control);
                    // The viewer's text stays in the form; saving it again now overwrites
                    // knowingly, on the revision they have seen.
                    let mine = ControlForm { revision: theirs.revision, ..form };
                    let errors = BTreeMap::from([(
                        "form",
                        "Someone else saved a change to this control while you were editing it. Nothing of \
                         yours was saved: compare their version with yours below, then save again if yours \
                         should win."
                            .to_owned(),
                    )]);
                    let page =
                        control_page(&state, principal, frame, &code, None, Some(mine), errors, Some(theirs)).await?;
                    return Ok((StatusCode::CONFLICT, page).into_response());
                }
                Err(e) => control_error(e)?,
            }
        }
        Err(errors) => errors,
    };
    let page = control_page(&state, principal, frame, &code, None, Some(form), errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct MapForm {
    csrf: String,
    framework: String,
    requirement: String,
    coverage: String,
    #[serde(default)]
    rationale: String,
}

/// `POST /o/{org}/controls/{code}/map`: maps the control to a requirement.
pub(crate) async fn map_control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<MapForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "controls").await?;
    let code = control_code(&code)?;
    let mapped = async {
        let framework = FrameworkId::parse(&form.framework).map_err(AppError::from)?;
        let requirement = RequirementRef::parse(form.requirement.trim()).map_err(AppError::from)?;
        let coverage = Coverage::parse(&form.coverage).map_err(AppError::from)?;
        state.app.map_control(&principal, &code, &framework, &requirement, coverage, form.rationale.trim()).await
    }
    .await;
    match mapped {
        Ok(_) => Ok(see(&format!("/o/{org}/controls/{code}?done=mapped"))),
        Err(e)
            if matches!(
                e.code,
                Code::InvalidInput
                    | Code::RequirementNotInFramework
                    | Code::RequirementNotAssessable
                    | Code::FrameworkNotFound
                    | Code::FrameworkNotAdopted
            ) =>
        {
            let errors = BTreeMap::from([("map", e.message)]);
            let page = control_page(&state, principal, frame, &code, None, None, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct UnmapForm {
    csrf: String,
    framework: String,
    requirement: String,
}

/// `POST /o/{org}/controls/{code}/unmap`: removes one mapping.
pub(crate) async fn unmap_control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<UnmapForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let principal = viewer.in_org(&state, &org).await?;
    let code = control_code(&code)?;
    let framework = FrameworkId::parse(&form.framework).map_err(AppError::from)?;
    let requirement = RequirementRef::parse(&form.requirement).map_err(AppError::from)?;
    state.app.unmap_control(&principal, &code, &framework, &requirement).await?;
    Ok(see(&format!("/o/{org}/controls/{code}?done=unmapped")))
}

/// `POST /o/{org}/controls/{code}/retire`: retires the control.
pub(crate) async fn retire_control(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let principal = viewer.in_org(&state, &org).await?;
    let code = control_code(&code)?;
    state.app.retire_control(&principal, &code).await?;
    Ok(see(&format!("/o/{org}/controls/{code}?done=retired")))
}

// ---------------------------------------------------------------------------------------------
// The gap delta.

#[derive(Debug, Default, Deserialize)]
pub(crate) struct GapQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    done: Option<String>,
}

struct GapRow {
    reference: String,
    title: String,
    status: String,
    suggestions: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "gap.html")]
struct GapPage {
    frame: Frame,
    notice: Option<&'static str>,
    frameworks: Vec<String>,
    from: String,
    to: String,
    computed: bool,
    covered: usize,
    uncovered: Vec<GapRow>,
    unreached: Vec<(String, Vec<(String, String)>)>,
    error: Option<String>,
}

/// `GET /o/{org}/gap?from=&to=`: what the target asks that the organisation's work for the source
/// does not yet answer, with the crosswalk's suggestions and the requirements no crosswalk reaches.
pub(crate) async fn gap(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<GapQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "gap").await?;
    gap_page(&state, principal, frame, q, None).await
}

async fn gap_page(state: &State, principal: Principal, frame: Frame, q: GapQuery, error: Option<String>) -> PageResult {
    let frameworks: Vec<String> =
        state.app.frameworks(Some(&principal)).await?.into_iter().map(|f| f.id.to_string()).collect();
    let mut page = GapPage {
        notice: notice(q.done.as_deref()),
        frameworks,
        from: q.from.clone(),
        to: q.to.clone(),
        computed: false,
        covered: 0,
        uncovered: Vec::new(),
        unreached: Vec::new(),
        error,
        frame,
    };
    if q.from.is_empty() || q.to.is_empty() {
        return html(&page);
    }
    let from = FrameworkId::parse(&q.from).map_err(AppError::from)?;
    let to = FrameworkId::parse(&q.to).map_err(AppError::from)?;
    let gap = match state.app.gap(&principal, &from, &to).await {
        Ok(gap) => gap,
        Err(e) if matches!(e.code, Code::CrosswalkNotFound | Code::FrameworkNotAdopted | Code::InvalidInput) => {
            page.error = Some(e.message);
            return html(&page);
        }
        Err(e) => return Err(e.into()),
    };
    let target = state.app.framework(Some(&principal), &to).await?;
    let titles: BTreeMap<&RequirementRef, (&str, Option<&RequirementRef>)> =
        target.requirements().iter().map(|r| (&r.reference, (r.title.as_str(), r.parent.as_ref()))).collect();
    // The requirements no crosswalk reaches, under the top-level clause or group they belong to.
    let mut groups: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for item in &gap.unreached {
        let mut top = &item.reference;
        while let Some((_, Some(parent))) = titles.get(top) {
            top = parent;
        }
        let heading = match titles.get(top) {
            Some((title, _)) if top != &item.reference => format!("{top} {title}"),
            _ => "Other".to_owned(),
        };
        groups.entry(heading).or_default().push((item.reference.to_string(), item.title.clone()));
    }
    page.computed = true;
    page.covered = gap.covered;
    page.uncovered = gap
        .uncovered
        .iter()
        .map(|item| GapRow {
            reference: item.reference.to_string(),
            title: item.title.clone(),
            status: item.status.to_string(),
            suggestions: item
                .suggestions
                .iter()
                .map(|s| (s.control.to_string(), s.path.clone(), s.rationale.clone()))
                .collect(),
        })
        .collect();
    page.unreached = groups.into_iter().collect();
    html(&page)
}

/// `POST /o/{org}/gap`: accepts the suggestions of the requirements ticked (or of all).
pub(crate) async fn accept_gap(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    body: Bytes,
) -> PageResult {
    let form = Pairs::parse(&body);
    viewer.check_csrf(form.one("csrf"))?;
    let (principal, frame) = enter(&state, &viewer, &org, "gap").await?;
    let (from_text, to_text) = (form.one("from").to_owned(), form.one("to").to_owned());
    let from = FrameworkId::parse(&from_text).map_err(AppError::from)?;
    let to = FrameworkId::parse(&to_text).map_err(AppError::from)?;
    let refs =
        form.all("ref").map(|r| RequirementRef::parse(r).map_err(AppError::from)).collect::<Result<Vec<_>, _>>()?;
    let all = form.one("all") == "1";
    let query = GapQuery { from: from_text.clone(), to: to_text.clone(), done: None };
    if !all && refs.is_empty() {
        return gap_page(
            &state,
            principal,
            frame,
            query,
            Some("Tick the requirements whose suggestions to accept.".into()),
        )
        .await;
    }
    let only = if all { None } else { Some(refs.as_slice()) };
    match state.app.accept_gap(&principal, &from, &to, only).await {
        Ok(_) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("from", &from_text)
                .append_pair("to", &to_text)
                .append_pair("done", "accepted")
                .finish();
            Ok(see(&format!("/o/{org}/gap?{query}")))
        }
        Err(e) if matches!(e.code, Code::NothingToChange | Code::InvalidInput) => {
            gap_page(&state, principal, frame, query, Some(e.message)).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The Statement of Applicability.

struct SoaLine {
    reference: String,
    title: String,
    applicable: bool,
    justification: String,
    status: String,
    controls: String,
    risks: String,
    missing: bool,
}

#[derive(Template)]
#[template(path = "soa.html")]
struct SoaPage {
    frame: Frame,
    notice: Option<&'static str>,
    rows: Vec<SoaLine>,
    versions: Vec<(i64, String, String)>,
    unjustified: usize,
    /// Why there is no SoA (the framework that carries it is not adopted).
    absent: Option<String>,
}

/// `GET /o/{org}/soa`: the draft SoA, its approved versions, approval and comparison.
pub(crate) async fn soa(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "soa").await?;
    let draft = match state.app.soa_document(&principal, None, SoaSelector::Draft).await {
        Ok(draft) => draft,
        Err(e) if e.code == Code::FrameworkNotAdopted => {
            return html(&SoaPage {
                frame,
                notice: None,
                rows: Vec::new(),
                versions: Vec::new(),
                unjustified: 0,
                absent: Some(e.message),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let versions = state
        .app
        .soa_versions(&principal, None)
        .await?
        .into_iter()
        .rev()
        .map(|v| (v.version, v.approved_by, date(v.approved_at.date_naive())))
        .collect();
    let rows: Vec<SoaLine> = draft
        .rows
        .iter()
        .map(|r| SoaLine {
            reference: r.reference.to_string(),
            title: r.title.clone(),
            applicable: r.applicable,
            justification: r.justification.clone(),
            status: r.implementation.to_string(),
            controls: r.implementing_controls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", "),
            risks: r.risks.join(", "),
            missing: r.justification_missing(),
        })
        .collect();
    let unjustified = rows.iter().filter(|r| r.missing).count();
    html(&SoaPage { frame, notice: notice(q.done.as_deref()), rows, versions, unjustified, absent: None })
}

/// `POST /o/{org}/soa/approve`: approves the draft as a new version.
pub(crate) async fn approve_soa(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let principal = viewer.in_org(&state, &org).await?;
    state.app.approve_soa(&principal, None).await?;
    Ok(see(&format!("/o/{org}/soa?done=approved")))
}

#[derive(Debug, Deserialize)]
pub(crate) struct DiffQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

struct DiffLine {
    reference: String,
    field: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "soa_diff.html")]
struct SoaDiffPage {
    frame: Frame,
    choices: Vec<String>,
    from: String,
    to: String,
    lines: Vec<DiffLine>,
}

/// `GET /o/{org}/soa/diff?from=&to=`: two versions (or a version and the draft) side by side.
pub(crate) async fn soa_diff(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<DiffQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "soa").await?;
    let versions = state.app.soa_versions(&principal, None).await?;
    let mut choices: Vec<String> = versions.iter().rev().map(|v| v.version.to_string()).collect();
    choices.insert(0, "draft".to_owned());
    let from = if q.from.is_empty() { choices.get(1).cloned().unwrap_or_else(|| "draft".into()) } else { q.from };
    let to = if q.to.is_empty() { "draft".to_owned() } else { q.to };
    let parse = |s: &str| s.parse::<SoaSelector>().map_err(|e| PageError(AppError::invalid(e.to_string())));
    let lines = state
        .app
        .soa_diff(&principal, None, parse(&from)?, parse(&to)?)
        .await?
        .into_iter()
        .map(|c| DiffLine {
            reference: c.reference.to_string(),
            field: c.field.to_owned(),
            before: c.before,
            after: c.after,
        })
        .collect();
    html(&SoaDiffPage { frame, choices, from, to, lines })
}

/// `GET /o/{org}/soa/export.csv`: the draft SoA as CSV.
pub(crate) async fn soa_export(
    AxumState(state): AppState,
    Path((org, format)): Path<(String, String)>,
    viewer: Viewer,
) -> PageResult {
    let principal = viewer.in_org(&state, &org).await?;
    if format != "csv" {
        return Err(AppError::not_found(Code::RouteNotFound, "export format", format).into());
    }
    let document = state.app.export_soa(&principal, None, SoaSelector::Draft).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| AppError::new(Code::Unexpected, e.to_string());
    out.write_record(["ref", "title", "applicable", "justification", "status", "implementing_controls", "risks"])
        .map_err(io)?;
    for r in &document.rows {
        let controls = r.implementing_controls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" ");
        out.write_record([
            r.reference.to_string(),
            r.title.clone(),
            if r.applicable { "yes" } else { "no" }.to_owned(),
            r.justification.clone(),
            r.implementation.to_string(),
            controls,
            r.risks.join(" "),
        ])
        .map_err(io)?;
    }
    let bytes = out.into_inner().map_err(|e| AppError::new(Code::Unexpected, e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"soa-draft.csv\"")),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Risks.

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RiskQuery {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    treatment: String,
    #[serde(default)]
    closed: bool,
    done: Option<String>,
}

struct RiskRow {
    code: String,
    title: String,
    owner: String,
    treatment: String,
    inherent: String,
    residual: String,
    review: String,
    accepted: String,
}

#[derive(Template)]
#[template(path = "risks.html")]
struct RisksPage {
    frame: Frame,
    notice: Option<&'static str>,
    filter: RiskQuery,
    rows: Vec<RiskRow>,
    owners: Vec<String>,
    treatments: Vec<String>,
    maps: Vec<(&'static str, svg::Grid)>,
    cell: u32,
    other_versions: usize,
}

fn rating(r: evident_core::risk::Rating) -> String {
    format!("L{} × I{}", r.likelihood(), r.impact())
}

/// `GET /o/{org}/risks`: the register with its filters, and the heat maps.
pub(crate) async fn risks(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(filter): Query<RiskQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "risks").await?;
    let all = state.app.risks(&principal).await?;
    let mut owners: Vec<String> = all.iter().map(|r| r.owner.to_string()).collect();
    owners.sort();
    owners.dedup();
    let wanted = RiskFilter {
        owner: if filter.owner.is_empty() { None } else { Email::parse(&filter.owner).ok() },
        treatment: evident_core::risk::Treatment::parse(&filter.treatment).ok(),
        closed: Some(filter.closed),
    };
    let rows = all
        .iter()
        .filter(|r| wanted.matches(r))
        .map(|r| RiskRow {
            code: r.code.to_string(),
            title: r.title.clone(),
            owner: r.owner.to_string(),
            treatment: r.treatment.to_string(),
            inherent: rating(r.inherent),
            residual: rating(r.residual),
            review: date(r.review_date),
            accepted: r.acceptance.as_ref().map(|a| format!("until {}", date(a.expires))).unwrap_or_default(),
        })
        .collect();
    let (maps, other_versions) = match state.app.heat_map(&principal).await {
        Ok(map) => (
            vec![
                ("Inherent", svg::grid(&map, &map.inherent, "inherent")),
                ("Residual", svg::grid(&map, &map.residual, "residual")),
            ],
            map.other_versions,
        ),
        Err(e) if e.code == Code::NoMethodology => (Vec::new(), 0),
        Err(e) => return Err(e.into()),
    };
    html(&RisksPage {
        notice: notice(filter.done.as_deref()),
        filter,
        rows,
        owners,
        treatments: evident_core::risk::Treatment::ALL.iter().map(|t| t.to_string()).collect(),
        maps,
        cell: svg::CELL,
        other_versions,
        frame,
    })
}

#[derive(Template)]
#[template(path = "risk.html")]
struct RiskPage {
    frame: Frame,
    notice: Option<&'static str>,
    risk: evident_core::risk::Risk,
    inherent: String,
    residual: String,
    may_accept: bool,
    error: Option<String>,
}

/// `GET /o/{org}/risks/{code}`: one risk with its treatment and acceptance.
pub(crate) async fn risk(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "risks").await?;
    risk_page(&state, principal, frame, &code, notice(q.done.as_deref()), None).await
}

async fn risk_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    code: &str,
    notice: Option<&'static str>,
    error: Option<String>,
) -> PageResult {
    let code = RiskCode::parse(code).map_err(|_| AppError::not_found(Code::RiskNotFound, "risk", code))?;
    let risk = state.app.risk(&principal, &code).await?;
    // Only the risk's owner or an administrator may accept it; the use case decides, the page
    // offers the form to them alone.
    let may_accept = frame.can.accept_risk
        && (principal.role() == Role::Admin || frame.email == risk.owner.as_str())
        && !risk.closed;
    html(&RiskPage {
        inherent: rating(risk.inherent),
        residual: rating(risk.residual),
        risk,
        may_accept,
        notice,
        error,
        frame,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct AcceptForm {
    csrf: String,
    expires: String,
    #[serde(default)]
    note: String,
}

/// `POST /o/{org}/risks/{code}/accept`: records the owner's acceptance of the residual risk.
pub(crate) async fn accept_risk(
    AxumState(state): AppState,
    Path((org, code)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<AcceptForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "risks").await?;
    let risk = RiskCode::parse(&code).map_err(|_| AppError::not_found(Code::RiskNotFound, "risk", &code))?;
    let accepted = async {
        let expires = NaiveDate::parse_from_str(form.expires.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::invalid("the expiry is a date such as 2027-06-30"))?;
        state.app.accept_risk(&principal, &risk, expires, form.note.trim().to_owned()).await
    }
    .await;
    match accepted {
        Ok(_) => Ok(see(&format!("/o/{org}/risks/{code}?done=risk-accepted"))),
        Err(e) if e.code == Code::InvalidInput => {
            let page = risk_page(&state, principal, frame, &code, None, Some(e.message)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Evidence.

#[derive(Template)]
#[template(path = "evidence.html")]
struct EvidencePage {
    frame: Frame,
    notice: Option<&'static str>,
    rows: Vec<EvidenceRow>,
    calendar: Vec<(String, String, String)>,
    controls: Vec<String>,
    today: String,
    error: Option<String>,
    limit_mib: usize,
}

/// `GET /o/{org}/evidence`: the records, the freshness calendar and the upload form.
pub(crate) async fn evidence(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<NoticeQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "evidence").await?;
    evidence_page(&state, principal, frame, notice(q.done.as_deref()), None).await
}

async fn evidence_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    notice: Option<&'static str>,
    error: Option<String>,
) -> PageResult {
    let rows = state.app.evidence_list(&principal, None, false, Some(200)).await?;
    let report = state.app.freshness(&principal, 30).await?;
    let calendar = report
        .calendar
        .iter()
        .take(60)
        .map(|c| (c.code.to_string(), c.state.to_string(), c.due.map(date).unwrap_or_else(|| "now".to_owned())))
        .collect();
    let mut controls: Vec<String> = report.controls.iter().map(|c| c.code.to_string()).collect();
    controls.sort();
    html(&EvidencePage {
        frame,
        notice,
        rows: rows.iter().map(evidence_row).collect(),
        calendar,
        controls,
        today: date(report.today),
        error,
        limit_mib: state.config.upload_limit >> 20,
    })
}

/// `POST /o/{org}/evidence` (multipart): each file becomes a record of the controls chosen, its
/// bytes streamed into the evidence store as they arrive.
pub(crate) async fn upload_evidence(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    mut multipart: Multipart,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "evidence").await?;
    let mut csrf_ok = false;
    let mut controls = Vec::new();
    let mut effective = String::new();
    let mut description = String::new();
    let mut stored = 0;
    let bad = |e: axum::extract::multipart::MultipartError| AppError::new(Code::InvalidFile, e.body_text());
    let outcome: Result<(), AppError> = async {
        while let Some(field) = multipart.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_owned();
            if name != "file" {
                let value = field.text().await.map_err(bad)?;
                match name.as_str() {
                    "csrf" => csrf_ok = viewer.check_csrf(&value).is_ok(),
                    "control" => controls.push(value),
                    "effective" => effective = value,
                    "description" => description = value,
                    _ => {}
                }
                continue;
            }
            // The fields before the files say what the files are; nothing is stored without them.
            if !csrf_ok {
                return Err(AppError::new(
                    Code::CsrfTokenInvalid,
                    "this form is out of date: reload the page and try again",
                ));
            }
            let file_name = field.file_name().unwrap_or_default().to_owned();
            if file_name.is_empty() {
                continue;
            }
            let input = AddEvidence {
                file_name,
                controls: controls
                    .iter()
                    .filter(|c| !c.is_empty())
                    .map(|c| ControlCode::parse(c).map(|c| (c, None)).map_err(AppError::from))
                    .collect::<Result<_, _>>()?,
                effective: NaiveDate::parse_from_str(effective.trim(), "%Y-%m-%d")
                    .map_err(|_| AppError::invalid("the effective date is a date such as 2026-11-30"))?,
                description: description.trim().to_owned(),
                source: evident_core::evidence::EvidenceSource::Upload,
            };
            let reader = tokio_util::io::StreamReader::new(field.map_err(std::io::Error::other));
            state.app.add_evidence(&principal, input, reader, Some(state.config.upload_limit as u64)).await?;
            stored += 1;
        }
        if stored == 0 {
            return Err(AppError::invalid("choose at least one file"));
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => Ok(see(&format!("/o/{org}/evidence?done=uploaded"))),
        Err(e) if e.code == Code::CsrfTokenInvalid || e.code == Code::PermissionDenied => Err(e.into()),
        Err(e) if crate::error::status_for(e.code).is_client_error() => {
            let message =
                if stored > 0 { format!("{stored} file(s) were stored; then: {}", e.message) } else { e.message };
            let page = evidence_page(&state, principal, frame, None, Some(message)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "evidence_one.html")]
struct EvidenceOnePage {
    frame: Frame,
    row: EvidenceRow,
    size: u64,
    media_type: String,
    added_by: String,
    added_at: String,
    supersedes: String,
    superseded_by: String,
}

/// `GET /o/{org}/evidence/{id}`: one record: hash, dates, links, versions.
pub(crate) async fn evidence_one(
    AxumState(state): AppState,
    Path((org, id)): Path<(String, String)>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "evidence").await?;
    let id = evidence_id(&id)?;
    let view = state.app.evidence_show(&principal, &id).await?;
    let e = &view.evidence;
    html(&EvidenceOnePage {
        row: evidence_row(&view),
        size: e.record.size,
        media_type: e.record.media_type.clone(),
        added_by: e.uploaded_by.clone(),
        added_at: date(e.uploaded_at.date_naive()),
        supersedes: e.record.supersedes.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        superseded_by: e.superseded_by.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        frame,
    })
}

fn evidence_id(id: &str) -> PageResult<EvidenceId> {
    EvidenceId::parse(id).map_err(|_| PageError(AppError::not_found(Code::EvidenceNotFound, "evidence", id)))
}

/// `GET /o/{org}/evidence/{id}/download`: the stored bytes, as an attachment.
pub(crate) async fn evidence_download(
    AxumState(state): AppState,
    Path((org, id)): Path<(String, String)>,
    viewer: Viewer,
) -> PageResult {
    let principal = viewer.in_org(&state, &org).await?;
    let id = evidence_id(&id)?;
    let (view, stream) = state.app.evidence_bytes(&principal, &id).await?;
    let name: String = view
        .evidence
        .record
        .file_name
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let body = Body::from_stream(stream.map_err(std::io::Error::other));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// The audit log.

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    verify: bool,
}

struct AuditLine {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    entity: String,
    hash: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    filter: AuditQuery,
    lines: Vec<AuditLine>,
    next: Option<i64>,
    verdict: Option<(bool, usize, Vec<String>)>,
}

/// `GET /o/{org}/audit`: the hash-chained log a page at a time, filtered; with `verify=true`,
/// what verify says of it.
pub(crate) async fn audit(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(filter): Query<AuditQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "audit").await?;
    const PAGE: u32 = 200;
    let page = state.app.audit_log(&principal, filter.after.max(0), PAGE).await?;
    let next = (page.len() as u32 == PAGE).then(|| page.last().map(|r| r.seq)).flatten();
    let lines = page
        .into_iter()
        .filter(|r| filter.actor.is_empty() || r.entry.actor.contains(filter.actor.as_str()))
        .filter(|r| filter.action.is_empty() || r.entry.action.contains(filter.action.as_str()))
        .map(|r| AuditLine {
            seq: r.seq,
            at: r.entry.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            actor: r.entry.actor,
            action: r.entry.action,
            entity: format!("{} {}", r.entry.entity_type, r.entry.entity_id),
            hash: r.hash.to_string().chars().take(12).collect(),
        })
        .collect();
    let verdict = if filter.verify {
        let v = state.app.verify_organisation(&principal).await?;
        Some((v.ok, v.records, v.problems.iter().take(20).map(|p| format!("{}: {}", p.code, p.message)).collect()))
    } else {
        None
    };
    html(&AuditPage { frame, filter, lines, next, verdict })
}

// ---------------------------------------------------------------------------------------------
// Administration: members, tokens, own password.

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
pub(crate) async fn admin(
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
pub(crate) async fn create_token(
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
pub(crate) async fn revoke_token(
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
pub(crate) async fn change_password(
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
