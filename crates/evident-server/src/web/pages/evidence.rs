//! Evidence.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Multipart, Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::NaiveDate;
use evident_app::evidence::{AddEvidence, EvidenceView};
use evident_app::{AppError, Code, Principal};
use evident_core::{ControlCode, EvidenceId};
use futures::TryStreamExt as _;

use super::{AppState, Frame, NoticeQuery, date, enter, notice};
use crate::State;
use crate::web::{PageError, PageResult, Viewer, html, see};

/// The routes of these pages.
pub(in crate::web) fn routes(upload_limit: usize) -> Router<State> {
    Router::new()
        .route("/o/{org}/evidence", get(evidence).post(upload_evidence).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/o/{org}/evidence/{id}", get(evidence_one))
        .route("/o/{org}/evidence/{id}/download", get(evidence_download))
}

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
async fn evidence(
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
async fn upload_evidence(
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
async fn evidence_one(
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
async fn evidence_download(
    AxumState(state): AppState,
    Path((org, id)): Path<(String, String)>,
    viewer: Viewer,
) -> PageResult {
    let principal = viewer.in_org(&state, &org).await?;
    let id = evidence_id(&id)?;
    let (view, stream) = state.app.evidence_bytes(&principal, &id).await?;
    let size = stream.size();
    Ok(crate::routes::evidence::content(&view, size, Body::from_stream(stream.map_err(std::io::Error::other))))
}

pub(super) struct EvidenceRow {
    pub(super) id: String,
    pub(super) file: String,
    pub(super) effective: String,
    pub(super) description: String,
    pub(super) superseded: bool,
    pub(super) controls: String,
    pub(super) digest: String,
}

pub(super) fn evidence_row(v: &EvidenceView) -> EvidenceRow {
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
