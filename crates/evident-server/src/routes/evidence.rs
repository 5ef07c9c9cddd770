//! Evidence: the records (listed, shown with their versions), uploads streamed to the evidence
//! store (multipart), downloads streamed back, corrections (supersede), freshness, and the SOC 2
//! Type 2 window analysis with its population and sample exports.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, Query};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike as _, NaiveDate};
use evident_app::evidence::{AddEvidence, EvidenceFilter, EvidenceView};
use evident_app::type2::{Sampling, Type2Export};
use evident_app::{AppError, Code};
use evident_core::evidence::{EvidenceSource, Period, parse_period};
use evident_core::freshness::State as Freshness;
use evident_core::{ControlCode, EvidenceId, FrameworkId};
use futures::TryStreamExt as _;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::{AppState, Result, paged};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{ErrorSchema, Org};

/// The longest text field of an upload form (a description is at most a few thousand
/// characters; the rest are codes and dates).
const MAX_FIELD: usize = 64 * 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EvidenceQuery {
    /// Only the records of this control (its code).
    #[param(value_type = Option<String>)]
    control: Option<ControlCode>,
    /// Only the records of controls in this freshness state today: fresh, due_soon, overdue
    /// (never_evidenced controls have none).
    #[param(value_type = Option<String>)]
    state: Option<Freshness>,
    /// Superseded records too.
    #[serde(default)]
    superseded: bool,
    /// `-effective` (newest effective date first, the default), `effective`, `-uploaded`,
    /// `uploaded` or `file_name`.
    sort: Option<String>,
    /// At most this many items (1 to 500; 100 by default).
    limit: Option<usize>,
    /// Where the previous page ended (its `next_cursor`); give the same `sort`.
    cursor: Option<String>,
}

/// The key a sort orders by, ties broken by the record's id, as text that orders as the sort asks.
fn sort_key(sort: &str) -> Result<fn(&EvidenceView) -> String> {
    // Descending orders by a complement, so one ascending comparison serves every sort.
    fn effective(v: &EvidenceView) -> String {
        format!("{:010}\u{0}{}", v.evidence.record.effective.num_days_from_ce(), v.evidence.id)
    }
    fn effective_desc(v: &EvidenceView) -> String {
        format!(
            "{:010}\u{0}{}",
            9_999_999_999_i64 - i64::from(v.evidence.record.effective.num_days_from_ce()),
            v.evidence.id
        )
    }
    fn uploaded(v: &EvidenceView) -> String {
        format!("{:020}\u{0}{}", v.evidence.uploaded_at.timestamp_micros().max(0), v.evidence.id)
    }
    fn uploaded_desc(v: &EvidenceView) -> String {
        format!("{:020}\u{0}{}", i64::MAX - v.evidence.uploaded_at.timestamp_micros().max(0), v.evidence.id)
    }
    fn file_name(v: &EvidenceView) -> String {
        format!("{}\u{0}{}", v.evidence.record.file_name.as_str().to_lowercase(), v.evidence.id)
    }
    match sort {
        "-effective" => Ok(effective_desc),
        "effective" => Ok(effective),
        "-uploaded" => Ok(uploaded_desc),
        "uploaded" => Ok(uploaded),
        "file_name" => Ok(file_name),
        other => Err(ApiError::new(
            Code::InvalidInput,
            format!("sort {other:?} is not one of -effective, effective, -uploaded, uploaded, file_name"),
        )),
    }
}

/// `GET /api/orgs/{org}/evidence?control=&state=&superseded=&sort=&limit=&cursor=`: the records.
#[utoipa::path(get, path = "/api/orgs/{org}/evidence", tag = "evidence", params(Org, EvidenceQuery),
    responses((status = 200, description = "`{\"items\": [record…], \"next_cursor\"}`: each record with `id`, `file_name`, `media_type`, `size`, `digest` (SHA-256), `effective`, `source`, `description`, `links`, `controls` (codes), `uploaded_by`, `uploaded_at`, `supersedes`, `superseded_by`", body = Object),
              (status = 404, description = "organisation_not_found, control_not_found", body = ErrorSchema)))]
pub(crate) async fn list(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<EvidenceQuery>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let key = sort_key(query.sort.as_deref().unwrap_or("-effective"))?;
    let filter = EvidenceFilter { control: query.control, state: query.state, superseded: query.superseded };
    let records = state.app.evidence_where(&principal, &filter).await?;
    paged(records, query.limit, query.cursor.as_deref(), key)
}

fn parse_id(id: &str) -> Result<EvidenceId> {
    EvidenceId::parse(id).map_err(|_| ApiError(AppError::not_found(Code::EvidenceNotFound, "evidence", id)))
}

/// `GET /api/orgs/{org}/evidence/{id}`: one record and every version of it.
#[utoipa::path(get, path = "/api/orgs/{org}/evidence/{id}", tag = "evidence",
    params(Org, ("id" = String, Path, description = "the record's id")),
    responses((status = 200, description = "the record (as in the list) with `versions`: every record of its chain of corrections, oldest first, itself included", body = Object),
              (status = 404, description = "organisation_not_found, evidence_not_found (also another organisation's)", body = ErrorSchema)))]
pub(crate) async fn one(
    state: AppState,
    Path((org, id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Json<serde_json::Value>> {
    let principal = caller.in_org(&state, &org).await?;
    let id = parse_id(&id)?;
    let record = state.app.evidence_show(&principal, &id).await?;
    let versions = state.app.evidence_versions(&principal, &id).await?;
    let mut body = serde_json::to_value(&record).map_err(|e| ApiError::new(Code::Unexpected, e.to_string()))?;
    if let Some(fields) = body.as_object_mut() {
        fields.insert("versions".into(), json!(versions));
    }
    Ok(Json(body))
}

/// An evidence upload, as `multipart/form-data`: the text fields first, the file last (its bytes
/// go to the evidence store as they arrive, after everything else was checked).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents the form `upload` reads part by part
pub(crate) struct EvidenceUpload {
    /// A control it proves, by code; repeat the field for several (optional when superseding:
    /// the old record's controls).
    control: Vec<String>,
    /// When the thing it proves happened (YYYY-MM-DD), not when it is uploaded (optional when
    /// superseding: the old record's).
    #[schema(format = Date)]
    effective: String,
    /// The period it proves, FROM..TO (e.g. 2026-03-01..2026-03-31), for every control named.
    period: Option<String>,
    description: Option<String>,
    /// The file, sent last, with its name (one component: a name with a path in it is refused).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// What the form's text fields said.
#[derive(Debug, Default)]
struct Form {
    controls: Vec<ControlCode>,
    effective: Option<NaiveDate>,
    period: Option<Period>,
    description: String,
}

impl Form {
    fn field(&mut self, name: &str, text: &str) -> Result<()> {
        let invalid = |message: String| ApiError::new(Code::InvalidInput, message);
        match name {
            "control" | "controls" => {
                for code in text.split(';').map(str::trim).filter(|c| !c.is_empty()) {
                    self.controls.push(ControlCode::parse(code).map_err(AppError::from)?);
                }
            }
            "effective" => {
                let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                    .map_err(|_| invalid(format!("effective: {text:?} is not a date (YYYY-MM-DD)")))?;
                self.effective = Some(date);
            }
            "period" if text.trim().is_empty() => {}
            "period" => self.period = Some(parse_period(text).map_err(AppError::from)?),
            "description" => self.description = text.to_owned(),
            other => {
                return Err(invalid(format!(
                    "the form has a field {other:?}: send control, effective, period, description, then file"
                )));
            }
        }
        Ok(())
    }

    fn into_input(self, file_name: String, effective: Option<NaiveDate>) -> Result<AddEvidence> {
        let effective = self.effective.or(effective).ok_or_else(|| {
            ApiError::new(
                Code::InvalidInput,
                "the form has no effective date: send effective (YYYY-MM-DD) before the file",
            )
        })?;
        Ok(AddEvidence {
            file_name,
            controls: self.controls.into_iter().map(|c| (c, self.period)).collect(),
            effective,
            description: self.description,
            source: EvidenceSource::Upload,
        })
    }
}

fn multipart_error(error: MultipartError) -> ApiError {
    match error.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(Code::BodyTooLarge, "the upload is larger than the server accepts")
        }
        _ => ApiError::new(
            Code::InvalidInput,
            format!("the upload is not a well-formed multipart form: {}", error.body_text()),
        ),
    }
}

fn multipart_rejection(rejection: MultipartRejection) -> ApiError {
    ApiError::new(
        Code::UnsupportedMediaType,
        format!("an upload is sent as multipart/form-data (fields, then the file): {}", rejection.body_text()),
    )
}

/// A text field of the form, at most [`MAX_FIELD`] bytes.
async fn small_text(mut field: Field<'_>) -> Result<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_FIELD {
            return Err(ApiError::new(Code::InvalidInput, format!("a form field is longer than {MAX_FIELD} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| ApiError::new(Code::InvalidInput, "a form field is not UTF-8 text"))
}

/// Reads the form up to its file, then hands the file's bytes to the use case as they arrive
/// (nothing is buffered beyond a chunk): a new record, or one that supersedes `old`. A body cut
/// off by the server's limit or timeout is answered with that code, whatever the use case made of
/// the broken stream; either way nothing is recorded and the partial bytes are not placed.
async fn store_upload(
    state: &crate::State,
    principal: &evident_app::Principal,
    multipart: std::result::Result<Multipart, MultipartRejection>,
    old: Option<&EvidenceView>,
) -> Result<EvidenceView> {
    let mut multipart = multipart.map_err(multipart_rejection)?;
    let mut form = Form::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            let text = small_text(field).await?;
            form.field(&name, &text)?;
            continue;
        }
        let file_name = field
            .file_name()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::new(Code::InvalidInput, "the file part has no file name (filename=…)"))?;
        let input = form.into_input(file_name, old.map(|o| o.evidence.record.effective))?;
        let cut_off: Arc<Mutex<Option<ApiError>>> = Arc::default();
        let seen = cut_off.clone();
        let bytes = Box::pin(field.map_err(move |error| {
            let message = error.body_text();
            if let Ok(mut cut) = seen.lock() {
                *cut = Some(multipart_error(error));
            }
            std::io::Error::other(message)
        }));
        let reader = tokio_util::io::StreamReader::new(bytes);
        let max = Some(state.config.upload_limit as u64);
        let result = match old {
            None => state.app.add_evidence(principal, input, reader, max).await,
            Some(old) => state.app.supersede_evidence(principal, &old.evidence.id, input, reader, max).await,
        };
        let cut = cut_off.lock().ok().and_then(|mut cut| cut.take());
        return match (result, cut) {
            (Err(_), Some(cut)) => Err(cut),
            (result, _) => Ok(result?),
        };
    }
    Err(ApiError::new(Code::InvalidInput, "the form has no file: send it last, in a part named file"))
}

/// `POST /api/orgs/{org}/evidence` (multipart): adds a file as evidence of the controls named.
#[utoipa::path(post, path = "/api/orgs/{org}/evidence", tag = "evidence", params(Org),
    request_body(content = inline(EvidenceUpload), content_type = "multipart/form-data",
        description = "the fields, then the file; the whole body at most the server's upload limit (256 MiB by default: `Config::upload_limit`), which is not the 1 MiB of JSON bodies"),
    responses((status = 201, description = "the record, as listed: its bytes are durably stored and their SHA-256 is `digest`", body = Object),
              (status = 400, description = "invalid_input: a field of the wrong shape, a file name with a path in it, an empty file, a future effective date", body = ErrorSchema),
              (status = 403, description = "permission_denied: an auditor or a viewer, or a control owner naming a control not theirs", body = ErrorSchema),
              (status = 404, description = "organisation_not_found, control_not_found", body = ErrorSchema),
              (status = 413, description = "body_too_large or file_too_large: over the upload limit; nothing is recorded", body = ErrorSchema),
              (status = 415, description = "unsupported_media_type: not multipart/form-data", body = ErrorSchema),
              (status = 422, description = "rule_violated: a retired control; invalid_file: the upload broke off", body = ErrorSchema),
              (status = 503, description = "evidence_store_unavailable", body = ErrorSchema)))]
pub(crate) async fn upload(
    state: AppState,
    Path(org): Path<String>,
    caller: Caller,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let view = store_upload(&state, &principal, multipart, None).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `POST /api/orgs/{org}/evidence/{id}/supersede` (multipart): a correction. The new record
/// supersedes the old, which stays on record but no longer counts; what the form leaves out (the
/// controls, the effective date, the description) is the old record's.
#[utoipa::path(post, path = "/api/orgs/{org}/evidence/{id}/supersede", tag = "evidence",
    params(Org, ("id" = String, Path, description = "the record it corrects")),
    request_body(content = inline(EvidenceUpload), content_type = "multipart/form-data",
        description = "as an upload; control and effective may be left out"),
    responses((status = 201, description = "the new record; the old one names it in `superseded_by`", body = Object),
              (status = 403, description = "permission_denied", body = ErrorSchema),
              (status = 404, description = "evidence_not_found", body = ErrorSchema),
              (status = 409, description = "conflict: the record was superseded already", body = ErrorSchema),
              (status = 413, description = "body_too_large or file_too_large", body = ErrorSchema),
              (status = 415, description = "unsupported_media_type: not multipart/form-data", body = ErrorSchema),
              (status = 422, description = "rule_violated, invalid_file", body = ErrorSchema),
              (status = 503, description = "evidence_store_unavailable", body = ErrorSchema)))]
pub(crate) async fn supersede(
    state: AppState,
    Path((org, id)): Path<(String, String)>,
    caller: Caller,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let old = state.app.evidence_show(&principal, &parse_id(&id)?).await?;
    let view = store_upload(&state, &principal, multipart, Some(&old)).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// A file name as a `Content-Disposition` carries it: a plain ASCII fallback (anything else, and
/// quotes, backslashes and leading dots, replaced) and the exact name percent-encoded (RFC 6266).
pub(crate) fn attachment(name: &str) -> HeaderValue {
    let plain: String = name
        .chars()
        .map(
            |c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')' | '+') { c } else { '_' },
        )
        .collect();
    let plain = plain.trim_start_matches('.');
    let plain = if plain.trim().is_empty() { "download" } else { plain };
    // RFC 5987's attr-char: letters, digits and these stay as they are; everything else is encoded.
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let exact = percent_encoding::utf8_percent_encode(name, ATTR);
    HeaderValue::from_str(&format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{exact}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment; filename=\"download\""))
}

/// `GET /api/orgs/{org}/evidence/{id}/content`: the bytes exactly as stored, streamed and verified
/// as they pass (damaged bytes end the stream with an error, never a clean end).
#[utoipa::path(get, path = "/api/orgs/{org}/evidence/{id}/content", tag = "evidence",
    params(Org, ("id" = String, Path, description = "the record's id")),
    responses((status = 200, description = "the file, as an attachment (`Content-Disposition` with its name made safe, `X-Content-Type-Options: nosniff`); `ETag` and `X-Evident-Sha256` are its SHA-256; its media type is the record's `media_type`",
                  content_type = "application/octet-stream", body = Vec<u8>),
              (status = 404, description = "evidence_not_found", body = ErrorSchema),
              (status = 500, description = "evidence_corrupt: the stored bytes are missing or damaged; nothing is served", body = ErrorSchema),
              (status = 503, description = "evidence_store_unavailable", body = ErrorSchema)))]
pub(crate) async fn download(
    state: AppState,
    Path((org, id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let (view, stream) = state.app.evidence_bytes(&principal, &parse_id(&id)?).await?;
    let size = stream.size();
    Ok(content(&view, size, Body::from_stream(stream.map_err(std::io::Error::other))))
}

/// A record's bytes as a download: what the API and the web pages send.
pub(crate) fn content(view: &EvidenceView, size: u64, body: Body) -> Response {
    let digest = view.evidence.record.digest.to_string();
    let mut headers = HeaderMap::new();
    // Never rendered by a browser as a page of ours: an uploaded HTML file stays a download.
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(header::CONTENT_DISPOSITION, attachment(view.evidence.record.file_name.as_str()));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{digest}\"")) {
        headers.insert(header::ETAG, tag);
    }
    if let Ok(value) = HeaderValue::from_str(&digest) {
        headers.insert(HeaderName::from_static("x-evident-sha256"), value);
    }
    (headers, body).into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct FreshnessQuery {
    /// How many days ahead the calendar looks (1 to 1098; 30 by default).
    days: Option<u32>,
}

/// `GET /api/orgs/{org}/freshness?days=`: each active control's evidence freshness today, how many
/// are in each state, and the calendar of what falls due.
#[utoipa::path(get, path = "/api/orgs/{org}/freshness", tag = "evidence", params(Org, FreshnessQuery),
    responses((status = 200, description = "as `evident freshness --json`: `today`, `days`, `counts` ([state, n] pairs), `controls` (each with `state`, `last_effective`, `next_due`), `calendar`", body = Object),
              (status = 404, description = "organisation_not_found", body = ErrorSchema)))]
pub(crate) async fn freshness(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<FreshnessQuery>,
    caller: Caller,
) -> Result<Json<evident_app::type2::FreshnessReport>> {
    let principal = caller.in_org(&state, &org).await?;
    let days = query.days.unwrap_or(30);
    if !(1..=1098).contains(&days) {
        return Err(ApiError::new(Code::InvalidInput, format!("days is 1 to 1098, not {days}")));
    }
    Ok(Json(state.app.freshness(&principal, days).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Type2Query {
    /// The framework whose mapped, implemented controls are tested (e.g. soc2:2017).
    #[param(value_type = String)]
    framework: FrameworkId,
    /// The window's first day (YYYY-MM-DD).
    #[param(value_type = String, format = Date)]
    from: NaiveDate,
    /// The window's last day: 3 to 12 months after `from`.
    #[param(value_type = String, format = Date)]
    to: NaiveDate,
    /// The sampling table preset: frequency (the default), frequency-high or population.
    sampling: Option<String>,
    /// The seed of the sample; a new one when left out (the answer says which).
    seed: Option<u64>,
}

/// The analysis a Type 2 query asks for.
async fn analyse(
    state: &crate::State,
    principal: &evident_app::Principal,
    query: &Type2Query,
) -> Result<evident_core::type2::Type2Analysis> {
    let sampling = Sampling::Preset(query.sampling.clone().unwrap_or_else(|| "frequency".to_owned()));
    Ok(state.app.type2(principal, &query.framework, query.from, query.to, sampling, query.seed).await?)
}

/// `GET /api/orgs/{org}/type2?framework=&from=&to=&sampling=&seed=`: the SOC 2 Type 2 analysis of a
/// window: per control its occurrences, those evidenced, the missing periods, the population, the
/// sample size and the sample drawn from the seed, and the exceptions (sampled, not evidenced).
#[utoipa::path(get, path = "/api/orgs/{org}/type2", tag = "evidence", params(Org, Type2Query),
    responses((status = 200, description = "as `evident type2 --json`: `window`, `table`, `seed`, `controls` (each with `occurrences`, `missing`, `population`, `sample_size`, `sample`, `exceptions`)", body = Object),
              (status = 400, description = "invalid_input: a window not of 3 to 12 months, an unknown preset", body = ErrorSchema),
              (status = 404, description = "framework_not_found", body = ErrorSchema)))]
pub(crate) async fn type2(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<Type2Query>,
    caller: Caller,
) -> Result<Json<evident_core::type2::Type2Analysis>> {
    let principal = caller.in_org(&state, &org).await?;
    Ok(Json(analyse(&state, &principal, &query).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Type2ExportQuery {
    /// The framework whose mapped, implemented controls are tested (e.g. soc2:2017).
    #[param(value_type = String)]
    framework: FrameworkId,
    /// The window's first day (YYYY-MM-DD).
    #[param(value_type = String, format = Date)]
    from: NaiveDate,
    /// The window's last day: 3 to 12 months after `from`.
    #[param(value_type = String, format = Date)]
    to: NaiveDate,
    /// The sampling table preset: frequency (the default), frequency-high or population.
    sampling: Option<String>,
    /// The seed of the sample; a new one when left out (`X-Evident-Seed` says which).
    seed: Option<u64>,
    /// population (every occurrence of every control) or sample.
    what: String,
    /// csv (the default) or xlsx.
    format: Option<String>,
}

/// `GET /api/orgs/{org}/type2/export?…&what=population|sample&format=csv|xlsx`: the population or
/// the sample as a file, as `evident type2 --population/--sample` writes it; its completeness and
/// accuracy record is in the headers (rows, SHA-256 of the file, seed).
#[utoipa::path(get, path = "/api/orgs/{org}/type2/export", tag = "evidence", params(Org, Type2ExportQuery),
    responses((status = 200, description = "the file as an attachment; `X-Evident-Rows`, `X-Evident-Sha256` (of the file) and `X-Evident-Seed` (to draw the same sample again) are its completeness-and-accuracy record",
                  content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 400, description = "invalid_input", body = ErrorSchema),
              (status = 403, description = "permission_denied: a viewer cannot export", body = ErrorSchema),
              (status = 404, description = "framework_not_found", body = ErrorSchema)))]
pub(crate) async fn type2_export(
    state: AppState,
    Path(org): Path<String>,
    Query(query): Query<Type2ExportQuery>,
    caller: Caller,
) -> Result<Response> {
    let principal = caller.in_org(&state, &org).await?;
    let what = match query.what.as_str() {
        "population" => Type2Export::Population,
        "sample" => Type2Export::Sample,
        other => {
            return Err(ApiError::new(Code::InvalidInput, format!("what is population or sample, not {other:?}")));
        }
    };
    let format = query.format.as_deref().unwrap_or("csv");
    let Type2ExportQuery { framework, from, to, sampling, seed, .. } = &query;
    let analysis =
        Type2Query { framework: framework.clone(), from: *from, to: *to, sampling: sampling.clone(), seed: *seed };
    let analysis = analyse(&state, &principal, &analysis).await?;
    let (bytes, record) = state.app.export_type2_bytes(&principal, &analysis, framework, what, format)?;
    let mut response = super::imports::file_response(&record.file, format, bytes);
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("x-evident-rows"), HeaderValue::from(record.rows));
    headers.insert(HeaderName::from_static("x-evident-seed"), HeaderValue::from(analysis.seed));
    if let Ok(value) = HeaderValue::from_str(record.sha256.as_ref()) {
        headers.insert(HeaderName::from_static("x-evident-sha256"), value);
    }
    Ok(response)
}
