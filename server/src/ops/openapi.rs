//! `GET /openapi.json`: the OpenAPI 3 description of every endpoint, built by utoipa from the
//! `#[utoipa::path]` attribute on each handler.
//!
//! The handlers answer `HttpResponse`, so the attributes, not the types, are what the document
//! says. `tests/e2e/openapi.rs` checks the document against its table of every route (a new
//! route goes into `paths` below and into that table), and that the operations it lists as
//! protected really refuse a request without a token. Types from sync-core
//! carry no schema of their own (sync-core does not depend on utoipa), so this file describes
//! them with the documentation-only types below.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Name of the security scheme protected operations refer to (`security(("bearer_jwt" = []))`).
pub const BEARER_JWT: &str = "bearer_jwt";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fieldsync server",
        description = "The service fieldsync devices sync with: authentication, users, work \
                       orders, the binary sync protocol, photo or signature blobs, dispatch, the service \
                       clock and KPIs. Every \
                       refusal answers a JSON `ErrorBody` with a stable `error` code, except \
                       where a response says otherwise."
    ),
    paths(
        crate::ops::healthz,
        crate::ops::readyz,
        crate::ops::metrics,
        openapi_json,
        crate::auth::login,
        crate::auth::refresh_token,
        crate::auth::logout,
        crate::auth::change_password,
        crate::admin::create_user,
        crate::admin::list_users,
        crate::admin::update_user,
        crate::admin::catalog::put_region,
        crate::admin::catalog::put_skill,
        crate::admin::catalog::put_part,
        crate::admin::catalog::list_regions,
        crate::admin::catalog::list_skills,
        crate::admin::catalog::list_parts,
        crate::workorders::create,
        crate::workorders::list,
        crate::workorders::get,
        crate::sync::sync_handler,
        crate::events::events,
        crate::blobs::put_blob,
        crate::blobs::get_blob,
        crate::blobs::get_thumbnail,
        crate::workorders::actions::assign,
        crate::workorders::actions::unassign,
        crate::workorders::actions::classify,
        crate::workorders::actions::follow_up,
        crate::dispatch::api::auto,
        crate::dispatch::api::explain_order,
        crate::clock::api::get_clock,
        crate::clock::api::advance_clock,
        crate::clock::api::run_tick,
        crate::clock::api::breaches,
        crate::clock::api::escalations,
        crate::clock::api::resolve,
        crate::clock::api::devices,
        crate::clock::api::policy,
        crate::board::board,
        crate::board::technicians,
        crate::board::kpis,
        crate::board::daily,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerJwt),
    tags(
        (name = "ops", description = "Health, readiness, metrics and this document; no token needed."),
        (name = "auth", description = "Login, rotating refresh tokens, logout and password change."),
        (name = "admin", description = "User accounts, regions, skills and the parts catalogue."),
        (name = "workorders", description = "Intake, listing and reading work orders, within the caller's scope."),
        (name = "sync", description = "The batched binary sync protocol of `sync_core::protocol`."),
        (name = "blobs", description = "Content-addressed photo and signature images."),
        (name = "dispatch", description = "Auto-dispatch, manual assignment and why each technician was chosen."),
        (name = "clock", description = "The service clock: deadlines, breaches, escalations, devices' clocks, the policy."),
        (name = "board", description = "The dispatcher's board, technicians' loads and the KPIs."),
    )
)]
pub struct ApiDoc;

/// Declares the bearer scheme once; operations refer to it by [`BEARER_JWT`].
struct BearerJwt;

impl Modify for BearerJwt {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_JWT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "`Authorization: Bearer <access_token>` with the access token from \
                         `POST /v1/auth/login` or `POST /v1/auth/refresh`. An expired token is \
                         refused with the code `token_expired`: refresh it rather than log in again.",
                    ))
                    .build(),
            ),
        );
    }
}

/// `{"status": "ok"}` from `/healthz`, `{"status": "ready"}` from `/readyz`.
#[derive(ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: String,
}

/// A work order as the server derives it from its Automerge document
/// (`sync_core::workorder::View`): `id`, `intake`, `status`, `assignee`, `accepted`,
/// `appointment`, `diagnosis`, `quote`, `consent`, `parts`, `photos`, `notes`, `test`,
/// `signature`, `completion`, `follow_up`, `cancellation`, `conflicts` and `event_count`.
#[derive(ToSchema)]
#[schema(value_type = Object)]
pub struct WorkOrderView(pub sync_core::workorder::View);

/// An encoded `sync_core::protocol::SyncRequest`: the 4 magic bytes `FSYQ`, the protocol
/// version as a little-endian u16 (currently 1), then the request in postcard. The request
/// says whether it lists every document the device holds (`complete`) and offers documents,
/// each with its id, the device's heads and, when the device has something to say beyond its
/// heads, an encoded Automerge sync message. At most 16 MiB.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct SyncRequestBody(pub Vec<u8>);

/// An encoded `sync_core::protocol::SyncResponse`: the 4 magic bytes `FSYR`, the protocol
/// version as a little-endian u16 (currently 1), then the response in postcard: one reply per
/// document that needs the device's attention (`Changed`, `Added`, `Removed` with a reason, or
/// `Rejected` with a code and message), each with the server's heads and, if any, an encoded
/// Automerge sync message for the device. Offered documents without a reply are unchanged.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct SyncResponseBody(pub Vec<u8>);

/// The raw bytes of a JPEG, PNG or WebP image. The server sniffs the format from the bytes,
/// never from `Content-Type`.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImageBytes(pub Vec<u8>);

/// Serves [`ApiDoc`] as JSON.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "ops",
    responses(
        (status = 200, description = "This OpenAPI document.", body = Object, content_type = "application/json"),
    )
)]
pub(super) async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
