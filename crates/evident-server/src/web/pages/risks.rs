//! Risks.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::NaiveDate;
use evident_app::risks::RiskFilter;
use evident_app::{AppError, Code, Principal};
use evident_core::{Email, RiskCode, Role};
use serde::Deserialize;

use super::{AppState, Frame, NoticeQuery, date, enter, notice};
use crate::State;
use crate::web::{PageResult, Viewer, html, see, svg};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new()
        .route("/o/{org}/risks", get(risks))
        .route("/o/{org}/risks/{code}", get(risk))
        .route("/o/{org}/risks/{code}/accept", post(accept_risk))
}

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
async fn risks(
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
async fn risk(
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
async fn accept_risk(
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
