//! Regions, skills and the parts catalogue: admins write, every signed-in user reads (a
//! technician's device keeps the catalogue for offline part entry).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use sync_core::ids::UserId;
use sync_core::workorder::Role;

use crate::auth::AuthUser;
use crate::db::catalog::{self, Kind, Named, Part};
use crate::db::now_ms;
use crate::error::{ApiError, ErrorBody};
use crate::ops::openapi::schemas::{CatalogName, Id};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/admin/regions/{id}", web::put().to(put_region))
        .route("/v1/admin/skills/{id}", web::put().to(put_skill))
        .route("/v1/admin/parts/{sku}", web::put().to(put_part))
        .route("/v1/regions", web::get().to(list_regions))
        .route("/v1/skills", web::get().to(list_skills))
        .route("/v1/parts", web::get().to(list_parts));
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    /// Not blank, at most 200 characters; stored trimmed.
    #[schema(value_type = CatalogName)]
    pub name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartBody {
    /// Not blank, at most 200 characters; stored trimmed.
    #[schema(value_type = CatalogName)]
    pub name: String,
    /// Price in minor currency units (cents).
    #[serde(deserialize_with = "crate::ops::openapi::integer::i64")]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub price_cents: i64,
    /// Withdrawn parts stay in the catalogue for old work orders; default true.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Ids of regions, skills and SKUs follow the same rule as user ids.
fn check_id(what: &'static str, id: &str) -> Result<(), ApiError> {
    UserId::parse(id).map(|_| ()).map_err(|e| {
        ApiError::bad(
            "bad_id",
            format!("{what} id: {}", e.to_string().replace("user id", what)),
        )
    })
}

/// A name is not blank and at most 200 characters as sent (what the schema's `maxLength`
/// counts); stored trimmed.
fn check_name(name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::bad(
            "bad_name",
            "a name is not blank and at most 200 characters",
        ));
    }
    Ok(n.to_owned())
}

async fn put_named(
    state: &AppState,
    user: &AuthUser,
    kind: Kind,
    id: String,
    body: NameBody,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin], "change regions and skills")?;
    check_id(
        if kind == Kind::Regions {
            "region"
        } else {
            "skill"
        },
        &id,
    )?;
    let named = Named {
        id,
        name: check_name(&body.name)?,
    };
    let mut conn = state.db.pool.acquire().await?;
    let created = catalog::upsert_named(&mut conn, kind, &named).await?;
    Ok(if created {
        HttpResponse::Created().json(named)
    } else {
        HttpResponse::Ok().json(named)
    })
}

/// Creates or renames a region.
#[utoipa::path(
    put,
    path = "/v1/admin/regions/{id}",
    tag = "admin",
    params(("id" = Id, Path, description = "The region id: 1 to 128 letters, digits and `- _ . : @`.")),
    request_body = NameBody,
    security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "Created.", body = Named),
        (status = 200, description = "Renamed (or unchanged).", body = Named),
        (status = 400, description = "`bad_id`: a malformed id; `bad_name`: a blank name or one over \
            200 characters; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub(crate) async fn put_region(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<NameBody>,
) -> Result<HttpResponse, ApiError> {
    put_named(
        &state,
        &user,
        Kind::Regions,
        id.into_inner(),
        body.into_inner(),
    )
    .await
}

/// Creates or renames a skill.
#[utoipa::path(
    put,
    path = "/v1/admin/skills/{id}",
    tag = "admin",
    params(("id" = Id, Path, description = "The skill id: 1 to 128 letters, digits and `- _ . : @`.")),
    request_body = NameBody,
    security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "Created.", body = Named),
        (status = 200, description = "Renamed (or unchanged).", body = Named),
        (status = 400, description = "`bad_id`: a malformed id; `bad_name`: a blank name or one over \
            200 characters; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub(crate) async fn put_skill(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<NameBody>,
) -> Result<HttpResponse, ApiError> {
    put_named(
        &state,
        &user,
        Kind::Skills,
        id.into_inner(),
        body.into_inner(),
    )
    .await
}

/// Creates or changes a part of the catalogue.
#[utoipa::path(
    put,
    path = "/v1/admin/parts/{sku}",
    tag = "admin",
    params(("sku" = Id, Path, description = "The part's SKU: 1 to 128 letters, digits and `- _ . : @`.")),
    request_body = PartBody,
    security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "Created.", body = Part),
        (status = 200, description = "Changed (or unchanged).", body = Part),
        (status = 400, description = "`bad_id`: a malformed SKU; `bad_name`: a blank name or one over \
            200 characters; `bad_price`: outside 0 to 100,000,000; `malformed_json`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: admins only.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub(crate) async fn put_part(
    state: web::Data<AppState>,
    user: AuthUser,
    sku: web::Path<String>,
    body: web::Json<PartBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin], "change the parts catalogue")?;
    let sku = sku.into_inner();
    check_id("part", &sku)?;
    let body = body.into_inner();
    if !(0..=100_000_000).contains(&body.price_cents) {
        return Err(ApiError::bad(
            "bad_price",
            "price_cents must be between 0 and 100,000,000",
        ));
    }
    let part = Part {
        sku,
        name: check_name(&body.name)?,
        price_cents: body.price_cents,
        active: i64::from(body.active),
    };
    let mut conn = state.db.pool.acquire().await?;
    let created = catalog::upsert_part(&mut conn, &part, now_ms()).await?;
    Ok(if created {
        HttpResponse::Created().json(part)
    } else {
        HttpResponse::Ok().json(part)
    })
}

/// Every region.
#[utoipa::path(
    get,
    path = "/v1/regions",
    tag = "admin",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Every region, by id.", body = Vec<Named>),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub(crate) async fn list_regions(
    state: web::Data<AppState>,
    _user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    Ok(HttpResponse::Ok().json(catalog::list_named(&mut conn, Kind::Regions).await?))
}

/// Every skill.
#[utoipa::path(
    get,
    path = "/v1/skills",
    tag = "admin",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Every skill, by id.", body = Vec<Named>),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub(crate) async fn list_skills(
    state: web::Data<AppState>,
    _user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    Ok(HttpResponse::Ok().json(catalog::list_named(&mut conn, Kind::Skills).await?))
}

/// The parts catalogue (devices keep it for offline part entry).
#[utoipa::path(
    get,
    path = "/v1/parts",
    tag = "admin",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Every part, by SKU.", body = Vec<Part>),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub(crate) async fn list_parts(
    state: web::Data<AppState>,
    _user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    Ok(HttpResponse::Ok().json(catalog::list_parts(&mut conn).await?))
}
