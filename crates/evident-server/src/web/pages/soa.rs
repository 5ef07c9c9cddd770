//! The Statement of Applicability.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use evident_app::soa::SoaSelector;
use evident_app::{AppError, Code};
use serde::Deserialize;

use super::{AppState, CsrfOnly, Frame, NoticeQuery, date, enter, notice};
use crate::State;
use crate::web::{PageError, PageResult, Viewer, html, see};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new()
        .route("/o/{org}/soa", get(soa))
        .route("/o/{org}/soa/approve", post(approve_soa))
        .route("/o/{org}/soa/diff", get(soa_diff))
        .route("/o/{org}/soa/export.{format}", get(soa_export))
}

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
async fn soa(
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
async fn approve_soa(
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
async fn soa_diff(
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
async fn soa_export(
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
