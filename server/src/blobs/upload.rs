//! An upload's way into the store, in named steps:
//! 1. [`stage`]: the request body streams into a local staging file while it is hashed; the
//!    size limit is enforced as the bytes arrive, so an oversized body is cut off at once;
//! 2. [`finish`]: the hash is compared with the address, the image is validated and
//!    thumbnailed from the staged file (under the image permits), the original and the
//!    thumbnail go into the store, and only then is the `blobs` row written: a blob becomes
//!    visible to anyone only once it is whole and valid, on every instance at once.

use std::path::{Path, PathBuf};

use actix_web::http::StatusCode;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use sync_core::ids::BlobHash;
use tokio::io::AsyncWriteExt;

use super::image_check::{check_staged_image, ImageError, ImageLimits};
use super::store::{original_key, thumbnail_key};
use super::BlobInfo;
use crate::auth::AuthUser;
use crate::db::now_ms;
use crate::error::ApiError;
use crate::state::AppState;

/// A file in the staging directory, removed when dropped (whatever happened to the upload).
pub struct Staged {
    pub path: PathBuf,
    pub len: u64,
    pub sha256: String,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Where uploads are staged: local to this instance, never seen by another.
pub fn staging_dir() -> PathBuf {
    std::env::temp_dir().join("fieldsync-staging")
}

pub fn too_large(max: usize, got: u64) -> ApiError {
    ApiError::Status {
        status: 413,
        code: "blob_too_large",
        message: format!("the blob is larger than {max} bytes (at least {got} arrived)"),
    }
}

/// Writes `body` into a new staging file, hashing it; refuses it as soon as more than `max`
/// bytes arrived. The memory held is one body chunk.
pub async fn stage<S, E>(body: S, max: usize) -> Result<Staged, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    match stage_until_cut(body, max).await? {
        (staged, None) => Ok(staged),
        (staged, Some(e)) => Err(ApiError::bad(
            "incomplete_body",
            format!("the body was cut off after {} bytes: {e}", staged.len),
        )),
    }
}

/// Like [`stage`], but a body cut off (the link dropped) is not an error: what arrived is
/// staged and the reason comes beside it, so a resumable upload keeps those bytes.
pub async fn stage_until_cut<S, E>(
    mut body: S,
    max: usize,
) -> Result<(Staged, Option<String>), ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let dir = staging_dir();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("staging dir {}: {e}", dir.display())))?;
    let mut staged = Staged {
        path: dir.join(uuid::Uuid::new_v4().simple().to_string()),
        len: 0,
        sha256: String::new(),
    };
    let mut file = tokio::fs::File::create(&staged.path)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("staging file: {e}")))?;
    let mut hasher = Sha256::new();
    let mut cut = None;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                cut = Some(e.to_string());
                break;
            }
        };
        staged.len += chunk.len() as u64;
        if staged.len > max as u64 {
            return Err(too_large(max, staged.len));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("staging file: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("staging file: {e}")))?;
    staged.sha256 = hex::encode(hasher.finalize());
    Ok((staged, cut))
}

fn image_error(e: ImageError) -> ApiError {
    if e.status() >= 500 {
        ApiError::Internal(anyhow::anyhow!("{e}"))
    } else {
        ApiError::Status {
            status: e.status(),
            code: e.code(),
            message: e.to_string(),
        }
    }
}

pub fn hash_mismatch() -> ApiError {
    ApiError::bad("hash_mismatch", "the body does not hash to the address")
}

/// What the `blobs` table knows of `hash`.
pub async fn known(state: &AppState, hash: &BlobHash) -> Result<Option<BlobInfo>, ApiError> {
    let row: Option<(String, i64, i64, i64)> =
        sqlx::query_as("SELECT mime, width, height, size FROM blobs WHERE hash = $1")
            .bind(hash.as_str())
            .fetch_optional(&state.db.pool)
            .await?;
    Ok(row.map(|(mime, width, height, size)| BlobInfo {
        hash: hash.to_string(),
        mime,
        width,
        height,
        size,
    }))
}

/// Step 2: checks, stores and records a staged upload. 200 when the blob was stored already
/// (the bytes must still match), 201 when it is new.
pub async fn finish(
    state: &AppState,
    user: &AuthUser,
    hash: &BlobHash,
    staged: Staged,
) -> Result<(StatusCode, BlobInfo), ApiError> {
    if staged.sha256 != hash.as_str() {
        return Err(hash_mismatch());
    }
    if let Some(info) = known(state, hash).await? {
        // Stored once; uploading it again is harmless.
        return Ok((StatusCode::OK, info));
    }
    let permit = state
        .image_permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    let (path, h, sha256) = (staged.path.clone(), hash.clone(), staged.sha256.clone());
    // The check pages through the staged file and the decoder streams from it; what it holds is
    // the pixels, under one of the few image permits: bounded by the permits, not by the number
    // of uploads in flight.
    let checked = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        check_staged_image(h.as_str(), &path, &sha256, &ImageLimits::default())
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("image task: {e}")))?
    .map_err(image_error)?;
    let size = staged.len as i64;
    store_checked(
        state,
        hash,
        &staged.path,
        Bytes::from(checked.thumbnail_jpeg),
    )
    .await?;
    let info = BlobInfo {
        hash: hash.to_string(),
        mime: checked.format.mime().into(),
        width: i64::from(checked.width),
        height: i64::from(checked.height),
        size,
    };
    record(state, &info, &user.id).await?;
    Ok((StatusCode::CREATED, info))
}

/// Puts a validated original and its thumbnail into the store (before any row names them).
pub async fn store_checked(
    state: &AppState,
    hash: &BlobHash,
    original: &Path,
    thumbnail: Bytes,
) -> Result<(), ApiError> {
    state
        .blobs
        .put_file(&original_key(hash), original)
        .await
        .map_err(|e| ApiError::Internal(e.context("storing the blob")))?;
    state
        .blobs
        .put_bytes(&thumbnail_key(hash), thumbnail)
        .await
        .map_err(|e| ApiError::Internal(e.context("storing the thumbnail")))?;
    Ok(())
}

/// Writes the `blobs` row that makes a stored blob visible.
pub async fn record(state: &AppState, info: &BlobInfo, uploader: &str) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO blobs (hash, mime, width, height, size, uploader, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(&info.hash)
    .bind(&info.mime)
    .bind(info.width)
    .bind(info.height)
    .bind(info.size)
    .bind(uploader)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    crate::ops::metrics::blob_stored();
    Ok(())
}
