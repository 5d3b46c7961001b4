//! What the server keeps per (device, document) between requests.

use automerge::sync;
use automerge::ChangeHash;

/// The server's memory of one device's copy of one document: Automerge's sync state (of
/// which [`sync::State::encode`] keeps the shared heads) and the heads the last reply left
/// the device at.
///
/// The sent heads let the server resolve an idle device's heads key
/// ([`super::OfferedHeads::Key`]) to exact heads after it pushed changes: the device then
/// sits at the heads of that reply, which Automerge's shared heads do not know until the
/// device speaks again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeerState {
    /// Automerge's per-peer sync state.
    pub sync: sync::State,
    /// The heads the last reply told the device; empty when unknown.
    pub sent_heads: Vec<ChangeHash>,
}

/// First byte of an encoded [`PeerState`] with sent heads; a plain
/// [`sync::State::encode`] starts with `0x43`.
const TAG: u8 = 0x46;
/// Version of the encoding after [`TAG`].
const VERSION: u8 = 1;

impl PeerState {
    /// A state that knows nothing of the device.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes to persist. Without sent heads this is exactly [`sync::State::encode`], so
    /// states stored before sent heads existed read back unchanged.
    pub fn encode(&self) -> Vec<u8> {
        let sync = self.sync.encode();
        if self.sent_heads.is_empty() || self.sent_heads.len() > usize::from(u8::MAX) {
            return sync;
        }
        let mut out = Vec::with_capacity(3 + self.sent_heads.len() * 32 + sync.len());
        out.push(TAG);
        out.push(VERSION);
        out.push(self.sent_heads.len() as u8);
        for head in &self.sent_heads {
            out.extend_from_slice(&head.0);
        }
        out.extend_from_slice(&sync);
        out
    }

    /// Reads bytes written by [`Self::encode`] (or by [`sync::State::encode`]). Anything
    /// unreadable is an error; callers treat it as a fresh state, which costs a resend.
    pub fn decode(bytes: &[u8]) -> Result<Self, PeerStateError> {
        let Some((&TAG, rest)) = bytes.split_first() else {
            let sync = sync::State::decode(bytes).map_err(|e| PeerStateError(e.to_string()))?;
            return Ok(Self {
                sync,
                sent_heads: Vec::new(),
            });
        };
        let [version, count, rest @ ..] = rest else {
            return Err(PeerStateError("truncated header".to_owned()));
        };
        if *version != VERSION {
            return Err(PeerStateError(format!("unknown version {version}")));
        }
        let len = usize::from(*count) * 32;
        if rest.len() < len {
            return Err(PeerStateError("truncated sent heads".to_owned()));
        }
        let (heads, sync) = rest.split_at(len);
        let sent_heads = heads
            .chunks_exact(32)
            .filter_map(|chunk| <[u8; 32]>::try_from(chunk).ok().map(ChangeHash))
            .collect();
        let sync = sync::State::decode(sync).map_err(|e| PeerStateError(e.to_string()))?;
        Ok(Self { sync, sent_heads })
    }
}

/// Stored peer-state bytes that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable peer state: {0}")]
pub struct PeerStateError(String);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn states_without_sent_heads_are_plain_automerge_states() {
        let mut state = PeerState::new();
        state.sync.shared_heads = vec![ChangeHash([4; 32])];
        let bytes = state.encode();
        assert_eq!(bytes, state.sync.encode());
        let back = PeerState::decode(&bytes).unwrap();
        assert_eq!(back.sync.shared_heads, state.sync.shared_heads);
        assert!(back.sent_heads.is_empty());
    }

    #[test]
    fn sent_heads_survive_the_round_trip() {
        let mut state = PeerState::new();
        state.sync.shared_heads = vec![ChangeHash([1; 32])];
        state.sent_heads = vec![ChangeHash([2; 32]), ChangeHash([3; 32])];
        let back = PeerState::decode(&state.encode()).unwrap();
        assert_eq!(back.sync.shared_heads, state.sync.shared_heads);
        assert_eq!(back.sent_heads, state.sent_heads);
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let mut state = PeerState::new();
        state.sent_heads = vec![ChangeHash([2; 32])];
        let bytes = state.encode();
        for cut in 0..bytes.len() {
            let _ = PeerState::decode(&bytes[..cut]);
        }
        assert!(PeerState::decode(&[TAG, 9, 0]).is_err());
        assert!(PeerState::decode(&[TAG, VERSION, 3, 1, 2]).is_err());
    }
}
