//! The OpenAPI 3.1 document of the routes, generated from their code (utoipa), served at
//! `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
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
        routes::audit::log,
        routes::audit::verify,
        routes::risks::list,
        routes::risks::one,
        routes::risks::create,
        routes::risks::accept,
        routes::risks::heat_map,
        routes::risks::treatment_plan,
        routes::risks::methodology,
        routes::soa::draft,
        routes::soa::versions,
        routes::soa::version,
        routes::soa::diff,
        routes::soa::approve,
        routes::create_token,
        routes::tokens,
        routes::revoke_token,
    ),
    components(schemas(ErrorSchema, routes::SignIn, routes::PasswordChange, routes::ControlEdit, routes::NewToken,
        routes::frameworks::NewAdoption, routes::frameworks::GapAccept,
        routes::controls::ControlCreate, routes::controls::NewMapping,
        routes::risks::NewRisk, routes::risks::Planned, routes::risks::RiskAcceptance)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = []))
)]
pub(crate) struct ApiDoc;

/// `GET /api/openapi.json`.
pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
