//! The merge step: pure CPU work on loaded documents, run off the async workers and outside
//! any database lock. Per document it applies the device's message and checks the upload
//! (`sync_core::protocol::ingest`), folds once, and computes the projection and the write.

use std::sync::Arc;

use automerge::ReadDoc;
use sync_core::protocol::ingest::{ingest, IngestError};
use sync_core::protocol::{self, server as proto, DocChange, DocReply, PeerState};
use sync_core::workorder::upload::Uploader;
use sync_core::workorder::{EventKind, Role, Status};

use super::cache::Entry;
use super::read::{Input, ToAdd};
use crate::clock::store::ClockMap;
use crate::db::docs::{heads_text, DocWrite};
use crate::policy::Policy;
use crate::projection::{self, Arrival, Projection};

/// Who is syncing, and the service time of the request.
pub struct Cx {
    pub user: String,
    pub role: Role,
    pub device: String,
    /// When the device last synced successfully (the lower bound of its events' field time).
    pub previous_contact: Option<i64>,
    pub policy: Arc<Policy>,
    pub now: i64,
}

impl Cx {
    fn uploader(&self) -> Uploader<'_> {
        Uploader {
            user: &self.user,
            role: self.role,
            device: &self.device,
        }
    }
}

/// What happens to the device's sync state of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum StateAction {
    Keep,
    Put(Vec<u8>),
    Forget,
}

/// A document that changed: what to write, computed before the lock.
pub struct PendingWrite {
    pub doc: DocWrite,
    pub projection: Projection,
    /// Clock rows stored when the inputs were read.
    pub clocks: ClockMap,
    /// Kinds of escalation open when the inputs were read.
    pub open_escalations: Option<Vec<String>>,
    /// The offer, to merge again under the lock if another writer got there first.
    pub offer: protocol::DocOffer,
    pub visible: bool,
}

/// The outcome for one document.
pub struct DocOutcome {
    pub id: String,
    pub reply: Option<DocReply>,
    pub state: StateAction,
    pub write: Option<Box<PendingWrite>>,
    /// The document to put back in the cache after the commit.
    pub cache: Option<Entry>,
    /// Whether the server now holds everything the device offered of this document.
    pub complete: bool,
    /// The technician gave the job back: dispatch it again after the commit.
    pub declined: bool,
    /// The worst clock offset of the events that arrived, if any arrived.
    pub offset: Option<i64>,
}

/// Merges every input and prepares every added document.
pub fn run(inputs: Vec<Input>, adds: Vec<ToAdd>, cx: &Cx) -> Vec<DocOutcome> {
    let mut out: Vec<DocOutcome> = inputs.into_iter().map(|i| one(i, cx)).collect();
    out.extend(adds.into_iter().map(add));
    out
}

/// Merges one offered document.
pub fn one(input: Input, cx: &Cx) -> DocOutcome {
    let Input {
        offered,
        mut doc,
        weight,
        mut state,
        times,
        clocks,
        open_escalations,
    } = input;
    let id = offered.offer.doc_id.clone();
    let mut outcome = DocOutcome {
        id: id.clone(),
        reply: None,
        state: StateAction::Keep,
        write: None,
        cache: None,
        complete: true,
        declined: false,
        offset: None,
    };
    // The device's exact heads, when its offer states them or their key resolves.
    let known_heads = proto::known_device_heads(&offered.offer.heads, &doc.get_heads(), &state);
    let ingested = match ingest(&mut doc, &mut state, &offered.offer, cx.uploader()) {
        Ok(i) => i,
        Err(IngestError::Sync(e)) => {
            tracing::warn!(doc = %id, device = %cx.device, error = %e, "sync message refused");
            outcome.complete = false;
            if e.resets_sync_state() {
                outcome.state = StateAction::Put(PeerState::new().encode());
            }
            outcome.reply = Some(e.to_reply());
            return outcome;
        }
        Err(IngestError::Refused {
            heads_before,
            reason,
        }) => {
            tracing::warn!(doc = %id, device = %cx.device, user = %cx.user, %reason, "upload refused");
            outcome.complete = false;
            outcome.state = StateAction::Put(PeerState::new().encode());
            outcome.reply = Some(DocReply {
                doc_id: id,
                change: DocChange::Rejected {
                    code: "forbidden_change".into(),
                    message: reason.to_string(),
                },
                heads: protocol::heads_to_wire(&heads_before),
                message: None,
            });
            return outcome;
        }
    };
    // Whether we now hold every head the device has (its whole history).
    let holds_offer = known_heads
        .as_ref()
        .is_some_and(|heads| heads.iter().all(|h| doc.get_change_by_hash(h).is_some()));
    let mut r = ingested.responded;
    let mut still_visible = offered.visible;
    if let Some(acc) = ingested.accepted {
        // What this device brought may give the job back to it (an offline acceptance that
        // stands against a timeout): it stays on the device.
        if cx.role == Role::Technician && acc.view.assignee.as_deref() == Some(cx.user.as_str()) {
            still_visible = true;
        }
        outcome.declined = acc.view.status == Status::PendingDispatch
            && acc
                .new_events
                .iter()
                .any(|e| matches!(e.kind, EventKind::Declined { .. }));
        let arrival = Arrival {
            device: &cx.device,
            events: &acc.new_events,
            previous_contact: cx.previous_contact,
        };
        let arrived = !acc.new_events.is_empty();
        let p = projection::compute(
            acc.view,
            &acc.history,
            &times,
            arrived.then_some(&arrival),
            &cx.policy,
            cx.now,
        );
        outcome.offset = arrived.then_some(p.offset);
        outcome.write = Some(Box::new(PendingWrite {
            doc: DocWrite::of_sync(&doc, &mut r, &offered.row),
            projection: p,
            clocks,
            open_escalations: Some(open_escalations),
            offer: offered.offer,
            visible: offered.visible,
        }));
    }
    if !r.missing_deps.is_empty() {
        outcome.complete = false;
    }
    if !still_visible && r.missing_deps.is_empty() {
        outcome.state = StateAction::Forget;
        let mut gone = proto::removed(&id, "reassigned: no longer yours");
        // We hold the device's heads: deleting its copy loses nothing.
        if holds_offer {
            gone.heads = protocol::heads_to_wire(known_heads.as_deref().unwrap_or_default());
        }
        outcome.reply = Some(gone);
    } else {
        if r.state_changed {
            outcome.state = StateAction::Put(state.encode());
        }
        if r.reply.change != DocChange::Unchanged {
            outcome.reply = Some(r.reply);
        }
    }
    outcome.cache = Some(Entry {
        heads: heads_text(&doc.get_heads()),
        doc,
        weight,
    });
    outcome
}

/// Pushes a document the device may see but did not offer.
fn add(a: ToAdd) -> DocOutcome {
    let mut doc = a.doc;
    let mut state = PeerState::new();
    let (reply, state) = match proto::added(&mut doc, &mut state, &a.id) {
        Ok(reply) => (reply, StateAction::Put(state.encode())),
        Err(e) => (e.to_reply(), StateAction::Keep),
    };
    DocOutcome {
        id: a.id,
        reply: Some(reply),
        state,
        write: None,
        cache: Some(Entry {
            heads: a.heads,
            doc,
            weight: a.weight,
        }),
        complete: true,
        declined: false,
        offset: None,
    }
}
