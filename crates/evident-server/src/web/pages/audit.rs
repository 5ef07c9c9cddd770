//! The audit log.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::routing::get;
use serde::Deserialize;

use super::{AppState, Frame, enter};
use crate::State;
use crate::web::{PageResult, Viewer, html};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new().route("/o/{org}/audit", get(audit))
}

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
async fn audit(
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
