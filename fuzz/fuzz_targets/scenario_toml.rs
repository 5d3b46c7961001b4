//! The scenario-file loader of field-cli (`field_cli::scenario::Scenario::from_toml_str`) on
//! arbitrary text: no panic, a bounded heap, a refusal in one line. Replayed by
//! field-cli/tests/fuzz_replay.rs.
#![no_main]

use field_cli::scenario::Scenario;
use fieldsync_fuzz::{bounded, Bounded, MIB};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: Bounded = Bounded;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    bounded(64 * MIB, data.len(), || {
        if let Err(e) = Scenario::from_toml_str(text) {
            let message = e.to_string();
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{message:?}"
            );
        }
    })
});
