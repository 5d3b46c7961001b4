//! What a device learns from a sync session, and how a session can fail.

use std::collections::BTreeSet;

use automerge::{sync, Automerge};
use thiserror::Error;

use super::DocIdError;

/// Totals and per-document outcomes of one sync session, accumulated over its rounds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Responses applied (request/response round trips completed).
    pub round_trips: u32,
    /// Times the session restarted because a request got no response (lost response).
    pub restarts: u32,
    /// Document offers sent, over all rounds.
    pub docs_offered: usize,
    /// Offers that carried a sync message.
    pub messages_sent: usize,
    /// Bytes of the sync messages sent (excluding ids, heads and framing).
    pub message_bytes_sent: usize,
    /// Replies that carried a sync message.
    pub messages_received: usize,
    /// Bytes of the sync messages received.
    pub message_bytes_received: usize,
    /// Changes applied to local documents.
    pub changes_received: usize,
    /// Documents whose content changed locally (to refresh views and projections).
    pub changed: BTreeSet<String>,
    /// Documents created on the device from [`super::DocChange::Added`] replies.
    pub added: Vec<String>,
    /// Documents the server told the device to delete.
    pub removed: Vec<RemovedDoc>,
    /// Documents the server rejected.
    pub rejected: Vec<RejectedDoc>,
    /// Documents whose reply the device could not apply.
    pub failed: Vec<FailedDoc>,
}

/// What the caller must do after one applied response.
#[derive(Debug, Clone, Default)]
pub struct RoundReport {
    /// New documents: store each (document and `state.encode()`) and pass it in the next
    /// rounds of this session.
    pub added: Vec<AddedDoc>,
    /// Documents to delete from the device (also listed in [`SyncReport::removed`]).
    pub removed: Vec<RemovedDoc>,
    /// Whether some document still differs from the server: call
    /// [`super::ClientSync::build_request`] again.
    pub another_round: bool,
}

/// A document the server pushed, built on the device from its first message.
#[derive(Debug, Clone)]
pub struct AddedDoc {
    /// Document id.
    pub doc_id: String,
    /// The document.
    pub doc: Automerge,
    /// The sync state with the server, to persist with [`sync::State::encode`].
    pub state: sync::State,
}

/// A document the device may no longer see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedDoc {
    /// Document id.
    pub doc_id: String,
    /// The server's reason.
    pub reason: String,
    /// Whether the device holds changes the server never acknowledged: deleting the copy
    /// loses them, which the caller may want to tell the user about.
    pub had_unsynced_changes: bool,
}

/// A document the server refused to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedDoc {
    /// Document id.
    pub doc_id: String,
    /// The server's machine-readable code.
    pub code: String,
    /// The server's explanation.
    pub message: String,
}

/// A document whose reply the device could not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedDoc {
    /// Document id.
    pub doc_id: String,
    /// What went wrong.
    pub error: ClientDocError,
}

/// Why a reply could not be applied to one local document. The document's sync state has
/// been reset, so the next session resends what the server may lack.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClientDocError {
    /// The reply's sync message is not a valid Automerge sync message.
    #[error("the server's sync message could not be decoded: {0}")]
    BadMessage(String),
    /// Automerge refused the message.
    #[error("the server's sync message could not be applied: {0}")]
    Apply(String),
    /// Automerge panicked; discard the in-memory document and reload it from storage.
    #[error("automerge panicked on the server's sync message: {0}")]
    Panicked(String),
}

/// A session-level failure: the session cannot go on as called.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClientError {
    /// Two documents passed in share an id.
    #[error("document {doc_id} was passed twice")]
    DuplicateDoc {
        /// The repeated id.
        doc_id: String,
    },
    /// A document passed in has an id the server would refuse.
    #[error("document {doc_id:?} has a bad id: {reason}")]
    BadDocId {
        /// The id.
        doc_id: String,
        /// What is wrong with it.
        reason: DocIdError,
    },
    /// A document still converging in this session was not passed in.
    #[error("document {doc_id} is still syncing in this session but was not passed in")]
    MissingDoc {
        /// The missing id.
        doc_id: String,
    },
    /// The response answers a document that was not offered.
    #[error("the response has a {kind} reply for document {doc_id}, which was not offered")]
    UnexpectedReply {
        /// The document.
        doc_id: String,
        /// The reply's change kind.
        kind: &'static str,
    },
    /// The response answers a document twice.
    #[error("the response answers document {doc_id} twice")]
    DuplicateReply {
        /// The document.
        doc_id: String,
    },
    /// [`super::ClientSync::apply_response`] was called with no request outstanding.
    #[error("no request is waiting for a response")]
    NoRequestInFlight,
    /// The documents did not converge within the round limit; the next session resumes.
    #[error("{pending} documents still differ from the server after {rounds} rounds")]
    RoundLimit {
        /// Rounds completed.
        rounds: u32,
        /// Documents still differing.
        pending: usize,
    },
}
