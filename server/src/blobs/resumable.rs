//! Resumable uploads, for photos sent over links that drop (docs/PROTOCOL.md, "Resumable
//! uploads"; the core of tus, with plain headers):
//!
//! 1. `POST /v1/blobs/{hash}/uploads` with `Upload-Length` opens an upload, or finds the
//!    caller's open one for that blob and says how far it got (`offset`);
//! 2. `PATCH /v1/blobs/{hash}/uploads/{id}` with `Upload-Offset` appends the body. A body cut
//!    off by the network still counts up to its last byte received; the next PATCH goes on
//!    from there. A wrong offset answers 409 with the right one in `Upload-Offset`;
//! 3. `HEAD` (or `GET`) of the upload tells the offset, for a client that lost track.
//!
//! The bytes received are parts in the blob store (`uploads/ID/OFFSET`) and the offset is a
//! `blob_uploads` row, so any instance can take the next PATCH. The last byte triggers the
//! same checks as a single PUT (hash, size, image); only then does the blob become visible.
//! An upload untouched for [`UPLOAD_TTL_MS`] is gone: any instance sweeps expired ones (parts
//! and row) when an upload is opened, and an expired upload is never resumed.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use sync_core::ids::BlobHash;

use super::image_check::ImageLimits;
use super::store::part_key;
use super::{parse_hash, upload, BlobInfo};
use crate::auth::AuthUser;
use crate::db::now_ms;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// How long an upload nobody appends to is kept: a day covers a technician's shift offline.
pub const UPLOAD_TTL_MS: i64 = 24 * 3600 * 1000;
/// How many expired uploads one sweep removes (the next open removes more).
const SWEEP_BATCH: i64 = 50;

pub const UPLOAD_LENGTH: &str = "upload-length";
pub const UPLOAD_OFFSET: &str = "upload-offset";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/blobs/{hash}/uploads", web::post().to(open_upload))
        .service(
            web::resource("/v1/blobs/{hash}/uploads/{id}")
                .route(web::get().to(upload_status))
                .route(web::head().to(upload_status))
                .route(web::patch().to(append)),
        );
}

/// Where an upload stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadState {
    /// The upload's id, for `PATCH`/`HEAD`; absent when the blob is stored already.
    pub id: Option<String>,
    pub hash: String,
    /// Bytes received so far: the next `PATCH` sends from here.
    pub offset: i64,
    /// The blob's size in bytes, as opened.
    pub length: i64,
    /// Milliseconds since the epoch after which an untouched upload is removed.
    pub expires_at: Option<i64>,
    /// Whether the blob is stored (nothing left to send).
    pub complete: bool,
}

struct Row {
    id: String,
    length: i64,
    received: i64,
    updated_at: i64,
}

impl Row {
    fn state(&self, hash: &BlobHash) -> UploadState {
        UploadState {
            id: Some(self.id.clone()),
            hash: hash.to_string(),
            offset: self.received,
            length: self.length,
            expires_at: Some(self.updated_at + UPLOAD_TTL_MS),
            complete: false,
        }
    }
}

fn header_u64(req: &HttpRequest, name: &str) -> Result<u64, ApiError> {
    let code = if name == UPLOAD_LENGTH {
        "bad_upload_length"
    } else {
        "bad_upload_offset"
    };
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| ApiError::bad(code, format!("the {name} header must be a number of bytes")))
}

fn with_offset(mut res: HttpResponse, state: &UploadState) -> HttpResponse {
    for (name, value) in [(UPLOAD_OFFSET, state.offset), (UPLOAD_LENGTH, state.length)] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            res.headers_mut().insert(HeaderName::from_static(name), v);
        }
    }
    res
}

/// The caller's open upload `id` of `hash`, unless it expired; `None` hides both cases and
/// uploads of other users alike.
async fn find(
    state: &AppState,
    user: &AuthUser,
    hash: &BlobHash,
    id: &str,
) -> Result<Option<Row>, ApiError> {
    let row: Option<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, length, received, updated_at FROM blob_uploads
         WHERE id = $1 AND hash = $2 AND uploader = $3",
    )
    .bind(id)
    .bind(hash.as_str())
    .bind(&user.id)
    .fetch_optional(&state.db.pool)
    .await?;
    Ok(row
        .map(|(id, length, received, updated_at)| Row {
            id,
            length,
            received,
            updated_at,
        })
        .filter(|r| r.updated_at + UPLOAD_TTL_MS > now_ms()))
}

fn no_upload(id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no open upload {id} of yours for this blob (it may have expired): open a new one"
    ))
}

/// Removes an upload's parts, then its row (parts first: a row without parts would claim
/// bytes that are gone; parts without a row are found by `blobs gc`).
async fn remove(state: &AppState, id: &str) -> anyhow::Result<()> {
    for key in state.blobs.list(&format!("uploads/{id}/")).await? {
        state.blobs.delete(&key).await?;
    }
    sqlx::query("DELETE FROM blob_uploads WHERE id = $1")
        .bind(id)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Removes uploads untouched for longer than [`UPLOAD_TTL_MS`]; returns how many.
pub async fn sweep_expired(state: &AppState) -> anyhow::Result<usize> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM blob_uploads WHERE updated_at < $1 LIMIT $2")
            .bind(now_ms() - UPLOAD_TTL_MS)
            .bind(SWEEP_BATCH)
            .fetch_all(&state.db.pool)
            .await?;
    for id in &ids {
        remove(state, id).await?;
    }
    Ok(ids.len())
}

/// Opens a resumable upload of a blob, or finds the caller's open one.
#[utoipa::path(
    post,
    path = "/v1/blobs/{hash}/uploads",
    tag = "blobs",
    params(
        ("hash" = crate::ops::openapi::schemas::BlobAddress, Path, description = "SHA-256 of the whole blob."),
        ("upload-length" = u64, Header, minimum = 0, maximum = 20971520, description = "The blob's size in bytes (at most 20 MiB)."),
    ),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The caller's open upload of this blob (go on from `offset`), \
            or `complete`: the blob is stored already.", body = UploadState),
        (status = 201, description = "A new upload; send the bytes with `PATCH` from offset 0.", body = UploadState),
        (status = 400, description = "`bad_hash`: the address is not 64 lower-case hex digits; \
            `bad_upload_length`: no or a malformed `Upload-Length`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller's role may not upload.", body = ErrorBody),
        (status = 413, description = "`blob_too_large`: `Upload-Length` is over 20 MiB.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub async fn open_upload(
    state: web::Data<AppState>,
    user: AuthUser,
    hash: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    super::may_upload(&user)?;
    let hash = parse_hash(&hash)?;
    let length = header_u64(&req, UPLOAD_LENGTH)?;
    let max = ImageLimits::default().max_bytes;
    if length > max as u64 {
        return Err(upload::too_large(max, length));
    }
    let length = length as i64;
    if let Some(info) = upload::known(&state, &hash).await? {
        let done = UploadState {
            id: None,
            hash: hash.to_string(),
            offset: info.size,
            length: info.size,
            expires_at: None,
            complete: true,
        };
        return Ok(with_offset(HttpResponse::Ok().json(&done), &done));
    }
    if let Err(e) = sweep_expired(&state).await {
        // The sweep is housekeeping: a failure costs storage, not this upload.
        tracing::warn!(error = %format!("{e:#}"), "sweeping expired uploads failed");
    }
    let open: Option<String> = sqlx::query_scalar(
        "SELECT id FROM blob_uploads WHERE hash = $1 AND uploader = $2 AND length = $3
         AND updated_at > $4 ORDER BY received DESC LIMIT 1",
    )
    .bind(hash.as_str())
    .bind(&user.id)
    .bind(length)
    .bind(now_ms() - UPLOAD_TTL_MS)
    .fetch_optional(&state.db.pool)
    .await?;
    if let Some(id) = open {
        if let Some(row) = find(&state, &user, &hash, &id).await? {
            let st = row.state(&hash);
            return Ok(with_offset(HttpResponse::Ok().json(&st), &st));
        }
    }
    let now = now_ms();
    let row = Row {
        id: uuid::Uuid::new_v4().simple().to_string(),
        length,
        received: 0,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO blob_uploads (id, hash, uploader, length, received, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 0, $5, $5)",
    )
    .bind(&row.id)
    .bind(hash.as_str())
    .bind(&user.id)
    .bind(length)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    let st = row.state(&hash);
    Ok(with_offset(HttpResponse::Created().json(&st), &st))
}

/// How far an upload got.
#[utoipa::path(
    get,
    path = "/v1/blobs/{hash}/uploads/{id}",
    tag = "blobs",
    params(
        ("hash" = crate::ops::openapi::schemas::BlobAddress, Path, description = "SHA-256 of the whole blob."),
        ("id" = String, Path, description = "The upload's id, from `POST /v1/blobs/{hash}/uploads`."),
    ),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The upload. `HEAD` (served, not listed here: it has no body) \
            answers the same headers.",
            body = UploadState,
            headers(
                ("upload-offset" = u64, description = "Bytes received so far."),
                ("upload-length" = u64, description = "The blob's size."),
            )),
        (status = 400, description = "`bad_hash`: the address is not 64 lower-case hex digits.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such open upload of the caller's (or it expired).", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub async fn upload_status(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (hash, id) = path.into_inner();
    let hash = parse_hash(&hash)?;
    let row = find(&state, &user, &hash, &id)
        .await?
        .ok_or_else(|| no_upload(&id))?;
    let st = row.state(&hash);
    Ok(with_offset(HttpResponse::Ok().json(&st), &st))
}

/// Appends bytes to an upload at `Upload-Offset`; the last byte stores the blob.
#[utoipa::path(
    patch,
    path = "/v1/blobs/{hash}/uploads/{id}",
    tag = "blobs",
    params(
        ("hash" = crate::ops::openapi::schemas::BlobAddress, Path, description = "SHA-256 of the whole blob."),
        ("id" = String, Path, description = "The upload's id."),
        ("upload-offset" = u64, Header, description = "Where this body starts: the upload's current offset."),
    ),
    request_body(description = "The next bytes of the blob (any number, up to the rest; none \
        changes nothing and answers the offset, as in tus).",
        content((Option<crate::ops::openapi::ImageBytes> = "application/octet-stream"))),
    security(("bearer_jwt" = [])),
    responses(
        (status = 201, description = "That was the last byte: the blob is validated and stored.", body = BlobInfo),
        (status = 204, description = "Appended; `Upload-Offset` tells the new offset.",
            headers(("upload-offset" = u64, description = "Bytes received so far."))),
        (status = 400, description = "`bad_hash`; `bad_upload_offset`: no or a malformed `Upload-Offset`; \
            `hash_mismatch`: the complete bytes do not hash to the address (the upload is dropped).", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such open upload of the caller's (or it expired).", body = ErrorBody),
        (status = 409, description = "`offset_mismatch`: the upload is at another offset, given in \
            `Upload-Offset`; send from there.", body = ErrorBody,
            headers(("upload-offset" = u64, description = "Bytes received so far."))),
        (status = 413, description = "`blob_too_large`: the body goes past `Upload-Length`.", body = ErrorBody),
        (status = 415, description = "`unsupported_format`: the complete bytes are no JPEG, PNG or WebP image.", body = ErrorBody),
        (status = 422, description = "`too_many_pixels` or `corrupt_image`: the complete image is refused.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged.", body = ErrorBody),
    )
)]
pub async fn append(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (hash, id) = path.into_inner();
    let hash = parse_hash(&hash)?;
    let offset = header_u64(&req, UPLOAD_OFFSET)? as i64;
    let row = find(&state, &user, &hash, &id)
        .await?
        .ok_or_else(|| no_upload(&id))?;
    if offset != row.received {
        return Ok(offset_mismatch(&row, &hash));
    }
    // Receiving runs as its own task: when the link drops, actix may drop this handler,
    // and the bytes that did arrive must still be kept and counted.
    let task = actix_web::rt::spawn(receive_part(
        state.clone(),
        id.clone(),
        offset,
        (row.length - row.received).max(0) as usize,
        body,
    ));
    let received = task
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("upload task: {e}")))??;
    let Some(received) = received else {
        let row = find(&state, &user, &hash, &id)
            .await?
            .ok_or_else(|| no_upload(&id))?;
        return Ok(offset_mismatch(&row, &hash));
    };
    let row = Row { received, ..row };
    if received < row.length {
        let st = row.state(&hash);
        return Ok(with_offset(HttpResponse::NoContent().finish(), &st));
    }
    complete(&state, &user, &hash, &row).await
}

/// Streams one PATCH body into a part at `offset` and moves the upload's offset past it;
/// `None` when another request moved the offset first. A body cut off counts as far as it
/// arrived.
async fn receive_part(
    state: web::Data<AppState>,
    id: String,
    offset: i64,
    room: usize,
    body: web::Payload,
) -> Result<Option<i64>, ApiError> {
    let (staged, cut) = upload::stage_until_cut(body, room).await?;
    if staged.len > 0 {
        state
            .blobs
            .put_file(&part_key(&id, offset as u64), &staged.path)
            .await
            .map_err(|e| ApiError::Internal(e.context("storing an upload part")))?;
    }
    let received = offset + staged.len as i64;
    // Only from the offset this request started at: of two PATCHes racing, one wins.
    let moved = sqlx::query(
        "UPDATE blob_uploads SET received = $1, updated_at = $2 WHERE id = $3 AND received = $4",
    )
    .bind(received)
    .bind(now_ms())
    .bind(&id)
    .bind(offset)
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if let Some(reason) = cut {
        tracing::info!(upload = %id, received, reason, "upload cut off; it can resume");
    }
    Ok((moved > 0).then_some(received))
}

/// 409 `offset_mismatch`, with the offset to go on from.
fn offset_mismatch(row: &Row, hash: &BlobHash) -> HttpResponse {
    let st = row.state(hash);
    with_offset(
        HttpResponse::Conflict().json(ErrorBody {
            error: "offset_mismatch".into(),
            message: format!(
                "the upload is at byte {} of {}: send from there",
                row.received, row.length
            ),
        }),
        &st,
    )
}

/// The last byte arrived: the parts, in order, become one staged file that goes through the
/// same checks as a single upload. Whatever the outcome but a server failure, the upload is
/// over: a refused blob would be refused again.
async fn complete(
    state: &AppState,
    user: &AuthUser,
    hash: &BlobHash,
    row: &Row,
) -> Result<HttpResponse, ApiError> {
    let mut keys = state
        .blobs
        .list(&format!("uploads/{}/", row.id))
        .await
        .map_err(ApiError::Internal)?;
    // Part keys end in the zero-padded offset, so they sort in order.
    keys.sort();
    let store = state.blobs.clone();
    let parts = futures_util::stream::iter(keys)
        .then(move |key| {
            let store = store.clone();
            async move {
                store
                    .get(&key, None)
                    .await
                    .map_err(std::io::Error::other)?
                    .ok_or_else(|| std::io::Error::other(format!("upload part {key} is missing")))
            }
        })
        .try_flatten();
    let staged = upload::stage(Box::pin(parts), row.length.max(0) as usize).await;
    let staged = match staged {
        Ok(s) if s.len == row.length as u64 => s,
        Ok(s) => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "upload {} holds {} bytes, {} expected",
                row.id,
                s.len,
                row.length
            )))
        }
        Err(e) => return Err(e),
    };
    let outcome = upload::finish(state, user, hash, staged).await;
    let over = match &outcome {
        Ok(_) => true,
        Err(ApiError::Internal(_)) => false,
        Err(_) => true,
    };
    if over {
        if let Err(e) = remove(state, &row.id).await {
            tracing::warn!(upload = %row.id, error = %format!("{e:#}"), "removing a finished upload failed");
        }
    }
    let (status, info) = outcome?;
    Ok(HttpResponse::build(status).json(info))
}
