//! The batched sync protocol end to end: round-trip counts, lost responses, limits, and
//! property tests of the codec and of convergence.
//!
//! Every scenario runs through `sync_core::protocol::testing::Network`, which uses the real
//! client, the real server functions and the real codec. Measurements are printed with a
//! `measure:` prefix (`cargo test -p sync-core --test protocol -- --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ReadDoc, ROOT};
use proptest::prelude::*;
use sync_core::protocol::server::respond;
use sync_core::protocol::testing::{put, Network, NetworkError, ServerError, SyncStats};
use sync_core::protocol::{
    decode_request, decode_response, encode_request, encode_response, heads_to_wire,
    validate_request, validate_response, DecodeError, DocChange, DocError, DocOffer, DocReply,
    Limits, OfferedHeads, PeerState, SyncRequest, SyncResponse,
};

const DEVICE: &str = "tech";

fn doc_id(i: usize) -> String {
    format!("wo-{i:05}")
}

/// A server with `n` work orders and a device that has downloaded them all.
fn synced_network(n: usize) -> Network {
    let mut net = Network::new();
    for i in 0..n {
        put(net.server_mut().create_doc(&doc_id(i)), "status", "open").unwrap();
    }
    net.add_device(DEVICE);
    let stats = net.sync(DEVICE).unwrap();
    assert_eq!(stats.report.added.len(), n);
    net
}

fn all_converged(net: &Network, n: usize) -> bool {
    (0..n).all(|i| net.converged(&doc_id(i)))
}

fn measure(label: &str, stats: &SyncStats) {
    eprintln!(
        "measure: {label}: {} round trip(s), {} request bytes, {} response bytes, {} messages sent, {} received, {} changes received",
        stats.round_trips,
        stats.request_bytes,
        stats.response_bytes,
        stats.report.messages_sent,
        stats.report.messages_received,
        stats.report.changes_received,
    );
}

fn status_on_device(net: &Network, i: usize) -> Option<String> {
    let doc = net.device_doc(DEVICE, &doc_id(i))?;
    let (value, _) = doc.get(ROOT, "status").ok()??;
    value.as_str().map(str::to_owned)
}

// ---------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------

#[test]
fn a_fresh_device_downloads_200_documents_in_one_round_trip() {
    let mut net = Network::new();
    for i in 0..200 {
        put(net.server_mut().create_doc(&doc_id(i)), "status", "open").unwrap();
    }
    net.add_device(DEVICE);
    let stats = net.sync(DEVICE).unwrap();
    measure("fresh device, 200 documents", &stats);
    assert_eq!(stats.round_trips, 1);
    assert_eq!(stats.report.added.len(), 200);
    assert_eq!(stats.report.changes_received, 200);
    assert_eq!(stats.report.messages_sent, 0);
    assert!(all_converged(&net, 200));
    assert_eq!(status_on_device(&net, 199).as_deref(), Some("open"));
}

#[test]
fn an_idle_device_with_200_documents_finishes_in_one_round_trip_with_an_empty_response() {
    let mut net = synced_network(200);
    let applied_before = net.server().changes_applied();
    let stats = net.sync(DEVICE).unwrap();
    measure("idle device, 200 documents", &stats);
    assert_eq!(stats.round_trips, 1);
    assert_eq!(
        stats.report.messages_sent, 0,
        "heads alone, no sync messages"
    );
    assert_eq!(stats.report.messages_received, 0);
    // {"d": [], "v": 2}: unchanged documents are left out.
    assert_eq!(stats.response_bytes, 7);
    // {"c": true, "d": [200 offers], "v": 2}: map (1), "c" and its value (3), "d" and the
    // array's length (4), "v" and 2 (3); each offer a map (1), "i" and the id (2 + 9),
    // "k" and the heads key (2 + 9): 23 bytes for an 8-byte id.
    assert_eq!(stats.request_bytes, 1 + 3 + 4 + 3 + 200 * 23);
    assert_eq!(net.server().changes_applied(), applied_before);
}

#[test]
fn a_device_with_changes_in_50_of_200_documents_finishes_within_two_round_trips() {
    let mut net = synced_network(200);
    for i in (0..200).step_by(4) {
        let doc = net.device_doc_mut(DEVICE, &doc_id(i)).unwrap();
        put(doc, "status", "on_site").unwrap();
    }
    let applied_before = net.server().changes_applied();
    let stats = net.sync(DEVICE).unwrap();
    measure("device changed 50 of 200 documents", &stats);
    // The guarantee is at most two; priming the first message with the shared heads
    // makes it one.
    assert!(stats.round_trips <= 2);
    assert_eq!(stats.round_trips, 1);
    assert_eq!(stats.report.messages_sent, 50);
    assert_eq!(
        stats.report.messages_received, 0,
        "the server's heads acknowledge the changes; no pure acks"
    );
    assert_eq!(net.server().changes_applied() - applied_before, 50);
    assert!(all_converged(&net, 200));

    // The acknowledgement was recorded: the next sync is idle again.
    let again = net.sync(DEVICE).unwrap();
    assert_eq!(again.round_trips, 1);
    assert_eq!(again.report.messages_sent, 0);
    assert_eq!(again.response_bytes, 7);
}

#[test]
fn server_only_changes_arrive_in_one_round_trip() {
    let mut net = synced_network(200);
    for i in 0..30 {
        let doc = net.server_mut().doc_mut(&doc_id(i)).unwrap();
        put(doc, "status", "assigned").unwrap();
    }
    let stats = net.sync(DEVICE).unwrap();
    measure("server changed 30 of 200 documents", &stats);
    assert_eq!(stats.round_trips, 1);
    assert_eq!(stats.report.messages_sent, 0);
    assert_eq!(stats.report.messages_received, 30);
    assert_eq!(stats.report.changes_received, 30);
    assert_eq!(stats.report.changed.len(), 30);
    assert!(all_converged(&net, 200));
    assert_eq!(status_on_device(&net, 0).as_deref(), Some("assigned"));

    let again = net.sync(DEVICE).unwrap();
    assert_eq!(again.report.messages_sent, 0, "no ack is owed");
    assert_eq!(again.response_bytes, 7);
}

#[test]
fn concurrent_changes_on_both_sides_merge_in_one_round_trip() {
    let mut net = synced_network(20);
    for i in 0..10 {
        put(
            net.server_mut().doc_mut(&doc_id(i)).unwrap(),
            "status",
            "assigned",
        )
        .unwrap();
        put(
            net.device_doc_mut(DEVICE, &doc_id(i)).unwrap(),
            "note",
            "gate code",
        )
        .unwrap();
    }
    let stats = net.sync(DEVICE).unwrap();
    measure("both sides changed 10 of 20 documents", &stats);
    assert!(stats.round_trips <= 2);
    assert_eq!(stats.round_trips, 1);
    assert_eq!(stats.report.changes_received, 10);
    assert!(all_converged(&net, 20));
    let doc = net.device_doc(DEVICE, &doc_id(3)).unwrap();
    assert_eq!(
        doc.get(ROOT, "status").unwrap().unwrap().0.as_str(),
        Some("assigned")
    );
    assert_eq!(
        doc.get(ROOT, "note").unwrap().unwrap().0.as_str(),
        Some("gate code")
    );
}

#[test]
fn a_device_offline_for_many_edits_catches_up_in_one_round_trip() {
    let mut net = synced_network(10);
    net.add_device("dispatcher");
    net.sync("dispatcher").unwrap();
    // The technician is offline while dispatch edits every work order five times.
    for round in 0..5_i64 {
        for i in 0..10 {
            let doc = net.device_doc_mut("dispatcher", &doc_id(i)).unwrap();
            put(doc, "priority", round).unwrap();
        }
        assert_eq!(net.sync("dispatcher").unwrap().round_trips, 1);
    }
    let stats = net.sync(DEVICE).unwrap();
    measure("technician back after 50 remote changes", &stats);
    assert_eq!(stats.round_trips, 1);
    assert_eq!(stats.report.changes_received, 50);
    assert!(all_converged(&net, 10));
}

#[test]
fn documents_created_offline_reach_the_server_and_other_devices() {
    let mut net = synced_network(3);
    let doc = net.device_mut(DEVICE).unwrap().create_doc("wo-new");
    put(doc, "status", "draft").unwrap();
    put(doc, "note", "found a leak").unwrap();
    let stats = net.sync(DEVICE).unwrap();
    assert_eq!(stats.round_trips, 1);
    assert!(net.server().doc("wo-new").is_some());

    net.add_device("other");
    let stats = net.sync("other").unwrap();
    assert_eq!(stats.round_trips, 1);
    assert_eq!(stats.report.added.len(), 4);
    assert!(net.converged("wo-new"));
}

// ---------------------------------------------------------------------------------------
// Lost responses and recovery
// ---------------------------------------------------------------------------------------

#[test]
fn a_lost_response_followed_by_a_sync_converges_without_reapplying() {
    let mut net = synced_network(20);
    for i in 0..5 {
        put(
            net.device_doc_mut(DEVICE, &doc_id(i)).unwrap(),
            "status",
            "done",
        )
        .unwrap();
    }
    put(
        net.server_mut().doc_mut(&doc_id(10)).unwrap(),
        "status",
        "cancelled",
    )
    .unwrap();
    let applied_before = net.server().changes_applied();

    net.drop_next_response(DEVICE);
    assert_eq!(
        net.sync(DEVICE).unwrap_err(),
        NetworkError::ResponseLost { round: 1 }
    );
    // The server applied the changes; the device never heard back.
    assert_eq!(net.server().changes_applied() - applied_before, 5);
    assert!(net.converged(&doc_id(0)));
    assert!(!net.converged(&doc_id(10)));

    let stats = net.sync(DEVICE).unwrap();
    measure("sync after a lost response", &stats);
    assert_eq!(stats.round_trips, 1);
    assert_eq!(
        stats.report.messages_sent, 5,
        "unacknowledged changes are offered again"
    );
    assert_eq!(
        stats.report.messages_received, 1,
        "only the server's change"
    );
    assert_eq!(
        net.server().changes_applied() - applied_before,
        5,
        "resent changes are not applied twice"
    );
    assert!(all_converged(&net, 20));
    assert_eq!(status_on_device(&net, 10).as_deref(), Some("cancelled"));

    let idle = net.sync(DEVICE).unwrap();
    assert_eq!(idle.report.messages_sent, 0, "the resend was acknowledged");
}

#[test]
fn a_lost_first_download_is_repeated_whole() {
    let mut net = Network::new();
    for i in 0..5 {
        put(net.server_mut().create_doc(&doc_id(i)), "status", "open").unwrap();
    }
    net.add_device(DEVICE);
    net.drop_next_response(DEVICE);
    assert!(matches!(
        net.sync(DEVICE),
        Err(NetworkError::ResponseLost { .. })
    ));
    assert_eq!(net.device(DEVICE).unwrap().doc_ids().count(), 0);
    let stats = net.sync(DEVICE).unwrap();
    assert_eq!(stats.round_trips, 1);
    assert_eq!(stats.report.added.len(), 5);
    assert!(all_converged(&net, 5));
}

#[test]
fn two_lost_responses_in_a_row_still_converge() {
    let mut net = synced_network(5);
    put(net.device_doc_mut(DEVICE, &doc_id(0)).unwrap(), "k", 1_i64).unwrap();
    net.drop_next_response(DEVICE);
    assert!(net.sync(DEVICE).is_err());
    put(net.device_doc_mut(DEVICE, &doc_id(0)).unwrap(), "k", 2_i64).unwrap();
    put(net.server_mut().doc_mut(&doc_id(0)).unwrap(), "j", 3_i64).unwrap();
    net.drop_next_response(DEVICE);
    assert!(net.sync(DEVICE).is_err());
    let stats = net.sync(DEVICE).unwrap();
    assert_eq!(stats.round_trips, 1);
    assert!(all_converged(&net, 5));
}

#[test]
fn a_server_restored_from_an_older_backup_converges_in_a_few_rounds() {
    let mut net = synced_network(3);
    let backup = net.server().doc(&doc_id(0)).unwrap().clone();
    put(
        net.device_doc_mut(DEVICE, &doc_id(0)).unwrap(),
        "status",
        "on_site",
    )
    .unwrap();
    net.sync(DEVICE).unwrap();
    // The server loses the change it acknowledged.
    *net.server_mut().doc_mut(&doc_id(0)).unwrap() = backup;
    put(
        net.device_doc_mut(DEVICE, &doc_id(0)).unwrap(),
        "status",
        "done",
    )
    .unwrap();

    let stats = net.sync(DEVICE).unwrap();
    measure("server restored from a backup", &stats);
    assert!(stats.round_trips >= 2, "the first assumption fails");
    assert!(stats.round_trips <= 3);
    assert!(all_converged(&net, 3));
    let server = net.server().doc(&doc_id(0)).unwrap();
    assert_eq!(server.get_changes(&[]).len(), 3);
}

#[test]
fn a_garbage_sync_message_is_rejected_for_that_document_only() {
    let mut net = synced_network(2);
    let heads = |net: &Network, i: usize| {
        heads_to_wire(&net.device_doc(DEVICE, &doc_id(i)).unwrap().get_heads())
    };
    put(net.server_mut().doc_mut(&doc_id(1)).unwrap(), "k", 1_i64).unwrap();
    let request = SyncRequest {
        complete: false,
        docs: vec![
            DocOffer {
                doc_id: doc_id(0),
                heads: OfferedHeads::Full(vec![[7; 32]]),
                message: Some(vec![0x42, 0xde, 0xad]),
            },
            DocOffer {
                doc_id: doc_id(1),
                heads: OfferedHeads::Full(heads(&net, 1)),
                message: None,
            },
        ],
    };
    let limits = Limits::default();
    let body = encode_request(&request).unwrap();
    let response = net.server_mut().handle(DEVICE, &body, &limits).unwrap();
    let response = decode_response(&response, &limits).unwrap();
    assert_eq!(response.docs.len(), 2);
    match &response.docs[0].change {
        DocChange::Rejected { code, message } => {
            assert_eq!(code, "bad_message");
            assert!(message.contains(&doc_id(0)));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(response.docs[1].change, DocChange::Changed);
    assert!(response.docs[1].message.is_some());
}

// ---------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------

fn offers(n: usize) -> SyncRequest {
    SyncRequest {
        complete: true,
        docs: (0..n)
            .map(|i| DocOffer {
                doc_id: doc_id(i),
                heads: OfferedHeads::Full(vec![[1; 32]]),
                message: None,
            })
            .collect(),
    }
}

#[test]
fn too_many_documents_are_refused() {
    let limits = Limits {
        max_docs: 10,
        ..Limits::default()
    };
    let body = encode_request(&offers(11)).unwrap();
    assert_eq!(
        decode_request(&body, &limits),
        Err(DecodeError::TooManyDocuments { max: 10, got: 11 })
    );
    let body = encode_request(&offers(10)).unwrap();
    assert_eq!(decode_request(&body, &limits).unwrap().docs.len(), 10);

    let response = SyncResponse {
        docs: (0..11)
            .map(|i| DocReply {
                doc_id: doc_id(i),
                change: DocChange::Changed,
                heads: vec![],
                message: None,
            })
            .collect(),
    };
    let body = encode_response(&response).unwrap();
    assert_eq!(
        decode_response(&body, &limits),
        Err(DecodeError::TooManyDocuments { max: 10, got: 11 })
    );
}

#[test]
fn too_large_bodies_are_refused_before_parsing() {
    let body = encode_request(&offers(100)).unwrap();
    let limits = Limits {
        max_body_bytes: body.len() - 1,
        ..Limits::default()
    };
    assert_eq!(
        decode_request(&body, &limits),
        Err(DecodeError::TooLarge {
            max: body.len() - 1,
            got: body.len()
        })
    );
    let exact = Limits {
        max_body_bytes: body.len(),
        ..Limits::default()
    };
    assert!(decode_request(&body, &exact).is_ok());
}

#[test]
fn too_large_document_messages_are_refused() {
    let limits = Limits {
        max_doc_message_bytes: 1024,
        ..Limits::default()
    };
    let mut request = offers(3);
    request.docs[2].message = Some(vec![0; 1025]);
    let body = encode_request(&request).unwrap();
    assert_eq!(
        decode_request(&body, &limits),
        Err(DecodeError::DocMessageTooLarge {
            doc_id: doc_id(2),
            max: 1024,
            got: 1025
        })
    );

    // End to end: a device whose change is too large for the server's limit is refused
    // as a whole, with the document named.
    let mut net = Network::with_limits(limits);
    let doc = net.add_device(DEVICE).create_doc("wo-big");
    put(doc, "note", incompressible_text(4096)).unwrap();
    match net.sync(DEVICE) {
        Err(NetworkError::Server(ServerError::Decode(DecodeError::DocMessageTooLarge {
            doc_id,
            max,
            got,
        }))) => {
            assert_eq!(doc_id, "wo-big");
            assert_eq!(max, 1024);
            assert!(got > 1024);
        }
        other => panic!("expected the server to refuse the message, got {other:?}"),
    }
}

/// Text that deflate cannot shrink much (saved documents are compressed).
fn incompressible_text(len: usize) -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 94) as u8)
        })
        .collect()
}

#[test]
fn too_many_heads_and_bad_ids_are_refused() {
    let limits = Limits {
        max_heads: 2,
        max_doc_id_len: 8,
        ..Limits::default()
    };
    let mut request = offers(1);
    request.docs[0].heads = OfferedHeads::Full(vec![[1; 32], [2; 32], [3; 32]]);
    let body = encode_request(&request).unwrap();
    assert!(matches!(
        decode_request(&body, &limits),
        Err(DecodeError::TooManyHeads { max: 2, got: 3, .. })
    ));
    let mut request = offers(1);
    request.docs[0].doc_id = "wo-123456".into();
    let body = encode_request(&request).unwrap();
    assert!(matches!(
        decode_request(&body, &limits),
        Err(DecodeError::BadDocId { index: 0, .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

fn doc_id_strategy() -> impl Strategy<Value = String> {
    "[!-~]{1,128}"
}

/// Heads as the codec writes them: sorted and without duplicates.
fn heads_strategy() -> impl Strategy<Value = Vec<[u8; 32]>> {
    prop::collection::btree_set(prop::array::uniform32(any::<u8>()), 0..4)
        .prop_map(|set| set.into_iter().collect())
}

fn offered_heads_strategy() -> impl Strategy<Value = OfferedHeads> {
    prop_oneof![
        heads_strategy().prop_map(OfferedHeads::Full),
        prop::array::uniform8(any::<u8>()).prop_map(OfferedHeads::Key),
    ]
}

fn message_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..96)
}

fn request_strategy() -> impl Strategy<Value = SyncRequest> {
    (
        any::<bool>(),
        prop::collection::btree_map(
            doc_id_strategy(),
            (
                offered_heads_strategy(),
                prop::option::of(message_strategy()),
            ),
            0..8,
        ),
    )
        .prop_map(|(complete, docs)| SyncRequest {
            complete,
            docs: docs
                .into_iter()
                .map(|(doc_id, (heads, message))| DocOffer {
                    doc_id,
                    heads,
                    message,
                })
                .collect(),
        })
}

fn reply_strategy() -> impl Strategy<Value = (DocChange, Option<Vec<u8>>)> {
    let text = "[ -~]{0,40}";
    prop_oneof![
        Just((DocChange::Unchanged, None)),
        prop::option::of(message_strategy()).prop_map(|m| (DocChange::Changed, m)),
        message_strategy().prop_map(|m| (DocChange::Added, Some(m))),
        text.prop_map(|reason| (DocChange::Removed { reason }, None)),
        (text, text).prop_map(|(code, message)| (DocChange::Rejected { code, message }, None)),
    ]
}

fn response_strategy() -> impl Strategy<Value = SyncResponse> {
    prop::collection::btree_map(
        doc_id_strategy(),
        (heads_strategy(), reply_strategy()),
        0..8,
    )
    .prop_map(|docs| SyncResponse {
        docs: docs
            .into_iter()
            .map(|(doc_id, (heads, (change, message)))| DocReply {
                doc_id,
                change,
                heads,
                message,
            })
            .collect(),
    })
}

/// A decoder may accept mutated bytes (a flipped bit inside a head is still a head), but
/// whatever it accepts must satisfy the limits and survive a round trip.
fn check_request_decoding(bytes: &[u8]) {
    let limits = Limits::default();
    if let Ok(request) = decode_request(bytes, &limits) {
        assert_eq!(validate_request(&request, &limits), Ok(()));
        let again = encode_request(&request).unwrap();
        assert_eq!(decode_request(&again, &limits), Ok(request));
    }
}

fn check_response_decoding(bytes: &[u8]) {
    let limits = Limits::default();
    if let Ok(response) = decode_response(bytes, &limits) {
        assert_eq!(validate_response(&response, &limits), Ok(()));
        let again = encode_response(&response).unwrap();
        assert_eq!(decode_response(&again, &limits), Ok(response));
    }
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn requests_round_trip_through_the_codec(request in request_strategy()) {
        let bytes = encode_request(&request).unwrap();
        let decoded = decode_request(&bytes, &Limits::default());
        prop_assert_eq!(&decoded, &Ok(request));
        // Deterministic: the decoded value encodes to the same bytes.
        prop_assert_eq!(encode_request(&decoded.unwrap()).unwrap(), bytes);
    }

    #[test]
    fn responses_round_trip_through_the_codec(response in response_strategy()) {
        let bytes = encode_response(&response).unwrap();
        let decoded = decode_response(&bytes, &Limits::default());
        prop_assert_eq!(&decoded, &Ok(response));
        prop_assert_eq!(encode_response(&decoded.unwrap()).unwrap(), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_request_decoding(&bytes);
        check_response_decoding(&bytes);
        // A version 1 header is always told to upgrade.
        let mut v1 = b"FSYQ".to_vec();
        v1.extend_from_slice(&bytes);
        let refused = matches!(
            decode_request(&v1, &Limits::default()),
            Err(DecodeError::LegacyVersion { supported: 2 })
        );
        prop_assert!(refused);
    }

    #[test]
    fn arbitrary_entries_behind_a_valid_opening_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        // {"c": true, "d": [ ...arbitrary
        let mut request = hex_bytes("a36163f5616484");
        request.extend_from_slice(&body);
        check_request_decoding(&request);
        // {"d": [ ...arbitrary
        let mut response = hex_bytes("a2616484");
        response.extend_from_slice(&body);
        check_response_decoding(&response);
    }

    #[test]
    fn every_truncation_is_a_typed_error(request in request_strategy(), response in response_strategy()) {
        let limits = Limits::default();
        let bytes = encode_request(&request).unwrap();
        for len in 0..bytes.len() {
            prop_assert!(decode_request(&bytes[..len], &limits).is_err());
        }
        let bytes = encode_response(&response).unwrap();
        for len in 0..bytes.len() {
            prop_assert!(decode_response(&bytes[..len], &limits).is_err());
        }
    }

    #[test]
    fn bit_flips_never_panic(
        request in request_strategy(),
        response in response_strategy(),
        position in any::<prop::sample::Index>(),
        bit in 0..8_u8,
    ) {
        let mut bytes = encode_request(&request).unwrap();
        let at = position.index(bytes.len());
        bytes[at] ^= 1 << bit;
        check_request_decoding(&bytes);

        let mut bytes = encode_response(&response).unwrap();
        let at = position.index(bytes.len());
        bytes[at] ^= 1 << bit;
        check_response_decoding(&bytes);
    }
}

/// A real sync message to mutate: a device's first message carrying one change.
fn real_message() -> (Automerge, Vec<u8>) {
    let mut server = Automerge::new();
    put(&mut server, "status", "open").unwrap();
    let mut device = server.fork();
    put(&mut device, "status", "done").unwrap();
    let mut state = sync::State::new();
    let mut server_state = sync::State::new();
    let first = server.generate_sync_message(&mut server_state).unwrap();
    device.receive_sync_message(&mut state, first).unwrap();
    let message = device.generate_sync_message(&mut state).unwrap();
    (server, message.encode())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn corrupt_sync_messages_give_a_typed_per_document_error(
        position in any::<prop::sample::Index>(),
        bit in 0..8_u8,
        truncate in any::<bool>(),
    ) {
        let (mut server, mut message) = real_message();
        let at = position.index(message.len());
        if truncate {
            message.truncate(at);
        } else {
            message[at] ^= 1 << bit;
        }
        let offer = DocOffer {
            doc_id: "wo-1".into(),
            heads: OfferedHeads::Full(vec![[9; 32]]),
            message: Some(message),
        };
        let mut state = PeerState::new();
        match respond(&mut server, &mut state, &offer) {
            Ok(done) => prop_assert_eq!(done.reply.doc_id, "wo-1"),
            Err(error) => {
                let typed = matches!(
                    error,
                    DocError::BadMessage { .. } | DocError::Apply { .. } | DocError::Panicked { .. }
                );
                prop_assert!(typed);
                prop_assert_eq!(error.doc_id(), "wo-1");
            }
        }
    }

    #[test]
    fn arbitrary_sync_message_bytes_give_a_typed_per_document_error(
        first in prop::sample::select(vec![0x42_u8, 0x43]),
        rest in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let (mut server, _) = real_message();
        let mut message = vec![first];
        message.extend(rest);
        let offer = DocOffer {
            doc_id: "wo-1".into(),
            heads: OfferedHeads::Full(vec![[9; 32]]),
            message: Some(message),
        };
        let mut state = PeerState::new();
        if let Err(error) = respond(&mut server, &mut state, &offer) {
            prop_assert_eq!(error.doc_id(), "wo-1");
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    /// `who`: 0 = server, 1 = alice, 2 = bob.
    Edit {
        who: u8,
        doc: u8,
        value: i64,
    },
    Sync {
        alice: bool,
    },
    LoseNextResponse {
        alice: bool,
    },
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3_u8, 0..4_u8, any::<i64>()).prop_map(|(who, doc, value)| Step::Edit { who, doc, value }),
        2 => any::<bool>().prop_map(|alice| Step::Sync { alice }),
        1 => any::<bool>().prop_map(|alice| Step::LoseNextResponse { alice }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever devices and the server do, and whichever responses get lost, each sync
    /// takes at most two round trips and everyone ends up with the same documents.
    #[test]
    fn devices_and_server_always_converge(steps in prop::collection::vec(step_strategy(), 1..40)) {
        let mut net = Network::new();
        net.add_device("alice");
        net.add_device("bob");
        for step in steps {
            match step {
                Step::Edit { who, doc, value } => {
                    let id = doc_id(usize::from(doc));
                    let target = match who {
                        0 => net.server_mut().create_doc(&id),
                        1 => net.device_mut("alice").unwrap().create_doc(&id),
                        _ => net.device_mut("bob").unwrap().create_doc(&id),
                    };
                    put(target, "value", value).unwrap();
                }
                Step::Sync { alice } => {
                    let name = if alice { "alice" } else { "bob" };
                    match net.sync(name) {
                        Ok(stats) => prop_assert!(stats.round_trips <= 2, "{} round trips", stats.round_trips),
                        Err(NetworkError::ResponseLost { .. }) => {}
                        Err(other) => prop_assert!(false, "sync failed: {other}"),
                    }
                }
                Step::LoseNextResponse { alice } => {
                    net.drop_next_response(if alice { "alice" } else { "bob" });
                }
            }
        }
        // Make sure no response is lost any more, then let everyone catch up.
        for name in ["alice", "bob", "alice"] {
            let stats = match net.sync(name) {
                Ok(stats) => stats,
                Err(NetworkError::ResponseLost { .. }) => net.sync(name).unwrap(),
                Err(other) => return Err(TestCaseError::fail(format!("sync failed: {other}"))),
            };
            prop_assert!(stats.round_trips <= 2);
        }
        let ids: Vec<String> = net.server().doc_ids().map(str::to_owned).collect();
        for id in &ids {
            prop_assert!(net.converged(id), "{id} did not converge");
            let alice = net.device_doc("alice", id).unwrap().get_heads();
            let bob = net.device_doc("bob", id).unwrap().get_heads();
            prop_assert_eq!(alice, bob);
        }
    }
}
