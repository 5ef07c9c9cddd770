//! The OpenAPI 3.1 document of the routes, generated from their code (utoipa), served at
//! `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::routes;

/// The one error shape.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents the shape `error::ApiError` renders
pub(crate) struct ErrorSchema {
    /// What went wrong, for a person.
    message: String,
    /// The stable snake_case code (`GET /api/errors` lists them).
    code: String,
    /// auth, invalid_request, system or internal.
    #[schema(rename = "type")]
    kind: String,
    /// Where the code is explained.
    link: String,
}

/// The organisation in the path.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documents the `{org}` path parameter
pub(crate) struct Org {
    /// The organisation's slug; one you are not a member of answers 404, as one that does not exist.
    org: String,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("evt_…").build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::SESSION_COOKIE,
                "the session cookie set by POST /api/session; a change made with it sends X-CSRF-Token",
            ))),
        );
    }
}

/// What the HTTP layer may answer any operation, whatever its handler does: `(status, when, what)`.
/// Documented on every operation that does not document the status itself, so that a client (and
/// a schema checker such as schemathesis) finds every answer it can get in the document.
const COMMON: &[(&str, When, &str)] = &[
    ("400", When::Input, "invalid_input: a path, query or body of the wrong shape (the field is named)"),
    ("401", When::Secured, "unauthenticated: no session or token, or one that ended (or whose account is disabled)"),
    ("403", When::Secured, "permission_denied, or csrf_token_invalid for a change made with the session cookie"),
    (
        "404",
        When::Input,
        "organisation_not_found (also for one you are not a member of), or the object's own *_not_found",
    ),
    ("408", When::Body, "body_timeout: the body came too slowly"),
    ("413", When::Body, "body_too_large"),
    ("415", When::Body, "unsupported_media_type: the body must be application/json"),
    ("500", When::Always, "unexpected: a failure of evident's own, logged with the request id"),
    ("503", When::Always, "store_unavailable, or timeout: the database did not answer in time"),
];

/// Which operations a [`COMMON`] answer applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// Every operation.
    Always,
    /// Those with parameters or a body.
    Input,
    /// Those that take credentials.
    Secured,
    /// Those with a request body.
    Body,
}

struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| -> RefOr<Response> {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorSchema"))).build();
            ResponseBuilder::new().description(description).content("application/json", content).build().into()
        };
        for item in openapi.paths.paths.values_mut() {
            let shared = item.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let body = operation.request_body.is_some();
                let input = body || shared || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                // `security()` on an operation opens it to all; none given inherits the document's.
                let secured = operation.security.as_ref().is_none_or(|s| !s.iter().all(|r| *r == Default::default()));
                for (status, when, description) in COMMON {
                    let applies = match when {
                        When::Always => true,
                        When::Input => input,
                        When::Secured => secured,
                        When::Body => body,
                    };
                    if applies {
                        operation.responses.responses.entry((*status).to_owned()).or_insert_with(|| error(description));
                    }
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "evident", description = "The REST API of evident, a self-hosted compliance platform."),
    paths(
        routes::healthz,
        routes::readyz,
        routes::sign_in,
        routes::sign_out,
        routes::me,
        routes::change_password,
        routes::orgs,
        routes::frameworks::library,
        routes::frameworks::frameworks,
        routes::frameworks::framework,
        routes::frameworks::adopt,
        routes::frameworks::gap,
        routes::frameworks::accept_gap,
        routes::controls,
        routes::control,
        routes::edit_control,
        routes::controls::create,
        routes::controls::retire,
        routes::controls::map,
        routes::controls::unmap,
        routes::readiness,
        routes::dashboard,
        routes::audit::log,
        routes::audit::verify,
        routes::risks::list,
        routes::risks::one,
        routes::risks::create,
        routes::risks::edit,
        routes::risks::accept,
        routes::risks::heat_map,
        routes::risks::treatment_plan,
        routes::risks::methodology,
        routes::risks::set_methodology,
        routes::assets::list,
        routes::assets::one,
        routes::assets::create,
        routes::assets::edit,
        routes::members::list,
        routes::members::add,
        routes::members::change,
        routes::members::remove,
        routes::members::disable,
        routes::members::enable,
        routes::soa::draft,
        routes::soa::versions,
        routes::soa::version,
        routes::soa::diff,
        routes::soa::approve,
        routes::create_token,
        routes::tokens,
        routes::revoke_token,
        routes::evidence::list,
        routes::evidence::one,
        routes::evidence::upload,
        routes::evidence::download,
        routes::evidence::supersede,
        routes::evidence::freshness,
        routes::evidence::type2,
        routes::evidence::type2_export,
        routes::imports::controls,
        routes::imports::assets,
        routes::imports::risks,
        routes::imports::framework,
        routes::imports::export_controls,
        routes::imports::export_assets,
        routes::imports::export_risks,
        routes::imports::export_treatment_plan,
        routes::oscal::validate,
        routes::oscal::import,
        routes::oscal::export,
    ),
    components(schemas(ErrorSchema, routes::SignIn, routes::PasswordChange, routes::ControlEdit, routes::NewToken,
        routes::frameworks::NewAdoption, routes::frameworks::GapAccept,
        routes::controls::ControlCreate, routes::controls::NewMapping,
        routes::risks::NewRisk, routes::risks::RiskEdit, routes::risks::Planned, routes::risks::RiskAcceptance,
        routes::risks::NewMethodology, routes::assets::NewAsset, routes::assets::AssetEdit,
        routes::members::NewMember, routes::members::MemberEdit)),
    modifiers(&Security, &CommonErrors),
    security(("bearer" = []), ("session" = []))
)]
pub(crate) struct ApiDoc;

/// `GET /api/openapi.json`.
pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
