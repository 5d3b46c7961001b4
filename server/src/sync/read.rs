//! The read steps of the sync pipeline: scope, triage and loading, all before any lock.
//!
//! Nothing read here is trusted to be current when the pipeline writes: every document write
//! is conditional on the heads read here (`db::docs::write_if_unchanged`), and a document
//! another writer changed meanwhile is merged again under its lock.

use std::collections::{BTreeSet, HashMap};

use automerge::{Automerge, ReadDoc};
use sqlx::AnyConnection;
use sync_core::protocol::{self, server as proto, DocOffer, DocReply, PeerState, SyncRequest};

use super::cache::{self, DocCache};
use crate::auth::AuthUser;
use crate::clock::store::{self as clock_store, ClockMap};
use crate::db::{self, docs::StoredRow};
use crate::error::ApiError;
use crate::workorders::scope;

/// An offered document the pipeline will merge.
pub struct Offered {
    pub offer: DocOffer,
    pub row: StoredRow,
    /// Whether the device may still see it (else it was taken away and is writable only
    /// until this sync: then it is removed from the device).
    pub visible: bool,
}

/// How a request splits, decided by scope and the heads pre-filter.
pub struct Plan {
    /// Replies decided without loading anything.
    pub replies: Vec<DocReply>,
    /// Sync states to delete (documents the device is told to drop).
    pub forget: Vec<String>,
    /// Offers to merge, in id order.
    pub work: Vec<Offered>,
    /// Offered documents the device may not see (nor held): removed.
    pub remove: Vec<DocOffer>,
    /// Documents the device may see but did not offer (complete requests): added.
    pub add: Vec<String>,
}

/// Scope and triage: what the device may see, and which offers need any work at all.
/// An offer with no message whose heads equal the stored heads is answered here without
/// loading its document (the pre-filter).
pub async fn plan(
    conn: &mut AnyConnection,
    user: &AuthUser,
    device: &str,
    request: SyncRequest,
) -> Result<Plan, ApiError> {
    let visible = scope::visible(conn, user).await?;
    let held: BTreeSet<String> = db::sync_state::held(conn, device)
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
    let add: Vec<String> = proto::triage(&request, &visible)
        .add
        .into_iter()
        .map(str::to_owned)
        .collect();
    let ids: Vec<String> = request
        .docs
        .iter()
        .filter(|o| writable.contains(&o.doc_id))
        .map(|o| o.doc_id.clone())
        .collect();
    let rows = db::docs::rows_of(conn, &ids)
        .await
        .map_err(ApiError::Internal)?;
    let mut plan = Plan {
        replies: Vec::new(),
        forget: Vec::new(),
        work: Vec::new(),
        remove: Vec::new(),
        add,
    };
    for offer in request.docs {
        if !writable.contains(&offer.doc_id) {
            plan.remove.push(offer);
            continue;
        }
        let id = offer.doc_id.clone();
        let still_visible = visible.contains(&id);
        let Some(row) = rows.get(&id) else {
            plan.replies.push(proto::removed(&id, "no such work order"));
            continue;
        };
        let stored = db::docs::parse_heads(&row.heads);
        if offer.message.is_none() && offer.heads.matches(&stored) {
            // Equal heads, nothing to send: the document is not even loaded.
            if !still_visible {
                let mut gone = proto::removed(&id, "reassigned: no longer yours");
                // We hold exactly what the device holds: deleting its copy loses nothing.
                gone.heads = protocol::heads_to_wire(&stored);
                plan.replies.push(gone);
                plan.forget.push(id);
            }
            continue;
        }
        plan.work.push(Offered {
            offer,
            row: row.clone(),
            visible: still_visible,
        });
    }
    plan.work
        .sort_by(|a, b| a.offer.doc_id.cmp(&b.offer.doc_id));
    Ok(plan)
}

/// One document to merge, with everything the merge needs.
pub struct Input {
    pub offered: Offered,
    pub doc: Automerge,
    /// Estimated memory of `doc` (for the cache).
    pub weight: u64,
    pub state: PeerState,
    /// Field times already recorded for its events.
    pub times: HashMap<String, i64>,
    /// Its stored clock rows.
    pub clocks: ClockMap,
    /// The kinds of escalation open on it.
    pub open_escalations: Vec<String>,
}

/// A document to send whole to a device that did not offer it.
pub struct ToAdd {
    pub id: String,
    pub heads: String,
    pub doc: Automerge,
    pub weight: u64,
}

/// Everything loaded for one request.
pub struct Loaded {
    pub inputs: Vec<Input>,
    pub adds: Vec<ToAdd>,
    /// `Removed` replies for offered documents the device may not see.
    pub removed: Vec<DocReply>,
}

/// Loads the documents of `plan` (from the cache when it holds their current heads),
/// the device's sync states, and the field times and clock rows of documents that may
/// change (those whose offer carries a message).
pub async fn load(
    conn: &mut AnyConnection,
    cache: &DocCache,
    device: &str,
    plan: &mut Plan,
) -> Result<Loaded, ApiError> {
    let work = std::mem::take(&mut plan.work);
    let ids: Vec<String> = work.iter().map(|w| w.offer.doc_id.clone()).collect();
    let add_rows = db::docs::rows_of(conn, &plan.add)
        .await
        .map_err(ApiError::Internal)?;
    let mut docs: HashMap<String, (Automerge, u64)> = HashMap::with_capacity(ids.len());
    let mut missing: Vec<String> = Vec::new();
    let wanted = work
        .iter()
        .map(|w| (&w.offer.doc_id, &w.row.heads))
        .chain(add_rows.iter().map(|(id, row)| (id, &row.heads)));
    for (id, heads) in wanted {
        match cache.take(id, heads) {
            Some(e) => {
                docs.insert(id.clone(), (e.doc, e.weight));
            }
            None => missing.push(id.clone()),
        }
    }
    let loaded = db::docs::load_many(conn, &missing)
        .await
        .map_err(ApiError::Internal)?;
    for (id, (doc, bytes)) in loaded {
        docs.insert(id, (doc, cache::weight(bytes)));
    }
    let mut states = db::sync_state::get_many(conn, device, &ids).await?;
    let changing: Vec<String> = work
        .iter()
        .filter(|w| w.offer.message.is_some())
        .map(|w| w.offer.doc_id.clone())
        .collect();
    let mut times = db::projection::event_times(conn, &changing).await?;
    let mut clocks = clock_store::stored_clocks(conn, &changing).await?;
    let mut escalations = clock_store::open_escalations(conn, &changing).await?;

    let mut inputs = Vec::with_capacity(work.len());
    for offered in work {
        let id = offered.offer.doc_id.clone();
        let Some((doc, weight)) = docs.remove(&id) else {
            // Deleted between the two reads (no work order is ever deleted today).
            plan.replies.push(proto::removed(&id, "no such work order"));
            continue;
        };
        inputs.push(Input {
            state: states.remove(&id).unwrap_or_default(),
            times: times.remove(&id).unwrap_or_default(),
            clocks: clocks.remove(&id).unwrap_or_default(),
            open_escalations: escalations.remove(&id).unwrap_or_default(),
            offered,
            doc,
            weight,
        });
    }
    let mut adds = Vec::with_capacity(add_rows.len());
    for id in std::mem::take(&mut plan.add) {
        if let (Some((doc, weight)), Some(row)) = (docs.remove(&id), add_rows.get(&id)) {
            adds.push(ToAdd {
                heads: row.heads.clone(),
                id,
                doc,
                weight,
            });
        }
    }
    let mut removed = Vec::with_capacity(plan.remove.len());
    for offer in std::mem::take(&mut plan.remove) {
        removed.push(removal(conn, device, &offer).await?);
        plan.forget.push(offer.doc_id);
    }
    Ok(Loaded {
        inputs,
        adds,
        removed,
    })
}

/// The `Removed` reply for an offered document the device may not see. It names the
/// device's heads when the server holds each of them, so that the device deletes its copy
/// only when nothing on it would be lost (a rare path: the document is loaded to check).
async fn removal(
    conn: &mut AnyConnection,
    device: &str,
    offer: &DocOffer,
) -> Result<DocReply, ApiError> {
    let mut gone = proto::removed(&offer.doc_id, "not visible to this user");
    let Some(doc) = db::docs::load(conn, &offer.doc_id)
        .await
        .map_err(ApiError::Internal)?
    else {
        return Ok(gone);
    };
    let state = db::sync_state::get(conn, device, &offer.doc_id)
        .await?
        .unwrap_or_default();
    let known = proto::known_device_heads(&offer.heads, &doc.get_heads(), &state);
    if let Some(heads) = known.filter(|heads| !heads.is_empty()) {
        if heads.iter().all(|h| doc.get_change_by_hash(h).is_some()) {
            gone.heads = protocol::heads_to_wire(&heads);
        }
    }
    Ok(gone)
}
