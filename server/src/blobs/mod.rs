//! Photo and signature blobs: content-addressed (SHA-256), validated with the `image` crate
//! before anything is stored, stored once, thumbnailed, and served only to users who can see
//! a work order that references them (or who uploaded them).

pub mod image_check;

use std::path::{Path, PathBuf};

use actix_web::{web, HttpResponse};
use serde::Serialize;
use sync_core::ids::BlobHash;
use sync_core::workorder::Role;

use crate::auth::AuthUser;
use crate::db::now_ms;
use crate::error::{ApiError, ErrorBody};
use crate::ops::openapi::ImageBytes;
use crate::state::AppState;
use crate::workorders::scope;
use image_check::{check_image, ImageLimits};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let limits = ImageLimits::default();
    cfg.service(
        web::resource("/v1/blobs/{hash}")
            // A little over the image limit, so an oversized upload gets our JSON 413.
            .app_data(web::PayloadConfig::new(limits.max_bytes + 1024))
            .route(web::put().to(put_blob))
            .route(web::get().to(get_blob)),
    )
    .route("/v1/blobs/{hash}/thumbnail", web::get().to(get_thumbnail));
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

/// `blobs/ab/abcdef…` and `blobs/thumbs/ab/abcdef….jpg`: two-level fan-out keeps directories small.
pub(crate) fn paths(dir: &Path, hash: &BlobHash) -> (PathBuf, PathBuf) {
    let h = hash.as_str();
    (
        dir.join(&h[..2]).join(h),
        dir.join("thumbs").join(&h[..2]).join(format!("{h}.jpg")),
    )
}

/// Writes through a temporary file and a rename, synced, so a crash never leaves half a blob.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Uploads a photo or signature image under the SHA-256 of its bytes. The image is validated
/// and thumbnailed before anything is stored; uploading a stored blob again changes nothing.
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
            `hash_mismatch`: the body does not hash to the address.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller's role may not upload.", body = ErrorBody),
        (status = 413, description = "`blob_too_large`: the body exceeds 20 MiB (`body_too_large` when it \
            is more than 1 KiB over, refused before the image is looked at).", body = ErrorBody),
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
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(
        &[
            Role::Technician,
            Role::Dispatcher,
            Role::Agent,
            Role::Manager,
            Role::Admin,
        ],
        "upload photos or signatures",
    )?;
    let hash = parse_hash(&hash)?;
    let known: Option<(String, i64, i64, i64)> =
        sqlx::query_as("SELECT mime, width, height, size FROM blobs WHERE hash = $1")
            .bind(hash.as_str())
            .fetch_optional(&state.db.pool)
            .await?;
    if let Some((mime, width, height, size)) = known {
        // Stored once; re-uploading is harmless (the bytes must still match the hash).
        if image_check::sha256_hex(&body) != hash.as_str() {
            return Err(ApiError::bad(
                "hash_mismatch",
                "the body does not hash to the address",
            ));
        }
        return Ok(HttpResponse::Ok().json(BlobInfo {
            hash: hash.to_string(),
            mime,
            width,
            height,
            size,
        }));
    }
    let permit = state
        .image_permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    let (dir, h, bytes) = (state.blob_dir.clone(), hash.clone(), body.clone());
    let checked = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let checked = check_image(h.as_str(), &bytes, &ImageLimits::default())?;
        let (original, thumb) = paths(&dir, &h);
        write_atomically(&original, &bytes)
            .and_then(|()| write_atomically(&thumb, &checked.thumbnail_jpeg))
            .map_err(|e| image_check::ImageError::Thumbnail {
                reason: format!("storing: {e}"),
            })?;
        Ok::<_, image_check::ImageError>(checked)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("image task: {e}")))?;
    let checked = checked.map_err(|e| {
        if e.status() >= 500 {
            ApiError::Internal(anyhow::anyhow!("{e}"))
        } else {
            ApiError::Status {
                status: e.status(),
                code: e.code(),
                message: e.to_string(),
            }
        }
    })?;
    sqlx::query(
        "INSERT INTO blobs (hash, mime, width, height, size, uploader, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(hash.as_str())
    .bind(checked.format.mime())
    .bind(i64::from(checked.width))
    .bind(i64::from(checked.height))
    .bind(body.len() as i64)
    .bind(&user.id)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    crate::ops::metrics::blob_stored();
    Ok(HttpResponse::Created().json(BlobInfo {
        hash: hash.to_string(),
        mime: checked.format.mime().into(),
        width: i64::from(checked.width),
        height: i64::from(checked.height),
        size: body.len() as i64,
    }))
}

/// The blob's media type, if `user` may see it: as its uploader, or through a work order in
/// scope that references it (photo, signature or intake attachment).
async fn visible_blob(
    state: &AppState,
    user: &AuthUser,
    hash: &BlobHash,
) -> Result<String, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT mime, uploader FROM blobs WHERE hash = $1")
            .bind(hash.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let hidden = || ApiError::NotFound(format!("no blob {hash} that you can see"));
    let Some((mime, uploader)) = row else {
        return Err(hidden());
    };
    if uploader == user.id {
        return Ok(mime);
    }
    let orders: Vec<String> = sqlx::query_scalar(
        "SELECT wo_id FROM photos WHERE blob = $1 UNION SELECT wo_id FROM doc_blobs WHERE blob = $1",
    )
    .bind(hash.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for wo in orders {
        if scope::can_see(&mut conn, user, &wo).await? {
            return Ok(mime);
        }
    }
    Err(hidden())
}

async fn serve(path: PathBuf, mime: String) -> Result<HttpResponse, ApiError> {
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading {}: {e}", path.display())))?;
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header(("cache-control", "private, max-age=31536000, immutable"))
        .body(bytes))
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
            immutable, so clients may cache them for good.",
            content(
                (ImageBytes = "image/jpeg"),
                (ImageBytes = "image/png"),
                (ImageBytes = "image/webp"),
            ),
            headers(("cache-control" = String, description = "`private, max-age=31536000, immutable`"))),
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
) -> Result<HttpResponse, ApiError> {
    let hash = parse_hash(&hash)?;
    let mime = visible_blob(&state, &user, &hash).await?;
    serve(paths(&state.blob_dir, &hash).0, mime).await
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
) -> Result<HttpResponse, ApiError> {
    let hash = parse_hash(&hash)?;
    visible_blob(&state, &user, &hash).await?;
    serve(paths(&state.blob_dir, &hash).1, "image/jpeg".into()).await
}
