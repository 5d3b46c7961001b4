//! The persist step: one short write transaction for everything a request changed.
//!
//! Each document write is conditional on the heads the read step saw. When another writer
//! (another request, another instance, dispatch, the clock) changed a document in between,
//! the write finds other heads and writes nothing; this step then locks that document, reads
//! it again and merges the same offer under the lock (the slow path, rare by construction).
//! On SQLite the writes of concurrent requests share one transaction and one disk flush
//! (`db::group`), each inside its own savepoint.

use sqlx::AnyConnection;

use super::merge::{self, Cx, DocOutcome, StateAction};
use super::read::{Input, Offered};
use crate::clock::store::{self as clock_store, Arrival as Contact};
use crate::db::docs::{self, StoredRow, Upload};
use crate::db::projection::{Ctx, ToWrite};
use crate::db::{self};
use crate::error::ApiError;
use crate::state::AppState;

/// What the transaction did, for the reply and the metrics.
pub struct Committed {
    /// Changes appended to documents.
    pub changes: usize,
    /// Documents whose write had to be redone under the lock.
    pub retried: usize,
}

/// Everything a request writes, handed to [`commit`] and back.
pub struct Batch {
    pub cx: Cx,
    pub outcomes: Vec<DocOutcome>,
    /// Sync states to delete besides the outcomes'.
    pub forget: Vec<String>,
}

/// Writes every outcome and commits: on SQLite in a transaction shared with concurrent
/// requests (`db::group`), on PostgreSQL in the request's own. Outcomes may come back replaced
/// by their slow-path versions.
pub async fn commit(state: &AppState, mut batch: Batch) -> Result<(Batch, Committed), ApiError> {
    let done = match &state.group {
        Some(group) => group
            .write(move |conn| {
                Box::pin(async move {
                    let done = write(conn, &batch.cx, &mut batch.outcomes, &batch.forget)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
                    Ok((batch, done))
                })
            })
            .await
            .map_err(ApiError::Internal),
        None => {
            let mut tx = state.db.begin_write().await?;
            let done = write(&mut tx, &batch.cx, &mut batch.outcomes, &batch.forget).await?;
            tx.commit().await?;
            Ok((batch, done))
        }
    };
    // Live push, after the commit: the devices concerned by what this sync wrote.
    if let Ok((b, _)) = &done {
        crate::events::synced(
            state,
            &b.cx.device,
            b.cx.role,
            &b.cx.user,
            b.outcomes
                .iter()
                .filter(|o| o.write.is_some())
                .map(|o| o.id.as_str()),
        );
    }
    done
}

/// The writes of one request, inside a transaction the caller commits.
async fn write(
    tx: &mut AnyConnection,
    cx: &Cx,
    outcomes: &mut [DocOutcome],
    forget: &[String],
) -> Result<Committed, ApiError> {
    // How long this request's statements hold the write lock (SQLite) or its rows.
    let locked = std::time::Instant::now();
    let ctx = Ctx {
        policy: &cx.policy,
        now: cx.now,
    };
    let by = Upload {
        user: &cx.user,
        device: &cx.device,
        at: cx.now,
    };
    let mut done = Committed {
        changes: 0,
        retried: 0,
    };
    // Documents are written in id order, so concurrent requests cannot deadlock.
    outcomes.sort_by(|a, b| a.id.cmp(&b.id));
    let first: Vec<(&str, &docs::DocWrite)> = outcomes
        .iter()
        .filter_map(|o| o.write.as_ref().map(|w| (o.id.as_str(), &w.doc)))
        .collect();
    let written_first = docs::write_many_if_unchanged(tx, &first, &by)
        .await
        .map_err(ApiError::Internal)?;
    drop(first);
    for o in outcomes.iter_mut() {
        let Some(w) = o.write.as_ref() else { continue };
        if !written_first.contains(&o.id) {
            done.retried += 1;
            *o = merge_locked(tx, cx, w.offer.clone(), w.visible).await?;
            let Some(w) = o.write.as_ref() else { continue };
            if !docs::write_if_unchanged(tx, &o.id, &w.doc, &by)
                .await
                .map_err(ApiError::Internal)?
            {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "document {} changed while locked",
                    o.id
                )));
            }
        }
    }
    let written: Vec<(&str, &docs::DocWrite)> = outcomes
        .iter()
        .filter_map(|o| o.write.as_ref().map(|w| (o.id.as_str(), &w.doc)))
        .collect();
    docs::insert_changes(tx, &written, &by)
        .await
        .map_err(ApiError::Internal)?;
    let projections: Vec<ToWrite<'_>> = outcomes
        .iter()
        .filter_map(|o| o.write.as_deref())
        .map(|w| ToWrite {
            p: &w.projection,
            clocks: &w.clocks,
            open_escalations: w.open_escalations.as_deref(),
        })
        .collect();
    done.changes = outcomes
        .iter()
        .filter_map(|o| o.write.as_ref())
        .map(|w| w.doc.added)
        .sum();
    db::projection::write_many(tx, &projections, cx.now, &ctx).await?;
    drop(projections);
    // Part lines become van consumptions, in this transaction (idempotent per line).
    let views: Vec<&sync_core::workorder::View> = outcomes
        .iter()
        .filter_map(|o| o.write.as_deref())
        .map(|w| &w.projection.view)
        .collect();
    crate::stock::consume::reconcile(tx, &views, &cx.user, cx.now).await?;
    drop(views);
    // Positions reported with on-site events: each technician's latest, for dispatch.
    let mut positions = Vec::new();
    for w in outcomes.iter().filter_map(|o| o.write.as_deref()) {
        positions.extend(w.projection.positions.iter());
    }
    crate::dispatch::places::keep_positions(tx, positions).await?;
    let mut put = Vec::new();
    let mut gone: Vec<String> = forget.to_vec();
    for o in outcomes.iter_mut() {
        match std::mem::replace(&mut o.state, StateAction::Keep) {
            StateAction::Keep => {}
            StateAction::Put(bytes) => put.push((o.id.clone(), bytes)),
            StateAction::Forget => gone.push(o.id.clone()),
        }
    }
    db::sync_state::put_many(tx, &cx.device, &put).await?;
    db::sync_state::forget_many(tx, &cx.device, &gone).await?;
    if outcomes.iter().all(|o| o.complete) {
        // Only a sync that left nothing behind is a lower bound for the device's next events.
        let offset = outcomes
            .iter()
            .filter_map(|o| o.offset)
            .max_by_key(|o| o.unsigned_abs());
        let tolerance =
            i64::try_from(cx.policy.clock.clock_tolerance.as_millis()).unwrap_or(i64::MAX);
        let contact = Contact {
            device: &cx.device,
            user: &cx.user,
            previous_contact: cx.previous_contact,
            now: cx.now,
        };
        clock_store::touch_device(tx, &contact, offset, tolerance).await?;
    }
    metrics::histogram!("fieldsync_sync_write_seconds").record(locked.elapsed().as_secs_f64());
    Ok(done)
}

/// The slow path: lock the document, read it and its inputs again, and merge the offer.
async fn merge_locked(
    conn: &mut AnyConnection,
    cx: &Cx,
    offer: sync_core::protocol::DocOffer,
    visible: bool,
) -> Result<DocOutcome, ApiError> {
    let id = offer.doc_id.clone();
    let actor = sync_core::workorder::actor_id_for(&cx.device);
    let Some(loaded) = docs::lock_and_load(conn, &id, &actor)
        .await
        .map_err(ApiError::Internal)?
    else {
        return Ok(DocOutcome {
            reply: Some(sync_core::protocol::server::removed(
                &id,
                "no such work order",
            )),
            id,
            state: StateAction::Forget,
            write: None,
            cache: None,
            complete: true,
            declined: false,
            offset: None,
        });
    };
    let ids = [id.clone()];
    let row = StoredRow {
        heads: docs::heads_text(&loaded.doc.get_heads()),
        log_count: loaded.log_count,
    };
    let input = Input {
        state: db::sync_state::get(conn, &cx.device, &id)
            .await?
            .unwrap_or_default(),
        times: db::projection::event_times(conn, &ids)
            .await?
            .remove(&id)
            .unwrap_or_default(),
        clocks: clock_store::stored_clocks(conn, &ids)
            .await?
            .remove(&id)
            .unwrap_or_default(),
        open_escalations: clock_store::open_escalations(conn, &ids)
            .await?
            .remove(&id)
            .unwrap_or_default(),
        weight: super::cache::weight(loaded.doc.save().len()),
        doc: loaded.doc,
        offered: Offered {
            offer,
            row,
            visible,
        },
    };
    Ok(merge::one(input, cx))
}
