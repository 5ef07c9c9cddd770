//! evident's HTTP server: a front end over `evident-app`, like the CLI.
//!
//! Architecture invariants:
//! - No rule, no SQL, no policy here: every request becomes one call of a use case of
//!   `evident-app` with a [`Principal`](evident_app::Principal) resolved from the request's
//!   session cookie or API token; the answer is rendered as JSON.
//! - One error shape everywhere (`{"message", "code", "type", "link"}`, [`error`]), with the stable
//!   code of `AppError`; the HTTP status comes from the code, in one function
//!   ([`error::status_for`]). Failures raised by the HTTP layers themselves (an unknown route, a
//!   body over the limit, a timeout) are given the same shape on their way out.
//! - Stateless: everything lives in the database (sessions too), so several instances can serve
//!   one PostgreSQL.
#![forbid(unsafe_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, header};
use evident_app::App;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate as _};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

mod auth;
pub mod error;
mod json;
mod limit;
mod list;
mod openapi;
// utoipa's `path` macro names the `IntoParams` types of `params(...)` by a qualified path.
#[allow(unused_qualifications)]
mod routes;
mod web;

pub use error::ApiError;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "evident_session";
/// The header a state-changing request signed in by cookie echoes the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the server behaves; [`Config::default`] is what `evident serve` uses.
#[derive(Debug, Clone)]
pub struct Config {
    /// Believe `X-Forwarded-Proto: https` from a reverse proxy in front (then the session cookie
    /// is `Secure`). Off by default: anyone could send the header.
    pub trust_proxy: bool,
    /// The longest a request may take, from its first byte to its answer.
    pub request_timeout: Duration,
    /// The longest a client may take to send a request's body (slow clients are cut off).
    pub body_timeout: Duration,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The largest evidence upload accepted (the whole multipart body), in bytes: the upload
    /// routes' own limit in place of `body_limit`. The bytes stream to the evidence store.
    pub upload_limit: usize,
    /// The longest an evidence upload may take, in place of `request_timeout` (the body timeout
    /// still cuts off a client that stops sending).
    pub upload_timeout: Duration,
    /// The largest import file (CSV, XLSX, TOML) accepted, in bytes; it is read whole.
    pub import_limit: usize,
    /// Sign-ins one address may make at once, before [`Config::sign_ins_per_minute`] applies
    /// (`too_many_requests`, 429, with `Retry-After`); 0 turns the limit off. Counted by each
    /// instance alone.
    pub sign_in_burst: u32,
    /// Sign-ins one address may make a minute, once its burst is spent.
    pub sign_ins_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            trust_proxy: false,
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
            body_limit: 1 << 20,
            upload_limit: 256 << 20,
            upload_timeout: Duration::from_secs(600),
            import_limit: 50 << 20,
            sign_in_burst: 20,
            sign_ins_per_minute: 20,
        }
    }
}

/// What every handler gets: the application and the configuration.
#[derive(Clone)]
pub(crate) struct State {
    pub(crate) app: App,
    pub(crate) config: Arc<Config>,
    /// The orders of the shared lists pages are cut from.
    pub(crate) orders: Arc<list::Orders>,
    /// The per-address sign-in limit.
    pub(crate) sign_ins: Arc<limit::SignInLimit>,
}

/// The whole API with its middleware: request ids (`x-request-id`, made if absent and returned),
/// a tracing span per request (credentials and cookies redacted), gzip, a timeout, a body-size
/// limit and a body timeout, and the one error shape for whatever those refuse.
pub fn router(app: App, config: Config) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    // Requests share one application: a read model served to one is kept for the next.
    let sign_ins = Arc::new(limit::SignInLimit::new(config.sign_in_burst, config.sign_ins_per_minute));
    let state = State { app: app.remembering(), config: Arc::new(config), orders: Arc::default(), sign_ins };
    let config = state.config.clone();
    let sensitive: Arc<[HeaderName]> = Arc::new([header::AUTHORIZATION, header::COOKIE, header::SET_COOKIE]);
    let trace = TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<axum::body::Body>| {
        let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), id = %id)
    });
    // Layers in turns: `Router::layer` turns every response back into axum's, so the
    // error shaping sees the bare answers of the limits and the timeout inside it, and the
    // request id, trace and compression see the shaped ones.
    // Each group of routes has its own body limit and timeout: JSON everywhere (1 MiB, 30 s),
    // evidence uploads (256 MiB, 10 min) and import files (50 MiB).
    let limits = |limit: usize| {
        ServiceBuilder::new()
            .layer(RequestBodyTimeoutLayer::new(config.body_timeout))
            .layer(RequestBodyLimitLayer::new(limit))
            .layer(DefaultBodyLimit::max(limit))
    };
    let timeout = |timeout| TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, timeout);
    routes::routes()
        .layer(limits(config.body_limit))
        .layer(timeout(config.request_timeout))
        .merge(routes::uploads().layer(limits(config.upload_limit)).layer(timeout(config.upload_timeout)))
        .merge(routes::imports().layer(limits(config.import_limit)).layer(timeout(config.request_timeout)))
        // The pages: forms within the JSON limit, the evidence upload within the upload limit
        // (`web::routes`); a page may take as long as an upload.
        .merge(
            web::routes(config.body_limit, config.upload_limit)
                .layer(RequestBodyTimeoutLayer::new(config.body_timeout))
                .layer(timeout(config.upload_timeout)),
        )
        .with_state(state)
        .layer(axum::middleware::map_response(error::shape_bare_errors))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(SetSensitiveHeadersLayer::from_shared(sensitive))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(not_secret))),
        )
}

/// Whether a response may be compressed: not one that carries a secret (`Cache-Control:
/// no-store`: a sign-in's CSRF token, a new token's secret), whose compressed length could leak it
/// to someone who sees the traffic and can put text of their own beside it (BREACH).
fn not_secret(
    _: axum::http::StatusCode,
    _: axum::http::Version,
    headers: &axum::http::HeaderMap,
    _: &axum::http::Extensions,
) -> bool {
    headers.get(header::CACHE_CONTROL).is_none_or(|v| v != "no-store")
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the connections finish the
/// requests in flight (for at most [`DRAIN`]).
///
/// Each connection is HTTP/1.1 with a [`HEADER_TIMEOUT`]: a client that does not send its request
/// line and headers in time (slowloris) is disconnected, and holds nothing meanwhile. (The body
/// has its own timeout, `Config::body_timeout`; the whole request, `Config::request_timeout`.)
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, or a connection reset before it was accepted: the
                // listener is still good; a short pause keeps a full table from spinning.
                Err(e) => {
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Each request learns the address its connection came from (the sign-in limit's key).
        let service = tower::ServiceExt::map_request(
            router.clone(),
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(limit::ClientAddr(peer));
                request
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("stopped with requests still in flight after {} s", DRAIN.as_secs());
    }
    Ok(())
}

/// How long a client has to send a request's line and headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a shutdown waits for the requests in flight.
pub const DRAIN: Duration = Duration::from_secs(30);

/// Completes on Ctrl-C or SIGTERM: what a terminal or a service manager sends to stop the server.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
