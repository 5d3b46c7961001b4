//! Structural checks on decoded requests and responses, against [`Limits`].
//!
//! The codec runs these after decoding; a server that builds a [`SyncRequest`] by other
//! means (a JSON debug endpoint, a test) can run them too. They do not decode the
//! Automerge sync messages: that happens, with its own typed errors, where a message is
//! applied ([`super::server::respond`], [`super::client::ClientSync::apply_response`]).

use std::collections::HashSet;

use super::{
    validate_doc_id, DecodeError, DocChange, Limits, OfferedHeads, SyncRequest, SyncResponse,
};

/// Checks a request: document count, ids (valid, unique), heads and message sizes.
pub fn validate_request(request: &SyncRequest, limits: &Limits) -> Result<(), DecodeError> {
    check_count(request.docs.len(), limits)?;
    let mut seen = HashSet::with_capacity(request.docs.len());
    for (index, offer) in request.docs.iter().enumerate() {
        check_entry(
            index,
            &offer.doc_id,
            match &offer.heads {
                OfferedHeads::Full(heads) => heads.len(),
                OfferedHeads::Key(_) => 1,
            },
            offer.message.as_deref(),
            limits,
            &mut seen,
        )?;
    }
    Ok(())
}

/// Checks a response: everything [`validate_request`] checks, plus that each reply's
/// fields agree with its [`DocChange`].
pub fn validate_response(response: &SyncResponse, limits: &Limits) -> Result<(), DecodeError> {
    check_count(response.docs.len(), limits)?;
    let mut seen = HashSet::with_capacity(response.docs.len());
    for (index, reply) in response.docs.iter().enumerate() {
        check_entry(
            index,
            &reply.doc_id,
            reply.heads.len(),
            reply.message.as_deref(),
            limits,
            &mut seen,
        )?;
        let problem = match (&reply.change, reply.message.is_some()) {
            (DocChange::Added, false) => Some("carries no message"),
            (DocChange::Unchanged, true)
            | (DocChange::Removed { .. }, true)
            | (DocChange::Rejected { .. }, true) => Some("carries a message"),
            _ => None,
        };
        if let Some(problem) = problem {
            return Err(DecodeError::InconsistentReply {
                doc_id: reply.doc_id.clone(),
                kind: reply.change.kind(),
                problem,
            });
        }
    }
    Ok(())
}

fn check_count(count: usize, limits: &Limits) -> Result<(), DecodeError> {
    if count > limits.max_docs {
        return Err(DecodeError::TooManyDocuments {
            max: limits.max_docs,
            got: u64::try_from(count).unwrap_or(u64::MAX),
        });
    }
    Ok(())
}

fn check_entry<'a>(
    index: usize,
    doc_id: &'a str,
    heads: usize,
    message: Option<&[u8]>,
    limits: &Limits,
    seen: &mut HashSet<&'a str>,
) -> Result<(), DecodeError> {
    validate_doc_id(doc_id, limits.max_doc_id_len)
        .map_err(|reason| DecodeError::BadDocId { index, reason })?;
    if !seen.insert(doc_id) {
        return Err(DecodeError::DuplicateDocId {
            doc_id: doc_id.to_owned(),
        });
    }
    if heads > limits.max_heads {
        return Err(DecodeError::TooManyHeads {
            doc_id: doc_id.to_owned(),
            max: limits.max_heads,
            got: heads,
        });
    }
    if let Some(message) = message {
        if message.len() > limits.max_doc_message_bytes {
            return Err(DecodeError::DocMessageTooLarge {
                doc_id: doc_id.to_owned(),
                max: limits.max_doc_message_bytes,
                got: message.len(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{DocIdError, DocOffer, DocReply};

    fn offer(id: &str) -> DocOffer {
        DocOffer {
            doc_id: id.into(),
            heads: OfferedHeads::Full(vec![[1; 32]]),
            message: None,
        }
    }

    fn reply(id: &str, change: DocChange, message: Option<Vec<u8>>) -> DocReply {
        DocReply {
            doc_id: id.into(),
            change,
            heads: vec![],
            message,
        }
    }

    #[test]
    fn a_well_formed_request_passes() {
        let request = SyncRequest {
            complete: true,
            docs: vec![offer("a"), offer("b")],
        };
        assert_eq!(validate_request(&request, &Limits::default()), Ok(()));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let request = SyncRequest {
            complete: true,
            docs: vec![offer("a"), offer("a")],
        };
        assert_eq!(
            validate_request(&request, &Limits::default()),
            Err(DecodeError::DuplicateDocId { doc_id: "a".into() })
        );
    }

    #[test]
    fn bad_ids_report_their_index() {
        let request = SyncRequest {
            complete: false,
            docs: vec![offer("a"), offer("b c")],
        };
        assert_eq!(
            validate_request(&request, &Limits::default()),
            Err(DecodeError::BadDocId {
                index: 1,
                reason: DocIdError::BadCharacter {
                    position: 1,
                    found: ' '
                }
            })
        );
    }

    #[test]
    fn heads_and_message_sizes_are_bounded() {
        let limits = Limits {
            max_heads: 1,
            max_doc_message_bytes: 2,
            ..Limits::default()
        };
        let mut many_heads = offer("a");
        many_heads.heads = OfferedHeads::Full(vec![[1; 32], [2; 32]]);
        let request = SyncRequest {
            complete: false,
            docs: vec![many_heads],
        };
        assert_eq!(
            validate_request(&request, &limits),
            Err(DecodeError::TooManyHeads {
                doc_id: "a".into(),
                max: 1,
                got: 2
            })
        );
        let mut big = offer("b");
        big.message = Some(vec![0; 3]);
        let request = SyncRequest {
            complete: false,
            docs: vec![big],
        };
        assert_eq!(
            validate_request(&request, &limits),
            Err(DecodeError::DocMessageTooLarge {
                doc_id: "b".into(),
                max: 2,
                got: 3
            })
        );
    }

    #[test]
    fn replies_must_agree_with_their_change() {
        let limits = Limits::default();
        let ok = SyncResponse {
            docs: vec![
                reply("a", DocChange::Added, Some(vec![1])),
                reply("b", DocChange::Changed, None),
                reply("c", DocChange::Unchanged, None),
            ],
        };
        assert_eq!(validate_response(&ok, &limits), Ok(()));

        let added_without_message = SyncResponse {
            docs: vec![reply("a", DocChange::Added, None)],
        };
        assert_eq!(
            validate_response(&added_without_message, &limits),
            Err(DecodeError::InconsistentReply {
                doc_id: "a".into(),
                kind: "added",
                problem: "carries no message"
            })
        );

        let removed_with_message = SyncResponse {
            docs: vec![reply(
                "a",
                DocChange::Removed {
                    reason: "gone".into(),
                },
                Some(vec![1]),
            )],
        };
        assert_eq!(
            validate_response(&removed_with_message, &limits),
            Err(DecodeError::InconsistentReply {
                doc_id: "a".into(),
                kind: "removed",
                problem: "carries a message"
            })
        );
    }

    #[test]
    fn document_counts_are_bounded() {
        let limits = Limits {
            max_docs: 1,
            ..Limits::default()
        };
        let response = SyncResponse {
            docs: vec![
                reply("a", DocChange::Changed, None),
                reply("b", DocChange::Changed, None),
            ],
        };
        assert_eq!(
            validate_response(&response, &limits),
            Err(DecodeError::TooManyDocuments { max: 1, got: 2 })
        );
    }
}
