//! Size limits applied when decoding untrusted bodies.

/// Bounds enforced by [`super::decode_request`] and [`super::decode_response`].
///
/// The body length is checked before anything is parsed and the declared number of
/// documents before any document is decoded, so a small hostile body cannot make the
/// decoder allocate for millions of entries. Per-document bounds are checked after
/// decoding, on every entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted encoded body, in bytes, header included.
    pub max_body_bytes: usize,
    /// Most documents in one request or response.
    pub max_docs: usize,
    /// Largest encoded Automerge sync message for one document, in bytes.
    pub max_doc_message_bytes: usize,
    /// Longest document id, in bytes.
    pub max_doc_id_len: usize,
    /// Most heads for one document. Automerge documents rarely have more than a handful
    /// (one per concurrent branch not yet merged).
    pub max_heads: usize,
}

impl Limits {
    /// The defaults: 16 MiB bodies, 10 000 documents, 8 MiB per document message,
    /// 128-byte ids, 64 heads.
    pub const DEFAULT: Limits = Limits {
        max_body_bytes: 16 * 1024 * 1024,
        max_docs: 10_000,
        max_doc_message_bytes: 8 * 1024 * 1024,
        max_doc_id_len: 128,
        max_heads: 64,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let limits = Limits::default();
        assert_eq!(limits.max_body_bytes, 16_777_216);
        assert_eq!(limits.max_docs, 10_000);
        assert_eq!(limits.max_doc_message_bytes, 8_388_608);
        assert_eq!(limits.max_doc_id_len, 128);
        assert_eq!(limits.max_heads, 64);
    }
}
