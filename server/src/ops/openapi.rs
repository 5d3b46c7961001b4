//! `GET /openapi.json`: the OpenAPI 3 description of every endpoint, built by utoipa from the
//! `#[utoipa::path]` attribute on each handler.
//!
//! The handlers answer `HttpResponse`, so the attributes, not the types, are what the document
//! says. `tests/e2e/openapi.rs` checks the document against its table of every route (a new
//! route goes into `paths` below and into that table), that the operations it lists as
//! protected really refuse a request without a token, and that a wrong method answers 405 with
//! `Allow` (`ops::methods` reads the routes from this document). `scripts/contract-test.sh`
//! holds the server to the document with requests generated from it.
//!
//! - [`schemas`] and [`dispatch`]: documentation-only types for what has no schema of its own
//!   (sync-core does not depend on utoipa; dispatch's explanations derive only `Serialize`);
//! - `complete`: the answers every operation shares (401, 400/413/415 of a JSON body, 500);
//! - [`integer`]: request integers accept `2.0`, as JSON Schema's `integer` does;
//! - `SyncCbor` below: the sync bodies are `application/cbor`.

mod complete;
pub mod dispatch;
pub mod integer;
pub mod schemas;

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use complete::CommonResponses;
pub use complete::METHOD_NOT_ALLOWED;
pub use schemas::WorkOrderView;

/// Name of the security scheme protected operations refer to (`security(("bearer_jwt" = []))`).
pub const BEARER_JWT: &str = "bearer_jwt";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fieldsync server",
        description = "The service fieldsync devices sync with: authentication, users, work \
                       orders, the binary sync protocol, photo or signature blobs, dispatch, the service \
                       clock and KPIs. Every \
                       refusal answers a JSON `ErrorBody` with a stable `error` code; each \
                       response lists the codes it can carry. A known path called with a method \
                       it does not serve answers 405 with an `Allow` header (the shared \
                       `MethodNotAllowed` response); an unknown path answers 404 `not_found`."
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
        crate::blobs::resumable::open_upload,
        crate::blobs::resumable::upload_status,
        crate::blobs::resumable::append,
        crate::workorders::actions::assign,
        crate::workorders::actions::unassign,
        crate::workorders::actions::classify,
        crate::workorders::actions::follow_up,
        crate::workorders::actions::cancel,
        crate::dispatch::api::auto,
        crate::dispatch::api::explain_order,
        crate::dispatch::route_api::route,
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
        crate::kpi::http::kpis,
        crate::kpi::http::daily,
        crate::kpi::trends_api::trends,
        crate::console::session::login,
        crate::console::session::current,
        crate::console::session::refresh,
        crate::console::session::logout,
        crate::console::api::board,
        crate::console::api::cards_by_id,
        crate::console::api::queues,
        crate::console::record::record,
        crate::stock::read::list_locations,
        crate::stock::moves::create_warehouse,
        crate::stock::read::get_location,
        crate::stock::read::my_van,
        crate::stock::moves::receive,
        crate::stock::moves::transfer,
        crate::stock::moves::return_part,
        crate::stock::counts::count,
        crate::stock::counts::list_counts,
        crate::stock::counts::set_threshold,
        crate::stock::read::reorder,
        crate::stock::read::shortfalls,
        crate::stock::read::list_moves,
        crate::audit::api::list,
        crate::audit::api::draws,
        crate::audit::api::run_draw,
        crate::audit::api::get,
        crate::audit::findings::record,
        crate::audit::findings::verify,
        crate::audit::findings::close,
    ),
    components(schemas(
        crate::error::ErrorBody,
        schemas::NonBlankText,
        schemas::Text,
        schemas::BlobAddress,
        schemas::Id,
        schemas::CatalogRef,
        schemas::CatalogName,
    )),
    modifiers(&BearerJwt, &SyncCbor, &CommonResponses),
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
        (name = "stock", description = "Spare parts: warehouses and technicians' vans, receipts, transfers, returns, \
            counts, thresholds, the reorder list, shortfalls and the append-only ledger. Part lines synced on work \
            orders become consumptions from the technician's van."),
        (name = "audit", description = "The quality audit: the daily random sample of completed work orders (seed, \
            rate and candidates recorded), findings with corrective actions and deadlines, their verification; an \
            unverified corrective action past its deadline is a `QA-CORRECTIVE` breach on the service clock."),
        (name = "console", description = "The browser console: its cookie session (HttpOnly `fs_access` and `fs_refresh`, \
            SameSite=Strict; every /v1 endpoint accepts the `fs_access` cookie instead of a bearer token, and then \
            needs `X-CSRF-Token` on any change) and its own reads."),
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

/// The media type of the sync protocol's bodies (protocol v2, CBOR).
pub const SYNC_MEDIA_TYPE: &str = "application/cbor";

/// Describes `POST /v1/sync`'s request and success bodies as `application/cbor` bytes,
/// whatever media type the handler's attribute names: the sync module owns the handler and
/// its attribute, and the protocol (v2) is CBOR.
struct SyncCbor;

impl Modify for SyncCbor {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(op) = openapi
            .paths
            .paths
            .get_mut("/v1/sync")
            .and_then(|item| item.post.as_mut())
        else {
            return;
        };
        if let Some(body) = op.request_body.as_mut() {
            if let Some(bytes) = binary(body.content.iter()) {
                body.content = [(SYNC_MEDIA_TYPE.to_owned(), bytes)].into_iter().collect();
            }
        }
        if let Some(utoipa::openapi::RefOr::T(ok)) = op.responses.responses.get_mut("200") {
            if let Some(bytes) = binary(ok.content.iter()) {
                ok.content = [(SYNC_MEDIA_TYPE.to_owned(), bytes)].into_iter().collect();
            }
        }
    }
}

/// The first body of a content map that is not JSON: the binary one.
fn binary<'a>(
    mut content: impl Iterator<Item = (&'a String, &'a utoipa::openapi::Content)>,
) -> Option<utoipa::openapi::Content> {
    content
        .find(|(media, _)| media.as_str() != "application/json")
        .map(|(_, c)| c.clone())
}

/// `{"status": "ok"}` from `/healthz`, `{"status": "ready"}` from `/readyz`.
#[derive(ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: String,
}

/// An encoded `sync_core::protocol::SyncRequest`: protocol v2, a CBOR map (RFC 8949) with a
/// version field, specified message by message in `docs/PROTOCOL.md`. It says whether it lists
/// every document the device holds and offers documents, each with its id, the device's heads
/// and, when the device has something to say beyond its heads, an Automerge sync message.
/// At most 16 MiB.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct SyncRequestBody(pub Vec<u8>);

/// An encoded `sync_core::protocol::SyncResponse`: protocol v2, a CBOR map (`docs/PROTOCOL.md`)
/// with one reply per document that needs the device's attention (changed, added, removed with a
/// reason, or rejected with a code and message), each with the server's heads and, if any, an
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
