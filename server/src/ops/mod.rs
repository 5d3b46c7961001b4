//! Health, readiness, Prometheus metrics and the OpenAPI document.

pub mod openapi;

use std::future::{ready, Ready};
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{web, HttpResponse};
use futures_util::future::LocalBoxFuture;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub syncs: AtomicU64,
    pub sync_micros: AtomicU64,
    pub changes_merged: AtomicU64,
    pub blobs_stored: AtomicU64,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/openapi.json", web::get().to(openapi::openapi_json));
}

/// Liveness: the process answers HTTP.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses(
        (status = 200, description = "The process is alive.", body = openapi::Status,
            example = json!({"status": "ok"})),
    )
)]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, description = "The server can serve requests.", body = openapi::Status,
            example = json!({"status": "ready"})),
        (status = 503, description = "`unavailable`: the database does not answer.", body = ErrorBody),
    )
)]
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.db.ping().await {
        Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
    } else {
        Err(ApiError::Unavailable("the database does not answer".into()))
    }
}

/// Counters in the Prometheus text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "`fieldsync_http_requests_total`, `fieldsync_syncs_total`, \
            `fieldsync_sync_seconds_total`, `fieldsync_changes_merged_total` and \
            `fieldsync_blobs_stored_total`.",
            body = String, content_type = "text/plain; version=0.0.4"),
    )
)]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let m = &state.metrics;
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let body = format!(
        "# HELP fieldsync_http_requests_total HTTP requests received.\n# TYPE fieldsync_http_requests_total counter\nfieldsync_http_requests_total {}\n\
         # HELP fieldsync_syncs_total Sync requests answered.\n# TYPE fieldsync_syncs_total counter\nfieldsync_syncs_total {}\n\
         # HELP fieldsync_sync_seconds_total Time spent answering sync requests.\n# TYPE fieldsync_sync_seconds_total counter\nfieldsync_sync_seconds_total {:.6}\n\
         # HELP fieldsync_changes_merged_total Document changes merged from devices.\n# TYPE fieldsync_changes_merged_total counter\nfieldsync_changes_merged_total {}\n\
         # HELP fieldsync_blobs_stored_total Blobs stored.\n# TYPE fieldsync_blobs_stored_total counter\nfieldsync_blobs_stored_total {}\n",
        get(&m.requests),
        get(&m.syncs),
        get(&m.sync_micros) as f64 / 1e6,
        get(&m.changes_merged),
        get(&m.blobs_stored),
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such endpoint".into()))
}

/// Counts every request for `/metrics`.
pub struct CountRequests;

impl<S, B> Transform<S, ServiceRequest> for CountRequests
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = CountRequestsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CountRequestsMiddleware { service }))
    }
}

pub struct CountRequestsMiddleware<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for CountRequestsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if let Some(state) = req.app_data::<web::Data<AppState>>() {
            state.metrics.requests.fetch_add(1, Ordering::Relaxed);
        }
        let fut = self.service.call(req);
        Box::pin(fut)
    }
}
