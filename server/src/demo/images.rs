//! Pictures for the demo: signatures and appliance photos drawn as small PNGs (the same
//! bytes every time), stored as blobs the way `PUT /v1/blobs/{sha256}` stores an upload.

use image::{ImageFormat, Rgb, RgbImage};
use sqlx::AnyConnection;
use sync_core::ids::BlobHash;
use sync_core::workorder::PhotoKind;

use super::script::FieldOp;
use crate::blobs::image_check::{check_image, sha256_hex, ImageLimits};
use crate::state::AppState;

/// An encoded image and its content address.
pub struct Image {
    pub hash: String,
    pub bytes: Vec<u8>,
}

fn encode(img: &RgbImage) -> anyhow::Result<Image> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Png)?;
    Ok(Image {
        hash: sha256_hex(&bytes),
        bytes,
    })
}

/// A number from a text (FNV-1a), so that each picture differs and stays the same.
fn seed(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A fraction in [0, 1) from bits `shift..shift+8` of `s`.
fn frac(s: u64, shift: u32) -> f64 {
    ((s >> shift) & 0xff) as f64 / 256.0
}

/// Paints a disc of `radius` around (x, y), clipped to the image.
fn dot(img: &mut RgbImage, x: f64, y: f64, radius: f64, colour: Rgb<u8>) {
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let (x0, x1) = (
        (x - radius).floor().max(0.0),
        (x + radius).ceil().min(w - 1.0),
    );
    let (y0, y1) = (
        (y - radius).floor().max(0.0),
        (y + radius).ceil().min(h - 1.0),
    );
    let mut py = y0;
    while py <= y1 {
        let mut px = x0;
        while px <= x1 {
            if (px - x).powi(2) + (py - y).powi(2) <= radius * radius {
                img.put_pixel(px as u32, py as u32, colour);
            }
            px += 1.0;
        }
        py += 1.0;
    }
}

/// A signature-pad capture: a pen stroke over a baseline, shaped by the signer's name.
pub fn signature(signer: &str) -> anyhow::Result<Image> {
    let mut img = RgbImage::from_pixel(400, 140, Rgb([255, 255, 255]));
    for x in 20..380 {
        img.put_pixel(x, 118, Rgb([190, 190, 190]));
    }
    let s = seed(signer);
    // A cursive stroke: a line moving right with loops (the circle term), its height
    // shaped by two waves that differ from name to name.
    let loops = 7.0 + (frac(s, 0) * 5.0).floor();
    let (a1, a2, phase) = (
        10.0 + 10.0 * frac(s, 8),
        8.0 + 8.0 * frac(s, 16),
        frac(s, 24) * 6.0,
    );
    let ink = Rgb([20, 30, 90]);
    let steps = 4000;
    for i in 0..steps {
        let t = f64::from(i) / f64::from(steps);
        let turn = std::f64::consts::TAU * loops * t;
        // Louder in the middle of the name, like a hand that slows down at the end.
        let envelope = (std::f64::consts::PI * t).sin();
        let x = 40.0 + 320.0 * t - 14.0 * turn.sin();
        let y = 72.0
            + envelope * (a1 * turn.cos() + a2 * (std::f64::consts::TAU * 1.5 * t + phase).sin());
        dot(&mut img, x, y, 1.6, ink);
    }
    encode(&img)
}

/// A 320 × 240 photo of an appliance: a front panel with a round door on a coloured wall.
pub fn photo(wo: &str, kind: PhotoKind, caption: &str) -> anyhow::Result<Image> {
    let s = seed(&format!("{wo} {caption}"));
    let wall = match kind {
        PhotoKind::Before => [120, 135, 160],
        PhotoKind::After => [120, 165, 130],
        PhotoKind::Fault => [170, 120, 110],
    };
    let mut img = RgbImage::from_fn(320, 240, |x, y| {
        let shade = (x + y) as f64 / 560.0;
        Rgb(wall.map(|c| (f64::from(c) * (0.8 + 0.4 * shade)).min(255.0) as u8))
    });
    let left = 70 + (frac(s, 0) * 40.0) as u32;
    for x in left..left + 150 {
        for y in 30..225 {
            img.put_pixel(x, y, Rgb([235, 235, 230]));
        }
    }
    let (cx, cy) = (f64::from(left) + 75.0, 135.0);
    dot(&mut img, cx, cy, 52.0, Rgb([90, 95, 100]));
    dot(&mut img, cx, cy, 44.0, Rgb([60, 90, 120]));
    // A spot where the fault (or the new part) is.
    let spot = Rgb(match kind {
        PhotoKind::Fault => [200, 40, 30],
        _ => [250, 200, 60],
    });
    dot(
        &mut img,
        cx - 30.0 + 60.0 * frac(s, 8),
        cy + 20.0 * frac(s, 16),
        7.0,
        spot,
    );
    encode(&img)
}

/// The image a field step records, if it records one.
pub fn for_step(wo: &str, op: &FieldOp) -> anyhow::Result<Option<Image>> {
    Ok(match op {
        FieldOp::Photo { kind, caption } => Some(photo(wo, *kind, caption)?),
        FieldOp::Sign { signer } => Some(signature(signer)?),
        _ => None,
    })
}

/// Stores `img` as a blob uploaded by `uploader` at `at`: validated and thumbnailed like an
/// upload, into the blob store first, then its row in the caller's transaction.
pub async fn store(
    state: &AppState,
    conn: &mut AnyConnection,
    img: &Image,
    uploader: &str,
    at: i64,
) -> anyhow::Result<()> {
    let known: Option<String> = sqlx::query_scalar("SELECT hash FROM blobs WHERE hash = $1")
        .bind(&img.hash)
        .fetch_optional(&mut *conn)
        .await?;
    if known.is_some() {
        return Ok(());
    }
    let hash = BlobHash::parse(img.hash.as_str())?;
    let (h, bytes) = (hash.clone(), img.bytes.clone());
    let checked = tokio::task::spawn_blocking(move || {
        check_image(h.as_str(), &bytes, &ImageLimits::default())
    })
    .await??;
    // Into the blob store (whichever it is) before the row that makes the blob visible.
    state
        .blobs
        .put_bytes(
            &crate::blobs::store::original_key(&hash),
            bytes::Bytes::from(img.bytes.clone()),
        )
        .await?;
    state
        .blobs
        .put_bytes(
            &crate::blobs::store::thumbnail_key(&hash),
            bytes::Bytes::from(checked.thumbnail_jpeg),
        )
        .await?;
    sqlx::query(
        "INSERT INTO blobs (hash, mime, width, height, size, uploader, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(&img.hash)
    .bind(checked.format.mime())
    .bind(i64::from(checked.width))
    .bind(i64::from(checked.height))
    .bind(img.bytes.len() as i64)
    .bind(uploader)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pictures_are_valid_uploads_and_the_same_every_time() {
        let pictures = [
            signature("Maria Keller").unwrap(),
            photo("WO-1", PhotoKind::Before, "drum").unwrap(),
            photo("WO-1", PhotoKind::After, "drum").unwrap(),
            photo("WO-1", PhotoKind::Fault, "seal").unwrap(),
        ];
        for p in &pictures {
            let checked = check_image(&p.hash, &p.bytes, &ImageLimits::default()).unwrap();
            assert!(checked.width >= 320 && !checked.thumbnail_jpeg.is_empty());
        }
        assert_eq!(signature("Maria Keller").unwrap().hash, pictures[0].hash);
        assert_ne!(signature("Hanna Vogel").unwrap().hash, pictures[0].hash);
        assert_ne!(pictures[1].hash, pictures[2].hash);
    }
}
