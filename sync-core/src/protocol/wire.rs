//! The request and response types that travel between a device and the server.
//!
//! These are plain data: building them is the job of [`super::client`] and
//! [`super::server`], turning them into bytes the job of [`super::codec`]. Every
//! field that holds an Automerge sync message holds it *encoded*
//! ([`automerge::sync::Message::encode`]); it is decoded, and so validated, only by the
//! side that applies it.

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use super::bytes_serde;

/// Version of the wire format written after the magic bytes of every encoded body.
///
/// Bump it whenever the serialized shape of a type in this module changes; a decoder
/// refuses other versions with [`super::DecodeError::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u16 = 1;

/// One Automerge change hash (a document head) as it travels on the wire.
pub type Head = [u8; 32];

/// A device's batched sync request: one entry per document it offers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncRequest {
    /// `true` when `docs` lists every document the device holds (the first round of a
    /// session). Only then may the server push documents the device lacks
    /// ([`DocChange::Added`]); follow-up rounds offer just the documents still
    /// converging and set this to `false`.
    pub complete: bool,
    /// The offered documents, at most one entry per document id.
    pub docs: Vec<DocOffer>,
}

/// What a device says about one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocOffer {
    /// Document id: non-empty printable ASCII without spaces (see [`super::validate_doc_id`]).
    pub doc_id: String,
    /// The device's current heads. The server compares them with its own heads and skips
    /// the document entirely when they are equal (the cheap pre-filter).
    pub heads: Vec<Head>,
    /// An encoded Automerge sync message, present only when the device has something to
    /// say beyond its heads (local changes or explicit needs).
    #[serde(with = "bytes_serde")]
    pub message: Option<Vec<u8>>,
}

/// The server's answer to a [`SyncRequest`].
///
/// A document the device offered that has no entry here is [`DocChange::Unchanged`]: the
/// server omits those to keep idle syncs small.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncResponse {
    /// At most one entry per document id.
    pub docs: Vec<DocReply>,
}

/// The server's answer for one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocReply {
    /// Document id, as offered (or as pushed for [`DocChange::Added`]).
    pub doc_id: String,
    /// What happened to the document.
    pub change: DocChange,
    /// The server's heads after processing the offer (empty for `Rejected`, and for
    /// `Removed` when the server did not take the device's changes first). The device compares
    /// them with its own heads to know whether it has converged, and, for `Removed`, whether
    /// the server holds everything it had.
    pub heads: Vec<Head>,
    /// An encoded Automerge sync message for the device, if any.
    #[serde(with = "bytes_serde")]
    pub message: Option<Vec<u8>>,
}

/// The outcome for one document of a sync round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocChange {
    /// The server's heads equal the offered heads: nothing to do. Never carries a message.
    Unchanged,
    /// The server processed the offer; `message` (if any) carries what the device lacks.
    Changed,
    /// A document the device may see but did not offer: the device creates an empty
    /// document and applies `message` (always present) to it.
    Added,
    /// The device may no longer see this document and should delete its copy.
    Removed {
        /// Human-readable reason, for logs and the user.
        reason: String,
    },
    /// The server refused or failed to process this document; the others are unaffected.
    Rejected {
        /// Stable machine-readable code (for example `bad_message`).
        code: String,
        /// Human-readable explanation.
        message: String,
    },
}

impl DocChange {
    /// Short lower-case name of the variant, for logs and error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Changed => "changed",
            Self::Added => "added",
            Self::Removed { .. } => "removed",
            Self::Rejected { .. } => "rejected",
        }
    }
}

impl DocOffer {
    /// The offered heads as Automerge change hashes, sorted and deduplicated.
    pub fn change_hashes(&self) -> Vec<ChangeHash> {
        heads_from_wire(&self.heads)
    }
}

impl DocReply {
    /// The server's heads as Automerge change hashes, sorted and deduplicated.
    pub fn change_hashes(&self) -> Vec<ChangeHash> {
        heads_from_wire(&self.heads)
    }
}

/// Converts Automerge heads to their wire form, keeping the order.
pub fn heads_to_wire(heads: &[ChangeHash]) -> Vec<Head> {
    heads.iter().map(|hash| hash.0).collect()
}

/// Converts wire heads to Automerge change hashes, sorted and deduplicated so they compare
/// equal to [`automerge::Automerge::get_heads`] whatever order the peer used.
pub fn heads_from_wire(heads: &[Head]) -> Vec<ChangeHash> {
    let mut hashes: Vec<ChangeHash> = heads.iter().map(|bytes| ChangeHash(*bytes)).collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// Whether two sets of heads are the same, whatever their order or duplicates.
pub(crate) fn same_heads(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    if a == b {
        return true;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_survive_the_wire_form() {
        let a = ChangeHash([7; 32]);
        let b = ChangeHash([1; 32]);
        let wire = heads_to_wire(&[a, b]);
        assert_eq!(wire, vec![[7; 32], [1; 32]]);
        assert_eq!(heads_from_wire(&wire), vec![b, a]);
    }

    #[test]
    fn heads_from_wire_sorts_and_deduplicates() {
        let wire = vec![[9; 32], [2; 32], [9; 32]];
        assert_eq!(
            heads_from_wire(&wire),
            vec![ChangeHash([2; 32]), ChangeHash([9; 32])]
        );
    }

    #[test]
    fn same_heads_ignores_order_and_duplicates() {
        let a = ChangeHash([1; 32]);
        let b = ChangeHash([2; 32]);
        assert!(same_heads(&[a, b], &[b, a, a]));
        assert!(!same_heads(&[a], &[a, b]));
        assert!(same_heads(&[], &[]));
    }

    #[test]
    fn doc_change_kinds_are_lower_case_names() {
        let kinds = [
            DocChange::Unchanged.kind(),
            DocChange::Changed.kind(),
            DocChange::Added.kind(),
            DocChange::Removed {
                reason: "unassigned".into(),
            }
            .kind(),
            DocChange::Rejected {
                code: "bad_message".into(),
                message: "x".into(),
            }
            .kind(),
        ];
        assert_eq!(
            kinds,
            ["unchanged", "changed", "added", "removed", "rejected"]
        );
    }
}
