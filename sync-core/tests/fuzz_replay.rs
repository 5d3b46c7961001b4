//! Replays the fuzz targets' kept crashers (`tests/fuzz-crashers/<target>/`) and committed seeds
//! (`fuzz/seeds/<target>/`) through the same entry functions and property checks as the fuzz
//! targets in `fuzz/fuzz_targets/`, so a regression fails `cargo test` where no fuzzer is
//! installed (docs/FUZZING.md). A crasher `X` may have a sibling `X.expect` holding text that
//! the `Debug` form of its result must contain: the documented error it now gets.
//!
//! `FIELDSYNC_WRITE_FUZZ_SEEDS=1 cargo test -p sync-core --test fuzz_replay` also (re)writes the
//! seeds this file generates: real device uploads for `ingest`, the request bodies carrying
//! them for `sync_request`, the server's replies for `sync_response`, and the hex bodies of
//! `vectors/protocol/*.json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};

use automerge::sync::{self, SyncDoc};
use automerge::Automerge;
use sync_core::protocol::fuzz::{
    ingest_input, ingest_violation, request_violation, response_violation, stored_work_order,
    STORED_ID, STORED_T0,
};
use sync_core::protocol::{
    decode_request, decode_response, encode_request, encode_response, ClientDoc, ClientSync,
    Limits, SyncResponse,
};
use sync_core::workorder::{actor_id_for, Actor, PartInput, PhotoKind, Role, WorkOrder};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every kept crasher and committed seed of `target`, as (path, bytes), crashers first.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in [
        repo().join("tests/fuzz-crashers").join(target),
        repo().join("fuzz/seeds").join(target),
    ] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".expect") || name.ends_with(".md") || name.starts_with('.') {
                continue;
            }
            out.push((path.clone(), fs::read(&path).unwrap()));
        }
    }
    out
}

/// The crasher's `.expect` sibling, if any: text its result's `Debug` form must contain.
fn check_expected(path: &Path, result: &impl Debug) {
    let mut expect = path.as_os_str().to_owned();
    expect.push(".expect");
    if let Ok(text) = fs::read_to_string(&expect) {
        let shown = format!("{result:?}");
        assert!(
            shown.contains(text.trim()),
            "{}: expected {:?} in {shown}",
            path.display(),
            text.trim()
        );
    }
}

#[test]
fn sync_request_crashers_and_seeds_replay() {
    let inputs = inputs("sync_request");
    assert!(inputs.len() >= 4, "the seeds are missing");
    for (path, bytes) in inputs {
        let decoded = decode_request(&bytes, &Limits::DEFAULT);
        assert_eq!(
            request_violation(&bytes, &decoded),
            None,
            "{}",
            path.display()
        );
        check_expected(&path, &decoded);
    }
}

#[test]
fn sync_response_crashers_and_seeds_replay() {
    let inputs = inputs("sync_response");
    assert!(inputs.len() >= 3, "the seeds are missing");
    for (path, bytes) in inputs {
        let decoded = decode_response(&bytes, &Limits::DEFAULT);
        assert_eq!(
            response_violation(&bytes, &decoded),
            None,
            "{}",
            path.display()
        );
        check_expected(&path, &decoded);
    }
}

#[test]
fn ingest_crashers_and_seeds_replay() {
    let stored = stored_work_order().unwrap().into_automerge();
    let inputs = inputs("ingest");
    assert!(inputs.len() >= 4, "the seeds are missing");
    for (path, bytes) in inputs {
        let result = ingest_input(&stored, &bytes);
        assert_eq!(
            ingest_violation(&stored, &bytes, &result),
            None,
            "{}",
            path.display()
        );
        check_expected(&path, &result);
    }
}

/// One device's upload: the ingest input (mode byte and message), and the request body.
struct Upload {
    name: &'static str,
    mode: u8,
    message: Vec<u8>,
    request: Vec<u8>,
}

/// What a device sends after working offline on its copy of the stored work order: the real
/// client (`ClientSync`) builds the request, from a sync state that last met the server at
/// the stored heads (mode bit 3), or from nothing (an empty device).
fn upload(
    name: &'static str,
    uploader: u8,
    device: &str,
    work: impl FnOnce(&mut WorkOrder),
) -> Upload {
    let stored = stored_work_order().unwrap();
    let mut phone = stored.fork_for(device).unwrap();
    work(&mut phone);
    let mut doc = phone.into_automerge();
    let mut state = sync::State::new();
    state.shared_heads = stored.heads();
    client_upload(name, uploader | 8, device, &mut doc, &mut state)
}

fn client_upload(
    name: &'static str,
    mode: u8,
    device: &str,
    doc: &mut Automerge,
    state: &mut sync::State,
) -> Upload {
    let mut session = ClientSync::new().with_actor(actor_id_for(device));
    let request = session
        .build_request(&mut [ClientDoc::new(STORED_ID, doc, state)])
        .unwrap()
        .expect("something to send");
    let message = request.docs[0].message.clone().expect("a sync message");
    Upload {
        name,
        mode,
        message,
        request: encode_request(&request).unwrap(),
    }
}

fn device_uploads() -> Vec<Upload> {
    const MIN: i64 = 60_000;
    let t = STORED_T0 + 10 * MIN;
    let tech_a = Actor::new("tech-a", Role::Technician, "phone-a");
    let hash = "ab".repeat(32);
    vec![
        upload("tech-a-diagnose-quote-photo", 0, "phone-a", |wo| {
            wo.diagnose(&tech_a, "coin in the pump", &["clean the pump"], t)
                .unwrap();
            wo.add_photo(&tech_a, &hash, PhotoKind::Before, "the pump", t, t + 1)
                .unwrap();
            wo.edit_notes(&tech_a, "pump blocked by a coin; cleaned", t + 2)
                .unwrap();
        }),
        upload("tech-a-part-change", 0, "phone-a", |wo| {
            let line = wo
                .add_part(&tech_a, PartInput::new("HOSE-2", 2, 1_250), t)
                .unwrap();
            let _ = line;
        }),
        upload("tech-b-in-tech-a-name", 1, "phone-b", |wo| {
            wo.edit_notes(&Actor::new("tech-a", Role::Technician, "phone-b"), "x", t)
                .unwrap();
            wo.add_part(
                &Actor::new("tech-a", Role::Technician, "phone-b"),
                PartInput::new("X-1", 1, 1),
                t + 1,
            )
            .unwrap();
        }),
        upload("dispatcher-reassigns", 2, "office-2", |wo| {
            let office = Actor::new("disp-1", Role::Dispatcher, "office-2");
            wo.assign(&office, "tech-b", Some("tech-a is ill"), t)
                .unwrap();
        }),
        {
            // A device with nothing: Automerge's own first message asks for everything (the
            // client offers no message then; the request body is that heads-only offer).
            let mut empty = Automerge::new().with_actor(actor_id_for("phone-c"));
            let mut session = ClientSync::new().with_actor(actor_id_for("phone-c"));
            let mut state = sync::State::new();
            let request = session
                .build_request(&mut [ClientDoc::new(STORED_ID, &mut empty, &mut state)])
                .unwrap()
                .unwrap();
            let message = empty
                .generate_sync_message(&mut sync::State::new())
                .unwrap();
            Upload {
                name: "empty-device",
                mode: 4,
                message: message.encode(),
                request: encode_request(&request).unwrap(),
            }
        },
    ]
}

#[test]
fn device_uploads_pass_the_ingest_step_and_seed_the_fuzzers() {
    let stored = stored_work_order().unwrap().into_automerge();
    let write = std::env::var("FIELDSYNC_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1");
    let mut accepted = 0;
    for up in device_uploads() {
        let mut input = vec![up.mode];
        input.extend_from_slice(&up.message);
        let result = ingest_input(&stored, &input);
        assert_eq!(
            ingest_violation(&stored, &input, &result),
            None,
            "{}",
            up.name
        );
        if write {
            write_seed("ingest", up.name, &input);
            write_seed("sync_request", up.name, &up.request);
        }
        let reply = match &result {
            Ok(ingested) => {
                accepted += usize::from(ingested.accepted.is_some());
                ingested.responded.reply.clone()
            }
            Err(sync_core::protocol::ingest::IngestError::Sync(e)) => e.to_reply(),
            Err(e) => {
                assert!(up.name.contains("name"), "{}: refused: {e}", up.name);
                continue;
            }
        };
        let response = encode_response(&SyncResponse { docs: vec![reply] }).unwrap();
        assert!(decode_request(&up.request, &Limits::DEFAULT).is_ok());
        assert!(decode_response(&response, &Limits::DEFAULT).is_ok());
        if write {
            write_seed("sync_response", up.name, &response);
        }
    }
    // The assigned technician's work and the dispatcher's reassignment are accepted.
    assert_eq!(accepted, 3);
    if write {
        write_vector_seeds();
    }
}

fn write_seed(target: &str, name: &str, bytes: &[u8]) {
    let dir = repo().join("fuzz/seeds").join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

/// The golden vectors' bodies, each under its vector's name.
fn write_vector_seeds() {
    for entry in fs::read_dir(repo().join("vectors/protocol")).unwrap() {
        let path = entry.unwrap().path();
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let body = hex::decode(json["hex"].as_str().unwrap()).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let target = if name.starts_with("request") {
            "sync_request"
        } else {
            "sync_response"
        };
        write_seed(target, &format!("vector-{name}"), &body);
    }
}
