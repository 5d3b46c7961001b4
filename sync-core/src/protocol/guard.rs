//! Running Automerge calls on untrusted input without letting a panic escape.
//!
//! Automerge has panicked on malformed or unexpected input for other users. Every call that
//! applies or answers a peer's message runs inside [`guard`], which turns a panic into an
//! error naming what happened. After a panic the document and the sync state involved may
//! be inconsistent: callers discard the document and reset the state (see
//! [`super::DocError::taints_document`]).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::sync;

/// Runs `f`, returning the panic message instead of unwinding if it panics.
pub(crate) fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(payload.as_ref()))
}

/// Decodes an encoded Automerge sync message; a decoding panic becomes an error too.
pub(crate) fn decode_message(bytes: &[u8]) -> Result<sync::Message, String> {
    match guard(|| sync::Message::decode(bytes)) {
        Ok(Ok(message)) => Ok(message),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(format!("decoder panicked: {panic}")),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_normal_result_passes_through() {
        assert_eq!(guard(|| 41 + 1), Ok(42));
    }

    #[test]
    fn a_panic_becomes_its_message() {
        let result: Result<(), String> = guard(|| panic!("boom {}", 7));
        assert_eq!(result, Err("boom 7".to_owned()));
        let result: Result<(), String> = guard(|| std::panic::panic_any(5_u8));
        assert_eq!(result, Err("panic with a non-text payload".to_owned()));
    }

    #[test]
    fn garbage_is_not_a_sync_message() {
        assert!(decode_message(&[]).is_err());
        assert!(decode_message(&[0x42, 0xff, 0xff]).is_err());
        assert!(decode_message(b"not a sync message").is_err());
    }
}
