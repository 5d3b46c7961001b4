//! `405 Method Not Allowed` with an `Allow` header for a known path called with a method it
//! does not serve, instead of the `404` a missing route would give.
//!
//! Routes are registered one resource per method, so actix itself only knows a path by its
//! method; the OpenAPI document, which lists every route (the e2e test holds it to the router),
//! says which methods each path serves. The table is built once from it.

use std::sync::LazyLock;

use actix_web::dev::ResourceDef;
use actix_web::http::{header, Method};
use actix_web::{HttpRequest, HttpResponse};

use crate::error::{ApiError, ErrorBody};

/// Every documented path pattern with the methods it serves, in document order.
static ROUTES: LazyLock<Vec<(ResourceDef, Vec<Method>)>> = LazyLock::new(|| {
    use utoipa::OpenApi;
    super::openapi::ApiDoc::openapi()
        .paths
        .paths
        .iter()
        .map(|(path, item)| {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::DELETE, item.delete.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::OPTIONS, item.options.is_some()),
                (Method::HEAD, item.head.is_some()),
                (Method::TRACE, item.trace.is_some()),
            ]
            .into_iter()
            .filter_map(|(m, served)| served.then_some(m))
            .collect();
            (ResourceDef::new(path.as_str()), methods)
        })
        .collect()
});

/// The methods `path` is served with, if it is a known path.
pub fn allowed(path: &str) -> Option<&'static [Method]> {
    ROUTES
        .iter()
        .find(|(def, _)| def.is_match(path))
        .map(|(_, methods)| methods.as_slice())
}

/// The value of an `Allow` header: `GET, POST`.
pub fn allow_header(methods: &[Method]) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a request no route took gets: 405 with `Allow` on a known path, 404 otherwise.
pub async fn unrouted(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    match allowed(req.path()) {
        Some(methods) if !methods.contains(req.method()) => Ok(method_not_allowed(methods)),
        _ => Err(ApiError::NotFound("no such endpoint".into())),
    }
}

/// 405 `method_not_allowed` with `Allow`.
pub fn method_not_allowed(methods: &[Method]) -> HttpResponse {
    let allow = allow_header(methods);
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow.clone()))
        .json(ErrorBody {
            error: "method_not_allowed".into(),
            message: format!("this endpoint does not accept that method; it accepts {allow}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_templated_path_matches_with_its_methods_and_an_unknown_one_does_not() {
        let blob = format!("/v1/blobs/{}", "a".repeat(64));
        assert_eq!(
            allowed(&blob).map(allow_header).as_deref(),
            Some("GET, PUT")
        );
        assert_eq!(
            allowed(&format!("{blob}/thumbnail"))
                .map(allow_header)
                .as_deref(),
            Some("GET")
        );
        assert_eq!(
            allowed("/v1/workorders").map(allow_header).as_deref(),
            Some("GET, POST")
        );
        assert_eq!(allowed("/v1/nothing-here"), None);
        assert_eq!(allowed("/v1/workorders/WO-1/nothing"), None);
    }
}
