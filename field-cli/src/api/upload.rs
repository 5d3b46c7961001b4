//! Resumable image upload (the server's `POST /v1/blobs/{hash}/uploads`, then `PATCH` from
//! the offset it holds). A photo whose link dropped at 80 % goes on from there at the next
//! sync instead of starting over; the server keeps the bytes, so the device keeps no state.

use reqwest::StatusCode;
use serde_json::Value;

use crate::api::{refusal, unreachable, ApiError};

/// What one upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uploaded {
    /// Where the upload went on from, when an earlier attempt had sent part of it.
    pub resumed_at: Option<u64>,
    pub length: u64,
}

/// The offset the server says it holds, from `Upload-Offset` or the JSON body.
fn offset_of(headers: &reqwest::header::HeaderMap, body: Option<&Value>) -> Option<u64> {
    headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or_else(|| body.and_then(|b| b["offset"].as_u64()))
}

/// Uploads `bytes` under `hash`, resuming an upload the server holds part of. `None` when
/// the server offers no resumable uploads (an older server): the caller uploads in one PUT.
pub async fn resumable(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    hash: &str,
    bytes: &[u8],
) -> Result<Option<Uploaded>, ApiError> {
    let length = bytes.len() as u64;
    let resp = http
        .post(format!("{base}/v1/blobs/{hash}/uploads"))
        .bearer_auth(token)
        .header("upload-length", length)
        .send()
        .await
        .map_err(|e| unreachable(base, e))?;
    if matches!(
        resp.status(),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ) {
        return Ok(None);
    }
    if !resp.status().is_success() {
        return Err(refusal(resp).await);
    }
    let upload: Value = resp
        .json()
        .await
        .map_err(|e| ApiError::Protocol(format!("upload state: {e}")))?;
    if upload["complete"].as_bool() == Some(true) {
        return Ok(Some(Uploaded {
            resumed_at: None,
            length,
        }));
    }
    let id = upload["id"]
        .as_str()
        .ok_or_else(|| ApiError::Protocol("upload state without an id".into()))?
        .to_owned();
    let mut offset = offset_of(&reqwest::header::HeaderMap::new(), Some(&upload)).unwrap_or(0);
    let resumed_at = (offset > 0).then_some(offset);
    // Twice at most: once from where the server said, once more if another attempt of this
    // device moved it meanwhile (409 tells where).
    for _ in 0..2 {
        let from = usize::try_from(offset.min(length)).unwrap_or(bytes.len());
        let resp = http
            .patch(format!("{base}/v1/blobs/{hash}/uploads/{id}"))
            .bearer_auth(token)
            .header("upload-offset", offset)
            .header("content-type", "application/offset+octet-stream")
            .body(bytes[from..].to_vec())
            .send()
            .await
            .map_err(|e| unreachable(base, e))?;
        match resp.status() {
            s if s.is_success() => {
                let done = s == StatusCode::CREATED || s == StatusCode::OK;
                if done || offset_of(resp.headers(), None) == Some(length) {
                    return Ok(Some(Uploaded { resumed_at, length }));
                }
                offset = offset_of(resp.headers(), None).unwrap_or(offset);
            }
            StatusCode::CONFLICT => {
                offset = offset_of(resp.headers(), None).ok_or_else(|| {
                    ApiError::Protocol("offset conflict without Upload-Offset".into())
                })?;
            }
            _ => return Err(refusal(resp).await),
        }
    }
    Err(ApiError::Protocol(format!(
        "the upload of {hash} did not complete (server at byte {offset} of {length})"
    )))
}
