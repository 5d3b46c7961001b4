//! Writing requests and responses in deterministic CBOR.

use minicbor::encode::Write;
use minicbor::Encoder;

use super::{keys, status};
use crate::protocol::{
    DocChange, DocOffer, DocReply, EncodeError, Head, OfferedHeads, SyncRequest, SyncResponse,
    PROTOCOL_VERSION,
};

type Result<T> = std::result::Result<T, minicbor::encode::Error<std::convert::Infallible>>;

/// Encodes a request.
pub fn encode_request(request: &SyncRequest) -> std::result::Result<Vec<u8>, EncodeError> {
    let mut e = Encoder::new(Vec::with_capacity(16 + request.docs.len() * 48));
    request_map(&mut e, request).map_err(|err| EncodeError::Serialize(err.to_string()))?;
    Ok(e.into_writer())
}

/// Encodes a response.
pub fn encode_response(response: &SyncResponse) -> std::result::Result<Vec<u8>, EncodeError> {
    let mut e = Encoder::new(Vec::with_capacity(16 + response.docs.len() * 64));
    response_map(&mut e, response).map_err(|err| EncodeError::Serialize(err.to_string()))?;
    Ok(e.into_writer())
}

// Keys are written in bytewise order: "c" < "d" < "v", and "e" < "h" < "i" < "k" < "m" <
// "r" < "s".

fn request_map<W: Write<Error = std::convert::Infallible>>(
    e: &mut Encoder<W>,
    request: &SyncRequest,
) -> Result<()> {
    e.map(3)?;
    e.str(keys::COMPLETE)?.bool(request.complete)?;
    e.str(keys::DOCS)?.array(request.docs.len() as u64)?;
    for offer in &request.docs {
        offer_map(e, offer)?;
    }
    e.str(keys::VERSION)?.u16(PROTOCOL_VERSION)?;
    Ok(())
}

fn offer_map<W: Write<Error = std::convert::Infallible>>(
    e: &mut Encoder<W>,
    offer: &DocOffer,
) -> Result<()> {
    e.map(2 + u64::from(offer.message.is_some()))?;
    if let OfferedHeads::Full(heads) = &offer.heads {
        e.str(keys::HEADS)?;
        heads_bytes(e, heads)?;
    }
    e.str(keys::ID)?.str(&offer.doc_id)?;
    if let OfferedHeads::Key(key) = &offer.heads {
        e.str(keys::KEY)?.bytes(key)?;
    }
    if let Some(message) = &offer.message {
        e.str(keys::MESSAGE)?.bytes(message)?;
    }
    Ok(())
}

fn response_map<W: Write<Error = std::convert::Infallible>>(
    e: &mut Encoder<W>,
    response: &SyncResponse,
) -> Result<()> {
    e.map(2)?;
    e.str(keys::DOCS)?.array(response.docs.len() as u64)?;
    for reply in &response.docs {
        reply_map(e, reply)?;
    }
    e.str(keys::VERSION)?.u16(PROTOCOL_VERSION)?;
    Ok(())
}

fn reply_map<W: Write<Error = std::convert::Infallible>>(
    e: &mut Encoder<W>,
    reply: &DocReply,
) -> Result<()> {
    let (code, reason, name) = match &reply.change {
        DocChange::Unchanged => (None, None, status::UNCHANGED),
        DocChange::Changed => (None, None, status::CHANGED),
        DocChange::Added => (None, None, status::ADDED),
        DocChange::Removed { reason } => (None, Some(reason.as_str()), status::REMOVED),
        DocChange::Rejected { code, message } => (
            Some(code.as_str()),
            Some(message.as_str()),
            status::REJECTED,
        ),
    };
    let fields = 3
        + u64::from(code.is_some())
        + u64::from(reply.message.is_some())
        + u64::from(reason.is_some());
    e.map(fields)?;
    if let Some(code) = code {
        e.str(keys::CODE)?.str(code)?;
    }
    e.str(keys::HEADS)?;
    heads_bytes(e, &reply.heads)?;
    e.str(keys::ID)?.str(&reply.doc_id)?;
    if let Some(message) = &reply.message {
        e.str(keys::MESSAGE)?.bytes(message)?;
    }
    if let Some(reason) = reason {
        e.str(keys::REASON)?.str(reason)?;
    }
    e.str(keys::STATUS)?.str(name)?;
    Ok(())
}

/// Heads as one byte string: the 32-byte hashes concatenated in ascending order.
fn heads_bytes<W: Write<Error = std::convert::Infallible>>(
    e: &mut Encoder<W>,
    heads: &[Head],
) -> Result<()> {
    let mut sorted: Vec<&Head> = heads.iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut bytes = Vec::with_capacity(sorted.len() * 32);
    for head in sorted {
        bytes.extend_from_slice(head);
    }
    e.bytes(&bytes)?;
    Ok(())
}
