//! The Statement of Applicability.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use evident_app::soa::{DecisionDraft, SoaDocument, SoaSelector, soa_row_version};
use evident_app::{AppError, Code, Principal};
use evident_core::soa::{Reason, SoaRow};
use evident_core::{Permission, RequirementRef};
use serde::Deserialize;

use super::{AppState, CsrfOnly, Frame, NoticeQuery, Pairs, date, enter, notice};
use crate::State;
use crate::web::{PageError, PageResult, Viewer, html, see};

/// The routes of these pages.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new()
        .route("/o/{org}/soa", get(soa))
        .route("/o/{org}/soa/approve", post(approve_soa))
        .route("/o/{org}/soa/diff", get(soa_diff))
        .route("/o/{org}/soa/export.{format}", get(soa_export))
        .route("/o/{org}/soa/{reference}", get(soa_row).post(decide_soa_row))
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

impl SoaLine {
    fn of(r: &SoaRow) -> SoaLine {
        SoaLine {
            reference: r.reference.to_string(),
            title: r.title.clone(),
            applicable: r.applicable,
            justification: r.justification.clone(),
            status: r.implementation.to_string(),
            controls: r.implementing_controls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", "),
            risks: r.risks.join(", "),
            missing: r.justification_missing(),
        }
    }
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
    let rows: Vec<SoaLine> = draft.rows.iter().map(SoaLine::of).collect();
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

/// `GET /o/{org}/soa/export.{csv,xlsx}`: the draft SoA as CSV or as a workbook, the columns and
/// writer the command line's `soa export` uses.
async fn soa_export(
    AxumState(state): AppState,
    Path((org, format)): Path<(String, String)>,
    viewer: Viewer,
) -> PageResult {
    let principal = viewer.in_org(&state, &org).await?;
    if !matches!(format.as_str(), "csv" | "xlsx") {
        return Err(AppError::not_found(Code::RouteNotFound, "export format", format).into());
    }
    let document = state.app.export_soa(&principal, None, SoaSelector::Draft).await?;
    let (bytes, _) = evident_app::imports::table_bytes(
        &format,
        "Statement of Applicability",
        &SoaDocument::COLUMNS,
        &document.table(),
    )?;
    Ok(crate::routes::imports::file_response(&format!("soa-draft.{format}"), &format, bytes))
}

/// A decision form as sent: the typed text, kept to show again beside its errors.
struct DecisionForm {
    applicable: bool,
    reasons: Vec<String>,
    justification: String,
}

#[derive(Template)]
#[template(path = "soa_row.html")]
struct SoaRowPage {
    frame: Frame,
    row: SoaLine,
    /// The row's version as shown: the form sends it back, so a decision made meanwhile is not
    /// silently replaced.
    version: String,
    theme: String,
    reasons: String,
    may_edit: bool,
    /// Every reason a decision may give, and whether the form ticks it.
    choices: Vec<(&'static str, bool)>,
    form: DecisionForm,
    /// Each problem under its field's name (`form` for the form as a whole).
    errors: BTreeMap<&'static str, String>,
}

fn reference(reference: &str) -> PageResult<RequirementRef> {
    RequirementRef::parse(reference)
        .map_err(|_| PageError(AppError::not_found(Code::RouteNotFound, "SoA row", reference)))
}

/// `GET /o/{org}/soa/{ref}`: one row of the draft, with the form that decides it for those who may.
async fn soa_row(
    AxumState(state): AppState,
    Path((org, reference_text)): Path<(String, String)>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "soa").await?;
    let reference = reference(&reference_text)?;
    soa_row_page(&state, principal, frame, &reference, None, BTreeMap::new()).await
}

async fn soa_row_page(
    state: &State,
    principal: Principal,
    frame: Frame,
    reference: &RequirementRef,
    form: Option<DecisionForm>,
    errors: BTreeMap<&'static str, String>,
) -> PageResult {
    let rows = state.app.soa(&principal, None).await?;
    let row = rows
        .iter()
        .find(|r| &r.reference == reference)
        .ok_or_else(|| PageError(AppError::not_found(Code::RouteNotFound, "SoA row", reference)))?;
    let form = form.unwrap_or_else(|| DecisionForm {
        applicable: row.applicable,
        reasons: row.reasons.iter().map(|r| r.to_string()).collect(),
        justification: row.justification.clone(),
    });
    html(&SoaRowPage {
        frame,
        row: SoaLine::of(row),
        version: soa_row_version(row),
        theme: row.theme.clone(),
        reasons: row.reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", "),
        may_edit: principal.role().can(Permission::SoaEdit),
        choices: Reason::ALL.iter().map(|r| (r.as_str(), form.reasons.iter().any(|t| t == r.as_str()))).collect(),
        form,
        errors,
    })
}

/// `POST /o/{org}/soa/{ref}`: records the decision on one row (applicable or excluded, the
/// reasons, the justification); a refusal is shown beside the field it concerns.
async fn decide_soa_row(
    AxumState(state): AppState,
    Path((org, reference_text)): Path<(String, String)>,
    viewer: Viewer,
    body: Bytes,
) -> PageResult {
    let fields = Pairs::parse(&body);
    viewer.check_csrf(fields.one("csrf"))?;
    let (principal, frame) = enter(&state, &viewer, &org, "soa").await?;
    let reference = reference(&reference_text)?;
    let form = DecisionForm {
        applicable: fields.one("applicable") != "no",
        reasons: fields.all("reason").map(str::to_owned).collect(),
        justification: fields.one("justification").trim().to_owned(),
    };
    let mut errors = BTreeMap::new();
    let mut reasons = Vec::new();
    for text in &form.reasons {
        match Reason::parse(text) {
            Ok(reason) => reasons.push(reason),
            Err(e) => {
                errors.insert("reasons", e.to_string());
            }
        }
    }
    if errors.is_empty() {
        let version = fields.one("version");
        let decided = state
            .app
            .set_soa(
                &principal,
                None,
                &reference,
                DecisionDraft { applicable: form.applicable, reasons, justification: form.justification.clone() },
                Some(version),
            )
            .await;
        match decided {
            Ok(_) => return Ok(see(&format!("/o/{org}/soa?done=soa-saved#row-{reference}"))),
            // The use case says what is missing; the page only puts it beside the empty field.
            Err(e) if e.code == Code::InvalidInput => {
                if form.reasons.is_empty() {
                    errors.insert("reasons", e.message.clone());
                }
                if form.justification.is_empty() {
                    errors.insert("justification", e.message.clone());
                }
                if errors.is_empty() {
                    errors.insert("form", e.message);
                }
            }
            Err(e) if e.code == Code::RuleViolated => {
                errors.insert("applicable", e.message);
            }
            Err(e) if e.code == Code::Conflict => {
                errors.insert(
                    "form",
                    "Someone changed this decision since you opened the page: the facts above are the decision now. \
                     Your choices are kept in the form; save again to replace it."
                        .to_owned(),
                );
                let page = soa_row_page(&state, principal, frame, &reference, Some(form), errors).await?;
                return Ok((StatusCode::CONFLICT, page).into_response());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let page = soa_row_page(&state, principal, frame, &reference, Some(form), errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
