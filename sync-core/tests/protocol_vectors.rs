//! Golden vectors of the sync protocol's wire format (docs/PROTOCOL.md), shared with every
//! client: `vectors/protocol/*.json`, one case per file, each an encoded body, its readable
//! value and what it shows.
//!
//! The test builds every case from fixed inputs (fixed actors and change times, so the
//! Automerge messages inside are the same bytes every run), then checks that the codec
//! produces the committed bytes exactly and decodes them back to the committed value. Set
//! `FIELDSYNC_BLESS_VECTORS=1` to rewrite the files after a deliberate change of the format
//! (and say why in the commit).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use automerge::sync::{self, SyncDoc};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ChangeHash, ROOT};
use serde_json::{json, Value};
use sync_core::protocol::{
    decode_request, decode_response, encode_request, encode_response, heads_key, heads_to_wire,
    DocChange, DocOffer, DocReply, Limits, OfferedHeads, SyncRequest, SyncResponse,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors/protocol")
}

/// A small work-order-like document made deterministically.
fn doc(actor: u8, edits: &[(&str, &str)], time: i64) -> Automerge {
    let mut doc = Automerge::new().with_actor(ActorId::from([actor; 16]));
    for (i, (key, value)) in edits.iter().enumerate() {
        let mut tx = doc.transaction();
        tx.put(ROOT, *key, *value).unwrap();
        tx.commit_with(CommitOptions::default().with_time(time + i as i64));
    }
    doc
}

fn heads_hex(heads: &[[u8; 32]]) -> Value {
    Value::Array(heads.iter().map(|h| json!(hex::encode(h))).collect())
}

fn offer_value(offer: &DocOffer) -> Value {
    let mut v = json!({ "i": offer.doc_id });
    match &offer.heads {
        OfferedHeads::Full(heads) => v["h"] = heads_hex(heads),
        OfferedHeads::Key(key) => v["k"] = json!(hex::encode(key)),
    }
    if let Some(m) = &offer.message {
        v["m"] = json!(hex::encode(m));
    }
    v
}

fn reply_value(reply: &DocReply) -> Value {
    let mut v = json!({ "i": reply.doc_id, "h": heads_hex(&reply.heads) });
    match &reply.change {
        DocChange::Unchanged => v["s"] = json!("unchanged"),
        DocChange::Changed => v["s"] = json!("changed"),
        DocChange::Added => v["s"] = json!("added"),
        DocChange::Removed { reason } => {
            v["s"] = json!("removed");
            v["r"] = json!(reason);
        }
        DocChange::Rejected { code, message } => {
            v["s"] = json!("rejected");
            v["e"] = json!(code);
            v["r"] = json!(message);
        }
    }
    if let Some(m) = &reply.message {
        v["m"] = json!(hex::encode(m));
    }
    v
}

enum Body {
    Request(SyncRequest),
    Response(SyncResponse),
}

struct Case {
    name: &'static str,
    description: &'static str,
    body: Body,
}

fn cases() -> Vec<Case> {
    // The server's copy of a job, and a device that synced it and then worked offline.
    let server = doc(
        1,
        &[("status", "assigned"), ("customer", "Ada")],
        1_700_000_000_000,
    );
    let shared = server.get_heads();
    let mut device = server.fork().with_actor(ActorId::from([2; 16]));
    {
        let mut tx = device.transaction();
        tx.put(ROOT, "status", "on_site").unwrap();
        tx.commit_with(CommitOptions::default().with_time(1_700_000_100_000));
    }
    // The device's first message after the shared heads carries its one change.
    let device_message = first_message(&mut device, &shared);
    // The server's whole-document message for a device that lacks the job.
    let mut server_copy = server.clone();
    let added_message = first_message(&mut server_copy, &[]);
    let other = doc(3, &[("status", "open")], 1_700_000_200_000);

    let key_of = |d: &Automerge| OfferedHeads::Key(heads_key(&d.get_heads()));
    vec![
        Case {
            name: "request-fresh-device",
            description: "A device with no documents asks for everything it may see: \
                complete, no offers.",
            body: Body::Request(SyncRequest {
                complete: true,
                docs: vec![],
            }),
        },
        Case {
            name: "request-idle-device",
            description: "An idle device offers each document by the 8-byte key of its heads \
                (first 8 bytes of SHA-256 over the sorted heads concatenated) and no message.",
            body: Body::Request(SyncRequest {
                complete: true,
                docs: vec![
                    DocOffer {
                        doc_id: "WO-1001".into(),
                        heads: key_of(&server),
                        message: None,
                    },
                    DocOffer {
                        doc_id: "WO-1002".into(),
                        heads: key_of(&other),
                        message: None,
                    },
                ],
            }),
        },
        Case {
            name: "request-device-with-changes",
            description: "A device that changed WO-1001 offline offers its full heads and an \
                Automerge sync message carrying the change; WO-1002 is idle.",
            body: Body::Request(SyncRequest {
                complete: true,
                docs: vec![
                    DocOffer {
                        doc_id: "WO-1001".into(),
                        heads: OfferedHeads::Full(heads_to_wire(&device.get_heads())),
                        message: Some(device_message),
                    },
                    DocOffer {
                        doc_id: "WO-1002".into(),
                        heads: key_of(&other),
                        message: None,
                    },
                ],
            }),
        },
        Case {
            name: "request-follow-up",
            description: "A follow-up round (complete false) offers only the documents still \
                converging, always with full heads.",
            body: Body::Request(SyncRequest {
                complete: false,
                docs: vec![DocOffer {
                    doc_id: "WO-1001".into(),
                    heads: OfferedHeads::Full(heads_to_wire(&device.get_heads())),
                    message: None,
                }],
            }),
        },
        Case {
            name: "response-idle",
            description: "Nothing changed anywhere: unchanged documents are left out, so the \
                response is an empty list.",
            body: Body::Response(SyncResponse { docs: vec![] }),
        },
        Case {
            name: "response-added",
            description: "A job newly assigned to the device: `added`, with a message that \
                carries the whole document (apply it to a new empty document).",
            body: Body::Response(SyncResponse {
                docs: vec![DocReply {
                    doc_id: "WO-1001".into(),
                    change: DocChange::Added,
                    heads: heads_to_wire(&server.get_heads()),
                    message: Some(added_message),
                }],
            }),
        },
        Case {
            name: "response-changed-removed-rejected",
            description: "`changed` with the server's heads and no message (the server took \
                the device's change and needs nothing more); `removed` naming the device's \
                heads (the server holds them all, so deleting the copy loses nothing); \
                `rejected` with a code and a message (keep the local data).",
            body: Body::Response(SyncResponse {
                docs: vec![
                    DocReply {
                        doc_id: "WO-1001".into(),
                        change: DocChange::Changed,
                        heads: heads_to_wire(&device.get_heads()),
                        message: None,
                    },
                    DocReply {
                        doc_id: "WO-1002".into(),
                        change: DocChange::Removed {
                            reason: "reassigned: no longer yours".into(),
                        },
                        heads: heads_to_wire(&other.get_heads()),
                        message: None,
                    },
                    DocReply {
                        doc_id: "WO-1003".into(),
                        change: DocChange::Rejected {
                            code: "forbidden_change".into(),
                            message: "a technician may not change the customer".into(),
                        },
                        heads: heads_to_wire(&shared),
                        message: None,
                    },
                ],
            }),
        },
    ]
}

/// The first sync message to a peer assumed to hold exactly `theirs`: every change after
/// them, as the protocol's priming produces.
fn first_message(doc: &mut Automerge, theirs: &[ChangeHash]) -> Vec<u8> {
    let mut state = sync::State::new();
    let mut flags = sync::MessageFlags::new();
    flags.set(sync::MessageFlags::SUPPORTS_SYNC_RESET);
    let peer_says = sync::Message {
        heads: theirs.to_vec(),
        need: Vec::new(),
        have: vec![sync::Have {
            last_sync: theirs.to_vec(),
            bloom: sync::BloomFilter::default(),
        }],
        changes: sync::ChunkList::empty(),
        flags: Some(flags),
        version: sync::MessageVersion::V1,
    };
    doc.receive_sync_message(&mut state, peer_says).unwrap();
    doc.generate_sync_message(&mut state).unwrap().encode()
}

fn file_value(case: &Case) -> Value {
    let (kind, hex, value) = match &case.body {
        Body::Request(r) => (
            "request",
            hex::encode(encode_request(r).unwrap()),
            json!({
                "c": r.complete,
                "d": r.docs.iter().map(offer_value).collect::<Vec<_>>(),
                "v": 2,
            }),
        ),
        Body::Response(r) => (
            "response",
            hex::encode(encode_response(r).unwrap()),
            json!({
                "d": r.docs.iter().map(reply_value).collect::<Vec<_>>(),
                "v": 2,
            }),
        ),
    };
    json!({
        "name": case.name,
        "description": case.description,
        "kind": kind,
        "hex": hex,
        "value": value,
    })
}

#[test]
fn the_codec_produces_and_accepts_every_golden_vector_byte_for_byte() {
    let bless = std::env::var_os("FIELDSYNC_BLESS_VECTORS").is_some();
    let cases = cases();
    assert!(cases.len() >= 7);
    for case in &cases {
        let path = dir().join(format!("{}.json", case.name));
        let built = file_value(case);
        if bless {
            std::fs::create_dir_all(dir()).unwrap();
            let text = serde_json::to_string_pretty(&built).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (bless with FIELDSYNC_BLESS_VECTORS=1)",
                path.display()
            )
        });
        let committed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            committed, built,
            "{} differs from what the codec writes",
            case.name
        );
        // Accepts: the committed bytes decode to the case's value.
        let bytes = hex::decode(committed["hex"].as_str().unwrap()).unwrap();
        match &case.body {
            Body::Request(r) => assert_eq!(&decode_request(&bytes, &Limits::default()).unwrap(), r),
            Body::Response(r) => {
                assert_eq!(&decode_response(&bytes, &Limits::default()).unwrap(), r)
            }
        }
    }
    // No stale vector is left behind.
    let names: Vec<String> = cases.iter().map(|c| format!("{}.json", c.name)).collect();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(names.contains(&name), "{name} is not a case any more");
    }
}

#[test]
fn the_messages_inside_the_vectors_carry_what_they_say() {
    let cases = cases();
    let Body::Response(added) = &cases[5].body else {
        panic!("case 5 is the added response")
    };
    // A new empty document that applies the `added` message holds the server's document.
    let mut fresh = Automerge::new();
    let message = sync::Message::decode(added.docs[0].message.as_ref().unwrap()).unwrap();
    fresh
        .receive_sync_message(&mut sync::State::new(), message)
        .unwrap();
    assert_eq!(heads_to_wire(&fresh.get_heads()), added.docs[0].heads);
}
