//! Reading requests and responses, strictly, under [`Limits`].

use minicbor::data::Type;
use minicbor::Decoder;

use super::{is_legacy_body, keys, status};
use crate::protocol::{
    validate_request, validate_response, DecodeError, DocChange, DocOffer, DocReply, Head,
    HeadsKey, Limits, OfferedHeads, SyncRequest, SyncResponse, HEADS_KEY_LEN, PROTOCOL_VERSION,
};

type Result<T> = std::result::Result<T, DecodeError>;

/// Decodes and validates a request under `limits`.
pub fn decode_request(bytes: &[u8], limits: &Limits) -> Result<SyncRequest> {
    open(bytes, limits)?;
    let mut d = Decoder::new(bytes);
    let mut complete = None;
    let mut docs = None;
    let mut version = None;
    for _ in 0..map_len(&mut d, "request")? {
        match key(&mut d)? {
            keys::COMPLETE => set(&mut complete, keys::COMPLETE, d.bool().map_err(malformed)?)?,
            keys::DOCS => {
                let count = docs_len(&mut d, limits)?;
                let mut offers = Vec::with_capacity(count);
                for index in 0..count {
                    offers.push(offer(&mut d, index)?);
                }
                set(&mut docs, keys::DOCS, offers)?;
            }
            keys::VERSION => set(&mut version, keys::VERSION, d.u64().map_err(malformed)?)?,
            other => return Err(unknown("request", other)),
        }
    }
    close(&d, bytes)?;
    check_version(required(version, keys::VERSION, "request")?)?;
    let request = SyncRequest {
        complete: required(complete, keys::COMPLETE, "request")?,
        docs: required(docs, keys::DOCS, "request")?,
    };
    validate_request(&request, limits)?;
    Ok(request)
}

/// Decodes and validates a response under `limits`.
pub fn decode_response(bytes: &[u8], limits: &Limits) -> Result<SyncResponse> {
    open(bytes, limits)?;
    let mut d = Decoder::new(bytes);
    let mut docs = None;
    let mut version = None;
    for _ in 0..map_len(&mut d, "response")? {
        match key(&mut d)? {
            keys::DOCS => {
                let count = docs_len(&mut d, limits)?;
                let mut replies = Vec::with_capacity(count);
                for index in 0..count {
                    replies.push(reply(&mut d, index)?);
                }
                set(&mut docs, keys::DOCS, replies)?;
            }
            keys::VERSION => set(&mut version, keys::VERSION, d.u64().map_err(malformed)?)?,
            other => return Err(unknown("response", other)),
        }
    }
    close(&d, bytes)?;
    check_version(required(version, keys::VERSION, "response")?)?;
    let response = SyncResponse {
        docs: required(docs, keys::DOCS, "response")?,
    };
    validate_response(&response, limits)?;
    Ok(response)
}

/// The checks before any document is decoded: length, then version.
fn open(bytes: &[u8], limits: &Limits) -> Result<()> {
    if bytes.len() > limits.max_body_bytes {
        return Err(DecodeError::TooLarge {
            max: limits.max_body_bytes,
            got: bytes.len(),
        });
    }
    if is_legacy_body(bytes) {
        return Err(DecodeError::LegacyVersion {
            supported: PROTOCOL_VERSION,
        });
    }
    // The version is checked before the documents, whatever the order of the keys, so a
    // body from another version is reported as such rather than as malformed.
    match peek_version(bytes) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => Ok(()),
        Some(got) => Err(DecodeError::UnsupportedVersion {
            got,
            supported: PROTOCOL_VERSION,
        }),
        // Missing or unreadable: the full decode reports what is wrong.
        None => Ok(()),
    }
}

fn check_version(got: u64) -> Result<()> {
    if got != u64::from(PROTOCOL_VERSION) {
        return Err(DecodeError::UnsupportedVersion {
            got,
            supported: PROTOCOL_VERSION,
        });
    }
    Ok(())
}

/// The top-level `"v"`, found by skipping the other values without decoding them.
fn peek_version(bytes: &[u8]) -> Option<u64> {
    let mut d = Decoder::new(bytes);
    let len = d.map().ok()??;
    for _ in 0..len {
        let key = d.str().ok()?;
        if key == keys::VERSION {
            return d.u64().ok();
        }
        d.skip().ok()?;
    }
    None
}

fn close(d: &Decoder<'_>, bytes: &[u8]) -> Result<()> {
    let count = bytes.len() - d.position();
    if count > 0 {
        return Err(DecodeError::TrailingBytes { count });
    }
    Ok(())
}

fn offer(d: &mut Decoder<'_>, index: usize) -> Result<DocOffer> {
    let mut id = None;
    let mut heads = None;
    let mut heads_key = None;
    let mut message = None;
    for _ in 0..map_len(d, "offer")? {
        match key(d)? {
            keys::ID => set(&mut id, keys::ID, text(d)?)?,
            keys::HEADS => set(&mut heads, keys::HEADS, heads_of(d, index)?)?,
            keys::KEY => set(&mut heads_key, keys::KEY, key_of(d, index)?)?,
            keys::MESSAGE => set(&mut message, keys::MESSAGE, bytes(d)?)?,
            other => return Err(unknown("offer", other)),
        }
    }
    let heads = match (heads, heads_key) {
        (Some(heads), None) => OfferedHeads::Full(heads),
        (None, Some(key)) => OfferedHeads::Key(key),
        (Some(_), Some(_)) => {
            return Err(DecodeError::Malformed(format!(
                "offer at index {index} has both \"h\" and \"k\"; send one"
            )))
        }
        (None, None) => {
            return Err(DecodeError::Malformed(format!(
                "offer at index {index} has neither \"h\" nor \"k\""
            )))
        }
    };
    Ok(DocOffer {
        doc_id: required(id, keys::ID, "offer")?,
        heads,
        message,
    })
}

fn reply(d: &mut Decoder<'_>, index: usize) -> Result<DocReply> {
    let mut id = None;
    let mut heads = None;
    let mut message = None;
    let mut name: Option<String> = None;
    let mut reason = None;
    let mut code = None;
    for _ in 0..map_len(d, "reply")? {
        match key(d)? {
            keys::ID => set(&mut id, keys::ID, text(d)?)?,
            keys::HEADS => set(&mut heads, keys::HEADS, heads_of(d, index)?)?,
            keys::MESSAGE => set(&mut message, keys::MESSAGE, bytes(d)?)?,
            keys::STATUS => set(&mut name, keys::STATUS, text(d)?)?,
            keys::REASON => set(&mut reason, keys::REASON, text(d)?)?,
            keys::CODE => set(&mut code, keys::CODE, text(d)?)?,
            other => return Err(unknown("reply", other)),
        }
    }
    let name = required(name, keys::STATUS, "reply")?;
    let stray = |field: &str| {
        DecodeError::Malformed(format!(
            "reply at index {index} is {name:?} but has {field:?}"
        ))
    };
    let change = match name.as_str() {
        status::UNCHANGED | status::CHANGED | status::ADDED => {
            if reason.is_some() {
                return Err(stray(keys::REASON));
            }
            if code.is_some() {
                return Err(stray(keys::CODE));
            }
            match name.as_str() {
                status::UNCHANGED => DocChange::Unchanged,
                status::CHANGED => DocChange::Changed,
                _ => DocChange::Added,
            }
        }
        status::REMOVED => {
            if code.is_some() {
                return Err(stray(keys::CODE));
            }
            DocChange::Removed {
                reason: required(reason, keys::REASON, "removed reply")?,
            }
        }
        status::REJECTED => DocChange::Rejected {
            code: required(code, keys::CODE, "rejected reply")?,
            message: required(reason, keys::REASON, "rejected reply")?,
        },
        other => {
            return Err(DecodeError::Malformed(format!(
                "reply at index {index} has an unknown status {other:?}"
            )))
        }
    };
    Ok(DocReply {
        doc_id: required(id, keys::ID, "reply")?,
        change,
        heads: required(heads, keys::HEADS, "reply")?,
        message,
    })
}

/// A definite map length; maps here have a handful of keys, so anything larger is refused
/// before it is walked.
fn map_len(d: &mut Decoder<'_>, what: &str) -> Result<u64> {
    match d.map().map_err(malformed)? {
        Some(len) if len <= 8 => Ok(len),
        Some(len) => Err(DecodeError::Malformed(format!(
            "{what} map has {len} keys, more than any version defines"
        ))),
        None => Err(DecodeError::Malformed(format!(
            "{what} map has an indefinite length"
        ))),
    }
}

fn docs_len(d: &mut Decoder<'_>, limits: &Limits) -> Result<usize> {
    let declared = d
        .array()
        .map_err(malformed)?
        .ok_or_else(|| DecodeError::Malformed("\"d\" has an indefinite length".to_owned()))?;
    let max = u64::try_from(limits.max_docs).unwrap_or(u64::MAX);
    if declared > max {
        return Err(DecodeError::TooManyDocuments {
            max: limits.max_docs,
            got: declared,
        });
    }
    // Each entry takes at least one byte: a count beyond the remaining bytes is a lie.
    let remaining = (d.input().len() - d.position()) as u64;
    if declared > remaining {
        return Err(DecodeError::Malformed(format!(
            "\"d\" declares {declared} entries in {remaining} bytes"
        )));
    }
    Ok(declared as usize)
}

fn key<'b>(d: &mut Decoder<'b>) -> Result<&'b str> {
    if d.datatype().map_err(malformed)? != Type::String {
        return Err(DecodeError::Malformed(
            "map keys must be definite-length text strings".to_owned(),
        ));
    }
    d.str().map_err(malformed)
}

fn text(d: &mut Decoder<'_>) -> Result<String> {
    if d.datatype().map_err(malformed)? != Type::String {
        return Err(DecodeError::Malformed(
            "expected a definite-length text string".to_owned(),
        ));
    }
    d.str().map(str::to_owned).map_err(malformed)
}

fn bytes(d: &mut Decoder<'_>) -> Result<Vec<u8>> {
    if d.datatype().map_err(malformed)? != Type::Bytes {
        return Err(DecodeError::Malformed(
            "expected a definite-length byte string".to_owned(),
        ));
    }
    d.bytes().map(<[u8]>::to_vec).map_err(malformed)
}

/// Heads: a byte string of concatenated 32-byte hashes, returned sorted and deduplicated.
fn heads_of(d: &mut Decoder<'_>, index: usize) -> Result<Vec<Head>> {
    let raw = bytes(d)?;
    if raw.len() % 32 != 0 {
        return Err(DecodeError::Malformed(format!(
            "heads of the entry at index {index} are {} bytes, not a multiple of 32",
            raw.len()
        )));
    }
    let mut heads: Vec<Head> = raw
        .chunks_exact(32)
        .filter_map(|chunk| <Head>::try_from(chunk).ok())
        .collect();
    heads.sort_unstable();
    heads.dedup();
    Ok(heads)
}

fn key_of(d: &mut Decoder<'_>, index: usize) -> Result<HeadsKey> {
    let raw = bytes(d)?;
    HeadsKey::try_from(raw.as_slice()).map_err(|_| {
        DecodeError::Malformed(format!(
            "heads key of the offer at index {index} is {} bytes, not {HEADS_KEY_LEN}",
            raw.len()
        ))
    })
}

fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<()> {
    if slot.replace(value).is_some() {
        return Err(DecodeError::Malformed(format!(
            "key {name:?} appears more than once"
        )));
    }
    Ok(())
}

fn required<T>(value: Option<T>, name: &str, what: &str) -> Result<T> {
    value.ok_or_else(|| DecodeError::Malformed(format!("{what} lacks the key {name:?}")))
}

fn unknown(what: &str, key: &str) -> DecodeError {
    DecodeError::Malformed(format!("{what} has an unknown key {key:?}"))
}

fn malformed(e: minicbor::decode::Error) -> DecodeError {
    DecodeError::Malformed(e.to_string())
}
