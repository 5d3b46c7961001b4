//! The service-policy loader (`server::policy::Policy::from_toml_str`) on arbitrary text:
//! no panic, a bounded heap, a refusal in one line, and a policy that loads prints
//! (`to_toml`) to text that loads back to an equal policy. Replayed by
//! server/tests/fuzz_replay.rs.
#![no_main]

use fieldsync_fuzz::{bounded, Bounded, MIB};
use libfuzzer_sys::fuzz_target;
use server::policy::Policy;

#[global_allocator]
static ALLOC: Bounded = Bounded;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    bounded(64 * MIB, data.len(), || match Policy::from_toml_str(text) {
        Ok(policy) => {
            let printed = policy.to_toml();
            match Policy::from_toml_str(&printed) {
                Ok(again) => assert_eq!(again, policy, "printed as:\n{printed}"),
                Err(e) => {
                    panic!("a loaded policy prints as text that does not load: {e}\n{printed}")
                }
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{message:?}"
            );
        }
    })
});
