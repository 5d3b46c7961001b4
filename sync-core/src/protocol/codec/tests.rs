use super::*;
use crate::protocol::{
    heads_key, DecodeError, DocChange, DocOffer, DocReply, Limits, OfferedHeads, SyncRequest,
    SyncResponse,
};
use automerge::ChangeHash;

fn request() -> SyncRequest {
    SyncRequest {
        complete: true,
        docs: vec![
            DocOffer {
                doc_id: "wo-1".into(),
                heads: OfferedHeads::Full(vec![[1; 32], [2; 32]]),
                message: Some(vec![0x42, 1, 2, 3]),
            },
            DocOffer {
                doc_id: "wo-2".into(),
                heads: OfferedHeads::Key(heads_key(&[ChangeHash([3; 32])])),
                message: None,
            },
            DocOffer {
                doc_id: "wo-3".into(),
                heads: OfferedHeads::Full(vec![]),
                message: None,
            },
        ],
    }
}

fn response() -> SyncResponse {
    let reply = |id: &str, change, message| DocReply {
        doc_id: id.into(),
        change,
        heads: vec![[9; 32]],
        message,
    };
    SyncResponse {
        docs: vec![
            reply("a", DocChange::Changed, Some(vec![1, 2])),
            reply("b", DocChange::Added, Some(vec![3])),
            reply("c", DocChange::Unchanged, None),
            reply(
                "d",
                DocChange::Removed {
                    reason: "reassigned".into(),
                },
                None,
            ),
            reply(
                "e",
                DocChange::Rejected {
                    code: "bad_message".into(),
                    message: "garbage".into(),
                },
                None,
            ),
        ],
    }
}

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn requests_round_trip_and_reencode_to_the_same_bytes() {
    let bytes = encode_request(&request()).unwrap();
    let decoded = decode_request(&bytes, &limits()).unwrap();
    assert_eq!(decoded, request());
    assert_eq!(encode_request(&decoded).unwrap(), bytes);
}

#[test]
fn responses_round_trip_and_reencode_to_the_same_bytes() {
    let bytes = encode_response(&response()).unwrap();
    let decoded = decode_response(&bytes, &limits()).unwrap();
    assert_eq!(decoded, response());
    assert_eq!(encode_response(&decoded).unwrap(), bytes);
}

#[test]
fn an_empty_request_is_ten_bytes_of_deterministic_cbor() {
    let bytes = encode_request(&SyncRequest {
        complete: true,
        docs: vec![],
    })
    .unwrap();
    // {"c": true, "d": [], "v": 2}
    assert_eq!(hex::encode(&bytes), "a36163f5616480617602");
}

#[test]
fn an_idle_offer_costs_its_id_plus_fifteen_bytes() {
    let empty = encode_request(&SyncRequest::default()).unwrap().len();
    let id = "bench-u0001-job0001";
    let one = SyncRequest {
        complete: false,
        docs: vec![DocOffer {
            doc_id: id.into(),
            heads: OfferedHeads::Key([7; 8]),
            message: None,
        }],
    };
    let bytes = encode_request(&one).unwrap();
    assert_eq!(bytes.len() - empty, id.len() + 15);
}

#[test]
fn keys_may_come_in_any_order() {
    // {"v": 2, "d": [{"k": h'0101010101010101', "i": "x"}], "c": false}
    let bytes = hex::decode("a3617602616481a2616b480101010101010101616961786163f4").unwrap();
    let request = decode_request(&bytes, &limits()).unwrap();
    assert_eq!(request.docs[0].doc_id, "x");
    assert_eq!(request.docs[0].heads, OfferedHeads::Key([1; 8]));
    assert!(!request.complete);
}

#[test]
fn version_one_bodies_are_told_to_upgrade() {
    let mut v1 = b"FSYQ".to_vec();
    v1.extend_from_slice(&[1, 0, 1, 0]);
    assert_eq!(
        decode_request(&v1, &limits()),
        Err(DecodeError::LegacyVersion { supported: 2 })
    );
    let mut v1 = b"FSYR".to_vec();
    v1.extend_from_slice(&[1, 0, 0]);
    assert_eq!(
        decode_response(&v1, &limits()),
        Err(DecodeError::LegacyVersion { supported: 2 })
    );
    assert!(is_legacy_body(b"FSYQ\x01\x00"));
    assert!(!is_legacy_body(&encode_request(&request()).unwrap()));
}

#[test]
fn other_versions_are_refused_before_the_documents_are_read() {
    // {"d": 7, "v": 3}: "d" is not even an array, but the version is reported.
    let bytes = hex::decode("a2616407617603").unwrap();
    assert_eq!(
        decode_response(&bytes, &limits()),
        Err(DecodeError::UnsupportedVersion {
            got: 3,
            supported: 2
        })
    );
    // {"c": true, "d": []}: no version at all.
    let bytes = hex::decode("a26163f5616480").unwrap();
    assert!(matches!(
        decode_request(&bytes, &limits()),
        Err(DecodeError::Malformed(m)) if m.contains("\"v\"")
    ));
}

#[test]
fn unknown_repeated_and_conflicting_keys_are_refused() {
    let cases = [
        // {"c": true, "d": [], "v": 2, "x": 1}
        ("a46163f5616480617602617801", "unknown key"),
        // {"c": true, "c": true, "d": [], "v": 2}
        ("a46163f56163f5616480617602", "more than once"),
        // {"c": true, "d": [{"i": "x", "h": h'', "k": h'0000000000000000'}], "v": 2}
        (
            "a36163f5616481a361696178616840616b4800000000000000006176 02",
            "both",
        ),
        // {"c": true, "d": [{"i": "x"}], "v": 2}
        ("a36163f5616481a1616961786176 02", "neither"),
    ];
    for (body, expected) in cases {
        let bytes = hex::decode(body.replace(' ', "")).unwrap();
        match decode_request(&bytes, &limits()) {
            Err(DecodeError::Malformed(m)) => assert!(m.contains(expected), "{body}: {m}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn indefinite_lengths_are_refused() {
    // {_ "c": true, "d": [], "v": 2} with an indefinite-length map.
    let bytes = hex::decode("bf6163f56164806176 02ff".replace(' ', "")).unwrap();
    assert!(matches!(
        decode_request(&bytes, &limits()),
        Err(DecodeError::Malformed(m)) if m.contains("indefinite")
    ));
}

#[test]
fn heads_must_be_whole_hashes_and_keys_eight_bytes() {
    // {"c": true, "d": [{"h": h'01', "i": "x"}], "v": 2}
    let bytes = hex::decode("a36163f5616481a261684101616961786176 02".replace(' ', "")).unwrap();
    assert!(matches!(
        decode_request(&bytes, &limits()),
        Err(DecodeError::Malformed(m)) if m.contains("multiple of 32")
    ));
    // {"c": true, "d": [{"i": "x", "k": h'01'}], "v": 2}
    let bytes = hex::decode("a36163f5616481a261696178616b41016176 02".replace(' ', "")).unwrap();
    assert!(matches!(
        decode_request(&bytes, &limits()),
        Err(DecodeError::Malformed(m)) if m.contains("not 8")
    ));
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = encode_request(&request()).unwrap();
    bytes.push(0);
    assert_eq!(
        decode_request(&bytes, &limits()),
        Err(DecodeError::TrailingBytes { count: 1 })
    );
}

#[test]
fn the_body_length_is_checked_before_anything_else() {
    let small = Limits {
        max_body_bytes: 4,
        ..Limits::default()
    };
    assert_eq!(
        decode_request(&[0xff; 5], &small),
        Err(DecodeError::TooLarge { max: 4, got: 5 })
    );
}

#[test]
fn a_huge_declared_count_is_refused_before_decoding_documents() {
    // {"c": true, "d": array of 2^32 entries (none present), "v": 2}
    let bytes = hex::decode("a36163f561649b0000000100000000").unwrap();
    assert_eq!(
        decode_request(&bytes, &limits()),
        Err(DecodeError::TooManyDocuments {
            max: 10_000,
            got: 1 << 32
        })
    );
    // A count within the limit but beyond the bytes that follow.
    let bytes = hex::decode("a36163f56164990100").unwrap();
    assert!(matches!(
        decode_request(&bytes, &limits()),
        Err(DecodeError::Malformed(m)) if m.contains("declares 256")
    ));
}

#[test]
fn replies_must_carry_what_their_status_needs() {
    let mut bad = response();
    bad.docs.truncate(0);
    let bytes = encode_response(&bad).unwrap();
    assert!(decode_response(&bytes, &limits()).unwrap().docs.is_empty());
    // {"d": [{"h": h'', "i": "x", "s": "removed"}], "v": 2}: no reason.
    let bytes =
        hex::decode("a2616481a361684061696178617367 72656d6f766564 6176 02".replace(' ', ""))
            .unwrap();
    assert!(matches!(
        decode_response(&bytes, &limits()),
        Err(DecodeError::Malformed(m)) if m.contains("\"r\"")
    ));
    // {"d": [{"h": h'', "i": "x", "s": "moved"}], "v": 2}: no such status.
    let bytes =
        hex::decode("a2616481a361684061696178617365 6d6f766564 6176 02".replace(' ', "")).unwrap();
    assert!(matches!(
        decode_response(&bytes, &limits()),
        Err(DecodeError::Malformed(m)) if m.contains("unknown status")
    ));
}
