//! `POST /v1/sync`: the batched sync protocol of `sync_core::protocol`, with scope, as a
//! pipeline of named steps:
//!
//! | step | where | what |
//! | --- | --- | --- |
//! | decode | `sync_core::protocol::decode_request` | CBOR bytes to a request, under limits |
//! | queue | [`MAX_CONCURRENT_MERGES`] permits | at most a few requests load and merge documents at once |
//! | triage by scope | [`read::plan`] | what the device may see; the heads pre-filter |
//! | load | [`read::load`] | documents (hot ones from [`cache`]), sync states, field times, clocks |
//! | merge | [`merge::run`], on a blocking thread | apply, check the upload, fold once, project; documents back to the [`cache`], permit released |
//! | persist | [`persist::commit`] | one short write transaction, conditional on the heads read |
//! | reply | `sync_core::protocol::encode_response` | the documents that differ |
//!
//! A technician receives and may change only the work orders assigned to it, a dispatcher
//! those of its regions. A job reassigned away while its technician worked offline stays
//! writable for that device until it syncs: its changes are accepted and recorded, then the
//! job is removed from the device. Everything a request changes (documents, change log,
//! projections, sync states) commits in one transaction before the response is sent;
//! replaying a request changes nothing (changes are keyed by hash). Only reads and the
//! write transaction touch the database; the Automerge work holds no lock.

pub mod cache;
mod merge;
mod persist;
mod read;

use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sync_core::protocol::{self, DocReply, Limits, SyncResponse};

use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::ops::metrics::{record_sync, SyncObservation};
use crate::ops::openapi::{SyncRequestBody, SyncResponseBody};
use crate::state::AppState;

/// Largest sync body accepted (bytes); also the codec limit.
pub const MAX_SYNC_BODY: usize = 16 * 1024 * 1024;

/// Sync requests that may hold loaded documents at once; the others wait (holding only their
/// request body). Merging is CPU work: a few per core keep the cores busy while bounding
/// memory whatever the number of devices syncing at once.
pub const MAX_CONCURRENT_MERGES: usize = 4;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/sync")
            .app_data(web::PayloadConfig::new(MAX_SYNC_BODY))
            .route(web::post().to(sync_handler)),
    );
}

fn limits() -> Limits {
    Limits {
        max_body_bytes: MAX_SYNC_BODY,
        ..Limits::default()
    }
}

/// One round of the batched sync protocol for the device the access token is bound to.
#[utoipa::path(
    post,
    path = "/v1/sync",
    tag = "sync",
    operation_id = "sync",
    request_body(content = SyncRequestBody, content_type = "application/cbor",
        description = "A sync request in CBOR, protocol version 2 (docs/PROTOCOL.md)."),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "A sync response in CBOR, protocol version 2 (docs/PROTOCOL.md). \
            Everything the request changed is committed before this answer.",
            body = SyncResponseBody, content_type = "application/cbor"),
        (status = 400, description = "`bad_sync_body`: the body is not a valid sync request \
            (malformed CBOR, a missing, unknown or repeated key, trailing bytes, or over a protocol \
            limit); `protocol_upgrade_required`: a version 1 (postcard) body or another version: \
            the client must be upgraded.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the access token is not bound to a device; \
            log in with a `device_id`.", body = ErrorBody),
        (status = 413, description = "`body_too_large`: the body exceeds 16 MiB.", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as \
            `Content-Type: application/cbor`.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged and nothing \
            of the request is committed.", body = ErrorBody),
    )
)]
async fn sync_handler(
    state: web::Data<AppState>,
    user: AuthUser,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let mut steps = Steps::start();
    let device = user.device()?.to_owned();
    let request = decode(&http, &body)?;
    drop(body);
    let docs = request.docs.len() as u64;
    steps.done("decode");
    // Bounds the documents in memory: waiting requests hold only their decoded body. Released
    // after the merge (below), before the write.
    let permit = state
        .sync_permits
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    steps.done("queue");

    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let previous_contact = crate::clock::store::previous_contact(&mut conn, &device).await?;
    let mut plan = read::plan(&mut conn, &user, &device, request).await?;
    steps.done("triage");
    let loaded = read::load(&mut conn, &state.docs, &device, &mut plan).await?;
    drop(conn);
    steps.done("load");

    let cx = merge::Cx {
        user: user.id.clone(),
        role: user.role,
        device,
        previous_contact,
        policy: state.policy.clone(),
        now,
    };
    let (cx, mut outcomes) = tokio::task::spawn_blocking(move || {
        let outcomes = merge::run(loaded.inputs, loaded.adds, &cx);
        (cx, outcomes)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("the merge step failed: {e}")))?;
    // The merged documents go back to the cache now, before the commit: an entry is used only
    // while the database holds its heads, so one whose write fails or is redone is never used.
    // Waiting for the writer, the request then holds only what it writes, and the next
    // requests may load and merge meanwhile: the writer finds more of them waiting and commits
    // them with one flush.
    for o in outcomes.iter_mut() {
        if let Some(entry) = o.cache.take() {
            state.docs.put(o.id.clone(), entry);
        }
    }
    drop(permit);
    steps.done("merge");

    let batch = persist::Batch {
        cx,
        outcomes,
        forget: plan.forget,
    };
    let (batch, committed) = persist::commit(&state, batch).await?;
    steps.done("persist");

    let mut replies: Vec<DocReply> = plan.replies;
    replies.extend(loaded.removed);
    let mut returned = Vec::new();
    for o in batch.outcomes {
        // Documents merged again under the lock (the slow path) go back after the commit.
        if let Some(entry) = o.cache {
            state.docs.put(o.id.clone(), entry);
        }
        if o.declined {
            returned.push(o.id);
        }
        replies.extend(o.reply);
    }
    for id in returned {
        // The decline is committed; finding the next technician is a separate step.
        if let Err(e) = crate::dispatch::service::redispatch_returned(&state, &id).await {
            tracing::error!(work_order = %id, error = %e, "re-dispatch after a decline failed; the job waits for dispatch");
        }
    }
    let rejected = replies
        .iter()
        .filter(|r| matches!(r.change, protocol::DocChange::Rejected { .. }))
        .count() as u64;
    let body = protocol::encode_response(&SyncResponse { docs: replies })
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("encoding the sync response: {e}")))?;
    steps.done("reply");
    record_sync(&SyncObservation {
        total: steps.total(),
        db: steps.of(&["triage", "load", "persist"]),
        changes: committed.changes as u64,
        docs,
        rejected,
    });
    if committed.retried > 0 {
        metrics::counter!("fieldsync_sync_write_retries_total").increment(committed.retried as u64);
    }
    Ok(HttpResponse::Ok()
        .content_type(protocol::codec::CONTENT_TYPE)
        .body(body))
}

/// The decode step: a CBOR body (protocol v2) under the protocol's limits. A version 1
/// (postcard) body is told to upgrade, whatever its media type.
fn decode(http: &HttpRequest, body: &[u8]) -> Result<protocol::SyncRequest, ApiError> {
    use protocol::codec::{is_legacy_body, CONTENT_TYPE};
    if is_legacy_body(body) {
        return Err(ApiError::bad(
            "protocol_upgrade_required",
            protocol::DecodeError::LegacyVersion {
                supported: protocol::PROTOCOL_VERSION,
            }
            .to_string(),
        ));
    }
    let media = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !media.is_some_and(|m| m.eq_ignore_ascii_case(CONTENT_TYPE)) {
        return Err(ApiError::Status {
            status: 415,
            code: "unsupported_media_type",
            message: format!(
                "a sync body is CBOR: send it with Content-Type: {CONTENT_TYPE} \
                 (docs/PROTOCOL.md), not {}",
                media.unwrap_or("no Content-Type")
            ),
        });
    }
    protocol::decode_request(body, &limits()).map_err(|e| match e {
        protocol::DecodeError::UnsupportedVersion { .. } => {
            ApiError::bad("protocol_upgrade_required", e.to_string())
        }
        other => ApiError::bad("bad_sync_body", other.to_string()),
    })
}

/// The time each step of one request took, recorded as `fieldsync_sync_step_seconds{step}`.
struct Steps {
    started: Instant,
    last: Instant,
    took: Vec<(&'static str, Duration)>,
}

impl Steps {
    fn start() -> Self {
        let now = Instant::now();
        Steps {
            started: now,
            last: now,
            took: Vec::with_capacity(8),
        }
    }

    fn done(&mut self, step: &'static str) {
        let now = Instant::now();
        let d = now - self.last;
        self.last = now;
        self.took.push((step, d));
        metrics::histogram!("fieldsync_sync_step_seconds", "step" => step).record(d.as_secs_f64());
    }

    fn of(&self, steps: &[&str]) -> Duration {
        self.took
            .iter()
            .filter(|(s, _)| steps.contains(s))
            .map(|(_, d)| *d)
            .sum()
    }

    fn total(&self) -> Duration {
        self.started.elapsed()
    }
}
