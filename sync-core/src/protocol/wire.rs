//! The request and response types that travel between a device and the server.
//!
//! These are plain data: building them is the job of [`super::client`] and
//! [`super::server`], turning them into bytes the job of [`super::codec`]. Every
//! field that holds an Automerge sync message holds it *encoded*
//! ([`automerge::sync::Message::encode`]); it is decoded, and so validated, only by the
//! side that applies it.

use automerge::ChangeHash;
use sha2::{Digest, Sha256};

/// Version of the wire format, the `"v"` field of every encoded body.
///
/// Bump it whenever the encoded shape of a type in this module changes; a decoder
/// refuses other versions with [`super::DecodeError::UnsupportedVersion`]. Version 1 was
/// postcard, readable only from Rust; version 2 is CBOR (docs/PROTOCOL.md).
pub const PROTOCOL_VERSION: u16 = 2;

/// One Automerge change hash (a document head) as it travels on the wire.
pub type Head = [u8; 32];

/// Length of a [`HeadsKey`], in bytes.
pub const HEADS_KEY_LEN: usize = 8;

/// The short form of a set of heads: the first 8 bytes of the SHA-256 of the sorted,
/// deduplicated heads concatenated ([`heads_key`]).
///
/// An idle device offers this instead of its heads, so a phone holding 50 jobs says "I am
/// where you last left me" in about 1.6 KB. Two different head sets of one document share
/// a key with probability 2^-64; the only effect of such a collision is that this device
/// is answered "unchanged" for that document until either side changes it again.
pub type HeadsKey = [u8; HEADS_KEY_LEN];

/// The [`HeadsKey`] of `heads`, whatever their order or duplicates.
pub fn heads_key(heads: &[ChangeHash]) -> HeadsKey {
    let mut sorted: Vec<&ChangeHash> = heads.iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hasher = Sha256::new();
    for head in sorted {
        hasher.update(head.0);
    }
    let digest = hasher.finalize();
    let mut key = [0; HEADS_KEY_LEN];
    key.copy_from_slice(&digest[..HEADS_KEY_LEN]);
    key
}

/// How an offer states the device's heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferedHeads {
    /// Every head, sorted ascending on the wire.
    Full(Vec<Head>),
    /// Only the [`HeadsKey`]: sent for a document the device has nothing to say about, in
    /// the first round of a sync. The server resolves it against the heads it knows the
    /// device may have (see [`super::server::respond`]).
    Key(HeadsKey),
}

impl OfferedHeads {
    /// Whether these are (or stand for) exactly `heads`.
    pub fn matches(&self, heads: &[ChangeHash]) -> bool {
        match self {
            Self::Full(full) => same_heads(&heads_from_wire(full), heads),
            Self::Key(key) => *key == heads_key(heads),
        }
    }

    /// The heads, when offered in full (sorted and deduplicated).
    pub fn full(&self) -> Option<Vec<ChangeHash>> {
        match self {
            Self::Full(full) => Some(heads_from_wire(full)),
            Self::Key(_) => None,
        }
    }
}

impl Default for OfferedHeads {
    fn default() -> Self {
        Self::Full(Vec::new())
    }
}

/// A device's batched sync request: one entry per document it offers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocOffer {
    /// Document id: non-empty printable ASCII without spaces (see [`super::validate_doc_id`]).
    pub doc_id: String,
    /// The device's current heads, in full or as their key. The server compares them with
    /// its own heads and skips the document entirely when they are equal (the cheap
    /// pre-filter).
    pub heads: OfferedHeads,
    /// An encoded Automerge sync message, present only when the device has something to
    /// say beyond its heads (local changes or explicit needs).
    pub message: Option<Vec<u8>>,
}

/// The server's answer to a [`SyncRequest`].
///
/// A document the device offered that has no entry here is [`DocChange::Unchanged`]: the
/// server omits those to keep idle syncs small.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncResponse {
    /// At most one entry per document id.
    pub docs: Vec<DocReply>,
}

/// The server's answer for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub message: Option<Vec<u8>>,
}

/// The outcome for one document of a sync round.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The offered heads as Automerge change hashes, sorted and deduplicated, when offered
    /// in full.
    pub fn change_hashes(&self) -> Option<Vec<ChangeHash>> {
        self.heads.full()
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
    fn heads_keys_ignore_order_and_duplicates_and_tell_sets_apart() {
        let a = ChangeHash([1; 32]);
        let b = ChangeHash([2; 32]);
        assert_eq!(heads_key(&[a, b]), heads_key(&[b, a, b]));
        assert_ne!(heads_key(&[a]), heads_key(&[a, b]));
        // The key of no heads is the SHA-256 of nothing, cut to 8 bytes.
        assert_eq!(
            heads_key(&[]),
            [0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14]
        );
        assert!(OfferedHeads::Key(heads_key(&[a, b])).matches(&[b, a]));
        assert!(!OfferedHeads::Key(heads_key(&[a])).matches(&[b]));
        assert!(OfferedHeads::Full(vec![[2; 32], [1; 32]]).matches(&[a, b]));
        assert_eq!(OfferedHeads::Key([0; 8]).full(), None);
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
