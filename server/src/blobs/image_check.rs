//! Validation of uploaded photo and signature images, and their thumbnails.
//!
//! `PUT /v1/blobs/{sha256}` carries the raw bytes of an image that a work-order document refers
//! to by hash (DESIGN.md principle 4). Before the server stores those bytes, [`check_image`]:
//!
//! 1. checks the hash in the URL is 64 lower-case hex digits, the body is at most
//!    [`ImageLimits::max_bytes`], and SHA-256 of the body is that hash;
//! 2. sniffs the format from the bytes themselves (never from a client header) and accepts only
//!    JPEG, PNG and WebP;
//! 3. reads the dimensions from the header, without decoding, and refuses more than
//!    [`ImageLimits::max_pixels`] or a side longer than [`ImageLimits::max_side`]: the
//!    decompression-bomb guard. The decode that follows runs under `image::Limits` derived from
//!    the same numbers, so a header that lies still cannot make the decoder allocate without
//!    bound;
//! 4. decodes and renders a JPEG thumbnail no longer than [`ImageLimits::thumb_side`] on its
//!    longest side, turned upright by the EXIF orientation and with transparency flattened onto
//!    white (signatures are often transparent PNGs).
//!
//! Every step is pure and synchronous: the server runs it in `spawn_blocking`. No input makes it
//! panic: the decode is wrapped in `catch_unwind` as a last guard, since image decoders have
//! panicked on crafted files before, and a panic is reported as a corrupt image.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Seek};
use std::panic::{catch_unwind, UnwindSafe};
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, RgbaImage};
use sha2::{Digest, Sha256};

mod source;
#[cfg(test)]
mod tests;

use source::{ByteSource, PagedFile};

/// Largest accepted upload, in bytes (20 MiB): a full-resolution phone photo is 3-12 MiB.
pub const DEFAULT_MAX_BYTES: usize = 20 * 1024 * 1024;
/// Most pixels accepted (40 megapixels): above any phone camera, and it bounds decode memory.
pub const DEFAULT_MAX_PIXELS: u64 = 40_000_000;
/// Longest accepted side, in pixels: refuses absurd strips (1 x 40,000,000) within the pixel cap.
pub const DEFAULT_MAX_SIDE: u32 = 20_000;
/// Longest side of a thumbnail, in pixels: enough for a list or a report preview.
pub const DEFAULT_THUMB_SIDE: u32 = 320;

/// JPEG quality of thumbnails (1-100): small files without visible blocking at 320 px.
const THUMB_JPEG_QUALITY: u8 = 80;
/// Bytes per decoded pixel the memory budget allows for: RGBA at 8 bits per channel. A 16-bit
/// image needs twice that, so it is accepted up to about half of `max_pixels`.
const BUDGET_BYTES_PER_PIXEL: u64 = 4;
/// Decoder working memory on top of the pixel buffer, in bytes (32 MiB): PNG metadata chunks,
/// row buffers and Huffman tables.
const BUDGET_HEADROOM_BYTES: u64 = 32 * 1024 * 1024;
/// How much of a malformed hash is echoed back in an error message, in characters.
const MAX_ECHOED_HASH_CHARS: usize = 80;

/// What an upload may be. The defaults suit phone photos and signature-pad captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest accepted body, in bytes.
    pub max_bytes: usize,
    /// Most pixels (width x height) accepted.
    pub max_pixels: u64,
    /// Longest accepted width or height, in pixels.
    pub max_side: u32,
    /// Longest side of the thumbnail, in pixels; smaller images are not enlarged.
    pub thumb_side: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_pixels: DEFAULT_MAX_PIXELS,
            max_side: DEFAULT_MAX_SIDE,
            thumb_side: DEFAULT_THUMB_SIDE,
        }
    }
}

impl ImageLimits {
    /// The most memory, in bytes, the decoder may claim for one image: the pixel buffer of the
    /// largest accepted image at 4 bytes a pixel plus working headroom. Sizing how many checks
    /// may run at once starts from this number: the decoded image, the decoders' scratch
    /// copies and the thumbnail's RGBA copy are all reserved from it, so an image that needs
    /// more (a lossless WebP or a 16-bit transparent PNG near the pixel limit) is refused.
    pub fn decode_budget(&self) -> u64 {
        self.max_pixels
            .saturating_mul(BUDGET_BYTES_PER_PIXEL)
            .saturating_add(BUDGET_HEADROOM_BYTES)
    }
}

/// The accepted image formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
}

impl ImageFormat {
    /// The media type to serve the stored blob with.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// A short lower-case name: `jpeg`, `png`, `webp`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }

    fn to_image_crate(self) -> image::ImageFormat {
        match self {
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Webp => image::ImageFormat::WebP,
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An upload that passed every check, with what the server stores beside it.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckedImage {
    pub format: ImageFormat,
    /// Width as displayed, in pixels: after the EXIF orientation, so a portrait photo that the
    /// camera stored sideways is reported (and thumbnailed) as portrait.
    pub width: u32,
    /// Height as displayed, in pixels (see `width`).
    pub height: u32,
    /// A baseline JPEG, longest side at most `thumb_side`, upright, with no transparency.
    pub thumbnail_jpeg: Vec<u8>,
}

impl fmt::Debug for CheckedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The thumbnail's bytes would drown a log line; its size says enough.
        f.debug_struct("CheckedImage")
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("thumbnail_jpeg_bytes", &self.thumbnail_jpeg.len())
            .finish()
    }
}

/// Why an upload was refused. [`code`](Self::code) and [`status`](Self::status) give the API
/// error; the message (`Display`) says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("blob hash {got:?} is not 64 lower-case hex digits (a sha-256)")]
    BadHash { got: String },
    #[error("blob is {got} bytes, at most {max} allowed")]
    TooLarge { max: usize, got: usize },
    #[error("blob hashes to {actual}, not to {expected} as its url says")]
    HashMismatch { expected: String, actual: String },
    #[error("blob is {}; only jpeg, png and webp images are accepted", describe_detected(*.detected))]
    UnsupportedFormat { detected: Option<&'static str> },
    #[error("this {format} image uses a feature the server cannot decode: {reason}")]
    UnsupportedFeature { format: ImageFormat, reason: String },
    #[error(
        "image is {width}x{height} pixels, at most {max_pixels} pixels and {max_side} per side \
         allowed; send a smaller image"
    )]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
        max_side: u32,
    },
    #[error(
        "decoding this image would need more than {budget} bytes of memory; send a smaller image"
    )]
    OverMemoryBudget { budget: u64 },
    #[error("{format} image is corrupt: {reason}")]
    Corrupt { format: ImageFormat, reason: String },
    #[error("image could not be decoded: the decoder failed on malformed data")]
    DecoderPanicked,
    #[error("could not encode the thumbnail: {reason}")]
    Thumbnail { reason: String },
}

fn describe_detected(detected: Option<&'static str>) -> &'static str {
    detected.unwrap_or("not a recognised image")
}

impl ImageError {
    /// The stable machine-readable code of the API error.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::BadHash { .. } => "bad_hash",
            ImageError::TooLarge { .. } => "blob_too_large",
            ImageError::HashMismatch { .. } => "hash_mismatch",
            ImageError::UnsupportedFormat { .. } | ImageError::UnsupportedFeature { .. } => {
                "unsupported_format"
            }
            ImageError::TooManyPixels { .. } | ImageError::OverMemoryBudget { .. } => {
                "too_many_pixels"
            }
            ImageError::Corrupt { .. } | ImageError::DecoderPanicked => "corrupt_image",
            ImageError::Thumbnail { .. } => "internal",
        }
    }

    /// The HTTP status of the API error. Everything is the client's fault (4xx) except a
    /// thumbnail that cannot be encoded from a decoded image, which is ours (500).
    pub fn status(&self) -> u16 {
        match self {
            ImageError::BadHash { .. } | ImageError::HashMismatch { .. } => 400,
            ImageError::TooLarge { .. } => 413,
            ImageError::UnsupportedFormat { .. } | ImageError::UnsupportedFeature { .. } => 415,
            ImageError::TooManyPixels { .. }
            | ImageError::OverMemoryBudget { .. }
            | ImageError::Corrupt { .. }
            | ImageError::DecoderPanicked => 422,
            ImageError::Thumbnail { .. } => 500,
        }
    }
}

/// SHA-256 of `bytes` as 64 lower-case hex digits: a blob's content address.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks an uploaded image against its content address and `limits`, and renders its
/// thumbnail. The cheap checks run first: the hash's syntax, then the size (before hashing),
/// then the hash, the format, the header's dimensions, and only then the decode.
pub fn check_image(
    expected_sha256: &str,
    bytes: &[u8],
    limits: &ImageLimits,
) -> Result<CheckedImage, ImageError> {
    check_address_and_size(expected_sha256, bytes.len(), limits)?;
    let actual = sha256_hex(bytes);
    if actual != expected_sha256 {
        return Err(ImageError::HashMismatch {
            expected: expected_sha256.to_owned(),
            actual,
        });
    }
    let format = sniff(bytes)?;
    let budget = limits.decode_budget();
    guarded(|| inspect(&mut &*bytes, Cursor::new(bytes), format, limits, budget))
}

/// [`check_image`] for an upload staged in a file whose SHA-256 was computed while it arrived
/// (`staged_sha256`): the same checks in the same order, reading the file through a bounded
/// buffer instead of holding it whole. The byte-level checks (format, PNG header, JPEG markers
/// and end-of-image) page through it 64 KiB at a time; the PNG and WebP decoders stream from
/// it; the JPEG decoder (zune-jpeg, through `image`) reads its input whole, so a JPEG's bytes
/// are in memory while it decodes, beside its pixels.
pub fn check_staged_image(
    expected_sha256: &str,
    path: &Path,
    staged_sha256: &str,
    limits: &ImageLimits,
) -> Result<CheckedImage, ImageError> {
    check_address(expected_sha256)?;
    if staged_sha256 != expected_sha256 {
        return Err(ImageError::HashMismatch {
            expected: expected_sha256.to_owned(),
            actual: staged_sha256.to_owned(),
        });
    }
    let io_error = |e: std::io::Error| ImageError::Thumbnail {
        reason: format!("reading the staged upload: {e}"),
    };
    let file = File::open(path).map_err(io_error)?;
    let len = file.metadata().map_err(io_error)?.len();
    check_size(usize::try_from(len).unwrap_or(usize::MAX), limits)?;
    // Opened twice: a cloned handle would share the file offset with the decoder's reader.
    let mut paged = PagedFile::new(File::open(path).map_err(io_error)?, len);
    let magic = paged.prefix(MAGIC_BYTES);
    let format = sniff(&magic)?;
    let budget = limits.decode_budget();
    let decoder_input = BufReader::new(file);
    guarded(move || inspect(&mut paged, decoder_input, format, limits, budget))
}

/// Bytes enough for every signature `image::guess_format` knows.
const MAGIC_BYTES: usize = 32;

/// Step 1 up to the hash: the address's syntax and the size.
fn check_address_and_size(
    expected_sha256: &str,
    len: usize,
    limits: &ImageLimits,
) -> Result<(), ImageError> {
    check_address(expected_sha256)?;
    check_size(len, limits)
}

fn check_address(expected_sha256: &str) -> Result<(), ImageError> {
    if is_sha256_hex(expected_sha256) {
        return Ok(());
    }
    Err(ImageError::BadHash {
        got: expected_sha256
            .chars()
            .take(MAX_ECHOED_HASH_CHARS)
            .collect(),
    })
}

fn check_size(len: usize, limits: &ImageLimits) -> Result<(), ImageError> {
    if len > limits.max_bytes {
        return Err(ImageError::TooLarge {
            max: limits.max_bytes,
            got: len,
        });
    }
    Ok(())
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The format, from the magic bytes alone (the same table `ImageReader::with_guessed_format`
/// uses, without its reader or the process-wide format hooks).
fn sniff(bytes: &[u8]) -> Result<ImageFormat, ImageError> {
    match image::guess_format(bytes) {
        Ok(image::ImageFormat::Jpeg) => Ok(ImageFormat::Jpeg),
        Ok(image::ImageFormat::Png) => Ok(ImageFormat::Png),
        Ok(image::ImageFormat::WebP) => Ok(ImageFormat::Webp),
        Ok(other) => Err(ImageError::UnsupportedFormat {
            detected: Some(other.to_mime_type()),
        }),
        Err(_) => Err(ImageError::UnsupportedFormat { detected: None }),
    }
}

/// Runs `f`, turning a panic into [`ImageError::DecoderPanicked`]. Needs `panic = "unwind"`
/// (the default) in the profile that builds the server.
fn guarded<T>(f: impl FnOnce() -> Result<T, ImageError> + UnwindSafe) -> Result<T, ImageError> {
    catch_unwind(f).unwrap_or_else(|_panic| Err(ImageError::DecoderPanicked))
}

/// Steps 3 and 4: dimensions from the header, the decode under limits, the thumbnail.
fn inspect<S: ByteSource, R: BufRead + Seek>(
    bytes: &mut S,
    input: R,
    format: ImageFormat,
    limits: &ImageLimits,
    budget: u64,
) -> Result<CheckedImage, ImageError> {
    // The PNG decoder reads on to the first image-data chunk before it reports a size, so the
    // size IHDR claims is judged first, straight from the bytes: a bomb is refused before any
    // decoder runs, even when it is cut off right after its header.
    if format == ImageFormat::Png {
        if let Some((width, height)) = png_header_dimensions(bytes) {
            check_dimensions(width, height, format, limits)?;
        }
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(ImageError::Corrupt {
            format,
            reason: "the data ends before the end-of-image marker (truncated file)".to_owned(),
        });
    }

    let decode_error = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => ImageError::OverMemoryBudget { budget },
        image::ImageError::Unsupported(e) => ImageError::UnsupportedFeature {
            format,
            reason: e.to_string(),
        },
        e => ImageError::Corrupt {
            format,
            reason: e.to_string(),
        },
    };

    // Reading the header creates the decoder; nothing image-sized is allocated yet.
    let mut reader = image::ImageReader::with_format(input, format.to_image_crate());
    reader.limits(decode_limits(budget, None));
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, format, limits)?;

    // A broken EXIF block must not cost the upload: the thumbnail is then just not rotated.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);

    // What `ImageReader::decode` does, keeping the decoder for the orientation above: the
    // output buffer comes out of the budget, the decoder gets the rest and the strict sides.
    let mut decode_limits = decode_limits(budget, Some(limits.max_side));
    decode_limits
        .reserve(decoder.total_bytes())
        .map_err(decode_error)?;
    decode_limits
        .reserve(scratch_bytes(
            bytes,
            format,
            decoder.color_type(),
            width,
            height,
        ))
        .map_err(decode_error)?;
    decoder.set_limits(decode_limits).map_err(decode_error)?;
    let image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    if (image.width(), image.height()) != (width, height) {
        return Err(ImageError::Corrupt {
            format,
            reason: format!(
                "header says {width}x{height} pixels, data holds {}x{}",
                image.width(),
                image.height()
            ),
        });
    }

    let (width, height) = if swaps_sides(orientation) {
        (height, width)
    } else {
        (width, height)
    };
    let thumbnail_jpeg = thumbnail_jpeg(image, orientation, limits.thumb_side)?;
    Ok(CheckedImage {
        format,
        width,
        height,
        thumbnail_jpeg,
    })
}

/// Memory the decode and the thumbnail take beside the decoded image, which `image::Limits`
/// does not see (both found by the image_check fuzz target; tests/fuzz-crashers/image_check/):
///
/// - image-webp decodes a lossless image through a scratch RGBA copy (a lossy one needs less,
///   for its YUV planes): 4 bytes a pixel. A 35-megapixel lossless header in 38 bytes made the
///   check allocate 240 MiB against a 192 MiB budget;
/// - a progressive JPEG's decoder keeps every coefficient until the last scan, 2 bytes a sample
///   for each component (counted here at full resolution): a 38-megapixel progressive header in
///   431 bytes took 228 MiB;
/// - the thumbnail flattens an image with transparency through an RGBA copy unless it is 8-bit
///   RGBA already: 4 bytes a pixel.
fn scratch_bytes(
    bytes: &mut impl ByteSource,
    format: ImageFormat,
    color: image::ColorType,
    width: u32,
    height: u32,
) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let decoder = match format {
        ImageFormat::Webp => 4,
        ImageFormat::Jpeg => jpeg_progressive_components(bytes).map_or(0, |n| 2 * u64::from(n)),
        ImageFormat::Png => 0,
    };
    let flatten = if color.has_alpha() && color != image::ColorType::Rgba8 {
        4
    } else {
        0
    };
    pixels.saturating_mul(decoder + flatten)
}

fn decode_limits(budget: u64, max_side: Option<u32>) -> image::Limits {
    // `image::Limits` is non-exhaustive: start from the defaults and set every known field.
    let mut limits = image::Limits::default();
    limits.max_image_width = max_side;
    limits.max_image_height = max_side;
    limits.max_alloc = Some(budget);
    limits
}

fn check_dimensions(
    width: u32,
    height: u32,
    format: ImageFormat,
    limits: &ImageLimits,
) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Corrupt {
            format,
            reason: format!("image is {width}x{height} pixels: it has no pixels"),
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels || width > limits.max_side || height > limits.max_side {
        return Err(ImageError::TooManyPixels {
            width,
            height,
            max_pixels: limits.max_pixels,
            max_side: limits.max_side,
        });
    }
    Ok(())
}

/// Width and height from a PNG's IHDR, which the format requires to be the first chunk
/// (8-byte signature, 4-byte length, "IHDR", then width and height as big-endian u32).
fn png_header_dimensions(bytes: &mut impl ByteSource) -> Option<(u32, u32)> {
    if [12, 13, 14, 15].map(|at| bytes.byte(at)) != [b'I', b'H', b'D', b'R'].map(Some) {
        return None;
    }
    Some((bytes.be_u32(16)?, bytes.be_u32(20)?))
}

/// JPEG start-of-scan marker.
const START_OF_SCAN: u8 = 0xDA;
/// JPEG end-of-image marker.
const END_OF_IMAGE: u8 = 0xD9;

/// Whether a JPEG's first scan is followed by an end-of-image marker.
///
/// The JPEG decoder is lenient: a file cut off inside its scan data decodes "successfully" with
/// the missing part grey, and a photo that lost its lower half must be refused, not stored.
/// This walks the marker segments up to the first start-of-scan (stepping over an EXIF
/// thumbnail, which has its own markers inside the APP1 segment), then looks for FF D9, which
/// cannot occur inside entropy-coded data (an FF byte there is always followed by 00 or a
/// restart marker). Data after the end-of-image marker (some phones append more) is allowed.
fn jpeg_is_complete(bytes: &mut impl ByteSource) -> bool {
    let mut pos = 2; // past the start-of-image marker
    loop {
        match next_jpeg_marker(bytes, &mut pos) {
            None | Some(END_OF_IMAGE) => return false,
            Some(START_OF_SCAN) => return bytes.find_pair(pos, [0xFF, END_OF_IMAGE]).is_some(),
            // Not a marker (a stuffed zero) or a marker without a length: nothing to skip.
            Some(0x00 | 0x01 | 0xD0..=0xD7) => {}
            Some(_) => {
                if !skip_jpeg_segment(bytes, &mut pos) {
                    return false;
                }
            }
        }
    }
}

/// The number of components of a progressive JPEG frame (SOF2, SOF6, SOF10, SOF14); `None`
/// for a sequential one, or when no frame header comes before the first scan.
fn jpeg_progressive_components(bytes: &mut impl ByteSource) -> Option<u8> {
    let mut pos = 2;
    loop {
        match next_jpeg_marker(bytes, &mut pos)? {
            START_OF_SCAN | END_OF_IMAGE => return None,
            // Length (2), precision (1), height (2), width (2), then the component count.
            0xC2 | 0xC6 | 0xCA | 0xCE => return bytes.byte(pos + 7),
            0xC0 | 0xC1 | 0xC3 | 0xC5 | 0xC7 | 0xC9 | 0xCB | 0xCD | 0xCF => return None,
            0x00 | 0x01 | 0xD0..=0xD7 => {}
            _ => {
                if !skip_jpeg_segment(bytes, &mut pos) {
                    return None;
                }
            }
        }
    }
}

/// The next marker at or after `*pos`, stepping over stray bytes and fill bytes (runs of FF)
/// as libjpeg does; `*pos` is left just past it.
fn next_jpeg_marker(bytes: &mut impl ByteSource, pos: &mut usize) -> Option<u8> {
    *pos = bytes.find(*pos, 0xFF)?;
    while bytes.byte(*pos + 1) == Some(0xFF) {
        *pos += 1;
    }
    let marker = bytes.byte(*pos + 1)?;
    *pos += 2;
    Some(marker)
}

/// Moves `*pos` past the length-prefixed segment that starts there; false when the length is
/// cut off or less than its own two bytes.
fn skip_jpeg_segment(bytes: &mut impl ByteSource, pos: &mut usize) -> bool {
    let (Some(high), Some(low)) = (bytes.byte(*pos), bytes.byte(*pos + 1)) else {
        return false;
    };
    let length = usize::from(u16::from_be_bytes([high, low]));
    if length < 2 {
        return false;
    }
    *pos += length;
    true
}

fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The size that fits within `side` x `side` with the aspect ratio kept (rounded), never
/// enlarged and never below 1 pixel.
fn fit_within(width: u32, height: u32, side: u32) -> (u32, u32) {
    let side = side.max(1);
    let long = width.max(height);
    if long <= side {
        return (width.max(1), height.max(1));
    }
    let scale = |v: u32| -> u32 {
        let scaled = (u64::from(v) * u64::from(side) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(side).max(1)
    };
    (scale(width), scale(height))
}

fn thumbnail_jpeg(
    image: DynamicImage,
    orientation: Orientation,
    side: u32,
) -> Result<Vec<u8>, ImageError> {
    let (width, height) = fit_within(image.width(), image.height(), side);
    // Flatten before shrinking: averaging pixels that are transparent but carry a colour (often
    // black) would leave dark fringes around a signature's strokes.
    let opaque = if image.color().has_alpha() {
        let mut rgba = image.into_rgba8();
        flatten_onto_white(&mut rgba);
        DynamicImage::ImageRgba8(rgba)
    } else {
        image
    };
    let small = if (opaque.width(), opaque.height()) == (width, height) {
        opaque
    } else {
        opaque.thumbnail_exact(width, height)
    };
    let mut upright = DynamicImage::ImageRgb8(small.into_rgb8());
    upright.apply_orientation(orientation);
    let rgb = upright.into_rgb8();

    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, THUMB_JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| ImageError::Thumbnail {
            reason: e.to_string(),
        })?;
    Ok(jpeg)
}

/// Composites every pixel over white in place, leaving it fully opaque.
fn flatten_onto_white(rgba: &mut RgbaImage) {
    for pixel in rgba.pixels_mut() {
        let alpha = u16::from(pixel[3]);
        for channel in &mut pixel.0[..3] {
            let blended = (u16::from(*channel) * alpha + 255 * (255 - alpha) + 127) / 255;
            *channel = u8::try_from(blended).unwrap_or(u8::MAX);
        }
        pixel[3] = u8::MAX;
    }
}
