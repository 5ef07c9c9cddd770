//! Imports and exports over HTTP: the same tables as the CLI's `controls import`, `assets
//! import`, `risks import`, `frameworks import` and their exports, through the same use cases, so
//! the same row errors. An import is the file as the request's body (CSV, XLSX, or TOML for a
//! framework); `dry_run=true` checks every row and reports every problem as data, writing nothing;
//! without it the import lands whole or not at all.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use evident_app::imports::{ImportMode, Table};
use evident_app::{AppError, Code};
use evident_core::FrameworkId;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::IntoParams;

use super::{AppState, Result};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{ErrorSchema, Org};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// Check every row and report every problem, writing nothing.
    #[serde(default)]
    dry_run: bool,
    /// The file's name, as row errors name it (`upload.csv` by default).
    file: Option<String>,
}

/// What kind of file the body is, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Csv,
    Xlsx,
    Toml,
}

impl Kind {
    fn of(headers: &HeaderMap, toml: bool) -> Result<Kind> {
        let media = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match media.as_str() {
            "text/csv" => Ok(Kind::Csv),
            XLSX => Ok(Kind::Xlsx),
            "application/toml" if toml => Ok(Kind::Toml),
            _ => Err(ApiError::new(
                Code::UnsupportedMediaType,
                format!(
                    "send the file as the body with Content-Type text/csv or {XLSX}{}",
                    if toml { " (or application/toml)" } else { "" }
                ),
            )),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Kind::Csv => "csv",
            Kind::Xlsx => "xlsx",
            Kind::Toml => "toml",
        }
    }
}

/// The file's name as row errors give it: the one the client named, with the extension of the
/// kind the body is (the reader goes by it).
fn file_name(query: &ImportQuery, kind: Kind) -> String {
    let ext = kind.extension();
    match query.file.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(name) if name.to_ascii_lowercase().ends_with(&format!(".{ext}")) => name.to_owned(),
        Some(name) => format!("{name}.{ext}"),
        None => format!("upload.{ext}"),
    }
}

/// The body, refused in the API's terms when over the import limit or too slow.
fn body(bytes: std::result::Result<Bytes, BytesRejection>) -> Result<Bytes> {
    bytes.map_err(|rejection| {
        if crate::json::too_slow(&rejection) {
            ApiError::new(Code::BodyTimeout, "the file came too slowly: the server stopped waiting")
        } else if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(Code::BodyTooLarge, "the file is larger than the server accepts for an import")
        } else {
            ApiError::new(Code::InvalidInput, format!("the file could not be read: {}", rejection.body_text()))
        }
    })
}

fn table(name: &str, bytes: &[u8], layout: &[&str], required: &[&str]) -> Result<Table> {
    Ok(Table::from_bytes(name, bytes, &evident_tabular::Limits::default(), layout, required)?)
}

/// The answer of an import: the report when it passed (written, or what would be written in a dry
/// run). A dry run that found row problems answers them as data (200, `valid: false`, `rows`); an
/// import that found them is refused (422 `invalid_row`, the same `rows`) and wrote nothing.
fn answer<T: Serialize>(mode: ImportMode, file: &str, outcome: std::result::Result<T, AppError>) -> Result<Response> {
    let dry_run = mode == ImportMode::DryRun;
    match outcome {
        Ok(report) => Ok(Json(json!({"dry_run": dry_run, "valid": true, "file": file, "report": report, "rows": []}))
            .into_response()),
        Err(error) if dry_run && error.code == Code::InvalidRow => Ok(Json(json!({
            "dry_run": true,
            "valid": false,
            "file": error.file.as_deref().unwrap_or(file),
            "message": error.message,
            "report": null,
            "rows": error.rows,
        }))
        .into_response()),
        Err(error) => Err(error.into()),
    }
}

fn mode(query: &ImportQuery) -> ImportMode {
    if query.dry_run { ImportMode::DryRun } else { ImportMode::Apply }
}

/// `POST /api/orgs/{org}/imports/controls?dry_run=&file=`: controls and their mappings, as
/// `evident controls import` (the template's columns).
#[utoipa::path(post, path = "/api/orgs/{org}/imports/controls", tag = "imports", params(Org, ImportQuery),
    request_body(content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
        description = "the file itself; at most the server's import limit (50 MiB by default: `Config::import_limit`)"),
    responses((status = 200, description = "`{\"dry_run\", \"valid\", \"file\", \"report\", \"rows\"}`: `report` is what was written (or, in a dry run, what would be: rows, created, updated, unchanged…); a dry run with problems has `valid: false`, `report: null` and every problem in `rows` (`row`, `column`, `code`, `message`)", body = Object),
              (status = 403, description = "permission_denied: importing needs the import and control-management permissions", body = ErrorSchema),
              (status = 415, description = "unsupported_media_type: not text/csv nor XLSX", body = ErrorSchema),
              (status = 422, description = "invalid_row: every row problem in `rows`, nothing written; invalid_file: unreadable, or a column missing or unknown", body = ErrorSchema)))]
pub(crate) async fn controls(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<ImportQuery>,
    caller: Caller,
    headers: HeaderMap,
    bytes: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    use evident_app::imports::controls::{COLUMNS, REQUIRED};
    let principal = caller.in_org(&state, &org).await?;
    let name = file_name(&query, Kind::of(&headers, false)?);
    let table = table(&name, &body(bytes)?, &COLUMNS, &REQUIRED)?;
    answer(mode(&query), &name, state.app.import_controls_as(&principal, &table, mode(&query)).await)
}

/// `POST /api/orgs/{org}/imports/assets?dry_run=&file=`: the asset inventory, as `evident assets import`.
#[utoipa::path(post, path = "/api/orgs/{org}/imports/assets", tag = "imports", params(Org, ImportQuery),
    request_body(content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
        description = "the file itself; at most the server's import limit"),
    responses((status = 200, description = "`{\"dry_run\", \"valid\", \"file\", \"report\", \"rows\"}`: `report` is what was written (or, in a dry run, what would be: rows, created, updated, unchanged…); a dry run with problems has `valid: false`, `report: null` and every problem in `rows` (`row`, `column`, `code`, `message`)", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 415, description = "unsupported_media_type: not text/csv nor XLSX", body = ErrorSchema),
              (status = 422, description = "invalid_row (every problem in `rows`, nothing written), invalid_file", body = ErrorSchema)))]
pub(crate) async fn assets(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<ImportQuery>,
    caller: Caller,
    headers: HeaderMap,
    bytes: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    use evident_app::imports::assets::{COLUMNS, REQUIRED};
    let principal = caller.in_org(&state, &org).await?;
    let name = file_name(&query, Kind::of(&headers, false)?);
    let table = table(&name, &body(bytes)?, &COLUMNS, &REQUIRED)?;
    answer(mode(&query), &name, state.app.import_assets_as(&principal, &table, mode(&query)).await)
}

/// `POST /api/orgs/{org}/imports/risks?dry_run=&file=`: the risk register, as `evident risks import`.
#[utoipa::path(post, path = "/api/orgs/{org}/imports/risks", tag = "imports", params(Org, ImportQuery),
    request_body(content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
        description = "the file itself; at most the server's import limit"),
    responses((status = 200, description = "as the other imports; `report` also has `methodology_version`, the methodology the risks were assessed with", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 415, description = "unsupported_media_type: not text/csv nor XLSX", body = ErrorSchema),
              (status = 422, description = "invalid_row (every problem in `rows`, nothing written), invalid_file, no_methodology, rule_violated", body = ErrorSchema)))]
pub(crate) async fn risks(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<ImportQuery>,
    caller: Caller,
    headers: HeaderMap,
    bytes: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    use evident_app::imports::risks::{COLUMNS, REQUIRED};
    let principal = caller.in_org(&state, &org).await?;
    let name = file_name(&query, Kind::of(&headers, false)?);
    let table = table(&name, &body(bytes)?, &COLUMNS, &REQUIRED)?;
    let outcome = state.app.import_risks_as(&principal, &table, mode(&query)).await.map(|(report, version)| {
        let mut value = serde_json::to_value(report).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            fields.insert("methodology_version".into(), json!(version));
        }
        value
    });
    answer(mode(&query), &name, outcome)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct FrameworkImportQuery {
    /// Check every requirement and report every problem, writing nothing.
    #[serde(default)]
    dry_run: bool,
    /// The file's name, as problems name it.
    file: Option<String>,
    /// For CSV/XLSX (requirements only): the framework's id, with the organisation's namespace
    /// (e.g. org/acme-policy:2025). A TOML file names its framework itself.
    id: Option<String>,
    name: Option<String>,
    version: Option<String>,
    title: Option<String>,
    publisher: Option<String>,
    description: Option<String>,
}

/// `POST /api/orgs/{org}/imports/framework?dry_run=&id=…`: a framework of the organisation's own,
/// as `evident frameworks import`: a TOML file in the catalog's format, or a CSV/XLSX list of
/// requirements with the framework described in the query.
#[utoipa::path(post, path = "/api/orgs/{org}/imports/framework", tag = "imports", params(Org, FrameworkImportQuery),
    request_body(content((String = "application/toml"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
        description = "the file itself; at most the server's import limit"),
    responses((status = 200, description = "as the other imports; `report` is `{id, requirements, assessable, created}` (`created` false: the same content was imported already)", body = Object),
              (status = 400, description = "invalid_input: a CSV without `id`, a TOML file with one, an id without a namespace", body = ErrorSchema),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 409, description = "already_exists: the id was imported with other content", body = ErrorSchema),
              (status = 415, description = "unsupported_media_type: not TOML, CSV nor XLSX", body = ErrorSchema),
              (status = 422, description = "invalid_row (every problem in `rows`, nothing written), invalid_file", body = ErrorSchema)))]
pub(crate) async fn framework(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<FrameworkImportQuery>,
    caller: Caller,
    headers: HeaderMap,
    bytes: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    use evident_app::imports::frameworks::{COLUMNS, Header, MAX_TOML_BYTES, REQUIRED, from_table, from_toml};
    let principal = caller.in_org(&state, &org).await?;
    let kind = Kind::of(&headers, true)?;
    let import = ImportQuery { dry_run: query.dry_run, file: query.file.clone() };
    let name = file_name(&import, kind);
    let bytes = body(bytes)?;
    let mode = mode(&import);
    let parsed = match (kind, query.id.as_deref()) {
        (Kind::Toml, Some(_)) => {
            return Err(ApiError::new(
                Code::InvalidInput,
                "a TOML framework file names its framework itself: leave out id",
            ));
        }
        (Kind::Toml, None) if bytes.len() as u64 > MAX_TOML_BYTES => {
            return Err(ApiError::new(
                Code::FileTooLarge,
                format!("a framework file is at most {MAX_TOML_BYTES} bytes"),
            ));
        }
        (Kind::Toml, None) => std::str::from_utf8(&bytes)
            .map_err(|_| AppError::new(Code::InvalidFile, format!("{name}: the file is not UTF-8 text")))
            .and_then(|text| from_toml(&name, text)),
        (_, None) => {
            return Err(ApiError::new(
                Code::InvalidInput,
                "a CSV or XLSX file lists requirements only: name the framework with id (e.g. org/acme-policy:2025)",
            ));
        }
        (_, Some(id)) => {
            let header = Header {
                id: FrameworkId::parse(id).map_err(AppError::from)?,
                name: query.name.clone(),
                version: query.version.clone(),
                title: query.title.clone(),
                publisher: query.publisher.clone(),
                description: query.description.clone(),
            };
            let table = table(&name, &bytes, &COLUMNS, &REQUIRED)?;
            from_table(&table, &header, &principal.org.name)
        }
    };
    let outcome = match parsed {
        Ok(framework) => state.app.import_framework_as(&principal, framework, mode).await,
        Err(error) => Err(error),
    };
    answer(mode, &name, outcome)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// csv (the default) or xlsx.
    format: Option<String>,
}

/// A file to download: its media type from `format`, an attachment named `name`.
pub(crate) fn file_response(name: &str, format: &str, bytes: Vec<u8>) -> Response {
    let media = if format == "xlsx" { XLSX } else { "text/csv; charset=utf-8" };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(media)),
        (header::CONTENT_DISPOSITION, super::evidence::attachment(name)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    (headers, bytes).into_response()
}

fn export(name: &str, sheet: &str, header: &[&str], rows: &[Vec<String>], query: &ExportQuery) -> Result<Response> {
    let format = query.format.as_deref().unwrap_or("csv");
    let (bytes, _) = evident_app::imports::table_bytes(format, sheet, header, rows)?;
    Ok(file_response(&format!("{name}.{format}"), format, bytes))
}

/// `GET /api/orgs/{org}/exports/controls?format=csv|xlsx`: controls and mappings, as `evident
/// controls export` writes them (and `imports/controls` reads them back).
#[utoipa::path(get, path = "/api/orgs/{org}/exports/controls", tag = "imports", params(Org, ExportQuery),
    responses((status = 200, description = "the file as an attachment, in the columns its import reads",
                  content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 403, description = "permission_denied: a viewer cannot export", body = ErrorSchema)))]
pub(crate) async fn export_controls(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<ExportQuery>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let (_, rows) = state.app.export_controls(&principal).await?;
    export("controls", "controls", &evident_app::imports::controls::COLUMNS, &rows, &query)
}

/// `GET /api/orgs/{org}/exports/assets?format=csv|xlsx`: the asset inventory, as `evident assets export`.
#[utoipa::path(get, path = "/api/orgs/{org}/exports/assets", tag = "imports", params(Org, ExportQuery),
    responses((status = 200, description = "the file as an attachment, in the columns its import reads",
                  content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 403, description = "permission_denied: a viewer cannot export", body = ErrorSchema)))]
pub(crate) async fn export_assets(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<ExportQuery>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let rows = state.app.export_assets(&principal).await?;
    export("assets", "Assets", &evident_app::imports::assets::COLUMNS, &rows, &query)
}

/// `GET /api/orgs/{org}/exports/risks?format=csv|xlsx`: the risk register, as `evident risks export`.
#[utoipa::path(get, path = "/api/orgs/{org}/exports/risks", tag = "imports", params(Org, ExportQuery),
    responses((status = 200, description = "the file as an attachment, in the columns its import reads",
                  content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 403, description = "permission_denied: a viewer cannot export", body = ErrorSchema)))]
pub(crate) async fn export_risks(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<ExportQuery>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let rows = state.app.export_risks(&principal).await?;
    export("risks", "Risk register", &evident_app::imports::risks::COLUMNS, &rows, &query)
}

/// `GET /api/orgs/{org}/exports/treatment-plan?format=csv|xlsx`: the risk treatment plan (each open
/// risk with each treating control, in place or planned, and its due date), as `evident risks
/// treatment-plan` writes it.
#[utoipa::path(get, path = "/api/orgs/{org}/exports/treatment-plan", tag = "imports", params(Org, ExportQuery),
    responses((status = 200, description = "the file as an attachment",
                  content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 403, description = "permission_denied: a viewer cannot export", body = ErrorSchema)))]
pub(crate) async fn export_treatment_plan(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<ExportQuery>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let rows = state.app.export_treatment_plan(&principal).await?;
    export("treatment-plan", "Risk treatment plan", &evident_app::imports::risks::PLAN_COLUMNS, &rows, &query)
}
