//! The one error shape of the API: `{"message", "code", "type", "link"}`, with the stable code of
//! `AppError` and the HTTP status that [`status_for`] gives it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use evident_app::{AppError, Code};
use serde::Serialize;

/// A use case's failure (or the HTTP layer's, in the same terms), as the API answers it.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        Self(error)
    }
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self(AppError::new(code, message))
    }
}

/// The HTTP status of each code: the one place the API decides it. A new code does not compile
/// until it is placed here.
pub fn status_for(code: Code) -> StatusCode {
    use Code::*;
    match code {
        InvalidInput | NothingToChange => StatusCode::BAD_REQUEST,
        Unauthenticated | InvalidCredentials => StatusCode::UNAUTHORIZED,
        PermissionDenied | MemberRequired | CsrfTokenInvalid => StatusCode::FORBIDDEN,
        OrganisationNotFound | NoOrganisation | FrameworkNotFound | ControlNotFound | MappingNotFound
        | AssetNotFound | RiskNotFound | SoaVersionNotFound | CrosswalkNotFound | EvidenceNotFound | SampleNotFound
        | AccountNotFound | TokenNotFound | RouteNotFound => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Conflict | AlreadyExists | NotEmpty => StatusCode::CONFLICT,
        BodyTooLarge | FileTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        NotAMember
        | OrganisationAmbiguous
        | FrameworkNotAdopted
        | RequirementNotInFramework
        | RequirementNotAssessable
        | NoMethodology
        | InvalidRow
        | InvalidFile
        | OscalInvalid
        | OscalUnresolvable
        | RuleViolated
        | BackupInvalid
        | BackupIncompatible => StatusCode::UNPROCESSABLE_ENTITY,
        PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
        BodyTimeout => StatusCode::REQUEST_TIMEOUT,
        AccountLocked | TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        StoreUnavailable | EvidenceStoreUnavailable | Timeout => StatusCode::SERVICE_UNAVAILABLE,
        WriteFailed | StoreIncompatible | EvidenceCorrupt | StoreCorrupt | Unexpected => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// The error's class, for clients that branch on it (as meilisearch's API does).
fn kind(code: Code) -> &'static str {
    match code {
        Code::Unauthenticated
        | Code::InvalidCredentials
        | Code::AccountLocked
        | Code::TooManyRequests
        | Code::PermissionDenied
        | Code::CsrfTokenInvalid => "auth",
        Code::StoreUnavailable | Code::EvidenceStoreUnavailable | Code::Timeout => "system",
        _ if status_for(code).is_server_error() => "internal",
        _ => "invalid_request",
    }
}

/// Where a code is explained: the API's own list of codes.
pub fn link(code: Code) -> String {
    format!("/api/errors#{}", code.as_str())
}

#[derive(Debug, Serialize)]
struct Body<'a> {
    message: &'a str,
    code: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    link: String,
    /// For `invalid_row`: every row problem, as the CLI lists them.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    rows: &'a [evident_app::RowError],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = self.0;
        let status = status_for(error.code);
        // A bug's message may say more than a caller should read: it goes to the log instead.
        let message = if status.is_server_error() && !matches!(kind(error.code), "system") {
            tracing::error!(code = error.code(), error = %error, "request failed");
            "the server failed to handle this request; its log has the details (see x-request-id)".to_owned()
        } else {
            tracing::debug!(code = error.code(), error = %error, "request refused");
            error.message.clone()
        };
        let body = Body {
            message: &message,
            code: error.code(),
            kind: kind(error.code),
            link: link(error.code),
            rows: &error.rows,
        };
        let mut response = (status, Json(body)).into_response();
        if error.code == Code::Unauthenticated || error.code == Code::InvalidCredentials {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"evident\""));
        }
        response
    }
}

/// Gives the error shape to an error response that the HTTP layers made without it (an unknown
/// method, a body over the limit, a timeout, a malformed path), keeping its status and headers.
pub(crate) async fn shape_bare_errors(response: Response) -> Response {
    let status = response.status();
    let shaped = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    // A page's error is a page already (`web`): only bare answers are shaped.
    if !(status.is_client_error() || status.is_server_error()) || shaped {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (Code::RouteNotFound, "there is no such route".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (Code::MethodNotAllowed, "the route does not answer this method".to_owned()),
        StatusCode::PAYLOAD_TOO_LARGE => {
            (Code::BodyTooLarge, "the request body is larger than the server accepts".to_owned())
        }
        StatusCode::REQUEST_TIMEOUT => (Code::BodyTimeout, "the request's body came too slowly".to_owned()),
        StatusCode::SERVICE_UNAVAILABLE => (Code::Timeout, "the request took longer than the server allows".to_owned()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (Code::UnsupportedMediaType, "the request body must be JSON (Content-Type: application/json)".to_owned())
        }
        s if s.is_client_error() => (Code::InvalidInput, format!("the request is not valid ({s})")),
        _ => (Code::Unexpected, String::new()),
    };
    // The layer's own status stands (a slow body is 408, a timeout 503), and so do its headers
    // (`Allow` on a 405), but not the ones that described the body it had. A refusal of the
    // path or the query keeps its own words (`limit: invalid digit found in string`).
    let (parts, body) = response.into_parts();
    let message = match code {
        Code::InvalidInput => {
            match axum::body::to_bytes(body, 1024).await.ok().map(|b| String::from_utf8(b.to_vec())) {
                Some(Ok(text)) if !text.trim().is_empty() => format!("the request is not valid: {}", text.trim()),
                _ => message,
            }
        }
        _ => message,
    };
    let mut headers = parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let (_, body) = ApiError::new(code, message).into_response().into_parts();
    let mut shaped = Response::new(body);
    *shaped.status_mut() = status;
    *shaped.headers_mut() = headers;
    shaped
}

/// `GET /api/errors`: every code with its status and type (where `link` points).
pub(crate) async fn codes() -> Json<Vec<serde_json::Value>> {
    Json(
        Code::ALL
            .iter()
            .map(|code| {
                serde_json::json!({"code": code.as_str(), "status": status_for(*code).as_u16(), "type": kind(*code)})
            })
            .collect(),
    )
}
