//! A device of the test network.

use std::collections::BTreeMap;

use automerge::{ActorId, Automerge};

/// A device: documents and the persisted bytes of each one's sync state with the server.
#[derive(Debug, Clone)]
pub struct TestDevice {
    actor: ActorId,
    pub(super) docs: BTreeMap<String, StoredDoc>,
}

/// A document as a device stores it between sessions.
#[derive(Debug, Clone)]
pub(super) struct StoredDoc {
    pub(super) doc: Automerge,
    pub(super) state: Vec<u8>,
}

impl TestDevice {
    pub(super) fn new(actor: ActorId) -> Self {
        Self {
            actor,
            docs: BTreeMap::new(),
        }
    }

    /// The device's actor id, used for every document it creates or receives.
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// Creates (or returns) a document edited with the device's actor, never synced.
    pub fn create_doc(&mut self, doc_id: &str) -> &mut Automerge {
        let actor = self.actor.clone();
        &mut self
            .docs
            .entry(doc_id.to_owned())
            .or_insert_with(|| StoredDoc {
                doc: Automerge::new().with_actor(actor),
                state: Vec::new(),
            })
            .doc
    }

    /// A document, if the device holds it.
    pub fn doc(&self, doc_id: &str) -> Option<&Automerge> {
        self.docs.get(doc_id).map(|stored| &stored.doc)
    }

    /// A document to edit, if the device holds it.
    pub fn doc_mut(&mut self, doc_id: &str) -> Option<&mut Automerge> {
        self.docs.get_mut(doc_id).map(|stored| &mut stored.doc)
    }

    /// Ids of the documents the device holds.
    pub fn doc_ids(&self) -> impl Iterator<Item = &str> {
        self.docs.keys().map(String::as_str)
    }

    /// The persisted sync state bytes of a document (empty before its first sync).
    pub fn state_bytes(&self, doc_id: &str) -> Option<&[u8]> {
        self.docs.get(doc_id).map(|stored| stored.state.as_slice())
    }
}
