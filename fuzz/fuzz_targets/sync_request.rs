//! The sync request decoder on arbitrary bytes: no panic, a bounded heap, and a request that
//! decodes re-encodes to a shortest, deterministic body that decodes to the same request
//! (`sync_core::protocol::fuzz::request_violation`). Replayed by sync-core/tests/fuzz_replay.rs.
#![no_main]

use fieldsync_fuzz::{bounded, Bounded, MIB};
use libfuzzer_sys::fuzz_target;
use sync_core::protocol::fuzz::request_violation;
use sync_core::protocol::{decode_request, Limits};

#[global_allocator]
static ALLOC: Bounded = Bounded;

fuzz_target!(|data: &[u8]| {
    bounded(16 * MIB, data.len(), || {
        let decoded = decode_request(data, &Limits::DEFAULT);
        if let Some(broken) = request_violation(data, &decoded) {
            panic!("{broken}");
        }
    })
});
