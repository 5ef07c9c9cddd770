//! `GET /api/docs`: interactive API docs (Swagger UI) over `/api/openapi.json`, from files embedded
//! in the binary (`assets/`): nothing is fetched from the network, at build time or at run time.
//!
//! The page runs under a strict Content-Security-Policy: scripts from this server only, no inline
//! script, no `eval`, requests to this server only. Swagger UI sets styles from its scripts, so
//! inline styles are allowed (styles cannot run code).

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("../../assets/docs.html");
const START: &str = include_str!("../../assets/docs.js");
const BUNDLE: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const STYLE: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");

/// The policy of the docs page.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static [u8], cache: &'static str) -> Response {
    let headers: [(HeaderName, HeaderValue); 4] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    (headers, body).into_response()
}

/// A day: the bundle changes only with the binary.
const KEEP: &str = "public, max-age=86400";

/// `GET /api/docs`: the docs page.
pub(crate) async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE.as_bytes(), "no-cache")
}

/// `GET /api/docs/docs.js`: starts Swagger UI on the document.
pub(crate) async fn start() -> Response {
    asset("text/javascript; charset=utf-8", START.as_bytes(), "no-cache")
}

/// `GET /api/docs/swagger-ui-bundle.js`.
pub(crate) async fn bundle() -> Response {
    asset("text/javascript; charset=utf-8", BUNDLE, KEEP)
}

/// `GET /api/docs/swagger-ui.css`.
pub(crate) async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE, KEEP)
}
