//! The server side: answering one request, one document at a time.
//!
//! The server keeps no session between requests. For each (device, document) pair it
//! persists the [`PeerState::encode`] bytes, decodes them for each request and persists
//! the state again after [`respond`] or [`added`] (only when [`Responded::state_changed`]).
//!
//! A request is handled as:
//!
//! 1. [`triage`] the offers against the documents the device may see (deciding that is the
//!    caller's job: access control is not part of the protocol);
//! 2. [`respond`] to each visible offer, [`removed`] for each offer it may no longer see,
//!    and [`added`] for each visible document it did not offer (complete requests only);
//! 3. leave [`DocChange::Unchanged`] replies out of the response (the device reads a
//!    missing reply as unchanged), so an idle device gets an almost empty response.
//!
//! Guarantees of [`respond`]:
//!
//! - offered heads equal to the document's heads: [`DocChange::Unchanged`], and neither
//!   the document nor the state is touched (no write needed);
//! - otherwise the reply message carries every change the device lacks, as far as the
//!   device's offer lets the server know (with the offered heads alone, all of them);
//!   when the device turns out to have everything (the server just applied its changes),
//!   the reply is the server's heads with no message: the device needs no acknowledgement;
//! - a change whose dependencies are missing is queued by Automerge; the reply then asks
//!   for the missing changes and [`Responded::missing_deps`] lists them. Nothing is lost,
//!   but queued changes live only in memory: the device resends them in its next round;
//! - a malformed message or an Automerge error or panic affects only this document and
//!   comes back as a typed [`DocError`] (see [`DocError::resets_sync_state`]).

use std::collections::{BTreeSet, HashSet};

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, AutomergeError, ChangeHash, ReadDoc};

use super::guard::{decode_message, guard};
use super::prime::{assume_peer_at, new_changes};
use super::wire::same_heads;
use super::{
    heads_to_wire, DocChange, DocError, DocOffer, DocReply, OfferedHeads, PeerState, SyncRequest,
};

/// What [`respond`] did to one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Responded {
    /// The reply to send to the device (leave it out of the response if unchanged).
    pub reply: DocReply,
    /// The document's heads before the offer was applied: `doc.save_after(&heads_before)`
    /// is the change chunk to append to storage.
    pub heads_before: Vec<ChangeHash>,
    /// Hashes of the changes the offer added to the document, for metrics, projections
    /// and recording which authenticated device uploaded each change.
    pub applied: Vec<ChangeHash>,
    /// Changes the document needs before queued ones can apply (normally empty).
    pub missing_deps: Vec<ChangeHash>,
    /// The change chunks of the offer's message as they arrived, joined: what storage appends
    /// instead of re-encoding `applied` from the document (`doc.get_changes`). Empty when
    /// nothing was applied or changes wait for missing dependencies (then re-encode).
    /// It may repeat changes the document already had; loading it again skips those.
    pub arrived: Vec<u8>,
    /// Whether `state` changed and must be persisted.
    pub state_changed: bool,
}

impl Responded {
    /// Whether the document gained changes and must be persisted.
    pub fn doc_changed(&self) -> bool {
        !self.applied.is_empty()
    }
}

/// How the offers of one request split, given the documents the device may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triage<'r> {
    /// Offers of documents the device may see: answer each with [`respond`].
    pub respond: Vec<&'r DocOffer>,
    /// Offered documents the device may no longer see: answer each with [`removed`].
    pub remove: Vec<&'r str>,
    /// Documents the device may see but did not offer, in id order: answer each with
    /// [`added`]. Always empty for follow-up rounds (`complete == false`).
    pub add: Vec<&'r str>,
}

/// Splits `request` against `visible`, the ids of the documents the device may see.
pub fn triage<'r>(request: &'r SyncRequest, visible: &'r BTreeSet<String>) -> Triage<'r> {
    let mut respond = Vec::new();
    let mut remove = Vec::new();
    let mut offered = HashSet::with_capacity(request.docs.len());
    for offer in &request.docs {
        offered.insert(offer.doc_id.as_str());
        if visible.contains(&offer.doc_id) {
            respond.push(offer);
        } else {
            remove.push(offer.doc_id.as_str());
        }
    }
    let add = if request.complete {
        visible
            .iter()
            .map(String::as_str)
            .filter(|id| !offered.contains(id))
            .collect()
    } else {
        Vec::new()
    };
    Triage {
        respond,
        remove,
        add,
    }
}

/// Answers one offered document.
///
/// `state` is this device's state for the document, decoded from storage (or
/// [`PeerState::new`] the first time). Equal heads short-circuit to
/// [`DocChange::Unchanged`] without touching `doc` or `state`. Otherwise the offer's
/// message is decoded and received (or, for a heads-only offer, the device is taken to
/// have exactly its offered heads), and the reply message is generated, all inside a panic
/// guard.
///
/// On [`DocError::Panicked`] and [`DocError::Apply`], `state` has been reset and `doc`
/// must be discarded; see [`DocError`].
pub fn respond(
    doc: &mut Automerge,
    state: &mut PeerState,
    offer: &DocOffer,
) -> Result<Responded, DocError> {
    let doc_id = offer.doc_id.as_str();
    let heads_before = doc.get_heads();
    if offer.heads.matches(&heads_before) {
        // Equal heads mean equal documents: any message would add nothing.
        return Ok(Responded {
            reply: DocReply {
                doc_id: doc_id.to_owned(),
                change: DocChange::Unchanged,
                heads: heads_to_wire(&heads_before),
                message: None,
            },
            heads_before,
            applied: Vec::new(),
            missing_deps: Vec::new(),
            arrived: Vec::new(),
            state_changed: false,
        });
    }
    let offered = device_heads(&offer.heads, state);

    let message = match &offer.message {
        Some(bytes) => Some(
            decode_message(bytes).map_err(|reason| DocError::BadMessage {
                doc_id: doc_id.to_owned(),
                reason,
            })?,
        ),
        None => None,
    };

    let mut arrived: Vec<u8> = message
        .as_ref()
        .map(|m| m.changes.iter().collect::<Vec<&[u8]>>().concat())
        .unwrap_or_default();

    // Each request stands alone: a previous response may have been lost, so never rely
    // on what was sent before (Automerge would otherwise skip changes it sent once).
    state.sync.sent_hashes.clear();
    state.sync.in_flight = false;

    let sync_state = &mut state.sync;
    let outcome = guard(|| -> Result<_, AutomergeError> {
        match message {
            Some(message) => doc.receive_sync_message(sync_state, message)?,
            None => assume_peer_at(doc, sync_state, offered.clone())?,
        }
        let applied = new_changes(doc, &heads_before);
        let missing_deps = doc.get_missing_deps(&[]);
        // When the device now has everything and the server needs nothing, the reply's
        // heads say it all: no message is generated (a pure acknowledgement would add
        // nothing, and only the shared heads of `state` are persisted).
        let settled = missing_deps.is_empty() && same_heads(&doc.get_heads(), &offered);
        let reply = if settled {
            None
        } else {
            doc.generate_sync_message(sync_state)
        };
        Ok((applied, missing_deps, reply))
    });
    let (applied, missing_deps, reply) = match outcome {
        Ok(Ok(parts)) => parts,
        Ok(Err(e)) => {
            *state = PeerState::new();
            return Err(DocError::Apply {
                doc_id: doc_id.to_owned(),
                reason: e.to_string(),
            });
        }
        Err(detail) => {
            *state = PeerState::new();
            return Err(DocError::Panicked {
                doc_id: doc_id.to_owned(),
                detail,
            });
        }
    };
    // Once it applies this reply, the device sits at these heads.
    state.sent_heads = doc.get_heads();
    if applied.is_empty() || !missing_deps.is_empty() {
        arrived = Vec::new();
    }

    Ok(Responded {
        reply: DocReply {
            doc_id: doc_id.to_owned(),
            change: DocChange::Changed,
            heads: heads_to_wire(&doc.get_heads()),
            message: reply.map(sync::Message::encode),
        },
        heads_before,
        applied,
        missing_deps,
        arrived,
        state_changed: true,
    })
}

/// Pushes a document the device may see but did not offer.
///
/// Resets `state` (the device has nothing) and generates the first message, which carries
/// the whole document in its compact saved form, so a fresh device downloads it in one
/// round trip. `doc` is not modified. Persist `state` afterwards.
pub fn added(
    doc: &mut Automerge,
    state: &mut PeerState,
    doc_id: &str,
) -> Result<DocReply, DocError> {
    *state = PeerState::new();
    let sync_state = &mut state.sync;
    let outcome = guard(|| -> Result<_, AutomergeError> {
        assume_peer_at(doc, sync_state, Vec::new())?;
        Ok(doc.generate_sync_message(sync_state))
    });
    let failed = |reason: String| DocError::Apply {
        doc_id: doc_id.to_owned(),
        reason,
    };
    let message = match outcome {
        Ok(Ok(Some(message))) => message,
        Ok(Ok(None)) => {
            *state = PeerState::new();
            return Err(failed("automerge generated no first message".to_owned()));
        }
        Ok(Err(e)) => {
            *state = PeerState::new();
            return Err(failed(e.to_string()));
        }
        Err(detail) => {
            *state = PeerState::new();
            return Err(DocError::Panicked {
                doc_id: doc_id.to_owned(),
                detail,
            });
        }
    };
    state.sent_heads = doc.get_heads();
    Ok(DocReply {
        doc_id: doc_id.to_owned(),
        change: DocChange::Added,
        heads: heads_to_wire(&state.sent_heads),
        message: Some(message.encode()),
    })
}

/// The device's exact heads, when its offer states them or their key names heads the server
/// knows: the document's own, those the last reply left the device at, or the shared ones.
///
/// A `Removed` reply names these heads (when the document holds them all) so that the
/// device deletes its copy knowing nothing on it is lost.
pub fn known_device_heads(
    offered: &OfferedHeads,
    doc_heads: &[ChangeHash],
    state: &PeerState,
) -> Option<Vec<ChangeHash>> {
    match offered {
        OfferedHeads::Full(_) => offered.full(),
        OfferedHeads::Key(_) => [doc_heads, &state.sent_heads, &state.sync.shared_heads]
            .into_iter()
            .find(|candidate| offered.matches(candidate))
            .map(<[ChangeHash]>::to_vec),
    }
}

/// The heads the device has, as far as its offer and `state` tell.
///
/// Full heads are taken as offered. A heads key (sent by an idle device) is resolved
/// against the heads the last reply left the device at, then the heads both sides shared;
/// when neither matches (the device restored a backup, a reply went missing twice), the
/// shared heads are still a floor of what the device has: the reply then carries some
/// changes the device already holds, which Automerge ignores, and the sync still ends in
/// one round trip.
fn device_heads(offered: &OfferedHeads, state: &PeerState) -> Vec<ChangeHash> {
    match offered {
        OfferedHeads::Full(_) => offered.full().unwrap_or_default(),
        OfferedHeads::Key(_) if offered.matches(&state.sent_heads) => state.sent_heads.clone(),
        OfferedHeads::Key(_) => state.sync.shared_heads.clone(),
    }
}

/// Tells the device to delete its copy of a document it may no longer see.
pub fn removed(doc_id: &str, reason: &str) -> DocReply {
    DocReply {
        doc_id: doc_id.to_owned(),
        change: DocChange::Removed {
            reason: reason.to_owned(),
        },
        heads: Vec::new(),
        message: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::protocol::heads_to_wire;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ReadDoc, ROOT};

    fn doc(actor: u8, value: i64) -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from([actor; 16]));
        doc.transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, "k", value))
            .unwrap();
        doc
    }

    /// The device's sync message to a peer that holds exactly `peer_heads`, encoded.
    fn message_to_peer_at(device: &mut Automerge, peer_heads: Vec<ChangeHash>) -> Vec<u8> {
        let mut device_state = sync::State::new();
        assume_peer_at(device, &mut device_state, peer_heads).unwrap();
        device
            .generate_sync_message(&mut device_state)
            .unwrap()
            .encode()
    }

    fn offer(id: &str, doc: &Automerge, message: Option<Vec<u8>>) -> DocOffer {
        DocOffer {
            doc_id: id.into(),
            heads: OfferedHeads::Full(heads_to_wire(&doc.get_heads())),
            message,
        }
    }

    #[test]
    fn equal_heads_are_unchanged_and_touch_nothing() {
        let mut server = doc(1, 1);
        let device = server.fork();
        let mut state = PeerState::new();
        state.sync.in_flight = true;
        let before = state.clone();
        let done = respond(&mut server, &mut state, &offer("wo-1", &device, None)).unwrap();
        assert_eq!(done.reply.change, DocChange::Unchanged);
        assert_eq!(done.reply.message, None);
        assert!(!done.state_changed);
        assert!(!done.doc_changed());
        assert_eq!(state, before);
    }

    #[test]
    fn a_heads_only_offer_gets_every_missing_change_in_one_reply() {
        let device = doc(1, 1);
        let mut server = device.fork().with_actor(ActorId::from([2; 16]));
        server
            .transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, "k", 2_i64))
            .unwrap();
        let mut state = PeerState::new();
        let done = respond(&mut server, &mut state, &offer("wo-1", &device, None)).unwrap();
        assert_eq!(done.reply.change, DocChange::Changed);
        assert!(done.applied.is_empty());
        assert!(done.state_changed);

        let mut device = device;
        let mut device_state = sync::State::new();
        let message = sync::Message::decode(&done.reply.message.unwrap()).unwrap();
        assert_eq!(message.changes.len(), 1);
        device
            .receive_sync_message(&mut device_state, message)
            .unwrap();
        assert_eq!(heads_to_wire(&device.get_heads()), done.reply.heads);
    }

    #[test]
    fn applied_changes_are_reported_by_hash() {
        let mut server = doc(1, 1);
        let mut device = server.fork().with_actor(ActorId::from([2; 16]));
        let shared = device.get_heads();
        put(&mut device, 3);
        let message = message_to_peer_at(&mut device, shared.clone());

        let mut state = PeerState::new();
        let done = respond(
            &mut server,
            &mut state,
            &offer("wo-1", &device, Some(message)),
        )
        .unwrap();
        assert_eq!(done.applied, device.get_heads());
        assert_eq!(done.heads_before, shared);
        assert!(done.missing_deps.is_empty());
        assert_eq!(server.get_heads(), device.get_heads());
    }

    #[test]
    fn the_arrived_chunk_rebuilds_the_merged_document_on_the_stored_one() {
        let mut server = doc(1, 1);
        let stored = server.save();
        let mut device = server.fork().with_actor(ActorId::from([2; 16]));
        let shared = device.get_heads();
        for v in 3..6_i64 {
            put(&mut device, v);
        }
        let message = message_to_peer_at(&mut device, shared);
        let mut state = PeerState::new();
        let done = respond(
            &mut server,
            &mut state,
            &offer("wo-1", &device, Some(message.clone())),
        )
        .unwrap();
        assert_eq!(done.applied.len(), 3);
        assert!(!done.arrived.is_empty());
        // Storage appends the chunk to what it held: loading both gives the merged document.
        let reloaded = Automerge::load(&[stored, done.arrived.clone()].concat()).unwrap();
        assert_eq!(reloaded.get_heads(), server.get_heads());
        assert_eq!(
            reloaded.get(ROOT, "k").unwrap().unwrap().0.as_i64(),
            Some(5)
        );

        // Offered again, nothing applies and nothing is to be appended.
        let again = respond(
            &mut server,
            &mut state,
            &offer("wo-1", &device, Some(message)),
        )
        .unwrap();
        assert!(again.applied.is_empty());
        assert!(again.arrived.is_empty());
    }

    #[test]
    fn a_chunk_whose_changes_wait_for_missing_dependencies_is_not_handed_to_storage() {
        let mut server = doc(1, 1);
        let mut device = server.fork().with_actor(ActorId::from([2; 16]));
        put(&mut device, 7);
        let middle = device.get_heads();
        put(&mut device, 8);
        // A message holding only the last change: it waits for the one before it.
        let message = message_to_peer_at(&mut device, middle);
        let mut state = PeerState::new();
        let done = respond(
            &mut server,
            &mut state,
            &offer("wo-1", &device, Some(message)),
        )
        .unwrap();
        assert!(!done.missing_deps.is_empty());
        assert!(done.arrived.is_empty());
    }

    #[test]
    fn garbage_messages_are_a_typed_error_that_touches_nothing() {
        let mut server = doc(1, 1);
        let device = doc(2, 2);
        let mut state = PeerState::new();
        let error = respond(
            &mut server,
            &mut state,
            &offer("wo-1", &device, Some(vec![0x42, 1, 2, 3])),
        )
        .unwrap_err();
        assert!(matches!(error, DocError::BadMessage { ref doc_id, .. } if doc_id == "wo-1"));
        assert_eq!(state, PeerState::new());
        assert_eq!(server.get_heads(), doc(1, 1).get_heads());
    }

    #[test]
    fn added_documents_arrive_whole_in_one_message() {
        let mut server = doc(1, 1);
        server
            .transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, "j", "x"))
            .unwrap();
        let mut state = PeerState::new();
        let reply = added(&mut server, &mut state, "wo-9").unwrap();
        assert_eq!(reply.change, DocChange::Added);

        let mut device = Automerge::new();
        let mut device_state = sync::State::new();
        let message = sync::Message::decode(&reply.message.unwrap()).unwrap();
        device
            .receive_sync_message(&mut device_state, message)
            .unwrap();
        assert_eq!(device.get_heads(), server.get_heads());
        assert_eq!(heads_to_wire(&device.get_heads()), reply.heads);
    }

    fn key_offer(id: &str, doc: &Automerge) -> DocOffer {
        DocOffer {
            doc_id: id.into(),
            heads: OfferedHeads::Key(crate::protocol::heads_key(&doc.get_heads())),
            message: None,
        }
    }

    fn put(doc: &mut Automerge, value: i64) {
        doc.transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, "k", value))
            .unwrap();
    }

    fn apply(device: &mut Automerge, reply: &DocReply) -> usize {
        let message = sync::Message::decode(reply.message.as_ref().unwrap()).unwrap();
        let changes = message.changes.len();
        device
            .receive_sync_message(&mut sync::State::new(), message)
            .unwrap();
        changes
    }

    #[test]
    fn a_key_offer_at_the_documents_heads_is_unchanged() {
        let mut server = doc(1, 1);
        let device = server.fork();
        let mut state = PeerState::new();
        let done = respond(&mut server, &mut state, &key_offer("wo-1", &device)).unwrap();
        assert_eq!(done.reply.change, DocChange::Unchanged);
        assert!(!done.state_changed);
    }

    #[test]
    fn a_key_offer_after_a_push_gets_only_what_is_new() {
        // The device last synced with a full offer; the reply pushed one change.
        let mut server = doc(1, 1);
        let mut device = server.fork().with_actor(ActorId::from([2; 16]));
        put(&mut server, 2);
        let mut state = PeerState::new();
        let first = respond(&mut server, &mut state, &offer("wo-1", &device, None)).unwrap();
        assert_eq!(apply(&mut device, &first.reply), 1);
        assert_eq!(state.sent_heads, device.get_heads());
        // The office edits again; the idle device offers the key of its heads only.
        put(&mut server, 3);
        let state_bytes = state.encode();
        let mut state = PeerState::decode(&state_bytes).unwrap();
        let second = respond(&mut server, &mut state, &key_offer("wo-1", &device)).unwrap();
        assert_eq!(second.reply.change, DocChange::Changed);
        // Exactly the one new change: the key resolved to the heads of the last reply.
        assert_eq!(apply(&mut device, &second.reply), 1);
        assert_eq!(device.get_heads(), server.get_heads());
    }

    #[test]
    fn an_unknown_key_still_brings_everything_in_one_reply() {
        let mut server = doc(1, 1);
        let mut device = server.fork().with_actor(ActorId::from([2; 16]));
        put(&mut server, 2);
        put(&mut server, 3);
        // The server knows nothing of this device: the shared heads (none) are the floor.
        let mut state = PeerState::new();
        let done = respond(&mut server, &mut state, &key_offer("wo-1", &device)).unwrap();
        apply(&mut device, &done.reply);
        assert_eq!(device.get_heads(), server.get_heads());
        assert_eq!(
            known_device_heads(
                &key_offer("wo-1", &device).heads,
                &server.get_heads(),
                &state
            ),
            Some(server.get_heads())
        );
    }

    #[test]
    fn triage_splits_offers_by_visibility() {
        let request = SyncRequest {
            complete: true,
            docs: vec![
                DocOffer {
                    doc_id: "a".into(),
                    heads: OfferedHeads::Full(vec![]),
                    message: None,
                },
                DocOffer {
                    doc_id: "gone".into(),
                    heads: OfferedHeads::Full(vec![]),
                    message: None,
                },
            ],
        };
        let visible: BTreeSet<String> = ["a", "b", "c"].into_iter().map(String::from).collect();
        let split = triage(&request, &visible);
        assert_eq!(
            split
                .respond
                .iter()
                .map(|o| o.doc_id.as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(split.remove, ["gone"]);
        assert_eq!(split.add, ["b", "c"]);

        let follow_up = SyncRequest {
            complete: false,
            ..request
        };
        assert!(triage(&follow_up, &visible).add.is_empty());
    }

    #[test]
    fn removed_replies_carry_the_reason() {
        let reply = removed("wo-1", "reassigned");
        assert_eq!(
            reply.change,
            DocChange::Removed {
                reason: "reassigned".into()
            }
        );
        assert_eq!(reply.message, None);
    }
}
