//! The compact, versioned binary encoding of requests and responses.
//!
//! Layout of every body:
//!
//! | bytes | content |
//! | --- | --- |
//! | 4 | magic: `FSYQ` for a [`SyncRequest`], `FSYR` for a [`SyncResponse`] |
//! | 2 | [`PROTOCOL_VERSION`], little-endian |
//! | rest | the value in [postcard](https://postcard.jamesmunns.com/wire-format) |
//!
//! Decoding is strict and typed: the length is checked against
//! [`Limits::max_body_bytes`] before anything else, then the header, then the declared
//! number of documents (before decoding any document), then the value, then that no bytes
//! trail it, then every entry ([`super::validate_request`], [`super::validate_response`]).
//! Any input, however malformed, yields a [`DecodeError`] and never a panic (the property
//! tests feed arbitrary, truncated and bit-flipped bodies).
//!
//! Round trip: for every value `v` whose entries satisfy the limits,
//! `decode_request(&encode_request(&v)?, &limits) == Ok(v)` (likewise for responses).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    validate_request, validate_response, DecodeError, EncodeError, Limits, SyncRequest,
    SyncResponse, PROTOCOL_VERSION,
};

/// Magic bytes opening an encoded [`SyncRequest`].
pub const REQUEST_MAGIC: [u8; 4] = *b"FSYQ";
/// Magic bytes opening an encoded [`SyncResponse`].
pub const RESPONSE_MAGIC: [u8; 4] = *b"FSYR";
/// Length of the header: magic and version.
pub const HEADER_LEN: usize = 6;

/// Encodes a request (magic, version, postcard body).
pub fn encode_request(request: &SyncRequest) -> Result<Vec<u8>, EncodeError> {
    encode(REQUEST_MAGIC, request)
}

/// Encodes a response (magic, version, postcard body).
pub fn encode_response(response: &SyncResponse) -> Result<Vec<u8>, EncodeError> {
    encode(RESPONSE_MAGIC, response)
}

/// Decodes and validates a request under `limits`.
pub fn decode_request(bytes: &[u8], limits: &Limits) -> Result<SyncRequest, DecodeError> {
    let body = open(bytes, REQUEST_MAGIC, limits)?;
    // A request starts with `complete` (one byte) then the document count.
    let (_, declared) = peek::<(bool, u64)>(body)?;
    check_declared(declared, limits)?;
    let request: SyncRequest = decode_exact(body)?;
    validate_request(&request, limits)?;
    Ok(request)
}

/// Decodes and validates a response under `limits`.
pub fn decode_response(bytes: &[u8], limits: &Limits) -> Result<SyncResponse, DecodeError> {
    let body = open(bytes, RESPONSE_MAGIC, limits)?;
    // A response starts with the document count.
    let declared = peek::<u64>(body)?;
    check_declared(declared, limits)?;
    let response: SyncResponse = decode_exact(body)?;
    validate_response(&response, limits)?;
    Ok(response)
}

fn encode<T: Serialize>(magic: [u8; 4], value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&magic);
    out.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    postcard::to_extend(value, out).map_err(|e| EncodeError::Serialize(e.to_string()))
}

/// Checks length, magic and version; returns the postcard body.
fn open<'a>(bytes: &'a [u8], magic: [u8; 4], limits: &Limits) -> Result<&'a [u8], DecodeError> {
    if bytes.len() > limits.max_body_bytes {
        return Err(DecodeError::TooLarge {
            max: limits.max_body_bytes,
            got: bytes.len(),
        });
    }
    let truncated = DecodeError::Truncated {
        needed: HEADER_LEN,
        got: bytes.len(),
    };
    let (found, rest) = bytes.split_first_chunk::<4>().ok_or(truncated.clone())?;
    let (version, body) = rest.split_first_chunk::<2>().ok_or(truncated)?;
    if *found != magic {
        return Err(DecodeError::BadMagic {
            expected: magic,
            got: *found,
        });
    }
    let version = u16::from_le_bytes(*version);
    if version != PROTOCOL_VERSION {
        return Err(DecodeError::UnsupportedVersion {
            got: version,
            supported: PROTOCOL_VERSION,
        });
    }
    Ok(body)
}

fn peek<T: DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    postcard::take_from_bytes::<T>(body)
        .map(|(value, _)| value)
        .map_err(|e| DecodeError::Malformed(e.to_string()))
}

fn check_declared(declared: u64, limits: &Limits) -> Result<(), DecodeError> {
    let max = u64::try_from(limits.max_docs).unwrap_or(u64::MAX);
    if declared > max {
        return Err(DecodeError::TooManyDocuments {
            max: limits.max_docs,
            got: declared,
        });
    }
    Ok(())
}

fn decode_exact<T: DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    let (value, rest) =
        postcard::take_from_bytes::<T>(body).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes { count: rest.len() });
    }
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::protocol::{DocChange, DocOffer, DocReply};

    fn request() -> SyncRequest {
        SyncRequest {
            complete: true,
            docs: vec![
                DocOffer {
                    doc_id: "wo-1".into(),
                    heads: vec![[3; 32]],
                    message: Some(vec![0x42, 0, 0]),
                },
                DocOffer {
                    doc_id: "wo-2".into(),
                    heads: vec![],
                    message: None,
                },
            ],
        }
    }

    fn response() -> SyncResponse {
        SyncResponse {
            docs: vec![DocReply {
                doc_id: "wo-1".into(),
                change: DocChange::Rejected {
                    code: "bad_message".into(),
                    message: "nope".into(),
                },
                heads: vec![],
                message: None,
            }],
        }
    }

    #[test]
    fn requests_round_trip() {
        let bytes = encode_request(&request()).unwrap();
        assert_eq!(&bytes[..4], b"FSYQ");
        assert_eq!(&bytes[4..6], &[1, 0]);
        assert_eq!(
            decode_request(&bytes, &Limits::default()).unwrap(),
            request()
        );
    }

    #[test]
    fn responses_round_trip() {
        let bytes = encode_response(&response()).unwrap();
        assert_eq!(&bytes[..4], b"FSYR");
        assert_eq!(
            decode_response(&bytes, &Limits::default()).unwrap(),
            response()
        );
    }

    #[test]
    fn an_idle_offer_costs_its_id_and_heads_plus_three_bytes() {
        let one = SyncRequest {
            complete: true,
            docs: vec![DocOffer {
                doc_id: "wo-00001".into(),
                heads: vec![[0; 32]],
                message: None,
            }],
        };
        let bytes = encode_request(&one).unwrap();
        // header 6 + complete 1 + count 1 + (id len 1 + 8) + (heads len 1 + 32) + none 1
        assert_eq!(bytes.len(), 6 + 1 + 1 + 9 + 33 + 1);
    }

    #[test]
    fn a_request_is_not_a_response() {
        let bytes = encode_request(&request()).unwrap();
        assert_eq!(
            decode_response(&bytes, &Limits::default()),
            Err(DecodeError::BadMagic {
                expected: RESPONSE_MAGIC,
                got: REQUEST_MAGIC
            })
        );
    }

    #[test]
    fn other_versions_are_refused() {
        let mut bytes = encode_request(&request()).unwrap();
        bytes[4] = 2;
        assert_eq!(
            decode_request(&bytes, &Limits::default()),
            Err(DecodeError::UnsupportedVersion {
                got: 2,
                supported: 1
            })
        );
    }

    #[test]
    fn short_bodies_are_truncated() {
        assert_eq!(
            decode_request(b"FSYQ\x01", &Limits::default()),
            Err(DecodeError::Truncated { needed: 6, got: 5 })
        );
        assert!(matches!(
            decode_request(b"FSYQ\x01\x00", &Limits::default()),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode_response(&response()).unwrap();
        bytes.extend_from_slice(&[0, 0]);
        assert_eq!(
            decode_response(&bytes, &Limits::default()),
            Err(DecodeError::TrailingBytes { count: 2 })
        );
    }

    #[test]
    fn the_body_length_is_checked_before_anything_else() {
        let limits = Limits {
            max_body_bytes: 8,
            ..Limits::default()
        };
        // Not even a valid header: the size check still comes first.
        assert_eq!(
            decode_request(&[0xff; 9], &limits),
            Err(DecodeError::TooLarge { max: 8, got: 9 })
        );
    }

    #[test]
    fn a_huge_declared_count_is_refused_before_decoding_documents() {
        // complete = 1, then a varint count of 2^35 and no documents at all.
        let mut bytes = b"FSYQ\x01\x00\x01".to_vec();
        bytes.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
        assert_eq!(
            decode_request(&bytes, &Limits::default()),
            Err(DecodeError::TooManyDocuments {
                max: 10_000,
                got: 1 << 35
            })
        );
    }

    #[test]
    fn the_peeked_count_matches_the_encoded_document_count() {
        let bytes = encode_request(&request()).unwrap();
        let (complete, count) = peek::<(bool, u64)>(&bytes[HEADER_LEN..]).unwrap();
        assert!(complete);
        assert_eq!(count, 2);
        let bytes = encode_response(&response()).unwrap();
        assert_eq!(peek::<u64>(&bytes[HEADER_LEN..]).unwrap(), 1);
    }
}
