//! The image upload check (`server::blobs::image_check::check_image`: format sniffing, the
//! pixel and decompression-bomb limits, the decode, the thumbnail) on arbitrary bytes, under
//! the server's default limits, with the URL hash computed from the bytes so every input
//! reaches the decoders. Properties: no panic escapes (the check's own `catch_unwind` turns a
//! decoder panic into `DecoderPanicked`, allowed and printed), the heap stays within the
//! documented decode budget plus the thumbnail's headroom, an accepted image is within the
//! limits and has a JPEG thumbnail no larger than `thumb_side`, and a refusal is a client
//! error (4xx), never the server's (500). Replayed by server/tests/fuzz_replay.rs.
#![no_main]

use fieldsync_fuzz::{allow_caught_panics, bounded, Bounded, MIB};
use libfuzzer_sys::fuzz_target;
use server::blobs::image_check::{check_image, sha256_hex, ImageLimits};

#[global_allocator]
static ALLOC: Bounded = Bounded;

fuzz_target!(
    init: allow_caught_panics(),
    |data: &[u8]| {
        let limits = ImageLimits::default();
        let cap = usize::try_from(limits.decode_budget()).unwrap_or(usize::MAX) + 16 * MIB;
        bounded(cap, data.len(), || {
            match check_image(&sha256_hex(data), data, &limits) {
                Ok(checked) => {
                    let pixels = u64::from(checked.width) * u64::from(checked.height);
                    assert!(pixels <= limits.max_pixels, "{checked:?} over the pixel limit");
                    assert!(checked.width.max(checked.height) <= limits.max_side);
                    let thumb = image::load_from_memory_with_format(
                        &checked.thumbnail_jpeg,
                        image::ImageFormat::Jpeg,
                    )
                    .expect("the thumbnail is a JPEG");
                    assert!(
                        thumb.width().max(thumb.height()) <= limits.thumb_side,
                        "thumbnail {}x{} for {checked:?}",
                        thumb.width(),
                        thumb.height()
                    );
                }
                Err(e) => assert!(e.status() < 500, "a server error for a client's image: {e}"),
            }
        })
    }
);
