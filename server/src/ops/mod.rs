//! Health, readiness, Prometheus metrics and the OpenAPI document.

mod http_metrics;
pub mod logs;
pub mod methods;
pub mod metrics;
pub mod openapi;

use actix_web::{web, HttpResponse};

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub use self::http_metrics::RecordHttp;
pub use self::metrics::Metrics;

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

/// Prometheus text exposition of the server's metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format. HTTP: \
            `fieldsync_http_requests_total` and the histogram \
            `fieldsync_http_request_duration_seconds`, labelled by `method`, `route` (the route \
            pattern such as `/v1/workorders/{id}`, or `unmatched`) and `status`; the gauge \
            `fieldsync_http_requests_in_flight`. Sync: \
            `fieldsync_syncs_total`, `fieldsync_changes_merged_total`, \
            `fieldsync_sync_documents_rejected_total` and the histograms \
            `fieldsync_sync_duration_seconds`, `fieldsync_sync_db_seconds`, \
            `fieldsync_sync_changes` and `fieldsync_sync_documents`. Blobs: \
            `fieldsync_blobs_stored_total`. Process, refreshed on each scrape: \
            `process_resident_memory_bytes`, `process_virtual_memory_bytes`, \
            `process_cpu_seconds_total`, `process_open_fds`, `process_max_fds`, \
            `process_threads`, `process_start_time_seconds`. Latency buckets run from 1 ms to \
            60 s. Other modules' counters (login throttling, the password-hash queue) appear \
            once they first count.",
            body = String, content_type = "text/plain; version=0.0.4"),
    )
)]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// What no route took: `405` with `Allow` on a known path (see [`methods`]), `404` otherwise.
pub async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    methods::unrouted(req).await
}
