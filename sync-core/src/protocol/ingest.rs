//! The server's merge-and-validate step for one offered document: apply the device's sync
//! message ([`respond`]), then check what arrived against the rules of
//! [`crate::workorder::upload`] and fold the result once. Pure: no I/O, no clock.
//!
//! This is the step of the sync pipeline that takes untrusted bytes into a stored document,
//! so it is also what the fuzzer drives.

use automerge::{Automerge, ChangeHash};

use super::server::{respond, Responded};
use super::{DocError, DocOffer, PeerState};
use crate::workorder::upload::{self, UploadRefused, Uploader};
use crate::workorder::{Event, View};

/// A document that gained changes and passed the upload check.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub view: View,
    /// Every event in causal order.
    pub history: Vec<Event>,
    /// The events this upload added.
    pub new_events: Vec<Event>,
}

/// What [`ingest`] did to one document.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub responded: Responded,
    /// `Some` when the document changed; `None` when nothing arrived.
    pub accepted: Option<Accepted>,
}

/// Why a document's offer was not taken; the rest of the request is unaffected.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// The message could not be applied (see [`DocError`]); `state` has been reset when
    /// [`DocError::resets_sync_state`] says so, and the document must be discarded.
    #[error(transparent)]
    Sync(#[from] DocError),
    /// The upload broke a rule. The document holds the refused changes: discard it, reset
    /// the device's sync state, and answer with the heads the stored document still has.
    #[error("{reason}")]
    Refused {
        heads_before: Vec<ChangeHash>,
        // Boxed: refusals are rare and the error travels by value.
        reason: Box<UploadRefused>,
    },
}

/// Applies `offer` to `doc` as [`respond`] does, then checks and folds what arrived.
pub fn ingest(
    doc: &mut Automerge,
    state: &mut PeerState,
    offer: &DocOffer,
    who: Uploader<'_>,
) -> Result<Ingested, IngestError> {
    let responded = respond(doc, state, offer)?;
    if !responded.doc_changed() {
        return Ok(Ingested {
            responded,
            accepted: None,
        });
    }
    let checked = upload::new_events(doc, &responded.heads_before, who).and_then(|new_events| {
        let (view, history) = upload::checked_view(doc)?;
        Ok(Accepted {
            view,
            history,
            new_events,
        })
    });
    match checked {
        Ok(accepted) => Ok(Ingested {
            responded,
            accepted: Some(accepted),
        }),
        Err(reason) => {
            *state = PeerState::new();
            Err(IngestError::Refused {
                heads_before: responded.heads_before,
                reason: Box::new(reason),
            })
        }
    }
}
