//! `GET /openapi.json` describes every endpoint the server routes, and what it says about
//! tokens is what the server does.

use std::collections::BTreeSet;

use serde_json::Value;
use tests::TestServer;

use crate::BIN;

/// Whether an endpoint needs `Authorization: Bearer <access token>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    Bearer,
}

/// Every route of the server, as OpenAPI spells it: lower-case method, templated path.
const ENDPOINTS: &[(&str, &str, Access)] = &[
    ("get", "/healthz", Access::Public),
    ("get", "/readyz", Access::Public),
    ("get", "/metrics", Access::Public),
    ("get", "/openapi.json", Access::Public),
    ("post", "/v1/auth/login", Access::Public),
    ("post", "/v1/auth/refresh", Access::Public),
    ("post", "/v1/auth/logout", Access::Public),
    ("post", "/v1/auth/password", Access::Bearer),
    ("post", "/v1/admin/users", Access::Bearer),
    ("get", "/v1/admin/users", Access::Bearer),
    ("patch", "/v1/admin/users/{id}", Access::Bearer),
    ("put", "/v1/admin/regions/{id}", Access::Bearer),
    ("put", "/v1/admin/skills/{id}", Access::Bearer),
    ("put", "/v1/admin/parts/{sku}", Access::Bearer),
    ("get", "/v1/regions", Access::Bearer),
    ("get", "/v1/skills", Access::Bearer),
    ("get", "/v1/parts", Access::Bearer),
    ("post", "/v1/workorders", Access::Bearer),
    ("get", "/v1/workorders", Access::Bearer),
    ("get", "/v1/workorders/{id}", Access::Bearer),
    ("post", "/v1/sync", Access::Bearer),
    ("get", "/v1/events", Access::Bearer),
    ("put", "/v1/blobs/{hash}", Access::Bearer),
    ("get", "/v1/blobs/{hash}", Access::Bearer),
    ("get", "/v1/blobs/{hash}/thumbnail", Access::Bearer),
    ("post", "/v1/blobs/{hash}/uploads", Access::Bearer),
    ("get", "/v1/blobs/{hash}/uploads/{id}", Access::Bearer),
    ("patch", "/v1/blobs/{hash}/uploads/{id}", Access::Bearer),
    ("post", "/v1/workorders/{id}/assign", Access::Bearer),
    ("post", "/v1/workorders/{id}/unassign", Access::Bearer),
    ("post", "/v1/workorders/{id}/classify", Access::Bearer),
    ("post", "/v1/workorders/{id}/followup", Access::Bearer),
    ("post", "/v1/dispatch/auto", Access::Bearer),
    ("get", "/v1/workorders/{id}/explain", Access::Bearer),
    ("get", "/v1/technicians/{id}/route", Access::Bearer),
    ("get", "/v1/clock", Access::Bearer),
    ("post", "/v1/admin/clock", Access::Bearer),
    ("post", "/v1/admin/clock/tick", Access::Bearer),
    ("get", "/v1/breaches", Access::Bearer),
    ("get", "/v1/escalations", Access::Bearer),
    ("post", "/v1/escalations/{id}/resolve", Access::Bearer),
    ("get", "/v1/devices", Access::Bearer),
    ("get", "/v1/policy", Access::Bearer),
    ("get", "/v1/board", Access::Bearer),
    ("get", "/v1/technicians", Access::Bearer),
    ("get", "/v1/kpi", Access::Bearer),
    ("get", "/v1/kpi/daily", Access::Bearer),
    ("get", "/v1/kpi/trends", Access::Bearer),
    ("post", "/v1/workorders/{id}/cancel", Access::Bearer),
    // The console's session rides on cookies, not on a bearer token.
    ("post", "/console/session", Access::Public),
    ("get", "/console/session", Access::Public),
    ("post", "/console/session/refresh", Access::Public),
    ("post", "/console/logout", Access::Public),
    ("get", "/v1/console/board", Access::Bearer),
    ("get", "/v1/console/cards", Access::Bearer),
    ("get", "/v1/console/queues", Access::Bearer),
    ("get", "/v1/console/workorder/{id}", Access::Bearer),
    ("get", "/v1/stock/locations", Access::Bearer),
    ("post", "/v1/stock/locations", Access::Bearer),
    ("get", "/v1/stock/locations/{id}", Access::Bearer),
    ("get", "/v1/stock/van", Access::Bearer),
    ("post", "/v1/stock/receipts", Access::Bearer),
    ("post", "/v1/stock/transfers", Access::Bearer),
    ("post", "/v1/stock/returns", Access::Bearer),
    ("post", "/v1/stock/counts", Access::Bearer),
    ("get", "/v1/stock/counts", Access::Bearer),
    (
        "put",
        "/v1/stock/thresholds/{location}/{sku}",
        Access::Bearer,
    ),
    ("get", "/v1/stock/reorder", Access::Bearer),
    ("get", "/v1/stock/shortfalls", Access::Bearer),
    ("get", "/v1/stock/moves", Access::Bearer),
    ("get", "/v1/audits", Access::Bearer),
    ("get", "/v1/audits/draws", Access::Bearer),
    ("post", "/v1/audits/draws", Access::Bearer),
    ("get", "/v1/audits/{id}", Access::Bearer),
    ("post", "/v1/audits/{id}/findings", Access::Bearer),
    (
        "post",
        "/v1/audits/{id}/findings/{finding}/verify",
        Access::Bearer,
    ),
    ("post", "/v1/audits/{id}/close", Access::Bearer),
];

/// The name the document gives the bearer JWT security scheme.
const BEARER_SCHEME: &str = "bearer_jwt";

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn fetch_document(s: &TestServer) -> Value {
    let r = s.http.get(s.url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).expect("/openapi.json parses as JSON")
}

/// The (method, path) pairs the document lists.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("a `paths` object")
        .iter()
        .flat_map(|(path, item)| {
            HTTP_METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| ((*m).to_owned(), path.clone()))
        })
        .collect()
}

tests::on_each_backend! {
    async fn the_openapi_document_lists_every_endpoint_and_the_bearer_scheme(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let doc = fetch_document(&s).await;
        let version = doc["openapi"].as_str().unwrap_or_default();
        assert!(version.starts_with("3."), "openapi version {version:?}");

        let expected: BTreeSet<(String, String)> = ENDPOINTS
            .iter()
            .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        let listed = documented(&doc);
        let missing: Vec<_> = expected.difference(&listed).collect();
        assert!(missing.is_empty(), "not in /openapi.json: {missing:?}");
        // A documented operation the table lacks is either a new route (add it above) or a
        // stale document.
        let unknown: Vec<_> = listed.difference(&expected).collect();
        assert!(unknown.is_empty(), "documented but not routed: {unknown:?}");

        let scheme = &doc["components"]["securitySchemes"][BEARER_SCHEME];
        assert_eq!(scheme["type"], "http", "{scheme}");
        assert!(
            scheme["scheme"]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case("bearer")),
            "{scheme}"
        );
        assert_eq!(scheme["bearerFormat"], "JWT", "{scheme}");

        for (method, path, access) in ENDPOINTS {
            let op = &doc["paths"][path][method];
            let requires_bearer = op["security"]
                .as_array()
                .is_some_and(|reqs| reqs.iter().any(|r| r.get(BEARER_SCHEME).is_some()));
            assert_eq!(
                requires_bearer,
                *access == Access::Bearer,
                "security of {method} {path}: {}",
                op["security"]
            );
        }
    }
}

tests::on_each_backend! {
    async fn every_endpoint_documented_as_protected_refuses_a_request_without_a_token(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let doc = fetch_document(&s).await;
        for (method, path, _) in ENDPOINTS {
            let op = &doc["paths"][path][method];
            if op["security"].is_null() {
                continue;
            }
            let url = s.url(
                &path
                    .replace("{id}", "WO-1")
                    .replace("{hash}", &"0".repeat(64)),
            );
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = s.http.request(method.clone(), url).send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} without a token");
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path} does not document its 401"
            );
            let body: Value = r.json().await.expect("a JSON error body");
            assert_eq!(body["error"], "unauthorized", "{method} {path}: {body}");
        }
    }
}

/// A request path for a documented path template.
fn concrete(path: &str) -> String {
    path.replace("{id}", "WO-1")
        .replace("{sku}", "SKU-1")
        .replace("{hash}", &"0".repeat(64))
}

tests::on_each_backend! {
    async fn a_known_path_called_with_a_method_it_does_not_serve_answers_405_with_allow(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let doc = fetch_document(&s).await;
        let shared = &doc["components"]["responses"]["MethodNotAllowed"];
        assert!(shared["headers"]["Allow"].is_object(), "the shared 405: {shared}");
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let served: BTreeSet<String> = HTTP_METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| m.to_uppercase())
                .collect();
            for method in ["GET", "PUT", "POST", "DELETE", "PATCH"] {
                if served.contains(method) {
                    continue;
                }
                let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let r = s.http.request(m, s.url(&concrete(path))).send().await.unwrap();
                assert_eq!(r.status(), 405, "{method} {path}");
                let allow: BTreeSet<String> = r.headers()["allow"]
                    .to_str()
                    .unwrap()
                    .split(',')
                    .map(|m| m.trim().to_owned())
                    .collect();
                assert_eq!(allow, served, "Allow of {method} {path}");
                let body: Value = r.json().await.expect("a JSON error body");
                assert_eq!(body["error"], "method_not_allowed", "{method} {path}: {body}");
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} wrong methods tried");
        // A path the server does not know stays a 404.
        let r = s.http.delete(s.url("/v1/no-such-thing")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "not_found");
    }
}

tests::on_each_backend! {
    async fn every_operation_documents_its_shared_refusals_with_the_error_body(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let doc = fetch_document(&s).await;
        for (method, path) in documented(&doc) {
            let op = &doc["paths"][&path][&method];
            let responses = op["responses"].as_object().expect("responses");
            assert!(responses.contains_key("500"), "{method} {path} lacks its 500");
            if op["requestBody"]["content"]["application/json"].is_object() {
                for status in ["400", "413", "415"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks its {status}");
                }
                let body = &op["requestBody"]["content"]["application/json"]["schema"];
                let name = body["$ref"].as_str().and_then(|r| r.rsplit('/').next());
                if let Some(name) = name {
                    let schema = &doc["components"]["schemas"][name];
                    assert_eq!(
                        schema["additionalProperties"], false,
                        "{method} {path}: the server refuses unknown fields of {name}"
                    );
                }
            }
            for (status, response) in responses {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                let description = response["description"].as_str().unwrap_or_default();
                assert!(
                    description.contains('`'),
                    "{method} {path} {status} names no error code: {description}"
                );
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/ErrorBody",
                    "{method} {path} {status} is not an ErrorBody"
                );
            }
        }
    }
}
