//! Replays the kept crashers (`tests/fuzz-crashers/<target>/`) and committed seeds
//! (`fuzz/seeds/<target>/`) of the `image_check` and `policy_toml` fuzz targets through the
//! entry functions those targets call, with the same properties, so a regression fails
//! `cargo test` where no fuzzer is installed (docs/FUZZING.md). A crasher `X` may have a sibling
//! `X.expect` holding text that the `Debug` form of its result must contain.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};

use server::blobs::image_check::{check_image, sha256_hex, ImageLimits};
use server::policy::Policy;

/// Every kept crasher and committed seed of `target`, as (path, bytes), crashers first.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for dir in [
        repo.join("tests/fuzz-crashers").join(target),
        repo.join("fuzz/seeds").join(target),
    ] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".expect") || name.ends_with(".md") || name.starts_with('.') {
                continue;
            }
            out.push((path.clone(), fs::read(&path).unwrap()));
        }
    }
    out
}

/// The crasher's `.expect` sibling, if any: text its result's `Debug` form must contain.
fn check_expected(path: &Path, result: &impl Debug) {
    let mut expect = path.as_os_str().to_owned();
    expect.push(".expect");
    if let Ok(text) = fs::read_to_string(&expect) {
        let shown = format!("{result:?}");
        assert!(
            shown.contains(text.trim()),
            "{}: expected {:?} in {shown}",
            path.display(),
            text.trim()
        );
    }
}

#[test]
fn image_check_crashers_and_seeds_replay() {
    let limits = ImageLimits::default();
    let inputs = inputs("image_check");
    assert!(inputs.len() >= 10, "the seeds are missing");
    let mut accepted = 0;
    for (path, bytes) in inputs {
        let result = check_image(&sha256_hex(&bytes), &bytes, &limits);
        match &result {
            Ok(checked) => {
                accepted += 1;
                let pixels = u64::from(checked.width) * u64::from(checked.height);
                assert!(pixels <= limits.max_pixels, "{}", path.display());
                let thumb = image::load_from_memory_with_format(
                    &checked.thumbnail_jpeg,
                    image::ImageFormat::Jpeg,
                )
                .unwrap();
                assert!(thumb.width().max(thumb.height()) <= limits.thumb_side);
            }
            Err(e) => assert!(e.status() < 500, "{}: {e}", path.display()),
        }
        check_expected(&path, &result);
    }
    // Every seed is a valid image.
    assert!(accepted >= 10, "only {accepted} inputs accepted");
}

#[test]
fn policy_toml_crashers_and_seeds_replay() {
    let inputs = inputs("policy_toml");
    assert!(inputs.len() >= 3, "the seeds are missing");
    for (path, bytes) in inputs {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let result = Policy::from_toml_str(text);
        match &result {
            Ok(policy) => {
                let printed = policy.to_toml();
                assert_eq!(
                    Policy::from_toml_str(&printed).ok().as_ref(),
                    Some(policy),
                    "{}: printed as\n{printed}",
                    path.display()
                );
            }
            Err(e) => {
                let message = e.to_string();
                assert!(
                    !message.is_empty() && !message.contains('\n'),
                    "{message:?}"
                );
            }
        }
        check_expected(&path, &result);
    }
}
