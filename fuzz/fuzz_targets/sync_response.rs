//! The sync response decoder (what a device runs on the server's answer) on arbitrary bytes:
//! no panic, a bounded heap, and the round trip of `sync_core::protocol::fuzz::response_violation`.
//! Replayed by sync-core/tests/fuzz_replay.rs.
#![no_main]

use fieldsync_fuzz::{bounded, Bounded, MIB};
use libfuzzer_sys::fuzz_target;
use sync_core::protocol::fuzz::response_violation;
use sync_core::protocol::{decode_response, Limits};

#[global_allocator]
static ALLOC: Bounded = Bounded;

fuzz_target!(|data: &[u8]| {
    bounded(16 * MIB, data.len(), || {
        let decoded = decode_response(data, &Limits::DEFAULT);
        if let Some(broken) = response_violation(data, &decoded) {
            panic!("{broken}");
        }
    })
});
