//! A JSON body, refused in the API's terms: not JSON → `unsupported_media_type` (415), over the
//! limit → `body_too_large` (413), malformed, of the wrong shape or with an unknown field →
//! `invalid_input` (400) naming where, sent too slowly → `body_timeout` (408). Request types deny unknown fields, so a misspelt field is
//! an error, never silently ignored.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use evident_app::Code;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || (v.starts_with("application/") && v.ends_with("+json")));
        if !json {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                "the request body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if too_slow(&rejection) {
                ApiError::new(Code::BodyTimeout, "the request's body came too slowly: the server stopped waiting")
            } else if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(Code::BodyTooLarge, "the request body is larger than the server accepts")
            } else {
                ApiError::new(Code::InvalidInput, format!("the request body could not be read: {rejection}"))
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::new(Code::InvalidInput, format!("the request body is not valid: {e}")))
    }
}

/// Whether the body could not be read because the client sent it too slowly (the body timeout).
pub(crate) fn too_slow(rejection: &axum::extract::rejection::BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}
