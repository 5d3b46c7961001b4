//! The wire encoding of requests and responses: CBOR (RFC 8949), specified in
//! docs/PROTOCOL.md, with golden vectors in `vectors/protocol/`.
//!
//! Every body is one CBOR map with one-letter text keys and a version field `"v"`; hashes,
//! heads and Automerge sync messages are byte strings; there are no tags and no floats.
//! The encoder writes the deterministic form (definite lengths, shortest integers, keys in
//! bytewise order), so equal values encode to equal bytes in every language.
//!
//! Decoding is strict and typed: the length is checked against [`Limits::max_body_bytes`]
//! before anything else, then the version (a version 1 postcard body is recognised by its
//! magic bytes and refused with [`DecodeError::LegacyVersion`]), then the declared number
//! of documents (before decoding any document), then every field, then that no bytes trail
//! the map, then every entry ([`super::validate_request`], [`super::validate_response`]).
//! Keys may come in any order; an unknown, repeated or mistyped key and an
//! indefinite length are refused. Any input, however malformed, yields a [`DecodeError`]
//! and never a panic (the property tests feed arbitrary, truncated and bit-flipped bodies).
//!
//! Round trip: for every value `v` whose entries satisfy the limits,
//! `decode_request(&encode_request(&v)?, &limits) == Ok(v)` (likewise for responses), and
//! a body in deterministic form re-encodes to the same bytes.

mod decode;
mod encode;

pub use decode::{decode_request, decode_response};
pub use encode::{encode_request, encode_response};

/// The media type of request and response bodies.
pub const CONTENT_TYPE: &str = "application/cbor";

/// The magic bytes that opened a version 1 (postcard) request body.
pub const LEGACY_REQUEST_MAGIC: [u8; 4] = *b"FSYQ";
/// The magic bytes that opened a version 1 (postcard) response body.
pub const LEGACY_RESPONSE_MAGIC: [u8; 4] = *b"FSYR";

/// Whether `bytes` look like a version 1 (postcard) body, request or response.
pub fn is_legacy_body(bytes: &[u8]) -> bool {
    bytes.starts_with(&LEGACY_REQUEST_MAGIC) || bytes.starts_with(&LEGACY_RESPONSE_MAGIC)
}

/// Field names, shared by the encoder and the decoder.
mod keys {
    pub const VERSION: &str = "v";
    pub const COMPLETE: &str = "c";
    pub const DOCS: &str = "d";
    pub const ID: &str = "i";
    pub const HEADS: &str = "h";
    pub const KEY: &str = "k";
    pub const MESSAGE: &str = "m";
    pub const STATUS: &str = "s";
    pub const REASON: &str = "r";
    pub const CODE: &str = "e";
}

/// Values of a reply's `"s"` field.
mod status {
    pub const UNCHANGED: &str = "unchanged";
    pub const CHANGED: &str = "changed";
    pub const ADDED: &str = "added";
    pub const REMOVED: &str = "removed";
    pub const REJECTED: &str = "rejected";
}

#[cfg(test)]
mod tests;
