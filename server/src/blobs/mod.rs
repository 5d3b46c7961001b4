//! Photo and signature blobs: content-addressed (SHA-256), validated with the `image` crate
//! before anything is stored, stored once, thumbnailed, and served only to users who can see
//! a work order that references them (or who uploaded them).

pub mod admin;
pub mod download;
pub mod image_check;
pub mod resumable;
pub mod store;
pub mod upload;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use sync_core::ids::BlobHash;
use sync_core::workorder::Role;

use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::ops::openapi::ImageBytes;
use crate::state::AppState;
use crate::workorders::scope;
use image_check::ImageLimits;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/blobs/{hash}")
            .route(web::put().to(put_blob))
            .route(web::get().to(get_blob)),
    )
    .route("/v1/blobs/{hash}/thumbnail", web::get().to(get_thumbnail))
    .configure(resumable::routes);
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BlobInfo {
    pub hash: String,
    pub mime: String,
    pub width: i64,
    pub height: i64,
    pub size: i64,
}

fn parse_hash(raw: &str) -> Result<BlobHash, ApiError> {
    BlobHash::parse(raw).map_err(|e| ApiError::bad("bad_hash", e.to_string()))
}

/// Uploads a photo or signature image under the SHA-256 of its bytes. The body streams to a
/// staging file while it is hashed; the image is validated and thumbnailed from there before
/// anything goes into the blob store; uploading a stored blob again changes nothing.
#[utoipa::path(
    put,
    path = "/v1/blobs/{hash}",
    tag = "blobs",
    params(("hash" = crate::ops::openapi::schemas::BlobAddress, Path, description = "SHA-256 of the body: 64 lower-case hex digits.")),
    request_body(description = "The raw image bytes, at most 20 MiB and 40 megapixels. The format is \
        sniffed from the bytes; `Content-Type` is not consulted.",
        content(
            (ImageBytes = "image/jpeg"),
            (ImageBytes = "image/png"),
            (ImageBytes = "image/webp"),
        )),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Already stored; the body matched the hash.", body = BlobInfo),
        (status = 201, description = "Validated and stored.", body = BlobInfo),
        (status = 400, description = "`bad_hash`: the address is not 64 lower-case hex digits; \
            `hash_mismatch`: the body does not hash to the address; `incomplete_body`: the body \
            was cut off (use the resumable upload, `POST /v1/blobs/{hash}/uploads`, on links that drop).", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller's role may not upload.", body = ErrorBody),
        (status = 413, description = "`blob_too_large`: the body exceeds 20 MiB, refused as soon as the \
            21st MiB arrives (`body_too_large` when its `Content-Length` says it is more than 1 KiB over, \
            refused before a byte is read).", body = ErrorBody),
        (status = 415, description = "`unsupported_format`: not a JPEG, PNG or WebP image, or one using \
            a feature the server cannot decode.", body = ErrorBody),
        (status = 422, description = "`too_many_pixels`: over 40 megapixels, a side over 20,000 pixels, or \
            over the decoder's memory budget; `corrupt_image`: the image cannot be decoded.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed (for example storing the blob or \
            encoding its thumbnail); the cause is logged.", body = ErrorBody),
    )
)]
async fn put_blob(
    state: web::Data<AppState>,
    user: AuthUser,
    hash: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    may_upload(&user)?;
    let hash = parse_hash(&hash)?;
    let max = ImageLimits::default().max_bytes;
    refuse_declared_oversize(&req, max)?;
    let staged = upload::stage(body, max).await?;
    let (status, info) = upload::finish(&state, &user, &hash, staged).await?;
    Ok(HttpResponse::build(status).json(info))
}

/// The roles that may upload photos or signatures.
pub(crate) fn may_upload(user: &AuthUser) -> Result<(), ApiError> {
    user.require(
        &[
            Role::Technician,
            Role::Dispatcher,
            Role::Agent,
            Role::Manager,
            Role::Admin,
        ],
        "upload photos or signatures",
    )
}

/// A body whose declared length is more than 1 KiB over the limit is refused before a byte
/// of it is read (`body_too_large`, as for every other endpoint); one that turns out too long
/// while streaming gets `blob_too_large`.
fn refuse_declared_oversize(req: &HttpRequest, max: usize) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > max as u64 + 1024 => Err(ApiError::Status {
            status: 413,
            code: "body_too_large",
            message: format!("the body is {n} bytes, over the limit of {max}"),
        }),
        _ => Ok(()),
    }
}

/// The blob's media type and size, if `user` may see it: as its uploader, or through a work
/// order in scope that references it (photo, signature or intake attachment).
async fn visible_blob(
    state: &AppState,
    user: &AuthUser,
    hash: &BlobHash,
) -> Result<(String, u64), ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT mime, uploader, size FROM blobs WHERE hash = $1")
            .bind(hash.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let hidden = || ApiError::NotFound(format!("no blob {hash} that you can see"));
    let Some((mime, uploader, size)) = row else {
        return Err(hidden());
    };
    let size = size.max(0) as u64;
    if uploader == user.id {
        return Ok((mime, size));
    }
    let orders: Vec<String> = sqlx::query_scalar(
        "SELECT wo_id FROM photos WHERE blob = $1 UNION SELECT wo_id FROM doc_blobs WHERE blob = $1",
    )
    .bind(hash.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for wo in orders {
        if scope::can_see(&mut conn, user, &wo).await? {
            return Ok((mime, size));
        }
    }
    Err(hidden())
}

/// Downloads a blob the caller uploaded, or that a work order the caller can see references.
#[utoipa::path(
    get,
    path = "/v1/blobs/{hash}",
    tag = "blobs",
    params(("hash" = crate::ops::openapi::schemas::BlobAddress, Path, description = "SHA-256 of the blob: 64 lower-case hex digits.")),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The stored bytes, with the media type sniffed at upload; \
            immutable, so clients may cache them for good. `Range: bytes=a-b` (one range) asks for part.",
            content(
                (ImageBytes = "image/jpeg"),
                (ImageBytes = "image/png"),
                (ImageBytes = "image/webp"),
            ),
            headers(
                ("cache-control" = String, description = "`private, max-age=31536000, immutable`"),
                ("etag" = String, description = "The hash in quotes; `If-None-Match` with it answers 304."),
            )),
        (status = 206, description = "The range asked for, with `Content-Range`.", body = ImageBytes,
            content_type = "application/octet-stream",
            headers(("content-range" = String, description = "`bytes a-b/size`"))),
        (status = 304, description = "`If-None-Match` named the ETag: the copy the client has is current."),
        (status = 416, description = "`range_not_satisfiable`: the range starts past the end; \
            `Content-Range: bytes */size` tells the size.", body = ErrorBody),
        (status = 400, description = "`bad_hash`: the address is not 64 lower-case hex digits.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such blob, or not one the caller can see \
            (the two are not told apart).", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
async fn get_blob(
    state: web::Data<AppState>,
    user: AuthUser,
    hash: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let hash = parse_hash(&hash)?;
    let (mime, size) = visible_blob(&state, &user, &hash).await?;
    let etag = format!("\"{hash}\"");
    download::serve(&state, &req, &store::original_key(&hash), size, &mime, etag).await
}

/// Downloads the JPEG thumbnail (at most 320 pixels on its longest side) of a blob the caller
/// may see.
#[utoipa::path(
    get,
    path = "/v1/blobs/{hash}/thumbnail",
    tag = "blobs",
    params(("hash" = crate::ops::openapi::schemas::BlobAddress, Path, description = "SHA-256 of the blob: 64 lower-case hex digits.")),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The thumbnail; immutable, so clients may cache it for good.",
            body = ImageBytes, content_type = "image/jpeg",
            headers(("cache-control" = String, description = "`private, max-age=31536000, immutable`"))),
        (status = 400, description = "`bad_hash`: the address is not 64 lower-case hex digits.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such blob, or not one the caller can see \
            (the two are not told apart).", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
async fn get_thumbnail(
    state: web::Data<AppState>,
    user: AuthUser,
    hash: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let hash = parse_hash(&hash)?;
    visible_blob(&state, &user, &hash).await?;
    let key = store::thumbnail_key(&hash);
    let size = state
        .blobs
        .size(&key)
        .await
        .map_err(ApiError::Internal)?
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "{key} is recorded but missing from the blob store {}",
                state.blobs.describe()
            ))
        })?;
    let etag = format!("\"{hash}-thumbnail\"");
    download::serve(&state, &req, &key, size, "image/jpeg", etag).await
}
