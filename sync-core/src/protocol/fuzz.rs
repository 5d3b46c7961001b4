//! Entry points for the fuzz targets (`fuzz/`, docs/FUZZING.md) and for the replay tests of
//! their crashers (`tests/fuzz-crashers/`): the fuzzer and `cargo test` call the same function.
//!
//! The sync request and response decoders need no entry of their own: the targets call
//! [`super::decode_request`] and [`super::decode_response`] under [`Limits::DEFAULT`], and
//! [`request_violation`] and [`response_violation`] check the round trip. The server's
//! merge-and-validate
//! step ([`ingest`]) needs a stored document and an offer: [`ingest_input`] builds the offer
//! from the fuzzer's bytes and runs the step on a copy of [`stored_work_order`], and
//! [`ingest_violation`] states what must hold afterwards whatever the bytes were.

use std::collections::HashMap;

use automerge::Automerge;

use super::ingest::{ingest, IngestError, Ingested};
use super::{
    decode_request, decode_response, encode_request, encode_response, heads_key, DecodeError,
    DocReply, Limits, OfferedHeads, PeerState, SyncRequest, SyncResponse,
};
use crate::workorder::upload::Uploader;
use crate::workorder::{Actor, Event, Intake, PartInput, Role, WorkOrder, WorkOrderError};

/// The id of the stored document the ingest target offers messages for.
pub const STORED_ID: &str = "WO-FUZZ-1";

/// Service time of the stored document's first event (ms since the epoch).
pub const STORED_T0: i64 = 1_790_000_000_000;

/// The uploaders byte 0 of an ingest input chooses from (bits 0-1): the assigned technician,
/// another technician, a dispatcher, a manager. Their devices: `phone-a`, `phone-b`,
/// `office-2`, `desk-1`.
pub const UPLOADERS: [(&str, Role, &str); 4] = [
    ("tech-a", Role::Technician, "phone-a"),
    ("tech-b", Role::Technician, "phone-b"),
    ("disp-1", Role::Dispatcher, "office-2"),
    ("mgr-1", Role::Manager, "desk-1"),
];

/// What must hold after `decode_request(data, &Limits::DEFAULT)` returned `decoded`; `None`
/// when it does, else the property broken. A decoded request re-encodes to a body no longer
/// than `data` (the encoding is deterministic and shortest) that decodes to an equal request
/// and re-encodes to the same bytes; a refused one is refused with a message.
pub fn request_violation(
    data: &[u8],
    decoded: &Result<SyncRequest, DecodeError>,
) -> Option<String> {
    round_trip_violation(data, decoded, encode_request, decode_request)
}

/// [`request_violation`] for `decode_response(data, &Limits::DEFAULT)`.
pub fn response_violation(
    data: &[u8],
    decoded: &Result<SyncResponse, DecodeError>,
) -> Option<String> {
    round_trip_violation(data, decoded, encode_response, decode_response)
}

fn round_trip_violation<T: PartialEq, E: std::fmt::Display>(
    data: &[u8],
    decoded: &Result<T, DecodeError>,
    encode: impl Fn(&T) -> Result<Vec<u8>, E>,
    decode: impl Fn(&[u8], &Limits) -> Result<T, DecodeError>,
) -> Option<String> {
    let value = match decoded {
        Ok(value) => value,
        Err(e) if e.to_string().is_empty() => return Some("an error without a message".into()),
        Err(_) => return None,
    };
    let bytes = match encode(value) {
        Ok(bytes) => bytes,
        Err(e) => return Some(format!("a decoded body does not encode again: {e}")),
    };
    if bytes.len() > data.len() {
        return Some(format!(
            "a {}-byte body re-encodes to {} bytes: the encoding is not the shortest",
            data.len(),
            bytes.len()
        ));
    }
    match decode(&bytes, &Limits::DEFAULT) {
        Err(e) => Some(format!("the re-encoded body does not decode: {e}")),
        Ok(back) if back != *value => Some("the re-encoded body decodes to another value".into()),
        Ok(back) => match encode(&back) {
            Ok(again) if again == bytes => None,
            _ => Some("encoding is not deterministic: a second round gives other bytes".into()),
        },
    }
}

/// The stored work order: created and assigned to `tech-a` in the office, accepted, on site,
/// with a part line and notes written on `phone-a`: events of several kinds, two authors and
/// notes text, built the same way (same actors, same times, same hashes) on every call.
pub fn stored_work_order() -> Result<WorkOrder, WorkOrderError> {
    const MIN: i64 = 60_000;
    let office = Actor::new("disp-1", Role::Dispatcher, "office-1");
    let tech = Actor::new("tech-a", Role::Technician, "phone-a");
    let mut wo = WorkOrder::create(STORED_ID, &office, Intake::example(), STORED_T0)?;
    wo.assign(&office, "tech-a", None, STORED_T0 + MIN)?;
    let mut phone = wo.fork_for("phone-a")?;
    phone.accept(&tech, STORED_T0 + 2 * MIN)?;
    phone.on_site(&tech, STORED_T0 + 3 * MIN)?;
    phone.add_part(
        &tech,
        PartInput::new("PUMP-1", 1, 4_990),
        STORED_T0 + 4 * MIN,
    )?;
    phone.edit_notes(&tech, "pump blocked by a coin", STORED_T0 + 5 * MIN)?;
    wo.merge(&mut phone)?;
    wo.fork_for("server")
}

/// The uploader byte 0 of an ingest input selects.
pub fn ingest_uploader(data: &[u8]) -> Uploader<'static> {
    let (user, role, device) = UPLOADERS[usize::from(data.first().copied().unwrap_or(0) & 3)];
    Uploader { user, role, device }
}

/// Runs the server's merge-and-validate step ([`ingest`]) on a copy of `stored`, for the offer
/// that `data` describes:
///
/// - byte 0, bits 0-1: the uploader ([`UPLOADERS`]);
/// - byte 0, bit 2: the offered heads: clear, none (`Full([])`, a device with nothing);
///   set, a heads key that matches nothing the server knows;
/// - byte 0, bit 3: the device's sync state on the server: clear, new; set, a device that
///   last synced at the stored heads;
/// - the rest: the encoded Automerge sync message (no message when there is none).
pub fn ingest_input(stored: &Automerge, data: &[u8]) -> Result<Ingested, IngestError> {
    let mode = data.first().copied().unwrap_or(0);
    let mut doc = stored.clone();
    let heads = if mode & 4 == 0 {
        OfferedHeads::Full(Vec::new())
    } else {
        let mut key = heads_key(&[]);
        key[0] ^= 0xA5;
        OfferedHeads::Key(key)
    };
    let mut state = PeerState::new();
    if mode & 8 != 0 {
        state.sync.shared_heads = stored.get_heads();
        state.sent_heads = stored.get_heads();
    }
    let offer = super::DocOffer {
        doc_id: STORED_ID.to_owned(),
        heads,
        message: data.get(1..).map(<[u8]>::to_vec),
    };
    ingest(&mut doc, &mut state, &offer, ingest_uploader(data))
}

/// What must hold after [`ingest_input`]`(stored, data)` returned `result`; `None` when it
/// does, else the property broken:
///
/// - an accepted upload adds only events in the uploader's own name (user, role, device);
/// - it keeps every stored event, unchanged (history is append-only);
/// - the reply for the device (also for a refused message) is a valid response entry that
///   encodes and decodes back to itself.
pub fn ingest_violation(
    stored: &Automerge,
    data: &[u8],
    result: &Result<Ingested, IngestError>,
) -> Option<String> {
    let reply =
        match result {
            Ok(ingested) => {
                if let Some(accepted) = &ingested.accepted {
                    let who = ingest_uploader(data);
                    if let Some(e) = accepted.new_events.iter().find(|e| {
                        e.user != who.user || e.role != who.role || e.device != who.device
                    }) {
                        return Some(format!(
                            "accepted event {} in the name of {} ({}) on {}, uploaded by {} on {}",
                            e.id, e.user, e.role, e.device, who.user, who.device
                        ));
                    }
                    if let Some(lost) = lost_event(stored, &accepted.history) {
                        return Some(lost);
                    }
                }
                ingested.responded.reply.clone()
            }
            Err(IngestError::Sync(e)) => e.to_reply(),
            Err(IngestError::Refused { heads_before, .. }) => {
                if *heads_before != stored.get_heads() {
                    return Some("a refusal names other heads than the stored ones".to_owned());
                }
                return None;
            }
        };
    reply_violation(reply)
}

/// The first stored event missing from `history` or changed in it.
fn lost_event(stored: &Automerge, history: &[Event]) -> Option<String> {
    let before = match WorkOrder::from_automerge(stored.clone()).history() {
        Ok(events) => events,
        Err(e) => return Some(format!("the stored document does not fold: {e}")),
    };
    let after: HashMap<&str, &Event> = history.iter().map(|e| (e.id.as_str(), e)).collect();
    before.iter().find_map(|e| match after.get(e.id.as_str()) {
        None => Some(format!("stored event {} is gone after the upload", e.id)),
        Some(now) if *now != e => Some(format!("stored event {} changed in the upload", e.id)),
        Some(_) => None,
    })
}

fn reply_violation(reply: DocReply) -> Option<String> {
    let response = SyncResponse { docs: vec![reply] };
    let bytes = match encode_response(&response) {
        Ok(bytes) => bytes,
        Err(e) => return Some(format!("the reply does not encode: {e}")),
    };
    match decode_response(&bytes, &Limits::DEFAULT) {
        Ok(back) if back == response => None,
        Ok(_) => Some("the reply decodes to something else".to_owned()),
        Err(e) => Some(format!("the reply is not a valid response: {e}")),
    }
}
