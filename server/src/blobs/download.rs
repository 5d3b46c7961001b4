//! Serving stored bytes: streamed from the store a chunk at a time, with the content hash as
//! `ETag` (`If-None-Match` answers 304) and single byte ranges (`Range: bytes=a-b` answers
//! 206; one past the end answers 416), so a download cut off half way resumes too.

use std::ops::Range;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// What a `Range` header asks of an object of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    /// No range, or one this server does not serve as a range (several ranges, other units):
    /// the whole object, as HTTP allows.
    All,
    Part(Range<u64>),
    /// No byte of it lies inside the object.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (the last n bytes) against `len`.
pub fn wanted(header: Option<&str>, len: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Wanted::All;
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(start), Ok(last)) if last >= start => start..last.saturating_add(1).min(len),
        (Ok(_), Ok(_)) => return Wanted::All,
        (Ok(start), Err(_)) if b.is_empty() => start..len,
        (Err(_), Ok(n)) if a.is_empty() => {
            if n == 0 {
                return Wanted::Unsatisfiable;
            }
            len.saturating_sub(n)..len
        }
        _ => return Wanted::All,
    };
    if range.start >= len {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part(range)
    }
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.trim_start_matches("W/") == etag
            })
        })
}

/// Answers `req` with the object `key` of `len` bytes: 200, 206, 304 or 416.
pub async fn serve(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
    len: u64,
    mime: &str,
    etag: String,
) -> Result<HttpResponse, ApiError> {
    let cache = ("cache-control", "private, max-age=31536000, immutable");
    if not_modified(req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish());
    }
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let (mut res, range) = match wanted(range, len) {
        Wanted::All => (HttpResponse::Ok(), None),
        Wanted::Part(r) => {
            let mut res = HttpResponse::PartialContent();
            res.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{len}", r.start, r.end - 1),
            ));
            (res, Some(r))
        }
        Wanted::Unsatisfiable => {
            return Ok(HttpResponse::RangeNotSatisfiable()
                .insert_header((header::CONTENT_RANGE, format!("bytes */{len}")))
                .json(ErrorBody {
                    error: "range_not_satisfiable".into(),
                    message: format!("the range asks for bytes past the end of a {len}-byte blob"),
                }))
        }
    };
    let body_len = range.as_ref().map_or(len, |r| r.end - r.start);
    let stream = state
        .blobs
        .get(key, range)
        .await
        .map_err(|e| ApiError::Internal(e.context(format!("reading {key}"))))?
        .ok_or_else(|| {
            // The row says it is stored, the store says no: a store that lost it, or was
            // switched without `blobs migrate`.
            ApiError::Internal(anyhow::anyhow!(
                "{key} is recorded but missing from the blob store {}",
                state.blobs.describe()
            ))
        })?;
    Ok(res
        .content_type(mime.to_owned())
        .insert_header((header::ETAG, etag))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header(cache)
        .no_chunking(body_len)
        .streaming(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_parse_as_http_says() {
        assert_eq!(wanted(None, 10), Wanted::All);
        assert_eq!(wanted(Some("bytes=0-4"), 10), Wanted::Part(0..5));
        assert_eq!(wanted(Some("bytes=5-"), 10), Wanted::Part(5..10));
        assert_eq!(wanted(Some("bytes=-3"), 10), Wanted::Part(7..10));
        assert_eq!(wanted(Some("bytes=-30"), 10), Wanted::Part(0..10));
        // The end is cut at the object's end.
        assert_eq!(wanted(Some("bytes=8-100"), 10), Wanted::Part(8..10));
        assert_eq!(wanted(Some("bytes=10-"), 10), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 10), Wanted::Unsatisfiable);
        // What is not served as a range is served whole.
        assert_eq!(wanted(Some("bytes=0-1,4-5"), 10), Wanted::All);
        assert_eq!(wanted(Some("bytes=5-2"), 10), Wanted::All);
        assert_eq!(wanted(Some("items=0-1"), 10), Wanted::All);
        assert_eq!(wanted(Some("bytes=x-y"), 10), Wanted::All);
    }
}
