//! Imports from a spreadsheet: choose what the file holds, upload it, see every row problem
//! before anything lands (the use case's dry run), then confirm to import it.
//!
//! The file is not kept on the server between the check and the import: instances hold no state
//! a second one would need. The confirm button belongs to the same form, whose file field still
//! holds the file, so confirming sends it again, and the import checks it again before anything
//! lands, whole or not at all.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use evident_app::error::RowError;
use evident_app::imports::{ImportMode, ImportReport, Table};
use evident_app::{AppError, Code, Principal};
use evident_core::Permission;
use serde::Deserialize;

use super::{AppState, Frame, enter, notice};
use crate::State;
use crate::web::{PageResult, Viewer, html, see};

/// The routes of these pages. The upload is bounded by the import limit as it is read, in place
/// of the pages' form limit.
pub(in crate::web) fn routes() -> Router<State> {
    Router::new().route("/o/{org}/imports", get(imports).post(import).layer(DefaultBodyLimit::disable()))
}

/// What a file may hold, in the order the form offers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Controls,
    Risks,
    Assets,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Controls, Kind::Risks, Kind::Assets];

    fn as_str(self) -> &'static str {
        match self {
            Kind::Controls => "controls",
            Kind::Risks => "risks",
            Kind::Assets => "assets",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Controls => "Controls and their mappings",
            Kind::Risks => "The risk register",
            Kind::Assets => "The asset inventory",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The columns the file is read in, and those it must have.
    fn layout(self) -> (&'static [&'static str], &'static [&'static str]) {
        use evident_app::imports::{assets, controls, risks};
        match self {
            Kind::Controls => (&controls::COLUMNS, &controls::REQUIRED),
            Kind::Risks => (&risks::COLUMNS, &risks::REQUIRED),
            Kind::Assets => (&assets::COLUMNS, &assets::REQUIRED),
        }
    }
}

/// An import's report as the page shows it.
#[derive(Debug, Clone, Default)]
struct Report {
    rows: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    mappings: usize,
}

impl From<ImportReport> for Report {
    fn from(r: ImportReport) -> Self {
        Report { rows: r.rows, created: r.created, updated: r.updated, unchanged: r.unchanged, mappings: r.mappings }
    }
}

/// `?done=imported&kind=…&rows=…`: the report of the import that just landed. Numbers only, so
/// a link cannot put words of its own on the page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ImportsQuery {
    done: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    rows: usize,
    #[serde(default)]
    created: usize,
    #[serde(default)]
    updated: usize,
    #[serde(default)]
    unchanged: usize,
    #[serde(default)]
    mappings: usize,
}

struct Problem {
    row: usize,
    column: String,
    message: String,
}

impl Problem {
    fn of(e: &RowError) -> Problem {
        Problem { row: e.row, column: e.column.clone().unwrap_or_default(), message: e.message.clone() }
    }
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    frame: Frame,
    notice: Option<&'static str>,
    may_import: bool,
    /// (value, label, columns, chosen) for each kind of file.
    kinds: Vec<(&'static str, &'static str, String, bool)>,
    file: String,
    limit: String,
    /// Each problem of the form under its field's name (`kind`, `file`).
    errors: BTreeMap<&'static str, String>,
    /// Every row problem the check (or the refused import) found.
    problems: Vec<Problem>,
    summary: String,
    /// A clean check: what the import would do, and the button that does it.
    checked: Option<Report>,
    /// The import that landed.
    landed: Option<Report>,
}

impl ImportsPage {
    fn new(state: &State, principal: &Principal, frame: Frame, chosen: Option<Kind>) -> ImportsPage {
        let chosen = chosen.unwrap_or(Kind::Controls);
        ImportsPage {
            frame,
            notice: None,
            may_import: principal.role().can(Permission::Import),
            kinds: Kind::ALL
                .into_iter()
                .map(|k| (k.as_str(), k.label(), k.layout().0.join(", "), k == chosen))
                .collect(),
            file: String::new(),
            limit: size(state.config.import_limit),
            errors: BTreeMap::new(),
            problems: Vec::new(),
            summary: String::new(),
            checked: None,
            landed: None,
        }
    }
}

/// `GET /o/{org}/imports`: the upload form, and the report of an import that just landed.
async fn imports(
    AxumState(state): AppState,
    Path(org): Path<String>,
    Query(q): Query<ImportsQuery>,
    viewer: Viewer,
) -> PageResult {
    let (principal, frame) = enter(&state, &viewer, &org, "imports").await?;
    let kind = q.kind.as_deref().and_then(Kind::parse);
    let mut page = ImportsPage::new(&state, &principal, frame, kind);
    page.notice = notice(q.done.as_deref());
    if page.notice.is_some() {
        let ImportsQuery { rows, created, updated, unchanged, mappings, .. } = q;
        page.landed = Some(Report { rows, created, updated, unchanged, mappings });
    }
    html(&page)
}

/// The form as sent: its fields, and the file's name and bytes.
#[derive(Default)]
struct Upload {
    csrf: String,
    kind: String,
    mode: String,
    file_name: String,
    bytes: Vec<u8>,
}

/// The most a field other than the file may hold, and how many fields a form may have.
const FIELD_LIMIT: usize = 4 << 10;
const FIELDS: usize = 16;

/// Reads the form, the file at most `limit` bytes, stopping as soon as anything is too large.
async fn read_upload(multipart: &mut Multipart, limit: usize) -> Result<Upload, AppError> {
    let bad = |e: axum::extract::multipart::MultipartError| AppError::new(Code::InvalidFile, e.body_text());
    let mut upload = Upload::default();
    let mut fields = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        fields += 1;
        if fields > FIELDS {
            return Err(AppError::invalid("the form has more fields than it should"));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = name == "file";
        if is_file {
            upload.file_name = field.file_name().unwrap_or_default().to_owned();
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            bytes.extend_from_slice(&chunk);
            if is_file && bytes.len() > limit {
                return Err(AppError::new(
                    Code::FileTooLarge,
                    format!("the file is larger than an import may be ({})", size(limit)),
                ));
            }
            if !is_file && bytes.len() > FIELD_LIMIT {
                return Err(AppError::invalid(format!("the field {name:?} is too long")));
            }
        }
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "file" => upload.bytes = bytes,
            "csrf" => upload.csrf = text(),
            "kind" => upload.kind = text(),
            "mode" => upload.mode = text(),
            _ => {}
        }
    }
    Ok(upload)
}

/// `limit` bytes, as a person reads a size.
fn size(limit: usize) -> String {
    if limit >= 1 << 20 { format!("{} MiB", limit >> 20) } else { format!("{limit} bytes") }
}

/// `POST /o/{org}/imports` (multipart: `kind`, `file`, `mode` = `check` or `apply`): checks the
/// file (the use case's dry run) and shows every row problem, or imports it whole and redirects to
/// its report.
async fn import(
    AxumState(state): AppState,
    Path(org): Path<String>,
    viewer: Viewer,
    mut multipart: Multipart,
) -> PageResult {
    let read = read_upload(&mut multipart, state.config.import_limit).await;
    let upload = match read {
        Ok(upload) => upload,
        // Too large or unreadable: the form again, the reason beside the file field. It changes
        // nothing, so it needs no token of the form it could not read.
        Err(e) if crate::error::status_for(e.code).is_client_error() => {
            let (principal, frame) = enter(&state, &viewer, &org, "imports").await?;
            let mut page = ImportsPage::new(&state, &principal, frame, None);
            page.errors.insert("file", e.message);
            let status = crate::error::status_for(e.code);
            return Ok((status, html(&page)?).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    viewer.check_csrf(&upload.csrf)?;
    let (principal, frame) = enter(&state, &viewer, &org, "imports").await?;
    let kind = Kind::parse(&upload.kind);
    let mode = if upload.mode == "apply" { ImportMode::Apply } else { ImportMode::DryRun };
    let mut page = ImportsPage::new(&state, &principal, frame, kind);
    page.file = upload.file_name.clone();
    let Some(kind) = kind else {
        page.errors.insert("kind", "choose what the file holds".to_owned());
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response());
    };
    if upload.file_name.is_empty() || upload.bytes.is_empty() {
        let again = if mode == ImportMode::Apply { " (choose it again: the page was reloaded)" } else { "" };
        page.errors.insert("file", format!("choose a CSV or XLSX file{again}"));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response());
    }
    let outcome = run(&state, &principal, kind, &upload, mode).await;
    match outcome {
        Ok(report) if mode == ImportMode::Apply => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("done", "imported")
                .append_pair("kind", kind.as_str())
                .append_pair("rows", &report.rows.to_string())
                .append_pair("created", &report.created.to_string())
                .append_pair("updated", &report.updated.to_string())
                .append_pair("unchanged", &report.unchanged.to_string())
                .append_pair("mappings", &report.mappings.to_string())
                .finish();
            Ok(see(&format!("/o/{org}/imports?{query}")))
        }
        Ok(report) => {
            page.checked = Some(report);
            html(&page)
        }
        Err(e) if e.code == Code::InvalidRow => {
            page.summary = e.message.clone();
            page.problems = e.rows.iter().map(Problem::of).collect();
            // A check that found problems did its job; an import refused for them did not.
            let status = if mode == ImportMode::DryRun { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            Ok((status, html(&page)?).into_response())
        }
        Err(e) if e.code == Code::PermissionDenied => Err(e.into()),
        Err(e) if crate::error::status_for(e.code).is_client_error() => {
            page.errors.insert("file", e.message);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads the file as `kind`'s table and runs its import (or dry run): the API's use cases.
async fn run(
    state: &State,
    principal: &Principal,
    kind: Kind,
    upload: &Upload,
    mode: ImportMode,
) -> Result<Report, AppError> {
    let (layout, required) = kind.layout();
    let limits = evident_tabular::Limits::default();
    let table = Table::from_bytes(&upload.file_name, &upload.bytes, &limits, layout, required)?;
    let app = &state.app;
    Ok(match kind {
        Kind::Controls => app.import_controls_as(principal, &table, mode).await?.into(),
        Kind::Risks => app.import_risks_as(principal, &table, mode).await?.0.into(),
        Kind::Assets => app.import_assets_as(principal, &table, mode).await?.into(),
    })
}
