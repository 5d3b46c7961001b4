//! Errors of the binary codec.

use thiserror::Error;

use super::DocIdError;

/// Why an encoded request or response was refused.
///
/// Every malformed, truncated or oversized input maps to one of these; decoding never
/// panics. Variants carry the data a log line or a client message needs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The body is larger than [`super::Limits::max_body_bytes`]; nothing was parsed.
    #[error("body is {got} bytes, more than the limit of {max}")]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
        /// The body's length, in bytes.
        got: usize,
    },
    /// The body is a protocol version 1 body (postcard, opening with the magic bytes
    /// `FSYQ` or `FSYR`), which this side no longer speaks.
    #[error(
        "this is a sync protocol version 1 (postcard) body; this side speaks version {supported} \
         (CBOR, docs/PROTOCOL.md): upgrade the client"
    )]
    LegacyVersion {
        /// The version this side speaks.
        supported: u16,
    },
    /// The body was written with a wire version this decoder does not know.
    #[error("wire version {got} is not supported (this side speaks version {supported})")]
    UnsupportedVersion {
        /// The version in the body.
        got: u64,
        /// The version this side speaks.
        supported: u16,
    },
    /// The body is not a valid CBOR encoding of the expected message: a missing, unknown,
    /// repeated or mistyped field, an indefinite length, a truncated item.
    #[error("malformed body: {0}")]
    Malformed(String),
    /// Bytes remain after the encoded value.
    #[error("{count} unexpected bytes after the body")]
    TrailingBytes {
        /// How many bytes remain.
        count: usize,
    },
    /// More documents than [`super::Limits::max_docs`].
    #[error("{got} documents, more than the limit of {max}")]
    TooManyDocuments {
        /// The limit.
        max: usize,
        /// The declared number of documents.
        got: u64,
    },
    /// A document id is invalid.
    #[error("document at index {index} has a bad id: {reason}")]
    BadDocId {
        /// Position of the entry in the body.
        index: usize,
        /// What is wrong with the id.
        reason: DocIdError,
    },
    /// The same document id appears twice.
    #[error("document {doc_id} appears more than once")]
    DuplicateDocId {
        /// The repeated id.
        doc_id: String,
    },
    /// A document has more heads than [`super::Limits::max_heads`].
    #[error("document {doc_id} has {got} heads, more than the limit of {max}")]
    TooManyHeads {
        /// The document.
        doc_id: String,
        /// The limit.
        max: usize,
        /// The number of heads.
        got: usize,
    },
    /// A document's sync message is larger than [`super::Limits::max_doc_message_bytes`].
    #[error("sync message for document {doc_id} is {got} bytes, more than the limit of {max}")]
    DocMessageTooLarge {
        /// The document.
        doc_id: String,
        /// The limit, in bytes.
        max: usize,
        /// The message's length, in bytes.
        got: usize,
    },
    /// A reply's fields contradict its [`super::DocChange`] (for example `added` without a
    /// message).
    #[error("reply for document {doc_id} is {kind} but {problem}")]
    InconsistentReply {
        /// The document.
        doc_id: String,
        /// The reply's change kind ([`super::DocChange::kind`]).
        kind: &'static str,
        /// What contradicts it.
        problem: &'static str,
    },
}

/// Why a request or response could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The encoder failed (it cannot when writing to memory; kept so that encoding never
    /// panics).
    #[error("could not encode the body: {0}")]
    Serialize(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lower_case_and_carry_data() {
        let cases = [
            (
                DecodeError::TooLarge { max: 10, got: 11 },
                "body is 11 bytes, more than the limit of 10",
            ),
            (
                DecodeError::LegacyVersion { supported: 2 },
                "this is a sync protocol version 1 (postcard) body; this side speaks version 2 \
                 (CBOR, docs/PROTOCOL.md): upgrade the client",
            ),
            (
                DecodeError::UnsupportedVersion {
                    got: 9,
                    supported: 2,
                },
                "wire version 9 is not supported (this side speaks version 2)",
            ),
            (
                DecodeError::DocMessageTooLarge {
                    doc_id: "wo-1".into(),
                    max: 4,
                    got: 5,
                },
                "sync message for document wo-1 is 5 bytes, more than the limit of 4",
            ),
            (
                DecodeError::BadDocId {
                    index: 3,
                    reason: DocIdError::Empty,
                },
                "document at index 3 has a bad id: document id is empty",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }
}
