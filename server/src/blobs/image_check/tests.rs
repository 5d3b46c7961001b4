//! Every fixture is made here, in code: images with the `image` crate's encoders, and the files
//! it cannot write (GIF, BMP, PNG bombs, EXIF blocks) byte by byte.

use std::io::Cursor;

use image::{DynamicImage, GenericImageView, Rgb, RgbImage, Rgba, RgbaImage};
use proptest::prelude::*;

use super::*;

// ---- fixtures ---------------------------------------------------------------------------------

/// A photo-like RGB gradient, so the encoders have real content to compress.
fn photo(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
    }))
}

fn encode(image: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

fn png(width: u32, height: u32) -> Vec<u8> {
    encode(&photo(width, height), image::ImageFormat::Png)
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(&photo(width, height).to_rgb8())
        .unwrap();
    bytes
}

/// The `image` crate's WebP encoder writes lossless WebP.
fn webp(width: u32, height: u32) -> Vec<u8> {
    encode(&photo(width, height), image::ImageFormat::WebP)
}

/// Checks `bytes` under their own (correct) hash, in memory and staged in a file as an upload
/// is: both must give the same answer, so every test below covers both.
fn check(bytes: &[u8], limits: &ImageLimits) -> Result<CheckedImage, ImageError> {
    let hash = sha256_hex(bytes);
    let in_memory = check_image(&hash, bytes, limits);
    let mut staged = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut staged, bytes).unwrap();
    let from_file = check_staged_image(&hash, staged.path(), &hash, limits);
    assert_eq!(
        in_memory, from_file,
        "the staged check differs from the in-memory one"
    );
    in_memory
}

fn check_default(bytes: &[u8]) -> Result<CheckedImage, ImageError> {
    check(bytes, &ImageLimits::default())
}

/// Decodes a thumbnail, first making sure it really is a JPEG.
fn thumbnail_of(checked: &CheckedImage) -> DynamicImage {
    assert_eq!(
        image::guess_format(&checked.thumbnail_jpeg).unwrap(),
        image::ImageFormat::Jpeg
    );
    image::load_from_memory_with_format(&checked.thumbnail_jpeg, image::ImageFormat::Jpeg).unwrap()
}

/// CRC-32 (ISO-HDLC, the one PNG uses), table-driven.
fn crc32(data: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !data.iter().fold(0xFFFF_FFFFu32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A PNG signature and an IHDR (8-bit RGBA) claiming `width` x `height`, and nothing else.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // depth, colour type RGBA, compression, filter, interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut png, b"IHDR", &ihdr);
    png
}

/// A bomb with the shape of a whole file: header, one IDAT with a few bytes of zlib data, IEND.
/// (A real one packs about 1000 pixels into each compressed byte.)
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut png = png_header_only(width, height);
    png_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// GIF89a: header, logical screen descriptor (1x1, no colour table), trailer.
fn minimal_gif() -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[1, 0, 1, 0, 0, 0, 0]);
    gif.push(0x3B);
    gif
}

/// A 1x1 24-bit BMP: file header, BITMAPINFOHEADER, one padded row.
fn minimal_bmp() -> Vec<u8> {
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&58u32.to_le_bytes()); // file size
    bmp.extend_from_slice(&0u32.to_le_bytes()); // reserved
    bmp.extend_from_slice(&54u32.to_le_bytes()); // pixel data offset
    bmp.extend_from_slice(&40u32.to_le_bytes()); // header size
    bmp.extend_from_slice(&1i32.to_le_bytes()); // width
    bmp.extend_from_slice(&1i32.to_le_bytes()); // height
    bmp.extend_from_slice(&1u16.to_le_bytes()); // planes
    bmp.extend_from_slice(&24u16.to_le_bytes()); // bits per pixel
    bmp.extend_from_slice(&[0; 24]); // compression, sizes, resolution, palette: all zero
    bmp.extend_from_slice(&[0xFF, 0x00, 0x00, 0x00]); // one blue pixel, padded to 4 bytes
    bmp
}

/// `jpeg` with an EXIF APP1 segment carrying `orientation` (1-8) right after SOI.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2A".to_vec(); // big-endian TIFF header
    tiff.extend_from_slice(&8u32.to_be_bytes()); // first IFD right after the header
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // tag: Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // type: SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&tiff);

    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Overwrites the height and width in a JPEG's baseline start-of-frame segment.
fn with_sof_dimensions(mut jpeg: Vec<u8>, width: u16, height: u16) -> Vec<u8> {
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    // marker (2), length (2), precision (1), then height and width.
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

fn assert_code(result: Result<CheckedImage, ImageError>, code: &str) -> ImageError {
    let error = result.unwrap_err();
    assert_eq!(error.code(), code, "{error}");
    error
}

fn assert_close(actual: u8, expected: u8, what: &str) {
    assert!(
        actual.abs_diff(expected) <= 12,
        "{what}: {actual} is not close to {expected}"
    );
}

// ---- accepted images --------------------------------------------------------------------------

#[test]
fn a_png_photo_passes_with_its_size_and_a_320px_jpeg_thumbnail() {
    let checked = check_default(&png(640, 480)).unwrap();
    assert_eq!(checked.format, ImageFormat::Png);
    assert_eq!((checked.width, checked.height), (640, 480));
    assert_eq!(thumbnail_of(&checked).dimensions(), (320, 240));
}

#[test]
fn a_jpeg_photo_passes_with_its_size_and_a_320px_jpeg_thumbnail() {
    let checked = check_default(&jpeg(1000, 600)).unwrap();
    assert_eq!(checked.format, ImageFormat::Jpeg);
    assert_eq!((checked.width, checked.height), (1000, 600));
    assert_eq!(thumbnail_of(&checked).dimensions(), (320, 192));
}

#[test]
fn a_lossless_webp_passes_with_its_size_and_a_320px_jpeg_thumbnail() {
    let checked = check_default(&webp(500, 250)).unwrap();
    assert_eq!(checked.format, ImageFormat::Webp);
    assert_eq!((checked.width, checked.height), (500, 250));
    assert_eq!(thumbnail_of(&checked).dimensions(), (320, 160));
}

#[test]
fn a_portrait_photo_keeps_its_aspect_ratio_in_the_thumbnail() {
    let checked = check_default(&jpeg(300, 900)).unwrap();
    // 300 * 320 / 900 = 106.7, rounded.
    assert_eq!(thumbnail_of(&checked).dimensions(), (107, 320));
}

#[test]
fn a_small_image_is_not_enlarged() {
    let checked = check_default(&png(100, 50)).unwrap();
    assert_eq!(thumbnail_of(&checked).dimensions(), (100, 50));
}

#[test]
fn the_thumbnail_side_is_configurable() {
    let limits = ImageLimits {
        thumb_side: 64,
        ..ImageLimits::default()
    };
    let checked = check(&png(640, 480), &limits).unwrap();
    assert_eq!(thumbnail_of(&checked).dimensions(), (64, 48));
}

#[test]
fn a_transparent_signature_is_flattened_onto_white() {
    // Transparent black background (what signature pads often write) with an opaque black
    // stroke across the middle.
    let signature = RgbaImage::from_fn(600, 200, |_, y| {
        if (90..110).contains(&y) {
            Rgba([0, 0, 0, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let bytes = encode(
        &DynamicImage::ImageRgba8(signature),
        image::ImageFormat::Png,
    );
    let checked = check_default(&bytes).unwrap();
    assert_eq!((checked.width, checked.height), (600, 200));

    let thumbnail = thumbnail_of(&checked).to_rgb8();
    assert_eq!(thumbnail.dimensions(), (320, 107));
    for channel in thumbnail.get_pixel(5, 5).0 {
        assert_close(channel, 255, "background");
    }
    for channel in thumbnail.get_pixel(160, 53).0 {
        assert_close(channel, 0, "stroke");
    }
}

#[test]
fn half_transparent_pixels_are_blended_with_white() {
    let mut rgba = RgbaImage::from_pixel(4, 4, Rgba([0, 0, 200, 128]));
    flatten_onto_white(&mut rgba);
    assert_eq!(rgba.get_pixel(0, 0), &Rgba([127, 127, 227, 255]));
}

#[test]
fn grey_alpha_and_16_bit_pngs_pass() {
    let grey_alpha = DynamicImage::ImageLumaA8(image::GrayAlphaImage::from_fn(50, 40, |x, _| {
        image::LumaA([0, if x < 25 { 0 } else { 255 }])
    }));
    let deep = DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(30, 60, |x, y| {
        Rgb([(x * 2000) as u16, (y * 1000) as u16, 65535])
    }));
    for (image, size) in [(grey_alpha, (50, 40)), (deep, (30, 60))] {
        let checked = check_default(&encode(&image, image::ImageFormat::Png)).unwrap();
        assert_eq!((checked.width, checked.height), size);
        assert_eq!(thumbnail_of(&checked).dimensions(), size);
    }
}

#[test]
fn an_exif_rotated_photo_is_reported_and_thumbnailed_upright() {
    // Stored landscape, left half red and right half blue; EXIF 6 says "rotate 90° clockwise",
    // after which the red half is on top.
    let stored = DynamicImage::ImageRgb8(RgbImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    }));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95)
        .encode_image(&stored.to_rgb8())
        .unwrap();
    let checked = check_default(&with_exif_orientation(&bytes, 6)).unwrap();

    assert_eq!((checked.width, checked.height), (20, 40));
    let thumbnail = thumbnail_of(&checked).to_rgb8();
    assert_eq!(thumbnail.dimensions(), (20, 40));
    assert_close(thumbnail.get_pixel(10, 5)[0], 255, "top is red");
    assert_close(thumbnail.get_pixel(10, 35)[2], 255, "bottom is blue");
}

#[test]
fn data_after_the_end_of_a_jpeg_is_allowed() {
    // Some phones append more data (a motion clip, maker notes) after the end-of-image marker.
    let mut bytes = jpeg(64, 48);
    bytes.extend_from_slice(b"SEFH trailer that is not part of the image");
    assert_eq!(check_default(&bytes).unwrap().width, 64);
}

#[test]
fn an_image_exactly_at_every_limit_passes() {
    let bytes = png(40, 25);
    let limits = ImageLimits {
        max_bytes: bytes.len(),
        max_pixels: 1000,
        max_side: 40,
        thumb_side: 320,
    };
    assert!(check(&bytes, &limits).is_ok());
}

// ---- refused before decoding ------------------------------------------------------------------

#[test]
fn a_body_that_does_not_hash_to_the_url_is_refused() {
    let bytes = png(10, 10);
    let wrong = sha256_hex(b"something else");
    let error = assert_code(
        check_image(&wrong, &bytes, &ImageLimits::default()),
        "hash_mismatch",
    );
    assert_eq!(error.status(), 400);
    assert_eq!(
        error,
        ImageError::HashMismatch {
            expected: wrong.clone(),
            actual: sha256_hex(&bytes),
        }
    );
    // Staged, the hash computed while the body arrived is compared, and the file never read.
    let staged = check_staged_image(
        &wrong,
        std::path::Path::new("/nonexistent/never-read"),
        &sha256_hex(&bytes),
        &ImageLimits::default(),
    );
    assert_eq!(staged, Err(error));
}

#[test]
fn a_malformed_hash_is_refused() {
    let upper = sha256_hex(b"x").to_uppercase();
    let short = &sha256_hex(b"x")[..63];
    let not_hex = "g".repeat(64);
    for hash in [upper.as_str(), short, not_hex.as_str(), ""] {
        let error = assert_code(check_image(hash, b"x", &ImageLimits::default()), "bad_hash");
        assert_eq!(error.status(), 400);
    }
}

#[test]
fn a_long_malformed_hash_is_echoed_only_in_part() {
    let long = "a".repeat(10_000);
    let error = check_image(&long, b"x", &ImageLimits::default()).unwrap_err();
    assert_eq!(
        error,
        ImageError::BadHash {
            got: "a".repeat(80)
        }
    );
}

#[test]
fn a_body_over_the_size_limit_is_refused_before_it_is_hashed() {
    let limits = ImageLimits {
        max_bytes: 1000,
        ..ImageLimits::default()
    };
    let bytes = vec![0u8; 1001];
    // The hash is wrong too: refusing as too large shows no hash was computed first.
    let error = assert_code(
        check_image(&sha256_hex(b""), &bytes, &limits),
        "blob_too_large",
    );
    assert_eq!(error.status(), 413);
    assert_eq!(
        error,
        ImageError::TooLarge {
            max: 1000,
            got: 1001
        }
    );
}

#[test]
fn gif_bmp_and_tiff_are_unsupported_formats_named_by_their_type() {
    let tiff = b"II*\x00\x08\x00\x00\x00".to_vec();
    for (bytes, mime) in [
        (minimal_gif(), "image/gif"),
        (minimal_bmp(), "image/bmp"),
        (tiff, "image/tiff"),
    ] {
        let error = assert_code(check_default(&bytes), "unsupported_format");
        assert_eq!(error.status(), 415);
        assert_eq!(
            error,
            ImageError::UnsupportedFormat {
                detected: Some(mime)
            }
        );
    }
}

#[test]
fn text_random_bytes_and_an_empty_body_are_unsupported_formats() {
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for bytes in [b"hello, this is not a photo".to_vec(), random, Vec::new()] {
        let error = assert_code(check_default(&bytes), "unsupported_format");
        assert_eq!(error, ImageError::UnsupportedFormat { detected: None });
    }
}

#[test]
fn a_png_header_claiming_ten_gigapixels_is_refused_without_decoding() {
    for bytes in [
        png_header_only(100_000, 100_000),
        png_bomb(100_000, 100_000),
    ] {
        let error = assert_code(check_default(&bytes), "too_many_pixels");
        assert_eq!(error.status(), 422);
        assert_eq!(
            error,
            ImageError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                max_pixels: DEFAULT_MAX_PIXELS,
                max_side: DEFAULT_MAX_SIDE,
            }
        );
    }
    // The refusal names the header's dimensions: it came from the header check, before any
    // decoder could allocate the 40 GB of pixels.
}

#[test]
fn a_jpeg_header_claiming_too_many_pixels_is_refused() {
    let bytes = with_sof_dimensions(jpeg(16, 16), 60_000, 60_000);
    let error = assert_code(check_default(&bytes), "too_many_pixels");
    assert!(matches!(
        error,
        ImageError::TooManyPixels {
            width: 60_000,
            height: 60_000,
            ..
        }
    ));
}

#[test]
fn a_webp_header_claiming_too_many_pixels_is_refused() {
    // Lossless WebP: RIFF header (12), "VP8L" and its size (8), signature byte, then 14 bits of
    // width - 1 and 14 of height - 1, little-endian. (image-webp 0.2 reads an all-ones field as
    // 0 rather than 16384; the zero-pixel guard refuses that, so claim 16383 x 16383 here.)
    let mut bytes = webp(16, 16);
    assert_eq!(&bytes[12..16], b"VP8L");
    let header = u32::from_le_bytes(bytes[21..25].try_into().unwrap());
    let claimed = (header & !0x0FFF_FFFF) | 16_382 | (16_382 << 14);
    bytes[21..25].copy_from_slice(&claimed.to_le_bytes());
    let error = assert_code(check_default(&bytes), "too_many_pixels");
    assert!(matches!(
        error,
        ImageError::TooManyPixels {
            width: 16_383,
            height: 16_383,
            ..
        }
    ));
}

#[test]
fn too_many_pixels_or_too_long_a_side_is_refused_with_the_numbers() {
    let limits = ImageLimits {
        max_pixels: 1000,
        max_side: 100,
        ..ImageLimits::default()
    };
    let error = check(&png(40, 26), &limits).unwrap_err();
    assert_eq!(
        error.to_string(),
        "image is 40x26 pixels, at most 1000 pixels and 100 per side allowed; send a smaller image"
    );
    assert_code(check(&png(101, 1), &limits), "too_many_pixels");
}

// ---- refused while decoding -------------------------------------------------------------------

#[test]
fn truncated_pngs_jpegs_and_webps_are_corrupt() {
    // Cut inside the pixel data, and (except for PNG) by a single byte at the end. A PNG that
    // lost only part of its closing IEND chunk still holds every pixel, and is accepted.
    for (format, bytes, last_byte) in [
        (ImageFormat::Png, png(200, 150), false),
        (ImageFormat::Jpeg, jpeg(200, 150), true),
        (ImageFormat::Webp, webp(200, 150), true),
    ] {
        let mut cuts = vec![bytes.len() - 13, bytes.len() * 2 / 3, bytes.len() / 2, 40];
        if last_byte {
            cuts.push(bytes.len() - 1);
        }
        for cut in cuts {
            let error = assert_code(check_default(&bytes[..cut]), "corrupt_image");
            assert_eq!(error.status(), 422);
            assert!(
                matches!(error, ImageError::Corrupt { format: f, .. } if f == format),
                "{format} cut at {cut}: {error:?}"
            );
        }
    }
}

#[test]
fn a_jpeg_cut_inside_its_scan_data_is_corrupt_though_the_decoder_would_accept_it() {
    let bytes = jpeg(200, 150);
    let cut = &bytes[..bytes.len() / 2];
    assert!(
        image::load_from_memory(cut).is_ok(),
        "the decoder is lenient"
    );
    let error = check_default(cut).unwrap_err();
    assert_eq!(
        error.to_string(),
        "jpeg image is corrupt: the data ends before the end-of-image marker (truncated file)"
    );
}

#[test]
fn an_image_over_the_memory_budget_is_refused_as_too_many_pixels() {
    // 10 x 10 RGBA needs 400 bytes for its pixels alone.
    let bytes = encode(
        &DynamicImage::ImageRgba8(RgbaImage::new(10, 10)),
        image::ImageFormat::Png,
    );
    let error = inspect(
        &mut &bytes[..],
        Cursor::new(&bytes[..]),
        ImageFormat::Png,
        &ImageLimits::default(),
        300,
    )
    .unwrap_err();
    assert_eq!(error, ImageError::OverMemoryBudget { budget: 300 });
    assert_eq!((error.code(), error.status()), ("too_many_pixels", 422));
}

#[test]
fn decoder_scratch_and_the_flattening_copy_come_out_of_the_budget() {
    use image::ColorType;
    // A lossless WebP decodes through a scratch RGBA copy; transparency other than 8-bit
    // RGBA is flattened through one.
    assert_eq!(
        scratch_bytes(&mut &[][..], ImageFormat::Webp, ColorType::Rgb8, 10, 10),
        400
    );
    assert_eq!(
        scratch_bytes(&mut &[][..], ImageFormat::Png, ColorType::La8, 10, 10),
        400
    );
    assert_eq!(
        scratch_bytes(&mut &[][..], ImageFormat::Png, ColorType::Rgba8, 10, 10),
        0
    );
    assert_eq!(
        scratch_bytes(
            &mut &jpeg(10, 10)[..],
            ImageFormat::Jpeg,
            ColorType::Rgb8,
            10,
            10
        ),
        0
    );
    // So a 20 x 20 lossless WebP (1,200 bytes decoded, 1,600 of scratch) fits 3,000 bytes
    // and not 2,000.
    let bytes = encode(
        &DynamicImage::ImageRgb8(image::RgbImage::new(20, 20)),
        image::ImageFormat::WebP,
    );
    assert!(inspect(
        &mut &bytes[..],
        Cursor::new(&bytes[..]),
        ImageFormat::Webp,
        &ImageLimits::default(),
        3_000
    )
    .is_ok());
    let error = inspect(
        &mut &bytes[..],
        Cursor::new(&bytes[..]),
        ImageFormat::Webp,
        &ImageLimits::default(),
        2_000,
    )
    .unwrap_err();
    assert_eq!(error, ImageError::OverMemoryBudget { budget: 2_000 });
}

#[test]
fn a_progressive_jpeg_reserves_its_coefficients() {
    let mut bytes = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80);
    encoder.encode_image(&photo(16, 16).to_rgb8()).unwrap();
    assert_eq!(
        jpeg_progressive_components(&mut &bytes[..]),
        None,
        "baseline"
    );
    // The same frame marked progressive (SOF2): 3 components at 2 bytes a sample.
    let sof0 = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bytes[sof0 + 1] = 0xC2;
    assert_eq!(jpeg_progressive_components(&mut &bytes[..]), Some(3));
    assert_eq!(
        scratch_bytes(
            &mut &bytes[..],
            ImageFormat::Jpeg,
            image::ColorType::Rgb8,
            10,
            10
        ),
        600
    );
}

#[test]
fn the_memory_budget_covers_the_largest_image_at_four_bytes_a_pixel() {
    let limits = ImageLimits::default();
    assert_eq!(limits.decode_budget(), 40_000_000 * 4 + 32 * 1024 * 1024);
    let huge = ImageLimits {
        max_pixels: u64::MAX,
        ..limits
    };
    assert_eq!(huge.decode_budget(), u64::MAX);
}

#[test]
fn a_decoder_panic_is_reported_as_a_corrupt_image() {
    let result: Result<(), ImageError> = guarded(|| panic!("a decoder bug"));
    let error = result.unwrap_err();
    assert_eq!(error, ImageError::DecoderPanicked);
    assert_eq!((error.code(), error.status()), ("corrupt_image", 422));
}

// ---- the pieces -------------------------------------------------------------------------------

#[test]
fn every_error_has_a_code_a_status_and_a_lower_case_message() {
    let cases = [
        (ImageError::BadHash { got: "x".into() }, "bad_hash", 400),
        (
            ImageError::TooLarge { max: 1, got: 2 },
            "blob_too_large",
            413,
        ),
        (
            ImageError::HashMismatch {
                expected: "a".into(),
                actual: "b".into(),
            },
            "hash_mismatch",
            400,
        ),
        (
            ImageError::UnsupportedFormat { detected: None },
            "unsupported_format",
            415,
        ),
        (
            ImageError::UnsupportedFeature {
                format: ImageFormat::Jpeg,
                reason: "arithmetic coding".into(),
            },
            "unsupported_format",
            415,
        ),
        (
            ImageError::TooManyPixels {
                width: 1,
                height: 2,
                max_pixels: 1,
                max_side: 1,
            },
            "too_many_pixels",
            422,
        ),
        (
            ImageError::OverMemoryBudget { budget: 1 },
            "too_many_pixels",
            422,
        ),
        (
            ImageError::Corrupt {
                format: ImageFormat::Png,
                reason: "bad crc".into(),
            },
            "corrupt_image",
            422,
        ),
        (ImageError::DecoderPanicked, "corrupt_image", 422),
        (
            ImageError::Thumbnail { reason: "x".into() },
            "internal",
            500,
        ),
    ];
    for (error, code, status) in cases {
        assert_eq!((error.code(), error.status()), (code, status), "{error:?}");
        let message = error.to_string();
        assert!(message.starts_with(|c: char| c.is_lowercase()), "{message}");
    }
}

#[test]
fn formats_have_their_media_types() {
    assert_eq!(ImageFormat::Jpeg.mime(), "image/jpeg");
    assert_eq!(ImageFormat::Png.mime(), "image/png");
    assert_eq!(ImageFormat::Webp.mime(), "image/webp");
    assert_eq!(ImageFormat::Webp.to_string(), "webp");
}

#[test]
fn sha256_hex_is_lower_case_hex_of_the_digest() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn the_debug_form_of_a_checked_image_leaves_out_the_thumbnail_bytes() {
    let checked = check_default(&png(8, 8)).unwrap();
    let debug = format!("{checked:?}");
    assert!(debug.contains("thumbnail_jpeg_bytes"), "{debug}");
    assert!(debug.len() < 200, "{debug}");
}

#[test]
fn fitting_keeps_the_shape_and_never_enlarges() {
    assert_eq!(fit_within(4000, 3000, 320), (320, 240));
    assert_eq!(fit_within(3000, 4000, 320), (240, 320));
    assert_eq!(fit_within(320, 10, 320), (320, 10));
    assert_eq!(fit_within(20_000, 1, 320), (320, 1));
    assert_eq!(fit_within(5, 5, 0), (1, 1));
}

#[test]
fn jpeg_completeness_is_judged_on_the_primary_image() {
    let bytes = jpeg(32, 32);
    assert!(jpeg_is_complete(&mut &bytes[..]));
    // An EXIF block holding FF D9 (as an embedded thumbnail would) does not make a cut file whole.
    let cut = &bytes[..bytes.len() - 10];
    let exif_with_eoi = {
        let mut out = cut[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x08, b'E', b'x', 0xFF, 0xD9, 0x00, 0x00]);
        out.extend_from_slice(&cut[2..]);
        out
    };
    assert!(!jpeg_is_complete(&mut &exif_with_eoi[..]));
    assert!(!jpeg_is_complete(&mut &[0xFF, 0xD8][..]));
    assert!(!jpeg_is_complete(
        &mut &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00][..]
    ));
}

// ---- properties -------------------------------------------------------------------------------

proptest! {
    #[test]
    fn fitting_stays_within_the_side_and_keeps_the_aspect_ratio(
        width in 1u32..50_000,
        height in 1u32..50_000,
        side in 1u32..2_000,
    ) {
        let (w, h) = fit_within(width, height, side);
        prop_assert!(w >= 1 && h >= 1);
        prop_assert!(w.max(h) <= side.max(width.max(height).min(side)));
        prop_assert!(w <= width && h <= height);
        if width.max(height) > side {
            prop_assert_eq!(w.max(h), side);
            // Rounded to the nearest pixel (or clamped up to 1).
            let exact = f64::from(width.min(height)) * f64::from(side) / f64::from(width.max(height));
            prop_assert!((f64::from(w.min(h)) - exact.max(1.0)).abs() <= 0.5 + 1e-9);
        } else {
            prop_assert_eq!((w, h), (width, height));
        }
    }

    #[test]
    fn arbitrary_bytes_are_refused_without_panicking(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        prop_assert!(check_default(&bytes).is_err());
    }

    #[test]
    fn arbitrary_bytes_behind_an_image_signature_are_refused_without_panicking(
        magic in prop::sample::select(vec![
            &b"\x89PNG\r\n\x1a\n"[..],
            &b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"[..],
            &[0xFF, 0xD8, 0xFF][..],
            &[0xFF, 0xD8, 0xFF, 0xDB][..],
            &b"RIFF\x00\x10\x00\x00WEBPVP8L"[..],
            &b"RIFF\x00\x10\x00\x00WEBPVP8 "[..],
        ]),
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&tail);
        prop_assert!(check_default(&bytes).is_err());
    }

    #[test]
    fn damaged_images_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        keep in 0.0f64..=1.0,
    ) {
        let mut bytes = match which {
            0 => png(24, 16),
            1 => jpeg(24, 16),
            _ => webp(24, 16),
        };
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        bytes.truncate((bytes.len() as f64 * keep) as usize);
        // Either verdict is fine; a panic (or an abort) is not.
        if let Ok(checked) = check_default(&bytes) {
            prop_assert!(checked.width >= 1 && checked.height >= 1);
            prop_assert!(!checked.thumbnail_jpeg.is_empty());
        }
    }
}
