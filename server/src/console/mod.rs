//! The dispatcher console: a browser front end served by `field-server` itself.
//!
//! The pages are plain ES modules, HTML and CSS under `server/console/`, embedded in the binary
//! ([`Assets`], rust-embed with `debug-embed`: debug builds embed them too, so what is tested is
//! what ships). `GET /` answers the page shell, every other file is under `/console/`. The pages
//! read the same JSON API as every client, authenticated by the session cookie
//! ([`session`]), plus the few console endpoints in [`api`]. Every page response forbids any
//! other host by its Content-Security-Policy: no CDN, font or map tile can slip in.

pub mod api;
pub mod board_sql;
pub mod cards;
pub mod record;
pub mod session;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "console/"]
struct Assets;

/// Nothing but this server: scripts, styles, images (thumbnails, charts as data), the API.
pub const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; \
    script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn routes(cfg: &mut web::ServiceConfig) {
    // The session's routes first: the assets' pattern would take `/console/session` too.
    cfg.configure(session::routes)
        .configure(api::routes)
        .route("/", web::get().to(index))
        .route("/console/{path:.*}", web::get().to(asset));
}

async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    serve(&req, "index.html")
}

async fn asset(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    if Assets::get(&path).is_none() && !path.is_empty() {
        // A documented console endpoint called with GET (`/console/logout`): 405, not 404.
        return crate::ops::not_found(req).await;
    }
    if path.is_empty() {
        return serve(&req, "index.html");
    }
    serve(&req, &path)
}

/// One embedded file, with its hash as `ETag` (a reload revalidates, a changed binary is
/// seen at once) and the security headers.
fn serve(req: &HttpRequest, path: &str) -> Result<HttpResponse, ApiError> {
    let file =
        Assets::get(path).ok_or_else(|| ApiError::NotFound(format!("no console file {path}")))?;
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    if fresh {
        return Ok(res.finish());
    }
    Ok(res
        .content_type(file.metadata.mimetype())
        .body(file.data.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_shell_is_embedded_and_refers_only_to_this_server() {
        let Some(index) = Assets::get("index.html") else {
            panic!("server/console/index.html is not embedded");
        };
        let text = String::from_utf8_lossy(&index.data);
        assert!(text.contains("/console/"), "{text}");
        for other_host in ["http://", "https://", "//cdn", "googleapis"] {
            assert!(
                !text.contains(other_host),
                "index.html names another host: {other_host}"
            );
        }
    }

    #[test]
    fn no_embedded_file_loads_anything_from_another_host() {
        for path in Assets::iter() {
            let Some(file) = Assets::get(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&file.data);
            for other in ["https://", "http://"] {
                // Links in comments or the SVG namespace are the only allowed mentions.
                for (i, _) in text.match_indices(other) {
                    let rest = &text[i..text.len().min(i + 40)];
                    assert!(
                        rest.starts_with("http://www.w3.org/"),
                        "{path} refers to another host: {rest}"
                    );
                }
            }
        }
    }
}
