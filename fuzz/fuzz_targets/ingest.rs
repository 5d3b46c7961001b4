//! The server's merge-and-validate step (`sync_core::protocol::ingest`, what `POST /v1/sync`
//! runs per document) on a stored work order, fed an arbitrary Automerge sync message by one
//! of four uploaders (`sync_core::protocol::fuzz::ingest_input`). Properties: no panic escapes,
//! a bounded heap, and `ingest_violation`: only the uploader's own events are accepted, stored
//! events are never lost or changed, and the reply is a valid response entry.
//!
//! Automerge panics that the step's own guard catches (a `DocError::Panicked`, answered as a
//! rejected document) are allowed and printed, not counted as crashes.
//! Replayed by sync-core/tests/fuzz_replay.rs.
#![no_main]

use std::sync::OnceLock;

use automerge::Automerge;
use fieldsync_fuzz::{allow_caught_panics, bounded, Bounded, MIB};
use libfuzzer_sys::fuzz_target;
use sync_core::protocol::fuzz::{ingest_input, ingest_violation, stored_work_order};

#[global_allocator]
static ALLOC: Bounded = Bounded;

static STORED: OnceLock<Automerge> = OnceLock::new();

fuzz_target!(
    init: {
        allow_caught_panics();
        STORED.get_or_init(|| stored_work_order().expect("the stored work order builds").into_automerge());
    },
    |data: &[u8]| {
        let stored = STORED.get_or_init(|| {
            stored_work_order().expect("the stored work order builds").into_automerge()
        });
        bounded(256 * MIB, data.len(), || {
            let result = ingest_input(stored, data);
            if let Some(broken) = ingest_violation(stored, data, &result) {
                panic!("{broken}");
            }
        })
    }
);
