//! The in-memory server of the test network.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, Automerge};

use crate::protocol::server::{added, known_device_heads, removed, respond, triage};
use crate::protocol::{
    decode_request, encode_response, DecodeError, DocChange, EncodeError, Limits, PeerState,
    SyncResponse,
};

/// Reason sent with [`DocChange::Removed`] by the test server.
pub const NOT_VISIBLE: &str = "not visible to this device";

/// A server holding documents in memory and, like the real one, keeping nothing between
/// requests but each (device, document) sync state in its persisted byte form.
#[derive(Debug, Clone)]
pub struct TestServer {
    actor: ActorId,
    docs: BTreeMap<String, Automerge>,
    states: BTreeMap<(String, String), Vec<u8>>,
    visible: BTreeMap<String, BTreeSet<String>>,
    changes_applied: usize,
    requests: usize,
}

impl TestServer {
    pub(super) fn new(actor: ActorId) -> Self {
        Self {
            actor,
            docs: BTreeMap::new(),
            states: BTreeMap::new(),
            visible: BTreeMap::new(),
            changes_applied: 0,
            requests: 0,
        }
    }

    /// Creates (or returns) a document edited with the server's actor.
    pub fn create_doc(&mut self, doc_id: &str) -> &mut Automerge {
        let actor = self.actor.clone();
        self.docs
            .entry(doc_id.to_owned())
            .or_insert_with(|| Automerge::new().with_actor(actor))
    }

    /// A document, if the server has it.
    pub fn doc(&self, doc_id: &str) -> Option<&Automerge> {
        self.docs.get(doc_id)
    }

    /// A document to edit on the server, if it has it.
    pub fn doc_mut(&mut self, doc_id: &str) -> Option<&mut Automerge> {
        self.docs.get_mut(doc_id)
    }

    /// Ids of all the server's documents.
    pub fn doc_ids(&self) -> impl Iterator<Item = &str> {
        self.docs.keys().map(String::as_str)
    }

    /// Restricts `device` to `doc_ids`. Unrestricted devices see every document and may
    /// create new ones by offering them.
    pub fn restrict(&mut self, device: &str, doc_ids: impl IntoIterator<Item = String>) {
        self.visible
            .insert(device.to_owned(), doc_ids.into_iter().collect());
    }

    /// Changes applied from devices' offers since the server started.
    pub fn changes_applied(&self) -> usize {
        self.changes_applied
    }

    /// Requests handled since the server started.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Handles one encoded request from `device` and returns the encoded response.
    pub fn handle(
        &mut self,
        device: &str,
        body: &[u8],
        limits: &Limits,
    ) -> Result<Vec<u8>, ServerError> {
        self.requests += 1;
        let request = decode_request(body, limits)?;
        let visible = match self.visible.get(device) {
            Some(restricted) => restricted.clone(),
            None => self
                .docs
                .keys()
                .cloned()
                .chain(request.docs.iter().map(|offer| offer.doc_id.clone()))
                .collect(),
        };
        let split = triage(&request, &visible);
        let mut replies = Vec::new();

        for offer in split.respond {
            let key = (device.to_owned(), offer.doc_id.clone());
            let mut state = self.load_state(&key);
            let doc = self.create_doc(&offer.doc_id);
            match respond(doc, &mut state, offer) {
                Ok(done) => {
                    self.changes_applied += done.applied.len();
                    if done.state_changed {
                        self.states.insert(key, state.encode());
                    }
                    if done.reply.change != DocChange::Unchanged {
                        replies.push(done.reply);
                    }
                }
                Err(error) => {
                    if error.resets_sync_state() {
                        self.states.insert(key, PeerState::new().encode());
                    }
                    replies.push(error.to_reply());
                }
            }
        }
        for doc_id in split.remove {
            let key = (device.to_owned(), doc_id.to_owned());
            let state = self.load_state(&key);
            self.states.remove(&key);
            let mut reply = removed(doc_id, NOT_VISIBLE);
            // Like the real server: name the device's heads when we hold them all, so the
            // device knows deleting its copy loses nothing.
            let offer = request.docs.iter().find(|o| o.doc_id == doc_id);
            if let (Some(doc), Some(offer)) = (self.docs.get(doc_id), offer) {
                let known =
                    known_device_heads(&offer.heads, &doc.get_heads(), &state).unwrap_or_default();
                if !known.is_empty()
                    && known
                        .iter()
                        .all(|h| automerge::ReadDoc::get_change_by_hash(doc, h).is_some())
                {
                    reply.heads = crate::protocol::heads_to_wire(&known);
                }
            }
            replies.push(reply);
        }
        for doc_id in split.add {
            let key = (device.to_owned(), doc_id.to_owned());
            let mut state = PeerState::new();
            let doc = self.create_doc(doc_id);
            match added(doc, &mut state, doc_id) {
                Ok(reply) => {
                    self.states.insert(key, state.encode());
                    replies.push(reply);
                }
                Err(error) => replies.push(error.to_reply()),
            }
        }
        Ok(encode_response(&SyncResponse { docs: replies })?)
    }

    fn load_state(&self, key: &(String, String)) -> PeerState {
        self.states
            .get(key)
            .and_then(|bytes| PeerState::decode(bytes).ok())
            .unwrap_or_default()
    }
}

/// Why the test server refused a whole request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// The request body was refused.
    #[error("request refused: {0}")]
    Decode(#[from] DecodeError),
    /// The response could not be encoded.
    #[error("response could not be encoded: {0}")]
    Encode(#[from] EncodeError),
}
