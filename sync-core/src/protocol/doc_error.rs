//! Per-document failures on the server.

use thiserror::Error;

use super::{DocChange, DocReply};

/// Why the server could not process one document of a request.
///
/// One document failing never fails the request: the server answers it with
/// [`DocError::to_reply`] ([`DocChange::Rejected`]) and carries on with the others.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DocError {
    /// The offered sync message is not a valid Automerge sync message. Nothing was touched.
    #[error("sync message for document {doc_id} could not be decoded: {reason}")]
    BadMessage {
        /// The document.
        doc_id: String,
        /// The decoder's explanation.
        reason: String,
    },
    /// Automerge refused the message (for example a corrupt change).
    #[error("sync message for document {doc_id} could not be applied: {reason}")]
    Apply {
        /// The document.
        doc_id: String,
        /// Automerge's explanation.
        reason: String,
    },
    /// Automerge panicked while applying or answering the message.
    #[error("automerge panicked on document {doc_id}: {detail}")]
    Panicked {
        /// The document.
        doc_id: String,
        /// The panic message.
        detail: String,
    },
}

impl DocError {
    /// Stable machine-readable code, sent to the device in [`DocChange::Rejected`].
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadMessage { .. } => "bad_message",
            Self::Apply { .. } => "apply_failed",
            Self::Panicked { .. } => "internal_error",
        }
    }

    /// The document concerned.
    pub fn doc_id(&self) -> &str {
        match self {
            Self::BadMessage { doc_id, .. }
            | Self::Apply { doc_id, .. }
            | Self::Panicked { doc_id, .. } => doc_id,
        }
    }

    /// Whether the sync state passed in was reset to [`automerge::sync::State::new`]; the
    /// caller must persist that reset state for this (device, document) pair, so the next
    /// sync starts from scratch.
    pub fn resets_sync_state(&self) -> bool {
        !matches!(self, Self::BadMessage { .. })
    }

    /// Whether the in-memory document may be inconsistent: the caller must discard it and
    /// reload it from storage instead of saving it.
    pub fn taints_document(&self) -> bool {
        !matches!(self, Self::BadMessage { .. })
    }

    /// The reply telling the device this document was rejected. Panic details stay on the
    /// server: the device gets a generic message.
    pub fn to_reply(&self) -> DocReply {
        let message = match self {
            Self::Panicked { .. } => {
                "the server hit an internal error on this document and will resync it from scratch"
                    .to_owned()
            }
            _ => self.to_string(),
        };
        DocReply {
            doc_id: self.doc_id().to_owned(),
            change: DocChange::Rejected {
                code: self.code().to_owned(),
                message,
            },
            heads: Vec::new(),
            message: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_messages_leave_state_and_document_alone() {
        let error = DocError::BadMessage {
            doc_id: "wo-1".into(),
            reason: "not enough input".into(),
        };
        assert!(!error.resets_sync_state());
        assert!(!error.taints_document());
        assert_eq!(
            error.to_string(),
            "sync message for document wo-1 could not be decoded: not enough input"
        );
    }

    #[test]
    fn panics_reset_the_state_and_keep_details_on_the_server() {
        let error = DocError::Panicked {
            doc_id: "wo-1".into(),
            detail: "index out of bounds".into(),
        };
        assert!(error.resets_sync_state());
        assert!(error.taints_document());
        let reply = error.to_reply();
        assert_eq!(reply.doc_id, "wo-1");
        match reply.change {
            DocChange::Rejected { code, message } => {
                assert_eq!(code, "internal_error");
                assert!(!message.contains("index out of bounds"));
            }
            other => unreachable!("expected a rejection, got {other:?}"),
        }
        assert_eq!(reply.message, None);
    }
}
