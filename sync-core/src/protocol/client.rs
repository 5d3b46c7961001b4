//! The device side: building requests and applying responses, with no I/O.
//!
//! A device holds, for each document, the [`Automerge`] document and a
//! [`sync::State`] with the server, persisted as [`sync::State::encode`] bytes (only the
//! shared heads survive). A [`ClientSync`] drives one sync session over all of them; the
//! caller moves the bytes and stores the results:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use automerge::{sync, Automerge};
//! use sync_core::protocol::testing::{put, Network};
//! use sync_core::protocol::{decode_response, encode_request, ClientDoc, ClientSync, Limits};
//!
//! let mut net = Network::new(); // stands in for the HTTP server
//! put(net.server_mut().create_doc("wo-1"), "status", "open")?;
//! let limits = Limits::default();
//!
//! // The device's store: each document with its sync state (persisted as `state.encode()`).
//! let mut store: Vec<(String, Automerge, sync::State)> = Vec::new();
//! let mut session = ClientSync::new();
//! loop {
//!     let mut docs: Vec<ClientDoc> = store
//!         .iter_mut()
//!         .map(|(id, doc, state)| ClientDoc::new(id, doc, state))
//!         .collect();
//!     let Some(request) = session.build_request(&mut docs)? else { break };
//!     let body = encode_request(&request)?;
//!     let reply = net.server_mut().handle("tech-7", &body, &limits)?; // POST /sync
//!     let round = session.apply_response(&mut docs, decode_response(&reply, &limits)?)?;
//!     for added in round.added {
//!         store.push((added.doc_id, added.doc, added.state));
//!     }
//!     store.retain(|(id, _, _)| !round.removed.iter().any(|r| &r.doc_id == id));
//!     // Persist every document and `state.encode()` here, before the next round.
//! }
//! assert_eq!(session.report().round_trips, 1);
//! assert_eq!(store.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Rounds
//!
//! The first request offers every document (`complete = true`). A document with nothing
//! unacknowledged (heads = shared heads) is offered by the 8-byte key of its heads alone
//! ([`super::heads_key`]); one with changes the server has not acknowledged by its full
//! heads and a sync message. That message is generated from a state primed with the shared
//! heads (see `prime.rs`), so it already carries every unacknowledged change. Follow-up
//! requests offer only the documents whose heads still differ from the server's, each
//! with whatever [`SyncDoc::generate_sync_message`] has to say.
//!
//! A reply without a message whose heads equal the device's records those heads as
//! shared and ends that document's sync: the device never sends pure acknowledgements.
//!
//! Measured with the in-memory network (`tests/protocol.rs`), whatever the number of
//! documents: nothing new on either side → 1 round trip; only the server changed → 1;
//! the device changed (with or without concurrent server changes) → 1; a fresh device
//! downloading documents → 1. Further rounds happen only when an assumption fails (the
//! server lost changes it once acknowledged, a bloom-filter false positive); Automerge's
//! protocol then converges within a few rounds, bounded by [`DEFAULT_MAX_ROUNDS`].
//!
//! # Lost responses
//!
//! Calling [`ClientSync::build_request`] again without applying a response restarts the
//! session, and every session starts from the persisted form of the states (in-flight
//! flags and sent-change memory dropped), so a lost response costs a resend, never a stall.
//! Changes the server applied before the response was lost are simply acknowledged by the
//! next response.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, Automerge, ChangeHash};

use super::guard::{decode_message, guard};
use super::prime::{assume_peer_at, new_changes};
use super::wire::same_heads;
use super::{
    heads_key, heads_to_wire, validate_doc_id, AddedDoc, ClientDocError, ClientError, DocChange,
    DocOffer, DocReply, FailedDoc, Limits, OfferedHeads, RejectedDoc, RemovedDoc, RoundReport,
    SyncReport, SyncRequest, SyncResponse,
};

/// Default bound on the rounds of one session; convergence normally takes one.
pub const DEFAULT_MAX_ROUNDS: u32 = 8;

/// One local document taking part in a sync session.
#[derive(Debug)]
pub struct ClientDoc<'a> {
    /// Document id.
    pub id: &'a str,
    /// The document.
    pub doc: &'a mut Automerge,
    /// The sync state with the server (persist `state.encode()` after each round).
    pub state: &'a mut sync::State,
}

impl<'a> ClientDoc<'a> {
    /// Bundles a document, its id and its sync state.
    pub fn new(id: &'a str, doc: &'a mut Automerge, state: &'a mut sync::State) -> Self {
        Self { id, doc, state }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing sent yet: the next request offers every document.
    Start,
    /// A request is out; its response has not been applied.
    Awaiting,
    /// A response was applied; the next request offers the pending documents.
    Applied,
}

/// What applying one reply left a document in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The document has the server's heads.
    Converged,
    /// The document still differs from the server: offer it again.
    Pending,
    /// The reply could not be applied (recorded in the report); done for this session.
    Failed,
}

/// One device-side sync session (a series of rounds until quiescent).
#[derive(Debug, Clone)]
pub struct ClientSync {
    limits: Limits,
    actor: Option<ActorId>,
    max_rounds: u32,
    phase: Phase,
    /// Documents whose heads still differ from the server's.
    pending: BTreeSet<String>,
    /// Heads offered in the outstanding request, by document.
    offered: BTreeMap<String, Vec<ChangeHash>>,
    report: SyncReport,
}

impl Default for ClientSync {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientSync {
    /// A new session with default limits, a random actor for pushed documents and at most
    /// [`DEFAULT_MAX_ROUNDS`] rounds.
    pub fn new() -> Self {
        Self {
            limits: Limits::default(),
            actor: None,
            max_rounds: DEFAULT_MAX_ROUNDS,
            phase: Phase::Start,
            pending: BTreeSet::new(),
            offered: BTreeMap::new(),
            report: SyncReport::default(),
        }
    }

    /// Uses `actor` for documents created from [`DocChange::Added`] replies. Use one actor
    /// per device installation, never reused after the device lost its data.
    pub fn with_actor(mut self, actor: ActorId) -> Self {
        self.actor = Some(actor);
        self
    }

    /// Validates document ids against `limits` (use the server's).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Gives up with [`ClientError::RoundLimit`] after `max_rounds` rounds.
    pub fn with_max_rounds(mut self, max_rounds: u32) -> Self {
        self.max_rounds = max_rounds;
        self
    }

    /// Totals so far.
    pub fn report(&self) -> &SyncReport {
        &self.report
    }

    /// Ends the session, returning its totals.
    pub fn into_report(self) -> SyncReport {
        self.report
    }

    /// Whether the last applied response left every document converged.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Applied && self.pending.is_empty()
    }

    /// Builds the next request, or `None` when every document has converged.
    ///
    /// The first call offers every document in `docs` and resets their states to their
    /// persisted form. Later calls offer only the documents still differing; `docs` must
    /// then include them (documents from [`RoundReport::added`] included). Calling it again
    /// before applying a response restarts the session (the response was lost).
    pub fn build_request<'a>(
        &mut self,
        docs: &mut [ClientDoc<'a>],
    ) -> Result<Option<SyncRequest>, ClientError> {
        let index = self.index(docs)?;
        if self.phase == Phase::Awaiting {
            self.report.restarts += 1;
            self.phase = Phase::Start;
            self.pending.clear();
        }
        let (complete, offers) = match self.phase {
            Phase::Start => (true, self.first_offers(docs)),
            _ => {
                if self.pending.is_empty() {
                    return Ok(None);
                }
                if self.report.round_trips >= self.max_rounds {
                    return Err(ClientError::RoundLimit {
                        rounds: self.report.round_trips,
                        pending: self.pending.len(),
                    });
                }
                (false, self.follow_up_offers(docs, &index)?)
            }
        };
        // The heads each offer stands for (an idle offer carries only their key).
        self.offered = offers
            .iter()
            .filter_map(|offer| {
                let i = *index.get(offer.doc_id.as_str())?;
                Some((offer.doc_id.clone(), docs[i].doc.get_heads()))
            })
            .collect();
        self.report.docs_offered += offers.len();
        for message in offers.iter().filter_map(|offer| offer.message.as_ref()) {
            self.report.messages_sent += 1;
            self.report.message_bytes_sent += message.len();
        }
        self.phase = Phase::Awaiting;
        Ok(Some(SyncRequest {
            complete,
            docs: offers,
        }))
    }

    /// Applies the server's response to the request last built.
    ///
    /// The response is checked as a whole first (no duplicate replies, no reply for a
    /// document not offered except [`DocChange::Added`]); if that fails nothing is applied.
    /// Then each reply is applied; a reply that cannot be applied is reported in
    /// [`SyncReport::failed`] and does not affect the others. Offered documents without a
    /// reply are unchanged on the server.
    pub fn apply_response<'a>(
        &mut self,
        docs: &mut [ClientDoc<'a>],
        response: SyncResponse,
    ) -> Result<RoundReport, ClientError> {
        if self.phase != Phase::Awaiting {
            return Err(ClientError::NoRequestInFlight);
        }
        let index = self.index(docs)?;
        self.check_response(&response, &index)?;

        let mut round = RoundReport::default();
        let mut pending = BTreeSet::new();
        let mut unanswered = std::mem::take(&mut self.offered);
        for reply in response.docs {
            unanswered.remove(&reply.doc_id);
            let slot = index.get(reply.doc_id.as_str()).copied();
            match (&reply.change, slot) {
                (DocChange::Removed { reason }, Some(i)) => {
                    let doc = &docs[i];
                    let mine = doc.doc.get_heads();
                    // The server may say which heads it holds after taking this device's
                    // changes: when it holds every head of ours, nothing is lost by deleting.
                    let theirs = super::wire::heads_from_wire(&reply.heads);
                    let acknowledged =
                        !theirs.is_empty() && mine.iter().all(|h| theirs.contains(h));
                    // Without that confirmation the copy may hold the only record of
                    // something (the server may have lost it): keep it.
                    let removed = RemovedDoc {
                        doc_id: reply.doc_id.clone(),
                        reason: reason.clone(),
                        had_unsynced_changes: !acknowledged,
                    };
                    self.report.removed.push(removed.clone());
                    round.removed.push(removed);
                }
                (DocChange::Rejected { code, message }, _) => {
                    self.report.rejected.push(RejectedDoc {
                        doc_id: reply.doc_id.clone(),
                        code: code.clone(),
                        message: message.clone(),
                    });
                }
                (DocChange::Added, None) => {
                    let mut doc = match &self.actor {
                        Some(actor) => Automerge::new().with_actor(actor.clone()),
                        None => Automerge::new(),
                    };
                    let mut state = sync::State::new();
                    let outcome = self.apply_reply(&reply, &mut doc, &mut state);
                    if outcome != Outcome::Failed {
                        if outcome == Outcome::Pending {
                            pending.insert(reply.doc_id.clone());
                        }
                        self.report.added.push(reply.doc_id.clone());
                        round.added.push(AddedDoc {
                            doc_id: reply.doc_id,
                            doc,
                            state,
                        });
                    }
                }
                (_, Some(i)) => {
                    let doc = &mut docs[i];
                    if self.apply_reply(&reply, doc.doc, doc.state) == Outcome::Pending {
                        pending.insert(reply.doc_id);
                    }
                }
                // `check_response` refused replies for unknown documents.
                (_, None) => {}
            }
        }
        // No reply: the server's heads equal the offered heads.
        for (doc_id, heads) in unanswered {
            if let Some(&i) = index.get(doc_id.as_str()) {
                let doc = &mut docs[i];
                let reply = DocReply {
                    doc_id: doc_id.clone(),
                    change: DocChange::Unchanged,
                    heads: heads_to_wire(&heads),
                    message: None,
                };
                if self.apply_reply(&reply, doc.doc, doc.state) == Outcome::Pending {
                    pending.insert(doc_id);
                }
            }
        }

        self.report.round_trips += 1;
        self.pending = pending;
        self.phase = Phase::Applied;
        round.another_round = !self.pending.is_empty();
        Ok(round)
    }

    /// Maps ids to positions, refusing duplicates and (in the first round) bad ids.
    fn index<'a>(&self, docs: &[ClientDoc<'a>]) -> Result<HashMap<&'a str, usize>, ClientError> {
        let mut index = HashMap::with_capacity(docs.len());
        for (i, doc) in docs.iter().enumerate() {
            validate_doc_id(doc.id, self.limits.max_doc_id_len).map_err(|reason| {
                ClientError::BadDocId {
                    doc_id: doc.id.to_owned(),
                    reason,
                }
            })?;
            if index.insert(doc.id, i).is_some() {
                return Err(ClientError::DuplicateDoc {
                    doc_id: doc.id.to_owned(),
                });
            }
        }
        Ok(index)
    }

    fn first_offers(&mut self, docs: &mut [ClientDoc<'_>]) -> Vec<DocOffer> {
        let mut offers = Vec::with_capacity(docs.len());
        for doc in docs.iter_mut() {
            reset_to_persisted(doc.state);
            let heads = doc.doc.get_heads();
            let offer = if same_heads(&heads, &doc.state.shared_heads) {
                // Nothing unacknowledged: the key of the heads lets the server skip the
                // document or send what it has.
                DocOffer {
                    doc_id: doc.id.to_owned(),
                    heads: OfferedHeads::Key(heads_key(&heads)),
                    message: None,
                }
            } else {
                DocOffer {
                    doc_id: doc.id.to_owned(),
                    heads: OfferedHeads::Full(heads_to_wire(&heads)),
                    message: self.first_message(doc),
                }
            };
            offers.push(offer);
        }
        offers
    }

    /// The first message for a document with unacknowledged changes: every change after
    /// the shared heads, at once.
    fn first_message(&mut self, doc: &mut ClientDoc<'_>) -> Option<Vec<u8>> {
        let shared = doc.state.shared_heads.clone();
        let known = shared
            .iter()
            .all(|hash| doc.doc.get_change_meta_by_hash(hash).is_some());
        if !known {
            // The state does not match this document (data restored from elsewhere):
            // start over and send everything.
            *doc.state = sync::State::new();
        }
        let shared = if known { shared } else { Vec::new() };
        let generated = guard(|| {
            assume_peer_at(doc.doc, doc.state, shared)
                .map(|()| doc.doc.generate_sync_message(doc.state))
        });
        match generated {
            Ok(Ok(message)) => message.map(sync::Message::encode),
            Ok(Err(_)) | Err(_) => {
                // Offer the heads alone: the server will ask for what it lacks.
                *doc.state = sync::State::new();
                None
            }
        }
    }

    fn follow_up_offers(
        &mut self,
        docs: &mut [ClientDoc<'_>],
        index: &HashMap<&str, usize>,
    ) -> Result<Vec<DocOffer>, ClientError> {
        let mut offers = Vec::with_capacity(self.pending.len());
        for doc_id in &self.pending {
            let i = *index.get(doc_id.as_str()).ok_or(ClientError::MissingDoc {
                doc_id: doc_id.clone(),
            })?;
            let doc = &mut docs[i];
            // The server keeps nothing between requests: what it did not acknowledge in
            // its heads must be sent again.
            doc.state.sent_hashes.clear();
            let message = guard(|| doc.doc.generate_sync_message(doc.state))
                .ok()
                .flatten()
                .map(sync::Message::encode);
            offers.push(DocOffer {
                doc_id: doc_id.clone(),
                heads: OfferedHeads::Full(heads_to_wire(&doc.doc.get_heads())),
                message,
            });
        }
        Ok(offers)
    }

    fn check_response(
        &self,
        response: &SyncResponse,
        index: &HashMap<&str, usize>,
    ) -> Result<(), ClientError> {
        let mut seen = BTreeSet::new();
        for reply in &response.docs {
            if !seen.insert(reply.doc_id.as_str()) {
                return Err(ClientError::DuplicateReply {
                    doc_id: reply.doc_id.clone(),
                });
            }
            let offered = self.offered.contains_key(&reply.doc_id);
            if !offered && reply.change != DocChange::Added {
                return Err(ClientError::UnexpectedReply {
                    doc_id: reply.doc_id.clone(),
                    kind: reply.change.kind(),
                });
            }
            if offered && !index.contains_key(reply.doc_id.as_str()) {
                return Err(ClientError::MissingDoc {
                    doc_id: reply.doc_id.clone(),
                });
            }
        }
        Ok(())
    }

    /// Applies an `Unchanged`, `Changed` or `Added` reply. Failures are recorded in the
    /// report.
    fn apply_reply(
        &mut self,
        reply: &DocReply,
        doc: &mut Automerge,
        state: &mut sync::State,
    ) -> Outcome {
        let server_heads = reply.change_hashes();
        if let Some(bytes) = &reply.message {
            self.report.messages_received += 1;
            self.report.message_bytes_received += bytes.len();
            let message = match decode_message(bytes) {
                Ok(message) => message,
                Err(reason) => {
                    self.fail(&reply.doc_id, ClientDocError::BadMessage(reason));
                    return Outcome::Failed;
                }
            };
            let before = doc.get_heads();
            match guard(|| {
                doc.receive_sync_message(state, message)
                    .map(|()| new_changes(doc, &before).len())
            }) {
                Ok(Ok(0)) => {}
                Ok(Ok(count)) => {
                    self.report.changes_received += count;
                    self.report.changed.insert(reply.doc_id.clone());
                }
                Ok(Err(e)) => {
                    *state = sync::State::new();
                    self.fail(&reply.doc_id, ClientDocError::Apply(e.to_string()));
                    return Outcome::Failed;
                }
                Err(panic) => {
                    *state = sync::State::new();
                    self.fail(&reply.doc_id, ClientDocError::Panicked(panic));
                    return Outcome::Failed;
                }
            }
        }
        if !same_heads(&doc.get_heads(), &server_heads) {
            return Outcome::Pending;
        }
        if !same_heads(&state.shared_heads, &server_heads) {
            // The server told us its heads equal ours: remember them as shared so the
            // next session offers heads alone. Failing to record them only costs a resend.
            let _ = guard(|| assume_peer_at(doc, state, server_heads));
        }
        Outcome::Converged
    }

    fn fail(&mut self, doc_id: &str, error: ClientDocError) {
        self.report.failed.push(FailedDoc {
            doc_id: doc_id.to_owned(),
            error,
        });
    }
}

/// Drops everything but the shared heads, as [`sync::State::encode`] then
/// [`sync::State::decode`] would, so every session starts the same way whether or not the
/// state stayed in memory.
fn reset_to_persisted(state: &mut sync::State) {
    let shared = std::mem::take(&mut state.shared_heads);
    *state = sync::State::new();
    state.shared_heads = shared;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::protocol::server::{added, respond};
    use automerge::transaction::Transactable;
    use automerge::{AutomergeError, ReadDoc, ROOT};

    fn put(doc: &mut Automerge, value: i64) {
        doc.transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, "k", value))
            .unwrap();
    }

    /// Answers a request the way a server would, for one document held by the server.
    fn serve(
        server: &mut Automerge,
        state: &mut crate::protocol::PeerState,
        request: &SyncRequest,
    ) -> SyncResponse {
        let docs = request
            .docs
            .iter()
            .map(|offer| respond(server, state, offer).unwrap().reply)
            .filter(|reply| reply.change != DocChange::Unchanged)
            .collect();
        SyncResponse { docs }
    }

    #[test]
    fn an_idle_document_is_offered_by_heads_alone() {
        let mut doc = Automerge::new();
        put(&mut doc, 1);
        let mut state = sync::State::new();
        state.shared_heads = doc.get_heads();
        let mut session = ClientSync::new();
        let request = session
            .build_request(&mut [ClientDoc::new("wo-1", &mut doc, &mut state)])
            .unwrap()
            .unwrap();
        assert!(request.complete);
        assert_eq!(request.docs.len(), 1);
        assert_eq!(request.docs[0].message, None);
        assert_eq!(
            request.docs[0].heads,
            OfferedHeads::Key(heads_key(&doc.get_heads()))
        );
    }

    #[test]
    fn local_changes_travel_in_the_first_request_and_one_round_trip_suffices() {
        let mut server = Automerge::new().with_actor(ActorId::from([1; 16]));
        put(&mut server, 1);
        let mut device = server.fork().with_actor(ActorId::from([2; 16]));
        let mut state = sync::State::new();
        state.shared_heads = device.get_heads();
        put(&mut device, 2);
        let mut server_state = crate::protocol::PeerState::new();

        let mut session = ClientSync::new();
        let mut docs = [ClientDoc::new("wo-1", &mut device, &mut state)];
        let request = session.build_request(&mut docs).unwrap().unwrap();
        assert!(request.docs[0].message.is_some());
        let response = serve(&mut server, &mut server_state, &request);
        // The server has everything: the reply is its heads, no message.
        assert_eq!(response.docs[0].message, None);
        let round = session.apply_response(&mut docs, response).unwrap();
        assert!(!round.another_round);
        assert!(session.build_request(&mut docs).unwrap().is_none());
        assert!(session.is_done());
        assert_eq!(session.report().round_trips, 1);
        assert_eq!(docs[0].state.shared_heads, server.get_heads());
        assert_eq!(server.get(ROOT, "k").unwrap().unwrap().0.as_i64(), Some(2));
    }

    #[test]
    fn pushed_documents_are_created_with_the_session_actor() {
        let mut server = Automerge::new();
        put(&mut server, 7);
        let mut server_state = crate::protocol::PeerState::new();
        let reply = added(&mut server, &mut server_state, "wo-7").unwrap();

        let actor = ActorId::from([9; 16]);
        let mut session = ClientSync::new().with_actor(actor.clone());
        let request = session.build_request(&mut []).unwrap().unwrap();
        assert!(request.docs.is_empty());
        let round = session
            .apply_response(&mut [], SyncResponse { docs: vec![reply] })
            .unwrap();
        assert!(!round.another_round);
        assert_eq!(round.added.len(), 1);
        let added = &round.added[0];
        assert_eq!(added.doc_id, "wo-7");
        assert_eq!(added.doc.get_actor(), &actor);
        assert_eq!(added.doc.get_heads(), server.get_heads());
        assert_eq!(added.state.shared_heads, server.get_heads());
        assert_eq!(session.report().added, ["wo-7"]);
    }

    #[test]
    fn a_second_build_without_a_response_restarts_the_session() {
        let mut doc = Automerge::new();
        put(&mut doc, 1);
        let mut state = sync::State::new();
        let mut session = ClientSync::new();
        let mut docs = [ClientDoc::new("wo-1", &mut doc, &mut state)];
        let first = session.build_request(&mut docs).unwrap().unwrap();
        let again = session.build_request(&mut docs).unwrap().unwrap();
        assert_eq!(first, again, "the lost request is rebuilt identically");
        assert_eq!(session.report().restarts, 1);
    }

    #[test]
    fn responses_must_answer_what_was_offered() {
        let mut doc = Automerge::new();
        let mut state = sync::State::new();
        let mut session = ClientSync::new();
        let mut docs = [ClientDoc::new("wo-1", &mut doc, &mut state)];
        assert_eq!(
            session
                .apply_response(&mut docs, SyncResponse::default())
                .unwrap_err(),
            ClientError::NoRequestInFlight
        );
        session.build_request(&mut docs).unwrap();
        let stray = DocReply {
            doc_id: "wo-2".into(),
            change: DocChange::Changed,
            heads: vec![],
            message: None,
        };
        assert_eq!(
            session
                .apply_response(&mut docs, SyncResponse { docs: vec![stray] })
                .unwrap_err(),
            ClientError::UnexpectedReply {
                doc_id: "wo-2".into(),
                kind: "changed"
            }
        );
    }

    #[test]
    fn duplicate_and_invalid_ids_are_refused() {
        let mut a = Automerge::new();
        let mut b = Automerge::new();
        let mut sa = sync::State::new();
        let mut sb = sync::State::new();
        let mut session = ClientSync::new();
        let error = session
            .build_request(&mut [
                ClientDoc::new("wo-1", &mut a, &mut sa),
                ClientDoc::new("wo-1", &mut b, &mut sb),
            ])
            .unwrap_err();
        assert_eq!(
            error,
            ClientError::DuplicateDoc {
                doc_id: "wo-1".into()
            }
        );
        let error = session
            .build_request(&mut [ClientDoc::new("wo 1", &mut a, &mut sa)])
            .unwrap_err();
        assert!(matches!(error, ClientError::BadDocId { .. }));
    }

    #[test]
    fn a_garbage_reply_message_fails_only_that_document() {
        let mut doc = Automerge::new();
        put(&mut doc, 1);
        let mut state = sync::State::new();
        let mut session = ClientSync::new();
        let mut docs = [ClientDoc::new("wo-1", &mut doc, &mut state)];
        session.build_request(&mut docs).unwrap();
        let reply = DocReply {
            doc_id: "wo-1".into(),
            change: DocChange::Changed,
            heads: vec![[5; 32]],
            message: Some(vec![0x42, 0xff]),
        };
        let round = session
            .apply_response(&mut docs, SyncResponse { docs: vec![reply] })
            .unwrap();
        assert!(!round.another_round);
        assert_eq!(session.report().failed.len(), 1);
        assert!(matches!(
            session.report().failed[0].error,
            ClientDocError::BadMessage(_)
        ));
    }

    #[test]
    fn removal_reports_unsynced_changes() {
        let mut doc = Automerge::new();
        put(&mut doc, 1);
        let mut state = sync::State::new();
        let mut session = ClientSync::new();
        let mut docs = [ClientDoc::new("wo-1", &mut doc, &mut state)];
        session.build_request(&mut docs).unwrap();
        let reply = crate::protocol::server::removed("wo-1", "reassigned");
        let round = session
            .apply_response(&mut docs, SyncResponse { docs: vec![reply] })
            .unwrap();
        assert_eq!(
            round.removed,
            [RemovedDoc {
                doc_id: "wo-1".into(),
                reason: "reassigned".into(),
                had_unsynced_changes: true
            }]
        );
        assert!(!round.another_round);
    }
}
