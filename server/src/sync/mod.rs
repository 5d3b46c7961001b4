//! `POST /v1/sync`: the batched sync protocol of `sync_core::protocol`, with scope.
//!
//! A technician receives and may change only the work orders assigned to it, a dispatcher
//! those of its regions. A job reassigned away while its technician worked offline stays
//! writable for that device until it syncs: its changes are accepted and recorded, then the
//! job is removed from the device. Everything a request changes (documents, change log,
//! projections, sync states) commits in one transaction before the response is sent;
//! replaying a request changes nothing (changes are keyed by hash).

mod validate;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Instant;

use actix_web::{web, HttpResponse};
use automerge::sync;
use sync_core::protocol::{self, server as proto, DocChange, DocReply, Limits, SyncResponse};
use sync_core::workorder::{actor_id_for, Status, WorkOrder};

use crate::auth::AuthUser;
use crate::clock::store as clock_store;
use crate::db;
use crate::error::{ApiError, ErrorBody};
use crate::ops::openapi::{SyncRequestBody, SyncResponseBody};
use crate::state::AppState;
use crate::workorders::scope;

/// Largest sync body accepted (bytes); also the codec limit.
pub const MAX_SYNC_BODY: usize = 16 * 1024 * 1024;

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
    request_body(content = SyncRequestBody, content_type = "application/octet-stream",
        description = "An encoded `SyncRequest`: magic `FSYQ`, u16 version, postcard."),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "An encoded `SyncResponse`: magic `FSYR`, u16 version, postcard. \
            Everything the request changed is committed before this answer.",
            body = SyncResponseBody, content_type = "application/octet-stream"),
        (status = 400, description = "`bad_sync_body`: the body is not a valid encoded `SyncRequest` \
            (wrong magic or version, truncated, trailing bytes, or over a protocol limit).", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no, a malformed or a refused access token; \
            `token_expired`: refresh the access token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the access token is not bound to a device; \
            log in with a `device_id`.", body = ErrorBody),
        (status = 413, description = "`body_too_large`: the body exceeds 16 MiB.", body = ErrorBody),
        (status = 500, description = "`internal`: the server failed; the cause is logged and nothing \
            of the request is committed.", body = ErrorBody),
    )
)]
async fn sync_handler(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let device = user.device()?.to_owned();
    let request = protocol::decode_request(&body, &limits())
        .map_err(|e| ApiError::bad("bad_sync_body", e.to_string()))?;
    let actor = actor_id_for(&state.instance_id);
    let mut merged = 0usize;
    let mut replies: Vec<DocReply> = Vec::new();
    // Jobs given back by their technician in this request: re-dispatched after the commit.
    let mut returned: Vec<String> = Vec::new();

    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    let ctx = state.ctx(now);
    let arrival = clock_store::Arrival {
        device: &device,
        user: &user.id,
        previous_contact: clock_store::previous_contact(&mut tx, &device).await?,
        now,
    };
    // The worst clock offset among the events this device sent (None: it sent none).
    let mut offset: Option<i64> = None;
    // Whether the server now holds everything the device offered; only then is this
    // contact a lower bound for the device's next events.
    let mut complete = true;
    let visible = scope::visible(&mut tx, &user).await?;
    let held: BTreeSet<String> = db::sync_state::held(&mut tx, &device)
        .await?
        .into_iter()
        .collect();
    // Jobs taken away from this device stay writable until it has synced them.
    let writable: BTreeSet<String> = visible
        .iter()
        .cloned()
        .chain(
            request
                .docs
                .iter()
                .map(|o| o.doc_id.clone())
                .filter(|id| held.contains(id)),
        )
        .collect();
    let triage = proto::triage(&request, &writable);
    let mut offers = triage.respond.clone();
    // Lock documents in id order so concurrent requests cannot deadlock.
    offers.sort_by(|a, b| a.doc_id.cmp(&b.doc_id));
    let ids: Vec<String> = offers.iter().map(|o| o.doc_id.clone()).collect();
    let stored_heads = db::docs::heads_of(&mut tx, &ids).await?;

    for offer in offers {
        let id = offer.doc_id.as_str();
        let mut still_visible = visible.contains(id);
        let offered_hashes = offer.change_hashes();
        let offered_heads = db::docs::heads_text(&offered_hashes);
        if offer.message.is_none() && stored_heads.get(id) == Some(&offered_heads) {
            // The pre-filter: equal heads, nothing to send; the document is not even loaded.
            if !still_visible {
                db::sync_state::forget(&mut tx, &device, id).await?;
                let mut gone = proto::removed(id, "reassigned: no longer yours");
                // We hold exactly what the device holds: deleting its copy loses nothing.
                gone.heads = offer.heads.clone();
                replies.push(gone);
            }
            continue;
        }
        let Some(loaded) = db::docs::lock_and_load(&mut tx, id, &actor)
            .await
            .map_err(ApiError::Internal)?
        else {
            replies.push(proto::removed(id, "no such work order"));
            continue;
        };
        let mut doc = loaded.doc;
        let mut sync_state = db::sync_state::get(&mut tx, &device, id)
            .await?
            .unwrap_or_default();
        match proto::respond(&mut doc, &mut sync_state, offer) {
            Err(e) => {
                complete = false;
                tracing::warn!(doc = id, device = %device, error = %e, "sync message refused");
                if e.resets_sync_state() {
                    db::sync_state::put(&mut tx, &device, id, &sync::State::new()).await?;
                }
                replies.push(e.to_reply());
            }
            Ok(r) => {
                // Whether we now hold every head the device offered (its whole history).
                let holds_offer = offered_hashes
                    .iter()
                    .all(|h| automerge::ReadDoc::get_change_by_hash(&doc, h).is_some());
                if r.doc_changed() {
                    // The stored document as it was: only rebuilt when something arrived.
                    let before = WorkOrder::from_automerge(
                        doc.fork_at(&r.heads_before)
                            .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?,
                    );
                    let after = WorkOrder::from_automerge(doc);
                    let accepted = match validate::upload(&before, &after, &user, &device) {
                        Ok(a) => a,
                        Err(why) => {
                            complete = false;
                            tracing::warn!(doc = id, device = %device, user = %user.id, %why, "upload refused");
                            db::sync_state::put(&mut tx, &device, id, &sync::State::new()).await?;
                            replies.push(DocReply {
                                doc_id: id.to_owned(),
                                change: DocChange::Rejected {
                                    code: "forbidden_change".into(),
                                    message: why,
                                },
                                heads: protocol::heads_to_wire(&before.heads()),
                                message: None,
                            });
                            continue;
                        }
                    };
                    let view = accepted.view;
                    // What this device brought may give the job back to it (an offline
                    // acceptance that stands against a timeout): it stays on the device.
                    if user.role == sync_core::workorder::Role::Technician
                        && view.assignee.as_deref() == Some(user.id.as_str())
                    {
                        still_visible = true;
                    }
                    let history = after
                        .history()
                        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
                    let created_at = history.first().map(|e| e.at).unwrap_or(now);
                    let new_events: Vec<&sync_core::workorder::Event> =
                        accepted.new_events.iter().collect();
                    if !new_events.is_empty() {
                        let off = clock_store::record_arrivals(
                            &mut tx,
                            id,
                            created_at,
                            &new_events,
                            &arrival,
                        )
                        .await?;
                        offset = Some(match offset {
                            Some(o) if o.abs() >= off.abs() => o,
                            _ => off,
                        });
                    }
                    if view.status == Status::PendingDispatch
                        && accepted.new_events.iter().any(|e| {
                            matches!(e.kind, sync_core::workorder::EventKind::Declined { .. })
                        })
                    {
                        returned.push(id.to_owned());
                    }
                    merged += db::docs::append(
                        &mut tx,
                        id,
                        after.doc(),
                        loaded.log_count,
                        &r.heads_before,
                        &db::docs::Upload {
                            user: &user.id,
                            device: &device,
                            at: now,
                        },
                    )
                    .await
                    .map_err(ApiError::Internal)?;
                    // The row exists since intake; the upsert keeps its created_at.
                    db::projection::project(&mut tx, &view, &history, now, &ctx).await?;
                }
                if !r.missing_deps.is_empty() {
                    complete = false;
                }
                if !still_visible && r.missing_deps.is_empty() {
                    db::sync_state::forget(&mut tx, &device, id).await?;
                    let mut gone = proto::removed(id, "reassigned: no longer yours");
                    // We hold the device's heads: deleting its copy loses nothing.
                    if holds_offer {
                        gone.heads = protocol::heads_to_wire(&offered_hashes);
                    }
                    replies.push(gone);
                    continue;
                }
                if r.state_changed {
                    db::sync_state::put(&mut tx, &device, id, &sync_state).await?;
                }
                if r.reply.change != DocChange::Unchanged {
                    replies.push(r.reply);
                }
            }
        }
    }
    for id in &triage.remove {
        db::sync_state::forget(&mut tx, &device, id).await?;
        let mut gone = proto::removed(id, "not visible to this user");
        // Say which of the device's heads we hold, so that it deletes its copy only when
        // nothing on it would be lost (a rare path: load the document to check).
        let offered = request
            .docs
            .iter()
            .find(|o| o.doc_id == *id)
            .map(|o| o.change_hashes())
            .unwrap_or_default();
        if !offered.is_empty() {
            if let Some(doc) = db::docs::load(&mut tx, id)
                .await
                .map_err(ApiError::Internal)?
            {
                if offered
                    .iter()
                    .all(|h| automerge::ReadDoc::get_change_by_hash(&doc, h).is_some())
                {
                    gone.heads = protocol::heads_to_wire(&offered);
                }
            }
        }
        replies.push(gone);
    }
    if request.complete {
        let offered: BTreeSet<&str> = request.docs.iter().map(|o| o.doc_id.as_str()).collect();
        for id in visible.iter().filter(|id| !offered.contains(id.as_str())) {
            let Some(mut doc) = db::docs::load(&mut tx, id)
                .await
                .map_err(ApiError::Internal)?
            else {
                continue;
            };
            let mut st = sync::State::new();
            match proto::added(&mut doc, &mut st, id) {
                Ok(reply) => {
                    db::sync_state::put(&mut tx, &device, id, &st).await?;
                    replies.push(reply);
                }
                Err(e) => replies.push(e.to_reply()),
            }
        }
    }
    let tolerance =
        i64::try_from(state.policy.clock.clock_tolerance.as_millis()).unwrap_or(i64::MAX);
    if complete {
        clock_store::touch_device(&mut tx, &arrival, offset, tolerance).await?;
    }
    tx.commit().await?;
    for id in returned {
        // The decline is committed; finding the next technician is a separate step.
        if let Err(e) = crate::dispatch::service::redispatch_returned(&state, &id).await {
            tracing::error!(work_order = %id, error = %e, "re-dispatch after a decline failed; the job waits for dispatch");
        }
    }

    let body = protocol::encode_response(&SyncResponse { docs: replies })
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("encoding the sync response: {e}")))?;
    let m = &state.metrics;
    m.syncs.fetch_add(1, Ordering::Relaxed);
    m.changes_merged.fetch_add(merged as u64, Ordering::Relaxed);
    m.sync_micros
        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .body(body))
}
