//! The dashboard.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::routing::get;
use chrono::NaiveDate;
use evident_app::derived::Reuse;
use evident_app::{AppError, Code, Principal};
use serde::Deserialize;

use super::{AppState, Frame, NoticeQuery, date, enter, notice, percent};
use crate::State;
use crate::web::{PageResult, Viewer, html, svg};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new().route("/o/{org}", get(dashboard))
}

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
async fn dashboard(
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
    Ok(state
        .app
        .audit_latest(principal, 10)
        .await?
        .into_iter()
        .filter(|r| r.entry.at.date_naive() >= since)
        .map(|r| (date(r.entry.at.date_naive()), r.entry.actor, r.entry.action, r.entry.entity_id))
        .collect())
}
