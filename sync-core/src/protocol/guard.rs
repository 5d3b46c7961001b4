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

/// Most Bloom filters one sync message may carry; Automerge sends one per message.
pub(crate) const MAX_HAVES: usize = 16;
/// Most probes a Bloom filter may ask for per hash; Automerge writes 7.
pub(crate) const MAX_BLOOM_PROBES: u64 = 64;

/// Decodes an encoded Automerge sync message; a decoding panic becomes an error too, and so
/// does a message whose Bloom filters Automerge would choke on (see [`check_blooms`]).
pub(crate) fn decode_message(bytes: &[u8]) -> Result<sync::Message, String> {
    let message = match guard(|| sync::Message::decode(bytes)) {
        Ok(Ok(message)) => message,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(panic) => return Err(format!("decoder panicked: {panic}")),
    };
    check_blooms(&message)?;
    Ok(message)
}

/// Refuses Bloom filters that make Automerge 0.12 allocate or loop without bound when it
/// answers the message: it takes the number of probes from the wire and reserves that many
/// `u32`s for every hash it tests (a filter asking for 1.8 billion probes made it allocate
/// 7 GB: tests/fuzz-crashers/ingest/), and it divides by the filter's bit count, which the
/// wire may leave at zero. The number of filters is bounded too, since each is probed for
/// every change of the document.
fn check_blooms(message: &sync::Message) -> Result<(), String> {
    if message.have.len() > MAX_HAVES {
        return Err(format!(
            "the message carries {} Bloom filters, at most {MAX_HAVES} allowed",
            message.have.len()
        ));
    }
    for have in &message.have {
        // The wire form: entries, bits per entry and probes (LEB128), then the bits; nothing
        // at all for an empty filter.
        let bytes = have.bloom.to_bytes();
        let mut rest = bytes.as_slice();
        if rest.is_empty() {
            continue;
        }
        let _entries = leb128(&mut rest)?;
        let _bits_per_entry = leb128(&mut rest)?;
        let probes = leb128(&mut rest)?;
        if probes > MAX_BLOOM_PROBES {
            return Err(format!(
                "a Bloom filter asks for {probes} probes per hash, at most {MAX_BLOOM_PROBES} allowed"
            ));
        }
        if rest.is_empty() {
            return Err("a Bloom filter with entries has no bits".to_owned());
        }
    }
    Ok(())
}

/// Reads one unsigned LEB128 number off the front of `bytes`.
fn leb128(bytes: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0_u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes
            .split_first()
            .ok_or_else(|| "a Bloom filter is cut short".to_owned())?;
        *bytes = rest;
        value |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("a Bloom filter holds an overlong number".to_owned())
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
#[allow(clippy::panic, clippy::unwrap_used)]
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

    /// A sync message whose one `have` holds `bloom` (the filter's wire form).
    fn message_with_bloom(bloom: &[u8]) -> Vec<u8> {
        // Type 0x43 (V1 message), no heads, no needs, one have with no last_sync and `bloom`
        // as a length-prefixed byte string, no changes.
        let mut out = vec![0x43, 0, 0, 1, 0, bloom.len() as u8];
        out.extend_from_slice(bloom);
        out.push(0);
        out
    }

    #[test]
    fn a_bloom_filter_of_sane_size_passes() {
        // 1 entry, 10 bits per entry, 7 probes, 2 bytes of bits.
        let message = decode_message(&message_with_bloom(&[1, 10, 7, 0xFF, 0x03])).unwrap();
        assert_eq!(message.have.len(), 1);
    }

    #[test]
    fn a_bloom_filter_asking_for_billions_of_probes_is_refused() {
        // 2^31 probes (LEB128 80 80 80 80 08): Automerge would reserve 8 GiB per hash.
        let bloom = [1, 10, 0x80, 0x80, 0x80, 0x80, 0x08, 0xFF, 0x03];
        let e = decode_message(&message_with_bloom(&bloom)).unwrap_err();
        assert!(e.contains("2147483648 probes"), "{e}");
    }

    #[test]
    fn a_bloom_filter_without_bits_is_refused() {
        // 1 entry but 0 bits per entry: no bits, and Automerge would divide by zero.
        let e = decode_message(&message_with_bloom(&[1, 0, 7])).unwrap_err();
        assert!(e.contains("no bits"), "{e}");
    }

    #[test]
    fn garbage_is_not_a_sync_message() {
        assert!(decode_message(&[]).is_err());
        assert!(decode_message(&[0x42, 0xff, 0xff]).is_err());
        assert!(decode_message(b"not a sync message").is_err());
    }
}
