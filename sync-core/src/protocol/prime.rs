//! Telling a `sync::State` what is already known about the peer.
//!
//! [`sync::State::encode`] persists only the shared heads. A state decoded from it does not
//! know the peer's heads, so Automerge's first message carries no changes and a sync costs
//! an extra round trip. Both sides of this protocol know more than that:
//!
//! - the device knows the server had at least its shared heads at the last sync;
//! - the server knows, from the offer, the device's current heads.
//!
//! [`assume_peer_at`] feeds that knowledge to the state as if the peer had sent a message
//! saying "I have exactly these heads and need nothing", so the next
//! [`SyncDoc::generate_sync_message`] already carries every change the peer lacks. If the
//! assumption is wrong (the peer lost data), the peer's real reply says what it needs and
//! Automerge's protocol recovers in a further round: the assumption costs bytes, never
//! correctness.

use automerge::sync::{self, BloomFilter, ChunkList, Have, MessageFlags, MessageVersion, SyncDoc};
use automerge::{Automerge, AutomergeError, ChangeHash};

/// Records in `state` that the peer has exactly `heads` and needs nothing.
///
/// When all of `heads` are known locally, the peer is taken to have nothing else, so the
/// next generated message carries every local change not covered by `heads`. When some
/// are unknown, the next message asks for them instead. The peer is assumed to speak
/// Automerge sync with V2 messages and sync resets (automerge ≥ 0.6 in Rust or
/// JavaScript), which lets the first message to an empty peer carry the compact saved
/// document.
pub(crate) fn assume_peer_at(
    doc: &mut Automerge,
    state: &mut sync::State,
    heads: Vec<ChangeHash>,
) -> Result<(), AutomergeError> {
    let all_known = heads
        .iter()
        .all(|hash| doc.get_change_meta_by_hash(hash).is_some());
    let have = if all_known {
        vec![Have {
            last_sync: heads.clone(),
            bloom: BloomFilter::default(),
        }]
    } else {
        Vec::new()
    };
    let mut flags = MessageFlags::new();
    flags.set(MessageFlags::SUPPORTS_SYNC_RESET);
    let message = sync::Message {
        heads,
        need: Vec::new(),
        have,
        changes: ChunkList::empty(),
        flags: Some(flags),
        version: MessageVersion::V1,
    };
    doc.receive_sync_message(state, message)
}

/// Hashes of the changes in `doc` that are not ancestors of `before` (the changes a
/// receive added, when `before` are the heads just before it).
pub(crate) fn new_changes(doc: &Automerge, before: &[ChangeHash]) -> Vec<ChangeHash> {
    if doc.get_heads() == before {
        return Vec::new();
    }
    doc.get_changes_meta(before)
        .into_iter()
        .map(|meta| meta.hash)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ReadDoc, ROOT};

    fn doc_with(actor: u8, values: &[i64]) -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from([actor; 16]));
        for value in values {
            doc.transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, "k", *value))
                .unwrap();
        }
        doc
    }

    #[test]
    fn a_primed_state_sends_every_change_after_the_assumed_heads_at_once() {
        let mut server = doc_with(1, &[1]);
        let mut device = server.fork().with_actor(ActorId::from([2; 16]));
        let shared = device.get_heads();
        device
            .transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, "k", 2_i64))
            .unwrap();

        let mut state = sync::State::new();
        assume_peer_at(&mut device, &mut state, shared).unwrap();
        let message = device.generate_sync_message(&mut state).unwrap();
        assert_eq!(message.changes.len(), 1, "the new change travels at once");

        let mut server_state = sync::State::new();
        server
            .receive_sync_message(&mut server_state, message)
            .unwrap();
        assert_eq!(server.get_heads(), device.get_heads());
    }

    #[test]
    fn unknown_assumed_heads_make_the_next_message_ask_for_them() {
        let mut server = doc_with(1, &[1, 2]);
        let mut device = doc_with(2, &[]);
        let mut state = sync::State::new();
        assume_peer_at(&mut device, &mut state, server.get_heads()).unwrap();
        let message = device.generate_sync_message(&mut state).unwrap();
        assert!(message.changes.is_empty());
        assert_eq!(message.need, server.get_heads());

        let mut server_state = sync::State::new();
        server
            .receive_sync_message(&mut server_state, message)
            .unwrap();
        let reply = server.generate_sync_message(&mut server_state).unwrap();
        device.receive_sync_message(&mut state, reply).unwrap();
        assert_eq!(device.get_heads(), server.get_heads());
    }

    #[test]
    fn new_changes_lists_what_a_merge_added() {
        let base = doc_with(1, &[1]);
        let mut doc = base.fork();
        let before = doc.get_heads();
        assert!(new_changes(&doc, &before).is_empty());
        let mut other = base.fork().with_actor(ActorId::from([3; 16]));
        other
            .transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, "k", 5_i64))
            .unwrap();
        other
            .transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, "k", 6_i64))
            .unwrap();
        doc.merge(&mut other).unwrap();
        assert_eq!(new_changes(&doc, &before).len(), 2);
        assert_eq!(doc.get(ROOT, "k").unwrap().unwrap().0.as_i64(), Some(6));
    }
}
