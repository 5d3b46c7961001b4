//! Serde adapter for `Option<Vec<u8>>` fields holding opaque bytes.
//!
//! Serde's default treats `Vec<u8>` as a sequence of numbers. For postcard the wire form
//! is the same (a varint length then the raw bytes), but going through the byte-buffer
//! path decodes an 8 MiB sync message with one copy instead of eight million visitor calls.
//! Sequences are still accepted, so self-describing formats (JSON in tests and tools) work.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// Serializes `Some(bytes)` as an optional byte string.
pub(crate) fn serialize<S: Serializer>(
    value: &Option<Vec<u8>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(bytes) => serializer.serialize_some(&Bytes(bytes)),
        None => serializer.serialize_none(),
    }
}

/// Deserializes an optional byte string (or sequence of bytes).
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<u8>>, D::Error> {
    Ok(Option::<ByteBuf>::deserialize(deserializer)?.map(|buf| buf.0))
}

struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

struct ByteBuf(Vec<u8>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(ByteBufVisitor)
    }
}

struct ByteBufVisitor;

/// Upper bound on the capacity reserved from an untrusted sequence length hint.
const MAX_PREALLOCATION: usize = 64 * 1024;

impl<'de> Visitor<'de> for ByteBufVisitor {
    type Value = ByteBuf;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a byte string")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<ByteBuf, E> {
        Ok(ByteBuf(bytes.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<ByteBuf, E> {
        Ok(ByteBuf(bytes))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
        let hint = seq.size_hint().unwrap_or(0).min(MAX_PREALLOCATION);
        let mut bytes = Vec::with_capacity(hint);
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(ByteBuf(bytes))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "super")]
        message: Option<Vec<u8>>,
    }

    #[test]
    fn postcard_writes_a_length_then_raw_bytes() {
        let holder = Holder {
            message: Some(vec![1, 2, 3]),
        };
        let bytes = postcard::to_allocvec(&holder).unwrap();
        assert_eq!(bytes, vec![1, 3, 1, 2, 3]);
        assert_eq!(postcard::from_bytes::<Holder>(&bytes).unwrap(), holder);
    }

    #[test]
    fn postcard_writes_one_byte_for_none() {
        let holder = Holder { message: None };
        let bytes = postcard::to_allocvec(&holder).unwrap();
        assert_eq!(bytes, vec![0]);
        assert_eq!(postcard::from_bytes::<Holder>(&bytes).unwrap(), holder);
    }

    #[test]
    fn json_round_trips_through_a_sequence() {
        let holder = Holder {
            message: Some(vec![0, 255]),
        };
        let text = serde_json::to_string(&holder).unwrap();
        assert_eq!(text, r#"{"message":[0,255]}"#);
        assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), holder);
    }
}
